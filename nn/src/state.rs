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
