//! Tensor records: a tensor's shape and values as plain data (serde), the unit that checkpoints and
//! exports are made of. Encoding to bytes belongs to the crates that write files (`neurite-nn`).

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::tensor::Tensor;

/// A tensor as plain data: its dimensions and its row-major values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorRecord {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

/// A record that cannot become a tensor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// The number of values does not match the shape.
    #[error("record of shape {shape:?} holds {found} values, expected {expected}")]
    LengthMismatch {
        /// The record's dimensions.
        shape: Vec<usize>,
        /// Values the shape needs.
        expected: usize,
        /// Values present.
        found: usize,
    },
    /// The shape's element count overflows.
    #[error("record of shape {shape:?} is too large")]
    TooLarge {
        /// The record's dimensions.
        shape: Vec<usize>,
    },
}

impl<B: Backend> Tensor<B> {
    /// This tensor's shape and values as a record.
    pub fn to_record(&self) -> TensorRecord {
        TensorRecord { shape: self.dims().to_vec(), data: self.to_vec() }
    }

    /// A tensor from a record.
    ///
    /// # Errors
    /// [`RecordError`] if the values do not fill the shape exactly.
    pub fn from_record(record: TensorRecord) -> Result<Tensor<B>, RecordError> {
        let expected = record
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| RecordError::TooLarge { shape: record.shape.clone() })?;
        if expected != record.data.len() {
            return Err(RecordError::LengthMismatch { shape: record.shape, expected, found: record.data.len() });
        }
        Ok(Tensor::from_vec(record.data, record.shape))
    }
}
