//! Helpers the augmentation tests share: small deterministic images, the sample photo, value
//! formatting for snapshots (5 significant digits), and a batch check on every backend.
#![allow(dead_code)]

use std::path::PathBuf;

use neurite_augment::{ImageBatch, ImageSize};
use neurite_core::Rng;

/// The workspace's `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("data")
}

/// The sample cat photo (451×300 RGB, CC0).
pub fn cat_path() -> PathBuf {
    data_dir().join("images").join("chelsea.png")
}

/// One image of `size` with distinct values in [0.05, 0.95), none equal to 0 or 1.
pub fn ramp(size: ImageSize) -> ImageBatch {
    let data = (0..size.len()).map(|i| ((i + 1) as f32 * 0.618_034).fract() * 0.9 + 0.05).collect();
    ImageBatch::new(data, 1, size)
}

/// `n` images of `size` with values uniform in [0, 1) from `seed`.
pub fn random_batch(n: usize, size: ImageSize, seed: u64) -> ImageBatch {
    ImageBatch::new(Rng::seed(seed).uniform_vec(n * size.len(), 0.0, 1.0), n, size)
}

/// Values rounded to 5 significant digits, space-separated, so every backend gives the same text.
pub fn fmt5(values: &[f32]) -> String {
    values.iter().map(|v| format!("{v:.4e}")).collect::<Vec<_>>().join(" ")
}

/// Asserts two slices agree within `tol`, naming the first differing index.
pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "index {i}: got {g}, want {w} (tolerance {tol})");
    }
}
