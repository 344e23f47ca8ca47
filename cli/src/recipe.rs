//! Training recipes: every setting of `neurite train` that changes its numbers, in one serde
//! struct read from TOML (`--recipe FILE`), overridden by flags, validated, and written back beside
//! the run's outputs (`recipe.toml`) so the run can be repeated exactly. Display and machine
//! settings (`quiet`, `threads`) and where the run goes (`out`, `resume`) are flags that a recipe
//! may set but a run never writes. Unknown keys and wrong types are errors. Every choice is an
//! enum that clap lists in `--help` and serde reads from the same names.

use std::fmt;
use std::path::{Path, PathBuf};

use neurite_optim::ScheduleSpec;
pub use neurite_train::BatchSize;
use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;

/// Which network `neurite train` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Fully connected: flatten, hidden layers, one output per class.
    Mlp,
    /// Two conv blocks (16 and 32 filters, 5×5, max-pool 2) and a linear classifier.
    Cnn,
}

/// The hidden layers' activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ActivationKind {
    /// max(x, 0).
    Relu,
    /// 1/(1 + e⁻ˣ).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// x, or 0.01x below 0.
    LeakyRelu,
}

/// The optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Plain gradient descent.
    Sgd,
    /// Momentum.
    Momentum,
    /// Nesterov momentum.
    Nesterov,
    /// AdaGrad.
    Adagrad,
    /// RMSProp.
    Rmsprop,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// The validation metric early stopping and `keep-best` watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MonitorKind {
    /// Validation loss, lower is better.
    ValLoss,
    /// Validation accuracy, higher is better.
    ValAcc,
}

/// Names as clap and serde spell them (`leaky-relu`), for messages and `--help` defaults.
macro_rules! display_as_value {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let value = clap::ValueEnum::to_possible_value(self).expect("no variant is skipped");
                f.write_str(value.get_name())
            }
        }
    )*};
}
display_as_value!(ModelKind, ActivationKind, OptimizerKind, MonitorKind);

/// The weight initializer: `he`, `xavier`, `zeros` or `normal:STD`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum InitChoice {
    /// randn·√(2/n_in)
    He,
    /// randn/√n_in
    Xavier,
    /// All zeros.
    Zeros,
    /// N(0, σ²).
    Normal(f32),
}

impl std::str::FromStr for InitChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<InitChoice, String> {
        match s {
            "he" => Ok(InitChoice::He),
            "xavier" => Ok(InitChoice::Xavier),
            "zeros" => Ok(InitChoice::Zeros),
            _ => match s.strip_prefix("normal:").map(str::parse::<f32>) {
                Some(Ok(std)) if std.is_finite() && std > 0.0 => Ok(InitChoice::Normal(std)),
                _ => Err(format!("unknown init `{s}`; choose he, xavier, zeros or normal:STD (STD > 0)")),
            },
        }
    }
}

impl fmt::Display for InitChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitChoice::He => f.write_str("he"),
            InitChoice::Xavier => f.write_str("xavier"),
            InitChoice::Zeros => f.write_str("zeros"),
            InitChoice::Normal(std) => write!(f, "normal:{std}"),
        }
    }
}

impl TryFrom<String> for InitChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<InitChoice> for String {
    fn from(init: InitChoice) -> String {
        init.to_string()
    }
}

/// Parses `--hidden 512,256` (or `--filters`, `--dense`) into layer widths (an empty list means
/// no layer).
///
/// # Errors
/// A one-line message naming the bad width.
pub fn parse_hidden(s: &str) -> Result<Vec<usize>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|w| {
            w.trim().parse::<usize>().map_err(|_| format!("width `{}` is not a whole number (e.g. 512,256)", w.trim()))
        })
        .collect()
}

/// The most shards a batch may be cut into (every shard is a forward and backward pass).
pub const MAX_SHARDS: usize = 4096;

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct Recipe {
    /// The network.
    pub model: ModelKind,
    /// Hidden layer widths of the MLP.
    pub hidden: Vec<usize>,
    /// Filters of each convolution block of the CNN.
    pub filters: Vec<usize>,
    /// Convolutions per block of the CNN.
    pub convs: usize,
    /// Kernel side of the CNN's convolutions.
    pub kernel: usize,
    /// Widths of the CNN's dense hidden layers before its classifier.
    pub dense: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: ActivationKind,
    /// The weight initializer.
    pub init: InitChoice,
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Learning rate (the base rate of a schedule).
    pub lr: f32,
    /// How the learning rate changes from epoch to epoch.
    pub schedule: ScheduleSpec,
    /// Epochs of linear warm-up before the schedule.
    pub warmup: usize,
    /// Momentum γ of `momentum` and `nesterov`.
    pub momentum: f32,
    /// β₁ of Adam and AdamW.
    pub beta1: f32,
    /// β₂ of Adam and AdamW.
    pub beta2: f32,
    /// Weight decay λ of the optimizer (coupled; decoupled for AdamW, whose default is 0.01).
    pub weight_decay: Option<f32>,
    /// Clip the gradients' global norm to this.
    pub clip_norm: Option<f32>,
    /// Clip every gradient value to ±this.
    pub clip_value: Option<f32>,
    /// Samples per step, or `full`.
    pub batch_size: BatchSize,
    /// Passes over the training set (with `resume`: the epoch to stop after).
    pub epochs: usize,
    /// Stop when the watched metric has not improved for this many epochs.
    pub early_stopping: Option<usize>,
    /// The metric early stopping and `keep-best` watch.
    pub monitor: MonitorKind,
    /// Also write `best.ckpt`, the epoch with the best watched metric.
    pub keep_best: bool,
    /// L1 penalty λ (Cost = L + λ‖w‖₁ over weights).
    pub l1: f32,
    /// Take the L1 penalty by a soft-threshold step after each update (exact zeros) instead of
    /// its subgradient.
    pub l1_proximal: bool,
    /// L2 penalty λ (Cost = L + λ/2‖w‖² over weights).
    pub l2: f32,
    /// Dropout probability after each hidden layer (0 = none).
    pub dropout: f32,
    /// Dropout probability on the input features, before the MLP's first layer (0 = none).
    pub input_dropout: f32,
    /// Batch normalisation after each hidden layer.
    pub batch_norm: bool,
    /// Record the activation layers' outputs and gradients after each epoch (`histograms.png`).
    pub histograms: bool,
    /// Augmentation ops, comma-separated `name[:args]` (empty = none).
    pub augment: String,
    /// Cut every batch into this many shards and sum their gradients in shard order: the
    /// numbers of a data-parallel run (`--distributed`), which are the same on any number of
    /// ranks dividing it, and in one process. Absent = whole batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    /// Training data (IDX folder, image folder or CSV); absent = the embedded 5,000 digits.
    pub train_data: Option<PathBuf>,
    /// Test data evaluated after training.
    pub test_data: Option<PathBuf>,
    /// Fraction of the training data held out for validation.
    pub val_split: f32,
    /// Train colour image folders as grey.
    pub grey: bool,
    /// The seed of everything random in the run.
    pub seed: u64,
    /// The backend.
    pub backend: BackendKind,
    /// Worker threads (absent = all cores). Never written: the thread count changes no number.
    #[serde(skip_serializing)]
    pub threads: Option<usize>,
    /// Output folder (absent = `runs/<timestamp>`, or the checkpoint's folder when resuming).
    /// Never written, so repeating a run never overwrites it.
    #[serde(skip_serializing)]
    pub out: Option<PathBuf>,
    /// A checkpoint of `neurite train` to continue from. Never written: a resumed run gives what
    /// a straight run of the same settings gives.
    #[serde(skip_serializing)]
    pub resume: Option<PathBuf>,
    /// No progress bar. Never written: display changes no number.
    #[serde(skip_serializing)]
    pub quiet: bool,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            model: ModelKind::Mlp,
            hidden: vec![512, 256],
            filters: vec![16, 32],
            convs: 1,
            kernel: 5,
            dense: Vec::new(),
            activation: ActivationKind::Relu,
            init: InitChoice::He,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            schedule: ScheduleSpec::Constant,
            warmup: 0,
            momentum: 0.9,
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: None,
            clip_norm: None,
            clip_value: None,
            batch_size: BatchSize::Samples(64),
            epochs: 20,
            early_stopping: None,
            monitor: MonitorKind::ValLoss,
            keep_best: false,
            l1: 0.0,
            l1_proximal: false,
            l2: 0.0,
            dropout: 0.2,
            input_dropout: 0.0,
            batch_norm: false,
            histograms: false,
            augment: "crop:pad=2".into(),
            shards: None,
            train_data: None,
            test_data: None,
            val_split: 0.1,
            grey: false,
            seed: 1,
            backend: BackendKind::default_kind(),
            threads: None,
            out: None,
            resume: None,
            quiet: false,
        }
    }
}

/// A recipe that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
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
        /// The parser's message, first line.
        message: String,
    },
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The largest recipe file read (a recipe is a page of settings).
pub const MAX_RECIPE_BYTES: u64 = 1 << 20;

/// The text of a recipe file, read within [`MAX_RECIPE_BYTES`].
fn read_text(path: &Path) -> Result<String, RecipeError> {
    let shown = path.display().to_string();
    let bytes = neurite_core::fs::read_bounded(path, MAX_RECIPE_BYTES)
        .map_err(|source| RecipeError::Read { path: shown.clone(), source })?;
    String::from_utf8(bytes).map_err(|_| RecipeError::Parse { path: shown, message: "not UTF-8 text".into() })
}

impl Recipe {
    /// Reads a recipe file.
    ///
    /// # Errors
    /// [`RecipeError::Read`] or [`RecipeError::Parse`].
    pub fn load(path: &Path) -> Result<Recipe, RecipeError> {
        let text = read_text(path)?;
        Self::parse(&text).map_err(|message| RecipeError::Parse { path: path.display().to_string(), message })
    }

    /// Reads a recipe file over `base`: the keys the file sets replace `base`'s, the others
    /// stay (how a recipe file applies over the recipe recorded in a checkpoint).
    ///
    /// # Errors
    /// As [`Recipe::load`].
    pub fn load_over(base: &Recipe, path: &Path) -> Result<Recipe, RecipeError> {
        let shown = path.display().to_string();
        let text = read_text(path)?;
        // Parse alone first, for messages with line numbers.
        Self::parse(&text).map_err(|message| RecipeError::Parse { path: shown.clone(), message })?;
        let parse_error = |message: String| RecipeError::Parse { path: shown.clone(), message };
        let overlay: toml::Table = toml::from_str(&text).map_err(|e| parse_error(e.message().replace('\n', " ")))?;
        let mut merged = toml::Table::try_from(base).map_err(|e| parse_error(e.to_string()))?;
        merged.extend(overlay);
        toml::Value::Table(merged).try_into::<Recipe>().map_err(|e| parse_error(e.message().replace('\n', " ")))
    }

    /// Parses recipe TOML; the error is one line.
    ///
    /// # Errors
    /// The parser's message.
    pub fn parse(text: &str) -> Result<Recipe, String> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().replace('\n', " ");
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: {msg}")
                }
                None => msg,
            }
        })
    }

    /// The recipe as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a recipe always serialises")
    }

    /// Checks every setting that can be checked without data.
    ///
    /// # Errors
    /// [`RecipeError::Invalid`] naming the setting and the accepted values.
    pub fn validate(&self) -> Result<(), RecipeError> {
        let bad = |m: String| Err(RecipeError::Invalid(m));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be a positive number, got {}", self.lr));
        }
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if let BatchSize::Samples(0) = self.batch_size {
            return bad("--batch-size must be at least 1 (or `full`)".into());
        }
        for (name, v) in [("--l1", self.l1), ("--l2", self.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be a non-negative number, got {v}"));
            }
        }
        for (name, p) in [("--dropout", self.dropout), ("--input-dropout", self.input_dropout)] {
            if !(p.is_finite() && (0.0..1.0).contains(&p)) {
                return bad(format!("{name} must be in [0, 1), got {p}"));
            }
        }
        if self.input_dropout > 0.0 && self.model != ModelKind::Mlp {
            return bad("--input-dropout applies to the MLP (--model mlp) only".into());
        }
        match (self.shards, self.batch_size) {
            (Some(0), _) => return bad("--shards must be at least 1".into()),
            (Some(s), BatchSize::Samples(b)) if s > b => {
                return bad(format!(
                    "--shards {s} is more than the batch size {b}; every shard needs a sample (pass --shards {b} or fewer)"
                ));
            }
            (Some(s), _) if s > MAX_SHARDS => return bad(format!("--shards {s}: at most {MAX_SHARDS} are supported")),
            _ => {}
        }
        if !(self.val_split.is_finite() && (0.0..1.0).contains(&self.val_split)) {
            return bad(format!("--val-split must be in [0, 1), got {}", self.val_split));
        }
        if self.model == ModelKind::Mlp && self.hidden.contains(&0) {
            return bad("--hidden widths must be at least 1".into());
        }
        match self.threads {
            Some(0) => return bad("--threads must be at least 1".into()),
            Some(n) if n > crate::MAX_THREADS => {
                return bad(format!("--threads {n}: at most {} are supported", crate::MAX_THREADS));
            }
            _ => {}
        }
        for (name, v) in [("--momentum", self.momentum), ("--beta1", self.beta1), ("--beta2", self.beta2)] {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                return bad(format!("{name} must be in [0, 1), got {v}"));
            }
        }
        if let Some(v) = self.weight_decay.filter(|v| !(v.is_finite() && *v >= 0.0)) {
            return bad(format!("--weight-decay must be a non-negative number, got {v}"));
        }
        for (name, v) in [("--clip-norm", self.clip_norm), ("--clip-value", self.clip_value)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return bad(format!("{name} must be a positive number, got {v}"));
            }
        }
        if self.clip_norm.is_some() && self.clip_value.is_some() {
            return bad("give --clip-norm or --clip-value, not both".into());
        }
        if self.warmup >= self.epochs {
            return bad(format!("--warmup {} must be fewer than --epochs {}", self.warmup, self.epochs));
        }
        self.schedule
            .build(self.lr, self.epochs, self.warmup)
            .map_err(|e| RecipeError::Invalid(format!("--schedule {}: {e}", self.schedule)))?;
        if self.early_stopping == Some(0) {
            return bad("--early-stopping needs a patience of at least 1 epoch".into());
        }
        if (self.early_stopping.is_some() || self.keep_best) && self.val_split == 0.0 {
            return bad(
                "--early-stopping and --keep-best watch the validation split; --val-split must be above 0".into()
            );
        }
        self.backend.check_compiled_in().map_err(RecipeError::Invalid)?;
        if !self.augment.trim().is_empty() {
            neurite_augment::spec::parse_pipeline(&self.augment).map_err(|e| RecipeError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// What a run writes to its `recipe.toml`: the settings that change its numbers (serde
    /// leaves out `out`, `resume`, `threads` and `quiet`).
    pub fn for_output(&self) -> String {
        self.to_toml()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipe_round_trips_through_toml() {
        let mut r = Recipe { batch_size: BatchSize::Full, hidden: vec![100, 100], ..Recipe::default() };
        r.train_data = Some(PathBuf::from("data/mnist"));
        let back = Recipe::parse(&r.to_toml()).expect("parses");
        assert_eq!(back, r);
    }

    #[test]
    fn missing_keys_take_defaults_and_unknown_keys_fail() {
        let r = Recipe::parse("epochs = 3\nbatch-size = 32\n").expect("parses");
        assert_eq!((r.epochs, r.batch_size, r.lr), (3, BatchSize::Samples(32), 1e-3));
        let err = Recipe::parse("epochs = 3\nlearning-rate = 0.1\n").unwrap_err();
        assert!(err.starts_with("line 2: unknown field `learning-rate`"), "{err}");
        let err = Recipe::parse("epochs = \"three\"\n").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let check = |r: Recipe| r.validate().unwrap_err().to_string();
        assert_eq!(check(Recipe { lr: -1.0, ..Recipe::default() }), "--lr must be a positive number, got -1");
        assert_eq!(check(Recipe { lr: f32::NAN, ..Recipe::default() }), "--lr must be a positive number, got NaN");
        assert_eq!(check(Recipe { dropout: 1.0, ..Recipe::default() }), "--dropout must be in [0, 1), got 1");
        assert_eq!(
            check(Recipe { batch_size: BatchSize::Samples(0), ..Recipe::default() }),
            "--batch-size must be at least 1 (or `full`)"
        );
        assert_eq!(check(Recipe { warmup: 20, ..Recipe::default() }), "--warmup 20 must be fewer than --epochs 20");
        assert_eq!(check(Recipe { beta2: 1.0, ..Recipe::default() }), "--beta2 must be in [0, 1), got 1");
        assert_eq!(
            check(Recipe { keep_best: true, val_split: 0.0, ..Recipe::default() }),
            "--early-stopping and --keep-best watch the validation split; --val-split must be above 0"
        );
        assert!(Recipe::default().validate().is_ok());
    }

    #[test]
    fn output_recipes_hold_only_what_changes_the_numbers() {
        let r = Recipe {
            out: Some("runs/a".into()),
            resume: Some("runs/a/model.ckpt".into()),
            threads: Some(2),
            quiet: true,
            ..Recipe::default()
        };
        let text = r.for_output();
        assert_eq!(text, Recipe::default().for_output());
        for key in ["out", "resume", "threads", "quiet"] {
            assert!(!text.lines().any(|l| l.starts_with(&format!("{key} "))), "{key} in {text}");
        }
        assert_eq!(Recipe::parse(&text).expect("parses"), Recipe::default());
        // Older recipes that hold them still read.
        assert!(Recipe::parse("quiet = true\nthreads = 2\n").expect("parses").quiet);
    }

    #[test]
    fn a_recipe_file_applies_over_a_base() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.toml");
        std::fs::write(&path, "epochs = 7\n").expect("written");
        let base = Recipe { seed: 42, epochs: 2, ..Recipe::default() };
        let merged = Recipe::load_over(&base, &path).expect("loads");
        assert_eq!((merged.seed, merged.epochs), (42, 7));
        std::fs::write(&path, "epochs = 7\nepoch = 1\n").expect("written");
        let err = Recipe::load_over(&base, &path).unwrap_err().to_string();
        assert!(err.contains("line 2: unknown field `epoch`"), "{err}");
    }

    #[test]
    fn flag_values_parse() {
        assert_eq!(parse_hidden("512, 256"), Ok(vec![512, 256]));
        assert_eq!(parse_hidden(""), Ok(vec![]));
        assert!(parse_hidden("512,x").unwrap_err().contains("`x`"));
        assert_eq!(
            Recipe::parse("model = \"cnn\"\nactivation = \"leaky-relu\"\n").map(|r| (r.model, r.activation)),
            Ok((ModelKind::Cnn, ActivationKind::LeakyRelu))
        );
        let err = Recipe::parse("optimizer = \"adamx\"\n").unwrap_err();
        assert!(err.contains("unknown variant `adamx`, expected one of `sgd`"), "{err}");
        assert_eq!(ActivationKind::LeakyRelu.to_string(), "leaky-relu");
        let err = Recipe { augment: "flip,twirl".into(), ..Recipe::default() }.validate().unwrap_err();
        assert!(err.to_string().starts_with("augment: unknown transform `twirl`"), "{err}");
    }

    #[test]
    fn the_shipped_recipes_are_valid() {
        let cnn = Recipe::parse(include_str!("../recipes/cnn-augment.toml")).expect("parses");
        assert_eq!((cnn.model, cnn.epochs, cnn.val_split), (ModelKind::Cnn, 30, 0.0));
        cnn.validate().expect("valid");
        let wide = Recipe::parse(include_str!("../recipes/cnn-99.toml")).expect("parses");
        assert_eq!((wide.model, wide.epochs, wide.val_split), (ModelKind::Cnn, 55, 0.0));
        assert_eq!((wide.filters.as_slice(), wide.convs, wide.kernel), ([16, 32].as_slice(), 2, 3));
        wide.validate().expect("valid");
    }

    #[test]
    fn init_choices_parse() {
        assert_eq!("normal:0.01".parse(), Ok(InitChoice::Normal(0.01)));
        assert_eq!("he".parse(), Ok(InitChoice::He));
        assert!("normal:x".parse::<InitChoice>().is_err() && "normal:-1".parse::<InitChoice>().is_err());
        let err = Recipe::parse("init = \"uniform\"\n").unwrap_err();
        assert!(err.contains("unknown init `uniform`"), "{err}");
    }
}
