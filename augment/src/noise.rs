//! Noise and occlusion: Gaussian noise, salt-and-pepper noise, and random erasing (Zhong et al.,
//! 2017). Per-pixel randomness comes from a generator forked per sample on the calling thread, so
//! the pixels can be drawn in parallel and still not depend on the thread count.

use neurite_core::Rng;
use neurite_core::isa::Isa;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{RngCore, SeedableRng};

use crate::batch::{ImageBatch, ImageSize, Pixel, chance, draw, update_samples};
use crate::geometry::Region;
use crate::transform::Transform;

/// Adds N(0, σ²) noise to every value, clamped to [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNoise {
    /// Standard deviation σ.
    pub sigma: f32,
    /// Probability of adding noise to a sample.
    pub p: f32,
}

impl GaussianNoise {
    /// Noise of standard deviation `sigma`, always applied.
    pub fn new(sigma: f32) -> Self {
        GaussianNoise { sigma, p: 1.0 }
    }
}

impl Transform for GaussianNoise {
    fn name(&self) -> &'static str {
        "noise"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl GaussianNoise {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        // One seed per image from the augmentation stream, drawn in sample order; the image's
        // normals then come from a xoshiro256++ generator of its own ([`Normals`]): a normal per
        // value is the whole cost of this transform.
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then(|| rng.next_u64()));
        update_samples(&mut batch, &params, |&seed, img| {
            let mut normals = Normals::new(seed);
            // Normals drawn sixteen at a time, then added in one vectorised pass.
            let mut z = [0.0f32; NORMALS];
            Isa::detect().run(
                #[inline(always)]
                || {
                    for chunk in img.chunks_mut(NORMALS) {
                        normals.fill(&mut z);
                        for (v, &z) in chunk.iter_mut().zip(&z) {
                            *v = T::from_unit((v.to_unit() + self.sigma * z).clamp(0.0, 1.0));
                        }
                    }
                },
            );
        });
        batch
    }
}

/// Normals per [`Normals::fill`].
const NORMALS: usize = 16;

/// Standard normals for one image, by the Box–Muller transform on eight pairs of uniforms at a
/// time, in arithmetic that vectorises (a ziggurat's table lookups and rare slow path do not):
/// for u₁ in (0, 1] and u₂ in [0, 1), r = √(−2 ln u₁), and r·cos 2πu₂, r·sin 2πu₂ are two
/// independent N(0, 1). Each pair takes one 64-bit draw of a xoshiro256++ generator: 24 bits for
/// u₁ (so |z| ≤ √(48 ln 2) ≈ 5.77, beyond which lies a mass of 8·10⁻⁹) and 24 for u₂. Plain
/// multiplies and adds, no fused ones: every instruction set gives the same bits.
struct Normals {
    bits: Xoshiro256PlusPlus,
}

impl Normals {
    fn new(seed: u64) -> Self {
        Normals { bits: Xoshiro256PlusPlus::seed_from_u64(seed) }
    }

    /// The next sixteen normals: the cosines of eight pairs, then their sines.
    #[inline(always)]
    fn fill(&mut self, out: &mut [f32; NORMALS]) {
        const LANES: usize = NORMALS / 2;
        const UNIT: f32 = 1.0 / 16_777_216.0; // 2⁻²⁴
        let mut draws = [0u64; LANES];
        for d in &mut draws {
            *d = self.bits.next_u64();
        }
        // The 24-bit halves as i32 first, so that the arithmetic below runs on eight 32-bit
        // lanes (not four 64-bit ones) and converts to f32 in one instruction.
        let (mut high, mut low) = ([0i32; LANES], [0i32; LANES]);
        for ((h, l), &d) in high.iter_mut().zip(&mut low).zip(&draws) {
            *h = (d >> 40) as i32 + 1;
            *l = (d >> 8) as i32 & 0xff_ffff;
        }
        let (cosines, sines) = out.split_at_mut(LANES);
        for j in 0..LANES {
            let (u1, u2) = (high[j] as f32 * UNIT, low[j] as f32 * UNIT);
            let r = (-2.0 * ln_unit(u1)).sqrt();
            let (sin, cos) = sin_cos_turns(u2);
            cosines[j] = r * cos;
            sines[j] = r * sin;
        }
    }
}

/// ln u for u in [2⁻²⁴, 1], within 2·10⁻⁷·max(1, |ln u|) (about an f32 rounding): u = m·2ᵉ with m in [√½, √2), e·ln 2 with
/// ln 2 split in two so that the large part is exact, and
/// ln m = 2 atanh s = 2(s + s³/3 + … + s⁹/9) for s = (m − 1)/(m + 1), |s| ≤ 0.172 (the next term
/// is under 10⁻⁹).
#[inline(always)]
fn ln_unit(u: f32) -> f32 {
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    let bits = u.to_bits();
    let e = (bits.wrapping_sub(SQRT_HALF_BITS) as i32) >> 23;
    let m = f32::from_bits(bits.wrapping_sub((e as u32) << 23));
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let tail = s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0))));
    // ln 2 in two parts, the first with few enough bits that e times it is exact.
    const LN_2_HIGH: f32 = 0.693_145_75;
    const LN_2_LOW: f32 = 1.428_606_8e-6;
    let e = e as f32;
    e * LN_2_HIGH + (e * LN_2_LOW + (2.0 * s + 2.0 * s * tail))
}

/// (sin 2πu, cos 2πu) for u in [0, 1), within 3·10⁻⁷: the nearest quarter turn q (rounded by adding
/// 1.5·2²³) and the rest a = (4u − q)·π/2 in [−π/4, π/4], whose sine and cosine come from their
/// Taylor series (to a¹¹ and a¹⁰), then turned by q quarters: swapped when q is odd, their signs
/// flipped by q's bits.
#[inline(always)]
fn sin_cos_turns(u: f32) -> (f32, f32) {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³
    let t = u * 4.0;
    let shifted = t + ROUND;
    let q = shifted.to_bits();
    let a = (t - (shifted - ROUND)) * std::f32::consts::FRAC_PI_2;
    let a2 = a * a;
    let sin_a = a * (1.0 + a2 * (-1.0 / 6.0 + a2 * (1.0 / 120.0 + a2 * (-1.0 / 5_040.0 + a2 * (1.0 / 362_880.0)))));
    let cos_a = 1.0 + a2 * (-1.0 / 2.0 + a2 * (1.0 / 24.0 + a2 * (-1.0 / 720.0 + a2 * (1.0 / 40_320.0))));
    let (sin, cos) = if q & 1 == 1 { (cos_a, sin_a) } else { (sin_a, cos_a) };
    // sin(qπ/2 + a) is −… for q = 2, 3; cos(qπ/2 + a) is −… for q = 1, 2.
    let sin = f32::from_bits(sin.to_bits() ^ ((q & 2) << 30));
    let cos = f32::from_bits(cos.to_bits() ^ ((q.wrapping_add(1) & 2) << 30));
    (sin, cos)
}

/// Sets a random fraction `amount` of the pixels (all channels of each) to black or white, with
/// equal odds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaltPepper {
    /// Fraction of pixels hit.
    pub amount: f32,
    /// Probability of adding noise to a sample.
    pub p: f32,
}

impl SaltPepper {
    /// Hits a fraction `amount` of the pixels, always applied.
    pub fn new(amount: f32) -> Self {
        SaltPepper { amount, p: 1.0 }
    }
}

impl Transform for SaltPepper {
    fn name(&self) -> &'static str {
        "salt-pepper"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl SaltPepper {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then(|| rng.fork()));
        let size = batch.size();
        update_samples(&mut batch, &params, |rng, img| {
            let mut rng = rng.clone();
            for i in 0..size.plane() {
                let u = rng.uniform();
                if u < self.amount {
                    let value = T::from_unit(if u < self.amount / 2.0 { 0.0 } else { 1.0 });
                    for c in 0..size.channels {
                        img[c * size.plane() + i] = value;
                    }
                }
            }
        });
        batch
    }
}

/// What [`RandomErasing`] paints into the erased rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EraseFill {
    /// One value everywhere (0 is black).
    Constant(f32),
    /// A value uniform in [0, 1) for every pixel and channel.
    Random,
}

/// Random erasing: paints a rectangle whose area is a uniform fraction in `scale` of the image and
/// whose aspect ratio (height / width) is log-uniform in `ratio`, at a uniform position. Drawn as
/// torchvision's `RandomErasing` does: up to ten tries for a rectangle that fits, else nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomErasing {
    /// Range of the rectangle's area as a fraction of the image's.
    pub scale: (f32, f32),
    /// Range of the rectangle's aspect ratio, height / width.
    pub ratio: (f32, f32),
    /// What the rectangle holds.
    pub fill: EraseFill,
    /// Probability of erasing in a sample.
    pub p: f32,
}

impl RandomErasing {
    /// Erases with probability `p`, area 2–33% of the image, aspect ratio 0.3–3.3, filled with
    /// `fill` (torchvision's defaults).
    pub fn new(p: f32, fill: EraseFill) -> Self {
        RandomErasing { scale: (0.02, 0.33), ratio: (0.3, 1.0 / 0.3), fill, p }
    }

    /// Draws the rectangle for an image of `height × width` (`None` if ten tries do not fit).
    pub fn draw_region(&self, height: usize, width: usize, rng: &mut Rng) -> Option<Region> {
        let area = (height * width) as f32;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * rng.uniform_range(self.scale.0, self.scale.1);
            let aspect = rng.uniform_range(log_lo, log_hi).exp();
            let h = (target * aspect).sqrt().round() as usize;
            let w = (target / aspect).sqrt().round() as usize;
            if (1..height).contains(&h) && (1..width).contains(&w) {
                let top = rng.below(height - h + 1);
                let left = rng.below(width - w + 1);
                return Some(Region { top, left, height: h, width: w });
            }
        }
        None
    }
}

/// Paints `region` of every channel of one image with `fill`, drawing random fill values from
/// `rng` row by row.
pub fn erase<T: Pixel>(image: &mut [T], size: ImageSize, region: Region, fill: EraseFill, rng: &mut Rng) {
    for c in 0..size.channels {
        for y in region.top..region.top + region.height {
            let start = c * size.plane() + y * size.width + region.left;
            let row = &mut image[start..start + region.width];
            match fill {
                EraseFill::Constant(v) => row.fill(T::from_unit(v)),
                EraseFill::Random => row.iter_mut().for_each(|v| *v = T::from_unit(rng.uniform())),
            }
        }
    }
}

impl Transform for RandomErasing {
    fn name(&self) -> &'static str {
        "erase"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl RandomErasing {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let size = batch.size();
        let params = draw(batch.len(), rng, |rng| {
            if !chance(rng, self.p) {
                return None;
            }
            let region = self.draw_region(size.height, size.width, rng)?;
            let fill_rng = matches!(self.fill, EraseFill::Random).then(|| rng.fork());
            Some((region, fill_rng))
        });
        update_samples(&mut batch, &params, |(region, fill_rng), img| {
            let mut rng = fill_rng.clone().unwrap_or_else(|| Rng::seed(0));
            erase(img, size, *region, self.fill, &mut rng);
        });
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logarithm_and_the_turns_are_accurate() {
        // Every u₁ the generator can give is k/2²⁴ for k in 1..=2²⁴; a stride through them, and
        // both ends.
        for k in (1..=1u32 << 24).step_by(997).chain([1, 2, 3, 1 << 23, (1 << 24) - 1, 1 << 24]) {
            let u = k as f32 / 16_777_216.0;
            let exact = (u as f64).ln();
            let gap = (ln_unit(u) as f64 - exact).abs();
            assert!(gap < 2e-7 * exact.abs().max(1.0), "ln {u}: off by {gap}");
        }
        for k in (0..1u32 << 24).step_by(991).chain([0, 1 << 22, 1 << 23, 3 << 22, (1 << 24) - 1]) {
            let u = k as f32 / 16_777_216.0;
            let (sin, cos) = sin_cos_turns(u);
            let angle = std::f64::consts::TAU * u as f64;
            let (gap_sin, gap_cos) = ((sin as f64 - angle.sin()).abs(), (cos as f64 - angle.cos()).abs());
            assert!(gap_sin < 3e-7 && gap_cos < 3e-7, "turn {u}: sin off by {gap_sin}, cos by {gap_cos}");
        }
    }

    #[test]
    fn the_normals_are_standard_normal() {
        // 400,000 draws from one seed. Kolmogorov–Smirnov against Φ: the statistic stays under
        // 1.63/√n ≈ 0.0026 with probability 0.99 for a true N(0, 1) (a fixed seed, so this is one
        // fixed check, not a flaky one); the mean, variance and fourth moment as N(0, 1)'s
        // within a few standard errors; and no value past the 5.77 the 24-bit u₁ allows.
        let mut normals = Normals::new(42);
        let mut z = Vec::with_capacity(400_000);
        let mut block = [0.0f32; NORMALS];
        while z.len() < 400_000 {
            normals.fill(&mut block);
            z.extend(block.iter().map(|&v| v as f64));
        }
        let n = z.len() as f64;
        let mean = z.iter().sum::<f64>() / n;
        let var = z.iter().map(|v| v * v).sum::<f64>() / n - mean * mean;
        let fourth = z.iter().map(|v| v.powi(4)).sum::<f64>() / n;
        assert!(mean.abs() < 4.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 4.0 * (2.0 / n).sqrt(), "variance {var}");
        assert!((fourth - 3.0).abs() < 4.0 * (96.0 / n).sqrt(), "fourth moment {fourth}");
        assert!(z.iter().all(|v| v.abs() <= 5.78), "a value beyond the bound");
        z.sort_by(f64::total_cmp);
        // Φ by the complementary error function's continued-fraction-free approximation
        // (Abramowitz–Stegun 7.1.26, within 1.5·10⁻⁷).
        let phi = |x: f64| {
            let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
            let poly = t
                * (0.254_829_592
                    + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
            let erfc = poly * (-(x * x) / 2.0).exp();
            if x >= 0.0 { 1.0 - erfc / 2.0 } else { erfc / 2.0 }
        };
        let ks = z
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let f = phi(v);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0f64, f64::max);
        assert!(ks < 1.63 / n.sqrt(), "Kolmogorov–Smirnov statistic {ks}");
    }
}
