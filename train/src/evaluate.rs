//! Evaluation of a model on a data source, written once: the mean loss, and for class targets the
//! accuracy and the confusion matrix, plus any [`Metric`]s asked for, computed in batches of
//! [`EVAL_BATCH`] in evaluation mode with graph recording off. The learner's validation,
//! `neurite eval`, `neurite train`'s test set and the course experiments all call it.

use neurite_core::{Backend, no_grad};
use neurite_nn::Module;
use neurite_nn::data::Preprocessing;
use serde::Serialize;

use crate::error::TrainError;
use crate::loss::{Loss, target_tensor};
use crate::metric::{Metric, MetricBatch};
use crate::source::{DataSource, TargetKind, Targets, input_tensor};

/// Samples per forward pass during evaluation.
pub const EVAL_BATCH: usize = 500;

/// The results of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Samples evaluated.
    pub samples: usize,
    /// Mean loss per sample.
    pub loss: f64,
    /// Fraction classified correctly (class targets only).
    pub accuracy: Option<f64>,
    /// `confusion[true][predicted]`: how many samples of each class went to each class (class
    /// targets only; empty for values).
    pub confusion: Vec<Vec<usize>>,
    /// The values of the metrics asked for, in order.
    pub metrics: Vec<(String, f64)>,
}

impl Evaluation {
    /// Per class, the fraction of its samples classified correctly (`None` for a class with no
    /// sample).
    pub fn per_class_accuracy(&self) -> Vec<Option<f64>> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let total: usize = row.iter().sum();
                (total > 0).then(|| row[c] as f64 / total as f64)
            })
            .collect()
    }

    /// Per class, `(precision, recall, f1)` from the confusion matrix (see
    /// [`crate::ClassReport`]; empty for value targets).
    pub fn class_report(&self) -> Vec<(f64, f64, f64)> {
        crate::metric::precision_recall_f1(&self.confusion)
    }

    /// The value of metric `name`, if it was measured.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// Evaluates `model` on `data` with `loss`: [`evaluate_with`] without extra metrics.
///
/// # Errors
/// As [`evaluate_with`].
pub fn evaluate<B: Backend>(
    model: &mut dyn Module<B>,
    data: &dyn DataSource,
    preprocessing: Preprocessing,
    loss: &dyn Loss<B>,
) -> Result<Evaluation, TrainError> {
    evaluate_with(model, data, preprocessing, loss, &mut [])
}

/// Evaluates `model` on `data`, switching it to evaluation mode (no dropout, running batch-norm
/// statistics) and leaving it there: the mean of `loss`, for class targets the accuracy (by
/// [`Loss::predicted`]) and the confusion matrix (as many classes as the model has outputs, two
/// for a single output), and the values of `metrics`, each reset first. Pixels are prepared as
/// `preprocessing` says.
///
/// # Errors
/// [`TrainError::Data`] if the source fails or gives samples that do not fit the model or the
/// loss.
pub fn evaluate_with<B: Backend>(
    model: &mut dyn Module<B>,
    data: &dyn DataSource,
    preprocessing: Preprocessing,
    loss: &dyn Loss<B>,
    metrics: &mut [&mut dyn Metric],
) -> Result<Evaluation, TrainError> {
    model.set_training(false);
    metrics.iter_mut().for_each(|m| m.reset());
    let sample = data.sample_shape();
    let classes = matches!(data.target_kind(), TargetKind::Classes(_));
    let (n, batch) = (data.len(), EVAL_BATCH.min(data.len().max(1)));
    let mut confusion: Vec<Vec<usize>> = Vec::new();
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let failed = |e: String| TrainError::Data(e);
    let order: Vec<usize> = (0..n).collect();
    no_grad(|| -> Result<(), TrainError> {
        for indices in order.chunks(batch) {
            let samples = data.get(indices).map_err(|e| failed(e.to_string()))?;
            let x = input_tensor::<B>(samples.inputs, &sample, indices.len(), &preprocessing).map_err(failed)?;
            let outputs = model.forward(&x);
            let width = outputs.dims().get(1).copied().unwrap_or(1);
            let targets = target_tensor::<B>(&samples.targets, loss.targets(), width, indices.len()).map_err(failed)?;
            loss_sum += f64::from(loss.of(&outputs, &targets).item()) * indices.len() as f64;
            let predicted = match &samples.targets {
                Targets::Classes(labels) => {
                    let k = width.max(2);
                    if confusion.is_empty() {
                        confusion = vec![vec![0usize; k]; k];
                    }
                    let predicted = loss.predicted(&outputs);
                    for (&p, &label) in predicted.iter().zip(labels) {
                        correct += usize::from(p == label);
                        confusion[label][p.min(k - 1)] += 1;
                    }
                    Some(predicted)
                }
                Targets::Values(_) => None,
            };
            if !metrics.is_empty() {
                let outputs = outputs.to_vec();
                let batch = MetricBatch {
                    outputs: &outputs,
                    width,
                    targets: &samples.targets,
                    predicted: predicted.as_deref(),
                };
                metrics.iter_mut().for_each(|m| m.update(&batch));
            }
        }
        Ok(())
    })?;
    let ratio = |x: f64| if n == 0 { 0.0 } else { x / n as f64 };
    Ok(Evaluation {
        samples: n,
        loss: ratio(loss_sum),
        accuracy: classes.then(|| ratio(correct as f64)),
        confusion,
        metrics: metrics.iter().flat_map(|m| m.values()).collect(),
    })
}

/// The confusion matrix as a table: a header of predicted classes, one row per true class.
pub fn confusion_table(e: &Evaluation, names: &[String]) -> String {
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .chain(e.confusion.iter().flatten().map(|v| v.to_string().len()))
        .max()
        .unwrap_or(1)
        .max(3);
    let label_width = names.iter().map(|n| n.chars().count()).max().unwrap_or(1).max(4);
    let mut out = format!("{:>label_width$}", "true");
    for name in names {
        out.push_str(&format!(" {name:>width$}"));
    }
    for (name, row) in names.iter().zip(&e.confusion) {
        out.push('\n');
        out.push_str(&format!("{name:>label_width$}"));
        for v in row {
            out.push_str(&format!(" {v:>width$}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(confusion: Vec<Vec<usize>>) -> Evaluation {
        Evaluation { samples: 5, loss: 0.0, accuracy: Some(0.6), confusion, metrics: Vec::new() }
    }

    #[test]
    fn per_class_accuracy_reads_the_diagonal() {
        assert_eq!(evaluation(vec![vec![2, 1], vec![1, 1]]).per_class_accuracy(), vec![Some(2.0 / 3.0), Some(0.5)]);
        assert_eq!(evaluation(vec![vec![0, 0], vec![0, 3]]).per_class_accuracy(), vec![None, Some(1.0)]);
    }

    #[test]
    fn the_confusion_table_has_a_row_per_class() {
        let table = confusion_table(&evaluation(vec![vec![2, 0], vec![0, 1]]), &["cat".to_string(), "dog".to_string()]);
        assert_eq!(table, "true cat dog\n cat   2   0\n dog   0   1");
    }
}
