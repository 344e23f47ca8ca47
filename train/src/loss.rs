//! What a training step minimises: the [`Loss`] trait, which a user's own loss implements to plug
//! into [`crate::train_step`], [`crate::Learner`] and [`crate::evaluate`], and the built-in losses
//! on it ([`CrossEntropy`], [`SmoothedCrossEntropy`], [`Mse`], [`Bce`], [`BceWithLogits`], [`L1`],
//! [`Huber`]). [`LossKind`] names a built-in one in settings files and flags.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use neurite_core::{Backend, Tensor};
use neurite_nn::loss;
use serde::{Deserialize, Serialize};

use crate::source::Targets;

/// The targets a loss compares the outputs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetForm {
    /// Class indices, a `[n]` tensor (softmax cross-entropy).
    ClassIndices,
    /// Values of the output's shape: one-hot rows (or a `[n, 1]` column of 0/1 for a single
    /// output) when the data gives classes, the data's own values when it gives values.
    Values,
}

/// The targets of a batch of `n` samples as the tensor a loss of form `form` takes, for outputs
/// of `width` values per sample.
///
/// # Errors
/// A message for value targets given to a loss that takes class indices, or targets that do not
/// fit the batch or the outputs (a class without an output, a count other than `n`).
pub(crate) fn target_tensor<B: Backend>(
    targets: &Targets,
    form: TargetForm,
    width: usize,
    n: usize,
) -> Result<Tensor<B>, String> {
    let found = targets.len(width);
    if found != n || (matches!(targets, Targets::Values(v) if v.len() != n * width)) {
        return Err(format!("a batch of {n} samples came with targets for {found} (of {width} values each)"));
    }
    if let Targets::Classes(labels) = targets {
        // A single output stands for two classes (its side of the loss's threshold).
        let classes = if width == 1 && form == TargetForm::Values { 2 } else { width };
        if let Some(l) = labels.iter().find(|&&l| l >= classes) {
            return Err(format!("class {l} has no output among the model's {width}"));
        }
    }
    let labels_tensor =
        |labels: &[usize]| Tensor::<B>::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]);
    match (targets, form) {
        (Targets::Classes(labels), TargetForm::ClassIndices) => Ok(labels_tensor(labels)),
        (Targets::Classes(labels), TargetForm::Values) if width == 1 => Ok(labels_tensor(labels).reshape([n, 1])),
        (Targets::Classes(labels), TargetForm::Values) => Ok(labels_tensor(labels).one_hot(width)),
        (Targets::Values(values), TargetForm::Values) => Ok(Tensor::from_vec(values.clone(), [n, width])),
        (Targets::Values(_), TargetForm::ClassIndices) => {
            Err("the loss takes class indices, but the data's targets are values".into())
        }
    }
}

/// A loss function: a scalar in the graph for a batch of outputs and targets, that
/// [`neurite_core::Tensor::backward`] differentiates.
///
/// ```
/// use neurite_core::{Backend, Tensor, reference::ReferenceBackend as R};
/// use neurite_train::{Loss, TargetForm};
///
/// /// Squared error summed over a sample, averaged over the batch.
/// struct SumSquared;
/// impl<B: Backend> Loss<B> for SumSquared {
///     fn name(&self) -> &str {
///         "summed squared error"
///     }
///     fn targets(&self) -> TargetForm {
///         TargetForm::Values
///     }
///     fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
///         let n = outputs.dims()[0] as f32;
///         outputs.sub(targets).square().sum().mul_scalar(1.0 / n)
///     }
/// }
///
/// let y = Tensor::<R>::from_vec(vec![1.0, 2.0, 0.0, 0.0], [2, 2]);
/// let t = Tensor::<R>::from_vec(vec![0.0, 0.0, 0.0, 1.0], [2, 2]);
/// // ((1 + 4) + 1)/2
/// assert_eq!(Loss::<R>::of(&SumSquared, &y, &t).item(), 3.0);
/// ```
pub trait Loss<B: Backend>: Send + Sync {
    /// What the loss is called on a chart or in a table (`cross-entropy`).
    fn name(&self) -> &str;

    /// The targets it takes.
    fn targets(&self) -> TargetForm;

    /// The loss of `outputs` against `targets` (as [`Loss::targets`] says), a scalar in the graph.
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B>;

    /// The class each sample of a batch is predicted to be, for a classifier trained with this
    /// loss: by default the largest output, or for a single output per sample, class 1 above
    /// 0.5 and class 0 otherwise.
    fn predicted(&self, outputs: &Tensor<B>) -> Vec<usize> {
        predicted_above(outputs, 0.5)
    }
}

/// The default of [`Loss::predicted`], with `threshold` for a single output.
fn predicted_above<B: Backend>(outputs: &Tensor<B>, threshold: f32) -> Vec<usize> {
    if outputs.rank() == 2 && outputs.dims()[1] > 1 {
        return outputs.argmax(1, false).as_slice().iter().map(|&p| p as usize).collect();
    }
    outputs.as_slice().iter().map(|&y| usize::from(y > threshold)).collect()
}

/// How many of `predicted` are `labels`.
pub(crate) fn count_correct(predicted: &[usize], labels: &[usize]) -> usize {
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count()
}

/// Softmax cross-entropy of `[n, classes]` scores against class indices.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CrossEntropy;

impl<B: Backend> Loss<B> for CrossEntropy {
    fn name(&self) -> &str {
        "cross-entropy"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::ClassIndices
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::cross_entropy(outputs, targets)
    }
}

/// Softmax cross-entropy with label smoothing (see [`neurite_nn::loss::cross_entropy_smoothed`]):
/// each target is (1 − ε)·one_hot + ε/classes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothedCrossEntropy {
    /// ε, in [0, 1).
    pub smoothing: f32,
}

impl<B: Backend> Loss<B> for SmoothedCrossEntropy {
    fn name(&self) -> &str {
        "smoothed cross-entropy"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::ClassIndices
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::cross_entropy_smoothed(outputs, targets, self.smoothing)
    }
}

/// The course's mean squared error E = 1/(2N)·Σ‖y − t‖² over a batch of N.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mse;

impl<B: Backend> Loss<B> for Mse {
    fn name(&self) -> &str {
        "squared error"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::mse(outputs, targets, loss::MseReduction::HalfSumPerSample)
    }
}

/// Binary cross-entropy of probabilities in (0, 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bce;

impl<B: Backend> Loss<B> for Bce {
    fn name(&self) -> &str {
        "binary cross-entropy"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::bce(outputs, targets)
    }
}

/// Binary cross-entropy of logits (the sigmoid folded in, stable); a single logit counts as
/// class 1 above 0.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BceWithLogits;

impl<B: Backend> Loss<B> for BceWithLogits {
    fn name(&self) -> &str {
        "binary cross-entropy"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::bce_with_logits(outputs, targets)
    }
    fn predicted(&self, outputs: &Tensor<B>) -> Vec<usize> {
        predicted_above(outputs, 0.0)
    }
}

/// Mean absolute error, mean(|y − t|).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct L1;

impl<B: Backend> Loss<B> for L1 {
    fn name(&self) -> &str {
        "absolute error"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::l1(outputs, targets)
    }
}

/// The Huber loss with threshold `delta` (see [`neurite_nn::loss::huber`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the quadratic part ends (> 0).
    pub delta: f32,
}

impl<B: Backend> Loss<B> for Huber {
    fn name(&self) -> &str {
        "Huber loss"
    }
    fn targets(&self) -> TargetForm {
        TargetForm::Values
    }
    fn of(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        loss::huber(outputs, targets, self.delta)
    }
}

/// A built-in loss by name: `cross-entropy[:SMOOTHING]` (label smoothing ε, 0 by default), `mse`,
/// `bce`, `bce-with-logits`, `l1` or `huber[:DELTA]` (δ = 1 by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LossKind {
    /// [`CrossEntropy`].
    #[default]
    CrossEntropy,
    /// [`SmoothedCrossEntropy`] with this ε.
    SmoothedCrossEntropy(f32),
    /// [`Mse`].
    Mse,
    /// [`Bce`].
    Bce,
    /// [`BceWithLogits`].
    BceWithLogits,
    /// [`L1`].
    L1,
    /// [`Huber`] with this δ.
    Huber(f32),
}

/// The text forms of [`LossKind`], for help texts and errors.
pub const LOSS_FORMS: &str =
    "cross-entropy[:SMOOTHING], mse, bce, bce-with-logits, l1 or huber[:DELTA] (0 ≤ SMOOTHING < 1, DELTA > 0)";

impl LossKind {
    /// The loss itself.
    pub fn build<B: Backend>(self) -> Arc<dyn Loss<B>> {
        match self {
            LossKind::CrossEntropy => Arc::new(CrossEntropy),
            LossKind::SmoothedCrossEntropy(smoothing) => Arc::new(SmoothedCrossEntropy { smoothing }),
            LossKind::Mse => Arc::new(Mse),
            LossKind::Bce => Arc::new(Bce),
            LossKind::BceWithLogits => Arc::new(BceWithLogits),
            LossKind::L1 => Arc::new(L1),
            LossKind::Huber(delta) => Arc::new(Huber { delta }),
        }
    }
}

impl FromStr for LossKind {
    type Err = String;
    fn from_str(text: &str) -> Result<LossKind, String> {
        let parsed = match text.trim().split_once(':') {
            None => match text.trim() {
                "cross-entropy" => Some(LossKind::CrossEntropy),
                "mse" => Some(LossKind::Mse),
                "bce" => Some(LossKind::Bce),
                "bce-with-logits" => Some(LossKind::BceWithLogits),
                "l1" => Some(LossKind::L1),
                "huber" => Some(LossKind::Huber(1.0)),
                _ => None,
            },
            Some(("huber", delta)) => {
                delta.trim().parse::<f32>().ok().filter(|d| d.is_finite() && *d > 0.0).map(LossKind::Huber)
            }
            Some(("cross-entropy", eps)) => match eps.trim().parse::<f32>() {
                Ok(0.0) => Some(LossKind::CrossEntropy),
                Ok(e) if (0.0..1.0).contains(&e) => Some(LossKind::SmoothedCrossEntropy(e)),
                _ => None,
            },
            Some(_) => None,
        };
        parsed.ok_or_else(|| format!("unknown loss `{text}`; choose {LOSS_FORMS}"))
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossKind::CrossEntropy => f.write_str("cross-entropy"),
            LossKind::SmoothedCrossEntropy(eps) => write!(f, "cross-entropy:{eps}"),
            LossKind::Mse => f.write_str("mse"),
            LossKind::Bce => f.write_str("bce"),
            LossKind::BceWithLogits => f.write_str("bce-with-logits"),
            LossKind::L1 => f.write_str("l1"),
            LossKind::Huber(delta) if *delta == 1.0 => f.write_str("huber"),
            LossKind::Huber(delta) => write!(f, "huber:{delta}"),
        }
    }
}

neurite_core::text_form_serde!(LossKind);

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_core::reference::ReferenceBackend as R;

    #[test]
    fn loss_names_round_trip() {
        for text in ["cross-entropy", "cross-entropy:0.1", "mse", "bce", "bce-with-logits", "l1", "huber", "huber:0.5"]
        {
            let kind: LossKind = text.parse().expect(text);
            assert_eq!(kind.to_string(), text);
        }
        assert!("huber:-1".parse::<LossKind>().unwrap_err().starts_with("unknown loss `huber:-1`"));
        assert_eq!(LossKind::Huber(2.0).build::<R>().name(), "Huber loss");
        assert_eq!("cross-entropy:0".parse(), Ok(LossKind::CrossEntropy));
        for bad in ["cross-entropy:1", "cross-entropy:-0.1", "cross-entropy:NaN", "cross-entropy:x"] {
            assert!(bad.parse::<LossKind>().unwrap_err().starts_with(&format!("unknown loss `{bad}`")), "{bad}");
        }
    }

    #[test]
    fn predictions_are_the_largest_score_or_the_side_of_the_threshold() {
        let scores = Tensor::<R>::from_vec(vec![0.1, 0.9, 0.8, 0.2, 0.3, 0.7], [3, 2]);
        assert_eq!(Loss::<R>::predicted(&CrossEntropy, &scores), [1, 0, 1]);
        let single = Tensor::<R>::from_vec(vec![0.6, -0.2, 0.3], [3, 1]);
        // Probabilities: 0.6 → 1, −0.2 → 0, 0.3 → 0; logits: 0.6 → 1, −0.2 → 0, 0.3 → 1.
        assert_eq!(Loss::<R>::predicted(&Bce, &single), [1, 0, 0]);
        assert_eq!(Loss::<R>::predicted(&BceWithLogits, &single), [1, 0, 1]);
        assert_eq!(count_correct(&[1, 0, 1], &[1, 1, 1]), 2);
    }
}
