//! Neurite's training loop as a library, generic over `B: Backend` and any `Module<B>`:
//!
//! - [`train_step`]: one optimizer step (forward, loss and penalties, backward, the non-finite
//!   guard, clipping, update), the function every caller trains with;
//! - [`evaluate`]: loss, accuracy, per-class accuracy and the confusion matrix of a data set;
//! - [`Learner`]: a builder over a model, an optimizer (any [`neurite_optim::Optimizer`], one
//!   from another crate included) and the run's settings, whose [`Learner::fit`] trains epoch by
//!   epoch with seeded shuffling and augmentation, validates, writes atomic per-epoch checkpoints,
//!   metrics and curves, stops early, keeps the best checkpoint, resumes bit-exactly, and reports
//!   every event to a [`Callback`];
//! - [`TrainedModel`]: a checkpoint read back with its input size, classes and preprocessing;
//! - [`plot`]: the PNG charts of curves and experiments.
//!
//! Data sets are `neurite_nn::data::Dataset`s (the `neurite-data` crate reads them from files).
//!
//! ```
//! use neurite_core::reference::ReferenceBackend as R;
//! use neurite_nn::{data::Dataset, models::MlpConfig};
//! use neurite_optim::{Sgd, SgdConfig};
//! use neurite_train::{BatchSize, Learner, evaluate};
//!
//! // Dark or bright 2×2 images.
//! let pixels: Vec<u8> = (0..40).flat_map(|i| [if i % 2 == 0 { 20 } else { 230 }; 4]).collect();
//! let labels: Vec<u8> = (0..40).map(|i| (i % 2) as u8).collect();
//! let data = Dataset::new(pixels, labels, 2, 2, 2)?;
//!
//! let model = MlpConfig::new(4, &[4], 2).init::<R>(3);
//! let sgd = Sgd::new(SgdConfig { lr: 0.5, ..Default::default() })?;
//! let mut learner = Learner::new(model, sgd).epochs(15).batch_size(BatchSize::Samples(10));
//! learner.fit(&data, None, &mut ())?;
//! let mut model = learner.into_model();
//! let report = evaluate(&mut model, &data, Default::default(), Default::default());
//! assert_eq!(report.accuracy, 1.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callback;
pub mod distributed;
mod error;
mod evaluate;
pub mod graph;
pub mod histograms;
mod learner;
pub mod metrics;
mod output;
pub mod plot;
mod state;
mod step;
mod trained;

pub use callback::{BatchProgress, Callback, OnEpochEnd, Saved, on_epoch_end};
pub use error::{Diverged, TrainError};
pub use evaluate::{EVAL_BATCH, Evaluation, confusion_table, evaluate};
pub use learner::{
    BEST_FILE, BatchSize, CHECKPOINT_FILE, CURVES_FILE, EarlyStopping, EpochHook, FitReport, Learner, METRICS_FILE,
    Monitor, TIMING_FILE, TRAFFIC_FILE, epoch_seed,
};
pub use metrics::EpochMetrics;
pub use output::{LOCK_FILE, OutputDir, same_file};
pub use state::{DROPOUT_KEY, EPOCH_KEY, METRICS_KEY, OPTIMIZER_KEY, STEP_KEY, TrainState};
pub use step::{Loss, NonFinite, StepOutput, StepSettings, train_step};
pub use trained::{CLASSES_KEY, Ensemble, INPUT_KEY, PREPROCESSING_KEY, TrainedModel};
