//! What an evaluation measures besides the loss: the [`Metric`] trait, counted batch by batch on
//! the host from a model's outputs and the batch's targets, and the built-in metrics on it:
//! [`Accuracy`], [`TopK`], [`MeanAbsoluteError`] and [`ClassReport`] (per-class precision,
//! recall and F1 with their macro averages). [`crate::evaluate_with`] reports the ones it is
//! given.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::source::Targets;

/// One batch as a metric sees it.
#[derive(Clone, Copy, Debug)]
pub struct MetricBatch<'a> {
    /// The model's outputs, `width` values per sample, row-major.
    pub outputs: &'a [f32],
    /// Outputs per sample.
    pub width: usize,
    /// The batch's targets.
    pub targets: &'a Targets,
    /// For class targets, the class of each sample as the loss predicts it
    /// ([`crate::Loss::predicted`]: the largest score, or the side of the loss's threshold for a
    /// single output).
    pub predicted: Option<&'a [usize]>,
}

impl MetricBatch<'_> {
    /// The predicted class of sample `i`: the loss's, or the largest output.
    fn class(&self, i: usize) -> usize {
        match self.predicted {
            Some(p) => p[i],
            None => predicted(&self.outputs[i * self.width..(i + 1) * self.width]),
        }
    }
}

/// A measure accumulated over the batches of an evaluation.
pub trait Metric: Send {
    /// The name of the metric (`top-5`).
    fn name(&self) -> String;

    /// Forgets every batch counted so far.
    fn reset(&mut self);

    /// Counts one batch. Targets a metric does not apply to (values for a class metric) are left
    /// uncounted.
    fn update(&mut self, batch: &MetricBatch<'_>);

    /// The values so far, each with its name (a metric may report several, one per class).
    fn values(&self) -> Vec<(String, f64)>;
}

/// `part / whole`, 0 for an empty whole.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// The indices of a row's `k` largest values, the earlier index first among equals.
fn top(row: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// The predicted class of a row without a loss to ask: the largest score, or for a single
/// output, 1 above 0.5.
fn predicted(row: &[f32]) -> usize {
    match row {
        [single] => usize::from(*single > 0.5),
        _ => top(row, 1).first().copied().unwrap_or(0),
    }
}

/// The fraction of class samples predicted as their class.
#[derive(Clone, Debug, Default)]
pub struct Accuracy {
    correct: usize,
    total: usize,
}

impl Metric for Accuracy {
    fn name(&self) -> String {
        "accuracy".into()
    }
    fn reset(&mut self) {
        *self = Accuracy::default();
    }
    fn update(&mut self, batch: &MetricBatch<'_>) {
        if let Targets::Classes(labels) = batch.targets {
            for (i, &label) in labels.iter().enumerate() {
                self.correct += usize::from(batch.class(i) == label);
                self.total += 1;
            }
        }
    }
    fn values(&self) -> Vec<(String, f64)> {
        vec![(self.name(), ratio(self.correct, self.total))]
    }
}

/// The fraction of class samples whose class is among the `k` largest outputs (ties go to the
/// lower class index).
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    hits: usize,
    total: usize,
}

impl TopK {
    /// Top-`k` accuracy.
    pub fn new(k: usize) -> Self {
        TopK { k, hits: 0, total: 0 }
    }
}

impl Metric for TopK {
    fn name(&self) -> String {
        format!("top-{}", self.k)
    }
    fn reset(&mut self) {
        (self.hits, self.total) = (0, 0);
    }
    fn update(&mut self, batch: &MetricBatch<'_>) {
        if let Targets::Classes(labels) = batch.targets {
            for (row, label) in batch.outputs.chunks(batch.width.max(1)).zip(labels) {
                self.hits += usize::from(top(row, self.k).contains(label));
                self.total += 1;
            }
        }
    }
    fn values(&self) -> Vec<(String, f64)> {
        vec![(self.name(), ratio(self.hits, self.total))]
    }
}

/// The mean of |output − target| over every target value.
#[derive(Clone, Debug, Default)]
pub struct MeanAbsoluteError {
    sum: f64,
    count: usize,
}

impl Metric for MeanAbsoluteError {
    fn name(&self) -> String {
        "mae".into()
    }
    fn reset(&mut self) {
        *self = MeanAbsoluteError::default();
    }
    fn update(&mut self, batch: &MetricBatch<'_>) {
        if let Targets::Values(values) = batch.targets {
            for (y, t) in batch.outputs.iter().zip(values) {
                self.sum += f64::from((y - t).abs());
                self.count += 1;
            }
        }
    }
    fn values(&self) -> Vec<(String, f64)> {
        vec![(self.name(), if self.count == 0 { 0.0 } else { self.sum / self.count as f64 })]
    }
}

/// Per class c: precision (of the samples predicted c, the fraction that are c), recall (of the
/// samples of class c, the fraction predicted c) and F1 (their harmonic mean), then the macro
/// averages over the classes. A ratio with nothing to count is 0 (scikit-learn's
/// `zero_division=0`).
#[derive(Clone, Debug, Default)]
pub struct ClassReport {
    /// `confusion[true][predicted]`.
    confusion: Vec<Vec<usize>>,
}

/// Per class, `(precision, recall, f1)` from a confusion matrix `confusion[true][predicted]`
/// (see [`ClassReport`]).
pub fn precision_recall_f1(confusion: &[Vec<usize>]) -> Vec<(f64, f64, f64)> {
    let k = confusion.len();
    (0..k)
        .map(|c| {
            let hits = confusion[c].get(c).copied().unwrap_or(0);
            let predicted: usize = confusion.iter().map(|row| row.get(c).copied().unwrap_or(0)).sum();
            let actual: usize = confusion[c].iter().sum();
            let (p, r) = (ratio(hits, predicted), ratio(hits, actual));
            let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
            (p, r, f1)
        })
        .collect()
}

impl ClassReport {
    /// The report so far, one `(precision, recall, f1)` per class.
    pub fn per_class(&self) -> Vec<(f64, f64, f64)> {
        precision_recall_f1(&self.confusion)
    }
}

impl Metric for ClassReport {
    fn name(&self) -> String {
        "f1".into()
    }
    fn reset(&mut self) {
        self.confusion.clear();
    }
    fn update(&mut self, batch: &MetricBatch<'_>) {
        let Targets::Classes(labels) = batch.targets else { return };
        let k = batch.width.max(2);
        if self.confusion.len() < k {
            self.confusion.resize(k, Vec::new());
        }
        for row in &mut self.confusion {
            row.resize(k, 0);
        }
        for (i, &label) in labels.iter().enumerate() {
            if label < k {
                self.confusion[label][batch.class(i).min(k - 1)] += 1;
            }
        }
    }
    fn values(&self) -> Vec<(String, f64)> {
        let per_class = self.per_class();
        let mut values = Vec::with_capacity(3 * per_class.len() + 3);
        for (c, (p, r, f1)) in per_class.iter().enumerate() {
            values.extend([(format!("precision[{c}]"), *p), (format!("recall[{c}]"), *r), (format!("f1[{c}]"), *f1)]);
        }
        let k = per_class.len().max(1) as f64;
        let mean = |pick: fn(&(f64, f64, f64)) -> f64| per_class.iter().map(pick).sum::<f64>() / k;
        values.extend([
            ("macro-precision".to_string(), mean(|v| v.0)),
            ("macro-recall".to_string(), mean(|v| v.1)),
            ("macro-f1".to_string(), mean(|v| v.2)),
        ]);
        values
    }
}

/// A built-in metric by name: `accuracy`, `top-K` (K ≥ 1), `mae` or `f1` (per-class precision,
/// recall and F1 with their macro averages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MetricKind {
    /// [`Accuracy`].
    Accuracy,
    /// [`TopK`] with this k.
    TopK(usize),
    /// [`MeanAbsoluteError`].
    Mae,
    /// [`ClassReport`].
    F1,
}

/// The text forms of [`MetricKind`], for help texts and errors.
pub const METRIC_FORMS: &str = "accuracy, top-K, mae or f1";

impl MetricKind {
    /// The metric itself, counting nothing yet.
    pub fn build(self) -> Box<dyn Metric> {
        match self {
            MetricKind::Accuracy => Box::new(Accuracy::default()),
            MetricKind::TopK(k) => Box::new(TopK::new(k)),
            MetricKind::Mae => Box::new(MeanAbsoluteError::default()),
            MetricKind::F1 => Box::new(ClassReport::default()),
        }
    }
}

impl FromStr for MetricKind {
    type Err = String;
    fn from_str(text: &str) -> Result<MetricKind, String> {
        let parsed = match text.trim() {
            "accuracy" => Some(MetricKind::Accuracy),
            "mae" => Some(MetricKind::Mae),
            "f1" => Some(MetricKind::F1),
            other => other.strip_prefix("top-").and_then(|k| k.parse().ok()).filter(|&k| k > 0).map(MetricKind::TopK),
        };
        parsed.ok_or_else(|| format!("unknown metric `{text}`; choose {METRIC_FORMS}"))
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricKind::Accuracy => f.write_str("accuracy"),
            MetricKind::TopK(k) => write!(f, "top-{k}"),
            MetricKind::Mae => f.write_str("mae"),
            MetricKind::F1 => f.write_str("f1"),
        }
    }
}

neurite_core::text_form_serde!(MetricKind);

/// Metrics named in a list: `top-5,f1` (a flag) or `["top-5", "f1"]` (a settings file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricList(pub Vec<MetricKind>);

impl MetricList {
    /// The metrics themselves.
    pub fn build(&self) -> Vec<Box<dyn Metric>> {
        self.0.iter().map(|m| m.build()).collect()
    }
}

impl FromStr for MetricList {
    type Err = String;
    fn from_str(text: &str) -> Result<MetricList, String> {
        if text.trim().is_empty() {
            return Ok(MetricList::default());
        }
        text.split(',').map(str::parse).collect::<Result<_, _>>().map(MetricList)
    }
}

impl fmt::Display for MetricList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_round_trip() {
        let list: MetricList = "accuracy,top-5,mae,f1".parse().expect("parses");
        assert_eq!(list.0, [MetricKind::Accuracy, MetricKind::TopK(5), MetricKind::Mae, MetricKind::F1]);
        assert_eq!(list.to_string(), "accuracy,top-5,mae,f1");
        assert!("top-0".parse::<MetricKind>().unwrap_err().starts_with("unknown metric `top-0`"));
        assert_eq!(list.build().iter().map(|m| m.name()).collect::<Vec<_>>(), ["accuracy", "top-5", "mae", "f1"]);
    }
}
