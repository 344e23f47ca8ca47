//! Fuzzes IDX parsing (raw and gzip): `parse_idx` on the whole input, then `mnist_from_bytes` on
//! the input split in two (the first byte picks the split). Nothing may panic; raw data decodes to
//! no more bytes than the input, gzip data to no more than DEFLATE's ratio allows, and the heap
//! holds at most four times that (a growing buffer doubles) beyond a fixed base.
#![no_main]

use libfuzzer_sys::fuzz_target;
use neurite_fuzz::{BASE_BYTES, within_memory};
use neurite_nn::data::{mnist_from_bytes, parse_idx};

/// DEFLATE expands at most about 1032:1; the bound adds room for the gzip framing.
fn output_bound(input: &[u8]) -> usize {
    if input.starts_with(&[0x1f, 0x8b]) { 1100 * input.len() + 1024 } else { input.len() }
}

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + 4 * output_bound(data), || check(data)));

fn check(data: &[u8]) {
    if let Ok(array) = parse_idx(data, "fuzz.idx") {
        let count = array.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        assert_eq!(count, Some(array.data.len()), "dims {:?} disagree with the data", array.dims);
        assert!(array.data.len() <= output_bound(data), "{} bytes from {}", array.data.len(), data.len());
    }
    if let Some((&first, rest)) = data.split_first() {
        let split = (first as usize * rest.len()) / 255;
        let (images, labels) = rest.split_at(split);
        if let Ok(set) = mnist_from_bytes(images, labels) {
            assert!(set.len() * set.rows() * set.cols() <= output_bound(images));
            assert!(set.labels().iter().all(|&l| (l as usize) < set.classes()));
        }
    }
}
