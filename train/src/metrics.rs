//! What a run records per epoch: [`EpochMetrics`], its CSV forms (`metrics.csv`, the same bytes
//! for the same seed, and `timing.csv`, the wall times), and the loss and accuracy curves
//! (`curves.png`, drawn by `plot.rs`).

use std::path::Path;

use crate::plot::{Panel, PlotError, Series, Style};

/// The results of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean loss over the epoch's training batches (the data loss, penalties not included).
    pub train_loss: f64,
    /// Fraction of training samples classified correctly as they were trained on (none for
    /// value targets).
    pub train_acc: Option<f64>,
    /// Mean loss on the validation set after the epoch (none without one).
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

impl EpochMetrics {
    /// The row as `metrics.csv` and a checkpoint record it: losses and accuracies to 6 decimals.
    /// A learner keeps its history in this form, so that what it decides from the history (a
    /// schedule's rate, early stopping) is the same in a run and in its resumption.
    pub fn as_recorded(&self) -> EpochMetrics {
        let round = |v: f64| format!("{v:.6}").parse::<f64>().expect("a formatted number parses");
        EpochMetrics {
            train_loss: round(self.train_loss),
            train_acc: self.train_acc.map(round),
            val_loss: self.val_loss.map(round),
            val_acc: self.val_acc.map(round),
            ..self.clone()
        }
    }
}

/// The rows as `metrics.csv` text, header included: only what the seed determines, so two runs
/// of the same recipe write the same bytes.
pub fn to_csv(rows: &[EpochMetrics]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        out.push_str(&format!(
            "{},{:.6},{},{},{}\n",
            r.epoch,
            r.train_loss,
            optional(r.train_acc),
            optional(r.val_loss),
            optional(r.val_acc)
        ));
    }
    out
}

/// The wall time of each timed epoch as `timing.csv` text, header included.
pub fn to_timing_csv(rows: &[EpochMetrics]) -> String {
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
pub fn merge_timing(rows: &mut [EpochMetrics], text: &str) {
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
pub fn parse_csv(text: &str) -> Result<Vec<EpochMetrics>, String> {
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
            Ok(EpochMetrics {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                train_acc: opt(f[2])?,
                val_loss: opt(f[3])?,
                val_acc: opt(f[4])?,
                seconds: if columns == 6 { opt(f[5])? } else { None },
            })
        })
        .collect()
}

/// Draws loss (called `loss_name` on its axis) and accuracy (on [0, 1], for class targets) per
/// epoch, training and validation, side by side into `path`, ticking whole epochs; `title` (the model and optimizer)
/// follows each panel's name.
///
/// # Errors
/// [`PlotError`] if drawing or writing fails.
pub fn save_curves(path: &Path, rows: &[EpochMetrics], loss_name: &str, title: &str) -> Result<(), PlotError> {
    let points = |f: &dyn Fn(&EpochMetrics) -> Option<f64>| -> Vec<(f64, f64)> {
        rows.iter().filter_map(|r| f(r).map(|v| (r.epoch as f64, v))).collect()
    };
    let series =
        |name: &str, pts: Vec<(f64, f64)>| Series { name: name.to_string(), points: pts, style: Style::LineMarkers };
    let mut loss = vec![series("train", points(&|r| Some(r.train_loss)))];
    let mut acc = vec![series("train", points(&|r| r.train_acc))];
    if rows.iter().any(|r| r.val_loss.is_some()) {
        loss.push(series("validation", points(&|r| r.val_loss)));
        acc.push(series("validation", points(&|r| r.val_acc)));
    }
    let x_range = Some((0.5, rows.len().max(1) as f64 + 0.5));
    let titled = |what: &str| if title.is_empty() { what.to_string() } else { format!("{what}: {title}") };
    let mut panels = vec![
        Panel {
            title: titled("loss"),
            integer_x: true,
            x_label: "epoch".into(),
            y_label: loss_name.into(),
            series: loss,
            x_range,
            ..Panel::default()
        },
        Panel {
            title: titled("accuracy"),
            integer_x: true,
            y_range: Some((0.0, 1.0)),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: acc,
            x_range,
            ..Panel::default()
        },
    ];
    // A regression run has no accuracy to draw.
    if rows.iter().all(|r| r.train_acc.is_none()) {
        panels.pop();
    }
    crate::plot::save(path, &panels, panels.len(), (560, 400))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<EpochMetrics> {
        vec![
            EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_acc: Some(0.8),
                val_loss: Some(0.4),
                val_acc: Some(0.85),
                seconds: Some(1.25),
            },
            EpochMetrics {
                epoch: 2,
                train_loss: 0.25,
                train_acc: Some(0.9),
                val_loss: None,
                val_acc: None,
                seconds: None,
            },
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
    fn curves_are_drawn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("curves.png");
        save_curves(&path, &rows(), "cross-entropy", "mlp, adam").expect("drawn");
        let img = image::open(&path).expect("a png");
        assert_eq!((img.width(), img.height()), (1120, 400));
    }
}
