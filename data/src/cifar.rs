//! The CIFAR-10 and CIFAR-100 binary formats (A. Krizhevsky, 2009): records of label bytes then
//! 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue, row-major 32×32). CIFAR-10 has one
//! label byte (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`, class names in
//! `batches.meta.txt`); CIFAR-100 two, coarse then fine (`train.bin`, `test.bin`, names in
//! `coarse_label_names.txt` and `fine_label_names.txt`).

use std::path::{Path, PathBuf};

use neurite_nn::data::Dataset;

use crate::{LabelledData, LoadError, Role, invalid};

/// Pixel bytes of one CIFAR image.
const IMAGE_BYTES: usize = 3 * 32 * 32;

/// The largest CIFAR file read (the five CIFAR-10 training batches are 30 MB each, CIFAR-100's
/// training file 150 MB).
pub const MAX_CIFAR_BYTES: u64 = 512 << 20;

/// CIFAR-10's classes, in label order, for a folder without `batches.meta.txt`.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Which of CIFAR-100's two labels a record's class is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

/// The two CIFAR layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ten,
    Hundred,
}

impl Kind {
    fn label_bytes(self) -> usize {
        match self {
            Kind::Ten => 1,
            Kind::Hundred => 2,
        }
    }

    fn of_file(path: &Path) -> Option<Kind> {
        let name = crate::file_name(path);
        if name == "train.bin" || name == "test.bin" {
            Some(Kind::Hundred)
        } else if name.ends_with(".bin") && (name.starts_with("data_batch") || name.starts_with("test_batch")) {
            Some(Kind::Ten)
        } else {
            None
        }
    }
}

/// Whether `path` is a CIFAR binary file by its name.
pub(crate) fn is_cifar_file(path: &Path) -> bool {
    path.is_file() && Kind::of_file(path).is_some()
}

/// The CIFAR files of `dir` for `role`, if it holds any.
pub(crate) fn files_in(dir: &Path, role: Role) -> Result<Option<Vec<PathBuf>>, LoadError> {
    let all: Vec<PathBuf> = crate::sorted_entries(dir)?.into_iter().filter(|p| is_cifar_file(p)).collect();
    if all.is_empty() {
        return Ok(None);
    }
    let wanted = |p: &PathBuf| {
        let name = crate::file_name(p);
        match role {
            Role::Train => name.starts_with("data_batch") || name == "train.bin",
            Role::Test => name.starts_with("test"),
        }
    };
    let chosen: Vec<PathBuf> = all.iter().filter(|p| wanted(p)).cloned().collect();
    if chosen.is_empty() {
        let names = all.iter().map(|p| crate::file_name(p)).collect::<Vec<_>>().join(", ");
        let what = if role == Role::Train { "training" } else { "test" };
        return Err(invalid(format!("{}: no CIFAR {what} file among {names}", dir.display())));
    }
    Ok(Some(chosen))
}

/// Reads CIFAR binary `files` (all of one kind) with the class names found beside them.
pub(crate) fn read(files: &[PathBuf], labels: Cifar100Labels) -> Result<LabelledData, LoadError> {
    let first = &files[0];
    let kind = Kind::of_file(first).unwrap_or(Kind::Ten);
    let dir = first.parent().unwrap_or(Path::new("."));
    let class_names = names(dir, kind, labels)?;
    let record = kind.label_bytes() + IMAGE_BYTES;
    let mut pixels = Vec::new();
    let mut targets = Vec::new();
    for file in files {
        let shown = file.display();
        if Kind::of_file(file) != Some(kind) {
            return Err(invalid(format!("{shown}: not the same CIFAR layout as {}", first.display())));
        }
        let bytes =
            neurite_core::fs::read_bounded(file, MAX_CIFAR_BYTES).map_err(|e| invalid(format!("{shown}: {e}")))?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(invalid(format!(
                "{shown}: {} bytes is not a whole number of {record}-byte CIFAR records (truncated or not CIFAR)",
                bytes.len()
            )));
        }
        for (index, chunk) in bytes.chunks_exact(record).enumerate() {
            let label = match (kind, labels) {
                (Kind::Ten, _) | (Kind::Hundred, Cifar100Labels::Coarse) => chunk[0],
                (Kind::Hundred, Cifar100Labels::Fine) => chunk[1],
            };
            if usize::from(label) >= class_names.len() {
                return Err(invalid(format!(
                    "{shown}: record {index} has label {label}, but there are {} classes",
                    class_names.len()
                )));
            }
            targets.push(label);
            pixels.extend_from_slice(&chunk[kind.label_bytes()..]);
        }
    }
    let dataset = Dataset::with_channels(pixels, targets, [3, 32, 32], class_names.len())
        .map_err(|e| invalid(format!("{}: {e}", first.display())))?;
    let origin = if files.len() == 1 { first.display().to_string() } else { dir.display().to_string() };
    Ok(LabelledData { dataset, class_names, origin, ..LabelledData::default() })
}

/// The class names of a CIFAR folder: its names file, else CIFAR-10's classes or numbers.
fn names(dir: &Path, kind: Kind, labels: Cifar100Labels) -> Result<Vec<String>, LoadError> {
    let (file, count) = match (kind, labels) {
        (Kind::Ten, _) => ("batches.meta.txt", 10),
        (Kind::Hundred, Cifar100Labels::Fine) => ("fine_label_names.txt", 100),
        (Kind::Hundred, Cifar100Labels::Coarse) => ("coarse_label_names.txt", 20),
    };
    let path = dir.join(file);
    if path.is_file() {
        let listed = crate::read_names(&path)?;
        if listed.len() != count {
            return Err(invalid(format!("{}: {} class names, CIFAR has {count}", path.display(), listed.len())));
        }
        return Ok(listed);
    }
    Ok(match kind {
        Kind::Ten => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
        Kind::Hundred => (0..count).map(|c| c.to_string()).collect(),
    })
}
