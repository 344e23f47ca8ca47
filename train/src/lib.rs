//! Neurite's training loop as a library, generic over `B: Backend` and any `Module<B>`:
//!
//! - [`TrainConfig`]: the one description of a run (data, model, optimizer and schedule, loss,
//!   penalties, augmentation, batches, epochs, seed, validation, stopping, output folder), read
//!   from and written to TOML recipes, checked before anything is built; [`TrainConfig::init`]
//!   gives a [`Run`] whose [`Run::fit`] is what `neurite train` runs;
//! - [`train_step`]: one optimizer step (forward, loss and penalties, backward, the non-finite
//!   guard, clipping, update), the function every caller trains with;
//! - [`Learner`]: a builder over a model, an optimizer (any [`neurite_optim::Optimizer`], one
//!   from another crate included) and the run's settings, whose [`Learner::fit`] trains epoch by
//!   epoch on any [`DataSource`] with seeded shuffling and augmentation, validates, writes atomic
//!   per-epoch checkpoints, metrics and curves, resumes bit-exactly, and reports every event to
//!   [`Callback`]s, which may stop it or change its learning rate ([`Progress`], [`CsvLogger`],
//!   [`EarlyStopping`], [`KeepBest`] and [`LrOnPlateau`] are built in);
//! - [`Loss`] (cross-entropy, the course's MSE, BCE, L1, Huber, or a user's own) and
//!   [`Metric`] (accuracy, top-k, mean absolute error, per-class precision/recall/F1);
//! - [`evaluate`] and [`evaluate_with`]: the loss, accuracy, confusion matrix and metrics of a
//!   data source;
//! - [`TrainedModel`]: a checkpoint read back with its input size, classes and preprocessing,
//!   and [`TrainedModel::predict`];
//! - [`plot`]: the PNG charts of curves and experiments.
//!
//! ```
//! use neurite_core::reference::ReferenceBackend as R;
//! use neurite_nn::{data::Dataset, models::MlpConfig};
//! use neurite_optim::{Sgd, SgdConfig};
//! use neurite_train::{BatchSize, CrossEntropy, Learner, evaluate};
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
//! let report = evaluate(&mut model, &data, Default::default(), &CrossEntropy)?;
//! assert_eq!(report.accuracy, Some(1.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callback;
mod callbacks;
mod config;
pub mod distributed;
mod error;
mod evaluate;
pub mod graph;
pub mod histograms;
mod learner;
mod loss;
mod metric;
pub mod metrics;
mod output;
pub mod plot;
mod prefetch;
mod source;
mod state;
mod step;
mod trained;

pub use callback::{BatchProgress, Callback, Control, FitStart, OnEpochEnd, Saved, on_epoch_end};
pub use callbacks::{CsvLogger, EarlyStopping, KeepBest, LrOnPlateau, Monitor, Progress, table_header, table_row};
pub use config::{
    ConfigError, HISTOGRAMS_CSV, HISTOGRAMS_FILE, MAX_RECIPE_BYTES, MAX_SHARDS, MAX_THREADS, RECIPE_FILE, RECIPE_KEY,
    RUN_FILES, Resumed, Run, RunReport, TrainConfig, set_threads,
};
pub use error::{Diverged, TrainError};
pub use evaluate::{EVAL_BATCH, Evaluation, confusion_table, evaluate, evaluate_with};
pub use learner::{
    BEST_FILE, BatchSize, CHECKPOINT_FILE, CURVES_FILE, EpochHook, FitReport, Learner, METRICS_FILE, TIMING_FILE,
    TRAFFIC_FILE, batch_seed, epoch_seed,
};
pub use loss::{
    Bce, BceWithLogits, CrossEntropy, Huber, L1, LOSS_FORMS, Loss, LossKind, Mse, SmoothedCrossEntropy, TargetForm,
};
pub use metric::{
    Accuracy, ClassReport, METRIC_FORMS, MeanAbsoluteError, Metric, MetricBatch, MetricKind, MetricList, TopK,
    precision_recall_f1,
};
pub use metrics::EpochMetrics;
pub use output::{LOCK_FILE, OutputDir, same_file};
pub use prefetch::{PreparedBatch, prepare_batches};
pub use source::{DataSource, Inputs, Samples, SourceError, TargetKind, Targets, TensorData};
pub use state::{DROPOUT_KEY, EPOCH_KEY, LR_SCALE_KEY, METRICS_KEY, OPTIMIZER_KEY, STEP_KEY, TrainState};
pub use step::{NonFinite, StepOutput, StepSettings, train_step};
pub use trained::{BACKGROUND_KEY, CLASSES_KEY, Ensemble, INPUT_KEY, PREPROCESSING_KEY, RESIZE_KEY, TrainedModel};
