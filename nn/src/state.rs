//! A model's state as named tensor records: collecting it (parameters, then buffers) and
//! restoring it into a model of the same structure, checking every name and shape. Shared by
//! checkpoints and safetensors imports, which add the file's path to the errors.

use neurite_core::{Backend, TensorRecord};

use crate::module::Module;

/// A mismatch between stored tensors and a model.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The model has a tensor the file lacks.
    #[error("tensor `{name}` is missing")]
    Missing {
        /// The tensor's path name.
        name: String,
    },
    /// The file has a tensor the model lacks.
    #[error("tensor `{name}` is not part of the model")]
    Unexpected {
        /// The tensor's path name.
        name: String,
    },
    /// The same name, another shape.
    #[error("tensor `{name}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The tensor's path name.
        name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// A stored tensor's values do not fill its shape.
    #[error("tensor `{name}` holds {found} values for shape {shape:?}")]
    Length {
        /// The tensor's path name.
        name: String,
        /// The stored shape.
        shape: Vec<usize>,
        /// Values present.
        found: usize,
    },
    /// A name appears twice.
    #[error("tensor `{name}` appears twice")]
    Duplicate {
        /// The tensor's path name.
        name: String,
    },
}

/// Every way a set of named tensors differs from what a model holds, as PyTorch's strict
/// `load_state_dict` reports it: missing names, unexpected names and shapes that differ.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{}", self.describe())]
pub struct StateMismatch {
    /// Names the model has and the tensors lack.
    pub missing: Vec<String>,
    /// Names the tensors have and the model lacks.
    pub unexpected: Vec<String>,
    /// Names in both with other shapes: (name, the tensors' shape, the model's shape).
    pub shapes: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl StateMismatch {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("missing: {}", self.missing.join(", ")));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!("unexpected: {}", self.unexpected.join(", ")));
        }
        for (name, found, expected) in &self.shapes {
            parts.push(format!("`{name}` has shape {found:?}, the model expects {expected:?}"));
        }
        parts.join("; ")
    }
}

/// Compares named tensors with what `model` holds (parameters and buffers), listing every
/// difference at once.
///
/// # Errors
/// [`StateMismatch`] unless the names and shapes match exactly.
pub fn compare_state<B: Backend>(
    model: &dyn Module<B>,
    records: &[(String, TensorRecord)],
) -> Result<(), StateMismatch> {
    let mut wanted: Vec<(String, Vec<usize>)> =
        model.params().into_iter().map(|(n, t)| (n, t.dims().to_vec())).collect();
    wanted.extend(model.buffers().into_iter().map(|(n, t)| (n, t.dims().to_vec())));
    let mut mismatch = StateMismatch::default();
    for (name, dims) in &wanted {
        match records.iter().find(|(n, _)| n == name) {
            None => mismatch.missing.push(name.clone()),
            Some((_, r)) if &r.shape != dims => mismatch.shapes.push((name.clone(), r.shape.clone(), dims.clone())),
            Some(_) => {}
        }
    }
    mismatch.unexpected =
        records.iter().filter(|(n, _)| !wanted.iter().any(|(w, _)| w == n)).map(|(n, _)| n.clone()).collect();
    if mismatch == StateMismatch::default() { Ok(()) } else { Err(mismatch) }
}

/// The parameters, then the buffers, of `model`, by path name.
pub fn collect_state<B: Backend>(model: &dyn Module<B>) -> Vec<(String, TensorRecord)> {
    let mut out: Vec<(String, TensorRecord)> = model.params().into_iter().map(|(n, t)| (n, t.to_record())).collect();
    out.extend(model.buffers().into_iter().map(|(n, t)| (n, t.to_record())));
    out
}

/// Overwrites every parameter and buffer of `model` with the record of the same name, in place
/// (identities and `requires_grad` stay, so an optimizer's state keyed by them stays valid).
/// Nothing is written unless every name and shape matches.
///
/// # Errors
/// [`StateError`] for a missing, unexpected, duplicated or misshapen tensor.
pub fn restore_state<B: Backend>(
    model: &mut dyn Module<B>,
    records: &[(String, TensorRecord)],
) -> Result<(), StateError> {
    let mut by_name = std::collections::HashMap::new();
    for (name, record) in records {
        let expected: Option<usize> = record.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if expected != Some(record.data.len()) {
            return Err(StateError::Length {
                name: name.clone(),
                shape: record.shape.clone(),
                found: record.data.len(),
            });
        }
        if by_name.insert(name.as_str(), record).is_some() {
            return Err(StateError::Duplicate { name: name.clone() });
        }
    }
    // Check everything first, so that a failed restore leaves the model untouched.
    let mut wanted: Vec<(String, Vec<usize>)> =
        model.params().into_iter().map(|(n, t)| (n, t.dims().to_vec())).collect();
    wanted.extend(model.buffers().into_iter().map(|(n, t)| (n, t.dims().to_vec())));
    for (name, dims) in &wanted {
        let record = by_name.get(name.as_str()).ok_or_else(|| StateError::Missing { name: name.clone() })?;
        if &record.shape != dims {
            return Err(StateError::Shape { name: name.clone(), expected: dims.clone(), found: record.shape.clone() });
        }
    }
    if let Some((name, _)) = records.iter().find(|(n, _)| !wanted.iter().any(|(w, _)| w == n)) {
        return Err(StateError::Unexpected { name: name.clone() });
    }
    for (name, tensor) in model.params_mut() {
        let record = by_name[name.as_str()];
        tensor.update_data(|values| values.copy_from_slice(&record.data));
    }
    for (name, tensor) in model.buffers_mut() {
        let record = by_name[name.as_str()];
        tensor.update_data(|values| values.copy_from_slice(&record.data));
    }
    Ok(())
}
