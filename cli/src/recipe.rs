//! Training recipes: every setting of `neurite train` in one serde struct, read from TOML
//! (`--recipe FILE`), overridden by flags, validated, and written back beside the run's outputs
//! (`recipe.toml`) so the run can be repeated exactly. Unknown keys and wrong types are errors.

use std::fmt;
use std::path::{Path, PathBuf};

pub use neurite_train::BatchSize;
use serde::{Deserialize, Serialize};

/// Which network `neurite train` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Fully connected: flatten, hidden layers, one output per class.
    Mlp,
    /// Two conv blocks (16 and 32 filters, 5×5, max-pool 2) and a linear classifier.
    Cnn,
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(ModelKind::Mlp),
            "cnn" => Ok(ModelKind::Cnn),
            other => Err(format!("unknown model `{other}`; choose mlp or cnn")),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
        })
    }
}

/// Parses `--hidden 512,256` into layer widths (an empty list means no hidden layer).
///
/// # Errors
/// A one-line message naming the bad width.
pub fn parse_hidden(s: &str) -> Result<Vec<usize>, String> {
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|w| {
            w.trim()
                .parse::<usize>()
                .map_err(|_| format!("hidden width `{}` is not a whole number (e.g. 512,256)", w.trim()))
        })
        .collect()
}

/// Every setting of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct Recipe {
    /// `mlp` or `cnn`.
    pub model: ModelKind,
    /// Hidden layer widths of the MLP.
    pub hidden: Vec<usize>,
    /// `relu`, `sigmoid`, `tanh` or `leaky-relu`.
    pub activation: String,
    /// `he`, `xavier`, `normal:STD` or `zeros`.
    pub init: String,
    /// `sgd`, `momentum`, `nesterov`, `adagrad`, `rmsprop`, `adam` or `adamw`.
    pub optimizer: String,
    /// Learning rate.
    pub lr: f32,
    /// Samples per step, or `full`.
    pub batch_size: BatchSize,
    /// Passes over the training set.
    pub epochs: usize,
    /// L1 penalty λ (Cost = L + λ‖w‖₁ over weights).
    pub l1: f32,
    /// L2 penalty λ (Cost = L + λ/2‖w‖² over weights).
    pub l2: f32,
    /// Dropout probability after each hidden layer (0 = none).
    pub dropout: f32,
    /// Batch normalisation after each hidden layer.
    pub batch_norm: bool,
    /// Augmentation ops, comma-separated `name[:args]` (empty = none).
    pub augment: String,
    /// Training data (IDX folder, image folder or CSV); absent = the embedded 5,000 digits.
    pub train_data: Option<PathBuf>,
    /// Test data evaluated after training.
    pub test_data: Option<PathBuf>,
    /// Fraction of the training data held out for validation.
    pub val_split: f32,
    /// The seed of everything random in the run.
    pub seed: u64,
    /// `simd` or `cpu`.
    pub backend: String,
    /// Worker threads (absent = all cores).
    pub threads: Option<usize>,
    /// Output folder (absent = `runs/<timestamp>`, or the checkpoint's folder when resuming).
    /// Never written to a run's `recipe.toml`, so repeating a run never overwrites it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    /// A checkpoint of `neurite train` to continue from. Never written to a run's `recipe.toml`:
    /// a resumed run gives what a straight run of the same settings gives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<PathBuf>,
    /// No progress bar.
    pub quiet: bool,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            model: ModelKind::Mlp,
            hidden: vec![512, 256],
            activation: "relu".into(),
            init: "he".into(),
            optimizer: "adam".into(),
            lr: 1e-3,
            batch_size: BatchSize::Samples(64),
            epochs: 20,
            l1: 0.0,
            l2: 0.0,
            dropout: 0.2,
            batch_norm: false,
            augment: "crop:pad=2".into(),
            train_data: None,
            test_data: None,
            val_split: 0.1,
            seed: 1,
            backend: crate::backend::BackendKind::default_kind().name().into(),
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
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return bad(format!("--dropout must be in [0, 1), got {}", self.dropout));
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
        if !["relu", "sigmoid", "tanh", "leaky-relu"].contains(&self.activation.as_str()) {
            return bad(format!("unknown activation `{}`; choose relu, sigmoid, tanh or leaky-relu", self.activation));
        }
        if !["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"].contains(&self.optimizer.as_str()) {
            return bad(format!(
                "unknown optimizer `{}`; choose sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw",
                self.optimizer
            ));
        }
        parse_init(&self.init).map_err(RecipeError::Invalid)?;
        crate::backend::BackendKind::parse(&self.backend).map_err(RecipeError::Invalid)?;
        if !self.augment.trim().is_empty() {
            neurite_augment::spec::parse_pipeline(&self.augment).map_err(|e| RecipeError::Invalid(e.to_string()))?;
        }
        Ok(())
    }

    /// What a run writes to its `recipe.toml`: these settings without `out` and `resume`.
    pub fn for_output(&self) -> Recipe {
        Recipe { out: None, resume: None, ..self.clone() }
    }
}

/// The initializer named by `--init`: `he`, `xavier`, `zeros` or `normal:STD`.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// Parses an `--init` value.
///
/// # Errors
/// A one-line message listing the accepted forms.
pub fn parse_init(s: &str) -> Result<InitChoice, String> {
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
        assert!(check(Recipe { init: "normal:-1".into(), ..Recipe::default() }).starts_with("unknown init"));
        assert!(Recipe::default().validate().is_ok());
    }

    #[test]
    fn output_recipes_leave_out_where_and_whence() {
        let r = Recipe { out: Some("runs/a".into()), resume: Some("runs/a/model.ckpt".into()), ..Recipe::default() };
        let text = r.for_output().to_toml();
        assert!(!text.lines().any(|l| l.starts_with("out ") || l.starts_with("resume ")), "{text}");
        assert_eq!(Recipe::parse(&text).expect("parses"), Recipe::default());
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
        assert_eq!("cnn".parse::<ModelKind>(), Ok(ModelKind::Cnn));
        assert!("rnn".parse::<ModelKind>().is_err());
        let err = Recipe { augment: "flip,twirl".into(), ..Recipe::default() }.validate().unwrap_err();
        assert!(err.to_string().starts_with("augment: unknown transform `twirl`"), "{err}");
    }

    #[test]
    fn the_shipped_recipes_are_valid() {
        let cnn = Recipe::parse(include_str!("../recipes/cnn-augment.toml")).expect("parses");
        assert_eq!((cnn.model, cnn.epochs, cnn.val_split), (ModelKind::Cnn, 30, 0.0));
        cnn.validate().expect("valid");
    }

    #[test]
    fn init_choices_parse() {
        assert_eq!(parse_init("normal:0.01"), Ok(InitChoice::Normal(0.01)));
        assert_eq!(parse_init("he"), Ok(InitChoice::He));
        assert!(parse_init("normal:x").is_err());
    }
}
