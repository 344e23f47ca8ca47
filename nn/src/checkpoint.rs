//! Checkpoints: a model's architecture and named tensors (plus optional extra tensors and text
//! entries, for optimizer state and the like) in a versioned binary file.
//!
//! Layout: the 8 bytes of [`MAGIC`], the format version (u32 LE), the body
//! length (u64 LE), the CRC-32 of the body (u32 LE), then the body, encoded by `codec.rs`. A file
//! is written to a temporary file in the same directory, synced, renamed over the target and the
//! directory synced, so a crash never leaves a half-written checkpoint. Reading checks size,
//! magic, version, length and checksum before decoding, and every name and shape before touching
//! a model: bad bytes give a [`CheckpointError`], never a panic.

use std::path::Path;

use neurite_core::fs::{ReadError, read_bounded};
use neurite_core::{Backend, TensorRecord};
use serde::{Deserialize, Serialize};

use crate::codec::{self, growing_vec};
use crate::module::{Module, Sequential};
use crate::spec::{LayerSpec, SpecError, build_layer, build_sequential, check_state_fits};
use crate::state::{StateError, collect_state, restore_state};

/// The first bytes of every checkpoint. The high first byte and the CR-LF/EOF tail catch files
/// mangled by text-mode transfers, as PNG's signature does.
pub const MAGIC: [u8; 8] = *b"\x89NRT\r\n\x1a\n";
/// The format version this crate writes. Version 2 added composite layers (residual blocks) to
/// the architecture; the layout is unchanged, so version-1 files read as before, and a reader of
/// version 1 refuses a version-2 file by its version rather than by an unknown layer.
pub const FORMAT_VERSION: u32 = 2;
/// The oldest format version this crate reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// Bytes before the body: magic, version, body length, checksum.
pub const HEADER_LEN: usize = 8 + 4 + 8 + 4;
/// The largest checkpoint [`Checkpoint::load`] accepts (1 GiB); see [`Checkpoint::load_with_limit`].
pub const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

/// Why a checkpoint could not be written, read or applied. Each message starts with the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
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
        /// Its size (or the bytes read before giving up).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a checkpoint at all.
    #[error("{path}: not a neurite checkpoint (magic bytes {found:02x?})")]
    Foreign {
        /// The file.
        path: String,
        /// Its first bytes.
        found: Vec<u8>,
    },
    /// A format this version cannot read.
    #[error("{path}: format version {found}; this build reads versions 1 to {expected}")]
    Version {
        /// The file.
        path: String,
        /// The file's version.
        found: u32,
        /// The newest version read here.
        expected: u32,
    },
    /// Shorter than its header says.
    #[error("{path}: truncated: {found} bytes, the header promises {expected}")]
    Truncated {
        /// The file.
        path: String,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Longer than its header says.
    #[error("{path}: {extra} unexpected bytes after the {expected}-byte checkpoint")]
    TrailingBytes {
        /// The file.
        path: String,
        /// Bytes the header promises.
        expected: u64,
        /// Bytes beyond them.
        extra: u64,
    },
    /// The body does not match its checksum.
    #[error("{path}: checksum mismatch: stored {stored:08x}, computed {computed:08x}")]
    Checksum {
        /// The file.
        path: String,
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the body as read.
        computed: u32,
    },
    /// The body does not decode (or, when writing, does not encode).
    #[error("{path}: malformed body: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// What the decoder found.
        message: String,
    },
    /// The file describes another network than the one it is loaded into.
    #[error("{path}: architecture mismatch: file has {found}, model is {expected}")]
    Architecture {
        /// The file.
        path: String,
        /// The model's architecture, as JSON.
        expected: String,
        /// The file's architecture, as JSON.
        found: String,
    },
    /// Tensors do not match the model.
    #[error("{path}: {source}")]
    State {
        /// The file.
        path: String,
        /// The mismatch.
        #[source]
        source: StateError,
    },
    /// The architecture cannot be rebuilt (custom layers, bad settings).
    #[error("{path}: {source}")]
    Spec {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: SpecError,
    },
}

/// A model's state as data: what a checkpoint file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The model's description (a [`LayerSpec::Sequential`] for a [`Sequential`]).
    pub architecture: LayerSpec,
    /// Parameters, then buffers, by path name (`layers.0.weight`).
    pub tensors: Vec<(String, TensorRecord)>,
    /// Further tensors that belong with the model but not to it (optimizer moments), by name.
    /// Loading does not check them against the model.
    pub extra: Vec<(String, TensorRecord)>,
    /// Text entries (epoch, RNG state as JSON, the recipe), by key.
    pub metadata: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct NamedTensor {
    #[serde(deserialize_with = "growing_vec")]
    name: Vec<u8>,
    #[serde(deserialize_with = "growing_vec")]
    shape: Vec<u64>,
    #[serde(deserialize_with = "growing_vec")]
    data: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct TextEntry {
    #[serde(deserialize_with = "growing_vec")]
    key: Vec<u8>,
    #[serde(deserialize_with = "growing_vec")]
    value: Vec<u8>,
}

/// The body as stored: strings as UTF-8 byte sequences and every sequence decoded by
/// `growing_vec`, so no length prefix reserves memory by itself.
#[derive(Serialize, Deserialize)]
struct Body {
    /// JSON of the architecture.
    #[serde(deserialize_with = "growing_vec")]
    architecture: Vec<u8>,
    #[serde(deserialize_with = "growing_vec")]
    tensors: Vec<NamedTensor>,
    #[serde(deserialize_with = "growing_vec")]
    extra: Vec<NamedTensor>,
    #[serde(deserialize_with = "growing_vec")]
    metadata: Vec<TextEntry>,
}

fn to_named(list: &[(String, TensorRecord)]) -> Vec<NamedTensor> {
    list.iter()
        .map(|(name, r)| NamedTensor {
            name: name.as_bytes().to_vec(),
            shape: r.shape.iter().map(|&d| d as u64).collect(),
            data: r.data.clone(),
        })
        .collect()
}

fn from_named(list: Vec<NamedTensor>) -> Result<Vec<(String, TensorRecord)>, String> {
    list.into_iter()
        .map(|t| {
            let name = String::from_utf8(t.name).map_err(|_| "a tensor name is not UTF-8".to_string())?;
            let shape = t
                .shape
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| format!("tensor `{name}` has a dimension of {d}")))
                .collect::<Result<Vec<usize>, String>>()?;
            let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            if count != Some(t.data.len()) {
                return Err(format!("tensor `{name}` of shape {shape:?} holds {} values", t.data.len()));
            }
            Ok((name, TensorRecord { shape, data: t.data }))
        })
        .collect()
}

fn architecture_json(spec: &LayerSpec) -> String {
    serde_json::to_string(spec).unwrap_or_else(|e| format!("<unprintable architecture: {e}>"))
}

impl Checkpoint {
    /// The architecture, parameters and buffers of `model`, with no extras.
    pub fn from_module<B: Backend>(model: &dyn Module<B>) -> Self {
        Checkpoint {
            architecture: model.spec(),
            tensors: collect_state(model),
            extra: Vec::new(),
            metadata: Vec::new(),
        }
    }

    /// Adds a text entry (builder style).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The value of text entry `key`, if present.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The whole file as bytes: header, then body.
    ///
    /// # Errors
    /// [`CheckpointError::Malformed`] (with path `<memory>`) if the architecture holds a
    /// non-finite setting, which JSON cannot write.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let malformed = |message: String| CheckpointError::Malformed { path: "<memory>".to_string(), message };
        let architecture = serde_json::to_vec(&self.architecture).map_err(|e| malformed(e.to_string()))?;
        let body = Body {
            architecture,
            tensors: to_named(&self.tensors),
            extra: to_named(&self.extra),
            metadata: self
                .metadata
                .iter()
                .map(|(k, v)| TextEntry { key: k.as_bytes().to_vec(), value: v.as_bytes().to_vec() })
                .collect(),
        };
        let body = codec::encode(&body).map_err(malformed)?;
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Parses a checkpoint from its bytes; `origin` names it in errors (a path, or `<embedded>`).
    ///
    /// # Errors
    /// [`CheckpointError`]: foreign, wrong version, truncated, trailing bytes, bad checksum or
    /// malformed body.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, CheckpointError> {
        let path = || origin.to_string();
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(CheckpointError::Foreign { path: path(), found: bytes[..bytes.len().min(8)].to_vec() });
        }
        if bytes.len() < HEADER_LEN {
            return Err(CheckpointError::Truncated {
                path: path(),
                expected: HEADER_LEN as u64,
                found: bytes.len() as u64,
            });
        }
        // The header's length was checked above, so these reads stay inside it.
        let u32_at = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let version = u32_at(8);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(CheckpointError::Version { path: path(), found: version, expected: FORMAT_VERSION });
        }
        let mut length = [0u8; 8];
        length.copy_from_slice(&bytes[12..20]);
        let body_len = u64::from_le_bytes(length);
        let stored = u32_at(20);
        let expected = (HEADER_LEN as u64).saturating_add(body_len);
        let found = bytes.len() as u64;
        if found < expected {
            return Err(CheckpointError::Truncated { path: path(), expected, found });
        }
        if found > expected {
            return Err(CheckpointError::TrailingBytes { path: path(), expected, extra: found - expected });
        }
        let body = &bytes[HEADER_LEN..];
        let computed = crc32fast::hash(body);
        if computed != stored {
            return Err(CheckpointError::Checksum { path: path(), stored, computed });
        }
        let malformed = |message: String| CheckpointError::Malformed { path: path(), message };
        let body: Body = codec::decode(body).map_err(malformed)?;
        let architecture: LayerSpec = serde_json::from_slice(&body.architecture)
            .map_err(|e| malformed(format!("architecture description: {e}")))?;
        let metadata = body
            .metadata
            .into_iter()
            .map(|e| match (String::from_utf8(e.key), String::from_utf8(e.value)) {
                (Ok(k), Ok(v)) => Ok((k, v)),
                _ => Err(malformed("a metadata entry is not UTF-8".to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checkpoint {
            architecture,
            tensors: from_named(body.tensors).map_err(malformed)?,
            extra: from_named(body.extra).map_err(malformed)?,
            metadata,
        })
    }

    /// Writes the checkpoint to `path` atomically ([`neurite_core::fs::write_atomic`]).
    ///
    /// # Errors
    /// [`CheckpointError::Io`] if the file system refuses; a previous file at `path` is then
    /// left as it was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let bytes = self.to_bytes()?;
        neurite_core::fs::write_atomic(path, &bytes)
            .map_err(|source| CheckpointError::Io { path: path.display().to_string(), source })
    }

    /// Reads a checkpoint of at most [`MAX_CHECKPOINT_BYTES`].
    ///
    /// # Errors
    /// As [`Checkpoint::from_bytes`], plus [`CheckpointError::Io`] and [`CheckpointError::TooLarge`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        Self::load_with_limit(path, MAX_CHECKPOINT_BYTES)
    }

    /// Reads a checkpoint of at most `limit` bytes (checked before reading, and while reading).
    ///
    /// # Errors
    /// As [`Checkpoint::load`].
    pub fn load_with_limit(path: impl AsRef<Path>, limit: u64) -> Result<Self, CheckpointError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let bytes = read_bounded(path, limit).map_err(|e| match e {
            ReadError::Io(source) => CheckpointError::Io { path: shown.clone(), source },
            ReadError::TooLarge { size, .. } => CheckpointError::TooLarge { path: shown.clone(), size, limit },
        })?;
        Self::from_bytes(&bytes, &shown)
    }

    /// Writes this checkpoint's tensors into `model`, which must have the same architecture.
    /// `origin` names the checkpoint in errors. Nothing is written unless everything matches.
    ///
    /// # Errors
    /// [`CheckpointError::Architecture`] for another network, [`CheckpointError::State`] for a
    /// missing, unexpected or misshapen tensor.
    pub fn restore<B: Backend>(&self, model: &mut dyn Module<B>, origin: &str) -> Result<(), CheckpointError> {
        let expected = model.spec();
        if expected != self.architecture {
            return Err(CheckpointError::Architecture {
                path: origin.to_string(),
                expected: architecture_json(&expected),
                found: architecture_json(&self.architecture),
            });
        }
        restore_state(model, &self.tensors)
            .map_err(|source| CheckpointError::State { path: origin.to_string(), source })
    }

    /// The number of f32 values in [`Checkpoint::tensors`].
    fn values(&self) -> usize {
        self.tensors.iter().map(|(_, r)| r.data.len()).sum()
    }

    /// Rebuilds the network this checkpoint describes (built-in layers only) and loads its
    /// tensors. The result is in training mode; call `set_training(false)` to evaluate.
    ///
    /// # Errors
    /// [`CheckpointError::Spec`] for a custom layer, bad settings, or an architecture with more
    /// parameter values than the checkpoint's tensors (checked before anything is allocated),
    /// and as [`Checkpoint::restore`].
    pub fn build<B: Backend>(&self, origin: &str) -> Result<Box<dyn Module<B>>, CheckpointError> {
        let spec_error = |source| CheckpointError::Spec { path: origin.to_string(), source };
        check_state_fits(std::slice::from_ref(&self.architecture), self.values()).map_err(spec_error)?;
        let mut model: Box<dyn Module<B>> = match &self.architecture {
            LayerSpec::Sequential { layers } => Box::new(build_sequential::<B>(layers, 0).map_err(spec_error)?),
            other => build_layer::<B>(0, other, &mut neurite_core::Rng::seed(0)).map_err(spec_error)?,
        };
        self.restore(model.as_mut(), origin)?;
        Ok(model)
    }

    /// Like [`Checkpoint::build`] for a checkpoint of a [`Sequential`].
    ///
    /// # Errors
    /// As [`Checkpoint::build`], and [`CheckpointError::Spec`] if the root is not a `Sequential`.
    pub fn build_sequential<B: Backend>(&self, origin: &str) -> Result<Sequential<B>, CheckpointError> {
        let LayerSpec::Sequential { layers } = &self.architecture else {
            return Err(CheckpointError::Spec {
                path: origin.to_string(),
                source: SpecError::InvalidSettings {
                    index: 0,
                    layer: self.architecture.to_string(),
                    reason: "the checkpoint's root is not a Sequential".to_string(),
                },
            });
        };
        let spec_error = |source| CheckpointError::Spec { path: origin.to_string(), source };
        check_state_fits(layers, self.values()).map_err(spec_error)?;
        let mut model = build_sequential::<B>(layers, 0).map_err(spec_error)?;
        self.restore(&mut model, origin)?;
        Ok(model)
    }
}

/// Saves `model` (architecture, parameters, buffers) to `path` atomically.
///
/// # Errors
/// As [`Checkpoint::save`].
pub fn save_model<B: Backend>(model: &dyn Module<B>, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
    Checkpoint::from_module(model).save(path)
}

/// Loads the checkpoint at `path` into `model`, which must have the same architecture.
///
/// # Errors
/// As [`Checkpoint::load`] and [`Checkpoint::restore`].
pub fn load_model<B: Backend>(
    model: &mut dyn Module<B>,
    path: impl AsRef<Path>,
) -> Result<Checkpoint, CheckpointError> {
    let path = path.as_ref();
    let checkpoint = Checkpoint::load(path)?;
    checkpoint.restore(model, &path.display().to_string())?;
    Ok(checkpoint)
}
