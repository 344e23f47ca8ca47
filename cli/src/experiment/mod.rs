//! `neurite experiment NAME`: runs that make the course's claims visible (vanishing gradients,
//! initialization, optimizers, overfitting, augmentation, adversarial examples). Each experiment
//! prints a table, and writes `DIR/NAME.csv` and `DIR/NAME.png`.
//!
//! The setups follow the chapter-6 experiments of "Deep Learning from Scratch" where it has one
//! (activation histograms, initialization, optimizers, overfitting, batch norm); the others are
//! Neurite's own. Each file says where it differs from the book. All of them train on the 5,000
//! digits embedded in the binary and test on the official MNIST test set when it is found (see
//! [`ExperimentOptions::test_data`]), else on a held-out split of the embedded digits.
//!
//! Every experiment is generic over `B: Backend` and is instantiated for the chosen backend by
//! `dispatch!`; every random number comes from a stream of [`ExperimentOptions::seed`].

use std::path::PathBuf;

use crate::backend::BackendKind;
use crate::dispatch;

mod activations;
mod adversarial;
mod augmentation;
mod batch_norm;
mod common;
mod gd_vs_sgd;
mod init;
mod learning_rate;
mod optimizers;
mod overfitting;
mod vanishing_gradient;

/// Settings shared by every experiment.
#[derive(Clone, Debug)]
pub struct ExperimentOptions {
    /// Folder for `NAME.csv` and `NAME.png` (created if missing).
    pub out: PathBuf,
    /// A small version that finishes in seconds (for tests).
    pub quick: bool,
    /// Seed of everything random.
    pub seed: u64,
    /// Backend to run on.
    pub backend: BackendKind,
    /// Test data (IDX folder); absent = `../shared/data/mnist/t10k-*` when present, else a
    /// held-out split of the embedded digits.
    pub test_data: Option<PathBuf>,
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
        name: "vanishing-gradient",
        summary: "gradient norm per layer of a 10-layer network, sigmoid vs tanh vs ReLU, before and after training",
    },
    Experiment {
        name: "init",
        summary: "MNIST loss of a 5-layer ReLU network initialised with σ = 0.01, Xavier and He",
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
        summary: "300 digits, 7 layers: train vs test accuracy without regularization, with L2, dropout, both",
    },
    Experiment { name: "batch-norm", summary: "accuracy with and without batch norm across initial weight scales" },
    Experiment {
        name: "augmentation",
        summary: "a CNN on 500, 1,000 and all digits with and without augmentation: the gain shrinks with data",
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

/// Runs experiment `name`.
///
/// # Errors
/// An unknown name (a usage error), unreadable data, or an unwritable output folder.
pub fn run(name: &str, options: &ExperimentOptions) -> anyhow::Result<()> {
    // `dispatch!` wants a plain function name, so each arm imports its experiment's `run` as `f`.
    match name {
        "activations" => {
            use activations::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "vanishing-gradient" => {
            use vanishing_gradient::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "init" => {
            use init::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "learning-rate" => {
            use learning_rate::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "gd-vs-sgd" => {
            use gd_vs_sgd::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "optimizers" => {
            use optimizers::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "overfitting" => {
            use overfitting::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "batch-norm" => {
            use batch_norm::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "augmentation" => {
            use augmentation::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        "adversarial" => {
            use adversarial::run as f;
            dispatch!(options.backend, f::<_>(options))
        }
        _ => {
            let known: Vec<&str> = list().iter().map(|e| e.name).collect();
            Err(crate::error::UsageError(format!("unknown experiment `{name}`; known: {}", known.join(", "))).into())
        }
    }
}
