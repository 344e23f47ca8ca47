//! Data for training: the IDX format of MNIST (raw or gzip, from bytes or files, every size
//! checked before it is trusted), a [`Dataset`] of u8 images and labels with seeded splits, and a
//! seeded shuffling [`BatchLoader`] that turns pixels into f32 tensors as [`Preprocessing`] says.
//! Augmentation lives in `neurite-augment`.

mod dataset;
mod idx;
mod loader;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use dataset::{Dataset, mnist_from_bytes, mnist_from_files, split_order};
pub use idx::{IdxArray, MAX_IDX_BYTES, parse_idx, read_idx_file};
pub use loader::{Batch, BatchLoader, Batches};

/// Why data could not be read. Each message starts with the file (or `images`/`labels` for
/// bytes without a path).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file system refused.
    #[error("{origin}: {source}")]
    Io {
        /// The file.
        origin: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any data set this reader accepts.
    #[error("{origin}: {size} bytes, more than the limit of {limit} bytes")]
    FileTooLarge {
        /// The file.
        origin: String,
        /// Its size (or the bytes read before the limit was passed).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The input ends inside the header.
    #[error("{origin}: {found} bytes is too short for an idx header of {needed} bytes")]
    TooShort {
        /// The input.
        origin: String,
        /// Header bytes needed.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// The first two bytes are not zero.
    #[error("{origin}: magic bytes {found:02x?}, expected [00, 00, type, rank]")]
    Magic {
        /// The input.
        origin: String,
        /// The first four bytes.
        found: [u8; 4],
    },
    /// An element type other than unsigned bytes.
    #[error("{origin}: element type 0x{code:02x}, expected 0x08 (unsigned byte)")]
    ElementType {
        /// The input.
        origin: String,
        /// The type code.
        code: u8,
    },
    /// The wrong number of dimensions.
    #[error("{origin}: {found} dimensions, expected {expected}")]
    Rank {
        /// The input.
        origin: String,
        /// Dimensions wanted.
        expected: usize,
        /// Dimensions present.
        found: usize,
    },
    /// The data does not match the dimensions.
    #[error("{origin}: dimensions {dims:?} need {expected} data bytes, found {found}")]
    Size {
        /// The input.
        origin: String,
        /// The header's dimensions.
        dims: Vec<usize>,
        /// Bytes the dimensions need.
        expected: u64,
        /// Bytes present (one more than expected means "at least one too many").
        found: u64,
    },
    /// The dimensions describe more data than this reader accepts.
    #[error("{origin}: dimensions {dims:?} describe more than {limit} bytes")]
    TooLarge {
        /// The input.
        origin: String,
        /// The header's dimensions.
        dims: Vec<usize>,
        /// The limit.
        limit: u64,
    },
    /// The gzip stream is corrupt.
    #[error("{origin}: gzip: {message}")]
    Gzip {
        /// The input.
        origin: String,
        /// The decoder's message.
        message: String,
    },
    /// Images and labels disagree in number.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Images present.
        images: usize,
        /// Labels present.
        labels: usize,
    },
    /// A label outside `0..classes`.
    #[error("{origin}: label {value} at index {index} is not in 0..{classes}")]
    Label {
        /// The input.
        origin: String,
        /// Position of the label.
        index: usize,
        /// Its value.
        value: u8,
        /// The number of classes.
        classes: usize,
    },
    /// A split asks for more samples than there are.
    #[error("cannot take {requested} samples out of {available}")]
    Split {
        /// Samples asked for.
        requested: usize,
        /// Samples present.
        available: usize,
    },
}

/// How a batch of images is laid out as a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `[batch, 1, rows, cols]`, for convolutions (PyTorch's NCHW).
    #[default]
    Nchw,
    /// `[batch, rows·cols]`, for dense layers.
    Flat,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Nchw => "nchw",
            Layout::Flat => "flat",
        })
    }
}

/// How raw u8 pixels become network inputs: x = (pixel·scale − meanᶜ)/stdᶜ for a pixel of
/// channel c, laid out as `layout`. Grey images use the first mean and standard deviation.
/// Exports record it, so another framework feeds the network exactly what it was trained on; in
/// JSON a mean or standard deviation that is the same for every channel is one number.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Multiplies the raw pixel (1/255 maps it to [0, 1]).
    pub scale: f32,
    /// Subtracted after scaling, per channel (red, green, blue).
    #[serde(with = "per_channel")]
    pub mean: [f32; 3],
    /// Divides after subtracting the mean, per channel.
    #[serde(with = "per_channel")]
    pub std: [f32; 3],
    /// Tensor layout of a batch.
    pub layout: Layout,
}

impl Preprocessing {
    /// Pixels scaled to [0, 1] (scale 1/255, mean 0, std 1) in `layout`.
    pub fn unit(layout: Layout) -> Self {
        Preprocessing { scale: 1.0 / 255.0, mean: [0.0; 3], std: [1.0; 3], layout }
    }

    /// Pixels scaled to [0, 1], then standardised with MNIST's training mean 0.1307 and standard
    /// deviation 0.3081 (the values PyTorch examples use).
    pub fn mnist_standardized(layout: Layout) -> Self {
        Preprocessing { scale: 1.0 / 255.0, mean: [0.1307; 3], std: [0.3081; 3], layout }
    }

    /// Pixels scaled to [0, 1], then standardised per channel with the mean and standard
    /// deviation of `data` (each channel over every pixel of every image).
    pub fn standardized_for(data: &Dataset, layout: Layout) -> Self {
        let mut stats = ChannelStats::new(data.channels(), data.rows() * data.cols());
        (0..data.len()).for_each(|i| stats.add(data.image(i)));
        stats.preprocessing(layout)
    }

    /// The input value of one raw pixel of channel `channel` (the first channel's settings for
    /// channels past the third).
    pub fn apply(&self, pixel: u8, channel: usize) -> f32 {
        let c = channel.min(2);
        (pixel as f32 * self.scale - self.mean[c]) / self.std[c]
    }

    /// The input value of a pixel already in [0, 1] (a decoded image) of channel `channel`.
    pub fn apply_unit(&self, value: f32, channel: usize) -> f32 {
        let c = channel.min(2);
        (value * 255.0 * self.scale - self.mean[c]) / self.std[c]
    }

    /// Whether every setting is finite and no standard deviation is zero.
    pub fn is_valid(&self) -> bool {
        self.scale.is_finite()
            && self.mean.iter().all(|m| m.is_finite())
            && self.std.iter().all(|s| s.is_finite() && *s != 0.0)
    }
}

/// Serde form of per-channel settings: one number when the channels agree, else a list of three
/// (a list of one is read as that number for every channel).
mod per_channel {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f32; 3], s: S) -> Result<S::Ok, S::Error> {
        if values.iter().all(|v| v.to_bits() == values[0].to_bits()) {
            values[0].serialize(s)
        } else {
            values.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f32; 3], D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(f32),
            Many(Vec<f32>),
        }
        match Raw::deserialize(d)? {
            Raw::One(v) => Ok([v; 3]),
            Raw::Many(v) => match v.as_slice() {
                [x] => Ok([*x; 3]),
                [r, g, b] => Ok([*r, *g, *b]),
                _ => Err(serde::de::Error::custom(format!("{} values for 1 or 3 channels", v.len()))),
            },
        }
    }
}

impl Default for Preprocessing {
    fn default() -> Self {
        Self::unit(Layout::Nchw)
    }
}

/// Per-channel sums of pixels seen one image at a time, for [`Preprocessing::standardized_for`]
/// and for data that is read from disk as it is used: the same images in the same order give
/// the same bits either way.
#[derive(Clone, Debug)]
pub struct ChannelStats {
    plane: usize,
    sums: Vec<(f64, f64, u64)>,
}

impl ChannelStats {
    /// No image yet, of `channels` planes of `plane` pixels.
    pub fn new(channels: usize, plane: usize) -> Self {
        ChannelStats { plane, sums: vec![(0.0, 0.0, 0); channels.min(3)] }
    }

    /// Adds one image `[C, H, W]` of raw pixels.
    pub fn add(&mut self, image: &[u8]) {
        for (c, (sum, sum_sq, n)) in self.sums.iter_mut().enumerate() {
            for &px in &image[c * self.plane..(c + 1) * self.plane] {
                let v = f64::from(px) / 255.0;
                *sum += v;
                *sum_sq += v * v;
                *n += 1;
            }
        }
    }

    /// Pixels scaled to [0, 1], then standardised per channel with the images' mean and
    /// standard deviation (1 where a channel is constant).
    pub fn preprocessing(&self, layout: Layout) -> Preprocessing {
        let mut p = Preprocessing::unit(layout);
        for (c, &(sum, sum_sq, n)) in self.sums.iter().enumerate() {
            let mean = sum / n.max(1) as f64;
            let std = (sum_sq / n.max(1) as f64 - mean * mean).max(0.0).sqrt();
            p.mean[c] = mean as f32;
            p.std[c] = if std > 1e-6 { std as f32 } else { 1.0 };
        }
        p
    }
}
