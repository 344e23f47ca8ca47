//! Neural-network building blocks for Neurite: the `Module` abstraction, layers (Linear, Conv2d,
//! pooling, Dropout, BatchNorm), activations, losses, initializers and regularization, generic over
//! `B: Backend`.
//!
//! This crate is a placeholder in the workspace; issue #4 ("nn: layers, activations, losses,
//! initializers, dropout, batch norm, regularization, checkpoints") fills it. The tensor ops it will
//! be built from (`matmul_t`, `conv2d`, `max_pool2d`, `softmax_cross_entropy`, …) already live in
//! `neurite-core`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use neurite_core as core;
