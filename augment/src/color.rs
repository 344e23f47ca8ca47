//! Photometric transforms: brightness (additive or multiplicative), contrast, and PCA colour noise
//! as in AlexNet (Krizhevsky et al., 2012), with the small symmetric eigen-solver (cyclic Jacobi)
//! that the colour PCA needs. Every result is clamped to [0, 1].

use neurite_core::Rng;
use neurite_core::isa::Isa;

use crate::batch::{ImageBatch, ImageSize, Pixel, chance, draw, update_samples};
use crate::transform::Transform;

/// How [`Brightness`] changes a pixel value v.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BrightnessMode {
    /// v + b, with b uniform in [−amount, amount].
    Additive,
    /// v · f, with f uniform in [1 − amount, 1 + amount].
    Multiplicative,
}

/// Makes each image brighter or darker by a random amount, clamped to [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brightness {
    /// Largest change: the added offset, or the factor's distance from 1.
    pub amount: f32,
    /// Additive or multiplicative.
    pub mode: BrightnessMode,
    /// Probability of changing a sample.
    pub p: f32,
}

impl Brightness {
    /// Adds an offset uniform in [−delta, delta], always applied.
    pub fn additive(delta: f32) -> Self {
        Brightness { amount: delta, mode: BrightnessMode::Additive, p: 1.0 }
    }

    /// Multiplies by a factor uniform in [1 − factor, 1 + factor] (at least 0), always applied.
    pub fn multiplicative(factor: f32) -> Self {
        Brightness { amount: factor, mode: BrightnessMode::Multiplicative, p: 1.0 }
    }
}

impl Transform for Brightness {
    fn name(&self) -> &'static str {
        match self.mode {
            BrightnessMode::Additive => "brightness",
            BrightnessMode::Multiplicative => "brightness-mul",
        }
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl Brightness {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let mode = self.mode;
        let params = draw(batch.len(), rng, |rng| {
            chance(rng, self.p).then(|| match mode {
                BrightnessMode::Additive => rng.uniform_range(-self.amount, self.amount),
                BrightnessMode::Multiplicative => rng.uniform_range((1.0 - self.amount).max(0.0), 1.0 + self.amount),
            })
        });
        update_samples(&mut batch, &params, |&k, img| {
            Isa::detect().run(
                #[inline(always)]
                || match mode {
                    BrightnessMode::Additive => T::map_values(img, |v| (v + k).clamp(0.0, 1.0)),
                    BrightnessMode::Multiplicative => T::map_values(img, |v| (v * k).clamp(0.0, 1.0)),
                },
            )
        });
        batch
    }
}

/// The mean grey level of one image: the mean of 0.299 R + 0.587 G + 0.114 B for three channels
/// (ITU-R BT.601 luma, as torchvision uses), the mean of all values otherwise.
#[inline(always)]
pub fn mean_grey<T: Pixel>(image: &[T], size: ImageSize) -> f32 {
    let plane = size.plane();
    if plane == 0 {
        return 0.0;
    }
    // Σ(0.299 r + 0.587 g + 0.114 b) as 0.299 Σr + 0.587 Σg + 0.114 Σb: one pass per channel.
    let sum: f64 = if size.channels == 3 {
        let (r, rest) = image.split_at(plane);
        let (g, b) = rest.split_at(plane);
        0.299 * T::unit_sum(r) + 0.587 * T::unit_sum(g) + 0.114 * T::unit_sum(b)
    } else {
        T::unit_sum(image) / size.channels as f64
    };
    (sum / plane as f64) as f32
}

/// Scales each image's contrast about its mean grey level m: v ↦ (v − m)·c + m, with c uniform in
/// [1 − factor, 1 + factor] (at least 0), clamped to [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contrast {
    /// Largest distance of the contrast factor from 1.
    pub factor: f32,
    /// Probability of changing a sample.
    pub p: f32,
}

impl Contrast {
    /// Contrast factor uniform in [1 − factor, 1 + factor], always applied.
    pub fn new(factor: f32) -> Self {
        Contrast { factor, p: 1.0 }
    }
}

impl Transform for Contrast {
    fn name(&self) -> &'static str {
        "contrast"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl Contrast {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| {
            chance(rng, self.p).then(|| rng.uniform_range((1.0 - self.factor).max(0.0), 1.0 + self.factor))
        });
        let size = batch.size();
        update_samples(&mut batch, &params, |&c, img| {
            Isa::detect().run(
                #[inline(always)]
                || {
                    let m = mean_grey(img, size);
                    T::map_values(img, |v| ((v - m) * c + m).clamp(0.0, 1.0));
                },
            )
        });
        batch
    }
}

/// Eigenvalues and eigenvectors of a symmetric `n × n` matrix (row-major), by cyclic Jacobi
/// rotations. Returns the eigenvalues in decreasing order and, row `i` of the second vector, the
/// unit eigenvector of eigenvalue `i` (its largest-magnitude component made positive, so the result
/// is unique for distinct eigenvalues).
///
/// # Panics
/// If `matrix` does not hold `n²` values.
pub fn symmetric_eigen(matrix: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(matrix.len(), n * n, "symmetric_eigen: {} values for a {n}×{n} matrix", matrix.len());
    let mut a = matrix.to_vec();
    let mut v: Vec<f64> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    let scale: f64 = a.iter().map(|x| x * x).sum();
    for _sweep in 0..64 {
        let off: f64 = (0..n).flat_map(|p| (p + 1..n).map(move |q| (p, q))).map(|(p, q)| a[p * n + q].powi(2)).sum();
        if off <= scale * 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q]: tan of its angle is the smaller root of
                // t² + 2θt − 1 = 0 with θ = (a_qq − a_pp) / (2 a_pq).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = Vec::with_capacity(n * n);
    for &i in &order {
        let column: Vec<f64> = (0..n).map(|k| v[k * n + i]).collect();
        let biggest = column.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if biggest < 0.0 { -1.0 } else { 1.0 };
        vectors.extend(column.iter().map(|x| x * sign));
    }
    (values, vectors)
}

/// The principal components of pixel colours: eigenvalues λᵢ (decreasing) and unit eigenvectors pᵢ
/// of the C × C covariance of the channel values over a set of pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct ColorPca {
    /// λᵢ, decreasing.
    pub eigenvalues: Vec<f32>,
    /// pᵢ, row `i` (C values each).
    pub eigenvectors: Vec<f32>,
}

impl ColorPca {
    /// The PCA of every pixel of every image of `batch` (data-set statistics, as AlexNet used).
    pub fn of_batch(batch: &ImageBatch) -> Self {
        Self::of_images(batch.as_slice(), batch.size())
    }

    /// The PCA of the pixels of one image `[C, H, W]` (or of several, one after the other).
    pub fn of_images(values: &[f32], size: ImageSize) -> Self {
        let (c, plane) = (size.channels, size.plane());
        let images = values.len().checked_div(size.len()).unwrap_or(0);
        let count = (images * plane) as f64;
        let channel =
            |img: usize, ch: usize| &values[img * size.len() + ch * plane..img * size.len() + (ch + 1) * plane];
        let mut mean = vec![0.0f64; c];
        for (ch, m) in mean.iter_mut().enumerate() {
            *m = (0..images).map(|i| channel(i, ch).iter().map(|&v| v as f64).sum::<f64>()).sum::<f64>()
                / count.max(1.0);
        }
        let mut cov = vec![0.0f64; c * c];
        for a in 0..c {
            for b in a..c {
                let s: f64 = (0..images)
                    .map(|i| {
                        channel(i, a)
                            .iter()
                            .zip(channel(i, b))
                            .map(|(&x, &y)| (x as f64 - mean[a]) * (y as f64 - mean[b]))
                            .sum::<f64>()
                    })
                    .sum();
                cov[a * c + b] = s / count.max(1.0);
                cov[b * c + a] = cov[a * c + b];
            }
        }
        let (values, vectors) = symmetric_eigen(&cov, c);
        ColorPca {
            eigenvalues: values.iter().map(|&l| l.max(0.0) as f32).collect(),
            eigenvectors: vectors.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The colour shift Σᵢ αᵢ λᵢ pᵢ (one value per channel) for weights `alpha`.
    pub fn offset(&self, alpha: &[f32]) -> Vec<f32> {
        let c = self.eigenvalues.len();
        let mut shift = vec![0.0f32; c];
        for (i, (&a, &l)) in alpha.iter().zip(&self.eigenvalues).enumerate() {
            for (s, &p) in shift.iter_mut().zip(&self.eigenvectors[i * c..(i + 1) * c]) {
                *s += a * l * p;
            }
        }
        shift
    }
}

/// Adds `offset[c]` to every value of channel `c` of one image, clamped to [0, 1].
pub fn add_channel_offset(image: &mut [f32], size: ImageSize, offset: &[f32]) {
    if size.plane() == 0 {
        return;
    }
    for (plane, &o) in image.chunks_mut(size.plane()).zip(offset) {
        plane.iter_mut().for_each(|v| *v = (*v + o).clamp(0.0, 1.0));
    }
}

/// AlexNet's "fancy PCA" colour noise: adds Σᵢ αᵢ λᵢ pᵢ to every pixel of an image, with
/// αᵢ ~ N(0, σ²) drawn once per image and (λᵢ, pᵢ) the principal components of the pixel colours —
/// of each image itself, or of a data set given as `basis`. With values in [0, 1] the λᵢ are
/// variances (a few hundredths for photos), so the shift is small unless σ is large. Clamped to
/// [0, 1]; works for any number of channels.
#[derive(Clone, Debug, PartialEq)]
pub struct PcaNoise {
    /// Standard deviation σ of the weights αᵢ.
    pub sigma: f32,
    /// Data-set components; `None` uses each image's own.
    pub basis: Option<ColorPca>,
    /// Probability of changing a sample.
    pub p: f32,
}

impl PcaNoise {
    /// Noise of strength `sigma` from each image's own colour PCA, always applied.
    pub fn new(sigma: f32) -> Self {
        PcaNoise { sigma, basis: None, p: 1.0 }
    }

    /// Noise of strength `sigma` along fixed (data-set) components, always applied.
    pub fn with_basis(sigma: f32, basis: ColorPca) -> Self {
        PcaNoise { sigma, basis: Some(basis), p: 1.0 }
    }
}

impl Transform for PcaNoise {
    fn name(&self) -> &'static str {
        "pca-noise"
    }
    fn apply_batch(&self, mut batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        let size = batch.size();
        if let Some(basis) = &self.basis {
            assert_eq!(
                basis.eigenvalues.len(),
                size.channels,
                "pca-noise: the basis has {} channels, the images {}",
                basis.eigenvalues.len(),
                size.channels
            );
        }
        let params =
            draw(batch.len(), rng, |rng| chance(rng, self.p).then(|| rng.normal_vec(size.channels, 0.0, self.sigma)));
        update_samples(&mut batch, &params, |alpha, img| {
            let offset = match &self.basis {
                Some(basis) => basis.offset(alpha),
                None => ColorPca::of_images(img, size).offset(alpha),
            };
            add_channel_offset(img, size, &offset);
        });
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_a_hand_computed_decomposition() {
        // [[2, 1, 0], [1, 2, 0], [0, 0, 5]]: λ = 5 on (0, 0, 1), 3 on (1, 1, 0)/√2, 1 on (1, −1, 0)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0], 3);
        let r = std::f64::consts::FRAC_1_SQRT_2;
        let expected_values = [5.0, 3.0, 1.0];
        let expected_vectors = [0.0, 0.0, 1.0, r, r, 0.0, r, -r, 0.0];
        for (got, want) in values.iter().zip(expected_values) {
            assert!((got - want).abs() < 1e-12, "{values:?}");
        }
        for (got, want) in vectors.iter().zip(expected_vectors) {
            assert!((got - want).abs() < 1e-12, "{vectors:?}");
        }
    }

    #[test]
    fn mean_grey_weights_rgb_by_luma() {
        // One pixel (1, 0, 0): 0.299.
        assert!((mean_grey(&[1.0, 0.0, 0.0], ImageSize::new(3, 1, 1)) - 0.299).abs() < 1e-7);
        assert_eq!(mean_grey(&[0.2, 0.4], ImageSize::new(1, 1, 2)), 0.3);
    }
}
