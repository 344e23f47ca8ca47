//! [`Learner`]: the training loop as a library. A builder gathers the model, the optimizer and
//! every setting; [`Learner::fit`] trains epoch by epoch, validates, writes an output folder
//! (checkpoint, metrics, curves) atomically after every epoch, stops early if asked, and reports
//! each event to a [`Callback`]. A checkpoint it wrote continues bit-exactly through
//! [`Learner::resume`]: shuffling and augmentation are derived from (seed, epoch), and the
//! checkpoint holds the weights, the optimizer's state, the dropout generators and the metrics.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use neurite_augment::{Pipeline, TransformExt};
use neurite_core::{Backend, Rng, Stream};
use neurite_nn::data::{BatchLoader, Dataset, Layout, Preprocessing};
use neurite_nn::regularization::Penalty;
use neurite_nn::{Checkpoint, Module};
use neurite_optim::{GradClip, Optimizer, Schedule};
use serde::{Deserialize, Serialize};

use crate::callback::{BatchProgress, Callback, Saved};
use crate::distributed::{self, DataParallel};
use crate::error::{Diverged, TrainError};
use crate::evaluate::evaluate;
use crate::metrics::{self, EpochMetrics};
use crate::state::{TrainState, json};
use crate::step::{Loss, StepSettings, train_step};
use crate::trained::{CLASSES_KEY, INPUT_KEY, PREPROCESSING_KEY};

/// The checkpoint of the last completed epoch, in the output folder.
pub const CHECKPOINT_FILE: &str = "model.ckpt";
/// The checkpoint of the epoch with the best watched metric (with [`Learner::keep_best`]).
pub const BEST_FILE: &str = "best.ckpt";
/// One row per epoch: losses and accuracies, the same bytes for the same seed.
pub const METRICS_FILE: &str = "metrics.csv";
/// The wall time of each epoch (kept out of `metrics.csv` and the checkpoint).
pub const TIMING_FILE: &str = "timing.csv";
/// Loss and accuracy per epoch, as a PNG.
pub const CURVES_FILE: &str = "curves.png";
/// With [`Learner::data_parallel`]: rank 0's wall time and time in communication per epoch, and
/// the bytes it sent per step (the epochs of this process; kept out of the checkpoint).
pub const TRAFFIC_FILE: &str = "traffic.csv";

/// Mini-batch size, or the whole training set at once (full-batch gradient descent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchSize {
    /// This many samples per step (the last batch of an epoch may be smaller).
    Samples(usize),
    /// All training samples in one step.
    Full,
}

impl Serialize for BatchSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSize::Samples(n) => s.serialize_u64(*n as u64),
            BatchSize::Full => s.serialize_str("full"),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(BatchSize::Samples(n as usize)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl std::str::FromStr for BatchSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "full" {
            return Ok(BatchSize::Full);
        }
        s.parse::<usize>()
            .map(BatchSize::Samples)
            .map_err(|_| format!("batch size `{s}` is neither a number nor `full`"))
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchSize::Samples(n) => write!(f, "{n}"),
            BatchSize::Full => write!(f, "full"),
        }
    }
}

/// A validation metric to watch, for early stopping and for keeping the best checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// Validation accuracy: higher is better.
    ValAccuracy,
    /// Validation loss: lower is better.
    ValLoss,
}

impl Monitor {
    fn value(self, m: &EpochMetrics) -> Option<f64> {
        match self {
            Monitor::ValAccuracy => m.val_acc,
            Monitor::ValLoss => m.val_loss,
        }
    }

    /// Whether `value` improves on `best` by more than `min_delta`.
    fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Monitor::ValAccuracy => value > best + min_delta,
            Monitor::ValLoss => value < best - min_delta,
        }
    }

    /// The first epoch of `history` with the best value (improvements of at most `min_delta`
    /// do not count), and that value.
    fn best(self, history: &[EpochMetrics], min_delta: f64) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for m in history {
            let Some(v) = self.value(m) else { continue };
            if best.is_none_or(|(_, b)| self.improves(v, b, min_delta)) {
                best = Some((m.epoch, v));
            }
        }
        best
    }
}

/// Stop when the watched metric has not improved for `patience` epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The metric.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping (at least 1).
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
}

impl EarlyStopping {
    /// Stops after `patience` epochs without any improvement of `monitor`.
    pub fn new(monitor: Monitor, patience: usize) -> Self {
        EarlyStopping { monitor, patience, min_delta: 0.0 }
    }
}

/// How [`Learner::fit`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Epochs completed in all, those of a resumed checkpoint included.
    pub epochs: usize,
    /// Whether early stopping ended the run before its last epoch.
    pub stopped_early: bool,
    /// The epoch with the best watched metric: the one in `best.ckpt` with `keep_best`, else the
    /// one early stopping measured its patience from.
    pub best_epoch: Option<usize>,
}

/// The seed of epoch `epoch`'s shuffling (stream `DataOrder`) and augmentation (stream
/// `Augment`) generators: a function of the run's seed and the epoch alone, so that a resumed run
/// draws what a straight one would.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Trains a classifier: a model `M` on backend `B`, an optimizer, and the run's settings.
///
/// ```
/// use neurite_core::reference::ReferenceBackend as R;
/// use neurite_nn::{data::Dataset, models::MlpConfig};
/// use neurite_optim::{Adam, AdamConfig};
/// use neurite_train::Learner;
///
/// // Two classes of 2×2 images: bright on the left, or on the right.
/// let left = [255, 0, 255, 0];
/// let right = [0, 255, 0, 255];
/// let pixels: Vec<u8> = (0..32).flat_map(|i| if i % 2 == 0 { left } else { right }).collect();
/// let labels: Vec<u8> = (0..32).map(|i| (i % 2) as u8).collect();
/// let data = Dataset::new(pixels, labels, 2, 2, 2)?;
///
/// let model = MlpConfig::new(4, &[8], 2).init::<R>(1);
/// let adam = Adam::new(AdamConfig { lr: 0.05, ..Default::default() })?;
/// let mut learner = Learner::new(model, adam).epochs(10).batch_size(neurite_train::BatchSize::Samples(8));
/// learner.fit(&data, Some(&data), &mut ())?;
/// assert_eq!(learner.history().last().and_then(|m| m.val_acc), Some(1.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Learner<B: Backend, M: Module<B>> {
    model: M,
    optimizer: Box<dyn Optimizer<B>>,
    step: StepSettings,
    schedule: Option<Box<dyn Schedule>>,
    /// Epochs the schedule has been stepped through (replayed from the history on resume).
    schedule_calls: usize,
    pipeline: Option<Pipeline>,
    batch_size: BatchSize,
    epochs: usize,
    seed: u64,
    preprocessing: Preprocessing,
    early_stopping: Option<EarlyStopping>,
    keep_best: Option<Monitor>,
    out: Option<PathBuf>,
    extra_files: Vec<(String, String)>,
    title: String,
    metadata: Vec<(String, String)>,
    class_names: Option<Vec<String>>,
    after_epoch: Option<Box<EpochHook<M>>>,
    parallel: Option<DataParallel>,
    /// `epoch,seconds,communication_seconds,bytes_per_step` rows of this process's epochs.
    traffic: Vec<String>,
    state: TrainState,
}

/// A function [`Learner::after_epoch`] calls after each epoch with the model, the epoch and the
/// output folder (if the learner writes one).
pub type EpochHook<M> = dyn FnMut(&mut M, usize, Option<&Path>) -> Result<(), TrainError>;

impl<B: Backend, M: Module<B>> Learner<B, M> {
    /// A learner for `model` and `optimizer`, with the defaults of `neurite train`: softmax
    /// cross-entropy, batches of 64, 20 epochs, seed 1, pixels scaled to [0, 1] as `[n, 1, h, w]`,
    /// no penalty, schedule, clipping, augmentation, early stopping nor output folder.
    pub fn new(model: M, optimizer: impl Optimizer<B> + 'static) -> Self {
        let optimizer: Box<dyn Optimizer<B>> = Box::new(optimizer);
        let state = TrainState {
            epoch: 0,
            step: 0,
            history: Vec::new(),
            optimizer: optimizer.state(),
            dropout: model.rng_states(),
        };
        Learner {
            model,
            optimizer,
            step: StepSettings::default(),
            schedule: None,
            schedule_calls: 0,
            pipeline: None,
            batch_size: BatchSize::Samples(64),
            epochs: 20,
            seed: 1,
            preprocessing: Preprocessing::default(),
            early_stopping: None,
            keep_best: None,
            out: None,
            extra_files: Vec::new(),
            title: String::new(),
            metadata: Vec::new(),
            class_names: None,
            after_epoch: None,
            parallel: None,
            traffic: Vec::new(),
            state,
        }
    }

    /// Calls `hook` after each epoch, once its files are written, with the model, the epoch and
    /// the output folder: for what a run records beside its metrics (`neurite train
    /// --histograms` draws the layers' distributions with it). An error from it ends the run.
    pub fn after_epoch(
        mut self,
        hook: impl FnMut(&mut M, usize, Option<&Path>) -> Result<(), TrainError> + 'static,
    ) -> Self {
        self.after_epoch = Some(Box::new(hook));
        self
    }

    /// Trains data-parallel: every global batch is cut into `parallel.shards()` shards, the
    /// ranks of its communicator share them, and their gradients are summed in shard order (see
    /// [`crate::distributed`]). Every rank runs the same learner on the same data; rank 0 alone
    /// writes the output folder and reports batches and epochs to its callback. With the same
    /// seed, batch size and shards, the weights and metrics are bit-identical on any number of
    /// ranks that divides the shards, [`distributed::SingleProcess`] included.
    pub fn data_parallel(mut self, parallel: DataParallel) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// The data-parallel setting, with its communication figures so far.
    pub fn parallel(&self) -> Option<&DataParallel> {
        self.parallel.as_ref()
    }

    /// The loss to minimise (the validation loss is the same one).
    pub fn loss(mut self, loss: Loss) -> Self {
        self.step.loss = loss;
        self
    }

    /// Adds an L1 or L2 penalty over the model's weights (not biases, not batch norm's scales).
    /// Penalties are added in the order given.
    pub fn penalty(mut self, penalty: Penalty) -> Self {
        self.step = self.step.penalize(penalty, &self.model);
        self
    }

    /// Clips the gradients of every step.
    pub fn clip(mut self, clip: GradClip) -> Self {
        self.step = self.step.clip(clip);
        self
    }

    /// Sets the learning rate before every epoch from `schedule`, stepped once per epoch
    /// (`t` = epoch − 1) with the previous epoch's validation loss (training loss without a
    /// validation set) as its metric.
    pub fn schedule(mut self, schedule: impl Schedule + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self.schedule_calls = 0;
        self
    }

    /// Augments every training batch with `pipeline`, its randomness drawn from (seed, epoch).
    pub fn augment(mut self, pipeline: Pipeline) -> Self {
        self.pipeline = (!pipeline.is_empty()).then_some(pipeline);
        self
    }

    /// Samples per step.
    pub fn batch_size(mut self, batch_size: BatchSize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// The epoch to stop after (a resumed run continues up to it).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// The seed of the shuffling and augmentation (the model's own generators are seeded where it
    /// is built).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How pixels become inputs; recorded in the checkpoint.
    pub fn preprocessing(mut self, preprocessing: Preprocessing) -> Self {
        self.preprocessing = preprocessing;
        self
    }

    /// Stops when the watched validation metric stops improving.
    pub fn early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Also writes [`BEST_FILE`] whenever `monitor` improves (needs an output folder).
    pub fn keep_best(mut self, monitor: Monitor) -> Self {
        self.keep_best = Some(monitor);
        self
    }

    /// Writes [`CHECKPOINT_FILE`], [`METRICS_FILE`], [`TIMING_FILE`], the [`Learner::output_file`]s
    /// and [`CURVES_FILE`] into `dir` after every epoch, each atomically. The folder must exist.
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out = Some(dir.into());
        self
    }

    /// A file of the output folder written with every checkpoint, atomically like the others
    /// (the settings that repeat the run, a note).
    pub fn output_file(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.extra_files.push((name.into(), text.into()));
        self
    }

    /// A short description of the run (`mlp, adam lr 0.001`) for the titles of `curves.png`.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// A text entry for every checkpoint written (a recipe, a note).
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The names of the classes, recorded in checkpoints (default `"0"`, `"1"`, …).
    pub fn class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = Some(names);
        self
    }

    /// Continues the run saved in `checkpoint` (written by a learner with the same model and
    /// optimizer): weights, optimizer state, dropout generators, epochs and metrics. The
    /// learning rate stays the one configured, unless a schedule sets it.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming `origin` if the checkpoint is not of a training run or does
    /// not fit the model or optimizer (the learner is dropped then).
    pub fn resume(mut self, checkpoint: &Checkpoint, origin: &str) -> Result<Self, TrainError> {
        let saved = TrainState::read_from(checkpoint, origin).map_err(TrainError::Invalid)?;
        let wanted = self.model.rng_states().len();
        if saved.dropout.len() != wanted {
            return Err(TrainError::Invalid(format!(
                "{origin}: {} dropout generators saved for {wanted} dropout layers",
                saved.dropout.len()
            )));
        }
        saved.optimizer.check_params(&self.model.params_mut()).map_err(|e| invalid(origin, e))?;
        checkpoint.restore(&mut self.model, origin)?;
        let configured = self.optimizer.learning_rate();
        self.optimizer.load_state(saved.optimizer.clone()).map_err(|e| invalid(origin, e))?;
        self.optimizer.set_learning_rate(configured);
        self.model.set_rng_states(&saved.dropout);
        self.state = saved;
        // A schedule is brought to this epoch again at the next `fit`.
        self.schedule_calls = 0;
        self.merge_timing();
        Ok(self)
    }

    /// Fills in the wall times of epochs already done from the output folder's `timing.csv`,
    /// when the run continues in its folder (a checkpoint does not hold them).
    fn merge_timing(&mut self) {
        if let Some(timing) = self.out.as_ref().and_then(|d| std::fs::read_to_string(d.join(TIMING_FILE)).ok()) {
            metrics::merge_timing(&mut self.state.history, &timing);
        }
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, for changes between runs.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }

    /// The trained model.
    pub fn into_model(self) -> M {
        self.model
    }

    /// One row per completed epoch.
    pub fn history(&self) -> &[EpochMetrics] {
        &self.state.history
    }

    /// Epochs completed.
    pub fn epoch(&self) -> usize {
        self.state.epoch
    }

    /// The epoch to stop after.
    pub fn max_epochs(&self) -> usize {
        self.epochs
    }

    /// Trains until the last epoch or early stopping, validating on `validation` after every
    /// epoch if given, and reports each event to `callback`.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for settings that cannot train (an empty data set, a batch size of
    /// 0, early stopping without a validation set), [`TrainError::Diverged`] as soon as a step's
    /// loss or gradient is not finite (the checkpoint of the last completed epoch is kept), and
    /// [`TrainError::Write`] if an output file cannot be written.
    pub fn fit(
        &mut self,
        train: &Dataset,
        validation: Option<&Dataset>,
        callback: &mut dyn Callback,
    ) -> Result<FitReport, TrainError> {
        let classes = self.class_names.as_ref().map_or(train.classes(), Vec::len);
        // Ranks first agree that they run the same thing; then every check below gives the same
        // answer on each of them, and none is left waiting for another that stopped.
        self.check_parallel(train, validation)?;
        let writer = self.parallel.as_ref().is_none_or(|p| p.rank() == 0);
        self.check(train, validation, classes, writer)?;
        self.merge_timing();
        self.replay_schedule();
        let n = train.len();
        let batch = match self.batch_size {
            BatchSize::Full => n,
            BatchSize::Samples(k) => k.min(n),
        };
        let loss = self.step.loss;
        let mut stopped_early = self.should_stop();
        while !stopped_early && self.state.epoch < self.epochs {
            let epoch = self.state.epoch + 1;
            self.step_schedule();
            let started = Instant::now();
            let seed = epoch_seed(self.seed, epoch);
            let mut loader = BatchLoader::new(train, batch).with_preprocessing(self.preprocessing).shuffled(seed);
            let mut augment_rng = Rng::stream(seed, Stream::Augment);
            let traffic_before = self.parallel.as_ref().map(DataParallel::traffic);
            if writer {
                callback.on_epoch_start(epoch, self.epochs, n);
            }
            let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
            for (index, b) in loader.epoch::<B>().enumerate() {
                self.state.step += 1;
                // Every rank of a data-parallel run augments the whole batch as a single
                // process would, so that its shards are cut from the same images.
                let x = match &self.pipeline {
                    Some(p) => p.apply(&b.inputs, &mut augment_rng),
                    None => b.inputs,
                };
                let targets = if loss.takes_class_indices() { b.labels } else { b.labels.one_hot(classes) };
                let out = match self.parallel.as_mut() {
                    Some(parallel) => distributed::sharded_step(
                        &mut self.model,
                        self.optimizer.as_mut(),
                        &x,
                        &targets,
                        &self.step,
                        parallel,
                    ),
                    None => train_step(&mut self.model, self.optimizer.as_mut(), &x, &targets, &self.step),
                }
                .map_err(|bad| self.diverged(epoch, index + 1, bad))?;
                let k = b.label_indices.len();
                seen += k;
                correct += out.correct;
                loss_sum += out.data_loss as f64 * k as f64;
                let progress = BatchProgress {
                    epoch,
                    epochs: self.epochs,
                    seen,
                    samples: n,
                    loss: loss_sum / seen as f64,
                    accuracy: correct as f64 / seen as f64,
                };
                if writer {
                    callback.on_batch_end(&progress);
                }
            }
            let val = validation.map(|v| evaluate(&mut self.model, v, self.preprocessing, loss));
            let row = EpochMetrics {
                epoch,
                train_loss: loss_sum / seen.max(1) as f64,
                train_acc: correct as f64 / seen.max(1) as f64,
                val_loss: val.as_ref().map(|e| e.loss),
                val_acc: val.as_ref().map(|e| e.accuracy),
                seconds: Some(started.elapsed().as_secs_f64()),
            };
            if writer {
                callback.on_epoch_end(&row);
            }
            if let (Some(p), Some(before)) = (&self.parallel, traffic_before) {
                let after = p.traffic();
                let steps = (after.steps - before.steps).max(1);
                self.traffic.push(format!(
                    "{epoch},{:.3},{:.3},{}",
                    row.seconds.unwrap_or(0.0),
                    (after.time - before.time).as_secs_f64(),
                    (after.bytes - before.bytes) / steps
                ));
            }
            self.state.epoch = epoch;
            self.state.history.push(row.as_recorded());
            self.state.optimizer = self.optimizer.state();
            self.state.dropout = self.model.rng_states();
            let mut finished = Ok(());
            if let Some(dir) = self.out.clone().filter(|_| writer) {
                finished = self.save(&dir, train, classes).map(|best| {
                    callback.on_saved(&Saved { dir: &dir, epoch, best });
                });
            }
            if let (Ok(()), Some(hook)) = (&finished, self.after_epoch.as_mut()) {
                finished = hook(&mut self.model, epoch, self.out.as_deref().filter(|_| writer));
            }
            // Only rank 0 writes: if it could not, every rank stops, instead of waiting for it.
            if let Some(p) = &self.parallel {
                let failed = distributed::first_failure(p.comm.as_ref(), finished.is_err());
                if let (Ok(()), Some(rank)) = (&finished, failed) {
                    finished = Err(TrainError::Invalid(format!(
                        "rank {rank} of {} stopped after epoch {epoch}; its error says why",
                        p.size()
                    )));
                }
            }
            finished?;
            stopped_early = self.should_stop();
        }
        self.model.set_training(false);
        let best_epoch = self.watched().and_then(|(m, d)| m.best(&self.state.history, d)).map(|(e, _)| e);
        Ok(FitReport { epochs: self.state.epoch, stopped_early, best_epoch })
    }

    fn check(
        &self,
        train: &Dataset,
        validation: Option<&Dataset>,
        classes: usize,
        writer: bool,
    ) -> Result<(), TrainError> {
        if train.is_empty() {
            return Err(TrainError::Invalid("the training set holds no samples".into()));
        }
        let size = |d: &Dataset| (d.channels(), d.rows(), d.cols());
        if let Some(v) = validation.filter(|v| size(v) != size(train)) {
            return Err(TrainError::Invalid(format!(
                "validation images are {:?} (channels, rows, columns), training images {:?}",
                size(v),
                size(train)
            )));
        }
        if train.classes() > classes {
            return Err(TrainError::Invalid(format!(
                "the data has {} classes but only {classes} class names",
                train.classes()
            )));
        }
        // The model must give one score per class for an input of the data's shape.
        let input = match self.preprocessing.layout {
            Layout::Nchw => vec![1, train.channels(), train.rows(), train.cols()],
            Layout::Flat => vec![1, train.channels() * train.rows() * train.cols()],
        };
        let output = self.model.output_shape(&input);
        if output != [1, classes] {
            return Err(TrainError::Invalid(format!(
                "the model turns an input of shape {input:?} into {output:?}, not one score for each of {classes} classes"
            )));
        }
        if self.batch_size == BatchSize::Samples(0) {
            return Err(TrainError::Invalid("the batch size must be at least 1 (or `full`)".into()));
        }
        if validation.is_none_or(Dataset::is_empty) && (self.early_stopping.is_some() || self.keep_best.is_some()) {
            return Err(TrainError::Invalid(
                "early stopping and keeping the best checkpoint watch the validation set; give one".into(),
            ));
        }
        // (Ranks of a data-parallel run other than 0 write nothing, so they need no folder.)
        if writer && self.keep_best.is_some() && self.out.is_none() {
            return Err(TrainError::Invalid("keeping the best checkpoint needs an output folder".into()));
        }
        if self.early_stopping.is_some_and(|e| e.patience == 0) {
            return Err(TrainError::Invalid("early stopping needs a patience of at least 1 epoch".into()));
        }
        Ok(())
    }

    /// With data parallelism: the same settings, data and starting point on every rank (checked
    /// with a hash broadcast from rank 0), and a number of shards the ranks can share.
    fn check_parallel(&self, train: &Dataset, validation: Option<&Dataset>) -> Result<(), TrainError> {
        let Some(p) = &self.parallel else { return Ok(()) };
        let (shards, ranks) = (p.shards(), p.size());
        let settings = format!(
            "{:?} {} {} {} {shards} {:?} {:?} {:?} {:?} {:?}",
            self.step,
            self.batch_size,
            self.epochs,
            self.seed,
            self.preprocessing,
            self.metadata,
            self.pipeline.as_ref().map(|p| format!("{p:?}")),
            self.early_stopping,
            self.keep_best,
        );
        let data = |d: Option<&Dataset>| {
            let mut h = crc32fast::Hasher::new();
            for d in d.into_iter() {
                for size in [d.channels(), d.rows(), d.cols(), d.classes()] {
                    h.update(&(size as u64).to_le_bytes());
                }
                (0..d.len()).for_each(|i| h.update(d.image(i)));
                h.update(d.labels());
                h.update(&(d.len() as u64).to_le_bytes());
            }
            u64::from(h.finalize())
        };
        let mut weights: Vec<f32> = Vec::new();
        for (_, t) in self.model.params() {
            weights.extend_from_slice(t.as_slice());
        }
        for (_, t) in self.model.buffers() {
            weights.extend_from_slice(t.as_slice());
        }
        let optimizer = self.optimizer.state();
        let mut state = format!(
            "{} {} {:?} {} {} {} {}",
            self.state.epoch,
            self.state.step,
            self.model.rng_states(),
            self.optimizer.learning_rate(),
            optimizer.optimizer,
            optimizer.lr,
            optimizer.steps
        );
        for (name, param) in &optimizer.params {
            for (buffer, values) in &param.buffers {
                let hash = distributed::hash_floats(values);
                state.push_str(&format!(" {name}.{buffer}@{}:{hash:x}", param.step));
            }
        }
        distributed::fingerprint_check(
            p.comm.as_ref(),
            &[
                ("settings", distributed::hash_bytes(settings.as_bytes())),
                ("training data", data(Some(train))),
                ("validation data", data(validation)),
                ("initial weights", distributed::hash_floats(&weights)),
                ("training state", distributed::hash_bytes(state.as_bytes())),
            ],
        )?;
        // The shard count is in the settings' hash, so this answer is the same on every rank.
        if shards == 0 || !shards.is_multiple_of(ranks) {
            return Err(TrainError::Invalid(format!(
                "{shards} shards cannot be shared by {ranks} ranks; use a multiple of {ranks}"
            )));
        }
        Ok(())
    }

    /// The metric whose best epoch [`FitReport::best_epoch`] names: `keep_best`'s (the epoch in
    /// `best.ckpt`), else early stopping's.
    fn watched(&self) -> Option<(Monitor, f64)> {
        match (self.keep_best, self.early_stopping) {
            (Some(m), _) => Some((m, 0.0)),
            (None, Some(e)) => Some((e.monitor, e.min_delta)),
            (None, None) => None,
        }
    }

    /// Whether early stopping's patience has run out on the history so far.
    fn should_stop(&self) -> bool {
        let Some(e) = self.early_stopping else { return false };
        match e.monitor.best(&self.state.history, e.min_delta) {
            Some((best, _)) => self.state.epoch - best >= e.patience,
            None => false,
        }
    }

    /// The metric a schedule sees after `epoch`: its validation loss, else its training loss.
    fn schedule_metric(&self, epoch: usize) -> Option<f32> {
        let m = self.state.history.get(epoch.checked_sub(1)?)?;
        Some(m.val_loss.unwrap_or(m.train_loss) as f32)
    }

    /// Steps the schedule for the next epoch and hands its rate to the optimizer.
    fn step_schedule(&mut self) {
        let t = self.schedule_calls;
        let metric = self.schedule_metric(t);
        if let Some(s) = &mut self.schedule {
            self.optimizer.set_learning_rate(s.lr(t, metric));
            self.schedule_calls += 1;
        }
    }

    /// Brings a stateful schedule (reduce-on-plateau) to where it was after the epochs already
    /// done, by stepping it through them again with their recorded metrics.
    fn replay_schedule(&mut self) {
        while self.schedule.is_some() && self.schedule_calls < self.state.epoch {
            let t = self.schedule_calls;
            let metric = self.schedule_metric(t);
            if let Some(s) = &mut self.schedule {
                s.lr(t, metric);
            }
            self.schedule_calls += 1;
        }
    }

    fn diverged(&self, epoch: usize, batch: usize, bad: crate::step::NonFinite) -> TrainError {
        let kept = match (&self.out, self.state.epoch) {
            (Some(dir), done) if done > 0 => Some((dir.join(CHECKPOINT_FILE), done)),
            _ => None,
        };
        TrainError::Diverged(Box::new(Diverged {
            step: self.state.step,
            epoch,
            batch,
            loss: bad.loss,
            parameter: bad.parameter,
            kept,
        }))
    }

    /// Writes the epoch's files into `dir`; returns whether `best.ckpt` was written too.
    fn save(&self, dir: &Path, train: &Dataset, classes: usize) -> Result<bool, TrainError> {
        let names = self.class_names.clone().unwrap_or_else(|| (0..classes).map(|c| c.to_string()).collect());
        let mut checkpoint = Checkpoint::from_module(&self.model);
        for (key, value) in &self.metadata {
            checkpoint = checkpoint.with_metadata(key.clone(), value.clone());
        }
        let mut checkpoint = checkpoint
            .with_metadata(INPUT_KEY, json(&[train.channels(), train.rows(), train.cols()]))
            .with_metadata(PREPROCESSING_KEY, json(&self.preprocessing))
            .with_metadata(CLASSES_KEY, json(&names));
        self.state.write_into(&mut checkpoint);
        let bytes = checkpoint.to_bytes().map_err(|e| TrainError::Write {
            path: dir.join(CHECKPOINT_FILE).display().to_string(),
            message: e.to_string(),
        })?;
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            neurite_core::fs::write_atomic(&path, bytes)
                .map_err(|e| TrainError::Write { path: path.display().to_string(), message: e.to_string() })
        };
        write(CHECKPOINT_FILE, &bytes)?;
        write(METRICS_FILE, metrics::to_csv(&self.state.history).as_bytes())?;
        write(TIMING_FILE, metrics::to_timing_csv(&self.state.history).as_bytes())?;
        for (name, text) in &self.extra_files {
            write(name, text.as_bytes())?;
        }
        if !self.traffic.is_empty() {
            let rows = self.traffic.join("\n");
            write(TRAFFIC_FILE, format!("epoch,seconds,communication_seconds,bytes_per_step\n{rows}\n").as_bytes())?;
        }
        let curves = dir.join(CURVES_FILE);
        metrics::save_curves(&curves, &self.state.history, self.step.loss.name(), &self.title)
            .map_err(|e| TrainError::Write { path: curves.display().to_string(), message: e.to_string() })?;
        let improved = self
            .keep_best
            .is_some_and(|m| m.best(&self.state.history, 0.0).is_some_and(|(epoch, _)| epoch == self.state.epoch));
        if improved {
            write(BEST_FILE, &bytes)?;
        }
        Ok(improved)
    }
}

fn invalid(origin: &str, e: impl fmt::Display) -> TrainError {
    TrainError::Invalid(format!("{origin}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seeds_differ_by_epoch_and_seed() {
        assert_ne!(epoch_seed(1, 1), epoch_seed(1, 2));
        assert_ne!(epoch_seed(1, 1), epoch_seed(2, 1));
        assert_eq!(epoch_seed(5, 3), 5 ^ 3u64.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}
