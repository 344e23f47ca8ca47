//! The [`Transform`] trait every augmentation implements, [`TransformExt::apply`] to run one on a
//! `Tensor<B>`, and [`Pipeline`], an ordered list of transforms that is itself a transform. The
//! transforms live in `geometry.rs`, `color.rs`, `filter.rs` and `noise.rs`.

use std::fmt;

use neurite_core::{Backend, Rng, Tensor};

use crate::batch::{ImageBatch, ImageSize};

/// A random image transform on a batch `[N, C, H, W]` with values in [0, 1].
///
/// Each sample gets its own random parameters, all drawn from `rng` on the calling thread in
/// sample order before any pixel is touched; the pixels are then computed (in parallel for large
/// batches). So the same generator state gives the same output at any thread count and on any
/// backend. Each transform has a probability `p` of being applied to a sample; a skipped sample
/// passes through unchanged (size-changing transforms apply their identity, e.g. a whole-image
/// crop, then resize).
pub trait Transform: Send + Sync + fmt::Debug {
    /// The transform's name in pipeline specs (`"flip"`, `"gaussian-blur"`); see [`crate::spec`].
    fn name(&self) -> &'static str;

    /// The size of each output image for input images of `input` (the same, unless the transform
    /// crops or resizes to a fixed size).
    fn output_size(&self, input: ImageSize) -> ImageSize {
        input
    }

    /// Transforms every image of `batch`, drawing the per-sample parameters from `rng`.
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch;

    /// Transforms a batch of `u8` images: the same draws from `rng`, and each result the `f32`
    /// one rounded to the nearest level ([`crate::Pixel::from_unit`]).
    ///
    /// This default goes through an `f32` copy of the batch. The transforms of the catalogue
    /// (flips, translation, crops, resizes, erasing, brightness, contrast, noise, salt and
    /// pepper, the blurs) work on the levels directly, with the same results — except that
    /// contrast's mean and a resize to exactly half add levels as integers, which can put a
    /// result one level from the `f32` arithmetic's where that lands near a half. The tests hold
    /// each to this default.
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.apply_batch(batch.to_f32(), rng).to_u8()
    }
}

/// Runs a [`Transform`] on a tensor: implemented for every transform, including `dyn Transform`.
pub trait TransformExt: Transform {
    /// Transforms a `[N, C, H, W]` batch on backend `B` (values in [0, 1]). The result is a new
    /// tensor outside any autodiff graph.
    ///
    /// # Panics
    /// If `x` is not 4-D, or a transform does not fit the images (a crop larger than the image).
    #[track_caller]
    fn apply<B: Backend>(&self, x: &Tensor<B>, rng: &mut Rng) -> Tensor<B> {
        self.apply_batch(ImageBatch::from_tensor(x), rng).into_tensor()
    }
}

impl<T: Transform + ?Sized> TransformExt for T {}

impl<T: Transform + ?Sized> Transform for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn output_size(&self, input: ImageSize) -> ImageSize {
        (**self).output_size(input)
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        (**self).apply_batch(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        (**self).apply_batch_u8(batch, rng)
    }
}

/// Transforms applied one after the other, each to the whole batch, each drawing its parameters
/// from the same generator in turn.
///
/// ```
/// use neurite_augment::{Fill, HorizontalFlip, Pipeline, RandomCrop, TransformExt};
/// # fn demo<B: neurite_core::Backend>(batch: &neurite_core::Tensor<B>) {
/// let pipeline = Pipeline::new().then(RandomCrop::new(4, Fill::Constant(0.0))).then(HorizontalFlip::new(0.5));
/// let mut rng = neurite_core::Rng::stream(7, neurite_core::Stream::Augment);
/// let augmented = pipeline.apply(batch, &mut rng);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Pipeline {
    steps: Vec<Box<dyn Transform>>,
}

impl Pipeline {
    /// An empty pipeline (the identity).
    pub fn new() -> Self {
        Pipeline { steps: Vec::new() }
    }

    /// This pipeline followed by `step`.
    #[must_use]
    pub fn then(mut self, step: impl Transform + 'static) -> Self {
        self.steps.push(Box::new(step));
        self
    }

    /// Appends a step.
    pub fn push(&mut self, step: Box<dyn Transform>) {
        self.steps.push(step);
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Box<dyn Transform>] {
        &self.steps
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there is no step.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The steps' names, comma-separated (`"crop,flip,brightness"`).
    pub fn names(&self) -> String {
        self.steps.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
    }
}

impl Transform for Pipeline {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn output_size(&self, input: ImageSize) -> ImageSize {
        self.steps.iter().fold(input, |size, s| s.output_size(size))
    }

    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.steps.iter().fold(batch, |b, s| s.apply_batch(b, rng))
    }

    /// Each step on the levels in turn, so a step without a `u8` path of its own rounds its
    /// result before the next step sees it.
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.steps.iter().fold(batch, |b, s| s.apply_batch_u8(b, rng))
    }
}

impl FromIterator<Box<dyn Transform>> for Pipeline {
    fn from_iter<I: IntoIterator<Item = Box<dyn Transform>>>(iter: I) -> Self {
        Pipeline { steps: iter.into_iter().collect() }
    }
}
