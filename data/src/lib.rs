//! Where data sets come from: the 5,000 MNIST training digits embedded in this crate (so every
//! program built with it has them), and a data PATH, which is one of
//! - a folder holding an `*images-idx3-ubyte` file and its `*labels-idx1-ubyte` partner (either
//!   may end in `.gz`); when a folder holds several such pairs (`train-…` and `t10k-…`), training
//!   takes the `train` pair and evaluation the `t10k`/`test` pair;
//! - an `*images-idx3-ubyte[.gz]` file itself, its labels read from the partner beside it;
//! - an image folder with one subfolder per class of PNG and JPEG images, read at their own size
//!   (which must be one) or brought to `--image-size` by a `--resize` policy ([`Fit`]), grey when
//!   every image is and RGB otherwise (unless grey or RGB is asked for); for training the sorted
//!   subfolder names are the classes, for a trained model its class names are matched to the
//!   subfolders by name ([`folder`]);
//! - a folder of CIFAR-10 or CIFAR-100 binary files, or one such file ([`cifar`]);
//! - a CSV file, one sample per row: the label, then the pixel values 0–255 row-major (a first
//!   row that does not start with a number is a header and is skipped).
//!
//! Decoding and validation of IDX files is `neurite_nn::data`'s; image decoding (with size
//! limits) is `neurite_augment::io`'s. Every problem is a [`LoadError`] naming the file.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

pub use neurite_augment::io::Fit;
use neurite_augment::io::ImageError;
use neurite_augment::{ImageSize, Interpolation, Region, geometry::resize_region};
use neurite_nn::data::{DataError, Dataset, mnist_from_bytes, mnist_from_files};

pub mod cifar;
pub mod folder;

pub use cifar::Cifar100Labels;
pub use folder::{Colour, FolderOptions, ImageFiles, ImageSet};

/// A data set that cannot be read or used; the message names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// An IDX file that does not decode.
    #[error(transparent)]
    Idx(#[from] DataError),
    /// An image that does not decode.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Anything else: a missing file, a folder without data, a malformed CSV row, data that does
    /// not fit a model.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn invalid(message: impl Into<String>) -> LoadError {
    LoadError::Invalid(message.into())
}

/// The gzip IDX file of the 5,000 embedded training images (MNIST; see the README's "The
/// embedded digits").
pub const EMBEDDED_IMAGES: &[u8] = include_bytes!("../mnist/train-5k-images-idx3-ubyte.gz");
/// The gzip IDX file of their labels.
pub const EMBEDDED_LABELS: &[u8] = include_bytes!("../mnist/train-5k-labels-idx1-ubyte.gz");

/// How the embedded data is named in messages and recipes.
pub const EMBEDDED_NAME: &str = "embedded MNIST digits";

/// Images the size of MNIST's.
pub const MNIST_SIZE: ImageSize = ImageSize::new(1, 28, 28);

/// The most classes an image folder may have (labels are stored as bytes).
pub const MAX_CLASSES: usize = 256;

/// A labelled data set with its class names and where it came from.
#[derive(Clone, Debug)]
pub struct LabelledData {
    /// The images and labels.
    pub dataset: Dataset,
    /// One name per class (`"0"` … `"9"` for digits, subfolder names for image folders).
    pub class_names: Vec<String>,
    /// The path, or [`EMBEDDED_NAME`].
    pub origin: String,
    /// How images of another size were brought to the data set's (`None`: none needed it).
    pub fit: Option<Fit>,
    /// What reading changed or skipped, one line each (grey images read as RGB, skipped files).
    pub notes: Vec<String>,
}

impl Default for LabelledData {
    fn default() -> Self {
        LabelledData {
            dataset: Dataset::new(Vec::new(), Vec::new(), 1, 1, 1).expect("an empty data set"),
            class_names: Vec::new(),
            origin: String::new(),
            fit: None,
            notes: Vec::new(),
        }
    }
}

/// What a data set is for: it decides which pair of IDX files a folder with several offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Training: prefers files whose name starts with `train`.
    Train,
    /// Evaluation: prefers files whose name starts with `t10k` or `test`.
    Test,
}

fn digit_names(classes: usize) -> Vec<String> {
    (0..classes).map(|c| c.to_string()).collect()
}

/// The embedded 5,000 MNIST training digits.
///
/// # Errors
/// Only if the embedded bytes were corrupted at build time.
pub fn embedded() -> Result<LabelledData, LoadError> {
    let dataset = mnist_from_bytes(EMBEDDED_IMAGES, EMBEDDED_LABELS)
        .map_err(|e| invalid(format!("the embedded MNIST digits do not decode: {e}")))?;
    Ok(LabelledData {
        class_names: digit_names(dataset.classes()),
        dataset,
        origin: EMBEDDED_NAME.to_string(),
        ..LabelledData::default()
    })
}

/// How to read a data set.
#[derive(Clone, Debug)]
pub struct LoadOptions<'a> {
    /// Training or evaluation (which IDX pair or CIFAR files a folder with several offers).
    pub role: Role,
    /// The size image folders are brought to (`None`: their own, which must be one).
    pub size: Option<(usize, usize)>,
    /// How an image of another size is brought to `size` (`None`: none may differ).
    pub fit: Option<Fit>,
    /// The channels image folders are read as.
    pub colour: Colour,
    /// The class names of the model the data is for: an image folder's subfolders are matched to
    /// them by name (a subset is fine, an unknown name is an error). Without them, the sorted
    /// subfolder names are the classes.
    pub class_names: Option<&'a [String]>,
    /// Skip (and count) image files that do not read.
    pub skip_bad: bool,
    /// Which label of CIFAR-100 records is the class.
    pub cifar_labels: Cifar100Labels,
    /// The most bytes decoded images may take in memory: an image folder larger than this is read
    /// from disk as it is used ([`load_set`]), and [`load`] refuses it.
    pub memory: u64,
}

impl<'a> LoadOptions<'a> {
    /// Training data: image folders at their own size, grey when every image is, their
    /// subfolders the classes.
    pub fn training() -> Self {
        LoadOptions {
            role: Role::Train,
            size: None,
            fit: None,
            colour: Colour::Auto,
            class_names: None,
            skip_bad: false,
            cifar_labels: Cifar100Labels::Fine,
            memory: u64::MAX,
        }
    }

    /// Data for a model with this input, these classes, and this way of fitting images of
    /// another size (stretch when the model does not say).
    pub fn for_model(input: ImageSize, class_names: &'a [String], fit: Option<Fit>) -> Self {
        LoadOptions {
            role: Role::Test,
            size: Some((input.height, input.width)),
            fit: Some(fit.unwrap_or(Fit::Stretch)),
            colour: if input.channels == 1 { Colour::Grey } else { Colour::Rgb },
            class_names: Some(class_names),
            ..Self::training()
        }
    }
}

/// A data set as [`load_set`] reads it: an image folder too large for memory stays on disk.
#[derive(Debug)]
pub struct LabelledSet {
    /// The images and labels.
    pub images: ImageSet,
    /// One name per class.
    pub class_names: Vec<String>,
    /// Where it came from.
    pub origin: String,
    /// How images of another size were brought to the set's (`None`: none needed it).
    pub fit: Option<Fit>,
    /// What reading changed or skipped.
    pub notes: Vec<String>,
}

/// Reads the data set at `path` into memory: see [`load_set`].
///
/// # Errors
/// As [`load_set`], and for an image folder larger than `options.memory`.
pub fn load(path: &Path, options: &LoadOptions<'_>) -> Result<LabelledData, LoadError> {
    let set = load_set(path, options)?;
    let dataset = match set.images {
        ImageSet::Memory(d) => d,
        ImageSet::Files(f) => {
            return Err(invalid(format!(
                "{}: {} images of {}×{}×{} do not fit in the {} MB the data may take in memory",
                set.origin,
                f.len(),
                f.size().height,
                f.size().width,
                f.size().channels,
                options.memory >> 20
            )));
        }
    };
    Ok(LabelledData { dataset, class_names: set.class_names, origin: set.origin, fit: set.fit, notes: set.notes })
}

/// Reads the data set at `path`: an IDX folder or images file, a CIFAR folder or file, an image
/// folder (in memory when it fits `options.memory`, else read from disk as it is used), or a
/// CSV file. IDX, CIFAR and CSV data keep their own size.
///
/// # Errors
/// A [`LoadError`] naming the file for anything missing, unreadable or malformed, and for a
/// single image (a data set is many).
pub fn load_set(path: &Path, options: &LoadOptions<'_>) -> Result<LabelledSet, LoadError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| invalid(format!("{shown}: {e}")))?;
    let data = if meta.is_dir() {
        if let Some((images, labels)) = idx_pair_in(path, options.role)? {
            read_idx(&images, &labels)?.into()
        } else if let Some(files) = cifar::files_in(path, options.role)? {
            cifar::read(&files, options.cifar_labels)?.into()
        } else {
            read_image_folder(path, options)?
        }
    } else if is_image_file(path) {
        return Err(invalid(format!(
            "{shown}: one image, not a data set (a folder of class subfolders of images, IDX files, CIFAR files or a CSV file); \
             `neurite predict` classifies single images"
        )));
    } else if cifar::is_cifar_file(path) {
        cifar::read(&[path.to_path_buf()], options.cifar_labels)?.into()
    } else if file_name(path).contains(IMAGES_MARK) {
        let labels = partner_labels(path)?;
        read_idx(path, &labels)?.into()
    } else {
        read_csv(path)?.into()
    };
    if data.images.is_empty() {
        return Err(invalid(format!("{shown}: holds no samples")));
    }
    match options.class_names {
        Some(known) => matched_to(data, known),
        None => Ok(data),
    }
}

/// Data whose classes are named (CIFAR's, a `classes.txt`) relabelled by name for a model with
/// the classes `known`, when every one of its names is among them; otherwise (digit names, or
/// names the model does not have) as it is, its labels taken as the model's class indices.
/// Image folders are matched by name as they are read.
fn matched_to(data: LabelledSet, known: &[String]) -> Result<LabelledSet, LoadError> {
    let ImageSet::Memory(d) = &data.images else { return Ok(data) };
    if data.class_names == known || !data.class_names.iter().all(|n| known.contains(n)) {
        return Ok(data);
    }
    let to: Vec<u8> = data.class_names.iter().map(|n| known.iter().position(|k| k == n).unwrap_or(0) as u8).collect();
    let labels = d.labels().iter().map(|&l| to[usize::from(l)]).collect();
    let pixels = (0..d.len()).flat_map(|i| d.image(i).iter().copied()).collect();
    let dataset = Dataset::with_channels(pixels, labels, [d.channels(), d.rows(), d.cols()], known.len())
        .map_err(|e| invalid(format!("{}: {e}", data.origin)))?;
    Ok(LabelledSet { images: ImageSet::Memory(dataset), class_names: known.to_vec(), ..data })
}

impl From<LabelledData> for LabelledSet {
    fn from(d: LabelledData) -> Self {
        LabelledSet {
            images: ImageSet::Memory(d.dataset),
            class_names: d.class_names,
            origin: d.origin,
            fit: d.fit,
            notes: d.notes,
        }
    }
}

/// A size `HEIGHTxWIDTH` (`32x32`, `28×28`), as `--image-size` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hw {
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
}

/// The largest side `--image-size` accepts.
pub const MAX_SIDE: usize = 16_384;

impl std::str::FromStr for Hw {
    type Err = String;

    fn from_str(text: &str) -> Result<Hw, String> {
        let bad = || format!("image size `{}` is not HEIGHTxWIDTH (e.g. 32x32)", text.escape_debug());
        let (h, w) = text.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
        let side = |t: &str| t.trim().parse::<usize>().map_err(|_| bad());
        let (height, width) = (side(h)?, side(w)?);
        if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
            return Err(format!("image size {height}x{width}: each side must be 1 to {MAX_SIDE}"));
        }
        Ok(Hw { height, width })
    }
}

impl std::fmt::Display for Hw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.height, self.width)
    }
}

neurite_core::text_form_serde!(Hw);

/// Where a training run's data comes from, as a settings file's `[data]` table and the data
/// flags of `neurite train` describe it. [`DataConfig::load`] reads it and splits off the
/// validation samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, smart_default::SmartDefault)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct DataConfig {
    /// Training data: IDX folder, image folder or CSV file (none: the embedded digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "PATH"))]
    pub train_data: Option<PathBuf>,
    /// Test data, evaluated once after training.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "PATH"))]
    pub test_data: Option<PathBuf>,
    /// Fraction of the training data held out for validation.
    #[default(0.1)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub val_split: f32,
    /// Image folders: the size every image is brought to (default: their own, which must be one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "HxW"))]
    pub image_size: Option<Hw>,
    /// Image folders: how images of another size reach --image-size: stretch, crop (centre) or
    /// pad (black), as torchvision's Resize, CenterCrop and Pad.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "POLICY"))]
    pub resize: Option<Fit>,
    /// Read image folders as grey images.
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub grey: bool,
    /// Read image folders as RGB images, grey ones too.
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub rgb: bool,
    /// Skip (and count) image files that do not read, instead of stopping at the first.
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub skip_bad: bool,
    /// CIFAR-100 files: which label is the class, fine (100 classes) or coarse (20).
    #[cfg_attr(feature = "clap", arg(long, value_name = "LABELS", value_parser = parse_cifar_labels))]
    pub cifar_labels: Cifar100Labels,
    /// Read image folders from disk as batches need them, even when they fit in memory (they
    /// do when larger than half the memory budget).
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub stream: bool,
    /// Threads that prepare batches (read, augment, normalise) while the step runs (default 1); 0
    /// prepares them on the training thread. Results do not depend on it.
    #[default(1)]
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub workers: usize,
}

#[cfg(feature = "clap")]
fn parse_cifar_labels(text: &str) -> Result<Cifar100Labels, String> {
    match text.trim() {
        "fine" => Ok(Cifar100Labels::Fine),
        "coarse" => Ok(Cifar100Labels::Coarse),
        other => Err(format!("`{}` is not fine or coarse", other.escape_debug())),
    }
}

/// The most worker threads a run may ask for.
pub const MAX_WORKERS: usize = 64;

/// The data of a training run, read and split.
#[derive(Debug)]
pub struct RunData {
    /// Training samples.
    pub train: ImageSet,
    /// Validation samples (none with a validation split of 0).
    pub validation: Option<ImageSet>,
    /// Test data, evaluated after training.
    pub test: Option<LabelledData>,
    /// One name per class.
    pub class_names: Vec<String>,
    /// The size of one input image.
    pub input: ImageSize,
    /// How images of another size were brought to `input` (`None`: none needed it).
    pub fit: Option<Fit>,
    /// Whether most training images have a light background (dark figures on white).
    pub light_background: bool,
    /// Where the training data came from.
    pub origin: String,
    /// What reading changed or skipped, one line each.
    pub notes: Vec<String>,
}

impl DataConfig {
    /// Checks the settings that need no file.
    ///
    /// # Errors
    /// A one-line message naming the setting.
    pub fn check(&self) -> Result<(), String> {
        if !(self.val_split.is_finite() && (0.0..1.0).contains(&self.val_split)) {
            return Err(format!("val-split must be in [0, 1), got {}", self.val_split));
        }
        if self.grey && self.rgb {
            return Err("grey and rgb ask for different channels: pass one".into());
        }
        if self.resize.is_some() && self.image_size.is_none() {
            return Err("resize says how images reach --image-size, which is not given".into());
        }
        if self.workers > MAX_WORKERS {
            return Err(format!("workers must be at most {MAX_WORKERS}, got {}", self.workers));
        }
        Ok(())
    }

    /// The same settings with the data paths made absolute, so that a recorded copy works from
    /// any folder (paths that cannot be resolved are left as they are: reading them will say why).
    pub fn resolved(&self) -> DataConfig {
        let absolute = |p: &Option<PathBuf>| p.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        DataConfig { train_data: absolute(&self.train_data), test_data: absolute(&self.test_data), ..self.clone() }
    }

    /// How the training data is read, image folders in memory up to `memory` bytes.
    pub fn options(&self, memory: u64) -> LoadOptions<'static> {
        LoadOptions {
            size: self.image_size.map(|s| (s.height, s.width)),
            fit: self.resize,
            colour: match (self.grey, self.rgb) {
                (true, _) => Colour::Grey,
                (_, true) => Colour::Rgb,
                _ => Colour::Auto,
            },
            skip_bad: self.skip_bad,
            cifar_labels: self.cifar_labels,
            memory: if self.stream { 0 } else { memory },
            ..LoadOptions::training()
        }
    }

    /// [`DataConfig::load_within`] with half the memory budget for the training images.
    ///
    /// # Errors
    /// As [`DataConfig::load_within`], and for a budget the environment sets wrongly.
    pub fn load(&self, seed: u64) -> Result<RunData, LoadError> {
        let budget = neurite_nn::Budget::from_env().map_err(invalid)?;
        self.load_within(seed, budget.bytes / 2)
    }

    /// Reads the training data (the embedded digits without a path; an image folder larger than
    /// `memory` bytes stays on disk), holds out round(n · val-split) samples (at least one when
    /// the split is above 0) for validation by a split seeded with `seed`, and reads the test
    /// data for the training data's input size and classes.
    ///
    /// # Errors
    /// [`LoadError`] naming the file for data that cannot be read or does not fit, and for a
    /// split that leaves no training sample.
    pub fn load_within(&self, seed: u64, memory: u64) -> Result<RunData, LoadError> {
        self.check().map_err(invalid)?;
        let all: LabelledSet = match &self.train_data {
            Some(path) => load_set(path, &self.options(memory))?,
            None => embedded()?.into(),
        };
        let input = all.images.size();
        let n = all.images.len();
        let held_out =
            if self.val_split > 0.0 { ((n as f64 * f64::from(self.val_split)).round() as usize).max(1) } else { 0 };
        if held_out >= n {
            return Err(invalid(format!(
                "{}: {n} samples leave none for training after a validation split of {}",
                all.origin, self.val_split
            )));
        }
        let (train, validation) = all.images.split(held_out, seed)?;
        let light_background = input.channels == 1 && train.light_background(BACKGROUND_PROBE)?;
        let mut notes = all.notes;
        let test = match &self.test_data {
            Some(path) => {
                let options = LoadOptions {
                    skip_bad: self.skip_bad,
                    cifar_labels: self.cifar_labels,
                    memory,
                    ..LoadOptions::for_model(input, &all.class_names, all.fit)
                };
                let test = load(path, &options)?;
                check_fits(&test, input, all.class_names.len())?;
                notes.extend(test.notes.iter().map(|n| format!("test data: {n}")));
                Some(test)
            }
            None => None,
        };
        Ok(RunData {
            train,
            validation: (held_out > 0).then_some(validation),
            test,
            class_names: all.class_names,
            input,
            fit: all.fit,
            light_background,
            origin: all.origin,
            notes,
        })
    }
}

/// Training images looked at to tell a light background from a dark one.
const BACKGROUND_PROBE: usize = 512;

/// Checks that `data` suits a model taking `input` images and giving `classes` scores.
///
/// # Errors
/// [`LoadError::Invalid`] naming the mismatch.
pub fn check_fits(data: &LabelledData, input: ImageSize, classes: usize) -> Result<(), LoadError> {
    let d = &data.dataset;
    if d.channels() != input.channels || d.rows() != input.height || d.cols() != input.width {
        let kind = |c: usize| if c == 1 { "grey".to_string() } else { format!("with {c} channels") };
        return Err(invalid(format!(
            "{}: images are {}×{} {}, the model takes {}×{} {}",
            data.origin,
            d.cols(),
            d.rows(),
            kind(d.channels()),
            input.width,
            input.height,
            kind(input.channels)
        )));
    }
    if let Some((index, label)) = d.labels().iter().enumerate().find(|(_, l)| **l as usize >= classes) {
        return Err(invalid(format!(
            "{}: sample {index} has label {label}, but the model has only {classes} classes",
            data.origin
        )));
    }
    Ok(())
}

const IMAGES_MARK: &str = "images-idx3-ubyte";
const LABELS_MARK: &str = "labels-idx1-ubyte";

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The prefix of an IDX file name before `mark`, if the name is `PREFIX{mark}` or
/// `PREFIX{mark}.gz`.
fn idx_prefix<'a>(name: &'a str, mark: &str) -> Option<&'a str> {
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    stem.strip_suffix(mark)
}

fn read_idx(images: &Path, labels: &Path) -> Result<LabelledData, LoadError> {
    let dataset = mnist_from_files(images, labels).map_err(|e| match e {
        // The only message without a file in it.
        DataError::CountMismatch { .. } => invalid(format!("{}: {e}", images.display())),
        e => LoadError::Idx(e),
    })?;
    let class_names = idx_class_names(images, &dataset)?;
    // The names file decides how many classes there are (IDX files have at least 10).
    let dataset = if class_names.len() == dataset.classes() {
        dataset
    } else {
        let (c, h, w) = (dataset.channels(), dataset.rows(), dataset.cols());
        let labels = dataset.labels().to_vec();
        let pixels = (0..dataset.len()).flat_map(|i| dataset.image(i).iter().copied()).collect();
        Dataset::with_channels(pixels, labels, [c, h, w], class_names.len())
            .map_err(|e| invalid(format!("{}: {e}", images.display())))?
    };
    Ok(LabelledData { class_names, dataset, origin: images.display().to_string(), ..LabelledData::default() })
}

/// The labels file beside an images file: the same prefix, raw or gzip.
fn partner_labels(images: &Path) -> Result<PathBuf, LoadError> {
    let name = file_name(images);
    let prefix = idx_prefix(&name, IMAGES_MARK).ok_or_else(|| {
        invalid(format!("{}: an IDX images file must be named PREFIX{IMAGES_MARK}[.gz]", images.display()))
    })?;
    let dir = images.parent().unwrap_or(Path::new("."));
    for candidate in [format!("{prefix}{LABELS_MARK}"), format!("{prefix}{LABELS_MARK}.gz")] {
        let path = dir.join(&candidate);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(invalid(format!("{}: no labels file {prefix}{LABELS_MARK}[.gz] beside it", images.display())))
}

/// The IDX pair a folder offers for `role`, or `None` if it holds no IDX file at all.
fn idx_pair_in(dir: &Path, role: Role) -> Result<Option<(PathBuf, PathBuf)>, LoadError> {
    let shown = dir.display().to_string();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("{shown}: {e}")))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Raw files sort before their .gz twins, so the first of each prefix is the raw one.
    let mut images: Vec<(String, String)> = Vec::new();
    let mut labels: Vec<(String, String)> = Vec::new();
    for name in &names {
        if let Some(p) = idx_prefix(name, IMAGES_MARK) {
            if !images.iter().any(|(q, _)| q == p) {
                images.push((p.to_string(), name.clone()));
            }
        } else if let Some(p) = idx_prefix(name, LABELS_MARK) {
            if !labels.iter().any(|(q, _)| q == p) {
                labels.push((p.to_string(), name.clone()));
            }
        }
    }
    if images.is_empty() && labels.is_empty() {
        return Ok(None);
    }
    let pairs: Vec<(&str, &str, &str)> = images
        .iter()
        .filter_map(|(p, img)| {
            labels.iter().find(|(q, _)| q == p).map(|(_, lab)| (p.as_str(), img.as_str(), lab.as_str()))
        })
        .collect();
    let chosen = match pairs.as_slice() {
        [] => {
            let found = images.iter().chain(&labels).map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ");
            return Err(invalid(format!(
                "{shown}: no matching pair of PREFIX{IMAGES_MARK} and PREFIX{LABELS_MARK} files (found {found})"
            )));
        }
        [one] => *one,
        several => {
            let wanted = |prefix: &str| match role {
                Role::Train => prefix.starts_with("train"),
                Role::Test => prefix.starts_with("t10k") || prefix.starts_with("test"),
            };
            let preferred: Vec<_> = several.iter().filter(|(p, _, _)| wanted(p)).collect();
            match preferred.as_slice() {
                [one] => **one,
                _ => {
                    let list = several.iter().map(|(_, img, _)| *img).collect::<Vec<_>>().join(", ");
                    return Err(invalid(format!(
                        "{shown}: several IDX data sets ({list}); give the images file itself as the data path"
                    )));
                }
            }
        }
    };
    Ok(Some((dir.join(chosen.1), dir.join(chosen.2))))
}

pub(crate) fn is_image_file(path: &Path) -> bool {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    path.is_file() && matches!(ext.as_str(), "png" | "jpg" | "jpeg")
}

pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("{}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Whether an image `[C, H, W]` with values in [0, 1] shows a light background (a dark digit on
/// white paper, unlike MNIST's white digits on black): the mean of its outermost ring of pixels,
/// over every channel, is above one half.
pub fn light_background(values: &[f32], size: ImageSize) -> bool {
    let (h, w) = (size.height, size.width);
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for plane in values.chunks(h * w).take(size.channels) {
        for (i, &v) in plane.iter().enumerate() {
            let (y, x) = (i / w, i % w);
            if y == 0 || x == 0 || y + 1 == h || x + 1 == w {
                sum += f64::from(v);
                count += 1;
            }
        }
    }
    count > 0 && sum / count as f64 > 0.5
}

/// [`light_background`] of an image of raw pixels.
pub fn light_border(pixels: &[u8], size: ImageSize) -> bool {
    let values: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    light_background(&values, size)
}

/// `values` (`[C, H, W]`) resized bilinearly to `height × width`, or copied if already that size.
pub fn resize_to(values: &[f32], size: ImageSize, height: usize, width: usize) -> Vec<f32> {
    if size.height == height && size.width == width {
        return values.to_vec();
    }
    let mut out = vec![0.0; size.channels * height * width];
    resize_region(values, size, Region::whole(size), height, width, Interpolation::Bilinear, &mut out);
    out
}

fn read_image_folder(dir: &Path, options: &LoadOptions<'_>) -> Result<LabelledSet, LoadError> {
    let shown = dir.display().to_string();
    let folders: Vec<PathBuf> = sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    if folders.is_empty() {
        return Err(invalid(format!(
            "{shown}: neither IDX files (PREFIX{IMAGES_MARK}, PREFIX{LABELS_MARK}), CIFAR files nor class subfolders of images"
        )));
    }
    if folders.len() > MAX_CLASSES {
        return Err(invalid(format!(
            "{shown}: {} class subfolders, at most {MAX_CLASSES} are supported",
            folders.len()
        )));
    }
    let names: Vec<String> = folders.iter().map(|p| file_name(p)).collect();
    if let Some(name) = names.iter().find(|n| n.chars().any(char::is_control)) {
        return Err(invalid(format!(
            "{shown}: class folder `{}` has a control character in its name",
            name.escape_default()
        )));
    }
    // Each folder's label: its position among the model's classes, or among the folders.
    let (class_names, labels_of): (Vec<String>, Vec<usize>) = match options.class_names {
        Some(known) => {
            let mut labels = Vec::with_capacity(names.len());
            for name in &names {
                let Some(label) = known.iter().position(|k| k == name) else {
                    return Err(invalid(format!(
                        "{shown}: class folder `{name}` is not one of the model's classes ({})",
                        known.join(", ")
                    )));
                };
                labels.push(label);
            }
            (known.to_vec(), labels)
        }
        None => (names.clone(), (0..names.len()).collect()),
    };
    let folder_options = FolderOptions {
        size: options.size,
        fit: options.fit,
        colour: options.colour,
        class_names: options.class_names,
        skip_bad: options.skip_bad,
        memory: options.memory,
    };
    let read = folder::read(dir, &folders, &labels_of, class_names, &folder_options)?;
    Ok(LabelledSet {
        images: read.images,
        class_names: read.class_names,
        origin: shown,
        fit: read.fit,
        notes: read.notes,
    })
}

/// The class names listed in `path`, one per line (blank lines at the end ignored).
pub(crate) fn read_names(path: &Path) -> Result<Vec<String>, LoadError> {
    let shown = path.display();
    let bytes = neurite_core::fs::read_bounded(path, MAX_NAMES_BYTES).map_err(|e| invalid(format!("{shown}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(format!("{shown}: class names are not UTF-8 text")))?;
    let names: Vec<String> = text.trim_end().lines().map(|l| l.trim().to_string()).collect();
    if let Some((i, _)) = names.iter().enumerate().find(|(_, n)| n.is_empty() || n.chars().any(char::is_control)) {
        return Err(invalid(format!("{shown}: line {} is not a class name", i + 1)));
    }
    Ok(names)
}

/// The largest class-names file read.
const MAX_NAMES_BYTES: u64 = 1 << 20;

/// The file beside IDX or image data that names its classes, one per line, in label order.
pub const CLASS_NAMES_FILE: &str = "classes.txt";

/// Fashion-MNIST's classes, in label order (Xiao, Rasul and Vollgraf, 2017).
pub const FASHION_MNIST_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// The class names of IDX data at `images`: a `classes.txt` beside it, Fashion-MNIST's when its
/// folder is named so, else the digits.
fn idx_class_names(images: &Path, dataset: &Dataset) -> Result<Vec<String>, LoadError> {
    let classes = dataset.classes();
    let dir = images.parent().unwrap_or(Path::new("."));
    let listed = dir.join(CLASS_NAMES_FILE);
    if listed.is_file() {
        let names = read_names(&listed)?;
        let used = dataset.labels().iter().map(|&l| usize::from(l) + 1).max().unwrap_or(0);
        if names.len() < used || names.len() > MAX_CLASSES {
            return Err(invalid(format!(
                "{}: {} class names, the labels need {used} (at most {MAX_CLASSES})",
                listed.display(),
                names.len()
            )));
        }
        return Ok(names);
    }
    let fashion = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .to_string_lossy()
        .to_ascii_lowercase()
        .contains("fashion");
    if fashion && classes <= FASHION_MNIST_CLASSES.len() {
        return Ok(FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect());
    }
    Ok(digit_names(classes))
}

/// The largest CSV file read: the 60,000 MNIST training digits take 110 MB as CSV.
pub const MAX_CSV_BYTES: u64 = 256 << 20;

fn read_csv(path: &Path) -> Result<LabelledData, LoadError> {
    let shown = path.display().to_string();
    let bytes = neurite_core::fs::read_bounded(path, MAX_CSV_BYTES).map_err(|e| invalid(format!("{shown}: {e}")))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes.as_slice());
    let mut pixels: Vec<u8> = Vec::new();
    let mut labels: Vec<u8> = Vec::new();
    let mut width: Option<usize> = None;
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        let record = record.map_err(|e| invalid(format!("{shown}: line {line}: {}", one_line(&e.to_string()))))?;
        let first = record.get(0).unwrap_or("").trim();
        if index == 0 && first.parse::<i64>().is_err() {
            continue; // a header row
        }
        let label: u8 = first.parse().map_err(|_| {
            invalid(format!("{shown}: line {line}: label `{}` is not a whole number 0–255", first.escape_debug()))
        })?;
        let count = record.len() - 1;
        match width {
            None if count == 0 => return Err(invalid(format!("{shown}: line {line}: a label but no pixel values"))),
            None => width = Some(count),
            Some(w) if w != count => {
                return Err(invalid(format!("{shown}: line {line}: {count} pixel values, the rows before have {w}")));
            }
            Some(_) => {}
        }
        for (column, field) in record.iter().skip(1).enumerate() {
            let value: u8 = field.trim().parse().map_err(|_| {
                invalid(format!(
                    "{shown}: line {line}, column {}: `{}` is not a pixel value 0–255",
                    column + 2,
                    field.trim().escape_debug()
                ))
            })?;
            pixels.push(value);
        }
        labels.push(label);
    }
    let Some(count) = width else {
        return Err(invalid(format!("{shown}: no data rows")));
    };
    let side = (count as f64).sqrt().round() as usize;
    if side * side != count {
        return Err(invalid(format!("{shown}: rows have {count} pixel values, which is not a square image")));
    }
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0).max(10);
    let dataset = Dataset::new(pixels, labels, side, side, classes).map_err(|e| invalid(format!("{shown}: {e}")))?;
    Ok(LabelledData { class_names: digit_names(classes), dataset, origin: shown, ..LabelledData::default() })
}

/// Folds the lines of a parser's message into one.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digits_decode() {
        let data = embedded().expect("embedded data");
        assert_eq!((data.dataset.len(), data.dataset.rows(), data.dataset.cols()), (5000, 28, 28));
        assert_eq!(data.class_names.len(), 10);
    }

    #[test]
    fn idx_names_split_into_prefix_and_kind() {
        assert_eq!(idx_prefix("t10k-images-idx3-ubyte.gz", IMAGES_MARK), Some("t10k-"));
        assert_eq!(idx_prefix("labels-idx1-ubyte", LABELS_MARK), Some(""));
        assert_eq!(idx_prefix("notes.txt", IMAGES_MARK), None);
    }

    #[test]
    fn a_light_border_is_a_light_background() {
        let size = ImageSize::new(1, 3, 3);
        // A dark digit (the centre) on white, and the same inverted.
        assert!(light_background(&[1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0], size));
        assert!(!light_background(&[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], size));
    }

    #[test]
    fn resizing_to_the_same_size_copies() {
        let size = ImageSize::new(1, 2, 2);
        assert_eq!(resize_to(&[0.0, 0.5, 1.0, 0.25], size, 2, 2), vec![0.0, 0.5, 1.0, 0.25]);
        assert_eq!(resize_to(&[1.0; 4], size, 3, 3), vec![1.0; 9]);
    }
}
