//! What can stop a training run or a trained model from loading: [`TrainError`]. Settings and
//! files that cannot work are [`TrainError::Invalid`] or [`TrainError::Checkpoint`] (the caller's
//! to fix); a run that diverged or could not write its outputs is the others.

use std::fmt;
use std::path::PathBuf;

use neurite_nn::CheckpointError;

/// Why training or loading a trained model failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Settings, data or a checkpoint that cannot work; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// A checkpoint that cannot be read or does not fit the model.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A step's loss or gradient was not finite; the run stopped at once.
    #[error("{0}")]
    Diverged(Box<Diverged>),
    /// A data source could not give its samples, or gave samples that do not fit the model.
    #[error("{0}")]
    Data(String),
    /// An output file could not be written (the previous one, if any, is intact).
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
}

/// Where and how a run diverged.
#[derive(Clone, Debug, PartialEq)]
pub struct Diverged {
    /// The step, counted over the whole run (1-based).
    pub step: u64,
    /// The epoch (1-based).
    pub epoch: usize,
    /// The batch within the epoch (1-based).
    pub batch: usize,
    /// The loss of that step.
    pub loss: f32,
    /// The first parameter whose gradient was not finite.
    pub parameter: Option<String>,
    /// The checkpoint left as it was, and the epoch it holds.
    pub kept: Option<(PathBuf, usize)>,
}

impl fmt::Display for Diverged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loss = self.loss;
        let what = match (&self.parameter, loss.is_finite()) {
            (Some(name), true) => format!("the gradient of `{name}` is not finite (loss {loss})"),
            (Some(name), false) => format!("the loss is {loss} and the first non-finite gradient is `{name}`'s"),
            (None, _) => format!("the loss is {loss} (all gradients finite)"),
        };
        let kept = match &self.kept {
            Some((path, epoch)) => format!("{} keeps epoch {epoch}", path.display()),
            None => "no checkpoint was written".to_string(),
        };
        write!(
            f,
            "training diverged at step {} (epoch {}, batch {}): {what}; stopped, {kept}",
            self.step, self.epoch, self.batch
        )
    }
}
