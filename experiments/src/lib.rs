//! The course's claims as runs (`neurite experiment NAME`): vanishing gradients, initialization,
//! optimizers, overfitting, batch norm, augmentation, adversarial examples. Each experiment
//! prints a table, and writes `DIR/NAME.csv` and `DIR/NAME.png`.
//!
//! The setups follow the chapter-6 experiments of "Deep Learning from Scratch" where it has one
//! (activation histograms, initialization, optimizers, overfitting, batch norm); the others are
//! Neurite's own. Each file says where it differs from the book. All of them train on the 5,000
//! digits embedded in the binary and test on the official MNIST test set when it is found (see
//! [`ExperimentOptions::test_data`]), else on a held-out split of the embedded digits.
//!
//! Every experiment is generic over `B: Backend` (the caller picks the backend); every random
//! number comes from a stream of [`ExperimentOptions::seed`]. They train with
//! `neurite_train::train_step` and measure with `neurite_train::evaluate`, the functions every
//! other caller uses, on the networks of `neurite_nn::models`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

use neurite_core::Backend;
use neurite_data::LoadError;
use neurite_nn::data::DataError;
use neurite_optim::OptimError;
use neurite_train::plot::PlotError;

/// `println!` that ignores a closed standard output: a reader that has gone (`| head -1`) must
/// not cut a run short, so the run goes on and writes its files (errors still go to stderr).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that ignores a closed standard output, as [`say!`] does.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod activations;
mod adversarial;
mod augmentation;
mod backprop_by_hand;
mod batch_norm;
mod common;
mod gd_vs_sgd;
mod init;
mod l1_vs_l2;
mod learning_rate;
mod optimizers;
mod overfitting;
mod regression;
mod residual;
mod training_histograms;
mod vanishing_gradient;
mod zero_init;

/// Settings shared by every experiment.
#[derive(Clone, Debug)]
pub struct ExperimentOptions {
    /// Folder for `NAME.csv` and `NAME.png` (created if missing).
    pub out: PathBuf,
    /// A small version that finishes in seconds (for tests).
    pub quick: bool,
    /// Seed of everything random.
    pub seed: u64,
    /// Test data (IDX folder); absent = `../shared/data/mnist/t10k-*` when present, else a
    /// held-out split of the embedded digits.
    pub test_data: Option<PathBuf>,
    /// Images for the experiments that take other data than digits (`residual`: CIFAR-10, as
    /// He et al.); absent = the embedded digits.
    pub data: Option<PathBuf>,
}

/// One registered experiment.
#[derive(Clone, Copy, Debug)]
pub struct Experiment {
    /// Its name on the command line.
    pub name: &'static str,
    /// One line on what it shows.
    pub summary: &'static str,
}

const EXPERIMENTS: &[Experiment] = &[
    Experiment {
        name: "activations",
        summary: "histograms of 5 layers' activations: sigmoid saturates or collapses, Xavier/He keep them spread",
    },
    Experiment {
        name: "backprop-by-hand",
        summary: "a 2-layer network's gradients by the lecture's matrix formulas, beside autodiff's: equal to 1e-6",
    },
    Experiment {
        name: "vanishing-gradient",
        summary: "gradient norm per layer of a 10-layer network, sigmoid vs tanh vs ReLU, before and after training",
    },
    Experiment {
        name: "training-histograms",
        summary: "each layer's outputs, gradients and dead ReLUs epoch by epoch: sigmoid/ReLU from σ = 0.01 and Xavier/He",
    },
    Experiment {
        name: "init",
        summary: "MNIST loss of a 5-layer ReLU network initialised with zeros, σ = 0.01, N(0, 1), Xavier and He",
    },
    Experiment {
        name: "zero-init",
        summary: "all-zero weights: hidden units stay identical copies and accuracy stalls, against He",
    },
    Experiment { name: "learning-rate", summary: "loss curves for learning rates too small, right and too large" },
    Experiment {
        name: "gd-vs-sgd",
        summary: "full-batch gradient descent vs mini-batch SGD: loss against steps, examples and time",
    },
    Experiment {
        name: "optimizers",
        summary: "SGD, Momentum, AdaGrad, RMSProp, Adam on the x²/20 + y² ravine and on MNIST",
    },
    Experiment {
        name: "overfitting",
        summary: "1,000 digits, 784-512-512-10: train vs test accuracy without regularization, with L2, dropout, both",
    },
    Experiment {
        name: "l1-vs-l2",
        summary: "weights under no penalty, L2, L1 by subgradient and L1 by proximal step: only the last has exact zeros",
    },
    Experiment { name: "batch-norm", summary: "accuracy with and without batch norm across initial weight scales" },
    Experiment {
        name: "regression",
        summary: "a real-valued target with the course's squared error 1/2N·Σ(y − d)²: sin(2x) from noisy samples",
    },
    Experiment {
        name: "residual",
        summary: "plain vs residual networks at depths 8 and 20: the deeper plain one trains worse, the residual one not",
    },
    Experiment {
        name: "augmentation",
        summary: "a CNN on 1,000 digits with no augmentation, each op alone, and all together: an ablation",
    },
    Experiment {
        name: "adversarial",
        summary: "FGSM: accuracy against ε, and a digit, its perturbation and the new prediction",
    },
];

/// Every experiment, in the order `neurite experiment list` prints them.
pub fn list() -> &'static [Experiment] {
    EXPERIMENTS
}

/// Why an experiment could not run.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Not the name of an experiment.
    #[error("unknown experiment `{name}`; known: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Test data that cannot be read, or is not 28×28 digits.
    #[error(transparent)]
    Data(#[from] LoadError),
    /// Not the caller's input: an output file that cannot be written or drawn, or embedded
    /// digits that do not decode (a broken build).
    #[error("{0}")]
    Output(String),
    /// A figure that cannot be drawn or saved.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A setting an experiment passed that a library refused (a bug here).
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// A subset an experiment asked for that the data cannot give (a bug here).
    #[error(transparent)]
    Subset(#[from] DataError),
}

impl ExperimentError {
    /// Whether the caller's input caused it (an unknown name, unusable test data).
    pub fn is_usage(&self) -> bool {
        matches!(self, ExperimentError::Unknown { .. } | ExperimentError::Data(_))
    }
}

/// Runs experiment `name` on backend `B`.
///
/// # Errors
/// [`ExperimentError::Unknown`] for an unknown name, [`ExperimentError::Data`] for unreadable
/// test data, [`ExperimentError::Output`] for an unwritable output folder.
pub fn run<B: Backend>(name: &str, options: &ExperimentOptions) -> Result<(), ExperimentError> {
    match name {
        "activations" => activations::run::<B>(options),
        "vanishing-gradient" => vanishing_gradient::run::<B>(options),
        "backprop-by-hand" => backprop_by_hand::run::<B>(options),
        "training-histograms" => training_histograms::run::<B>(options),
        "init" => init::run::<B>(options),
        "zero-init" => zero_init::run::<B>(options),
        "l1-vs-l2" => l1_vs_l2::run::<B>(options),
        "learning-rate" => learning_rate::run::<B>(options),
        "gd-vs-sgd" => gd_vs_sgd::run::<B>(options),
        "optimizers" => optimizers::run::<B>(options),
        "overfitting" => overfitting::run::<B>(options),
        "batch-norm" => batch_norm::run::<B>(options),
        "regression" => regression::run::<B>(options),
        "residual" => residual::run::<B>(options),
        "augmentation" => augmentation::run::<B>(options),
        "adversarial" => adversarial::run::<B>(options),
        _ => {
            let known: Vec<&str> = list().iter().map(|e| e.name).collect();
            Err(ExperimentError::Unknown { name: name.to_string(), known: known.join(", ") })
        }
    }
}
