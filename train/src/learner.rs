//! [`Learner`]: the training loop as a library. A builder gathers the model, the optimizer and
//! every setting; [`Learner::fit`] trains epoch by epoch, validates, writes an output folder
//! (checkpoint, metrics, curves) atomically after every epoch, stops early if asked, and reports
//! each event to a [`Callback`]. A checkpoint it wrote continues bit-exactly through
//! [`Learner::resume`]: shuffling and augmentation are derived from (seed, epoch), and the
//! checkpoint holds the weights, the optimizer's state, the dropout generators and the metrics.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use neurite_augment::Pipeline;
use neurite_core::{Backend, Rng, Stream, Tensor};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::regularization::Penalty;
use neurite_nn::{Checkpoint, Module};
use neurite_optim::{GradClip, Optimizer, Schedule};
use serde::{Deserialize, Serialize};

use crate::callback::{BatchProgress, Callback, Control, FitStart, Saved};
use crate::callbacks::{EarlyStopping, KeepBest, Monitor, Progress};
use crate::config::TrainConfig;
use crate::distributed::{self, DataParallel};
use crate::error::{Diverged, TrainError};
use crate::evaluate::evaluate;
use crate::loss::{Loss, TargetForm, target_tensor};
use crate::metrics::{self, EpochMetrics};
use crate::prefetch::prefetched;
use crate::source::{DataSource, Inputs, TargetKind, Targets, batch_shape, prepare_batch};
use crate::state::{TrainState, json};
use crate::step::{StepSettings, train_step};
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

/// How [`Learner::fit`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Epochs completed in all, those of a resumed checkpoint included.
    pub epochs: usize,
    /// Time the training thread waited for batches to be prepared, over this learner's fits.
    pub data_wait: Duration,
    /// Time spent in training epochs (validation excluded), over this learner's fits.
    pub train_time: Duration,
    /// Why a callback ended the run before its last epoch (early stopping's reason names the
    /// best epoch); `None` when it ran to the end.
    pub stopped: Option<String>,
}

/// The seed of epoch `epoch`'s shuffling (stream `DataOrder`) and augmentation (stream
/// `Augment`) generators: a function of the run's seed and the epoch alone, so that a resumed run
/// draws what a straight one would.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The seed of the augmentation of batch `index` (from 0) of the epoch whose seed is
/// `epoch_seed`: each batch draws from a generator of its own, so batches can be prepared by
/// any thread in any order.
pub fn batch_seed(epoch_seed: u64, index: usize) -> u64 {
    epoch_seed ^ (index as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03).rotate_left(29)
}

/// Trains a model `M` on backend `B` with an optimizer and the run's settings.
///
/// The learning rate of every epoch is the schedule's ([`Learner::schedule`]; without one, the
/// optimizer's rate when the learner was made) times the factor callbacks set through
/// [`Control::scale_learning_rate`]; the learner sets it on the optimizer before each epoch.
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
    step: StepSettings<B>,
    /// The rate of every epoch without a schedule: the optimizer's when the learner was made.
    base_lr: f32,
    schedule: Option<Box<dyn Schedule>>,
    /// Epochs the schedule has been stepped through (replayed from the history on resume).
    schedule_calls: usize,
    pipeline: Option<Pipeline>,
    /// Threads preparing batches ahead of the step (0: on the training thread).
    workers: usize,
    /// Time the step spent waiting for its data, and training time, in this learner's fits.
    data_wait: Duration,
    train_time: Duration,
    batch_size: BatchSize,
    epochs: usize,
    seed: u64,
    preprocessing: Preprocessing,
    callbacks: Vec<Box<dyn Callback>>,
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

/// What [`Learner::fit`] found out about its data before the first step.
struct Plan {
    /// Outputs per sample.
    width: usize,
    /// The number of classes, for class targets (which have an accuracy).
    classes: Option<usize>,
}

impl<B: Backend, M: Module<B>> Learner<B, M> {
    /// A learner for `model` and `optimizer`: softmax cross-entropy, the batch size, epochs and
    /// seed of [`TrainConfig`]'s defaults (64, 20, 1), pixels scaled to [0, 1] as
    /// `[n, c, h, w]`, the optimizer's learning rate throughout, no penalty, clipping,
    /// augmentation, callback nor output folder.
    pub fn new(model: M, optimizer: impl Optimizer<B> + 'static) -> Self {
        let defaults = TrainConfig::default();
        let optimizer: Box<dyn Optimizer<B>> = Box::new(optimizer);
        let state = TrainState {
            epoch: 0,
            step: 0,
            history: Vec::new(),
            optimizer: optimizer.state(),
            dropout: model.rng_states(),
            lr_scale: 1.0,
        };
        Learner {
            base_lr: optimizer.learning_rate(),
            model,
            optimizer,
            step: StepSettings::default(),
            schedule: None,
            schedule_calls: 0,
            pipeline: None,
            workers: defaults.data.workers,
            data_wait: Duration::ZERO,
            train_time: Duration::ZERO,
            batch_size: defaults.batch_size,
            epochs: defaults.epochs,
            seed: defaults.seed,
            preprocessing: Preprocessing::default(),
            callbacks: Vec::new(),
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
    /// writes the output folder and reports batches and epochs to its callbacks. With the same
    /// seed, batch size and shards, the weights and metrics are bit-identical on any number of
    /// ranks that divides the shards, [`distributed::SingleProcess`] included.
    pub fn data_parallel(mut self, parallel: DataParallel) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// Sets the data-parallel setting of a learner already built (see [`Learner::data_parallel`]).
    pub(crate) fn set_data_parallel(&mut self, parallel: DataParallel) {
        self.parallel = Some(parallel);
    }

    /// The data-parallel setting, with its communication figures so far.
    pub fn parallel(&self) -> Option<&DataParallel> {
        self.parallel.as_ref()
    }

    /// The loss to minimise (the validation loss is the same one): a built-in one
    /// ([`crate::CrossEntropy`], [`crate::Mse`], …) or a user's own [`Loss`].
    pub fn loss(mut self, loss: impl Loss<B> + 'static) -> Self {
        self.step.loss = std::sync::Arc::new(loss);
        self
    }

    /// The loss to minimise, shared (what [`crate::LossKind::build`] gives).
    pub fn shared_loss(mut self, loss: std::sync::Arc<dyn Loss<B>>) -> Self {
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

    /// Like [`Learner::schedule`], for a boxed schedule (what
    /// [`neurite_optim::OptimizerConfig::schedule`] gives).
    pub fn boxed_schedule(mut self, schedule: Box<dyn Schedule>) -> Self {
        self.schedule = Some(schedule);
        self.schedule_calls = 0;
        self
    }

    /// Augments every training batch with `pipeline`, its randomness drawn from (seed, epoch,
    /// batch). Pixels are augmented as `u8` levels before the preprocessing normalises them.
    pub fn augment(mut self, pipeline: Pipeline) -> Self {
        self.pipeline = (!pipeline.is_empty()).then_some(pipeline);
        self
    }

    /// Prepares batches (read, augment, preprocess) on `workers` threads while the step runs,
    /// a few batches ahead; 0 prepares each on the training thread. The results are the same
    /// for any number.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
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

    /// Adds a callback that the learner keeps and calls in every [`Learner::fit`], before the
    /// one `fit` is given. Callbacks are called in the order they were added.
    pub fn callback(mut self, callback: impl Callback + 'static) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }

    /// Shows a progress bar and a table of the epochs (the [`Progress`] callback).
    pub fn progress(self) -> Self {
        self.callback(Progress::new())
    }

    /// Stops when the watched validation metric stops improving (the [`EarlyStopping`]
    /// callback).
    pub fn early_stopping(self, early_stopping: EarlyStopping) -> Self {
        self.callback(early_stopping)
    }

    /// Also writes [`BEST_FILE`] whenever `monitor` improves (the [`KeepBest`] callback; needs an
    /// output folder).
    pub fn keep_best(self, monitor: Monitor) -> Self {
        self.callback(KeepBest::new(monitor))
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
    /// optimizer): weights, optimizer state, dropout generators, epochs, metrics and the
    /// learning-rate factor. Reads the state with [`TrainState::read_from`]; a caller that has
    /// read it already gives it to [`Learner::resume_with`].
    ///
    /// # Errors
    /// As [`Learner::resume_with`].
    pub fn resume(self, checkpoint: &Checkpoint, origin: &str) -> Result<Self, TrainError> {
        let state = TrainState::read_from(checkpoint, origin).map_err(TrainError::Invalid)?;
        self.resume_with(checkpoint, state, origin)
    }

    /// Continues the run saved in `checkpoint`, whose training state `saved` was read from it.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming `origin` if the checkpoint does not fit the model or
    /// optimizer (the learner is dropped then).
    pub fn resume_with(mut self, checkpoint: &Checkpoint, saved: TrainState, origin: &str) -> Result<Self, TrainError> {
        let wanted = self.model.rng_states().len();
        if saved.dropout.len() != wanted {
            return Err(TrainError::Invalid(format!(
                "{origin}: {} dropout generators saved for {wanted} dropout layers",
                saved.dropout.len()
            )));
        }
        saved.optimizer.check_params(&self.model.params_mut()).map_err(|e| invalid(origin, e))?;
        checkpoint.restore(&mut self.model, origin)?;
        self.optimizer.load_state(saved.optimizer.clone()).map_err(|e| invalid(origin, e))?;
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

    /// The optimizer (its learning rate is the one of the last epoch trained).
    pub fn optimizer(&self) -> &dyn Optimizer<B> {
        self.optimizer.as_ref()
    }

    /// How pixels become inputs.
    pub fn preprocessing_in_use(&self) -> Preprocessing {
        self.preprocessing
    }

    /// The loss minimised.
    pub fn loss_in_use(&self) -> &dyn Loss<B> {
        self.step.loss.as_ref()
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

    /// Trains until the last epoch or until a callback stops it, on batches of `train` drawn in a
    /// seeded order, validating on `validation` after every epoch if given, and reports each
    /// event to the learner's own callbacks, then to `callbacks`.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for settings that cannot train (an empty data set, a batch size of
    /// 0, a model that does not fit the data, early stopping without a validation set),
    /// [`TrainError::Data`] if a source fails, [`TrainError::Diverged`] as soon as a step's loss
    /// or gradient is not finite (the checkpoint of the last completed epoch is kept), and
    /// [`TrainError::Write`] if an output file cannot be written.
    pub fn fit(
        &mut self,
        train: &dyn DataSource,
        validation: Option<&dyn DataSource>,
        callbacks: &mut dyn Callback,
    ) -> Result<FitReport, TrainError> {
        // Ranks first agree that they run the same thing; then every check below gives the same
        // answer on each of them, and none is left waiting for another that stopped.
        self.check_parallel(train, validation)?;
        let writer = self.parallel.as_ref().is_none_or(|p| p.rank() == 0);
        let plan = self.check(train, validation)?;
        self.merge_timing();
        self.replay_schedule();
        let mut own = std::mem::take(&mut self.callbacks);
        let fitted = self.run_epochs(train, validation, &mut (&mut own, callbacks), &plan, writer);
        self.callbacks = own;
        fitted
    }

    fn run_epochs(
        &mut self,
        train: &dyn DataSource,
        validation: Option<&dyn DataSource>,
        callbacks: &mut dyn Callback,
        plan: &Plan,
        writer: bool,
    ) -> Result<FitReport, TrainError> {
        let n = train.len();
        let batch = match self.batch_size {
            BatchSize::Full => n,
            BatchSize::Samples(k) => k.min(n),
        };
        let sample = train.sample_shape();
        let form = self.step.loss.targets();
        let data_error = |e: String| TrainError::Data(format!("training data: {e}"));
        let out = self.out.clone().filter(|_| writer);
        let start = FitStart {
            epoch: self.state.epoch,
            epochs: self.epochs,
            samples: n,
            validation: validation.is_some_and(|v| !v.is_empty()),
            dir: out.as_deref(),
            writer,
        };
        let mut control = Control::new(&self.state.history, self.optimizer.learning_rate(), self.state.lr_scale);
        let ready = callbacks.on_fit_start(&start, &mut control);
        let (scale, stop) = control.into_parts();
        self.agreed(ready)?;
        let mut stopped;
        (self.state.lr_scale, stopped) = self.agree(scale, stop);
        while stopped.is_none() && self.state.epoch < self.epochs {
            let epoch = self.state.epoch + 1;
            self.step_schedule();
            let started = Instant::now();
            let seed = epoch_seed(self.seed, epoch);
            let order = Rng::stream(seed, Stream::DataOrder).permutation(n);
            let traffic_before = self.parallel.as_ref().map(DataParallel::traffic);
            if writer {
                callbacks.on_epoch_start(epoch, self.epochs, n);
            }
            let (mut seen, mut correct, mut loss_sum) = (0usize, 0usize, 0.0f64);
            let batches: Vec<&[usize]> = order.chunks(batch).collect();
            // Workers read, augment and preprocess batches ahead of the step; each batch is a
            // function of its indices and its own augmentation seed, so the worker count
            // changes nothing. The pipeline is lent to them for the epoch.
            let pipeline = self.pipeline.take();
            let preprocessing = self.preprocessing;
            let prepare = |index: usize| {
                prepare_batch(
                    train,
                    batches[index],
                    &sample,
                    &preprocessing,
                    pipeline.as_ref(),
                    batch_seed(seed, index),
                )
            };
            let steps = prefetched(batches.len(), self.workers, prepare, |index, prepared| {
                self.state.step += 1;
                let k = batches[index].len();
                let prepared = prepared.map_err(data_error).and_then(|p| {
                    let targets = target_tensor::<B>(&p.targets, form, plan.width, k).map_err(data_error)?;
                    let x = Tensor::<B>::from_vec(p.values, batch_shape(&sample, k, &preprocessing, p.pixels));
                    Ok((x, targets))
                });
                // Every rank of a data-parallel run prepares the whole batch as a single process
                // would, so that its shards are cut from the same images.
                let (x, targets) = self.agreed(prepared)?;
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
                seen += k;
                correct += out.correct;
                loss_sum += out.data_loss as f64 * k as f64;
                let progress = BatchProgress {
                    epoch,
                    epochs: self.epochs,
                    seen,
                    samples: n,
                    loss: loss_sum / seen as f64,
                    accuracy: plan.classes.map(|_| correct as f64 / seen as f64),
                    lr: self.optimizer.learning_rate(),
                };
                if writer {
                    callbacks.on_batch_end(&progress);
                }
                Ok::<bool, TrainError>(true)
            });
            self.pipeline = pipeline;
            self.data_wait += steps?;
            self.train_time += started.elapsed();
            let val = match validation {
                Some(v) => {
                    let evaluated = evaluate(&mut self.model, v, self.preprocessing, self.step.loss.as_ref());
                    Some(self.agreed(evaluated)?)
                }
                None => None,
            };
            let row = EpochMetrics {
                epoch,
                train_loss: loss_sum / seen.max(1) as f64,
                train_acc: plan.classes.map(|_| correct as f64 / seen.max(1) as f64),
                val_loss: val.as_ref().map(|e| e.loss),
                val_acc: val.as_ref().and_then(|e| e.accuracy),
                seconds: Some(started.elapsed().as_secs_f64()),
            };
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
            // The callbacks steer before the epoch is saved, so the checkpoint holds what they
            // decided (a new learning-rate factor).
            let recorded = self.state.history[epoch - 1].clone();
            let mut control = Control::new(&self.state.history, self.optimizer.learning_rate(), self.state.lr_scale);
            let mut finished = callbacks.on_epoch_end(&recorded, &mut control);
            let (scale, stop) = control.into_parts();
            (self.state.lr_scale, stopped) = self.agree(scale, stop);
            self.state.optimizer = self.optimizer.state();
            self.state.dropout = self.model.rng_states();
            if let (Ok(()), Some(dir)) = (&finished, &out) {
                finished = self.save(dir, train, plan.classes.unwrap_or(plan.width)).and_then(|bytes| {
                    callbacks.on_saved(&Saved { dir, epoch, checkpoint: &bytes, history: &self.state.history })
                });
            }
            if let (Ok(()), Some(hook)) = (&finished, self.after_epoch.as_mut()) {
                finished = hook(&mut self.model, epoch, out.as_deref());
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
        }
        self.model.set_training(false);
        let report =
            FitReport { epochs: self.state.epoch, stopped, data_wait: self.data_wait, train_time: self.train_time };
        callbacks.on_fit_end(&report);
        Ok(report)
    }

    /// `result`, once every rank of a data-parallel run has its own: if another rank failed,
    /// this one stops too (instead of waiting for it in the next collective step).
    fn agreed<T>(&self, result: Result<T, TrainError>) -> Result<T, TrainError> {
        let Some(p) = &self.parallel else { return result };
        let first = distributed::first_failure(p.comm.as_ref(), result.is_err());
        match (result, first) {
            (Err(e), _) => Err(e),
            (Ok(value), None) => Ok(value),
            (Ok(_), Some(rank)) => {
                Err(TrainError::Invalid(format!("rank {rank} of {} could not go on; its error says why", p.size())))
            }
        }
    }

    /// The learning-rate factor and the decision to stop, the same on every rank of a
    /// data-parallel run (rank 0's, whose callbacks saw what every rank's saw).
    fn agree(&self, scale: f32, stop: Option<String>) -> (f32, Option<String>) {
        let Some(p) = &self.parallel else { return (scale, stop) };
        let mut decided = [u64::from(scale.to_bits()), u64::from(stop.is_some())];
        p.comm.broadcast(&mut decided);
        let stop = match (decided[1] != 0, stop) {
            (true, Some(reason)) => Some(reason),
            (true, None) => Some("rank 0 stopped the run".to_string()),
            (false, _) => None,
        };
        (f32::from_bits(decided[0] as u32), stop)
    }

    /// Checks that the learner can train on these sources before any step, and works out the
    /// model's output width and whether the targets are classes.
    fn check(&self, train: &dyn DataSource, validation: Option<&dyn DataSource>) -> Result<Plan, TrainError> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if train.is_empty() {
            return bad("the training set holds no samples".into());
        }
        if self.batch_size == BatchSize::Samples(0) {
            return bad("the batch size must be at least 1 (or `full`)".into());
        }
        let sample = train.sample_shape();
        if let Some(v) = validation {
            if v.sample_shape() != sample || v.target_kind() != train.target_kind() {
                return bad(format!(
                    "validation samples are {:?} with {:?} targets, training samples {sample:?} with {:?}",
                    v.sample_shape(),
                    v.target_kind(),
                    train.target_kind()
                ));
            }
        }
        let input: Vec<usize> = match (train.gives_pixels(), self.preprocessing.layout) {
            (true, Layout::Flat) => vec![1, sample.iter().product()],
            _ => std::iter::once(1).chain(sample.iter().copied()).collect(),
        };
        let output = self.model.output_shape(&input);
        let (classes, width) = match train.target_kind() {
            TargetKind::Classes(k) => {
                let names = self.class_names.as_ref().map_or(k, Vec::len);
                if k > names {
                    return bad(format!("the data has {k} classes but only {names} class names"));
                }
                // One score per class, or a single one for two classes and a loss on values.
                let single = names <= 2 && self.step.loss.targets() == TargetForm::Values;
                if output != [1, names] && !(single && output == [1, 1]) {
                    return bad(format!(
                        "the model turns an input of shape {input:?} into {output:?}, not one score for each of {names} classes"
                    ));
                }
                (Some(names), output[1])
            }
            TargetKind::Values(w) => {
                if self.step.loss.targets() == TargetForm::ClassIndices {
                    return bad(format!(
                        "the loss {} takes class indices, but the data's targets are values",
                        self.step.loss.name()
                    ));
                }
                if output != [1, w] {
                    return bad(format!(
                        "the model turns an input of shape {input:?} into {output:?}, not {w} values per sample"
                    ));
                }
                (None, w)
            }
        };
        Ok(Plan { width, classes })
    }

    /// With data parallelism: the same settings, data and starting point on every rank (checked
    /// with a hash broadcast from rank 0), and a number of shards the ranks can share.
    fn check_parallel(&self, train: &dyn DataSource, validation: Option<&dyn DataSource>) -> Result<(), TrainError> {
        let Some(p) = &self.parallel else { return Ok(()) };
        let (shards, ranks) = (p.shards(), p.size());
        let settings = format!(
            "{:?} {} {} {} {shards} {:?} {:?} {:?} {}",
            self.step,
            self.batch_size,
            self.epochs,
            self.seed,
            self.preprocessing,
            self.metadata,
            self.pipeline.as_ref().map(|p| format!("{p:?}")),
            self.callbacks.len(),
        );
        let data = |d: Option<&dyn DataSource>| -> Result<u64, TrainError> {
            let mut h = crc32fast::Hasher::new();
            if let Some(d) = d {
                h.update(format!("{:?} {:?} {}", d.sample_shape(), d.target_kind(), d.len()).as_bytes());
                let all: Vec<usize> = (0..d.len()).collect();
                for chunk in all.chunks(1024) {
                    let samples = d.get(chunk).map_err(|e| TrainError::Data(e.to_string()))?;
                    match samples.inputs {
                        Inputs::Pixels(p) => h.update(&p),
                        Inputs::Values(v) => v.iter().for_each(|x| h.update(&x.to_bits().to_le_bytes())),
                    }
                    match samples.targets {
                        Targets::Classes(c) => c.iter().for_each(|l| h.update(&(*l as u64).to_le_bytes())),
                        Targets::Values(v) => v.iter().for_each(|x| h.update(&x.to_bits().to_le_bytes())),
                    }
                }
            }
            Ok(u64::from(h.finalize()))
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
            "{} {} {:?} {} {} {} {} {}",
            self.state.epoch,
            self.state.step,
            self.model.rng_states(),
            self.optimizer.learning_rate(),
            optimizer.optimizer,
            optimizer.lr,
            optimizer.steps,
            self.state.lr_scale
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
                ("training data", data(Some(train))?),
                ("validation data", data(validation)?),
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

    /// The metric a schedule sees after `epoch`: its validation loss, else its training loss.
    fn schedule_metric(&self, epoch: usize) -> Option<f32> {
        let m = self.state.history.get(epoch.checked_sub(1)?)?;
        Some(m.val_loss.unwrap_or(m.train_loss) as f32)
    }

    /// Sets the next epoch's learning rate on the optimizer: the schedule's (stepped once) or the
    /// base rate, times the callbacks' factor.
    fn step_schedule(&mut self) {
        let t = self.schedule_calls;
        let metric = self.schedule_metric(t);
        let lr = match &mut self.schedule {
            Some(s) => {
                self.schedule_calls += 1;
                s.lr(t, metric)
            }
            None => self.base_lr,
        };
        self.optimizer.set_learning_rate(lr * self.state.lr_scale);
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

    /// Writes the epoch's files into `dir` (`classes` names the outputs without class names);
    /// returns the checkpoint's bytes.
    fn save(&self, dir: &Path, train: &dyn DataSource, classes: usize) -> Result<Vec<u8>, TrainError> {
        let names = self.class_names.clone().unwrap_or_else(|| (0..classes).map(|c| c.to_string()).collect());
        let mut checkpoint = Checkpoint::from_module(&self.model);
        for (key, value) in &self.metadata {
            checkpoint = checkpoint.with_metadata(key.clone(), value.clone());
        }
        let mut checkpoint = checkpoint
            .with_metadata(INPUT_KEY, json(&train.sample_shape()))
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
        Ok(bytes)
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
