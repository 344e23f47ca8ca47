//! `u8` batches: every transform of the catalogue, the typical pipeline and a few with other
//! parameters give on levels what they give on `f32` values rounded to levels — the same draws
//! from the generator, and the same levels (within one level where the `u8` path sums in integers:
//! contrast's mean grey, halving, the Gaussian blur's fixed point; and for the bilateral blur's
//! coarser exponential). Sizes include odd ones, so vector loops leave remainders.

use neurite_augment::spec::{catalogue, parse_pipeline, typical_pipeline};
use neurite_augment::{ImageBatch, ImageSize, Pixel, Transform};
use neurite_core::{Rng, Stream};

/// A batch of random levels, with some 0s and 255s so clamping is exercised.
fn levels(n: usize, size: ImageSize, seed: u64) -> ImageBatch<u8> {
    let mut rng = Rng::seed(seed);
    let data = (0..n * size.len())
        .map(|i| match i % 97 {
            0 => 0,
            1 => 255,
            _ => rng.below(256) as u8,
        })
        .collect();
    ImageBatch::new(data, n, size)
}

/// The largest difference in levels between the `u8` path and the rounded `f32` path of `t`,
/// after checking that both drew the same numbers.
fn largest_gap(t: &dyn Transform, input: &ImageBatch<u8>) -> u8 {
    let (mut on_levels, mut on_values) = (Rng::stream(3, Stream::Augment), Rng::stream(3, Stream::Augment));
    let got = t.apply_batch_u8(input.clone(), &mut on_levels);
    let want = t.apply_batch(input.to_f32(), &mut on_values).to_u8();
    assert_eq!(on_levels.state(), on_values.state(), "{}: the two paths drew differently", t.name());
    assert_eq!(got.dims(), want.dims(), "{}: sizes", t.name());
    got.as_slice().iter().zip(want.as_slice()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0)
}

#[test]
fn every_catalogue_transform_gives_the_rounded_f32_result_on_levels() {
    for (size, n) in [(ImageSize::new(1, 28, 28), 5), (ImageSize::new(3, 37, 29), 3), (ImageSize::new(3, 64, 64), 2)] {
        let input = levels(n, size, 11);
        for (spec, t) in catalogue(size) {
            let gap = largest_gap(t.as_ref(), &input);
            // Contrast's u8 path sums levels as integers, halving averages 2 × 2 blocks of
            // levels as integers, the Gaussian blur runs in 16-bit fixed point and the bilateral
            // blur takes a coarser exponential (within 0.03 of a level); the f32 path lands
            // either side of a half.
            let integer = ["contrast", "resize", "gaussian", "bilateral"];
            let allowed = if integer.iter().any(|op| spec.starts_with(op)) { 1 } else { 0 };
            assert!(gap <= allowed, "{spec} on {size:?}: levels differ by {gap}");
        }
        let gap = largest_gap(&typical_pipeline(), &input);
        assert!(gap <= 1, "typical pipeline on {size:?}: levels differ by {gap}");
    }
}

#[test]
fn other_parameters_too() {
    let size = ImageSize::new(3, 33, 45);
    let input = levels(4, size, 12);
    for spec in [
        "resize:17x9",
        "resize:22x16",
        "resize:90x70",
        "resize:22x16,nearest",
        "resized-crop:0.5,1.0",
        "crop:pad=6,reflect",
        "crop:pad=3,edge",
        "translate:5,0.5",
        "gaussian-blur:2.5",
        "median-blur:5",
        "erase:0.5,random",
        "brightness-mul:0.5",
        "noise:0.2",
        "flip@0.5,vflip@0.5,brightness:0.3",
    ] {
        let t = parse_pipeline(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let gap = largest_gap(&t, &input);
        let allowed = if spec.starts_with("gaussian") { 1 } else { 0 };
        assert!(gap <= allowed, "{spec}: levels differ by {gap}");
    }
}

#[test]
fn levels_go_to_values_and_back() {
    for v in 0..=255u8 {
        assert_eq!(u8::from_unit(v.to_unit()), v);
        assert!((v.to_unit() - v as f32 / 255.0).abs() <= f32::EPSILON, "level {v}");
    }
    // Nearest level, halves to even, clamped, NaN to 0.
    assert_eq!(u8::from_unit(0.5), 128); // 127.5 → 128 (even)
    assert_eq!(u8::from_unit(1.5 / 255.0), 2);
    assert_eq!(u8::from_unit(2.5 / 255.0), 2);
    assert_eq!(u8::from_unit(-0.3), 0);
    assert_eq!(u8::from_unit(7.0), 255);
    assert_eq!(u8::from_unit(f32::NAN), 0);
    assert_eq!(u8::from_unit(f32::INFINITY), 255);
    let batch = ImageBatch::new(vec![0.0, 0.2, 1.0, 0.999], 1, ImageSize::new(1, 2, 2));
    assert_eq!(batch.to_u8().as_slice(), &[0, 51, 255, 255]);
    assert_eq!(batch.to_u8().to_f32().as_slice()[1], 51u8.to_unit());
}

#[test]
fn halving_levels_rounds_the_exact_mean_of_each_block() {
    // Every sum of four levels, 0..=1020, and its mean rounded to the nearest level, halves to
    // even.
    let (mut upper, mut lower) = (Vec::new(), Vec::new());
    for sum in 0..=1020u32 {
        // The sum spread over the block, its parts in an order that varies with it.
        let a = sum.min(255);
        let b = (sum - a).min(255);
        let c = (sum - a - b).min(255);
        let mut block = [a, b, c, sum - a - b - c].map(|v| v as u8);
        block.rotate_left(sum as usize % 4);
        upper.extend(&block[..2]);
        lower.extend(&block[2..]);
    }
    let mut out = vec![0u8; 1021];
    u8::box_halve(&upper, &lower, &mut out);
    for (sum, &got) in out.iter().enumerate() {
        let want = (sum as f64 / 4.0).round_ties_even() as u8;
        assert_eq!(got, want, "sum {sum}");
    }
}

#[test]
fn the_fixed_point_gaussian_is_within_a_level_of_the_exact_blur() {
    use neurite_augment::filter::{gaussian_blur_in_place, gaussian_kernel};
    // The exact blur in f64 with the same (f32) kernel, reflected at the border, then rounded:
    // the fixed-point levels never differ from it by more than one, and mostly not at all.
    for (sigma, taps) in [(1.0, 7), (0.6, 3), (2.5, 17), (1.3, 9)] {
        let size = ImageSize::new(3, 23, 41);
        let input = levels(1, size, 13);
        let kernel = gaussian_kernel(sigma, taps);
        let mut got = input.as_slice().to_vec();
        gaussian_blur_in_place(&mut got, size, &kernel);
        let (h, w, r) = (size.height as isize, size.width as isize, (taps / 2) as isize);
        let reflect = |i: isize, n: isize| {
            let period = (2 * n - 2).max(1);
            let m = i.rem_euclid(period);
            if m < n { m } else { period - m }
        };
        let mut off = 0;
        for plane in input.as_slice().chunks(size.plane()) {
            let along: Vec<f64> = (0..h * w)
                .map(|i| {
                    let (y, x) = (i / w, i % w);
                    (-r..=r)
                        .map(|t| kernel[(t + r) as usize] as f64 * plane[(y * w + reflect(x + t, w)) as usize] as f64)
                        .sum()
                })
                .collect();
            for i in 0..h * w {
                let (y, x) = (i / w, i % w);
                let exact: f64 = (-r..=r)
                    .map(|t| kernel[(t + r) as usize] as f64 * along[(reflect(y + t, h) * w + x) as usize])
                    .sum();
                let level = got[(off + i) as usize] as f64;
                assert!((level - exact).abs() <= 0.5 + 0.07, "σ {sigma}: {level} for {exact} at {i}");
            }
            off += h * w;
        }
        // A constant image stays constant, at every level.
        for v in [0u8, 1, 128, 254, 255] {
            let mut flat = vec![v; size.len()];
            gaussian_blur_in_place(&mut flat, size, &kernel);
            assert!(flat.iter().all(|&l| l == v), "σ {sigma}: constant {v}");
        }
    }
}
