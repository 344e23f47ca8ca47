//! Adversarial examples by the fast gradient sign method (FGSM, Goodfellow et al., 2015):
//! x' = clamp(x + ε·sign(∇ₓ loss), 0, 1), with the input gradient from core's autodiff, and the
//! accuracy of a model under attack for a range of ε.
//!
//! A model is any `Fn(&Tensor<B>) -> Tensor<B>` from an input batch to `[N, classes]` logits, so
//! this crate needs no layer crate: pass `|x| model.forward(x)` for a `neurite_nn::Module`. The loss
//! is the mean softmax cross-entropy against the true labels.

use neurite_core::{Backend, Tensor, is_grad_enabled, no_grad};

/// Logits for `x` checked to be `[labels.len(), classes]`; returns the class count.
#[track_caller]
fn classes_of<B: Backend>(logits: &Tensor<B>, labels: &[usize]) -> usize {
    let dims = logits.dims();
    assert!(
        dims.len() == 2 && dims[0] == labels.len(),
        "fgsm: the model gave logits of shape {} for {} labels, expected [{}, classes]",
        logits.shape(),
        labels.len(),
        labels.len()
    );
    if let Some(bad) = labels.iter().find(|&&l| l >= dims[1]) {
        panic!("fgsm: label {bad} is not below the {} classes of the logits", dims[1]);
    }
    dims[1]
}

/// The mean softmax cross-entropy of `model(x)` against `labels`, and its gradient with respect to
/// the input `x` (of `x`'s shape). The model's own parameters get gradients too, which are dropped.
///
/// # Panics
/// If called inside [`no_grad`] (no graph would be recorded), or the logits are not
/// `[labels.len(), classes]` with every label below `classes`.
#[track_caller]
pub fn input_gradient<B: Backend, F: Fn(&Tensor<B>) -> Tensor<B>>(
    model: F,
    x: &Tensor<B>,
    labels: &[usize],
) -> (f32, Tensor<B>) {
    assert!(is_grad_enabled(), "fgsm: needs gradient recording, but was called inside no_grad");
    let input = x.detach().require_grad();
    let logits = model(&input);
    let classes = classes_of(&logits, labels);
    let targets = Tensor::<B>::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]).one_hot(classes);
    let loss = logits.softmax_cross_entropy(&targets);
    let grads = loss.backward();
    // A model that ignores its input has a zero input gradient.
    let grad = grads.get(&input).cloned().unwrap_or_else(|| x.zeros_like());
    (loss.item(), grad)
}

/// x + ε·sign(g), clamped to [0, 1], outside any graph.
fn step<B: Backend>(x: &Tensor<B>, grad_sign: &Tensor<B>, epsilon: f32) -> Tensor<B> {
    no_grad(|| x.detach().add(&grad_sign.mul_scalar(epsilon)).clamp(0.0, 1.0))
}

/// The FGSM adversarial batch x' = clamp(x + ε·sign(∇ₓ loss), 0, 1) for `model` and the true
/// `labels`: each value moves by ε in the direction that increases the loss.
///
/// # Panics
/// As [`input_gradient`].
#[track_caller]
pub fn fgsm<B: Backend, F: Fn(&Tensor<B>) -> Tensor<B>>(
    model: F,
    x: &Tensor<B>,
    labels: &[usize],
    epsilon: f32,
) -> Tensor<B> {
    let (_, grad) = input_gradient(model, x, labels);
    step(x, &no_grad(|| grad.sign()), epsilon)
}

/// How many of `labels` the arg-max of `model(x)` gets right (evaluated without a graph).
///
/// # Panics
/// If the logits are not `[labels.len(), classes]`.
#[track_caller]
pub fn correct<B: Backend, F: Fn(&Tensor<B>) -> Tensor<B>>(model: F, x: &Tensor<B>, labels: &[usize]) -> usize {
    no_grad(|| {
        let logits = model(x);
        classes_of(&logits, labels);
        let predicted = logits.argmax(1, false);
        predicted.as_slice().iter().zip(labels).filter(|&(&p, &l)| p as usize == l).count()
    })
}

/// The accuracy of a model on FGSM examples of one strength.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttackPoint {
    /// The attack strength ε (0 is the clean accuracy).
    pub epsilon: f32,
    /// Correct predictions.
    pub correct: usize,
    /// Samples attacked.
    pub total: usize,
}

impl AttackPoint {
    /// correct / total (0 for no sample).
    pub fn accuracy(&self) -> f32 {
        if self.total == 0 { 0.0 } else { self.correct as f32 / self.total as f32 }
    }
}

/// The accuracy of `model` on FGSM examples of `x` (a batch whose first axis is the sample) for
/// each ε of `epsilons`, working through `batch_size` samples at a time. The input gradient of a
/// batch is computed once and reused for every ε.
///
/// # Panics
/// If `batch_size` is 0, `labels` does not have one label per sample, or as [`input_gradient`].
#[track_caller]
pub fn accuracy_under_attack<B: Backend, F: Fn(&Tensor<B>) -> Tensor<B>>(
    model: F,
    x: &Tensor<B>,
    labels: &[usize],
    epsilons: &[f32],
    batch_size: usize,
) -> Vec<AttackPoint> {
    assert!(batch_size > 0, "fgsm: batch size must be positive");
    let n = x.dims().first().copied().unwrap_or(0);
    assert_eq!(n, labels.len(), "fgsm: {} labels for a batch of shape {}", labels.len(), x.shape());
    let mut points: Vec<AttackPoint> =
        epsilons.iter().map(|&epsilon| AttackPoint { epsilon, correct: 0, total: n }).collect();
    for start in (0..n).step_by(batch_size) {
        let len = batch_size.min(n - start);
        let xb = x.narrow(0, start, len).detach();
        let yb = &labels[start..start + len];
        let (_, grad) = input_gradient(&model, &xb, yb);
        let sign = no_grad(|| grad.sign());
        for point in &mut points {
            point.correct += correct(&model, &step(&xb, &sign, point.epsilon), yb);
        }
    }
    points
}
