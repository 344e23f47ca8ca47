//! `neurite experiment NAME`: runs that make the course's claims visible (vanishing gradients,
//! initialization, optimizers, overfitting, augmentation, adversarial examples). Each experiment
//! prints a table, and writes `DIR/NAME.csv` and `DIR/NAME.png`.
//!
//! The registry below is the interface `main.rs` uses; issue #8 fills it with the experiments.

use std::path::PathBuf;

use crate::backend::BackendKind;

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

/// Every experiment, in the order `neurite experiment list` prints them.
pub fn list() -> &'static [Experiment] {
    &[]
}

/// Runs experiment `name`.
///
/// # Errors
/// An unknown name (a usage error), unreadable data, or an unwritable output folder.
pub fn run(name: &str, _options: &ExperimentOptions) -> anyhow::Result<()> {
    let known: Vec<&str> = list().iter().map(|e| e.name).collect();
    Err(crate::error::UsageError(format!("unknown experiment `{name}`; known: {}", known.join(", "))).into())
}
