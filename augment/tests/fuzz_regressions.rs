//! Inputs the `image` fuzz target of `fuzz/` found, replayed so the fixes stay.
//! `cargo xtask fuzz` runs the targets.

use std::path::Path;

use neurite_augment::ImageSize;
use neurite_augment::io::{Channels, DecodeLimits, decode_image, encode_png};

/// Decodes `bytes` as `channels` and returns the smallest and largest value.
fn range(bytes: &[u8], channels: Channels) -> (f32, f32) {
    let image = decode_image(bytes, Path::new("white.png"), channels, &DecodeLimits::DEFAULT).expect("decodes");
    image.as_slice().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// The fuzzer's input was a JPEG with saturated colour pixels read as grey: the luma weights
/// (0.2126 + 0.7152 + 0.0722) sum to just over 1 in f32, so white came out as 1.0000001,
/// outside the documented [0, 1].
#[test]
fn white_colour_pixels_read_as_grey_stay_at_one() {
    let white = encode_png(&[1.0; 3 * 2 * 2], ImageSize::new(3, 2, 2), Path::new("white.png")).expect("encodes");
    assert_eq!(range(&white, Channels::Grey), (1.0, 1.0));
    assert_eq!(range(&white, Channels::Auto), (1.0, 1.0));
    assert_eq!(range(&white, Channels::Rgb), (1.0, 1.0));
}

/// The fuzzer's input was 542 bytes of JPEG whose header announces 497 × 8455 pixels: the
/// decoder filled the missing scans in and the loader held 54.6 MB for it, about 100 000 bytes
/// per input byte. A JPEG spends at least one bit per 8×8 block, so 542 bytes hold at most
/// ~277 000 pixels; the loader now refuses the file before decoding.
#[test]
fn a_tiny_jpeg_announcing_millions_of_pixels_is_refused_before_decoding() {
    let bytes = include_bytes!("fuzz_inputs/jpeg-497x8455-in-542-bytes.jpg");
    assert_eq!(bytes.len(), 542);
    for channels in [Channels::Auto, Channels::Grey, Channels::Rgb] {
        let err = decode_image(bytes, Path::new("tiny.jpg"), channels, &DecodeLimits::DEFAULT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tiny.jpg: header announces 497×8455 pixels, more than 542 bytes of jpeg can hold (truncated or corrupt file)"
        );
    }
    assert_eq!(neurite_augment::io::max_pixels_for(bytes), 542 * 1024);
}
