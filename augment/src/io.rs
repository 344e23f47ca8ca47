//! Image files: PNG and JPEG decoded (through the `image` crate, with explicit size and memory
//! limits checked on the header before any pixel is decoded) into `[1, C, H, W]` tensors in [0, 1],
//! grey (C = 1) or RGB (C = 3); tensors saved as 8-bit PNG, written to a temporary file and renamed
//! so a failed save never leaves half a file. Every failure is an [`ImageError`] naming the file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{ColorType, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use neurite_core::{Backend, Tensor};

use crate::batch::{ImageBatch, ImageSize, Pixel};

/// Something wrong with an image file, or a tensor that cannot be saved as one.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than [`DecodeLimits::max_file_bytes`].
    #[error("{}: file is {size} bytes, more than the limit of {limit} bytes", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes are neither PNG nor JPEG.
    #[error("{}: not a png or jpeg image", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The header announces an image larger than the limits allow.
    #[error("{}: image is {width}×{height} pixels, more than the limit of {max_width}×{max_height}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
        /// Widest accepted.
        max_width: u32,
        /// Tallest accepted.
        max_height: u32,
    },
    /// The header announces more pixels than a file of this size can encode: the data is
    /// truncated or corrupt (a decoder would otherwise fill the missing pixels in, allocating
    /// memory out of all proportion to the file). See [`max_pixels_for`].
    #[error("{}: header announces {width}×{height} pixels, more than {len} bytes of {format} can hold (truncated or corrupt file)", path.display())]
    Implausible {
        /// The file.
        path: PathBuf,
        /// `"png"` or `"jpeg"`.
        format: &'static str,
        /// Announced width.
        width: u32,
        /// Announced height.
        height: u32,
        /// The file's size in bytes.
        len: usize,
    },
    /// Decoding would need more memory than [`DecodeLimits::max_alloc`].
    #[error("{}: decoding needs more memory than the limit of {limit} bytes", path.display())]
    OverMemoryLimit {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The decoder rejected the data (truncated or corrupt file).
    #[error("{}: cannot decode {format} image: {source}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// `"png"` or `"jpeg"`.
        format: &'static str,
        /// The decoder's error.
        source: image::ImageError,
    },
    /// The tensor is not one grey or RGB image.
    #[error("{}: cannot save a tensor of shape {shape} as an image, expected [1, C, H, W] or [C, H, W] with C = 1 or 3", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The tensor's shape.
        shape: String,
    },
    /// The PNG encoder failed.
    #[error("{}: cannot encode png: {source}", path.display())]
    Encode {
        /// The file.
        path: PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
    /// The file could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Bounds on what a decoder may read and allocate, so a decompression bomb (a small file whose
/// header announces 100 000 × 100 000 pixels) fails at once with [`ImageError::TooLarge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeLimits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
}

impl DecodeLimits {
    /// 16 384 × 16 384 pixels, 1 GiB of decoder memory, 256 MiB files.
    pub const DEFAULT: DecodeLimits =
        DecodeLimits { max_width: 16_384, max_height: 16_384, max_alloc: 1 << 30, max_file_bytes: 256 << 20 };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The most pixels `len` bytes of a PNG or JPEG file can encode, whatever the content.
///
/// PNG: DEFLATE expands at most 1032:1 and a pixel takes at least one bit of the inflated data,
/// so 8 256 pixels per byte. JPEG (baseline or progressive, Huffman-coded): every 8×8 block of
/// every component costs at least one bit, so at most 512 pixels per byte; 1 024 leaves a margin.
/// Headers and metadata only lower the real figure, so a file announcing more is truncated or
/// corrupt. Bytes that are neither format get the PNG figure.
pub fn max_pixels_for(bytes: &[u8]) -> u64 {
    let per_byte = match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => 1024,
        _ => 1032 * 8,
    };
    bytes.len() as u64 * per_byte
}

/// The channels an image is decoded to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channels {
    /// Grey for grey files (with or without alpha), RGB for colour ones.
    Auto,
    /// One channel (colour images converted to luma).
    Grey,
    /// Three channels (grey repeated; alpha dropped).
    Rgb,
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "png",
        _ => "jpeg",
    }
}

/// Decodes PNG or JPEG `bytes` into one image; `path` only names the source in errors.
///
/// # Errors
/// [`ImageError::UnsupportedFormat`] for other bytes, [`ImageError::TooLarge`] or
/// [`ImageError::OverMemoryLimit`] past `limits`, [`ImageError::Decode`] for corrupt data.
pub fn decode_image(
    bytes: &[u8],
    path: &Path,
    channels: Channels,
    limits: &DecodeLimits,
) -> Result<ImageBatch, ImageError> {
    Ok(to_batch(decode_within(bytes, path, channels, limits, 4)?, channels))
}

/// Decodes PNG or JPEG `bytes` into one image of `u8` levels (8-bit files exactly; 16-bit ones
/// rounded to 8 bits), for augmenting photos at a quarter of the memory: see
/// [`crate::Pixel`]. `path` only names the source in errors.
///
/// # Errors
/// As [`decode_image`].
pub fn decode_image_levels(
    bytes: &[u8],
    path: &Path,
    channels: Channels,
    limits: &DecodeLimits,
) -> Result<ImageBatch<u8>, ImageError> {
    Ok(to_levels(decode_within(bytes, path, channels, limits, 1)?, channels))
}

/// What the header of PNG or JPEG `bytes` announces, after the checks every read makes before
/// decoding: a supported format, the size limits, and a size the file can plausibly hold.
struct Header {
    format: ImageFormat,
    width: u32,
    height: u32,
    color: ColorType,
}

fn read_header(bytes: &[u8], path: &Path, limits: &DecodeLimits) -> Result<Header, ImageError> {
    let path_buf = || path.to_path_buf();
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg)) => f,
        _ => return Err(ImageError::UnsupportedFormat { path: path_buf() }),
    };
    // The header alone (no limits, it allocates nothing), for a message with the sizes.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(Limits::no_limits());
    let header = reader.into_decoder().map_err(|e| decode_error(e, path, format, limits))?;
    let (width, height) = header.dimensions();
    let color = header.color_type();
    if width > limits.max_width || height > limits.max_height {
        return Err(ImageError::TooLarge {
            path: path_buf(),
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    if u64::from(width) * u64::from(height) > max_pixels_for(bytes) {
        let format = format_name(format);
        return Err(ImageError::Implausible { path: path_buf(), format, width, height, len: bytes.len() });
    }
    Ok(Header { format, width, height, color })
}

/// A decoder's error as an [`ImageError`] naming the file.
fn decode_error(source: image::ImageError, path: &Path, format: ImageFormat, limits: &DecodeLimits) -> ImageError {
    match source {
        image::ImageError::Limits(_) => {
            ImageError::OverMemoryLimit { path: path.to_path_buf(), limit: limits.max_alloc }
        }
        source => ImageError::Decode { path: path.to_path_buf(), format: format_name(format), source },
    }
}

/// The checks and the decoding [`decode_image`] and [`decode_image_levels`] share;
/// `bytes_per_value` is what the planar copies they make take per value.
fn decode_within(
    bytes: &[u8],
    path: &Path,
    channels: Channels,
    limits: &DecodeLimits,
    bytes_per_value: u64,
) -> Result<DynamicImage, ImageError> {
    let Header { format, width, height, color } = read_header(bytes, path, limits)?;
    let pixels = u64::from(width) * u64::from(height);
    // The decoder's own limit counts its buffer only; the copies `to_batch` or `to_levels` make
    // (the converted image and the planar batch, `bytes_per_value` per channel each) count here.
    let out_channels: u64 = if channels == Channels::Grey { 1 } else { 3 };
    let needed = pixels * (u64::from(color.bytes_per_pixel()) + 2 * bytes_per_value * out_channels);
    if needed > limits.max_alloc {
        return Err(ImageError::OverMemoryLimit { path: path.to_path_buf(), limit: limits.max_alloc });
    }
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_width);
    decoder_limits.max_image_height = Some(limits.max_height);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits);
    reader.decode().map_err(|e| decode_error(e, path, format, limits))
}

/// Whether an image of `image`'s colour type is read as grey under `channels`.
fn reads_grey(image: &DynamicImage, channels: Channels) -> bool {
    match channels {
        Channels::Grey => true,
        Channels::Rgb => false,
        Channels::Auto => matches!(image.color(), ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16),
    }
}

/// Interleaved values of `channels` per pixel → one planar image `[channels, H, W]`.
fn planar<T: Pixel>(interleaved: Vec<T>, channels: usize, h: usize, w: usize) -> ImageBatch<T> {
    let mut data = vec![T::default(); channels * h * w];
    for (i, px) in interleaved.chunks_exact(channels).enumerate() {
        for (c, &v) in px.iter().enumerate() {
            data[c * h * w + i] = v;
        }
    }
    ImageBatch::new(data, 1, ImageSize::new(channels, h, w))
}

fn to_levels(image: DynamicImage, channels: Channels) -> ImageBatch<u8> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if reads_grey(&image, channels) {
        return planar(image.to_luma8().into_raw(), 1, h, w);
    }
    planar(image.into_rgb8().into_raw(), 3, h, w)
}

fn to_batch(image: DynamicImage, channels: Channels) -> ImageBatch {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if reads_grey(&image, channels) {
        // The luma weights sum to just over 1 in f32 (white would read 1.0000001): clamp.
        let data = image.to_luma32f().into_raw().into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
        return ImageBatch::new(data, 1, ImageSize::new(1, h, w));
    }
    planar(image.into_rgb32f().into_raw(), 3, h, w)
}

/// Reads a PNG or JPEG file into one image, within `limits`.
///
/// # Errors
/// [`ImageError::Read`] if the file cannot be read, [`ImageError::FileTooLarge`] past
/// `limits.max_file_bytes`, else as [`decode_image`].
pub fn read_image(path: &Path, channels: Channels, limits: &DecodeLimits) -> Result<ImageBatch, ImageError> {
    let bytes = read_file(path, limits)?;
    decode_image(&bytes, path, channels, limits)
}

/// The bytes of `path`, at most `limits.max_file_bytes` of them.
fn read_file(path: &Path, limits: &DecodeLimits) -> Result<Vec<u8>, ImageError> {
    neurite_core::fs::read_bounded(path, limits.max_file_bytes).map_err(|e| match e {
        neurite_core::fs::ReadError::Io(source) => ImageError::Read { path: path.to_path_buf(), source },
        neurite_core::fs::ReadError::TooLarge { size, limit } => {
            ImageError::FileTooLarge { path: path.to_path_buf(), size, limit }
        }
    })
}

/// Reads a PNG or JPEG file into one image of `u8` levels, within `limits`: the form in which
/// photos are cheapest to augment (`Transform::apply_batch_u8`), converted to values with
/// [`ImageBatch::to_f32`] when a model takes them.
///
/// ```no_run
/// use neurite_augment::io::{read_image_levels, Channels, DecodeLimits};
/// use neurite_augment::{spec, Transform};
/// use neurite_core::{Rng, Stream};
///
/// let photo = read_image_levels("cat.jpg".as_ref(), Channels::Rgb, &DecodeLimits::DEFAULT)?;
/// let pipeline = spec::parse_pipeline("resized-crop:0.3,flip,brightness:0.2").unwrap();
/// let augmented = pipeline.apply_batch_u8(photo, &mut Rng::stream(1, Stream::Augment));
/// let values = augmented.to_f32(); // [1, 3, H, W] in [0, 1], for a model
/// # Ok::<(), neurite_augment::ImageError>(())
/// ```
///
/// # Errors
/// As [`read_image`].
pub fn read_image_levels(path: &Path, channels: Channels, limits: &DecodeLimits) -> Result<ImageBatch<u8>, ImageError> {
    let bytes = read_file(path, limits)?;
    decode_image_levels(&bytes, path, channels, limits)
}

/// Loads a PNG or JPEG file as a `[1, C, H, W]` tensor with values in [0, 1]: C = 1 for a grey
/// file, 3 for a colour one (alpha dropped), within [`DecodeLimits::DEFAULT`].
///
/// # Errors
/// As [`read_image`].
pub fn load_image<B: Backend>(path: impl AsRef<Path>) -> Result<Tensor<B>, ImageError> {
    load_image_as(path, Channels::Auto)
}

/// Loads a PNG or JPEG file as a `[1, C, H, W]` tensor with the asked channels.
///
/// # Errors
/// As [`read_image`].
pub fn load_image_as<B: Backend>(path: impl AsRef<Path>, channels: Channels) -> Result<Tensor<B>, ImageError> {
    Ok(read_image(path.as_ref(), channels, &DecodeLimits::DEFAULT)?.into_tensor())
}

/// The 8-bit PNG encoding of one image `[C, H, W]` (C = 1 or 3), values clamped to [0, 1] and
/// rounded to the nearest of 256 levels.
///
/// # Errors
/// [`ImageError::Shape`] for other channel counts, [`ImageError::Encode`] if encoding fails;
/// `path` only names the destination in them.
pub fn encode_png(image: &[f32], size: ImageSize, path: &Path) -> Result<Vec<u8>, ImageError> {
    let shape_error = || ImageError::Shape {
        path: path.to_path_buf(),
        shape: format!("[{}, {}, {}]", size.channels, size.height, size.width),
    };
    let (w, h) =
        (u32::try_from(size.width).map_err(|_| shape_error())?, u32::try_from(size.height).map_err(|_| shape_error())?);
    let quantise = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let plane = size.plane();
    let (pixels, color) = match size.channels {
        1 => (image.iter().map(|&v| quantise(v)).collect::<Vec<u8>>(), image::ExtendedColorType::L8),
        3 => {
            let mut interleaved = vec![0u8; 3 * plane];
            for (i, px) in interleaved.chunks_exact_mut(3).enumerate() {
                for (c, out) in px.iter_mut().enumerate() {
                    *out = quantise(image[c * plane + i]);
                }
            }
            (interleaved, image::ExtendedColorType::Rgb8)
        }
        _ => return Err(shape_error()),
    };
    if w == 0 || h == 0 {
        return Err(shape_error());
    }
    let mut out = Vec::new();
    image::ImageEncoder::write_image(image::codecs::png::PngEncoder::new(&mut out), &pixels, w, h, color)
        .map_err(|source| ImageError::Encode { path: path.to_path_buf(), source })?;
    Ok(out)
}

/// Saves one image `[C, H, W]` (C = 1 or 3) as an 8-bit PNG.
///
/// # Errors
/// As [`encode_png`], and [`ImageError::Write`] if the file cannot be written.
pub fn write_png(image: &[f32], size: ImageSize, path: &Path) -> Result<(), ImageError> {
    let bytes = encode_png(image, size, path)?;
    neurite_core::fs::write_atomic(path, &bytes)
        .map_err(|source| ImageError::Write { path: path.to_path_buf(), source })
}

/// Saves a `[1, C, H, W]` or `[C, H, W]` tensor (C = 1 or 3, values in [0, 1]) as an 8-bit PNG.
///
/// # Errors
/// [`ImageError::Shape`] for other shapes, else as [`write_png`].
pub fn save_png<B: Backend>(image: &Tensor<B>, path: impl AsRef<Path>) -> Result<(), ImageError> {
    let path = path.as_ref();
    let size = match *image.dims() {
        [1, c, h, w] | [c, h, w] => ImageSize::new(c, h, w),
        _ => return Err(ImageError::Shape { path: path.to_path_buf(), shape: image.shape().to_string() }),
    };
    write_png(image.as_slice(), size, path)
}

/// What an image file's header says, read without decoding a pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether the file is grey (with or without alpha).
    pub grey: bool,
    /// Whether the file has an alpha channel (dropped when read).
    pub alpha: bool,
}

/// Reads the header of a PNG or JPEG file, within `limits` (the same checks as [`read_image`]
/// makes before decoding: the size limits and a size the file can plausibly hold).
///
/// # Errors
/// As [`read_image`], except the errors that decoding itself would give.
pub fn probe_image(path: &Path, limits: &DecodeLimits) -> Result<ImageInfo, ImageError> {
    let bytes = read_file(path, limits)?;
    let Header { width, height, color, .. } = read_header(&bytes, path, limits)?;
    Ok(ImageInfo {
        width,
        height,
        grey: matches!(color, ColorType::L8 | ColorType::La8 | ColorType::L16 | ColorType::La16),
        alpha: color.has_alpha(),
    })
}

/// How an image of another size is brought to the size a data set asks for. Each is
/// torchvision's transform of the same name on a PIL image, so a PyTorch user can reproduce the
/// inputs: resizing is bilinear, and when it shrinks an image the filter widens by the scale
/// factor (antialiasing, as PIL and torchvision's `antialias=True` do); results may differ from
/// PIL's by one level of rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// Resized to exactly height × width, the aspect ratio not kept:
    /// `Resize((h, w))`.
    Stretch,
    /// Scaled (aspect kept) until it covers height × width, then the centre cut out:
    /// `Resize(s)` with the scale that covers both sides, then `CenterCrop((h, w))`.
    Crop,
    /// Scaled (aspect kept) until it fits inside height × width, then centred on black:
    /// `Resize` to fit, then `Pad` with zeros (the extra pixel of an odd margin on the bottom
    /// and right).
    Pad,
}

impl Fit {
    /// The policy's name, as the `--resize` flag takes it.
    pub fn name(self) -> &'static str {
        match self {
            Fit::Stretch => "stretch",
            Fit::Crop => "crop",
            Fit::Pad => "pad",
        }
    }
}

impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Fit {
    type Err = String;

    fn from_str(text: &str) -> Result<Fit, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "stretch" => Ok(Fit::Stretch),
            "crop" => Ok(Fit::Crop),
            "pad" => Ok(Fit::Pad),
            other => Err(format!("resize `{}` is not one of stretch, crop, pad", other.escape_debug())),
        }
    }
}

/// `(width, height)` of `image` brought to `width × height` by `fit`, before any crop or pad.
fn scaled_size(from: (u32, u32), to: (u32, u32), fit: Fit) -> (u32, u32) {
    let (sx, sy) = (f64::from(to.0) / f64::from(from.0), f64::from(to.1) / f64::from(from.1));
    let scale = match fit {
        Fit::Stretch => return to,
        Fit::Crop => sx.max(sy),
        Fit::Pad => sx.min(sy),
    };
    let side = |n: u32, target: u32| {
        let s = (f64::from(n) * scale).round() as u32;
        // The side that decides the scale lands on its target exactly.
        if (f64::from(n) * scale - f64::from(target)).abs() < 0.5 { target } else { s.max(1) }
    };
    (side(from.0, to.0), side(from.1, to.1))
}

/// `image` brought to `width × height` as `fit` says (the identity for an image of that size).
fn fitted<P: image::Pixel<Subpixel = u8> + 'static>(
    image: image::ImageBuffer<P, Vec<u8>>,
    width: u32,
    height: u32,
    fit: Fit,
) -> image::ImageBuffer<P, Vec<u8>> {
    use image::imageops::{FilterType, crop_imm, overlay, resize};
    if image.dimensions() == (width, height) {
        return image;
    }
    let (sw, sh) = scaled_size(image.dimensions(), (width, height), fit);
    let scaled = if (sw, sh) == image.dimensions() { image } else { resize(&image, sw, sh, FilterType::Triangle) };
    match fit {
        Fit::Stretch => scaled,
        Fit::Crop => {
            // torchvision's CenterCrop: the offset rounds half the excess.
            let x = ((f64::from(sw - width)) / 2.0).round() as u32;
            let y = ((f64::from(sh - height)) / 2.0).round() as u32;
            crop_imm(&scaled, x, y, width, height).to_image()
        }
        Fit::Pad => {
            let mut canvas = image::ImageBuffer::<P, Vec<u8>>::new(width, height);
            overlay(&mut canvas, &scaled, i64::from((width - sw) / 2), i64::from((height - sh) / 2));
            canvas
        }
    }
}

/// Reads a PNG or JPEG file as `u8` levels of `channels` (grey or RGB: [`Channels::Auto`] reads
/// as the file is), brought to `height × width` by `fit` when a size is given: the form in
/// which image folders are loaded for training.
///
/// # Errors
/// As [`read_image`].
pub fn read_image_fitted(
    path: &Path,
    channels: Channels,
    size: Option<(usize, usize, Fit)>,
    limits: &DecodeLimits,
) -> Result<ImageBatch<u8>, ImageError> {
    let bytes = read_file(path, limits)?;
    let image = decode_within(&bytes, path, channels, limits, 1)?;
    let grey = reads_grey(&image, channels);
    let Some((height, width, fit)) = size else { return Ok(to_levels(image, channels)) };
    let shape = |path: &Path| ImageError::Shape { path: path.to_path_buf(), shape: format!("{height}×{width}") };
    let (w, h) = (u32::try_from(width).map_err(|_| shape(path))?, u32::try_from(height).map_err(|_| shape(path))?);
    if w == 0 || h == 0 {
        return Err(shape(path));
    }
    Ok(if grey {
        planar(fitted(image.to_luma8(), w, h, fit).into_raw(), 1, height, width)
    } else {
        planar(fitted(image.into_rgb8(), w, h, fit).into_raw(), 3, height, width)
    })
}
