//! Data for training: the IDX format of MNIST (raw or gzip, from bytes or files, every size
//! checked before it is trusted), a [`Dataset`] of u8 images and labels with seeded splits, and a
//! seeded shuffling [`BatchLoader`] that turns pixels into f32 tensors as [`Preprocessing`] says.
//! Augmentation lives in `neurite-augment`.

mod dataset;
mod idx;
mod loader;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use dataset::{Dataset, mnist_from_bytes, mnist_from_files};
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

/// How raw u8 pixels become network inputs: x = (pixel·scale − mean)/std, laid out as `layout`.
/// Exports record it, so another framework feeds the network exactly what it was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Multiplies the raw pixel (1/255 maps it to [0, 1]).
    pub scale: f32,
    /// Subtracted after scaling.
    pub mean: f32,
    /// Divides after subtracting the mean.
    pub std: f32,
    /// Tensor layout of a batch.
    pub layout: Layout,
}

impl Preprocessing {
    /// Pixels scaled to [0, 1] (scale 1/255, mean 0, std 1) in `layout`.
    pub fn unit(layout: Layout) -> Self {
        Preprocessing { scale: 1.0 / 255.0, mean: 0.0, std: 1.0, layout }
    }

    /// Pixels scaled to [0, 1], then standardised with MNIST's training mean 0.1307 and standard
    /// deviation 0.3081 (the values PyTorch examples use).
    pub fn mnist_standardized(layout: Layout) -> Self {
        Preprocessing { scale: 1.0 / 255.0, mean: 0.1307, std: 0.3081, layout }
    }

    /// The input value of one raw pixel.
    pub fn apply(&self, pixel: u8) -> f32 {
        (pixel as f32 * self.scale - self.mean) / self.std
    }
}

impl Default for Preprocessing {
    fn default() -> Self {
        Self::unit(Layout::Nchw)
    }
}
