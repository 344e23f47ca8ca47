//! Fuzzes image decoding through the project's loader: `neurite_augment::io::decode_image` with
//! the default limits the CLI uses, then the CLI's resize to MNIST's 28×28 as its image-folder
//! reader does. Nothing may panic, a decoded image stays inside the limits, and the heap holds no
//! more than [`BYTES_PER_PIXEL`] for each pixel the input's size can justify
//! (`neurite_augment::io::max_pixels_for`) beyond a fixed base.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use neurite_augment::io::{Channels, DecodeLimits, decode_image, max_pixels_for};
use neurite_fuzz::{BASE_BYTES, within_memory};

/// Heap per decoded pixel: the decoder's buffer (at most 16-bit RGBA, 8 bytes) and two f32 RGB
/// copies on the way to the planar batch (24 bytes).
const BYTES_PER_PIXEL: usize = 8 + 24;

fuzz_target!(|data: &[u8]| {
    let justified = max_pixels_for(data) as usize * BYTES_PER_PIXEL;
    within_memory(BASE_BYTES + justified, || check(data))
});

fn check(data: &[u8]) {
    let channels = [Channels::Auto, Channels::Grey, Channels::Rgb][data.len() % 3];
    let limits = DecodeLimits::DEFAULT;
    let Ok(image) = decode_image(data, Path::new("fuzz.png"), channels, &limits) else { return };
    let size = image.size();
    assert!(size.width as u64 <= limits.max_width as u64 && size.height as u64 <= limits.max_height as u64);
    assert_eq!(image.as_slice().len(), size.channels * size.height * size.width);
    assert!(image.as_slice().iter().all(|v| (0.0..=1.0).contains(v)), "pixel values outside [0, 1]");
    let resized = neurite_data::resize_to(image.as_slice(), size, 28, 28);
    assert_eq!(resized.len(), size.channels * 28 * 28);
}
