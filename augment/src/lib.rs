//! Image augmentation for Neurite: transforms on `[N, C, H, W]` batches with seeded per-sample
//! randomness, image I/O, preview grids and adversarial examples, generic over `B: Backend`.
//!
//! This crate is a placeholder in the workspace; issue #6 ("augment: image data augmentation on
//! batches, …") fills it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use neurite_core as core;
