//! Evaluation of a classifier on a data set, written once: mean loss, accuracy, per-class
//! accuracy and the confusion matrix, computed in batches of [`EVAL_BATCH`] in evaluation mode
//! with graph recording off. The learner's validation, `neurite eval`, `neurite train`'s test set
//! and the course experiments all call [`evaluate`].

use neurite_core::{Backend, no_grad};
use neurite_nn::Module;
use neurite_nn::data::{BatchLoader, Dataset, Preprocessing};
use serde::Serialize;

use crate::step::Loss;

/// Samples per forward pass during evaluation.
pub const EVAL_BATCH: usize = 500;

/// The results of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Samples evaluated.
    pub samples: usize,
    /// Mean loss (the loss `evaluate` was given; cross-entropy for a classifier).
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// `confusion[true][predicted]`: how many samples of each class went to each class.
    pub confusion: Vec<Vec<usize>>,
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
}

/// Evaluates `model` on `data`, switching it to evaluation mode (no dropout, running batch-norm
/// statistics) and leaving it there. `loss` is what [`Evaluation::loss`] averages; a loss that
/// takes one-hot targets gets the labels one-hot encoded. The number of classes is the width of
/// the model's output.
///
/// # Panics
/// If the model's outputs are not `[n, classes]`, or a label is not below `classes` (check the
/// data against the model first).
pub fn evaluate<B: Backend>(
    model: &mut dyn Module<B>,
    data: &Dataset,
    preprocessing: Preprocessing,
    loss: Loss,
) -> Evaluation {
    model.set_training(false);
    let mut confusion: Vec<Vec<usize>> = Vec::new();
    let mut loss_sum = 0.0f64;
    let mut loader = BatchLoader::new(data, EVAL_BATCH.min(data.len().max(1))).with_preprocessing(preprocessing);
    no_grad(|| {
        for batch in loader.epoch::<B>() {
            let outputs = model.forward(&batch.inputs);
            let classes = outputs.dims().get(1).copied().unwrap_or(1);
            if confusion.is_empty() {
                confusion = vec![vec![0usize; classes]; classes];
            }
            let n = batch.label_indices.len();
            let targets = if loss.takes_class_indices() { batch.labels } else { batch.labels.one_hot(classes) };
            loss_sum += loss.of(&outputs, &targets).item() as f64 * n as f64;
            let predicted = outputs.argmax(1, false);
            for (&p, &label) in predicted.as_slice().iter().zip(&batch.label_indices) {
                confusion[label][p as usize] += 1;
            }
        }
    });
    let samples = data.len();
    let correct: usize = (0..confusion.len()).map(|c| confusion[c][c]).sum();
    let ratio = |x: f64| if samples == 0 { 0.0 } else { x / samples as f64 };
    Evaluation { samples, loss: ratio(loss_sum), accuracy: ratio(correct as f64), confusion }
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

    #[test]
    fn per_class_accuracy_reads_the_diagonal() {
        let e = Evaluation { samples: 5, loss: 0.0, accuracy: 0.6, confusion: vec![vec![2, 1], vec![1, 1]] };
        assert_eq!(e.per_class_accuracy(), vec![Some(2.0 / 3.0), Some(0.5)]);
        let empty = Evaluation { confusion: vec![vec![0, 0], vec![0, 3]], ..e };
        assert_eq!(empty.per_class_accuracy(), vec![None, Some(1.0)]);
    }

    #[test]
    fn the_confusion_table_has_a_row_per_class() {
        let e = Evaluation { samples: 3, loss: 0.0, accuracy: 1.0, confusion: vec![vec![2, 0], vec![0, 1]] };
        let table = confusion_table(&e, &["cat".to_string(), "dog".to_string()]);
        assert_eq!(table, "true cat dog\n cat   2   0\n dog   0   1");
    }
}
