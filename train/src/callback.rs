//! Events of a training run, for whoever shows or logs them: [`Callback`] has one method per
//! event, each a no-op by default, so a progress bar implements two and a logger one. The CLI
//! draws its progress bar and table from them; `()` ignores everything.

use std::path::Path;

use crate::metrics::EpochMetrics;

/// Where an epoch's batches have got to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchProgress {
    /// The epoch (1-based).
    pub epoch: usize,
    /// The last epoch of the run.
    pub epochs: usize,
    /// Samples trained on so far in this epoch.
    pub seen: usize,
    /// Samples in the epoch.
    pub samples: usize,
    /// Mean data loss over the epoch's samples so far.
    pub loss: f64,
    /// Fraction of the epoch's samples so far classified correctly as they were trained on.
    pub accuracy: f64,
}

/// The files written after an epoch.
#[derive(Clone, Copy, Debug)]
pub struct Saved<'a> {
    /// The output folder.
    pub dir: &'a Path,
    /// The epoch they hold.
    pub epoch: usize,
    /// Whether `best.ckpt` was written too (the watched metric improved).
    pub best: bool,
}

/// Receives the events of [`crate::Learner::fit`], in this order per epoch: `on_epoch_start`,
/// `on_batch_end` after every step, `on_epoch_end` with the epoch's metrics, then `on_saved`
/// if the learner writes an output folder.
pub trait Callback {
    /// Epoch `epoch` of `epochs` starts, over `samples` training samples.
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        let _ = (epoch, epochs, samples);
    }

    /// A step finished.
    fn on_batch_end(&mut self, progress: &BatchProgress) {
        let _ = progress;
    }

    /// An epoch finished, validation included.
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        let _ = metrics;
    }

    /// The epoch's checkpoint and metrics files were written.
    fn on_saved(&mut self, saved: &Saved<'_>) {
        let _ = saved;
    }
}

impl Callback for () {}

/// A callback that calls `f` with each epoch's metrics (the simplest logger).
///
/// ```
/// let mut lines = Vec::new();
/// let mut log = neurite_train::on_epoch_end(|m| lines.push(format!("{} {:.3}", m.epoch, m.train_loss)));
/// # let _ = &mut log;
/// ```
pub fn on_epoch_end<F: FnMut(&EpochMetrics)>(f: F) -> OnEpochEnd<F> {
    OnEpochEnd(f)
}

/// See [`on_epoch_end`].
pub struct OnEpochEnd<F>(F);

impl<F: FnMut(&EpochMetrics)> Callback for OnEpochEnd<F> {
    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        (self.0)(metrics)
    }
}
