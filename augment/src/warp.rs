//! Warps that move pixels by a continuous map, resampled bilinearly with black outside the image:
//! [`Affine`] (rotation, scale, shear and shift in one resampling; [`Affine::rotation`] alone is
//! `rotate`) and [`Elastic`] distortion (Simard, Steinkraus & Platt, 2003: a random displacement
//! field smoothed by a Gaussian and scaled). Digits are the case they are made for: a handwritten
//! 7 is still a 7 slanted, a little larger, or drawn by a shakier hand.
//!
//! As for every transform, each sample's parameters (for `elastic`, the seed of its field) are
//! drawn on the calling thread before any pixel is computed, so results do not depend on threads.

use neurite_core::{Rng, Stream};

use crate::batch::{ImageBatch, ImageSize, chance, draw, map_samples};
use crate::filter::{auto_kernel_size, gaussian_kernel};
use crate::transform::Transform;

/// Samples `src` (one `[C, H, W]` image) at `map(x, y)` for every output pixel (x, y),
/// bilinearly, reading zeros outside the image.
fn resample(src: &[f32], size: ImageSize, dst: &mut [f32], map: impl Fn(usize, usize) -> (f32, f32)) {
    let (h, w) = (size.height, size.width);
    let plane = h * w;
    let at = |c: usize, y: isize, x: isize| {
        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
            0.0
        } else {
            src[c * plane + y as usize * w + x as usize]
        }
    };
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = map(x, y);
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            for c in 0..size.channels {
                let top = at(c, y0, x0) * (1.0 - fx) + at(c, y0, x0 + 1) * fx;
                let bottom = at(c, y0 + 1, x0) * (1.0 - fx) + at(c, y0 + 1, x0 + 1) * fx;
                dst[c * plane + y * w + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}

/// A random affine warp about the image centre: rotation by up to ±`degrees`, scaling by a
/// factor in 1 ± `scale`, horizontal shear by up to ±`shear` degrees and a shift of up to
/// ±`shift` of the side, each drawn uniformly per sample and applied in one resampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Largest rotation, degrees.
    pub degrees: f32,
    /// Largest relative change of size.
    pub scale: f32,
    /// Largest shear, degrees.
    pub shear: f32,
    /// Largest shift, as a fraction of the side.
    pub shift: f32,
    /// Probability of warping a sample.
    pub p: f32,
    /// The name in specs (`rotate` or `affine`).
    pub(crate) name: &'static str,
}

/// One sample's affine parameters: the inverse of the matrix and the shift.
#[derive(Clone, Copy, Debug)]
struct AffineDraw {
    inverse: [f32; 4],
    tx: f32,
    ty: f32,
}

impl Affine {
    /// Rotations alone, by up to ±`degrees`.
    pub fn rotation(degrees: f32) -> Self {
        Affine { degrees, scale: 0.0, shear: 0.0, shift: 0.0, p: 1.0, name: "rotate" }
    }

    /// Every part at once.
    pub fn new(degrees: f32, scale: f32, shear: f32, shift: f32) -> Self {
        Affine { degrees, scale, shear, shift, p: 1.0, name: "affine" }
    }

    /// Warps one image by rotation `angle` (degrees, clockwise on screen, where y points down), scale `s`,
    /// shear `shear` (degrees) and `shift` (x, y) in pixels.
    pub fn warp(src: &[f32], size: ImageSize, angle: f32, s: f32, shear: f32, shift: (f32, f32), dst: &mut [f32]) {
        AffineDraw::new(angle, s, shear, shift.0, shift.1).apply(src, size, dst);
    }
}

impl AffineDraw {
    fn new(angle: f32, s: f32, shear: f32, tx: f32, ty: f32) -> Self {
        let (sin, cos) = angle.to_radians().sin_cos();
        let k = shear.to_radians().tan();
        // Forward map (about the centre, y pointing down): scale·rotation·shear.
        let m = [s * cos, s * (cos * k - sin), s * sin, s * (sin * k + cos)];
        let det = m[0] * m[3] - m[1] * m[2];
        let inverse = [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det];
        AffineDraw { inverse, tx, ty }
    }

    fn apply(&self, src: &[f32], size: ImageSize, dst: &mut [f32]) {
        let (cx, cy) = ((size.width as f32 - 1.0) / 2.0, (size.height as f32 - 1.0) / 2.0);
        let [a, b, c, d] = self.inverse;
        resample(src, size, dst, |x, y| {
            let (u, v) = (x as f32 - cx - self.tx, y as f32 - cy - self.ty);
            (a * u + b * v + cx, c * u + d * v + cy)
        });
    }
}

impl Transform for Affine {
    fn name(&self) -> &'static str {
        self.name
    }

    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        let size = batch.size();
        let spread = |rng: &mut Rng, max: f32| if max > 0.0 { rng.uniform_range(-max, max) } else { 0.0 };
        let params = draw(batch.len(), rng, |rng| {
            chance(rng, self.p).then(|| {
                let angle = spread(rng, self.degrees);
                let scale = 1.0 + spread(rng, self.scale);
                let shear = spread(rng, self.shear);
                let tx = spread(rng, self.shift) * size.width as f32;
                let ty = spread(rng, self.shift) * size.height as f32;
                AffineDraw::new(angle, scale, shear, tx, ty)
            })
        });
        map_samples(batch, &params, size, |d, src, dst| d.apply(src, size, dst))
    }
}

/// Elastic distortion: every pixel moves by `alpha` times a random field (each component uniform
/// in [−1, 1]) smoothed by a Gaussian of `sigma` pixels, the same field for every channel.
/// Simard et al. used α = 34, σ = 4 on MNIST's 28×28 digits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elastic {
    /// Displacement scale, pixels.
    pub alpha: f32,
    /// Smoothness of the field, pixels.
    pub sigma: f32,
    /// Probability of distorting a sample.
    pub p: f32,
}

impl Elastic {
    /// Always applied.
    pub fn new(alpha: f32, sigma: f32) -> Self {
        Elastic { alpha, sigma, p: 1.0 }
    }

    /// Distorts one image with the field drawn from `seed`.
    pub fn distort(&self, src: &[f32], size: ImageSize, seed: u64, dst: &mut [f32]) {
        let (h, w) = (size.height, size.width);
        let mut rng = Rng::stream(seed, Stream::Augment);
        let field = |rng: &mut Rng| {
            let raw = rng.uniform_vec(h * w, -1.0, 1.0);
            let smooth = smoothed(&raw, h, w, self.sigma);
            smooth.into_iter().map(|v| v * self.alpha).collect::<Vec<f32>>()
        };
        let (dx, dy) = (field(&mut rng), field(&mut rng));
        resample(src, size, dst, |x, y| (x as f32 + dx[y * w + x], y as f32 + dy[y * w + x]));
    }
}

/// `values` (`h × w`) blurred by a Gaussian of `sigma` (rows, then columns), zero outside.
fn smoothed(values: &[f32], h: usize, w: usize, sigma: f32) -> Vec<f32> {
    let taps = auto_kernel_size(sigma);
    let kernel = gaussian_kernel(sigma, taps);
    let r = (taps / 2) as isize;
    let pass = |src: &[f32], along_rows: bool| {
        let mut out = vec![0.0; h * w];
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0.0;
                for (k, &weight) in kernel.iter().enumerate() {
                    let offset = k as isize - r;
                    let (sx, sy) =
                        if along_rows { (x as isize + offset, y as isize) } else { (x as isize, y as isize + offset) };
                    if sx >= 0 && sy >= 0 && (sx as usize) < w && (sy as usize) < h {
                        sum += weight * src[sy as usize * w + sx as usize];
                    }
                }
                out[y * w + x] = sum;
            }
        }
        out
    };
    pass(&pass(values, true), false)
}

impl Transform for Elastic {
    fn name(&self) -> &'static str {
        "elastic"
    }

    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        let size = batch.size();
        // One seed per sample, drawn here: the field itself is computed on the worker thread.
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then(|| rng.next_u64()));
        map_samples(batch, &params, size, |&seed, src, dst| self.distort(src, size, seed, dst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(size: ImageSize) -> Vec<f32> {
        (0..size.len()).map(|i| i as f32 / size.len() as f32).collect()
    }

    #[test]
    fn the_identity_warp_changes_nothing() {
        let size = ImageSize::new(2, 5, 7);
        let src = ramp(size);
        let mut dst = vec![0.0; size.len()];
        Affine::warp(&src, size, 0.0, 1.0, 0.0, (0.0, 0.0), &mut dst);
        assert_eq!(dst, src);
        Elastic::new(0.0, 2.0).distort(&src, size, 9, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn a_quarter_turn_of_a_square_moves_each_pixel_exactly() {
        // 3×3: a quarter turn maps the corners onto each other; bilinear at whole pixels is exact.
        let size = ImageSize::new(1, 3, 3);
        let src = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let mut dst = vec![0.0; 9];
        Affine::warp(&src, size, 90.0, 1.0, 0.0, (0.0, 0.0), &mut dst);
        let rounded: Vec<f32> = dst.iter().map(|v| (v * 1e4).round() / 1e4).collect();
        // Clockwise on screen: the left column, read upwards, becomes the top row.
        assert_eq!(rounded, [7.0, 4.0, 1.0, 8.0, 5.0, 2.0, 9.0, 6.0, 3.0]);
    }

    #[test]
    fn a_shift_by_one_pixel_moves_the_image_and_fills_black() {
        let size = ImageSize::new(1, 2, 3);
        let src = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut dst = vec![0.0; 6];
        Affine::warp(&src, size, 0.0, 1.0, 0.0, (1.0, 0.0), &mut dst);
        assert_eq!(dst, [0.0, 1.0, 2.0, 0.0, 4.0, 5.0]);
    }

    #[test]
    fn warps_are_deterministic_and_change_the_image() {
        let size = ImageSize::new(1, 28, 28);
        let batch = ImageBatch::new(ramp(ImageSize::new(1, 28 * 4, 28)), 4, size);
        for t in [&Affine::new(15.0, 0.1, 10.0, 0.1) as &dyn Transform, &Elastic::new(34.0, 4.0)] {
            let a = t.apply_batch(batch.clone(), &mut Rng::seed(3));
            let b = t.apply_batch(batch.clone(), &mut Rng::seed(3));
            assert_eq!(a, b, "{}", t.name());
            assert_ne!(a, batch, "{}", t.name());
            assert!(a.as_slice().iter().all(|v| (0.0..=1.0).contains(v)), "{}", t.name());
        }
    }
}
