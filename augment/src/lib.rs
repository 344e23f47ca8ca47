//! Image augmentation for Neurite: random transforms on `[N, C, H, W]` batches with values in
//! [0, 1], composed into a [`Pipeline`]; image I/O (PNG, JPEG) and preview grids; adversarial
//! examples by FGSM. Everything is generic over `B: Backend` and names no backend.
//!
//! Transforms work on host copies of the batch ([`ImageBatch`]), one sample at a time, spread over
//! rayon's threads for large batches. A batch holds `f32` values or `u8` levels ([`Pixel`]): photos
//! augment fastest as levels ([`Transform::apply_batch_u8`], [`io::read_image_levels`]), at a
//! quarter of the memory, and become values for a model with [`ImageBatch::to_f32`]. Each sample's random parameters are drawn from the caller's
//! [`neurite_core::Rng`] up front, in sample order, so a seed gives the same batch on every backend
//! and at any thread count.
//!
//! ```
//! use neurite_augment::{TransformExt, spec};
//! use neurite_core::{Rng, Stream, Tensor, reference::ReferenceBackend as B};
//!
//! let batch = Tensor::<B>::full([8, 3, 32, 32], 0.5);
//! let pipeline = spec::parse_pipeline("crop:pad=4,flip,brightness:0.2").unwrap();
//! let mut rng = Rng::stream(42, Stream::Augment);
//! let augmented = pipeline.apply(&batch, &mut rng);
//! assert_eq!(augmented.dims(), [8, 3, 32, 32]);
//! ```
//!
//! Modules: `geometry` (flips, translation, crops, resize), `color` (brightness, contrast, PCA
//! colour noise), `filter` (Gaussian, median, bilateral blur), `noise` (Gaussian and
//! salt-and-pepper noise, random erasing), [`adversarial`] (FGSM), [`io`] (files), [`preview`]
//! (grids), [`spec`] (the `--augment` text form).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod adversarial;
mod batch;
pub mod color;
pub mod filter;
pub mod geometry;
pub mod io;
pub mod noise;
pub mod preview;
pub mod spec;
mod transform;
pub mod warp;

pub use adversarial::{AttackPoint, accuracy_under_attack, fgsm, input_gradient};
pub use batch::{ImageBatch, ImageSize, PARALLEL_THRESHOLD, Pixel};
pub use color::{Brightness, BrightnessMode, ColorPca, Contrast, PcaNoise};
pub use filter::{BilateralBlur, GaussianBlur, MedianBlur};
pub use geometry::{
    Fill, HorizontalFlip, Interpolation, RandomCrop, RandomResizedCrop, Region, Resize, Translate, VerticalFlip,
};
pub use io::{Channels, DecodeLimits, Fit, ImageError, ImageInfo, load_image, load_image_as, save_png};
pub use neurite_core as core;
pub use noise::{EraseFill, GaussianNoise, RandomErasing, SaltPepper};
pub use preview::{GridLayout, preview_runs, preview_transforms};
pub use spec::{SpecError, parse_pipeline};
pub use transform::{Pipeline, Transform, TransformExt};
pub use warp::{Affine, Elastic};
