//! L1 and L2 penalties over chosen parameters, added to a loss inside the graph so that their
//! gradients (λw for L2, λ·sign(w) for L1) reach the optimizer with the loss's:
//! Cost = L + λ/2·Σ‖w‖² or Cost = L + λ·Σ‖w‖₁.
//!
//! The L1 subgradient step moves a weight by a fixed λ·lr towards zero every step, so it jumps
//! across zero and back rather than landing on it: weights become small, never exactly zero.
//! [`Penalty::L1Proximal`] takes the same cost in the proximal form instead: the optimizer steps
//! on the data loss alone, then [`Penalty::proximal_step`] soft-thresholds each weight,
//! w ← sign(w)·max(|w| − lr·λ, 0), which sets every weight smaller than lr·λ to exactly zero.

use neurite_core::{Backend, Tensor};

use crate::module::Module;
use crate::spec::LayerSpec;

/// A weight penalty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Penalty {
    /// λ/2·Σw² (weight decay in the loss).
    L2(f32),
    /// λ·Σ|w| by its subgradient λ·sign(w) (shrinks weights towards zero).
    L1(f32),
    /// λ·Σ|w| by a proximal (soft-threshold) step after each update (sets small weights to
    /// exactly zero). Its value still counts in the loss; it adds no gradient.
    L1Proximal(f32),
}

impl Penalty {
    /// The penalty of these tensors, as a scalar tensor in the graph (0 for an empty list).
    pub fn of<'a, B: Backend + 'a>(&self, tensors: impl IntoIterator<Item = &'a Tensor<B>>) -> Tensor<B> {
        let mut total: Option<Tensor<B>> = None;
        for w in tensors {
            let term = match self {
                Penalty::L2(_) => w.square().sum(),
                Penalty::L1(_) => w.abs().sum(),
                Penalty::L1Proximal(_) => w.detach().abs().sum(),
            };
            total = Some(match total {
                Some(t) => t.add(&term),
                None => term,
            });
        }
        total.map(|t| t.mul_scalar(self.scale())).unwrap_or_else(|| Tensor::scalar(0.0))
    }

    /// λ.
    pub fn strength(&self) -> f32 {
        match *self {
            Penalty::L2(lambda) | Penalty::L1(lambda) | Penalty::L1Proximal(lambda) => lambda,
        }
    }

    /// The factor of the summed term: λ/2 for L2, λ for L1.
    fn scale(&self) -> f32 {
        match *self {
            Penalty::L2(lambda) => lambda / 2.0,
            Penalty::L1(lambda) | Penalty::L1Proximal(lambda) => lambda,
        }
    }

    /// After an optimizer step of learning rate `lr`: the proximal step of
    /// [`Penalty::L1Proximal`] on `weight`, w ← sign(w)·max(|w| − lr·λ, 0); nothing for the
    /// other penalties, whose gradient the optimizer has already followed.
    pub fn proximal_step<B: Backend>(&self, weight: &mut Tensor<B>, lr: f32) {
        if let Penalty::L1Proximal(lambda) = *self {
            let threshold = lr * lambda;
            weight.update_data(|w| {
                for v in w {
                    *v = v.signum() * (v.abs() - threshold).max(0.0);
                }
            });
        }
    }

    /// The penalty of the parameters of `model` whose path name passes `select`
    /// (`|name| name.ends_with("weight")` penalises weights and leaves biases alone, the usual
    /// choice).
    pub fn of_module<B: Backend>(&self, model: &dyn Module<B>, select: impl Fn(&str) -> bool) -> Tensor<B> {
        let params = model.params();
        self.of(params.iter().filter(|(name, _)| select(name)).map(|(_, t)| *t))
    }
}

/// `loss + λ/2·Σ‖w‖²` over the weights of `model` that [`penalised`] names.
pub fn with_l2<B: Backend>(loss: &Tensor<B>, model: &dyn Module<B>, lambda: f32) -> Tensor<B> {
    let names = penalised(model);
    loss.add(&Penalty::L2(lambda).of_module(model, |name| names.iter().any(|n| n == name)))
}

/// `loss + λ·Σ‖w‖₁` over the weights of `model` that [`penalised`] names.
pub fn with_l1<B: Backend>(loss: &Tensor<B>, model: &dyn Module<B>, lambda: f32) -> Tensor<B> {
    let names = penalised(model);
    loss.add(&Penalty::L1(lambda).of_module(model, |name| names.iter().any(|n| n == name)))
}

/// The parameters a weight penalty applies to: every `weight` (`layers.1.weight`) but batch
/// norm's, whose "weight" is a per-channel scale rather than a connection strength. Biases are
/// never penalised.
pub fn penalised<B: Backend>(model: &dyn Module<B>) -> Vec<String> {
    let spec = model.spec();
    model
        .params()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| {
            let layer = name.strip_suffix("weight").filter(|_| is_weight(name)).map(|owner| layer_at(&spec, owner));
            matches!(layer, Some(l) if !matches!(l, Some(LayerSpec::BatchNorm1d { .. } | LayerSpec::BatchNorm2d { .. })))
        })
        .collect()
}

/// The layer at a parameter's owner path (`layers.3.`, empty for the model itself).
fn layer_at<'a>(spec: &'a LayerSpec, owner: &str) -> Option<&'a LayerSpec> {
    let mut parts = owner.split('.').filter(|p| !p.is_empty());
    let mut layer = spec;
    while let Some(field) = parts.next() {
        let index: usize = parts.next()?.parse().ok()?;
        match layer {
            LayerSpec::Sequential { layers } if field == "layers" => layer = layers.get(index)?,
            LayerSpec::Residual { body, .. } if field == "body" => layer = body.get(index)?,
            LayerSpec::Residual { shortcut, .. } if field == "shortcut" => layer = shortcut.get(index)?,
            _ => return None,
        }
    }
    Some(layer)
}

/// Whether a parameter path names a weight (`layers.0.weight`), not a bias.
pub fn is_weight(name: &str) -> bool {
    name == "weight" || name.ends_with(".weight")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{CnnConfig, MlpConfig};
    use neurite_core::reference::ReferenceBackend as R;

    #[test]
    fn penalties_skip_biases_and_batch_norm_scales() {
        let mlp = MlpConfig::new(4, &[3], 2).with_batch_norm(true).init::<R>(1);
        // flatten, linear, batch norm, relu, linear
        assert_eq!(penalised(&mlp), ["layers.1.weight", "layers.4.weight"]);
        let cnn = CnnConfig::new([1, 8, 8], 2).with_batch_norm(true).init::<R>(1).expect("builds");
        assert_eq!(penalised(&cnn), ["layers.0.weight", "layers.4.weight", "layers.9.weight"]);
    }
}
