//! Hand-checked outputs on tiny images: flips, translation with each fill, crops and resizes,
//! median and Gaussian blur, bilateral against its definition, brightness and contrast, PCA colour noise
//! and erasing. The arithmetic is in the comments.

mod common;

use common::{assert_close, ramp};
use neurite_augment::color::{ColorPca, mean_grey};
use neurite_augment::filter::{auto_kernel_size, bilateral_blur, gaussian_blur, gaussian_kernel, median_blur};
use neurite_augment::geometry::{Region, resize_region, shift_crop};
use neurite_augment::{
    Brightness, Contrast, EraseFill, Fill, GaussianBlur, GaussianNoise, HorizontalFlip, ImageBatch, ImageSize,
    Interpolation, MedianBlur, PcaNoise, RandomCrop, RandomErasing, Resize, Transform, Translate, VerticalFlip,
};
use neurite_core::{Rng, Stream};

/// The 3×3 grey image 0.1 … 0.9, row by row.
fn nine() -> ImageBatch {
    ImageBatch::new((1..=9).map(|i| i as f32 / 10.0).collect(), 1, ImageSize::new(1, 3, 3))
}

fn rng() -> Rng {
    Rng::stream(1, Stream::Augment)
}

fn check(t: &dyn Transform, input: ImageBatch, want: &[f32]) {
    let got = t.apply_batch(input, &mut rng());
    assert_close(got.as_slice(), want, 1e-6);
}

#[test]
fn horizontal_flip_of_a_3x3_mirrors_each_row() {
    check(&HorizontalFlip::new(1.0), nine(), &[0.3, 0.2, 0.1, 0.6, 0.5, 0.4, 0.9, 0.8, 0.7]);
}

#[test]
fn vertical_flip_of_a_3x3_mirrors_each_column() {
    check(&VerticalFlip::new(1.0), nine(), &[0.7, 0.8, 0.9, 0.4, 0.5, 0.6, 0.1, 0.2, 0.3]);
}

#[test]
fn flip_with_probability_zero_is_the_identity() {
    check(&HorizontalFlip::new(0.0), nine(), nine().as_slice());
}

fn shifted(dx: isize, dy: isize, fill: Fill) -> Vec<f32> {
    let mut dst = vec![0.0; 9];
    Translate::shift(nine().as_slice(), ImageSize::new(1, 3, 3), dx, dy, fill, &mut dst);
    dst
}

#[test]
fn translation_right_by_one_with_constant_fill_shows_the_constant() {
    // Column 0 is uncovered; columns 1 and 2 show the old columns 0 and 1.
    assert_close(&shifted(1, 0, Fill::Constant(0.0)), &[0.0, 0.1, 0.2, 0.0, 0.4, 0.5, 0.0, 0.7, 0.8], 0.0);
}

#[test]
fn translation_right_by_one_with_edge_fill_repeats_the_first_column() {
    assert_close(&shifted(1, 0, Fill::Edge), &[0.1, 0.1, 0.2, 0.4, 0.4, 0.5, 0.7, 0.7, 0.8], 0.0);
}

#[test]
fn translation_right_by_one_with_reflect_fill_mirrors_column_one() {
    // Column −1 reflects about column 0 onto column 1.
    assert_close(&shifted(1, 0, Fill::Reflect), &[0.2, 0.1, 0.2, 0.5, 0.4, 0.5, 0.8, 0.7, 0.8], 0.0);
}

#[test]
fn translation_up_by_one_with_each_fill_fills_the_last_row() {
    // dy = −1: rows 0 and 1 show the old rows 1 and 2; row 2 reads row 3.
    assert_close(&shifted(0, -1, Fill::Constant(1.0)), &[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0, 1.0], 0.0);
    assert_close(&shifted(0, -1, Fill::Edge), &[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.7, 0.8, 0.9], 0.0);
    assert_close(&shifted(0, -1, Fill::Reflect), &[0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.5, 0.6], 0.0);
}

#[test]
fn random_translation_by_at_most_one_pixel_is_one_of_the_nine_shifts() {
    let t = Translate::new(1, Fill::Edge);
    for seed in 0..20 {
        let got = t.apply_batch(nine(), &mut Rng::seed(seed)).into_vec();
        let found =
            (-1..=1).flat_map(|dx| (-1..=1).map(move |dy| (dx, dy))).any(|(dx, dy)| shifted(dx, dy, Fill::Edge) == got);
        assert!(found, "seed {seed}: {got:?} is no shift by one pixel");
    }
}

#[test]
fn cifar_crop_is_a_shift_of_the_zero_padded_image() {
    // Padding 1 then cropping 3×3 back at offset (oy, ox) ∈ 0..=2 is a shift by (1 − ox, 1 − oy).
    let t = RandomCrop::new(1, Fill::Constant(0.0));
    for seed in 0..20 {
        let got = t.apply_batch(nine(), &mut Rng::seed(seed)).into_vec();
        let found = (-1..=1)
            .flat_map(|dx| (-1..=1).map(move |dy| (dx, dy)))
            .any(|(dx, dy)| shifted(dx, dy, Fill::Constant(0.0)) == got);
        assert!(found, "seed {seed}: {got:?}");
    }
}

#[test]
fn crop_to_a_smaller_window_reads_the_right_block() {
    // A 2×2 window at (top 1, left 0) of the 3×3: 0.4 0.5 / 0.7 0.8.
    let mut dst = vec![0.0; 4];
    shift_crop(nine().as_slice(), ImageSize::new(1, 3, 3), 1, 0, 2, 2, Fill::Edge, &mut dst);
    assert_eq!(dst, [0.4, 0.5, 0.7, 0.8]);
}

#[test]
fn bilinear_downscale_of_2x2_to_1x1_is_the_mean() {
    // The output centre sits at (0.5, 0.5) of the source: the mean of the four pixels.
    let src = [0.0, 0.2, 0.4, 0.6];
    let size = ImageSize::new(1, 2, 2);
    let mut dst = [0.0];
    resize_region(&src, size, Region::whole(size), 1, 1, Interpolation::Bilinear, &mut dst);
    assert!((dst[0] - 0.3).abs() < 1e-7, "{dst:?}");
}

#[test]
fn nearest_downscale_by_two_keeps_every_other_pixel() {
    let src: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
    let out = Resize::new(2, 2, Interpolation::Nearest)
        .apply_batch(ImageBatch::new(src, 1, ImageSize::new(1, 4, 4)), &mut rng());
    assert_eq!(out.as_slice(), [0.0, 2.0 / 16.0, 8.0 / 16.0, 10.0 / 16.0]);
}

#[test]
fn median_of_a_known_window_is_its_fifth_value() {
    // Window 9 1 8 / 2 7 3 / 6 4 5 (tenths): sorted 1…9, the median is 5.
    let src = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5];
    let mut dst = [0.0; 9];
    median_blur(&src, ImageSize::new(1, 3, 3), 3, &mut dst);
    assert_eq!(dst[4], 0.5);
    // The corner repeats the edge: 9 9 1 / 9 9 1 / 2 2 7, sorted 1 1 2 2 7 9 9 9 9, median 7.
    assert_eq!(dst[0], 0.7);
}

#[test]
fn median_blur_removes_an_isolated_spike() {
    let mut image = vec![0.5; 25];
    image[12] = 1.0;
    check(&MedianBlur::new(3), ImageBatch::new(image.clone(), 1, ImageSize::new(1, 5, 5)), &[0.5; 25]);
    check(&MedianBlur::new(5), ImageBatch::new(image, 1, ImageSize::new(1, 5, 5)), &[0.5; 25]);
}

#[test]
fn gaussian_kernel_sums_to_one() {
    for sigma in [0.3, 0.5, 1.0, 1.7, 3.0] {
        for size in [1, 3, 5, auto_kernel_size(sigma), 15] {
            let k = gaussian_kernel(sigma, size);
            let total: f32 = k.iter().sum();
            assert!((total - 1.0).abs() < 1e-6, "σ {sigma}, size {size}: sum {total}");
            assert!(k.iter().zip(k.iter().rev()).all(|(a, b)| a == b), "σ {sigma}: not symmetric");
        }
    }
}

#[test]
fn gaussian_kernel_of_sigma_one_and_three_taps_has_the_textbook_weights() {
    // [e^−½, 1, e^−½] / (1 + 2e^−½) = [0.274069, 0.451863, 0.274069]
    assert_close(&gaussian_kernel(1.0, 3), &[0.274_069, 0.451_863, 0.274_069], 1e-6);
    assert_eq!(auto_kernel_size(1.0), 7);
    assert_eq!(gaussian_kernel(0.0, 3), [0.0, 1.0, 0.0]);
}

#[test]
fn gaussian_blur_of_a_single_bright_pixel_spreads_the_kernel_outer_product() {
    // An impulse at the centre of a 5×5 image (σ 1, 3 taps, far from the border) becomes k kᵀ.
    let mut src = vec![0.0; 25];
    src[12] = 1.0;
    let k = gaussian_kernel(1.0, 3);
    let mut dst = vec![0.0; 25];
    gaussian_blur(&src, ImageSize::new(1, 5, 5), &k, &mut dst);
    for (y, x) in [(1, 1), (1, 2), (2, 2), (3, 1)] {
        assert!((dst[y * 5 + x] - k[y - 1] * k[x - 1]).abs() < 1e-7, "({y}, {x})");
    }
    assert_eq!(dst[0], 0.0);
}

/// The bilateral blur straight from its definition, in f64 with the exact exponential: the
/// pixels of the disc dx² + dy² ≤ r² around each pixel (reflected at the border), weighted by
/// the Gaussians of σ_space along each axis times exp(−Δ²/(2σ_color²)).
fn bilateral_by_definition(src: &[f32], size: ImageSize, sigma_space: f32, sigma_color: f32) -> Vec<f32> {
    let (c, h, w) = (size.channels, size.height as isize, size.width as isize);
    let r = (auto_kernel_size(sigma_space) / 2) as isize;
    let g = |d: isize| (-(d * d) as f64 / (2.0 * sigma_space as f64 * sigma_space as f64)).exp();
    // Reflection without repeating the edge, folded as often as a small image needs.
    let reflect = |i: isize, n: isize| {
        let period = (2 * n - 2).max(1);
        let m = i.rem_euclid(period);
        if m < n { m } else { period - m }
    };
    let at = |ch: usize, y: isize, x: isize| {
        src[ch * (h * w) as usize + (reflect(y, h) * w + reflect(x, w)) as usize] as f64
    };
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            let (mut sums, mut total) = (vec![0.0f64; c], 0.0f64);
            for dy in -r..=r {
                for dx in (-r..=r).filter(|dx| dx * dx + dy * dy <= r * r) {
                    let d2: f64 = (0..c).map(|ch| (at(ch, y + dy, x + dx) - at(ch, y, x)).powi(2)).sum();
                    let weight = g(dy) * g(dx) * (-d2 / (2.0 * sigma_color as f64 * sigma_color as f64)).exp();
                    total += weight;
                    for (ch, s) in sums.iter_mut().enumerate() {
                        *s += weight * at(ch, y + dy, x + dx);
                    }
                }
            }
            for (ch, s) in sums.iter().enumerate() {
                out[ch * (h * w) as usize + (y * w + x) as usize] = (s / total) as f32;
            }
        }
    }
    out
}

#[test]
fn bilateral_is_its_definition() {
    // One, two (the generic path) and three channels; widths below, at and past the blocks of
    // eight and sixteen; values in [0, 1] (the loops leave out the exponent's clamp for one
    // channel there) and in [−3, 3] (where they keep it); σ_color from tiny to huge, where the
    // blur becomes a Gaussian over the disc.
    let mut rng = Rng::seed(17);
    for (channels, h, w) in [(1, 5, 3), (1, 9, 28), (2, 6, 11), (3, 7, 13), (1, 8, 37), (3, 5, 20)] {
        let size = ImageSize::new(channels, h, w);
        for (low, high) in [(0.0, 1.0), (-3.0, 3.0)] {
            let src = rng.uniform_vec(size.len(), low, high);
            for (sigma_space, sigma_color) in [(1.0, 0.1), (0.7, 0.3), (1.3, 0.05), (1.0, 1e6)] {
                let want = bilateral_by_definition(&src, size, sigma_space, sigma_color);
                let mut got = vec![0.0; size.len()];
                bilateral_blur(&src, size, sigma_space, sigma_color, &mut got);
                let scale = high - low;
                assert_close(&got, &want, 2e-5 * scale);
            }
        }
    }
}

#[test]
fn bilateral_of_levels_is_the_definition_rounded() {
    // Levels take a coarser exponential (10⁻⁴ relative instead of 3·10⁻⁶), which moves a result
    // by at most 0.026 of a level before it is rounded: every level lies within 0.5 + 0.03 of
    // the exact blur of level/255, and almost all are the exact blur rounded.
    let mut rng = Rng::seed(23);
    let (mut levels_seen, mut off_by_one) = (0, 0);
    for (channels, h, w) in [(1, 28, 28), (1, 9, 13), (2, 6, 11), (3, 7, 13)] {
        let size = ImageSize::new(channels, h, w);
        let levels: Vec<u8> = (0..size.len()).map(|_| rng.below(256) as u8).collect();
        let values: Vec<f32> = levels.iter().map(|&l| l as f32 / 255.0).collect();
        for (sigma_space, sigma_color) in [(1.0, 0.1), (0.7, 0.3), (1.3, 0.05)] {
            let want = bilateral_by_definition(&values, size, sigma_space, sigma_color);
            let mut got = vec![0u8; size.len()];
            bilateral_blur(&levels, size, sigma_space, sigma_color, &mut got);
            for (i, (&level, &exact)) in got.iter().zip(&want).enumerate() {
                let exact = exact as f64 * 255.0;
                assert!(
                    (level as f64 - exact).abs() <= 0.53,
                    "{size:?}, σ {sigma_space}, {sigma_color}: {level} for {exact} at {i}"
                );
                levels_seen += 1;
                off_by_one += usize::from(level as f64 != exact.round());
            }
        }
    }
    assert!(off_by_one * 1000 < levels_seen, "{off_by_one} of {levels_seen} levels are not the exact blur rounded");
}

#[test]
fn bilateral_equals_a_gaussian_over_the_disc_when_sigma_color_is_huge() {
    // At σ_space 1 the disc of radius 3 leaves out the square's corners. A delta in the middle of
    // an 11×11 image: every pixel's weights sum to the disc's Σ g(dx)·g(dy) (reflection moves
    // values, not weights), and a pixel at offset (dy, dx) from the delta gets g(dy)·g(dx) of it.
    let size = ImageSize::new(1, 11, 11);
    let mut src = vec![0.0; 121];
    src[60] = 1.0;
    let mut got = vec![0.0; 121];
    bilateral_blur(&src, size, 1.0, 1e6, &mut got);
    let g = |d: i32| (-(d * d) as f64 / 2.0).exp();
    let disc: f64 = (-3..=3i32)
        .flat_map(|dy| (-3..=3i32).map(move |dx| (dy, dx)))
        .filter(|(dy, dx)| dx * dx + dy * dy <= 9)
        .map(|(dy, dx)| g(dy) * g(dx))
        .sum();
    assert!((got[60] as f64 - 1.0 / disc).abs() < 1e-6, "centre {}", got[60]);
    assert!((got[63] as f64 - g(3) / disc).abs() < 1e-6, "three to the right {}", got[63]);
    assert!((got[60 - 22 + 1] as f64 - g(2) * g(1) / disc).abs() < 1e-6, "(−2, 1): {}", got[39]);
    // (3, 3) and (3, 1) lie outside the disc (18 and 10 > 9): nothing of the delta reaches them.
    assert!(got[60 - 33 - 3].abs() < 1e-9 && got[60 + 33 + 1].abs() < 1e-9, "{} {}", got[24], got[94]);
}

#[test]
fn bilateral_keeps_a_sharp_edge_that_gaussian_smears() {
    // Left half 0, right half 1: with σ_color 0.1 the other side weighs e^−50 ≈ 0.
    let size = ImageSize::new(1, 4, 6);
    let src: Vec<f32> = (0..24).map(|i| if i % 6 < 3 { 0.0 } else { 1.0 }).collect();
    let mut dst = vec![0.0; 24];
    bilateral_blur(&src, size, 1.0, 0.1, &mut dst);
    assert_close(&dst, &src, 1e-6);
    let blurred = GaussianBlur::new(1.0).apply_batch(ImageBatch::new(src, 1, size), &mut rng());
    assert!(blurred.as_slice()[2] > 0.1, "Gaussian should smear the edge");
}

#[test]
fn pca_noise_with_alpha_zero_is_the_identity() {
    let input = ramp(ImageSize::new(3, 5, 4));
    check(&PcaNoise::new(0.0), input.clone(), input.as_slice());
    let pca = ColorPca::of_batch(&input);
    assert_eq!(pca.offset(&[0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]);
}

#[test]
fn pca_of_grey_pixels_has_one_component_along_the_diagonal() {
    // Pixels (t, t, t) with t ∈ {0.2, 0.4}: covariance = var(t)·𝟙𝟙ᵀ with var = 0.01, so λ₁ = 0.03
    // on p₁ = (1, 1, 1)/√3 and λ₂ = λ₃ = 0. α = (1, 0, 0) shifts each channel by 0.03/√3.
    let batch = ImageBatch::new(vec![0.2, 0.4, 0.2, 0.4, 0.2, 0.4], 1, ImageSize::new(3, 1, 2));
    let pca = ColorPca::of_batch(&batch);
    assert_close(&pca.eigenvalues, &[0.03, 0.0, 0.0], 1e-7);
    let r = 1.0 / 3f32.sqrt();
    assert_close(&pca.eigenvectors[..3], &[r, r, r], 1e-6);
    assert_close(&pca.offset(&[1.0, 0.0, 0.0]), &[0.03 * r; 3], 1e-7);
}

#[test]
fn additive_brightness_shifts_every_value_by_the_same_amount() {
    // A constant 0.5 image stays constant: its shift b is the output minus 0.5, |b| ≤ 0.2.
    let out = Brightness::additive(0.2).apply_batch(ImageBatch::full(1, ImageSize::new(3, 2, 2), 0.5), &mut rng());
    let b = out.as_slice()[0] - 0.5;
    assert!(b.abs() <= 0.2 && out.as_slice().iter().all(|&v| v == 0.5 + b), "{out:?}");
}

#[test]
fn brightness_saturates_at_one() {
    // Factors uniform in [0, 2] on 0.6: a factor above 5/3 would give more than 1, and is clamped.
    let out =
        Brightness::multiplicative(1.0).apply_batch(ImageBatch::full(32, ImageSize::new(1, 1, 1), 0.6), &mut rng());
    assert!(out.as_slice().iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!(out.as_slice().contains(&1.0), "no sample saturated: {:?}", out.as_slice());
}

#[test]
fn contrast_scales_distances_from_the_mean_grey() {
    // Grey 0.2 and 0.6: mean 0.4. Any factor c maps them to 0.4 ∓ 0.2c, keeping the mean.
    let out = Contrast::new(0.5).apply_batch(ImageBatch::new(vec![0.2, 0.6], 1, ImageSize::new(1, 1, 2)), &mut rng());
    let [a, b] = [out.as_slice()[0], out.as_slice()[1]];
    assert!((a + b - 0.8).abs() < 1e-6, "{a} {b}");
    let c = (b - a) / 0.4;
    assert!((0.5..=1.5).contains(&c), "factor {c}");
    assert!((mean_grey(&[1.0, 1.0, 1.0], ImageSize::new(3, 1, 1)) - 1.0).abs() < 1e-6);
}

#[test]
fn erasing_with_probability_one_paints_one_rectangle() {
    let size = ImageSize::new(2, 10, 12);
    let t = RandomErasing::new(1.0, EraseFill::Constant(0.0));
    let out = t.apply_batch(ImageBatch::full(1, size, 0.5), &mut rng());
    let zeros: Vec<(usize, usize)> = (0..120).filter(|&i| out.as_slice()[i] == 0.0).map(|i| (i / 12, i % 12)).collect();
    assert!(!zeros.is_empty(), "nothing was erased");
    let (y0, y1) = (zeros.iter().map(|p| p.0).min().unwrap(), zeros.iter().map(|p| p.0).max().unwrap());
    let (x0, x1) = (zeros.iter().map(|p| p.1).min().unwrap(), zeros.iter().map(|p| p.1).max().unwrap());
    assert_eq!(zeros.len(), (y1 - y0 + 1) * (x1 - x0 + 1), "the erased pixels are not a rectangle");
    // The second channel is erased at the same place.
    assert_eq!(out.as_slice()[120..], out.as_slice()[..120]);
}

#[test]
fn gaussian_blur_with_a_fixed_kernel_size_uses_it() {
    // σ 1 with a 1-tap kernel is the identity.
    let t = GaussianBlur { kernel_size: Some(1), ..GaussianBlur::new(1.0) };
    check(&t, nine(), nine().as_slice());
}

#[test]
fn median_blur_matches_sorting_each_window() {
    // The sorted-column shortcuts (k = 3) and merges (k = 5, 7) against a full sort per window.
    for (k, (h, w)) in [(3, (6, 7)), (5, (5, 9)), (7, (4, 3)), (1, (2, 2))] {
        let size = ImageSize::new(2, h, w);
        let src = common::random_batch(1, size, k as u64).into_vec();
        let mut got = vec![0.0; size.len()];
        median_blur(&src, size, k, &mut got);
        let r = (k / 2) as isize;
        let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
        for c in 0..2 {
            for y in 0..h {
                for x in 0..w {
                    let mut window: Vec<f32> = (-r..=r)
                        .flat_map(|dy| (-r..=r).map(move |dx| (dy, dx)))
                        .map(|(dy, dx)| src[c * h * w + clamp(y as isize + dy, h) * w + clamp(x as isize + dx, w)])
                        .collect();
                    window.sort_by(f32::total_cmp);
                    assert_eq!(got[c * h * w + y * w + x], window[k * k / 2], "k {k}, channel {c}, ({y}, {x})");
                }
            }
        }
    }
}

#[test]
fn gaussian_noise_has_the_asked_spread_and_differs_per_image() {
    // Mid-grey, σ = 0.05: clamping never bites (10σ from either end), so each image's values
    // are 0.5 + N(0, σ²) draws. 3 × 100 × 100 values per image: the sample mean is within
    // 4σ/√30000 ≈ 0.0012 of 0.5 and the sample σ within 2% of 0.05.
    let size = ImageSize::new(3, 100, 100);
    let out = GaussianNoise::new(0.05).apply_batch(ImageBatch::full(2, size, 0.5), &mut rng());
    for i in 0..2 {
        let image = out.image(i);
        let n = image.len() as f64;
        let mean = image.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (image.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 0.5).abs() < 0.0012, "image {i}: mean {mean}");
        assert!((sd - 0.05).abs() < 0.001, "image {i}: σ {sd}");
    }
    assert_ne!(out.image(0), out.image(1), "each image draws its own noise");
}
