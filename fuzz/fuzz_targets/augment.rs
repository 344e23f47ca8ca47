//! Fuzzes augmentation specs, the text of `--augment` and `--ops`: `parse_pipeline` on the input
//! as text, and a pipeline that parses applied to a small batch of RGB images (when its output
//! stays small). Nothing may panic, errors are one line, values stay in [0, 1], and the heap holds
//! no more than a fixed base beyond the batches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_augment::spec::parse_pipeline;
use neurite_augment::{ImageBatch, ImageSize, Transform};
use neurite_core::Rng;
use neurite_fuzz::{BASE_BYTES, within_memory};

/// The most values a transformed batch may hold here (a resize can ask for far more; `neurite`
/// checks that against its memory budget before applying it).
const MAX_VALUES: usize = 1 << 20;

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + 64 * MAX_VALUES, || check(data)));

fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let pipeline = match parse_pipeline(text) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "multi-line error: {e}");
            return;
        }
    };
    let size = ImageSize::new(3, 12, 10);
    let mut shape = size;
    for step in pipeline.steps() {
        shape = step.output_size(shape);
        if 2 * shape.len() > MAX_VALUES {
            return;
        }
    }
    let mut rng = Rng::seed(data.len() as u64);
    let values = rng.uniform_vec(2 * size.len(), 0.0, 1.0);
    let out = pipeline.apply_batch(ImageBatch::new(values, 2, size), &mut rng);
    assert_eq!(out.size(), shape);
    assert!(out.as_slice().iter().all(|v| (0.0..=1.0).contains(v)), "values left [0, 1]");
}
