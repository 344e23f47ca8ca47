//! What `neurite train` shows and writes about its epochs: the per-epoch [`EpochRow`], its CSV
//! form (`metrics.csv`, the same bytes for the same seed: wall times go to `timing.csv`), its
//! line in the summary table, the loss and accuracy curves
//! (`curves.png`, drawn by `plot.rs`), and the progress bar of an epoch (indicatif, on stderr,
//! hidden when stderr is not a terminal or with `--quiet`).

use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::plot::{Panel, PlotError, Series, Style};

/// The results of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRow {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's training batches (penalties not included).
    pub train_loss: f64,
    /// Fraction of training samples classified correctly as they were trained on.
    pub train_acc: f64,
    /// Mean cross-entropy on the validation set after the epoch (none without one).
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch.
    pub val_acc: Option<f64>,
    /// Wall time of the epoch, validation included (unknown for epochs of a resumed run whose
    /// `timing.csv` is not in the output folder).
    pub seconds: Option<f64>,
}

/// The first line of `metrics.csv`.
pub const CSV_HEADER: &str = "epoch,train_loss,train_acc,val_loss,val_acc";

/// The first line of `timing.csv`.
pub const TIMING_HEADER: &str = "epoch,seconds";

fn optional(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.6}")).unwrap_or_default()
}

/// The rows as `metrics.csv` text, header included: only what the seed determines, so two runs
/// of the same recipe write the same bytes.
pub fn to_csv(rows: &[EpochRow]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        out.push_str(&format!(
            "{},{:.6},{:.6},{},{}\n",
            r.epoch,
            r.train_loss,
            r.train_acc,
            optional(r.val_loss),
            optional(r.val_acc)
        ));
    }
    out
}

/// The wall time of each timed epoch as `timing.csv` text, header included.
pub fn to_timing_csv(rows: &[EpochRow]) -> String {
    let mut out = format!("{TIMING_HEADER}\n");
    for r in rows {
        if let Some(seconds) = r.seconds {
            out.push_str(&format!("{},{seconds:.3}\n", r.epoch));
        }
    }
    out
}

/// Fills in the wall times of `rows` from `timing.csv` text; lines that do not parse, and epochs
/// not in `rows`, are ignored (the file is informative only).
pub fn merge_timing(rows: &mut [EpochRow], text: &str) {
    for line in text.lines().skip(1) {
        let Some((epoch, seconds)) = line.split_once(',') else { continue };
        let (Ok(epoch), Ok(seconds)) = (epoch.parse::<usize>(), seconds.parse::<f64>()) else { continue };
        if let Some(row) = rows.iter_mut().find(|r| r.epoch == epoch) {
            row.seconds = Some(seconds);
        }
    }
}

/// Reads `metrics.csv` text back (what a checkpoint stores to resume the file). The wall times
/// are not in it: every row's `seconds` is `None`.
///
/// # Errors
/// A message naming the bad line.
pub fn parse_csv(text: &str) -> Result<Vec<EpochRow>, String> {
    let mut lines = text.lines();
    // Checkpoints written before wall times moved to `timing.csv` carry a sixth column.
    let columns = match lines.next() {
        Some(CSV_HEADER) => 5,
        Some(h) if h == format!("{CSV_HEADER},seconds") => 6,
        _ => return Err(format!("metrics do not start with `{CSV_HEADER}`")),
    };
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = || format!("metrics line {}: `{line}`", i + 2);
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != columns {
                return Err(bad());
            }
            let num = |s: &str| s.parse::<f64>().map_err(|_| bad());
            let opt = |s: &str| if s.is_empty() { Ok(None) } else { num(s).map(Some) };
            Ok(EpochRow {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                train_acc: num(f[2])?,
                val_loss: opt(f[3])?,
                val_acc: opt(f[4])?,
                seconds: if columns == 6 { opt(f[5])? } else { None },
            })
        })
        .collect()
}

/// The header of the summary table printed as epochs finish.
pub fn table_header() -> String {
    format!(
        "{:>5}  {:>10}  {:>9}  {:>8}  {:>7}  {:>7}",
        "epoch", "train loss", "train acc", "val loss", "val acc", "seconds"
    )
}

/// One line of the summary table.
pub fn table_row(r: &EpochRow) -> String {
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

/// Draws loss and accuracy per epoch, training and validation, side by side into `path`.
///
/// # Errors
/// [`PlotError`] if drawing or writing fails.
pub fn save_curves(path: &Path, rows: &[EpochRow]) -> Result<(), PlotError> {
    let points = |f: &dyn Fn(&EpochRow) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter().filter_map(|r| f(r).map(|v| (r.epoch as f64, v))).collect()
    };
    let series =
        |name: &str, pts: Vec<(f64, f64)>| Series { name: name.to_string(), points: pts, style: Style::LineMarkers };
    let mut loss = vec![series("train", points(&|r| Some(r.train_loss)))];
    let mut acc = vec![series("train", points(&|r| Some(r.train_acc)))];
    if rows.iter().any(|r| r.val_loss.is_some()) {
        loss.push(series("validation", points(&|r| r.val_loss)));
        acc.push(series("validation", points(&|r| r.val_acc)));
    }
    let x_range = Some((0.5, rows.len().max(1) as f64 + 0.5));
    let panels = [
        Panel {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: loss,
            x_range,
            ..Panel::default()
        },
        Panel {
            title: "accuracy".into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: acc,
            x_range,
            ..Panel::default()
        },
    ];
    crate::plot::save(path, &panels, 2, (560, 400))
}

/// The progress bar of one epoch: samples done, running loss and accuracy, samples per second
/// and the time left.
pub struct EpochProgress {
    bar: ProgressBar,
    started: Instant,
}

impl EpochProgress {
    /// A bar for `samples` samples of epoch `epoch` of `epochs`; hidden when `quiet` or when
    /// stderr is not a terminal.
    pub fn new(epoch: usize, epochs: usize, samples: usize, quiet: bool) -> Self {
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let bar = ProgressBar::with_draw_target(Some(samples as u64), target);
        let style = ProgressStyle::with_template("{prefix} [{wide_bar}] {pos}/{len} {msg} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("epoch {epoch}/{epochs}"));
        EpochProgress { bar, started: Instant::now() }
    }

    /// Records `done` samples so far with their mean loss and accuracy.
    pub fn update(&self, done: usize, loss: f64, accuracy: f64) {
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_message(format!("loss {loss:.4} acc {accuracy:.4} {rate:.0} samples/s"));
        self.bar.set_position(done as u64);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<EpochRow> {
        vec![
            EpochRow {
                epoch: 1,
                train_loss: 0.5,
                train_acc: 0.8,
                val_loss: Some(0.4),
                val_acc: Some(0.85),
                seconds: Some(1.25),
            },
            EpochRow { epoch: 2, train_loss: 0.25, train_acc: 0.9, val_loss: None, val_acc: None, seconds: None },
        ]
    }

    #[test]
    fn metrics_round_trip_through_csv() {
        let text = to_csv(&rows());
        assert_eq!(
            text,
            "epoch,train_loss,train_acc,val_loss,val_acc\n\
             1,0.500000,0.800000,0.400000,0.850000\n\
             2,0.250000,0.900000,,\n"
        );
        let mut back = parse_csv(&text).unwrap();
        assert!(back.iter().all(|r| r.seconds.is_none()), "wall times are not in metrics.csv");
        let timing = to_timing_csv(&rows());
        assert_eq!(timing, "epoch,seconds\n1,1.250\n");
        merge_timing(&mut back, &format!("{timing}x,y\n9,2.0\n"));
        assert_eq!(back, rows());
        assert!(parse_csv("epoch\n1\n").is_err());
        assert_eq!(parse_csv(&format!("{CSV_HEADER}\n1,x,0,0,0\n")), Err("metrics line 2: `1,x,0,0,0`".into()));
        assert_eq!(parse_csv(&format!("{CSV_HEADER}\n1,0,0,0,0,0\n")), Err("metrics line 2: `1,0,0,0,0,0`".into()));
        // The form of older checkpoints, with the wall time as a sixth column, still reads.
        let old = "epoch,train_loss,train_acc,val_loss,val_acc,seconds\n1,0.5,0.8,0.4,0.85,1.25\n";
        assert_eq!(parse_csv(old), Ok(vec![rows()[0].clone()]));
    }

    #[test]
    fn table_rows_line_up_with_the_header() {
        let header = table_header();
        for r in rows() {
            assert_eq!(table_row(&r).len(), header.len(), "{}", table_row(&r));
        }
        assert_eq!(table_row(&rows()[1]), "    2      0.2500     0.9000         -        -        -");
    }

    #[test]
    fn curves_are_drawn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("curves.png");
        save_curves(&path, &rows()).expect("drawn");
        let img = image::open(&path).expect("a png");
        assert_eq!((img.width(), img.height()), (1120, 400));
    }
}
