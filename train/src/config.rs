//! [`TrainConfig`]: the one description of a training run — data, model, optimizer and
//! schedule, loss, penalties, augmentation, batches, epochs, seed, validation, early stopping,
//! output folder. It owns the defaults (each written once, on its field), the checks (all of
//! them before anything is built; the first failure names the setting), the settings file (a
//! recipe *is* a serialised `TrainConfig`, in TOML; the flat recipes of earlier versions still
//! read) and [`TrainConfig::init`], which reads the data, builds the network, the optimizer and a
//! [`Learner`], and claims the output folder: a [`Run`], ready to [`Run::fit`]. `neurite train`
//! does exactly this, with flags laid over a recipe, so a run from Rust and a run from the
//! command line with the same settings write the same bytes.
//!
//! Every random stream is derived from the one seed by name (`neurite_core::Stream`): the
//! validation split, the initial weights, the dropout masks, the shuffling and the augmentation.

use std::path::{Path, PathBuf};

use neurite_augment::{ImageSize, Transform};
use neurite_core::{Backend, Tensor};
use neurite_data::{DataConfig, ImageSet, RunData};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::models::{ModelConfig, ModelKind, Widths};
use neurite_nn::regularization::Penalty;
use neurite_nn::{Activation, Budget, Checkpoint, Footprint, Init, Sequential};
use neurite_optim::{OptimizerConfig, OptimizerKind, ScheduleSpec};
use serde::{Deserialize, Serialize};
use smart_default::SmartDefault;

use crate::callback::Callback;
use crate::callbacks::{EarlyStopping, Monitor};
use crate::distributed::{self, Communicator, DEFAULT_SHARDS, DataParallel, SingleProcess};
use crate::error::TrainError;
use crate::evaluate::{EVAL_BATCH, Evaluation, evaluate_with};
use crate::histograms::Recorder;
use crate::learner::{BatchSize, FitReport, Learner};
use crate::loss::LossKind;
use crate::metric::MetricList;
use crate::output::OutputDir;
use crate::state::TrainState;
use crate::trained::{BACKGROUND_KEY, RESIZE_KEY};

/// Metadata key of a checkpoint: the run's settings, as the TOML of its [`TrainConfig`].
pub const RECIPE_KEY: &str = "recipe";
/// The run's settings, beside the learner's files.
pub const RECIPE_FILE: &str = "recipe.toml";
/// The layers' distributions by epoch, with `histograms`.
pub const HISTOGRAMS_FILE: &str = "histograms.png";
/// Their numbers.
pub const HISTOGRAMS_CSV: &str = "histograms.csv";
/// What a run writes beside the learner's files.
pub const RUN_FILES: &[&str] = &[RECIPE_FILE, HISTOGRAMS_FILE, HISTOGRAMS_CSV];
/// Samples of the probe batch of `histograms`.
const HISTOGRAM_PROBE: usize = 500;
/// The most shards a batch may be cut into (every shard is a forward and backward pass).
pub const MAX_SHARDS: usize = 4096;
/// The most worker threads a run starts (far more than any CPU this runs on has cores).
pub const MAX_THREADS: usize = 256;
/// The largest settings file read (a recipe is a page of settings).
pub const MAX_RECIPE_BYTES: u64 = 1 << 20;

/// Every setting of a training run. The settings file holds the run's own settings at the top,
/// then the tables `[data]`, `[model]` and `[optimizer]`; a key left out takes its default, an
/// unknown key or a wrong type is an error.
///
/// ```
/// use neurite_train::TrainConfig;
///
/// let config = TrainConfig::parse("epochs = 3\n[model]\nhidden = [64]\n[optimizer]\nlr = 0.01\n")?;
/// assert_eq!((config.epochs, config.model.hidden.0.clone(), config.optimizer.lr), (3, vec![64], 0.01));
/// assert_eq!(config.batch_size, TrainConfig::default().batch_size);
/// // The flat recipes of earlier versions read as before.
/// assert_eq!(TrainConfig::parse("epochs = 3\nhidden = [64]\nlr = 0.01\n")?, config);
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SmartDefault)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[cfg_attr(feature = "clap", command(next_help_heading = "Training"))]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct TrainConfig {
    /// Passes over the training set (with --resume: the epoch to stop after).
    #[default(20)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub epochs: usize,
    /// Samples per step, or `full` for full-batch gradient descent.
    #[default(BatchSize::Samples(64))]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N|full", allow_negative_numbers = true))]
    pub batch_size: BatchSize,
    /// Seed of everything random: initialisation, split, order, dropout, augmentation.
    #[default(1)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub seed: u64,
    /// The loss: cross-entropy, mse (the course's 1/2N), bce, bce-with-logits, l1 or `huber[:DELTA]`.
    #[cfg_attr(feature = "clap", arg(long, value_name = "NAME"))]
    pub loss: LossKind,
    /// Metrics the test data is measured with besides loss and accuracy, comma-separated:
    /// accuracy, top-K, mae, f1.
    #[cfg_attr(feature = "clap", arg(long, value_name = "LIST"))]
    pub metrics: MetricList,
    /// Augmentation ops for training, comma-separated `NAME[:ARGS][@P]` (`neurite train --help`
    /// lists them; "" = none).
    #[default("crop:pad=2".to_string())]
    #[cfg_attr(feature = "clap", arg(long, value_name = "LIST"))]
    pub augment: String,
    /// L1 penalty λ on the weights (λ·Σ|w|).
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub l1: f32,
    /// Apply l1 as a soft-threshold step after each update, which sets small weights to exactly
    /// zero, instead of by its subgradient λ·sign(w).
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub l1_proximal: bool,
    /// L2 penalty λ on the weights (λ/2·Σw²).
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub l2: f32,
    /// Stop when the monitored metric has not improved for N epochs.
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub early_stopping: Option<usize>,
    /// The metric early-stopping and keep-best watch.
    #[default(Monitor::ValLoss)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "METRIC"))]
    pub monitor: Monitor,
    /// The smallest change of the monitored metric that early-stopping counts as an improvement.
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub min_delta: f64,
    /// Also write best.ckpt, the epoch with the best monitored metric.
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub keep_best: bool,
    /// Draw each activation layer's outputs and gradients and its dead units after every epoch,
    /// on up to 500 validation samples (histograms.png, histograms.csv).
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub histograms: bool,
    /// Cut every batch into S shards whose gradients are summed in shard order: the numbers of a
    /// data-parallel run with S shards, in one process (default: whole batches; 4 when
    /// distributed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "S"))]
    pub shards: Option<usize>,
    /// The backend the run trains on, as the run records it (`simd`, `cpu`); the program picks
    /// it, and [`TrainConfig::init`] refuses another.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub backend: Option<String>,
    /// Worker threads (default: all cores), set for the whole process when the run starts. Not
    /// recorded: the thread count changes no number.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub threads: Option<usize>,
    /// Output folder (default: `runs/<timestamp>`, or the checkpoint's folder when resuming). Not
    /// recorded.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "DIR"))]
    pub out: Option<PathBuf>,
    /// Continue the run saved in this checkpoint, exactly where it stopped. Not recorded: a
    /// resumed run gives what a straight run of the same settings gives.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "CKPT"))]
    pub resume: Option<PathBuf>,
    /// No progress bar (the table of epochs stays). Not recorded: display changes no number.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub quiet: bool,
    /// Where the data comes from.
    #[cfg_attr(feature = "clap", command(flatten, next_help_heading = "Data"))]
    pub data: DataConfig,
    /// The network.
    #[cfg_attr(feature = "clap", command(flatten, next_help_heading = "Model"))]
    pub model: ModelConfig,
    /// The optimizer, its learning-rate schedule and gradient clipping.
    #[cfg_attr(feature = "clap", command(flatten, next_help_heading = "Optimizer"))]
    pub optimizer: OptimizerConfig,
}

/// A settings file that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read, or is larger than [`MAX_RECIPE_BYTES`].
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: neurite_core::fs::ReadError,
    },
    /// The TOML is malformed, has an unknown key or a wrong type.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, one line.
        message: String,
    },
}

impl From<ConfigError> for TrainError {
    fn from(e: ConfigError) -> TrainError {
        TrainError::Invalid(e.to_string())
    }
}

/// The text of a settings file, read within [`MAX_RECIPE_BYTES`].
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let shown = path.display().to_string();
    let bytes = neurite_core::fs::read_bounded(path, MAX_RECIPE_BYTES)
        .map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
    String::from_utf8(bytes).map_err(|_| ConfigError::Parse { path: shown, message: "not UTF-8 text".into() })
}

/// A TOML error as one line, with the line of the text it points at.
fn toml_message(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

impl TrainConfig {
    /// Reads settings TOML, in tables or in the flat form of earlier versions.
    ///
    /// # Errors
    /// The parser's message on one line, with the line it points at.
    pub fn parse(text: &str) -> Result<TrainConfig, String> {
        Self::parse_over(&TrainConfig::default(), text)
    }

    /// Reads settings TOML over `base`: the keys the text sets replace `base`'s, the others stay
    /// (how a recipe file applies over the settings recorded in a checkpoint).
    ///
    /// # Errors
    /// As [`TrainConfig::parse`].
    pub fn parse_over(base: &TrainConfig, text: &str) -> Result<TrainConfig, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| toml_message(&e, text))?;
        let sets = |key: &str| table.contains_key(key);
        let (sets_threads, sets_out, sets_resume, sets_quiet) =
            (sets("threads"), sets("out"), sets("resume"), sets("quiet"));
        if legacy::is_flat(&table) {
            let flat: legacy::FlatRecipe = toml::from_str(text).map_err(|e| {
                let message = toml_message(&e, text);
                if message.contains("unknown field") {
                    // A key of a later version in a recipe of the flat form.
                    format!("{message} (this recipe is in the flat form of earlier versions, which knows the settings of its time; write newer ones in the tables [data], [model] and [optimizer])")
                } else {
                    message
                }
            })?;
            return Ok(flat.over(base.clone()));
        }
        // Alone first, for messages that point at the text's lines.
        toml::from_str::<TrainConfig>(text).map_err(|e| toml_message(&e, text))?;
        let mut merged = toml::Table::try_from(base).map_err(|e| e.to_string())?;
        merge(&mut merged, table);
        let mut config: TrainConfig =
            toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| e.message().replace('\n', " "))?;
        // The settings that are never recorded (so the merged table lacks them) stay the base's,
        // unless the file sets them.
        if !sets_threads {
            config.threads = base.threads;
        }
        if !sets_out {
            config.out.clone_from(&base.out);
        }
        if !sets_resume {
            config.resume.clone_from(&base.resume);
        }
        if !sets_quiet {
            config.quiet = base.quiet;
        }
        Ok(config)
    }

    /// Reads a settings file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn load(path: &Path) -> Result<TrainConfig, ConfigError> {
        Self::load_over(&TrainConfig::default(), path)
    }

    /// Reads a settings file over `base` (see [`TrainConfig::parse_over`]).
    ///
    /// # Errors
    /// As [`TrainConfig::load`].
    pub fn load_over(base: &TrainConfig, path: &Path) -> Result<TrainConfig, ConfigError> {
        let text = read_text(path)?;
        Self::parse_over(base, &text)
            .map_err(|message| ConfigError::Parse { path: path.display().to_string(), message })
    }

    /// The settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("settings always serialise")
    }

    /// Checks every setting that can be checked without data.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming the setting and what it accepts.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.check().map_err(TrainError::Invalid)
    }

    fn check(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if let BatchSize::Samples(0) = self.batch_size {
            return Err("batch-size must be at least 1 (or `full`)".into());
        }
        if !self.augment.trim().is_empty() {
            neurite_augment::spec::parse_pipeline(&self.augment).map_err(|e| e.to_string())?;
        }
        match self.loss {
            LossKind::Huber(delta) if !(delta.is_finite() && delta > 0.0) => {
                return Err(format!("loss huber:{delta}: the threshold must be a positive number"));
            }
            LossKind::SmoothedCrossEntropy(eps) if !(0.0..1.0).contains(&eps) => {
                return Err(format!("loss cross-entropy:{eps}: the label smoothing must be in [0, 1)"));
            }
            _ => {}
        }
        for (name, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{name} must be a non-negative number, got {v}"));
            }
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(format!("min-delta must be a non-negative number, got {}", self.min_delta));
        }
        if self.early_stopping == Some(0) {
            return Err("early-stopping needs a patience of at least 1 epoch".into());
        }
        if (self.early_stopping.is_some() || self.keep_best) && self.data.val_split == 0.0 {
            return Err("early-stopping and keep-best watch the validation split; val-split must be above 0".into());
        }
        match (self.shards, self.batch_size) {
            (Some(0), _) => return Err("shards must be at least 1".into()),
            (Some(s), BatchSize::Samples(b)) if s > b => {
                return Err(format!(
                    "shards {s} is more than the batch size {b}; every shard needs a sample (set shards to {b} or fewer)"
                ));
            }
            (Some(s), _) if s > MAX_SHARDS => return Err(format!("shards {s}: at most {MAX_SHARDS} are supported")),
            _ => {}
        }
        match self.threads {
            Some(0) => return Err("threads must be at least 1".into()),
            Some(n) if n > MAX_THREADS => return Err(format!("threads {n}: at most {MAX_THREADS} are supported")),
            _ => {}
        }
        self.data.check()?;
        self.model.check()?;
        self.optimizer.check(self.epochs)
    }

    /// What a run records of its settings (`recipe.toml` and the checkpoint): everything that
    /// changes its numbers, which leaves out `threads`, `out`, `resume` and `quiet`.
    pub fn for_output(&self) -> String {
        self.to_toml()
    }

    /// The output folder these settings name: `out`, else the folder of the checkpoint they
    /// resume; `None` for a new folder under `runs/`.
    pub fn output_folder(&self) -> Option<PathBuf> {
        match (&self.out, &self.resume) {
            (Some(out), _) => Some(out.clone()),
            (None, Some(ckpt)) => Some(folder_of(ckpt).to_path_buf()),
            (None, None) => None,
        }
    }

    /// The [`Progress`](crate::Progress) callback these settings ask for: the bar and the table
    /// of `neurite train`, without the bar when `quiet`.
    pub fn progress(&self) -> crate::Progress {
        if self.quiet { crate::Progress::new().without_bar() } else { crate::Progress::new() }
    }

    /// The settings of a run as `neurite train` lays them: the defaults — or, when the run
    /// resumes a checkpoint (`resume` given by `overrides` or by the recipe file), the settings
    /// that checkpoint recorded — then the keys of the recipe file, then `overrides` (the flags),
    /// with the checkpoint read once; checked.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for a recipe file or a checkpoint that cannot be read, for
    /// overrides that fail, and for settings that do not pass [`TrainConfig::validate`].
    pub fn layered<E: std::fmt::Display>(
        recipe: Option<&Path>,
        overrides: impl Fn(&mut TrainConfig) -> Result<(), E>,
    ) -> Result<(TrainConfig, Option<Resumed>), TrainError> {
        let failed = |e: E| TrainError::Invalid(e.to_string());
        let mut flags = TrainConfig::default();
        overrides(&mut flags).map_err(failed)?;
        let text = recipe.map(read_text).transpose()?;
        let shown = || recipe.map(|p| p.display().to_string()).unwrap_or_default();
        let parse_error = |message: String| TrainError::from(ConfigError::Parse { path: shown(), message });
        let resume = match (&flags.resume, &text) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(text)) => TrainConfig::parse(text).map_err(parse_error)?.resume,
            (None, None) => None,
        };
        let resumed = resume.as_deref().map(Resumed::read).transpose()?;
        let mut config = resumed.as_ref().map_or_else(TrainConfig::default, |r| r.config.clone());
        if let Some(text) = &text {
            config = TrainConfig::parse_over(&config, text).map_err(parse_error)?;
        }
        overrides(&mut config).map_err(failed)?;
        config.resume = resume;
        config.validate()?;
        if let Some(path) = recipe {
            config.check_reads("--recipe", path)?;
        }
        Ok((config, resumed))
    }

    /// Checks that `path`, which the run reads (given as `what`), is not a file the run writes.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming both.
    pub fn check_reads(&self, what: &str, path: &Path) -> Result<(), TrainError> {
        let Some(dir) = self.output_folder() else { return Ok(()) };
        if OutputDir::would_overwrite(&dir, RUN_FILES, path, self.resume.as_deref()) {
            return Err(TrainError::Invalid(format!(
                "{what} {} is a file this run writes into {}; use a copy of it",
                path.display(),
                dir.display()
            )));
        }
        Ok(())
    }

    /// Reads the data, builds the network, the optimizer and the learner, and claims the output
    /// folder; with `resume` set, continues the checkpoint it names.
    ///
    /// # Errors
    /// As [`TrainConfig::init_with`], and for a checkpoint to resume that cannot be read.
    pub fn init<B: Backend>(&self) -> Result<Run<B>, TrainError> {
        let resumed = self.resume.as_deref().map(Resumed::read).transpose()?;
        if let Some(r) = &resumed {
            self.check_continues(r)?;
        }
        self.init_with(resumed, None)
    }

    /// Checks that these settings continue the run `resumed` recorded: the same in everything
    /// that changes the numbers but the number of epochs (and the backend, when these name none).
    /// (A caller that means to change a setting on resuming starts from `resumed.config`, as
    /// [`TrainConfig::layered`] does, and calls [`TrainConfig::init_with`].)
    fn check_continues(&self, resumed: &Resumed) -> Result<(), TrainError> {
        let comparable = |c: &TrainConfig| {
            // Neither how many threads prepare the data nor whether it streams changes a number.
            let data = DataConfig { workers: 0, stream: false, ..c.data.resolved() };
            let c = TrainConfig { epochs: 0, backend: self.backend.clone(), data, ..c.clone() };
            toml::Table::try_from(c).unwrap_or_default()
        };
        match first_difference(&comparable(self), &comparable(&resumed.config), "") {
            None => Ok(()),
            Some(key) => Err(TrainError::Invalid(format!(
                "`{key}` differs from the setting {} recorded; to resume, start from `Resumed::read(…).config` \
                 (or `TrainConfig::layered`) and change what you mean to",
                resumed.origin
            ))),
        }
    }

    /// Like [`TrainConfig::init`], continuing `resumed` (read once by the caller, who took its
    /// settings as the base of these) and, with `ranks`, training data-parallel on them: every
    /// rank calls it, rank 0 alone claims the output folder, and if any rank cannot start, none
    /// does.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for settings, data, a network or a checkpoint that cannot work,
    /// or an output folder that cannot be claimed; nothing is written then.
    pub fn init_with<B: Backend>(
        &self,
        resumed: Option<Resumed>,
        ranks: Option<Box<dyn Communicator>>,
    ) -> Result<Run<B>, TrainError> {
        let planned = self.plan::<B>(resumed, ranks.as_deref());
        let Some(comm) = ranks else { return planned.map(|run| run.sharded(None)) };
        // Every rank has planned; all go on together, or all stop.
        match distributed::first_failure(comm.as_ref(), planned.is_err()) {
            None => planned.map(|run| run.sharded(Some(comm))),
            Some(first) => match planned {
                Err(e) if first != 0 => Err(TrainError::Invalid(format!("rank {first} of {}: {e}", comm.size()))),
                Err(e) => Err(e),
                Ok(_) => Err(TrainError::Invalid(format!("rank {first} could not start"))),
            },
        }
    }

    /// Everything a run needs, checked and built, before the learner trains.
    fn plan<B: Backend>(
        &self,
        resumed: Option<Resumed>,
        ranks: Option<&dyn Communicator>,
    ) -> Result<Run<B>, TrainError> {
        let writer = ranks.is_none_or(|c| c.rank() == 0);
        let mut config = self.clone();
        if ranks.is_some() {
            config.shards.get_or_insert(DEFAULT_SHARDS);
        }
        config.validate()?;
        set_threads(config.threads.or_else(|| ranks.and_then(|_| distributed::threads_per_rank())))?;
        match &config.backend {
            Some(name) if name != B::name() => {
                return Err(TrainError::Invalid(format!(
                    "the settings name backend `{name}`, but this run is on `{}`",
                    B::name()
                )));
            }
            _ => config.backend = Some(B::name().to_string()),
        }
        if let Some(r) = &resumed {
            if r.state.epoch >= config.epochs {
                return Err(TrainError::Invalid(format!(
                    "{} has already trained {} epochs; pass --epochs N with N > {} to continue",
                    r.origin, r.state.epoch, r.state.epoch
                )));
            }
        }
        for (what, path) in [("--train-data", &config.data.train_data), ("--test-data", &config.data.test_data)] {
            if let Some(path) = path {
                config.check_reads(what, path)?;
            }
        }
        let invalid = |e: &dyn std::fmt::Display| TrainError::Invalid(e.to_string());
        let data = config.data.load(config.seed).map_err(|e| invalid(&e))?;
        let input = data.input;
        let preprocessing = match input.channels {
            1 => Preprocessing::unit(Layout::Nchw),
            _ => data.train.standardized(Layout::Nchw).map_err(|e| invalid(&e))?,
        };
        let pipeline = if config.augment.trim().is_empty() {
            None
        } else {
            let pipeline = neurite_augment::spec::parse_pipeline(&config.augment).map_err(|e| invalid(&e))?;
            let after = pipeline.output_size(input);
            if after != input {
                return Err(TrainError::Invalid(format!(
                    "augment `{}` turns {}×{} images into {}×{}; training images must keep their size",
                    config.augment, input.width, input.height, after.width, after.height
                )));
            }
            Some(pipeline)
        };
        let classes = data.class_names.len();
        let dims = [input.channels, input.height, input.width];
        let kind = config.model.name();
        let architecture = config.model.architecture(dims, classes).map_err(|e| TrainError::Invalid(e.to_string()))?;
        let batch = match config.batch_size {
            BatchSize::Full => data.train.len(),
            BatchSize::Samples(k) => k.min(data.train.len()),
        };
        let largest_eval =
            data.validation.as_ref().map_or(0, ImageSet::len).max(data.test.as_ref().map_or(0, |t| t.dataset.len()));
        let eval = EVAL_BATCH.min(largest_eval.max(1));
        let footprint = Footprint::of(&architecture, &[1, dims[0], dims[1], dims[2]])
            .map_err(|e| TrainError::Invalid(format!("model {kind}: {e}")))?;
        let budget = Budget::from_env().map_err(TrainError::Invalid)?;
        budget
            .check(format!("training the {kind} on batches of {batch}"), footprint.training_bytes(batch))
            .map_err(|e| invalid(&e))?;
        budget
            .check(format!("evaluating it on batches of {eval}"), footprint.inference_bytes(eval))
            .map_err(|e| invalid(&e))?;
        config.data = config.data.resolved();
        let out = match (&config.out, &config.resume) {
            _ if !writer => None,
            (Some(out), _) => Some(OutputDir::claim(out, config.resume.as_deref(), RUN_FILES)?),
            (None, Some(ckpt)) => Some(OutputDir::claim(folder_of(ckpt), Some(ckpt), RUN_FILES)?),
            (None, None) => {
                Some(OutputDir::claim_new(Path::new("runs"), &utc_stamp(std::time::SystemTime::now()), RUN_FILES)?)
            }
        };
        let model = config.model.init::<B>(dims, classes, config.seed).map_err(TrainError::Invalid)?;
        let optimizer = config.optimizer.init::<B>().map_err(|e| TrainError::Invalid(format!("optimizer: {e}")))?;
        let schedule =
            config.optimizer.schedule(config.epochs).map_err(|e| TrainError::Invalid(format!("schedule: {e}")))?;
        let recorded = config.for_output();
        let mut learner = Learner::new(model, optimizer)
            .shared_loss(config.loss.build::<B>())
            .boxed_schedule(schedule)
            .batch_size(config.batch_size)
            .epochs(config.epochs)
            .seed(config.seed)
            .preprocessing(preprocessing)
            .class_names(data.class_names.clone())
            .workers(config.data.workers)
            .metadata(BACKGROUND_KEY, if data.light_background { "light" } else { "dark" })
            .metadata(RECIPE_KEY, recorded.clone())
            .output_file(RECIPE_FILE, recorded)
            .title(format!("{kind}, {} lr {}", config.optimizer.kind, config.optimizer.lr));
        if let Some(out) = &out {
            learner = learner.output_dir(out.path());
        }
        if let Some(fit) = data.fit {
            learner = learner.metadata(RESIZE_KEY, fit.name());
        }
        let l1 = if config.l1_proximal { Penalty::L1Proximal(config.l1) } else { Penalty::L1(config.l1) };
        for penalty in [l1, Penalty::L2(config.l2)] {
            learner = learner.penalty(penalty);
        }
        if let Some(clip) = config.optimizer.clip().map_err(|e| invalid(&e))? {
            learner = learner.clip(clip);
        }
        if let Some(patience) = config.early_stopping {
            learner = learner.early_stopping(EarlyStopping {
                min_delta: config.min_delta,
                ..EarlyStopping::new(config.monitor, patience)
            });
        }
        if config.keep_best {
            learner = learner.keep_best(config.monitor);
        }
        if let Some(pipeline) = pipeline {
            learner = learner.augment(pipeline);
        }
        let resumed_from = match resumed {
            Some(r) => {
                learner = learner.resume_with(&r.checkpoint, r.state, &r.origin)?;
                Some(r.origin)
            }
            None => None,
        };
        if config.histograms {
            learner = with_histograms(learner, &data, &preprocessing, config.model.kind)?;
        }
        let dir = out.as_ref().map(|o| o.path().to_path_buf());
        Ok(Run { learner, config, data, out, dir, resumed_from, input })
    }
}

impl<B: Backend> Run<B> {
    /// The planned run, cut into shards on `ranks` (or in one process, with `shards` set).
    fn sharded(mut self, ranks: Option<Box<dyn Communicator>>) -> Run<B> {
        let sharding = match (ranks, self.config.shards) {
            // (`plan` set the default number of shards for a run on ranks.)
            (Some(comm), shards) => Some((comm, shards.unwrap_or(DEFAULT_SHARDS))),
            (None, Some(shards)) => Some((Box::new(SingleProcess) as Box<dyn Communicator>, shards)),
            (None, None) => None,
        };
        if let Some((comm, shards)) = sharding {
            self.learner.set_data_parallel(DataParallel::new(comm, shards));
        }
        self
    }
}

/// Records each activation layer's outputs and gradients on a fixed batch after every epoch
/// (`histograms`), and draws them into the output folder.
fn with_histograms<B: Backend>(
    learner: Learner<B, Sequential<B>>,
    data: &RunData,
    preprocessing: &Preprocessing,
    kind: ModelKind,
) -> Result<Learner<B, Sequential<B>>, TrainError> {
    let probe = data.validation.as_ref().unwrap_or(&data.train);
    let probe = probe.head(HISTOGRAM_PROBE).map_err(|e| TrainError::Invalid(e.to_string()))?;
    let (x, labels) = probe.to_tensors::<B>(preprocessing);
    let targets = Tensor::<B>::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]);
    let mut recorder = Recorder::new(x, targets.one_hot(data.class_names.len()));
    let mut learner = learner;
    let epoch = learner.epoch();
    recorder.record(learner.model_mut(), epoch);
    let title = kind.to_string();
    Ok(learner.after_epoch(move |model, epoch, dir| {
        recorder.record(model, epoch);
        let Some(dir) = dir else { return Ok(()) };
        let failed = |path: &Path, e: &dyn std::fmt::Display| TrainError::Write {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let png = dir.join(HISTOGRAMS_FILE);
        recorder.save(&png, &title).map_err(|e| failed(&png, &e))?;
        let csv = dir.join(HISTOGRAMS_CSV);
        neurite_core::fs::write_atomic(&csv, recorder.to_csv().as_bytes()).map_err(|e| failed(&csv, &e))
    }))
}

/// Sizes rayon's global pool to `threads` (once per process; absent = one thread per core). A
/// pool already built at that size is fine; at another, it is an error.
///
/// # Errors
/// [`TrainError::Invalid`] for 0 threads, more than [`MAX_THREADS`], or a pool already built at
/// another size.
pub fn set_threads(threads: Option<usize>) -> Result<(), TrainError> {
    let Some(n) = threads else { return Ok(()) };
    if n == 0 || n > MAX_THREADS {
        return Err(TrainError::Invalid(format!("threads {n}: give 1 to {MAX_THREADS}")));
    }
    match rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(e) => Err(TrainError::Invalid(format!(
            "threads {n}: this process already works with {} threads ({e})",
            rayon::current_num_threads()
        ))),
    }
}

/// The folder of a checkpoint (`.` for a bare file name).
fn folder_of(checkpoint: &Path) -> &Path {
    checkpoint.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The first key (`optimizer.lr`) whose value differs between two settings tables.
fn first_difference(a: &toml::Table, b: &toml::Table, prefix: &str) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().find_map(|key| {
        let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (a.get(key), b.get(key)) {
            (Some(toml::Value::Table(x)), Some(toml::Value::Table(y))) => first_difference(x, y, &name),
            (x, y) if x == y => None,
            _ => Some(name),
        }
    })
}

/// Adds `overlay`'s keys to `base`, table into table.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(more)) => merge(inner, more),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A checkpoint of a training run, read once: the checkpoint, its training state and the
/// settings it recorded.
pub struct Resumed {
    /// The path, as given.
    pub origin: String,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Its training state.
    pub state: TrainState,
    /// The settings of the run that wrote it.
    pub config: TrainConfig,
}

impl Resumed {
    /// Reads the checkpoint at `path`.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] for a file that is not a checkpoint; [`TrainError::Invalid`]
    /// for one that is not of a training run or whose records do not read.
    pub fn read(path: &Path) -> Result<Resumed, TrainError> {
        let origin = path.display().to_string();
        let checkpoint = Checkpoint::load(path)?;
        let text = checkpoint.metadata(RECIPE_KEY).ok_or_else(|| {
            TrainError::Invalid(format!(
                "{origin}: not a checkpoint of `neurite train` (metadata `{RECIPE_KEY}` is missing)"
            ))
        })?;
        let config =
            TrainConfig::parse(text).map_err(|e| TrainError::Invalid(format!("{origin}: recorded recipe: {e}")))?;
        let state = TrainState::read_from(&checkpoint, &origin).map_err(TrainError::Invalid)?;
        Ok(Resumed { origin, checkpoint, state, config: TrainConfig { resume: Some(path.to_path_buf()), ..config } })
    }
}

/// A training run ready to go: its settings (resolved: data paths absolute, the backend named),
/// its data, a [`Learner`] and the output folder it has claimed.
pub struct Run<B: Backend> {
    /// The learner, with the network, the optimizer and every setting.
    pub learner: Learner<B, Sequential<B>>,
    /// The settings, as recorded.
    pub config: TrainConfig,
    /// The training, validation and test data.
    pub data: RunData,
    out: Option<OutputDir>,
    /// The output folder's path (kept when the claim on it ends).
    dir: Option<PathBuf>,
    resumed_from: Option<String>,
    input: ImageSize,
}

/// How a [`Run`] ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// How training ended.
    pub fit: FitReport,
    /// The evaluation on the test data, if any.
    pub test: Option<Evaluation>,
}

impl<B: Backend> Run<B> {
    /// The output folder (none on the ranks of a data-parallel run other than 0).
    pub fn output_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The checkpoint the run continues, as given.
    pub fn resumed_from(&self) -> Option<&str> {
        self.resumed_from.as_deref()
    }

    /// The size of one input image.
    pub fn input(&self) -> ImageSize {
        self.input
    }

    /// Trains, reporting to `callbacks` after the learner's own (early stopping, keep-best), then
    /// evaluates the test data. The output folder is kept when the run wrote a checkpoint, and
    /// removed if it fails before its first.
    ///
    /// # Errors
    /// As [`Learner::fit`].
    pub fn fit(&mut self, callbacks: &mut dyn Callback) -> Result<RunReport, TrainError> {
        let fitted = self.fit_here(callbacks);
        if fitted.is_ok() {
            if let Some(out) = self.out.take() {
                out.finish();
            }
        }
        fitted
    }

    fn fit_here(&mut self, callbacks: &mut dyn Callback) -> Result<RunReport, TrainError> {
        let fit = self.learner.fit(&self.data.train, self.data.validation.as_ref().map(|v| v as _), callbacks)?;
        let test = match &self.data.test {
            Some(test) => {
                let preprocessing = self.learner.preprocessing_in_use();
                let model = self.learner.model_mut();
                let loss = self.config.loss.build::<B>();
                let mut metrics = self.config.metrics.build();
                let mut metrics: Vec<&mut dyn crate::Metric> = metrics.iter_mut().map(|m| m.as_mut() as _).collect();
                Some(evaluate_with(model, &test.dataset, preprocessing, loss.as_ref(), &mut metrics)?)
            }
            None => None,
        };
        Ok(RunReport { fit, test })
    }

    /// The trained network (in evaluation mode after [`Run::fit`]).
    pub fn into_model(self) -> Sequential<B> {
        self.learner.into_model()
    }
}

/// The flat recipes of Neurite before [`TrainConfig`] had tables: every setting at the top
/// level, under the names it still has. They read as before, into the tables.
mod legacy {
    use super::*;

    /// Keys that only the flat form has at the top level.
    const FLAT_ONLY: &[&str] = &[
        "hidden",
        "filters",
        "convs",
        "kernel",
        "dense",
        "activation",
        "init",
        "batch-norm",
        "dropout",
        "input-dropout",
        "lr",
        "schedule",
        "warmup",
        "momentum",
        "beta1",
        "beta2",
        "weight-decay",
        "clip-norm",
        "clip-value",
        "train-data",
        "test-data",
        "val-split",
        "grey",
        "quiet",
    ];

    /// Whether `table` is a recipe in the flat form: no table of its own, and a key only the
    /// flat form has, or the model or optimizer named by a string.
    pub(super) fn is_flat(table: &toml::Table) -> bool {
        let tables = ["data", "model", "optimizer"].iter().any(|k| table.get(*k).is_some_and(toml::Value::is_table));
        let named = ["model", "optimizer"].iter().any(|k| table.get(*k).is_some_and(toml::Value::is_str));
        !tables && (named || FLAT_ONLY.iter().any(|k| table.contains_key(*k)))
    }

    /// Every key of a flat recipe; the ones given replace the base's.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    pub(super) struct FlatRecipe {
        model: Option<ModelKind>,
        hidden: Option<Widths>,
        filters: Option<Widths>,
        convs: Option<usize>,
        kernel: Option<usize>,
        dense: Option<Widths>,
        activation: Option<Activation>,
        init: Option<Init>,
        optimizer: Option<OptimizerKind>,
        lr: Option<f32>,
        schedule: Option<ScheduleSpec>,
        warmup: Option<usize>,
        momentum: Option<f32>,
        beta1: Option<f32>,
        beta2: Option<f32>,
        weight_decay: Option<f32>,
        clip_norm: Option<f32>,
        clip_value: Option<f32>,
        batch_size: Option<BatchSize>,
        epochs: Option<usize>,
        early_stopping: Option<usize>,
        monitor: Option<Monitor>,
        keep_best: Option<bool>,
        l1: Option<f32>,
        l1_proximal: Option<bool>,
        l2: Option<f32>,
        dropout: Option<f32>,
        input_dropout: Option<f32>,
        batch_norm: Option<bool>,
        histograms: Option<bool>,
        augment: Option<String>,
        shards: Option<usize>,
        train_data: Option<PathBuf>,
        test_data: Option<PathBuf>,
        val_split: Option<f32>,
        grey: Option<bool>,
        seed: Option<u64>,
        backend: Option<String>,
        threads: Option<usize>,
        out: Option<PathBuf>,
        resume: Option<PathBuf>,
        quiet: Option<bool>,
    }

    impl FlatRecipe {
        /// `base` with every key this recipe gives.
        pub(super) fn over(self, base: TrainConfig) -> TrainConfig {
            let mut c = base;
            macro_rules! set {
                ($($from:ident => $($to:ident).+),* $(,)?) => {$(
                    if let Some(v) = self.$from {
                        c.$($to).+ = v;
                    }
                )*};
            }
            macro_rules! set_some {
                ($($from:ident => $($to:ident).+),* $(,)?) => {$(
                    if let Some(v) = self.$from {
                        c.$($to).+ = Some(v);
                    }
                )*};
            }
            set!(
                model => model.kind, hidden => model.hidden, filters => model.filters, convs => model.convs,
                kernel => model.kernel, dense => model.dense, activation => model.activation, init => model.init,
                batch_norm => model.batch_norm, dropout => model.dropout, input_dropout => model.input_dropout,
                optimizer => optimizer.kind, lr => optimizer.lr, schedule => optimizer.schedule,
                warmup => optimizer.warmup, momentum => optimizer.momentum, beta1 => optimizer.beta1,
                beta2 => optimizer.beta2, batch_size => batch_size, epochs => epochs, monitor => monitor,
                keep_best => keep_best, l1 => l1, l1_proximal => l1_proximal, l2 => l2, histograms => histograms,
                augment => augment, val_split => data.val_split, grey => data.grey, seed => seed, quiet => quiet,
            );
            set_some!(
                weight_decay => optimizer.weight_decay, clip_norm => optimizer.clip_norm,
                clip_value => optimizer.clip_value, early_stopping => early_stopping, shards => shards,
                train_data => data.train_data, test_data => data.test_data, backend => backend,
                threads => threads, out => out, resume => resume,
            );
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_toml() {
        let mut c = TrainConfig { batch_size: BatchSize::Full, epochs: 3, ..TrainConfig::default() };
        c.model.hidden = Widths(vec![100, 100]);
        c.data.train_data = Some(PathBuf::from("data/mnist"));
        c.optimizer.clip_norm = Some(2.0);
        let text = c.to_toml();
        assert!(text.contains("[model]\ntype = \"mlp\"\nhidden = [100, 100]"), "{text}");
        assert_eq!(TrainConfig::parse(&text), Ok(c));
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_fail_with_their_line() {
        let c = TrainConfig::parse("epochs = 3\nbatch-size = 32\n").expect("parses");
        assert_eq!((c.epochs, c.batch_size, c.optimizer.lr), (3, BatchSize::Samples(32), 1e-3));
        let err = TrainConfig::parse("epochs = 3\n[optimizer]\nlearning-rate = 0.1\n").unwrap_err();
        assert!(err.starts_with("line 3: unknown field `learning-rate`"), "{err}");
        let err = TrainConfig::parse("epochs = \"three\"\n").unwrap_err();
        assert!(err.starts_with("line 1: invalid type"), "{err}");
        let err = TrainConfig::parse("epochs = 3\nlearning-rate = 0.1\n").unwrap_err();
        assert!(err.starts_with("line 2: unknown field `learning-rate`"), "{err}");
    }

    #[test]
    fn the_flat_form_reads_into_the_tables() {
        let flat = "model = \"cnn\"\nfilters = [8]\noptimizer = \"sgd\"\nlr = 0.05\nclip-norm = 1.5\n\
                    train-data = \"data/x\"\nval-split = 0.2\nquiet = true\nthreads = 2\n";
        let c = TrainConfig::parse(flat).expect("parses");
        assert_eq!((c.model.kind, c.model.filters.0.clone()), (ModelKind::Cnn, vec![8]));
        assert_eq!((c.optimizer.kind, c.optimizer.lr, c.optimizer.clip_norm), (OptimizerKind::Sgd, 0.05, Some(1.5)));
        assert_eq!((c.data.train_data.clone(), c.data.val_split, c.threads), (Some("data/x".into()), 0.2, Some(2)));
        let err = TrainConfig::parse("model = \"cnn\"\nhiden = [8]\n").unwrap_err();
        assert!(err.starts_with("line 2: unknown field `hiden`"), "{err}");
    }

    #[test]
    fn a_file_applies_over_a_base_table_by_table() {
        let base = TrainConfig::parse("seed = 42\nepochs = 2\n[model]\ntype = \"cnn\"\nkernel = 3\n").expect("parses");
        let merged = TrainConfig::parse_over(&base, "epochs = 7\n[model]\ndropout = 0.5\n").expect("parses");
        assert_eq!((merged.seed, merged.epochs), (42, 7));
        assert_eq!((merged.model.kind, merged.model.kernel, merged.model.dropout), (ModelKind::Cnn, 3, 0.5));
        let flat = TrainConfig::parse_over(&base, "lr = 0.5\n").expect("parses");
        assert_eq!((flat.model.kernel, flat.optimizer.lr), (3, 0.5));
    }

    #[test]
    fn a_file_may_set_what_a_run_does_not_record() {
        let base = TrainConfig { threads: Some(2), quiet: true, ..TrainConfig::default() };
        let c =
            TrainConfig::parse_over(&base, "out = \"runs/x\"\nresume = \"runs/x/model.ckpt\"\n[model]\nhidden = [4]\n")
                .expect("parses");
        assert_eq!((c.out, c.resume), (Some("runs/x".into()), Some("runs/x/model.ckpt".into())));
        assert_eq!((c.threads, c.quiet), (Some(2), true), "the base's, where the file says nothing");
        let c = TrainConfig::parse_over(&base, "threads = 1\nquiet = false\n[model]\nhidden = [4]\n").expect("parses");
        assert_eq!((c.threads, c.quiet), (Some(1), false));
        // The flat form reads them as before.
        assert!(TrainConfig::parse("quiet = true\nhidden = [4]\n").expect("parses").quiet);
    }

    #[test]
    fn a_newer_key_in_a_flat_recipe_says_why_it_is_unknown() {
        let err = TrainConfig::parse("hidden = [4]\nmin-delta = 0.1\n").unwrap_err();
        assert!(err.starts_with("line 2: unknown field `min-delta`"), "{err}");
        assert!(err.contains("flat form of earlier versions"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let check = |c: TrainConfig| c.validate().unwrap_err().to_string();
        let mut c = TrainConfig::default();
        c.optimizer.lr = -1.0;
        assert_eq!(check(c), "lr must be a positive number, got -1");
        let mut c = TrainConfig::default();
        c.model.dropout = 1.0;
        assert_eq!(check(c), "dropout must be in [0, 1), got 1");
        assert_eq!(
            check(TrainConfig { batch_size: BatchSize::Samples(0), ..Default::default() }),
            "batch-size must be at least 1 (or `full`)"
        );
        let mut c = TrainConfig { keep_best: true, ..Default::default() };
        c.data.val_split = 0.0;
        assert_eq!(check(c), "early-stopping and keep-best watch the validation split; val-split must be above 0");
        assert_eq!(
            check(TrainConfig { augment: "flip,twirl".into(), ..Default::default() }).split(':').next(),
            Some("augment")
        );
        assert_eq!(
            check(TrainConfig { loss: LossKind::Huber(-1.0), ..Default::default() }),
            "loss huber:-1: the threshold must be a positive number"
        );
        assert_eq!(
            check(TrainConfig { loss: LossKind::SmoothedCrossEntropy(1.0), ..Default::default() }),
            "loss cross-entropy:1: the label smoothing must be in [0, 1)"
        );
        assert!(TrainConfig::default().validate().is_ok());
    }

    #[test]
    fn the_record_leaves_out_what_changes_no_number() {
        let c = TrainConfig {
            out: Some("runs/a".into()),
            resume: Some("runs/a/model.ckpt".into()),
            threads: Some(2),
            ..TrainConfig::default()
        };
        let text = c.for_output();
        assert_eq!(text, TrainConfig::default().for_output());
        assert_eq!(TrainConfig::parse(&text), Ok(TrainConfig::default()));
    }

    #[test]
    fn stamps_are_utc_calendar_dates() {
        let t = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(utc_stamp(t(0)), "19700101-000000");
        // 2024-02-29 12:34:56 UTC
        assert_eq!(utc_stamp(t(1_709_210_096)), "20240229-123456");
    }
}
