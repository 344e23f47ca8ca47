//! L1 and L2 penalties over chosen parameters, added to a loss inside the graph so that their
//! gradients (λw for L2, λ·sign(w) for L1) reach the optimizer with the loss's:
//! Cost = L + λ/2·Σ‖w‖² or Cost = L + λ·Σ‖w‖₁.

use neurite_core::{Backend, Tensor};

use crate::module::Module;

/// A weight penalty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Penalty {
    /// λ/2·Σw² (weight decay in the loss).
    L2(f32),
    /// λ·Σ|w| (pushes weights to exactly zero).
    L1(f32),
}

impl Penalty {
    /// The penalty of these tensors, as a scalar tensor in the graph (0 for an empty list).
    pub fn of<'a, B: Backend + 'a>(&self, tensors: impl IntoIterator<Item = &'a Tensor<B>>) -> Tensor<B> {
        let mut total: Option<Tensor<B>> = None;
        for w in tensors {
            let term = match self {
                Penalty::L2(_) => w.square().sum(),
                Penalty::L1(_) => w.abs().sum(),
            };
            total = Some(match total {
                Some(t) => t.add(&term),
                None => term,
            });
        }
        let scale = match *self {
            Penalty::L2(lambda) => lambda / 2.0,
            Penalty::L1(lambda) => lambda,
        };
        total.map(|t| t.mul_scalar(scale)).unwrap_or_else(|| Tensor::scalar(0.0))
    }

    /// The penalty of the parameters of `model` whose path name passes `select`
    /// (`|name| name.ends_with("weight")` penalises weights and leaves biases alone, the usual
    /// choice).
    pub fn of_module<B: Backend>(&self, model: &dyn Module<B>, select: impl Fn(&str) -> bool) -> Tensor<B> {
        let params = model.params();
        self.of(params.iter().filter(|(name, _)| select(name)).map(|(_, t)| *t))
    }
}

/// `loss + λ/2·Σ‖w‖²` over the parameters of `model` whose name ends in `weight`.
pub fn with_l2<B: Backend>(loss: &Tensor<B>, model: &dyn Module<B>, lambda: f32) -> Tensor<B> {
    loss.add(&Penalty::L2(lambda).of_module(model, is_weight))
}

/// `loss + λ·Σ‖w‖₁` over the parameters of `model` whose name ends in `weight`.
pub fn with_l1<B: Backend>(loss: &Tensor<B>, model: &dyn Module<B>, lambda: f32) -> Tensor<B> {
    loss.add(&Penalty::L1(lambda).of_module(model, is_weight))
}

/// Whether a parameter path names a weight (`layers.0.weight`), not a bias.
pub fn is_weight(name: &str) -> bool {
    name == "weight" || name.ends_with(".weight")
}
