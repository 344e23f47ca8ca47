//! Export to and import from safetensors, the format PyTorch, candle and burn read. Tensors keep
//! PyTorch's layouts and names (`layers.0.weight` `[out, in]`, `layers.2.weight`
//! `[out, in, kh, kw]`, batch norm's `running_mean` and `running_var`), all little-endian f32.
//! Two metadata entries make the file self-describing:
//! - `architecture`: the JSON list of layers (type and settings, in order; see [`LayerSpec`]);
//! - `preprocessing`: how raw u8 pixels become the input (scale, mean, std, layout).
//!
//! The crate's README shows the PyTorch script that rebuilds the network from these.

use std::collections::HashMap;
use std::path::Path;

use neurite_core::{Backend, TensorRecord};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::data::Preprocessing;
use crate::module::{Module, Sequential};
use crate::spec::{LayerSpec, SpecError, build_sequential, check_state_fits};
use crate::state::{StateError, collect_state, restore_state};
use neurite_core::fs::{ReadError, read_bounded};

/// The largest safetensors file [`import_safetensors`] reads (1 GiB).
pub const MAX_SAFETENSORS_BYTES: u64 = 1 << 30;
/// The metadata key of the layer list.
pub const ARCHITECTURE_KEY: &str = "architecture";
/// The metadata key of the preprocessing description.
pub const PREPROCESSING_KEY: &str = "preprocessing";
/// Metadata key of checkpoints and exports: the class names, as a JSON list.
pub const CLASSES_KEY: &str = "classes";
/// Metadata key of checkpoints and exports: the input image size `[channels, height, width]`, as
/// JSON.
pub const INPUT_KEY: &str = "input";

/// Why an export or import failed. Each message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum InterchangeError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Larger than the limit.
    #[error("{path}: {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not valid safetensors (the parser's message), or not writable as such.
    #[error("{path}: safetensors: {message}")]
    Format {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A required metadata entry is absent.
    #[error("{path}: metadata entry `{key}` is missing")]
    MissingMetadata {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
    /// A metadata entry is not the JSON expected.
    #[error("{path}: metadata entry `{key}`: {message}")]
    Metadata {
        /// The file.
        path: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A tensor is not f32.
    #[error("{path}: tensor `{name}` has dtype {dtype}, expected F32")]
    DType {
        /// The file.
        path: String,
        /// The tensor.
        name: String,
        /// Its dtype.
        dtype: String,
    },
    /// The tensors do not match the architecture.
    #[error("{path}: {source}")]
    State {
        /// The file.
        path: String,
        /// The mismatch.
        #[source]
        source: StateError,
    },
    /// The architecture cannot be built (custom layers, bad settings).
    #[error("{path}: {source}")]
    Spec {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: SpecError,
    },
    /// The model being imported into has another architecture.
    #[error("{path}: architecture mismatch: file has {found}, model is {expected}")]
    Architecture {
        /// The file.
        path: String,
        /// The model's layers, as JSON.
        expected: String,
        /// The file's layers, as JSON.
        found: String,
    },
}

/// The safetensors bytes of `model`: its parameters and buffers under their path names, with
/// the `architecture` and `preprocessing` metadata entries and the `extra` ones (a checkpoint's
/// [`CLASSES_KEY`] and [`INPUT_KEY`]).
///
/// # Errors
/// [`InterchangeError::Format`] (path `<memory>`) if a setting cannot be written as JSON (a
/// non-finite value) or the header would be too large.
pub fn to_safetensors_bytes<B: Backend>(
    model: &Sequential<B>,
    preprocessing: &Preprocessing,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, InterchangeError> {
    let format = |message: String| InterchangeError::Format { path: "<memory>".to_string(), message };
    let state = collect_state(model);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = state
        .into_iter()
        .map(|(name, r)| (name, r.shape, r.data.iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| format(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut metadata = HashMap::new();
    let architecture = serde_json::to_string(&model.architecture()).map_err(|e| format(e.to_string()))?;
    metadata.insert(ARCHITECTURE_KEY.to_string(), architecture);
    metadata.insert(
        PREPROCESSING_KEY.to_string(),
        serde_json::to_string(preprocessing).map_err(|e| format(e.to_string()))?,
    );
    metadata.insert("format".to_string(), "pt".to_string());
    for (key, value) in extra {
        metadata.insert(key.to_string(), value.clone());
    }
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| format(e.to_string()))?;
    with_sorted_header(bytes).map_err(format)
}

/// safetensors writes its `__metadata__` map in hash order, which changes from one run (even one
/// call) to the next. This rewrites the JSON header with every object's keys sorted, so the same
/// model always gives the same bytes. The entries are the same, so the header keeps its length
/// (and its padding to a multiple of 8 bytes).
fn with_sorted_header(mut bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let len = bytes.get(..8).map(|n| u64::from_le_bytes(n.try_into().expect("8 bytes")) as usize);
    let header = len.and_then(|n| bytes.get(8..8 + n)).ok_or("safetensors wrote no header")?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let header_len = header.len();
    let mut sorted = String::with_capacity(header_len);
    write_sorted_json(&value, &mut sorted);
    let header = &mut bytes[8..8 + header_len];
    if sorted.len() > header.len() {
        return Err("sorted safetensors header is longer than the original".to_string());
    }
    let padding = header.len() - sorted.len();
    sorted.extend(std::iter::repeat_n(' ', padding));
    header.copy_from_slice(sorted.as_bytes());
    Ok(bytes)
}

/// Compact JSON for `value` with the keys of every object in byte order.
fn write_sorted_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_sorted_json(value, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_sorted_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Writes `model` to `path` as safetensors (see [`to_safetensors_bytes`]), atomically.
///
/// # Errors
/// As [`to_safetensors_bytes`], and [`InterchangeError::Io`].
pub fn export_safetensors<B: Backend>(
    model: &Sequential<B>,
    preprocessing: &Preprocessing,
    extra: &[(&str, String)],
    path: impl AsRef<Path>,
) -> Result<(), InterchangeError> {
    let path = path.as_ref();
    let bytes = to_safetensors_bytes(model, preprocessing, extra)?;
    neurite_core::fs::write_atomic(path, &bytes)
        .map_err(|source| InterchangeError::Io { path: path.display().to_string(), source })
}

/// The tensors and metadata of a safetensors file, whatever wrote it: a PyTorch `state_dict`
/// saved with `safetensors.torch.save_file`, or a Neurite export. Batch norm's
/// `num_batches_tracked` counters are left out.
#[derive(Clone, Debug, PartialEq)]
pub struct StateDict {
    /// Where it came from (for error messages).
    pub origin: String,
    /// The `__metadata__` entries.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Every tensor, by name, in name order.
    pub tensors: Vec<(String, TensorRecord)>,
}

impl StateDict {
    /// Parses safetensors bytes; `origin` names them in errors.
    ///
    /// # Errors
    /// [`InterchangeError::Format`] for invalid safetensors, [`InterchangeError::DType`] for a
    /// tensor that is not f32.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, InterchangeError> {
        let path = || origin.to_string();
        let parsed = SafeTensors::deserialize(bytes)
            .map_err(|e| InterchangeError::Format { path: path(), message: e.to_string() })?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| InterchangeError::Format { path: path(), message: e.to_string() })?;
        let metadata = header.metadata().clone().unwrap_or_default().into_iter().collect();
        let mut tensors = Vec::new();
        // PyTorch's batch norm counts its steps in an integer buffer that nothing here uses.
        for (name, view) in parsed.iter().filter(|(name, _)| !name.ends_with("num_batches_tracked")) {
            if view.dtype() != Dtype::F32 {
                return Err(InterchangeError::DType {
                    path: path(),
                    name: name.to_string(),
                    dtype: format!("{:?}", view.dtype()),
                });
            }
            let data: Vec<f32> =
                view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            tensors.push((name.to_string(), TensorRecord { shape: view.shape().to_vec(), data }));
        }
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(StateDict { origin: origin.to_string(), metadata, tensors })
    }

    /// Reads a safetensors file of at most [`MAX_SAFETENSORS_BYTES`].
    ///
    /// # Errors
    /// [`InterchangeError::Io`], [`InterchangeError::TooLarge`], else as [`StateDict::from_bytes`].
    pub fn read(path: impl AsRef<Path>) -> Result<Self, InterchangeError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = read_bounded(path, MAX_SAFETENSORS_BYTES).map_err(|e| match e {
            ReadError::Io(source) => InterchangeError::Io { path: shown.clone(), source },
            ReadError::TooLarge { size, .. } => {
                InterchangeError::TooLarge { path: shown.clone(), size, limit: MAX_SAFETENSORS_BYTES }
            }
        })?;
        Self::from_bytes(&bytes, &shown)
    }
}

/// A network read from a safetensors file: its layers, preprocessing and tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// Where it came from (for error messages).
    pub origin: String,
    /// The layer list of the `architecture` entry.
    pub architecture: Vec<LayerSpec>,
    /// The `preprocessing` entry, if the file has one.
    pub preprocessing: Option<Preprocessing>,
    /// Every tensor, by name.
    pub tensors: Vec<(String, TensorRecord)>,
}

impl Imported {
    /// Parses safetensors bytes; `origin` names them in errors.
    ///
    /// # Errors
    /// [`InterchangeError`] for invalid safetensors, missing or malformed metadata, or a tensor
    /// that is not f32.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, InterchangeError> {
        Self::from_state_dict(StateDict::from_bytes(bytes, origin)?)
    }

    /// The network a Neurite export describes.
    ///
    /// # Errors
    /// [`InterchangeError`] for missing or malformed `architecture` or `preprocessing` metadata.
    pub fn from_state_dict(dict: StateDict) -> Result<Self, InterchangeError> {
        let StateDict { origin, metadata, tensors } = dict;
        let path = || origin.clone();
        let entry = |key: &str| {
            metadata.get(key).ok_or_else(|| InterchangeError::MissingMetadata { path: path(), key: key.to_string() })
        };
        let bad = |key: &str, e: serde_json::Error| InterchangeError::Metadata {
            path: path(),
            key: key.to_string(),
            message: e.to_string(),
        };
        let architecture: Vec<LayerSpec> =
            serde_json::from_str(entry(ARCHITECTURE_KEY)?).map_err(|e| bad(ARCHITECTURE_KEY, e))?;
        let preprocessing = match metadata.get(PREPROCESSING_KEY) {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| bad(PREPROCESSING_KEY, e))?),
            None => None,
        };
        Ok(Imported { origin, architecture, preprocessing, tensors })
    }

    /// Rebuilds the network (built-in layers only) with the imported tensors, in training mode.
    ///
    /// # Errors
    /// [`InterchangeError::Spec`] for a layer that cannot be built or an architecture with more
    /// parameter values than the file's tensors (checked before anything is allocated),
    /// [`InterchangeError::State`] for tensors that do not match it.
    pub fn build<B: Backend>(&self) -> Result<Sequential<B>, InterchangeError> {
        let spec_error = |source| InterchangeError::Spec { path: self.origin.clone(), source };
        let values = self.tensors.iter().map(|(_, r)| r.data.len()).sum();
        check_state_fits(&self.architecture, values).map_err(spec_error)?;
        let mut model = build_sequential::<B>(&self.architecture, 0).map_err(spec_error)?;
        self.restore(&mut model)?;
        Ok(model)
    }

    /// Writes the imported tensors into `model`, which must have the file's architecture.
    ///
    /// # Errors
    /// [`InterchangeError::Architecture`] for another network, [`InterchangeError::State`] for
    /// tensors that do not match.
    pub fn restore<B: Backend>(&self, model: &mut Sequential<B>) -> Result<(), InterchangeError> {
        let expected = model.architecture();
        if expected != self.architecture {
            let json = |a: &[LayerSpec]| serde_json::to_string(a).unwrap_or_default();
            return Err(InterchangeError::Architecture {
                path: self.origin.clone(),
                expected: json(&expected),
                found: json(&self.architecture),
            });
        }
        restore_state(model as &mut dyn Module<B>, &self.tensors)
            .map_err(|source| InterchangeError::State { path: self.origin.clone(), source })
    }
}

/// Reads a safetensors file of at most [`MAX_SAFETENSORS_BYTES`].
///
/// # Errors
/// [`InterchangeError::Io`], [`InterchangeError::TooLarge`], else as [`Imported::from_bytes`].
pub fn import_safetensors(path: impl AsRef<Path>) -> Result<Imported, InterchangeError> {
    Imported::from_state_dict(StateDict::read(path)?)
}
