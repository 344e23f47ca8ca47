//! [`ImageBatch`]: a batch of images `[N, C, H, W]` in host memory, the form every transform works
//! on, and the two drivers that run a per-sample kernel over a batch — on one thread for small
//! batches, in parallel over samples (rayon) above [`PARALLEL_THRESHOLD`] values. Random parameters
//! are always drawn before a driver runs, so the thread count never changes a result.

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

/// A batch of `len` images of one [`ImageSize`], stored `[N, C, H, W]` row-major on the host, with
/// values in [0, 1]. Transforms take one by value and return one.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBatch {
    data: Vec<f32>,
    len: usize,
    size: ImageSize,
}

impl ImageBatch {
    /// A batch of `len` images of `size` holding `data` (`[N, C, H, W]` row-major).
    ///
    /// # Panics
    /// If `data` does not hold exactly `len · C · H · W` values.
    #[track_caller]
    pub fn new(data: Vec<f32>, len: usize, size: ImageSize) -> Self {
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
    pub fn full(len: usize, size: ImageSize, value: f32) -> Self {
        ImageBatch { data: vec![value; len * size.len()], len, size }
    }

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
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// All values, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The values, moved out.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The values of image `i` (`[C, H, W]`).
    ///
    /// # Panics
    /// If `i >= len`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.size.len();
        &self.data[i * n..(i + 1) * n]
    }

    /// A batch of one image: image `i` of this one.
    pub fn select(&self, i: usize) -> ImageBatch {
        ImageBatch { data: self.image(i).to_vec(), len: 1, size: self.size }
    }

    /// The images of all `parts` one after the other; parts without images are skipped, the others
    /// must share one size.
    ///
    /// # Panics
    /// If the sizes differ.
    #[track_caller]
    pub fn concat(parts: &[ImageBatch]) -> ImageBatch {
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
pub(crate) fn map_samples<P: Sync>(
    mut batch: ImageBatch,
    params: &[Option<P>],
    out: ImageSize,
    f: impl Fn(&P, &[f32], &mut [f32]) + Sync,
) -> ImageBatch {
    debug_assert_eq!(params.len(), batch.len);
    let (in_len, out_len) = (batch.size.len(), out.len());
    if out == batch.size {
        if in_len == 0 {
            return batch;
        }
        let run = |scratch: &mut Vec<f32>, (img, p): (&mut [f32], &Option<P>)| {
            if let Some(p) = p {
                scratch.resize(in_len, 0.0);
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
    let mut result = ImageBatch::full(batch.len, out, 0.0);
    if in_len == 0 || out_len == 0 {
        return result;
    }
    let run = |((src, dst), p): ((&[f32], &mut [f32]), &Option<P>)| match p {
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
pub(crate) fn update_samples<P: Sync>(batch: &mut ImageBatch, params: &[Option<P>], f: impl Fn(&P, &mut [f32]) + Sync) {
    debug_assert_eq!(params.len(), batch.len);
    let len = batch.size.len();
    if len == 0 {
        return;
    }
    let run = |(img, p): (&mut [f32], &Option<P>)| {
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
