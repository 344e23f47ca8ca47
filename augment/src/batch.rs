//! [`ImageBatch`]: a batch of images `[N, C, H, W]` in host memory, the form every transform works
//! on, holding `f32` values in [0, 1] or `u8` levels (see [`Pixel`]), and the two drivers that run a per-sample kernel over a batch — on one thread for small
//! batches, in parallel over samples (rayon) above [`PARALLEL_THRESHOLD`] values. Random parameters
//! are always drawn before a driver runs, so the thread count never changes a result.

use std::fmt;

use neurite_core::{Backend, Rng, Tensor};
use rayon::prelude::*;

/// Below this many values (input plus output) a batch is processed on the calling thread; above
/// it, samples are spread over rayon's threads. Results are the same either way.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// The size of one image: channels, height and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageSize {
    /// Channels C (1 for grey, 3 for RGB).
    pub channels: usize,
    /// Height H in pixels.
    pub height: usize,
    /// Width W in pixels.
    pub width: usize,
}

impl ImageSize {
    /// An image of `channels × height × width`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        ImageSize { channels, height, width }
    }

    /// Pixels of one channel: H·W.
    pub const fn plane(&self) -> usize {
        self.height * self.width
    }

    /// Values of one image: C·H·W.
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether the image holds no value.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same channels at another height and width.
    pub const fn with_hw(&self, height: usize, width: usize) -> Self {
        ImageSize { channels: self.channels, height, width }
    }
}

/// What a batch can hold: `f32` values in [0, 1] (the default, what models take), or `u8` levels
/// 0..=255 standing for level/255, the form photos come in. A `u8` batch moves a quarter of the
/// bytes, which is what transforms of large images are bound by.
///
/// Every transform computes a `u8` result as it would the `f32` one, from level/255, and rounds
/// it to the nearest level (clamping to 0..=255): [`Pixel::from_unit`].
pub trait Pixel: Copy + Default + PartialEq + PartialOrd + Send + Sync + fmt::Debug + 'static + sealed::Sealed {
    /// Whether the type holds levels (`u8`): results are rounded to steps of 1/255, so a filter
    /// may compute them with arithmetic whose error stays far below half a step (stated where
    /// it does).
    const LEVELS: bool = false;
    /// The value in [0, 1] the pixel stands for.
    fn to_unit(self) -> f32;
    /// The pixel nearest to `v` (for `u8`: the level nearest to 255·v, halves to even, clamped to
    /// 0..=255, NaN to 0; for `f32`: `v` itself).
    fn from_unit(v: f32) -> Self;
    /// The smaller of two pixels (for `f32`, `f32::min`).
    fn lower(self, other: Self) -> Self;
    /// The larger of two pixels (for `f32`, `f32::max`).
    fn higher(self, other: Self) -> Self;
    /// Replaces every pixel p of `image` by `from_unit(f(p.to_unit()))`: arithmetic that
    /// vectorises for both types (for `u8`, eight levels at a time; a lookup table would not).
    #[inline(always)]
    fn map_values(image: &mut [Self], f: impl Fn(f32) -> f32) {
        image.iter_mut().for_each(|v| *v = Self::from_unit(f(v.to_unit())));
    }
    /// The sum of `to_unit` over `values`, in `f64` (exact for `u8`).
    fn unit_sum(values: &[Self]) -> f64;
    /// The image as levels, for filters with a path of their own in integer arithmetic: `Some`
    /// for `u8`, `None` for `f32`.
    fn as_levels_mut(_image: &mut [Self]) -> Option<&mut [u8]> {
        None
    }
    /// Whether [`Pixel::box_halve`] has a path of its own (`u8`: integer arithmetic).
    fn box_halve_is_native() -> bool {
        false
    }
    /// `out[x]`: the mean of the 2 × 2 block `upper[2x..2x + 2]`, `lower[2x..2x + 2]`, as a
    /// bilinear halving computes it. For `u8`, (a + b + c + d)/4 in integers, rounded to the
    /// nearest level with halves to even; within a level of the `f32` arithmetic, which can
    /// land either side of a half.
    fn box_halve(upper: &[Self], lower: &[Self], out: &mut [Self]) {
        for ((o, u), l) in out.iter_mut().zip(upper.chunks_exact(2)).zip(lower.chunks_exact(2)) {
            let (a, b, c, d) = (u[0].to_unit(), u[1].to_unit(), l[0].to_unit(), l[1].to_unit());
            let (top, bottom) = (a + (b - a) * 0.5, c + (d - c) * 0.5);
            *o = Self::from_unit(top + (bottom - top) * 0.5);
        }
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u8 {}
}

impl Pixel for f32 {
    #[inline(always)]
    fn to_unit(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_unit(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn lower(self, other: Self) -> Self {
        self.min(other)
    }
    #[inline(always)]
    fn higher(self, other: Self) -> Self {
        self.max(other)
    }
    #[inline(always)]
    fn unit_sum(values: &[Self]) -> f64 {
        // Eight running sums, so the additions need not wait for each other (and vectorise).
        let mut lanes = [0.0f64; 8];
        let chunks = values.chunks_exact(8);
        let tail: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += v as f64;
            }
        }
        lanes.iter().sum::<f64>() + tail
    }
}

impl Pixel for u8 {
    const LEVELS: bool = true;
    fn as_levels_mut(image: &mut [u8]) -> Option<&mut [u8]> {
        Some(image)
    }
    #[inline(always)]
    fn to_unit(self) -> f32 {
        // A multiplication rather than a division, so that loops vectorise; within an ulp of
        // level/255, and `from_unit` gives the level back.
        self as f32 * (1.0 / 255.0)
    }
    #[inline(always)]
    fn from_unit(v: f32) -> Self {
        // `max` first sends NaN to 0. Adding 2²³ to a value in 0..=255 rounds it to the nearest
        // integer (halves to even) in the low bits of the mantissa, which vectorises where a
        // saturating `as` conversion does not.
        #[allow(clippy::manual_clamp)] // `clamp` keeps NaN, which the `max` here must not.
        let level = (v * 255.0).max(0.0).min(255.0);
        (level + 8_388_608.0).to_bits() as u8
    }
    #[inline(always)]
    fn lower(self, other: Self) -> Self {
        self.min(other)
    }
    #[inline(always)]
    fn higher(self, other: Self) -> Self {
        self.max(other)
    }
    fn box_halve_is_native() -> bool {
        true
    }
    #[inline(always)]
    fn box_halve(upper: &[Self], lower: &[Self], out: &mut [Self]) {
        for ((o, u), l) in out.iter_mut().zip(upper.chunks_exact(2)).zip(lower.chunks_exact(2)) {
            let sum = u[0] as u16 + u[1] as u16 + l[0] as u16 + l[1] as u16;
            let (q, r) = (sum >> 2, sum & 3);
            // Up when the remainder is ¾, or ½ with q odd.
            *o = (q + ((r + (q & 1) + 1) >> 2)) as u8;
        }
    }
    #[inline(always)]
    fn unit_sum(values: &[Self]) -> f64 {
        let total: u64 = values.chunks(1 << 16).map(|c| c.iter().map(|&v| v as u32).sum::<u32>() as u64).sum();
        total as f64 / 255.0
    }
}

/// A batch of `len` images of one [`ImageSize`], stored `[N, C, H, W]` row-major on the host:
/// `f32` values in [0, 1] (`ImageBatch`, the default) or `u8` levels (`ImageBatch<u8>`).
/// Transforms take one by value and return one.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBatch<T: Pixel = f32> {
    data: Vec<T>,
    len: usize,
    size: ImageSize,
}

impl<T: Pixel> ImageBatch<T> {
    /// A batch of `len` images of `size` holding `data` (`[N, C, H, W]` row-major).
    ///
    /// # Panics
    /// If `data` does not hold exactly `len · C · H · W` values.
    #[track_caller]
    pub fn new(data: Vec<T>, len: usize, size: ImageSize) -> Self {
        assert_eq!(
            data.len(),
            len * size.len(),
            "ImageBatch::new: {} values cannot fill {len} images of {}×{}×{}",
            data.len(),
            size.channels,
            size.height,
            size.width
        );
        ImageBatch { data, len, size }
    }

    /// `len` images of `size` filled with `value`.
    pub fn full(len: usize, size: ImageSize, value: T) -> Self {
        ImageBatch { data: vec![value; len * size.len()], len, size }
    }

    /// The number of images N.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no image.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size of each image.
    pub fn size(&self) -> ImageSize {
        self.size
    }

    /// `[N, C, H, W]`.
    pub fn dims(&self) -> [usize; 4] {
        [self.len, self.size.channels, self.size.height, self.size.width]
    }

    /// All values, `[N, C, H, W]` row-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// All values, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The values, moved out.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The values of image `i` (`[C, H, W]`).
    ///
    /// # Panics
    /// If `i >= len`.
    pub fn image(&self, i: usize) -> &[T] {
        let n = self.size.len();
        &self.data[i * n..(i + 1) * n]
    }

    /// A batch of one image: image `i` of this one.
    pub fn select(&self, i: usize) -> ImageBatch<T> {
        ImageBatch { data: self.image(i).to_vec(), len: 1, size: self.size }
    }

    /// The images of all `parts` one after the other; parts without images are skipped, the others
    /// must share one size.
    ///
    /// # Panics
    /// If the sizes differ.
    #[track_caller]
    pub fn concat(parts: &[ImageBatch<T>]) -> ImageBatch<T> {
        let size = parts.iter().find(|p| p.len > 0).map_or(ImageSize::new(0, 0, 0), |p| p.size);
        let mut data = Vec::with_capacity(parts.iter().map(|p| p.data.len()).sum());
        let mut len = 0;
        for p in parts.iter().filter(|p| p.len > 0) {
            assert_eq!(p.size, size, "ImageBatch::concat: image sizes differ");
            data.extend_from_slice(&p.data);
            len += p.len;
        }
        ImageBatch { data, len, size }
    }
}

impl ImageBatch<f32> {
    /// The values of a `[N, C, H, W]` tensor, copied to the host. The result is not part of any
    /// autodiff graph: augmentation happens before the model sees the data.
    ///
    /// # Panics
    /// If the tensor is not 4-D.
    #[track_caller]
    pub fn from_tensor<B: Backend>(x: &Tensor<B>) -> Self {
        let dims = x.dims();
        assert!(dims.len() == 4, "augment: expected a batch [N, C, H, W], got shape {}", x.shape());
        ImageBatch { data: x.to_vec(), len: dims[0], size: ImageSize::new(dims[1], dims[2], dims[3]) }
    }

    /// A `[N, C, H, W]` tensor on backend `B` holding these values.
    pub fn to_tensor<B: Backend>(&self) -> Tensor<B> {
        Tensor::from_vec(self.data.clone(), self.dims())
    }

    /// A `[N, C, H, W]` tensor on backend `B`, moving the values (no copy on the host side).
    pub fn into_tensor<B: Backend>(self) -> Tensor<B> {
        let dims = self.dims();
        Tensor::from_vec(self.data, dims)
    }

    /// The batch in `u8` levels: each value times 255, rounded to the nearest level and clamped
    /// to 0..=255 ([`Pixel::from_unit`]).
    pub fn to_u8(&self) -> ImageBatch<u8> {
        ImageBatch { data: self.data.iter().map(|&v| u8::from_unit(v)).collect(), len: self.len, size: self.size }
    }
}

impl ImageBatch<u8> {
    /// The batch in `f32` values: each level divided by 255, so values lie in [0, 1].
    pub fn to_f32(&self) -> ImageBatch<f32> {
        ImageBatch { data: self.data.iter().map(|&v| v.to_unit()).collect(), len: self.len, size: self.size }
    }
}

/// Whether a transform with probability `p` applies to the next sample. Draws nothing when the
/// answer is certain, so `p = 1` transforms use the generator only for their own parameters.
pub(crate) fn chance(rng: &mut Rng, p: f32) -> bool {
    if p >= 1.0 {
        true
    } else if p <= 0.0 || p.is_nan() {
        false
    } else {
        rng.uniform() < p
    }
}

/// Draws one parameter per sample, in sample order, on the calling thread.
pub(crate) fn draw<P>(len: usize, rng: &mut Rng, mut f: impl FnMut(&mut Rng) -> P) -> Vec<P> {
    (0..len).map(|_| f(rng)).collect()
}

/// How many consecutive samples a rayon task takes, so that a task has enough work to pay for
/// itself even on 28×28 images.
fn min_samples_per_task(values_per_sample: usize) -> usize {
    (PARALLEL_THRESHOLD / 4).checked_div(values_per_sample).unwrap_or(1).max(1)
}

/// Runs `f(params[i], image i, output i)` for every sample whose parameters are `Some`, into
/// images of `out`. `None` leaves a sample as it is, which needs `out` to equal the input size.
///
/// When the size does not change, each output is computed into a scratch image that is reused
/// across samples and copied back, so no batch-sized buffer is allocated (fresh pages cost more
/// than the copy).
pub(crate) fn map_samples<T: Pixel, P: Sync>(
    mut batch: ImageBatch<T>,
    params: &[Option<P>],
    out: ImageSize,
    f: impl Fn(&P, &[T], &mut [T]) + Sync,
) -> ImageBatch<T> {
    debug_assert_eq!(params.len(), batch.len);
    let (in_len, out_len) = (batch.size.len(), out.len());
    if out == batch.size {
        if in_len == 0 {
            return batch;
        }
        let run = |scratch: &mut Vec<T>, (img, p): (&mut [T], &Option<P>)| {
            if let Some(p) = p {
                scratch.resize(in_len, T::default());
                f(p, img, scratch);
                img.copy_from_slice(scratch);
            }
        };
        if batch.len > 1 && 2 * batch.data.len() >= PARALLEL_THRESHOLD {
            batch
                .data
                .par_chunks_mut(in_len)
                .zip(params.par_iter())
                .with_min_len(min_samples_per_task(2 * in_len))
                .for_each_init(Vec::new, run);
        } else {
            let mut scratch = Vec::new();
            batch.data.chunks_mut(in_len).zip(params.iter()).for_each(|item| run(&mut scratch, item));
        }
        return batch;
    }
    let mut result = ImageBatch::full(batch.len, out, T::default());
    if in_len == 0 || out_len == 0 {
        return result;
    }
    let run = |((src, dst), p): ((&[T], &mut [T]), &Option<P>)| match p {
        Some(p) => f(p, src, dst),
        None => panic!("augment: a skipped sample must keep its size"),
    };
    if batch.len > 1 && batch.data.len() + result.data.len() >= PARALLEL_THRESHOLD {
        batch
            .data
            .par_chunks(in_len)
            .zip(result.data.par_chunks_mut(out_len))
            .zip(params.par_iter())
            .with_min_len(min_samples_per_task(in_len + out_len))
            .for_each(run);
    } else {
        batch.data.chunks(in_len).zip(result.data.chunks_mut(out_len)).zip(params.iter()).for_each(run);
    }
    result
}

/// Runs `f(params[i], image i)` in place for every sample whose parameters are `Some`.
pub(crate) fn update_samples<T: Pixel, P: Sync>(
    batch: &mut ImageBatch<T>,
    params: &[Option<P>],
    f: impl Fn(&P, &mut [T]) + Sync,
) {
    debug_assert_eq!(params.len(), batch.len);
    let len = batch.size.len();
    if len == 0 {
        return;
    }
    let run = |(img, p): (&mut [T], &Option<P>)| {
        if let Some(p) = p {
            f(p, img);
        }
    };
    if batch.len > 1 && batch.data.len() >= PARALLEL_THRESHOLD {
        batch.data.par_chunks_mut(len).zip(params.par_iter()).with_min_len(min_samples_per_task(len)).for_each(run);
    } else {
        batch.data.chunks_mut(len).zip(params.iter()).for_each(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_samples_are_copied_and_applied_ones_mapped() {
        let size = ImageSize::new(1, 1, 2);
        let input = ImageBatch::new(vec![1.0, 2.0, 3.0, 4.0], 2, size);
        let out = map_samples(input, &[Some(10.0), None], size, |k, src, dst| {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = s * k;
            }
        });
        assert_eq!(out.as_slice(), &[10.0, 20.0, 3.0, 4.0]);
        let wide = map_samples(out, &[Some(()), Some(())], ImageSize::new(1, 1, 1), |_, src, dst| dst[0] = src[1]);
        assert_eq!(wide.as_slice(), &[20.0, 4.0]);
    }

    #[test]
    fn chance_draws_nothing_when_certain() {
        let mut a = Rng::seed(1);
        let b = a.clone();
        assert!(chance(&mut a, 1.0));
        assert!(!chance(&mut a, 0.0));
        assert_eq!(a.state(), b.state());
    }
}
