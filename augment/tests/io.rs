//! Image files: the sample photo loads with the right shape and values, PNG round trips are exact,
//! JPEG loads, and corrupt, huge, unknown, missing or oversized inputs fail with clear errors.

mod common;

use std::path::Path;

use common::cat_path;
use neurite_augment::io::{decode_image, encode_png, read_image, read_image_levels};
use neurite_augment::{Channels, DecodeLimits, ImageError, ImageSize, load_image, load_image_as, save_png};
use neurite_core::Tensor;
use neurite_core::reference::ReferenceBackend as R;

/// Appends a PNG chunk: length, type and data, CRC of type and data.
fn chunk(bytes: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    bytes.extend((data.len() as u32).to_be_bytes());
    let body: Vec<u8> = kind.iter().chain(data).copied().collect();
    bytes.extend(&body);
    bytes.extend(crc32fast::hash(&body).to_be_bytes());
}

/// A small PNG whose header announces `width × height` RGB pixels, followed by a few bytes of
/// image data (an empty zlib stream): the shape of a decompression bomb.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    chunk(&mut bytes, b"IHDR", &ihdr);
    chunk(&mut bytes, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(&mut bytes, b"IEND", &[]);
    bytes
}

#[test]
fn the_cat_loads_as_one_rgb_image_with_the_file_values() {
    let cat: Tensor<R> = load_image(cat_path()).unwrap();
    assert_eq!(cat.dims(), [1, 3, 300, 451]);
    let reference = image::open(cat_path()).unwrap().to_rgb8();
    let plane = 300 * 451;
    for (x, y) in [(0, 0), (450, 299), (200, 100)] {
        let px = reference.get_pixel(x, y).0;
        for (c, &byte) in px.iter().enumerate() {
            let got = cat.as_slice()[c * plane + y as usize * 451 + x as usize];
            assert_eq!(got, byte as f32 / 255.0, "pixel ({x}, {y}) channel {c}");
        }
    }
    assert!(cat.as_slice().iter().all(|v| (0.0..=1.0).contains(v)));
    let grey: Tensor<R> = load_image_as(cat_path(), Channels::Grey).unwrap();
    assert_eq!(grey.dims(), [1, 1, 300, 451]);
}

#[test]
fn png_round_trips_are_exact_for_grey_and_rgb() {
    let dir = tempfile::tempdir().unwrap();
    for (c, name) in [(1, "grey.png"), (3, "rgb.png")] {
        let values: Vec<f32> = (0..c * 4 * 5).map(|i| ((i * 13) % 256) as f32 / 255.0).collect();
        let x = Tensor::<R>::from_vec(values.clone(), [1, c, 4, 5]);
        let path = dir.path().join(name);
        save_png(&x, &path).unwrap();
        // Auto-detection reads the grey file back with one channel.
        let back: Tensor<R> = load_image(&path).unwrap();
        assert_eq!(back.dims(), [1, c, 4, 5]);
        assert_eq!(back.as_slice(), values.as_slice(), "{name}");
    }
}

#[test]
fn saving_clamps_values_outside_the_unit_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clamped.png");
    save_png(&Tensor::<R>::from_vec(vec![-0.5, 0.5, 1.5], [1, 1, 1, 3]), &path).unwrap();
    let back: Tensor<R> = load_image(&path).unwrap();
    // 0.5 · 255 = 127.5 rounds to 128.
    assert_eq!(back.as_slice(), [0.0, 128.0 / 255.0, 1.0]);
}

#[test]
fn a_jpeg_loads_close_to_what_was_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smooth.jpg");
    let (w, h) = (16u32, 16u32);
    let pixels: Vec<u8> = (0..w * h).flat_map(|i| [(i % w * 8) as u8, (i / w * 8) as u8, 128]).collect();
    image::save_buffer(&path, &pixels, w, h, image::ExtendedColorType::Rgb8).unwrap();
    let back: Tensor<R> = load_image(&path).unwrap();
    assert_eq!(back.dims(), [1, 3, 16, 16]);
    // Blue is 128 everywhere; JPEG keeps a flat channel within a few levels.
    let blue = &back.as_slice()[2 * 256..];
    assert!(blue.iter().all(|v| (v - 128.0 / 255.0).abs() < 0.03), "{:?}", &blue[..8]);
}

#[test]
fn a_huge_png_header_fails_fast_with_the_announced_size() {
    let err =
        decode_image(&png_header(100_000, 100_000), Path::new("bomb.png"), Channels::Auto, &DecodeLimits::DEFAULT)
            .unwrap_err();
    assert!(matches!(err, ImageError::TooLarge { width: 100_000, height: 100_000, .. }), "{err:?}");
    assert_eq!(err.to_string(), "bomb.png: image is 100000×100000 pixels, more than the limit of 16384×16384");
}

#[test]
fn a_png_announcing_more_pixels_than_its_bytes_can_inflate_to_is_refused() {
    // 16 000² pixels are within the size limits, but 69 bytes of DEFLATE inflate to at most
    // 69 × 1032 bytes, far fewer than one bit per pixel.
    let bytes = png_header(16_000, 16_000);
    let err = decode_image(&bytes, Path::new("bomb.png"), Channels::Auto, &DecodeLimits::DEFAULT).unwrap_err();
    assert!(matches!(err, ImageError::Implausible { width: 16_000, height: 16_000, format: "png", .. }), "{err:?}");
    assert!(err.to_string().ends_with("(truncated or corrupt file)"), "{err}");
    // One bit per pixel is still possible for a header of 1 000 × 500 pixels.
    assert!(1000 * 500 <= neurite_augment::io::max_pixels_for(&png_header(1000, 500)));
}

#[test]
fn the_memory_limit_counts_the_f32_output() {
    // The cat decodes to 406 KB of RGB8; its planar f32 copies need 2 × 1.6 MB more.
    let pixels = 451 * 300;
    let just_below = DecodeLimits { max_alloc: pixels * (3 + 24) - 1, ..DecodeLimits::DEFAULT };
    let err = read_image(&cat_path(), Channels::Rgb, &just_below).unwrap_err();
    assert!(matches!(err, ImageError::OverMemoryLimit { .. }), "{err:?}");
    let enough = DecodeLimits { max_alloc: pixels * (3 + 24), ..DecodeLimits::DEFAULT };
    assert_eq!(read_image(&cat_path(), Channels::Rgb, &enough).unwrap().size(), ImageSize::new(3, 300, 451));
}

#[test]
fn an_image_over_the_memory_limit_is_refused() {
    let limits = DecodeLimits { max_alloc: 1000, ..DecodeLimits::DEFAULT };
    let err = read_image(&cat_path(), Channels::Auto, &limits).unwrap_err();
    assert!(matches!(err, ImageError::OverMemoryLimit { limit: 1000, .. }), "{err:?}");
    assert!(err.to_string().ends_with("chelsea.png: decoding needs more memory than the limit of 1000 bytes"), "{err}");
}

#[test]
fn an_image_over_the_size_limit_names_its_size() {
    let limits = DecodeLimits { max_width: 100, max_height: 100, ..DecodeLimits::DEFAULT };
    let err = read_image(&cat_path(), Channels::Auto, &limits).unwrap_err();
    assert!(err.to_string().ends_with("chelsea.png: image is 451×300 pixels, more than the limit of 100×100"), "{err}");
}

#[test]
fn a_truncated_png_fails_with_a_decode_error_naming_the_file() {
    let bytes = std::fs::read(cat_path()).unwrap();
    let err = decode_image(&bytes[..5000], Path::new("cut.png"), Channels::Auto, &DecodeLimits::DEFAULT).unwrap_err();
    assert!(matches!(err, ImageError::Decode { format: "png", .. }), "{err:?}");
    assert!(err.to_string().starts_with("cut.png: cannot decode png image: "), "{err}");
}

#[test]
fn a_png_with_a_corrupt_header_fails_with_a_decode_error() {
    let mut bytes = png_header(4, 4);
    bytes[20] ^= 0xff; // the width changes, the CRC no longer matches
    let err = decode_image(&bytes, Path::new("bad.png"), Channels::Auto, &DecodeLimits::DEFAULT).unwrap_err();
    assert!(matches!(err, ImageError::Decode { .. }), "{err:?}");
}

#[test]
fn bytes_that_are_no_image_are_refused() {
    let err =
        decode_image(b"hello, world", Path::new("notes.txt"), Channels::Auto, &DecodeLimits::DEFAULT).unwrap_err();
    assert_eq!(err.to_string(), "notes.txt: not a png or jpeg image");
}

#[test]
fn a_missing_file_names_the_path() {
    let err = load_image::<R>("/nonexistent/cat.png").unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/cat.png: cannot read: "), "{err}");
}

#[test]
fn a_file_over_the_byte_limit_is_not_read() {
    let limits = DecodeLimits { max_file_bytes: 100, ..DecodeLimits::DEFAULT };
    let err = read_image(&cat_path(), Channels::Auto, &limits).unwrap_err();
    assert!(matches!(err, ImageError::FileTooLarge { size: 240_512, limit: 100, .. }), "{err:?}");
}

#[test]
fn saving_a_batch_or_an_odd_channel_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.png");
    let err = save_png(&Tensor::<R>::zeros([2, 3, 4, 4]), &path).unwrap_err();
    assert!(err.to_string().ends_with("x.png: cannot save a tensor of shape [2, 3, 4, 4] as an image, expected [1, C, H, W] or [C, H, W] with C = 1 or 3"), "{err}");
    assert!(matches!(save_png(&Tensor::<R>::zeros([2, 4, 4]), &path), Err(ImageError::Shape { .. })));
    assert!(matches!(encode_png(&[], ImageSize::new(1, 0, 3), &path), Err(ImageError::Shape { .. })));
    assert!(!path.exists(), "a refused save must not create the file");
}

#[test]
fn saving_into_a_missing_folder_fails_without_a_panic() {
    let err = save_png(&Tensor::<R>::zeros([1, 1, 2, 2]), "/nonexistent/dir/x.png").unwrap_err();
    assert!(matches!(err, ImageError::Write { .. }), "{err:?}");
}

#[test]
fn the_cat_reads_as_levels_equal_to_its_values_times_255() {
    let limits = DecodeLimits::DEFAULT;
    let values = read_image(&cat_path(), Channels::Rgb, &limits).unwrap();
    let levels = read_image_levels(&cat_path(), Channels::Rgb, &limits).unwrap();
    assert_eq!(levels.dims(), values.dims());
    assert_eq!(levels, values.to_u8(), "an 8-bit file reads as its own levels");
    let back = levels.to_f32();
    assert!(back.as_slice().iter().zip(values.as_slice()).all(|(a, b)| (a - b).abs() <= 6e-8), "within an ulp");
    // Grey: the decoder's integer luma against its f32 luma, within a level.
    let grey = read_image_levels(&cat_path(), Channels::Grey, &limits).unwrap();
    let grey_values = read_image(&cat_path(), Channels::Grey, &limits).unwrap().to_u8();
    assert_eq!(grey.dims(), [1, 1, 300, 451]);
    let gap = grey.as_slice().iter().zip(grey_values.as_slice()).map(|(a, b)| a.abs_diff(*b)).max();
    assert!(gap <= Some(1), "grey levels differ by {gap:?}");
}

#[test]
fn the_memory_limit_counts_one_byte_per_level() {
    // 300 × 451 RGB: the decoded 3 bytes per pixel plus two planar u8 copies of 3 values is
    // 9 bytes per pixel; the f32 read needs 27.
    let pixels = 300 * 451;
    let limits = DecodeLimits { max_alloc: 9 * pixels, ..DecodeLimits::DEFAULT };
    assert!(read_image_levels(&cat_path(), Channels::Rgb, &limits).is_ok());
    let tight = DecodeLimits { max_alloc: 9 * pixels - 1, ..DecodeLimits::DEFAULT };
    assert!(matches!(read_image_levels(&cat_path(), Channels::Rgb, &tight), Err(ImageError::OverMemoryLimit { .. })));
    assert!(matches!(read_image(&cat_path(), Channels::Rgb, &limits), Err(ImageError::OverMemoryLimit { .. })));
}
