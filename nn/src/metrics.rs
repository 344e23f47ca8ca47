//! Evaluation helpers: accuracy of logits against labels, and prediction under `no_grad`.

use neurite_core::{Backend, Tensor, no_grad};

use crate::module::Module;

/// The fraction of rows of `[n, classes]` scores whose largest entry is at the row's label.
/// Ties go to the first largest entry. An empty batch has accuracy 0.
///
/// # Panics
/// If `scores` is not 2-D or `labels.len()` differs from its rows.
pub fn accuracy<B: Backend>(scores: &Tensor<B>, labels: &[usize]) -> f32 {
    assert_eq!(scores.rank(), 2, "accuracy: scores {} must be [n, classes]", scores.shape());
    assert_eq!(scores.dims()[0], labels.len(), "accuracy: {} labels for scores {}", labels.len(), scores.shape());
    if labels.is_empty() {
        return 0.0;
    }
    correct(scores, labels) as f32 / labels.len() as f32
}

/// How many rows of `[n, classes]` scores have their largest entry at the row's label.
pub fn correct<B: Backend>(scores: &Tensor<B>, labels: &[usize]) -> usize {
    let predicted = scores.argmax(1, false);
    predicted.as_slice().iter().zip(labels).filter(|(p, l)| **p as usize == **l).count()
}

/// The model's output with graph recording off (evaluation: nothing kept for backward).
pub fn predict<B: Backend>(model: &dyn Module<B>, x: &Tensor<B>) -> Tensor<B> {
    no_grad(|| model.forward(x))
}
