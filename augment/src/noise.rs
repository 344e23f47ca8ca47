//! Noise and occlusion: Gaussian noise, salt-and-pepper noise, and random erasing (Zhong et al.,
//! 2017). Per-pixel randomness comes from a generator forked per sample on the calling thread, so
//! the pixels can be drawn in parallel and still not depend on the thread count.

use neurite_core::Rng;
use neurite_core::isa::Isa;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

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
        // normals then come from a xoshiro256++ generator of its own, which draws them several
        // times faster than ChaCha8 (a normal per value is the whole cost of this transform).
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then(|| rng.next_u64()));
        update_samples(&mut batch, &params, |&seed, img| {
            let mut normals = Xoshiro256PlusPlus::seed_from_u64(seed);
            // Normals drawn 64 at a time, then added in one vectorised pass over the 64 values.
            let mut z = [0.0f32; 64];
            Isa::detect().run(
                #[inline(always)]
                || {
                    for chunk in img.chunks_mut(z.len()) {
                        for z in &mut z[..chunk.len()] {
                            *z = StandardNormal.sample(&mut normals);
                        }
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
