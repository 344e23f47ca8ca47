//! Where data sets come from: the 5,000 MNIST training digits embedded in this crate (so every
//! program built with it has them), and a data PATH, which is one of
//! - a folder holding an `*images-idx3-ubyte` file and its `*labels-idx1-ubyte` partner (either
//!   may end in `.gz`); when a folder holds several such pairs (`train-…` and `t10k-…`), training
//!   takes the `train` pair and evaluation the `t10k`/`test` pair;
//! - an `*images-idx3-ubyte[.gz]` file itself, its labels read from the partner beside it;
//! - an image folder with one subfolder per class, whose PNG and JPEG images are resized to the
//!   model's input: for training the sorted subfolder names are the classes and the images stay
//!   in colour if any is (unless grey is asked for); for a trained model its class names are
//!   matched to the subfolders by name;
//! - a CSV file, one sample per row: the label, then the pixel values 0–255 row-major (a first
//!   row that does not start with a number is a header and is skipped).
//!
//! Decoding and validation of IDX files is `neurite_nn::data`'s; image decoding (with size
//! limits) is `neurite_augment::io`'s. Every problem is a [`LoadError`] naming the file.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

use neurite_augment::io::{Channels, DecodeLimits, ImageError, read_image};
use neurite_augment::{ImageSize, Interpolation, Region, geometry::resize_region};
use neurite_nn::data::{DataError, Dataset, mnist_from_bytes, mnist_from_files};

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

fn invalid(message: impl Into<String>) -> LoadError {
    LoadError::Invalid(message.into())
}

/// The gzip IDX file of the 5,000 embedded training images (MNIST, see the README).
pub const EMBEDDED_IMAGES: &[u8] = include_bytes!("../mnist/train-5k-images-idx3-ubyte.gz");
/// The gzip IDX file of their labels.
pub const EMBEDDED_LABELS: &[u8] = include_bytes!("../mnist/train-5k-labels-idx1-ubyte.gz");

/// How the embedded data is named in messages and recipes.
pub const EMBEDDED_NAME: &str = "embedded MNIST digits";

/// Images the size of MNIST's: what image folders are converted to for training.
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
    Ok(LabelledData { class_names: digit_names(dataset.classes()), dataset, origin: EMBEDDED_NAME.to_string() })
}

/// How to read a data set.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions<'a> {
    /// Training or evaluation (which IDX pair a folder with several offers).
    pub role: Role,
    /// The size image folders are converted to; its channels: 1 (grey), 3 (colour).
    pub size: ImageSize,
    /// For image folders, colour unless every image is grey: what training without `--grey` asks.
    pub auto_colour: bool,
    /// The class names of the model the data is for: an image folder's subfolders are matched to
    /// them by name (a subset is fine, an unknown name is an error). Without them, the sorted
    /// subfolder names are the classes.
    pub class_names: Option<&'a [String]>,
}

impl<'a> LoadOptions<'a> {
    /// Training data: image folders resized to `height × width`, in colour when they are
    /// (unless `grey`), their subfolders the classes.
    pub fn training(height: usize, width: usize, grey: bool) -> Self {
        LoadOptions { role: Role::Train, size: ImageSize::new(1, height, width), auto_colour: !grey, class_names: None }
    }

    /// Data for a model with this input and these classes.
    pub fn for_model(input: ImageSize, class_names: &'a [String]) -> Self {
        LoadOptions { role: Role::Test, size: input, auto_colour: false, class_names: Some(class_names) }
    }
}

/// Reads the data set at `path`: an IDX folder or images file, an image folder (converted to
/// the options' size, classes matched by name), or a CSV file. IDX and CSV data keep their own
/// size.
///
/// # Errors
/// A [`LoadError`] naming the file for anything missing, unreadable or malformed, and for a
/// single image (a data set is many).
pub fn load(path: &Path, options: &LoadOptions<'_>) -> Result<LabelledData, LoadError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| invalid(format!("{shown}: {e}")))?;
    let data = if meta.is_dir() {
        match idx_pair_in(path, options.role)? {
            Some((images, labels)) => read_idx(&images, &labels)?,
            None => read_image_folder(path, options)?,
        }
    } else if is_image_file(path) {
        return Err(invalid(format!(
            "{shown}: one image, not a data set (a folder of class subfolders of images, IDX files or a CSV file); \
             `neurite predict` classifies single images"
        )));
    } else if file_name(path).contains(IMAGES_MARK) {
        let labels = partner_labels(path)?;
        read_idx(path, &labels)?
    } else {
        read_csv(path)?
    };
    if data.dataset.is_empty() {
        return Err(invalid(format!("{shown}: holds no samples")));
    }
    Ok(data)
}

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
    /// Train a colour image folder as grey images.
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub grey: bool,
}

/// The data of a training run, read and split.
#[derive(Clone, Debug)]
pub struct RunData {
    /// Training samples.
    pub train: Dataset,
    /// Validation samples (none with a validation split of 0).
    pub validation: Option<Dataset>,
    /// Test data, evaluated after training.
    pub test: Option<LabelledData>,
    /// One name per class.
    pub class_names: Vec<String>,
    /// The size of one input image.
    pub input: ImageSize,
    /// Where the training data came from.
    pub origin: String,
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
        Ok(())
    }

    /// The same settings with the data paths made absolute, so that a recorded copy works from
    /// any folder (paths that cannot be resolved are left as they are: reading them will say why).
    pub fn resolved(&self) -> DataConfig {
        let absolute = |p: &Option<PathBuf>| p.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        DataConfig { train_data: absolute(&self.train_data), test_data: absolute(&self.test_data), ..self.clone() }
    }

    /// Reads the training data (the embedded digits without a path), holds out
    /// round(n · val-split) samples (at least one when the split is above 0) for validation by a
    /// split seeded with `seed`, and reads the test data for the training data's input size and
    /// classes.
    ///
    /// # Errors
    /// [`LoadError`] naming the file for data that cannot be read or does not fit, and for a
    /// split that leaves no training sample.
    pub fn load(&self, seed: u64) -> Result<RunData, LoadError> {
        self.check().map_err(invalid)?;
        let all = match &self.train_data {
            Some(path) => load(path, &LoadOptions::training(MNIST_SIZE.height, MNIST_SIZE.width, self.grey))?,
            None => embedded()?,
        };
        let d = &all.dataset;
        let input = ImageSize::new(d.channels(), d.rows(), d.cols());
        let n = d.len();
        let held_out =
            if self.val_split > 0.0 { ((n as f64 * f64::from(self.val_split)).round() as usize).max(1) } else { 0 };
        if held_out >= n {
            return Err(invalid(format!(
                "{}: {n} samples leave none for training after a validation split of {}",
                all.origin, self.val_split
            )));
        }
        let (train, validation) = d.split(held_out, seed)?;
        let test = match &self.test_data {
            Some(path) => {
                let test = load(path, &LoadOptions::for_model(input, &all.class_names))?;
                check_fits(&test, input, all.class_names.len())?;
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
            origin: all.origin,
        })
    }
}

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

fn file_name(path: &Path) -> String {
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
    Ok(LabelledData { class_names: digit_names(dataset.classes()), dataset, origin: images.display().to_string() })
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

fn is_image_file(path: &Path) -> bool {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    path.is_file() && matches!(ext.as_str(), "png" | "jpg" | "jpeg")
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("{}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Reads one image file as u8 pixels `[C, height, width]` (C from `channels`: the file's own
/// with `Auto`), and its channel count.
fn image_pixels(path: &Path, channels: Channels, height: usize, width: usize) -> Result<(Vec<u8>, usize), LoadError> {
    let image = read_image(path, channels, &DecodeLimits::DEFAULT)?;
    let resized = resize_to(image.as_slice(), image.size(), height, width);
    Ok((resized.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect(), image.size().channels))
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

/// `values` (`[C, H, W]`) resized bilinearly to `height × width`, or copied if already that size.
pub fn resize_to(values: &[f32], size: ImageSize, height: usize, width: usize) -> Vec<f32> {
    if size.height == height && size.width == width {
        return values.to_vec();
    }
    let mut out = vec![0.0; size.channels * height * width];
    resize_region(values, size, Region::whole(size), height, width, Interpolation::Bilinear, &mut out);
    out
}

fn read_image_folder(dir: &Path, options: &LoadOptions<'_>) -> Result<LabelledData, LoadError> {
    let shown = dir.display().to_string();
    let folders: Vec<PathBuf> = sorted_entries(dir)?.into_iter().filter(|p| p.is_dir()).collect();
    if folders.is_empty() {
        return Err(invalid(format!(
            "{shown}: neither IDX files (PREFIX{IMAGES_MARK}, PREFIX{LABELS_MARK}) nor class subfolders of images"
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
    let size = options.size;
    let wanted = match (options.auto_colour, size.channels) {
        (true, _) => Channels::Auto,
        (false, 3) => Channels::Rgb,
        (false, _) => Channels::Grey,
    };
    let mut images: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut labels = Vec::new();
    for (folder, &label) in folders.iter().zip(&labels_of) {
        for file in sorted_entries(folder)?.into_iter().filter(|p| is_image_file(p)) {
            images.push(image_pixels(&file, wanted, size.height, size.width)?);
            labels.push(label as u8);
        }
    }
    if labels.is_empty() {
        return Err(invalid(format!("{shown}: the class subfolders hold no .png or .jpg image")));
    }
    // With `Auto`, one colour image makes the whole set colour: grey ones get three equal planes.
    let channels = images.iter().map(|(_, c)| *c).max().unwrap_or(1);
    let mut pixels = Vec::with_capacity(images.len() * channels * size.height * size.width);
    for (image, c) in images {
        for _ in 0..channels / c {
            pixels.extend_from_slice(&image);
        }
    }
    let dataset = Dataset::with_channels(pixels, labels, [channels, size.height, size.width], class_names.len())
        .map_err(|e| invalid(format!("{shown}: {e}")))?;
    Ok(LabelledData { dataset, class_names, origin: shown })
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
    Ok(LabelledData { class_names: digit_names(classes), dataset, origin: shown })
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
