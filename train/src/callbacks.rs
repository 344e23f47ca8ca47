//! The built-in callbacks: [`Progress`] (a bar per epoch on stderr and a table row per epoch on
//! stdout, what `neurite train` shows), [`CsvLogger`], [`EarlyStopping`], [`KeepBest`] and
//! [`LrOnPlateau`]. Each decides from the recorded history alone, never from state of its own,
//! so a resumed run decides what a straight one would.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::callback::{BatchProgress, Callback, Control, FitStart, Saved};
use crate::error::TrainError;
use crate::learner::BEST_FILE;
use crate::metrics::{self, EpochMetrics};

/// A validation metric to watch, for early stopping, keeping the best checkpoint and cutting the
/// learning rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Monitor {
    /// Validation loss: lower is better.
    #[serde(rename = "val-loss")]
    #[cfg_attr(feature = "clap", value(name = "val-loss"))]
    ValLoss,
    /// Validation accuracy: higher is better.
    #[serde(rename = "val-acc")]
    #[cfg_attr(feature = "clap", value(name = "val-acc"))]
    ValAccuracy,
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Monitor::ValLoss => "val-loss",
            Monitor::ValAccuracy => "val-acc",
        })
    }
}

impl Monitor {
    /// The watched value of an epoch.
    pub fn value(self, m: &EpochMetrics) -> Option<f64> {
        match self {
            Monitor::ValAccuracy => m.val_acc,
            Monitor::ValLoss => m.val_loss,
        }
    }

    /// Whether `value` improves on `best` by more than `min_delta`.
    pub fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Monitor::ValAccuracy => value > best + min_delta,
            Monitor::ValLoss => value < best - min_delta,
        }
    }

    /// The first epoch of `history` with the best value (improvements of at most `min_delta`
    /// do not count), and that value.
    pub fn best(self, history: &[EpochMetrics], min_delta: f64) -> Option<(usize, f64)> {
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

/// Watching a validation metric needs a validation set.
fn needs_validation(start: &FitStart<'_>, what: &str) -> Result<(), TrainError> {
    if start.validation {
        Ok(())
    } else {
        Err(TrainError::Invalid(format!("{what} watches the validation set; give one")))
    }
}

/// Stops when the watched metric has not improved for `patience` epochs.
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

    /// Stops through `control` if the patience has run out on its history.
    fn decide(&self, control: &mut Control<'_>) {
        let history = control.history();
        let done = history.last().map_or(0, |m| m.epoch);
        if let Some((best, _)) = self.monitor.best(history, self.min_delta) {
            if done - best >= self.patience {
                let reason = format!(
                    "early stopping: {} did not improve for {} epochs; stopped after epoch {done} (best: epoch {best})",
                    self.monitor, self.patience
                );
                control.stop(reason);
            }
        }
    }
}

impl Callback for EarlyStopping {
    fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
        needs_validation(start, "early stopping")?;
        if self.patience == 0 {
            return Err(TrainError::Invalid("early stopping needs a patience of at least 1 epoch".into()));
        }
        self.decide(control);
        Ok(())
    }

    fn on_epoch_end(&mut self, _: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        self.decide(control);
        Ok(())
    }
}

/// Writes [`BEST_FILE`] beside the checkpoint whenever the watched metric reaches its best value
/// so far (needs an output folder).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeepBest {
    /// The metric.
    pub monitor: Monitor,
}

impl KeepBest {
    /// Keeps the checkpoint of the epoch with the best `monitor`.
    pub fn new(monitor: Monitor) -> Self {
        KeepBest { monitor }
    }
}

impl Callback for KeepBest {
    fn on_fit_start(&mut self, start: &FitStart<'_>, _: &mut Control<'_>) -> Result<(), TrainError> {
        needs_validation(start, "keeping the best checkpoint")?;
        if start.writer && start.dir.is_none() {
            return Err(TrainError::Invalid("keeping the best checkpoint needs an output folder".into()));
        }
        Ok(())
    }

    fn on_saved(&mut self, saved: &Saved<'_>) -> Result<(), TrainError> {
        if self.monitor.best(saved.history, 0.0).is_some_and(|(epoch, _)| epoch == saved.epoch) {
            let path = saved.dir.join(BEST_FILE);
            neurite_core::fs::write_atomic(&path, saved.checkpoint)
                .map_err(|e| TrainError::Write { path: path.display().to_string(), message: e.to_string() })?;
        }
        Ok(())
    }
}

/// Multiplies the learning rate by `factor` whenever the watched metric has not improved for
/// `patience` epochs (then waits `patience` epochs again), never below `min_lr` (Keras'
/// `ReduceLROnPlateau`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrOnPlateau {
    /// The metric.
    pub monitor: Monitor,
    /// The factor, in (0, 1).
    pub factor: f32,
    /// Epochs without improvement before a cut.
    pub patience: usize,
    /// The smallest rate a cut may leave.
    pub min_lr: f32,
}

impl LrOnPlateau {
    /// Cuts the rate by `factor` after `patience` epochs without improvement of `monitor`.
    pub fn new(monitor: Monitor, factor: f32, patience: usize) -> Self {
        LrOnPlateau { monitor, factor, patience, min_lr: 0.0 }
    }

    /// Whether the history calls for a cut after its last epoch: replayed from the first epoch,
    /// the wait since the best value (or the last cut) reaches the patience exactly then.
    fn cuts_now(&self, history: &[EpochMetrics]) -> bool {
        let (mut best, mut wait, mut cut) = (None::<f64>, 0usize, false);
        for m in history {
            cut = false;
            let Some(v) = self.monitor.value(m) else { continue };
            if best.is_none_or(|b| self.monitor.improves(v, b, 0.0)) {
                (best, wait) = (Some(v), 0);
            } else {
                wait += 1;
                if wait >= self.patience {
                    (wait, cut) = (0, true);
                }
            }
        }
        cut
    }
}

impl Callback for LrOnPlateau {
    fn on_fit_start(&mut self, start: &FitStart<'_>, _: &mut Control<'_>) -> Result<(), TrainError> {
        needs_validation(start, "cutting the learning rate on a plateau")?;
        if !(self.factor > 0.0 && self.factor < 1.0)
            || self.patience == 0
            || !(self.min_lr.is_finite() && self.min_lr >= 0.0)
        {
            return Err(TrainError::Invalid(format!(
                "the learning rate on a plateau needs a factor in (0, 1), a patience of at least 1 and a \
                 minimum rate of at least 0, got {}, {} and {}",
                self.factor, self.patience, self.min_lr
            )));
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, _: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        let lr = control.learning_rate();
        if self.cuts_now(control.history()) && lr > self.min_lr {
            control.scale_learning_rate((lr * self.factor).max(self.min_lr) / lr);
        }
        Ok(())
    }
}

/// Writes the metrics of every epoch so far to a CSV file after each epoch (the columns of
/// `metrics.csv`), atomically.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvLogger {
    path: PathBuf,
    writer: bool,
}

impl CsvLogger {
    /// Logs to `path` (replaced after every epoch).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvLogger { path: path.into(), writer: true }
    }
}

impl Callback for CsvLogger {
    fn on_fit_start(&mut self, start: &FitStart<'_>, _: &mut Control<'_>) -> Result<(), TrainError> {
        self.writer = start.writer;
        Ok(())
    }

    fn on_epoch_end(&mut self, _: &EpochMetrics, control: &mut Control<'_>) -> Result<(), TrainError> {
        if !self.writer {
            return Ok(());
        }
        neurite_core::fs::write_atomic(&self.path, metrics::to_csv(control.history()).as_bytes())
            .map_err(|e| TrainError::Write { path: self.path.display().to_string(), message: e.to_string() })
    }
}

/// The header of the table [`Progress`] prints.
pub fn table_header() -> String {
    format!(
        "{:>5}  {:>10}  {:>9}  {:>8}  {:>7}  {:>7}",
        "epoch", "train loss", "train acc", "val loss", "val acc", "seconds"
    )
}

/// One row of the table [`Progress`] prints.
pub fn table_row(r: &EpochMetrics) -> String {
    let or_dash = |v: Option<f64>, digits: usize| v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"));
    format!(
        "{:>5}  {:>10.4}  {:>9}  {:>8}  {:>7}  {:>7}",
        r.epoch,
        r.train_loss,
        or_dash(r.train_acc, 4),
        or_dash(r.val_loss, 4),
        or_dash(r.val_acc, 4),
        or_dash(r.seconds, 1)
    )
}

/// A run as a terminal shows it: a progress bar for the running epoch (on stderr, hidden when
/// stderr is not a terminal) and a table with a row per finished epoch (on stdout, header and
/// any epochs of a resumed run first). Output that cannot be written (a closed pipe) is dropped;
/// training goes on.
///
/// ```no_run
/// # fn demo(learner: &mut neurite_train::Learner<neurite_core::reference::ReferenceBackend,
/// #     neurite_nn::Sequential<neurite_core::reference::ReferenceBackend>>,
/// #     data: &neurite_nn::data::Dataset) -> Result<(), neurite_train::TrainError> {
/// learner.fit(data, None, &mut neurite_train::Progress::new())?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Progress {
    bar: bool,
    table: bool,
    writer: bool,
    running: Option<(ProgressBar, Instant)>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    /// A bar and a table.
    pub fn new() -> Self {
        Progress { bar: true, table: true, writer: true, running: None }
    }

    /// Without the bar (`neurite train --quiet`).
    pub fn without_bar(mut self) -> Self {
        self.bar = false;
        self
    }

    /// Without the table.
    pub fn without_table(mut self) -> Self {
        self.table = false;
        self
    }

    fn print(&self, line: &str) {
        if self.table && self.writer {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    }

    /// Removes the bar of an unfinished epoch (before an error is printed).
    pub fn clear(&mut self) {
        if let Some((bar, _)) = self.running.take() {
            bar.finish_and_clear();
        }
    }
}

impl Callback for Progress {
    fn on_fit_start(&mut self, start: &FitStart<'_>, control: &mut Control<'_>) -> Result<(), TrainError> {
        self.writer = start.writer;
        self.print(&table_header());
        for row in control.history() {
            self.print(&table_row(row));
        }
        Ok(())
    }

    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        let target = if self.bar && self.writer { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(samples as u64), target);
        let style = ProgressStyle::with_template("{prefix} [{wide_bar}] {pos}/{len} {msg} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        self.running = Some((bar, Instant::now()));
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        if let Some((bar, started)) = &self.running {
            let rate = p.seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let accuracy = p.accuracy.map(|a| format!(" acc {a:.4}")).unwrap_or_default();
            bar.set_message(format!("loss {:.4}{accuracy} {rate:.0} samples/s", p.loss));
            bar.set_position(p.seen as u64);
        }
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics, _: &mut Control<'_>) -> Result<(), TrainError> {
        self.clear();
        self.print(&table_row(metrics));
        Ok(())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, val_loss: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            train_loss: 1.0,
            train_acc: Some(0.5),
            val_loss: Some(val_loss),
            val_acc: Some(0.5),
            seconds: None,
        }
    }

    #[test]
    fn table_rows_line_up_with_the_header() {
        let rows = [
            EpochMetrics { seconds: Some(1.25), ..row(1, 0.4) },
            EpochMetrics { epoch: 2, train_loss: 0.25, train_acc: None, val_loss: None, val_acc: None, seconds: None },
        ];
        for r in &rows {
            assert_eq!(table_row(r).len(), table_header().len(), "{}", table_row(r));
        }
        assert_eq!(table_row(&rows[1]), "    2      0.2500          -         -        -        -");
    }

    #[test]
    fn early_stopping_counts_epochs_since_the_best() {
        // Losses 0.5, 0.4, 0.45, 0.41: the best is epoch 2, two epochs ago.
        let history: Vec<EpochMetrics> =
            [0.5, 0.4, 0.45, 0.41].iter().enumerate().map(|(i, &v)| row(i + 1, v)).collect();
        let decide = |patience: usize, done: usize| {
            let mut control = Control::new(&history[..done], 0.1, 1.0);
            EarlyStopping::new(Monitor::ValLoss, patience).decide(&mut control);
            control.into_parts().1
        };
        assert_eq!(decide(2, 3), None);
        assert_eq!(
            decide(2, 4).as_deref(),
            Some("early stopping: val-loss did not improve for 2 epochs; stopped after epoch 4 (best: epoch 2)")
        );
    }

    #[test]
    fn the_plateau_cuts_once_per_patience_without_improvement() {
        let cut = LrOnPlateau::new(Monitor::ValLoss, 0.5, 2);
        let losses = [0.5, 0.4, 0.45, 0.41, 0.42, 0.43, 0.3];
        let cuts: Vec<bool> = (1..=losses.len())
            .map(|n| cut.cuts_now(&losses[..n].iter().enumerate().map(|(i, &v)| row(i + 1, v)).collect::<Vec<_>>()))
            .collect();
        // Best at epoch 2; two epochs without improvement end at 4 (cut), two more at 6 (cut).
        assert_eq!(cuts, [false, false, false, true, false, true, false]);
    }
}
