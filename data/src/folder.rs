//! Image folders: one subfolder per class of PNG and JPEG files, at their own size or brought to
//! one by a [`Fit`], grey or RGB. Every header is read first (in parallel), so sizes, colours and
//! unreadable files are known before a pixel is decoded; the images are then decoded into memory,
//! or, when they would not fit, kept as [`ImageFiles`] and decoded as batches ask for them —
//! with the same bytes either way.

use std::path::{Path, PathBuf};

use neurite_augment::ImageSize;
use neurite_augment::io::{Channels, DecodeLimits, Fit, ImageInfo, probe_image, read_image_fitted};
use neurite_nn::data::{ChannelStats, Dataset, Layout, Preprocessing, split_order};
use rayon::prelude::*;

use crate::{LoadError, invalid};

/// Image files with their labels, read when asked: a data set too large for memory.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFiles {
    files: Vec<PathBuf>,
    labels: Vec<u8>,
    size: ImageSize,
    fit: Fit,
    classes: usize,
}

impl ImageFiles {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The size every image is read at.
    pub fn size(&self) -> ImageSize {
        self.size
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The label of image `i`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Every label, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The file of image `i`.
    pub fn file(&self, i: usize) -> &Path {
        &self.files[i]
    }

    /// Image `i` as raw pixels `[C, H, W]`.
    ///
    /// # Errors
    /// [`LoadError::Image`] naming the file if it no longer reads.
    pub fn read(&self, i: usize) -> Result<Vec<u8>, LoadError> {
        read_pixels(&self.files[i], self.size, self.fit)
    }

    /// The images at `indices`, one after the other, decoded in parallel.
    ///
    /// # Errors
    /// As [`ImageFiles::read`], for the first image (in `indices` order) that fails.
    pub fn read_many(&self, indices: &[usize]) -> Result<Vec<u8>, LoadError> {
        let images: Vec<Vec<u8>> = indices.par_iter().map(|&i| self.read(i)).collect::<Result<_, _>>()?;
        Ok(images.concat())
    }

    /// The images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageFiles {
        ImageFiles {
            files: indices.iter().map(|&i| self.files[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            ..self.clone()
        }
    }

    /// A seeded split into (training, validation), the same as [`Dataset::split`] makes of the
    /// same images.
    pub fn split(&self, validation: usize, seed: u64) -> (ImageFiles, ImageFiles) {
        let (train, valid) = split_order(self.len(), validation.min(self.len()), seed);
        (self.subset(&train), self.subset(&valid))
    }

    /// Every image decoded into memory.
    ///
    /// # Errors
    /// As [`ImageFiles::read_many`].
    pub fn to_dataset(&self) -> Result<Dataset, LoadError> {
        let pixels = self.read_many(&(0..self.len()).collect::<Vec<_>>())?;
        let s = self.size;
        Dataset::with_channels(pixels, self.labels.clone(), [s.channels, s.height, s.width], self.classes)
            .map_err(|e| invalid(e.to_string()))
    }
}

/// Images in memory or on disk: what a training run reads.
#[derive(Clone, Debug)]
pub enum ImageSet {
    /// Decoded into memory.
    Memory(Dataset),
    /// Decoded from their files as they are used.
    Files(ImageFiles),
}

impl ImageSet {
    /// The number of images.
    pub fn len(&self) -> usize {
        match self {
            ImageSet::Memory(d) => d.len(),
            ImageSet::Files(f) => f.len(),
        }
    }

    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size of one image.
    pub fn size(&self) -> ImageSize {
        match self {
            ImageSet::Memory(d) => ImageSize::new(d.channels(), d.rows(), d.cols()),
            ImageSet::Files(f) => f.size(),
        }
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        match self {
            ImageSet::Memory(d) => d.classes(),
            ImageSet::Files(f) => f.classes(),
        }
    }

    /// Every label, in order.
    pub fn labels(&self) -> &[u8] {
        match self {
            ImageSet::Memory(d) => d.labels(),
            ImageSet::Files(f) => f.labels(),
        }
    }

    /// Whether the images are read from disk as they are used.
    pub fn streams(&self) -> bool {
        matches!(self, ImageSet::Files(_))
    }

    /// The images at `indices`, one after the other.
    ///
    /// # Errors
    /// A file that no longer reads.
    pub fn pixels(&self, indices: &[usize]) -> Result<Vec<u8>, LoadError> {
        match self {
            ImageSet::Memory(d) => {
                let mut out = Vec::with_capacity(indices.len() * self.size().len());
                indices.iter().for_each(|&i| out.extend_from_slice(d.image(i)));
                Ok(out)
            }
            ImageSet::Files(f) => f.read_many(indices),
        }
    }

    /// A seeded split into (training, validation): the same images whether in memory or not.
    ///
    /// # Errors
    /// If `validation` is more than there are.
    pub fn split(&self, validation: usize, seed: u64) -> Result<(ImageSet, ImageSet), LoadError> {
        if validation > self.len() {
            return Err(invalid(format!("a split of {validation} from {} samples", self.len())));
        }
        Ok(match self {
            ImageSet::Memory(d) => {
                let (a, b) = d.split(validation, seed)?;
                (ImageSet::Memory(a), ImageSet::Memory(b))
            }
            ImageSet::Files(f) => {
                let (a, b) = f.split(validation, seed);
                (ImageSet::Files(a), ImageSet::Files(b))
            }
        })
    }

    /// The first `n` images (at most) in memory: a probe batch.
    ///
    /// # Errors
    /// A file that no longer reads.
    pub fn head(&self, n: usize) -> Result<Dataset, LoadError> {
        let n = n.min(self.len());
        Ok(match self {
            ImageSet::Memory(d) => d.range(0..n)?,
            ImageSet::Files(f) => f.subset(&(0..n).collect::<Vec<_>>()).to_dataset()?,
        })
    }

    /// Pixels scaled to [0, 1] and standardised per channel with these images' statistics
    /// (the same bits in memory and on disk).
    ///
    /// # Errors
    /// A file that no longer reads.
    pub fn standardized(&self, layout: Layout) -> Result<Preprocessing, LoadError> {
        match self {
            ImageSet::Memory(d) => Ok(Preprocessing::standardized_for(d, layout)),
            ImageSet::Files(f) => {
                let size = f.size();
                let mut stats = ChannelStats::new(size.channels, size.plane());
                let all: Vec<usize> = (0..f.len()).collect();
                for chunk in all.chunks(STREAM_CHUNK) {
                    let pixels = f.read_many(chunk)?;
                    pixels.chunks(size.len()).for_each(|image| stats.add(image));
                }
                Ok(stats.preprocessing(layout))
            }
        }
    }

    /// Whether most images have a light border (dark figures on a light background, unlike
    /// MNIST's), judged on up to `probe` images spread over the set.
    ///
    /// # Errors
    /// A file that no longer reads.
    pub fn light_background(&self, probe: usize) -> Result<bool, LoadError> {
        let n = self.len();
        let take = probe.min(n).max(1);
        let indices: Vec<usize> = (0..take).map(|k| k * n / take).collect();
        let size = self.size();
        let pixels = self.pixels(&indices)?;
        let light = pixels.chunks(size.len().max(1)).filter(|image| crate::light_border(image, size)).count();
        Ok(2 * light > indices.len())
    }
}

/// Images decoded per read when statistics stream over a set on disk.
const STREAM_CHUNK: usize = 256;

/// The channels a folder's images are read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Grey if every image is grey, else RGB.
    Auto,
    /// One channel.
    Grey,
    /// Three channels.
    Rgb,
}

/// How an image folder is read.
#[derive(Clone, Debug)]
pub struct FolderOptions<'a> {
    /// The size every image is brought to (`None`: their own, which must be one).
    pub size: Option<(usize, usize)>,
    /// How an image of another size is brought to `size` (`None`: every image must already
    /// have it).
    pub fit: Option<Fit>,
    /// The channels.
    pub colour: Colour,
    /// The model's classes, matched to the subfolders by name (else the sorted subfolders).
    pub class_names: Option<&'a [String]>,
    /// Skip (and count) files that do not read, instead of stopping at the first.
    pub skip_bad: bool,
    /// The most bytes the decoded images may take in memory; past it they stay on disk.
    pub memory: u64,
}

/// An image folder as read: the images, their classes, and what reading them changed.
#[derive(Debug)]
pub struct Folder {
    /// The images.
    pub images: ImageSet,
    /// One name per class.
    pub class_names: Vec<String>,
    /// How images of other sizes were brought to the set's (`None`: all had it).
    pub fit: Option<Fit>,
    /// One line for each thing the reading changed or skipped (grey images read as RGB,
    /// dropped alpha, skipped files, images kept on disk).
    pub notes: Vec<String>,
}

/// The image files directly in `dir` (PNG and JPEG, by extension), sorted.
pub(crate) fn image_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(crate::sorted_entries(dir)?.into_iter().filter(|p| crate::is_image_file(p)).collect())
}

fn read_pixels(path: &Path, size: ImageSize, fit: Fit) -> Result<Vec<u8>, LoadError> {
    let channels = if size.channels == 1 { Channels::Grey } else { Channels::Rgb };
    let image = read_image_fitted(path, channels, Some((size.height, size.width, fit)), &DecodeLimits::DEFAULT)?;
    Ok(image.into_vec())
}

/// Reads the image folder `dir` whose class subfolders are `folders`, labelled `labels_of`.
pub(crate) fn read(
    dir: &Path,
    folders: &[PathBuf],
    labels_of: &[usize],
    class_names: Vec<String>,
    options: &FolderOptions<'_>,
) -> Result<Folder, LoadError> {
    let shown = dir.display().to_string();
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (folder, &label) in folders.iter().zip(labels_of) {
        let found = image_files(folder)?;
        if found.is_empty() {
            return Err(invalid(format!("{}: class folder holds no .png or .jpg image", folder.display())));
        }
        labels.extend(std::iter::repeat_n(label as u8, found.len()));
        files.extend(found);
    }
    // Every header, in parallel; the first failure in file order is the one reported.
    let probed: Vec<Result<ImageInfo, LoadError>> =
        files.par_iter().map(|f| probe_image(f, &DecodeLimits::DEFAULT).map_err(LoadError::from)).collect();
    let mut notes = Vec::new();
    let mut infos = Vec::with_capacity(files.len());
    let mut kept = Vec::with_capacity(files.len());
    let mut kept_labels = Vec::with_capacity(files.len());
    let mut skipped: Vec<String> = Vec::new();
    for ((file, label), probe) in files.into_iter().zip(labels).zip(probed) {
        match probe {
            Ok(info) => {
                infos.push(info);
                kept.push(file);
                kept_labels.push(label);
            }
            Err(e) if options.skip_bad => skipped.push(e.to_string()),
            Err(e) => return Err(with_skip_hint(e)),
        }
    }
    if let Some(first) = skipped.first() {
        notes.push(format!("skipped {} unreadable image(s); the first: {first}", skipped.len()));
    }
    if kept.is_empty() {
        return Err(invalid(format!("{shown}: no image reads")));
    }
    let (height, width, fit) = decide_size(&shown, &kept, &infos, options)?;
    let greys = infos.iter().filter(|i| i.grey).count();
    let channels = match options.colour {
        Colour::Grey => 1,
        Colour::Rgb => 3,
        Colour::Auto if greys == infos.len() => 1,
        Colour::Auto => 3,
    };
    if channels == 3 && greys > 0 {
        let how = if options.colour == Colour::Auto { "mixed with colour ones" } else { "RGB asked for" };
        notes.push(format!("{greys} of {} images are grey, read as RGB ({how})", infos.len()));
    }
    if channels == 1 && greys < infos.len() {
        let how = if options.colour == Colour::Grey { "grey asked for" } else { "the model takes grey" };
        notes.push(format!("{} of {} images are colour, read as grey ({how})", infos.len() - greys, infos.len()));
    }
    let alpha = infos.iter().filter(|i| i.alpha).count();
    if alpha > 0 {
        notes.push(format!(
            "{alpha} images have an alpha channel: it is dropped (transparent pixels keep their colour)"
        ));
    }
    let size = ImageSize::new(channels, height, width);
    let classes = class_names.len();
    let files = ImageFiles { files: kept, labels: kept_labels, size, fit: fit.unwrap_or(Fit::Stretch), classes };
    let bytes = (files.len() as u64).saturating_mul(size.len() as u64);
    let images = if bytes > options.memory {
        notes.push(format!(
            "{} images of {}×{}×{} take {} MB, more than the {} MB the data may hold in memory: read from disk as batches need them",
            files.len(),
            height,
            width,
            channels,
            bytes >> 20,
            options.memory >> 20
        ));
        ImageSet::Files(files)
    } else {
        match files.to_dataset() {
            Ok(d) => ImageSet::Memory(d),
            Err(e) if options.skip_bad => {
                // A file whose header read but whose pixels do not: drop it and read the rest.
                let good: Vec<usize> = (0..files.len()).into_par_iter().filter(|&i| files.read(i).is_ok()).collect();
                notes.push(format!("skipped {} image(s) that do not decode; the first: {e}", files.len() - good.len()));
                ImageSet::Memory(files.subset(&good).to_dataset()?)
            }
            Err(e) => return Err(with_skip_hint(e)),
        }
    };
    Ok(Folder { images, class_names, fit, notes })
}

fn with_skip_hint(e: LoadError) -> LoadError {
    invalid(format!("{e} (--skip-bad skips such files)"))
}

/// The size a folder's images are read at, and the fit that brings others to it.
fn decide_size(
    shown: &str,
    files: &[PathBuf],
    infos: &[ImageInfo],
    options: &FolderOptions<'_>,
) -> Result<(usize, usize, Option<Fit>), LoadError> {
    let first = infos[0];
    let other = infos.iter().position(|i| (i.width, i.height) != (first.width, first.height));
    let describe = |i: usize| format!("{}×{} ({})", infos[i].width, infos[i].height, files[i].display());
    match (options.size, options.fit) {
        (None, _) => match other {
            None => Ok((first.height as usize, first.width as usize, None)),
            Some(i) => Err(invalid(format!(
                "{shown}: images differ in size ({} and {}); pass --image-size HxW and --resize stretch|crop|pad",
                describe(0),
                describe(i)
            ))),
        },
        (Some((h, w)), fit) => {
            let off = infos.iter().position(|i| (i.height as usize, i.width as usize) != (h, w));
            match (off, fit) {
                (None, _) => Ok((h, w, None)),
                (Some(_), Some(fit)) => Ok((h, w, Some(fit))),
                (Some(i), None) => Err(invalid(format!(
                    "{shown}: image {} is not {w}×{h}; pass --resize stretch|crop|pad to say how to bring it to that size",
                    describe(i)
                ))),
            }
        }
    }
}
