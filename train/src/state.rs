//! What a training checkpoint holds beyond the network, so that a resumed run continues
//! exactly: epochs and steps done, the metrics so far, the optimizer's state and the dropout
//! generators. Shuffling and augmentation need nothing saved: their generators are derived from
//! (seed, epoch) at the start of every epoch.
//!
//! Layout inside a `neurite_nn::Checkpoint`: text entries [`EPOCH_KEY`], [`STEP_KEY`],
//! [`METRICS_KEY`] (the `metrics.csv` text), [`OPTIMIZER_KEY`] (JSON: name, learning rate, step
//! counts and buffer names per parameter), [`DROPOUT_KEY`] (JSON list of generator states) and,
//! once a callback has changed the learning rate, [`LR_SCALE_KEY`];
//! each optimizer buffer is an extra tensor named `optimizer/{parameter}/{buffer}`.

use std::collections::BTreeMap;

use neurite_core::{RngState, TensorRecord};
use neurite_nn::Checkpoint;
use neurite_optim::{OptimizerState, ParamState};
use serde::{Deserialize, Serialize};

use crate::metrics::{self, EpochMetrics};

/// Metadata key: epochs completed.
pub const EPOCH_KEY: &str = "epoch";
/// Metadata key: optimizer steps taken.
pub const STEP_KEY: &str = "step";
/// Metadata key: the metrics so far, as `metrics.csv` text.
pub const METRICS_KEY: &str = "metrics";
/// Metadata key: the optimizer's state without its buffers, as JSON.
pub const OPTIMIZER_KEY: &str = "optimizer";
/// Metadata key: the dropout layers' generator states, as JSON.
pub const DROPOUT_KEY: &str = "dropout-rng";
/// Metadata key: the factor callbacks set on the learning rate, when it is not 1.
pub const LR_SCALE_KEY: &str = "lr-scale";

/// The resumable state of a training run, besides the network's own tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// One row per completed epoch.
    pub history: Vec<EpochMetrics>,
    /// The optimizer's state.
    pub optimizer: OptimizerState,
    /// The generator state of each dropout layer, in network order.
    pub dropout: Vec<RngState>,
    /// The factor callbacks have set on the schedule's learning rate (1 when none has).
    pub lr_scale: f32,
}

#[derive(Serialize, Deserialize)]
struct OptimizerHeader {
    optimizer: String,
    lr: f32,
    steps: u64,
    params: BTreeMap<String, ParamHeader>,
}

#[derive(Serialize, Deserialize)]
struct ParamHeader {
    step: u64,
    buffers: Vec<String>,
}

fn buffer_name(param: &str, buffer: &str) -> String {
    format!("optimizer/{param}/{buffer}")
}

impl TrainState {
    /// Adds this state to a checkpoint of the network.
    pub fn write_into(&self, checkpoint: &mut Checkpoint) {
        let o = &self.optimizer;
        let header = OptimizerHeader {
            optimizer: o.optimizer.clone(),
            lr: o.lr,
            steps: o.steps,
            params: o
                .params
                .iter()
                .map(|(path, p)| {
                    (path.clone(), ParamHeader { step: p.step, buffers: p.buffers.keys().cloned().collect() })
                })
                .collect(),
        };
        for (path, p) in &o.params {
            for (buffer, values) in &p.buffers {
                let record = TensorRecord { shape: vec![values.len()], data: values.clone() };
                checkpoint.extra.push((buffer_name(path, buffer), record));
            }
        }
        checkpoint.metadata.extend([
            (EPOCH_KEY.to_string(), self.epoch.to_string()),
            (STEP_KEY.to_string(), self.step.to_string()),
            (METRICS_KEY.to_string(), metrics::to_csv(&self.history)),
            (OPTIMIZER_KEY.to_string(), json(&header)),
            (DROPOUT_KEY.to_string(), json(&self.dropout)),
        ]);
        if self.lr_scale != 1.0 {
            checkpoint.metadata.push((LR_SCALE_KEY.to_string(), json(&self.lr_scale)));
        }
    }

    /// Reads the state back from a checkpoint; `origin` names it in errors.
    ///
    /// # Errors
    /// A message naming the checkpoint if an entry is missing or malformed (a checkpoint of a
    /// model alone, not of a training run).
    pub fn read_from(checkpoint: &Checkpoint, origin: &str) -> Result<TrainState, String> {
        let entry = |key: &str| {
            checkpoint
                .metadata(key)
                .ok_or_else(|| format!("{origin}: not a checkpoint of a training run (metadata `{key}` is missing)"))
        };
        let malformed = |key: &str, why: String| format!("{origin}: metadata `{key}`: {why}");
        let epoch = entry(EPOCH_KEY)?.parse::<usize>().map_err(|e| malformed(EPOCH_KEY, e.to_string()))?;
        let step = entry(STEP_KEY)?.parse::<u64>().map_err(|e| malformed(STEP_KEY, e.to_string()))?;
        let history = metrics::parse_csv(entry(METRICS_KEY)?).map_err(|e| malformed(METRICS_KEY, e))?;
        if history.len() != epoch || history.iter().enumerate().any(|(i, row)| row.epoch != i + 1) {
            return Err(malformed(METRICS_KEY, format!("rows are not epochs 1 to {epoch}")));
        }
        let header: OptimizerHeader =
            serde_json::from_str(entry(OPTIMIZER_KEY)?).map_err(|e| malformed(OPTIMIZER_KEY, e.to_string()))?;
        let dropout: Vec<RngState> =
            serde_json::from_str(entry(DROPOUT_KEY)?).map_err(|e| malformed(DROPOUT_KEY, e.to_string()))?;
        let lr_scale = match checkpoint.metadata(LR_SCALE_KEY) {
            None => 1.0,
            Some(text) => serde_json::from_str::<f32>(text)
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| malformed(LR_SCALE_KEY, "not a positive number".into()))?,
        };
        let mut params = BTreeMap::new();
        for (path, p) in header.params {
            let mut buffers = BTreeMap::new();
            for buffer in p.buffers {
                let name = buffer_name(&path, &buffer);
                let record = checkpoint
                    .extra
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, r)| r)
                    .ok_or_else(|| format!("{origin}: optimizer buffer `{name}` is missing"))?;
                buffers.insert(buffer, record.data.clone());
            }
            params.insert(path, ParamState { step: p.step, buffers });
        }
        let optimizer = OptimizerState { optimizer: header.optimizer, lr: header.lr, steps: header.steps, params };
        Ok(TrainState { epoch, step, history, optimizer, dropout, lr_scale })
    }
}

/// Plain data as JSON (for checkpoint metadata).
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_core::{Rng, Stream};

    #[test]
    fn the_state_round_trips_through_a_checkpoint() {
        let mut params = BTreeMap::new();
        let buffers = BTreeMap::from([("m".to_string(), vec![0.5, -1.0]), ("v".to_string(), vec![0.25, 1e-9])]);
        params.insert("layers.1.weight".to_string(), ParamState { step: 7, buffers });
        let state = TrainState {
            epoch: 1,
            step: 7,
            history: vec![EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_acc: Some(0.75),
                val_loss: None,
                val_acc: None,
                seconds: None,
            }],
            optimizer: OptimizerState { optimizer: "adam".into(), lr: 1e-3, steps: 7, params },
            dropout: vec![Rng::stream(3, Stream::Dropout).state()],
            lr_scale: 0.5,
        };
        let mut checkpoint = Checkpoint {
            architecture: neurite_nn::LayerSpec::Sequential { layers: vec![] },
            tensors: vec![],
            extra: vec![],
            metadata: vec![],
        };
        state.write_into(&mut checkpoint);
        let bytes = checkpoint.to_bytes().expect("encodes");
        let back = Checkpoint::from_bytes(&bytes, "mem").expect("decodes");
        assert_eq!(TrainState::read_from(&back, "mem").expect("reads"), state);
    }

    #[test]
    fn metrics_rows_must_be_the_epochs_in_order() {
        let mut checkpoint = Checkpoint {
            architecture: neurite_nn::LayerSpec::Sequential { layers: vec![] },
            tensors: vec![],
            extra: vec![],
            metadata: vec![],
        };
        let row = |epoch| EpochMetrics {
            epoch,
            train_loss: 1.0,
            train_acc: Some(0.5),
            val_loss: None,
            val_acc: None,
            seconds: None,
        };
        let state = TrainState {
            epoch: 2,
            step: 4,
            history: vec![row(1), row(3)],
            optimizer: OptimizerState::new("sgd", 0.1),
            dropout: vec![],
            lr_scale: 1.0,
        };
        state.write_into(&mut checkpoint);
        let err = TrainState::read_from(&checkpoint, "m.ckpt").unwrap_err();
        assert_eq!(err, "m.ckpt: metadata `metrics`: rows are not epochs 1 to 2");
    }

    #[test]
    fn a_plain_model_checkpoint_is_not_resumable() {
        let checkpoint = Checkpoint {
            architecture: neurite_nn::LayerSpec::Sequential { layers: vec![] },
            tensors: vec![],
            extra: vec![],
            metadata: vec![],
        };
        let err = TrainState::read_from(&checkpoint, "m.ckpt").unwrap_err();
        assert_eq!(err, "m.ckpt: not a checkpoint of a training run (metadata `epoch` is missing)");
    }
}
