//! How `neurite train` shows a run: [`EpochView`] turns the learner's events into a progress bar
//! per epoch (indicatif, on stderr, hidden when stderr is not a terminal or with `--quiet`) and a
//! row of the summary table per finished epoch.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neurite_train::{BatchProgress, Callback, EpochMetrics};

/// The header of the summary table printed as epochs finish.
pub fn table_header() -> String {
    format!(
        "{:>5}  {:>10}  {:>9}  {:>8}  {:>7}  {:>7}",
        "epoch", "train loss", "train acc", "val loss", "val acc", "seconds"
    )
}

/// One line of the summary table.
pub fn table_row(r: &EpochMetrics) -> String {
    let or_dash = |v: Option<f64>, digits: usize| v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"));
    format!(
        "{:>5}  {:>10.4}  {:>9.4}  {:>8}  {:>7}  {:>7}",
        r.epoch,
        r.train_loss,
        r.train_acc,
        or_dash(r.val_loss, 4),
        or_dash(r.val_acc, 4),
        or_dash(r.seconds, 1)
    )
}

/// The terminal view of a run: the table so far, then a bar for the running epoch.
pub struct EpochView {
    quiet: bool,
    bar: Option<(ProgressBar, Instant)>,
    last_val_acc: Option<f64>,
}

impl EpochView {
    /// Prints the table header and the rows of the epochs already done (a resumed run's).
    pub fn new(quiet: bool, history: &[EpochMetrics]) -> Self {
        say!("{}", table_header());
        for row in history {
            say!("{}", table_row(row));
        }
        EpochView { quiet, bar: None, last_val_acc: history.last().and_then(|r| r.val_acc) }
    }

    /// The validation accuracy of the last epoch.
    pub fn last_val_acc(&self) -> Option<f64> {
        self.last_val_acc
    }

    /// Removes the bar of an unfinished epoch (before an error is printed).
    pub fn clear(&mut self) {
        if let Some((bar, _)) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Callback for EpochView {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, samples: usize) {
        let target = if self.quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let bar = ProgressBar::with_draw_target(Some(samples as u64), target);
        let style = ProgressStyle::with_template("{prefix} [{wide_bar}] {pos}/{len} {msg} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        self.bar = Some((bar, Instant::now()));
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        if let Some((bar, started)) = &self.bar {
            let rate = p.seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("loss {:.4} acc {:.4} {rate:.0} samples/s", p.loss, p.accuracy));
            bar.set_position(p.seen as u64);
        }
    }

    fn on_epoch_end(&mut self, metrics: &EpochMetrics) {
        self.clear();
        self.last_val_acc = metrics.val_acc;
        say!("{}", table_row(metrics));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_line_up_with_the_header() {
        let rows = [
            EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_acc: 0.8,
                val_loss: Some(0.4),
                val_acc: Some(0.85),
                seconds: Some(1.25),
            },
            EpochMetrics { epoch: 2, train_loss: 0.25, train_acc: 0.9, val_loss: None, val_acc: None, seconds: None },
        ];
        for r in &rows {
            assert_eq!(table_row(r).len(), table_header().len(), "{}", table_row(r));
        }
        assert_eq!(table_row(&rows[1]), "    2      0.2500     0.9000         -        -        -");
    }
}
