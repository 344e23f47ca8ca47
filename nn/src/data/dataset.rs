//! [`Dataset`]: u8 images (all of one size) with u8 labels, subsets, and seeded splits; and the
//! MNIST constructors that pair an IDX image file with an IDX label file.

use std::ops::Range;
use std::path::Path;

use neurite_core::{Backend, Rng, Stream, Tensor};

use super::idx::{IdxArray, parse_idx, read_idx_file};
use super::{DataError, Layout, Preprocessing};

/// Labelled images: `len` images of `rows × cols` u8 pixels, row-major, one after the other,
/// each with a label in `0..classes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    images: Vec<u8>,
    labels: Vec<u8>,
    channels: usize,
    rows: usize,
    cols: usize,
    classes: usize,
}

impl Dataset {
    /// A data set from pixels and labels.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] if the pixels do not make `labels.len()` images of
    /// `rows × cols`, [`DataError::Label`] if a label is not below `classes`.
    pub fn new(images: Vec<u8>, labels: Vec<u8>, rows: usize, cols: usize, classes: usize) -> Result<Self, DataError> {
        Self::with_channels(images, labels, [1, rows, cols], classes)
    }

    /// Images of `[channels, rows, cols]` each (planar: every channel's plane in turn) with their
    /// labels, which must be below `classes`.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] if the pixels do not make whole images, one per label;
    /// [`DataError::Label`] for a label of `classes` or more.
    pub fn with_channels(
        images: Vec<u8>,
        labels: Vec<u8>,
        size: [usize; 3],
        classes: usize,
    ) -> Result<Self, DataError> {
        let [channels, rows, cols] = size;
        let per = channels.saturating_mul(rows).saturating_mul(cols);
        let count = images.len().checked_div(per).unwrap_or(0);
        if per == 0 || !images.len().is_multiple_of(per) || count != labels.len() {
            return Err(DataError::CountMismatch { images: count, labels: labels.len() });
        }
        if let Some((index, &value)) = labels.iter().enumerate().find(|(_, l)| **l as usize >= classes) {
            return Err(DataError::Label { origin: "labels".to_string(), index, value, classes });
        }
        Ok(Dataset { images, labels, channels, rows, cols, classes })
    }

    /// Pairs an IDX image array `[count, rows, cols]` with an IDX label array `[count]`.
    ///
    /// # Errors
    /// [`DataError::Rank`] for arrays of the wrong rank, else as [`Dataset::new`].
    pub fn from_idx(images: IdxArray, labels: IdxArray, classes: usize) -> Result<Self, DataError> {
        Self::from_idx_named(images, labels, classes, "images", "labels")
    }

    fn from_idx_named(
        images: IdxArray,
        labels: IdxArray,
        classes: usize,
        images_origin: &str,
        labels_origin: &str,
    ) -> Result<Self, DataError> {
        if images.dims.len() != 3 {
            return Err(DataError::Rank { origin: images_origin.to_string(), expected: 3, found: images.dims.len() });
        }
        if labels.dims.len() != 1 {
            return Err(DataError::Rank { origin: labels_origin.to_string(), expected: 1, found: labels.dims.len() });
        }
        if images.dims[0] != labels.dims[0] {
            return Err(DataError::CountMismatch { images: images.dims[0], labels: labels.dims[0] });
        }
        Self::new(images.data, labels.data, images.dims[1], images.dims[2], classes).map_err(|e| match e {
            DataError::Label { index, value, classes, .. } => {
                DataError::Label { origin: labels_origin.to_string(), index, value, classes }
            }
            other => other,
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Channels per image (1 for grey, 3 for colour).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Rows of each image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of each image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The number of classes labels range over.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The pixels of image `i`, row-major.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let per = self.channels * self.rows * self.cols;
        &self.images[i * per..(i + 1) * per]
    }

    /// The label of sample `i`.
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Every label, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The samples at `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut images = Vec::with_capacity(indices.len() * self.channels * self.rows * self.cols);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Dataset { images, labels, channels: self.channels, rows: self.rows, cols: self.cols, classes: self.classes }
    }

    /// The samples in `range`, in order.
    ///
    /// # Errors
    /// [`DataError::Split`] if the range goes past the end.
    pub fn range(&self, range: Range<usize>) -> Result<Dataset, DataError> {
        if range.start > range.end || range.end > self.len() {
            return Err(DataError::Split { requested: range.end, available: self.len() });
        }
        Ok(self.subset(&range.collect::<Vec<_>>()))
    }

    /// A seeded split into (training, validation) with `validation` samples in the second part:
    /// the samples are shuffled by a permutation from a stream of `seed` reserved for splitting
    /// (distinct from the loader's shuffling stream), so the same seed gives the same split.
    ///
    /// # Errors
    /// [`DataError::Split`] if `validation > len()`.
    pub fn split(&self, validation: usize, seed: u64) -> Result<(Dataset, Dataset), DataError> {
        if validation > self.len() {
            return Err(DataError::Split { requested: validation, available: self.len() });
        }
        let (train, valid) = split_order(self.len(), validation, seed);
        Ok((self.subset(&train), self.subset(&valid)))
    }

    /// Every sample as one batch: inputs laid out and scaled as `preprocessing` says, and labels.
    pub fn to_tensors<B: Backend>(&self, preprocessing: &Preprocessing) -> (Tensor<B>, Vec<usize>) {
        let all: Vec<usize> = (0..self.len()).collect();
        self.batch_tensor(&all, preprocessing)
    }

    /// The samples at `indices` as a batch tensor, with their labels.
    pub(crate) fn batch_tensor<B: Backend>(&self, indices: &[usize], p: &Preprocessing) -> (Tensor<B>, Vec<usize>) {
        let plane = self.rows * self.cols;
        let per = self.channels * plane;
        let mut values = Vec::with_capacity(indices.len() * per);
        for &i in indices {
            for (c, pixels) in self.image(i).chunks(plane).enumerate() {
                values.extend(pixels.iter().map(|&px| p.apply(px, c)));
            }
        }
        let n = indices.len();
        let shape = match p.layout {
            Layout::Nchw => vec![n, self.channels, self.rows, self.cols],
            Layout::Flat => vec![n, per],
        };
        (Tensor::from_vec(values, shape), indices.iter().map(|&i| self.labels[i] as usize).collect())
    }
}

/// The `Stream::Custom` number of the splitting stream ("SPLT").
const SPLIT_STREAM: u64 = 0x5350_4c54;

/// The indices of [`Dataset::split`]'s two parts for `len` samples, `validation` of them in the
/// second, for any collection of samples that must split as a `Dataset` of them would.
///
/// # Panics
/// If `validation > len`.
pub fn split_order(len: usize, validation: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order = Rng::stream(seed, Stream::Custom(SPLIT_STREAM)).permutation(len);
    let valid = order.split_off(len - validation);
    (order, valid)
}

/// MNIST from the bytes of an IDX image file and an IDX label file (raw or gzip): 10 classes.
///
/// # Errors
/// [`DataError`] if either input is malformed or they disagree in number.
pub fn mnist_from_bytes(images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
    let images = parse_idx(images, "images")?;
    let labels = parse_idx(labels, "labels")?;
    Dataset::from_idx(images, labels, 10)
}

/// MNIST from an IDX image file and an IDX label file (raw or gzip): 10 classes.
///
/// # Errors
/// [`DataError`] if a file cannot be read or is malformed, or they disagree in number.
pub fn mnist_from_files(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset, DataError> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let images = read_idx_file(images_path)?;
    let labels = read_idx_file(labels_path)?;
    let names = (images_path.display().to_string(), labels_path.display().to_string());
    Dataset::from_idx_named(images, labels, 10, &names.0, &names.1)
}
