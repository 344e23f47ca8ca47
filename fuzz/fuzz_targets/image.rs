//! Fuzzes image decoding through the project's loader: `neurite_augment::io::decode_image` with
//! the default limits the CLI uses, then the CLI's resize to MNIST's 28×28 as its image-folder
//! reader does. Nothing may panic, a decoded image stays inside the limits, and the heap holds no
//! more than [`BYTES_PER_INPUT_BYTE`] per input byte beyond a fixed base.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use neurite_augment::io::{Channels, DecodeLimits, decode_image};
use neurite_fuzz::{BASE_BYTES, within_memory};

/// Decoded bytes per input byte that can be justified: DEFLATE expands at most 1032:1 and a
/// pixel becomes up to 12 bytes of f32 (plus the decoder's own buffer) on the way.
const BYTES_PER_INPUT_BYTE: usize = 32 * 1024;

fuzz_target!(|data: &[u8]| within_memory(BASE_BYTES + BYTES_PER_INPUT_BYTE * data.len(), || check(data)));

fn check(data: &[u8]) {
    let channels = [Channels::Auto, Channels::Grey, Channels::Rgb][data.len() % 3];
    let limits = DecodeLimits::DEFAULT;
    let Ok(image) = decode_image(data, Path::new("fuzz.png"), channels, &limits) else { return };
    let size = image.size();
    assert!(size.width as u64 <= limits.max_width as u64 && size.height as u64 <= limits.max_height as u64);
    assert_eq!(image.as_slice().len(), size.channels * size.height * size.width);
    assert!(image.as_slice().iter().all(|v| (0.0..=1.0).contains(v)), "pixel values outside [0, 1]");
    let resized = neurite_cli::data::resize_to(image.as_slice(), size, 28, 28);
    assert_eq!(resized.len(), size.channels * 28 * 28);
}
