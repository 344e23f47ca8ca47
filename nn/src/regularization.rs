//! L1 and L2 penalties over chosen parameters, added to a loss inside the graph so that their
//! gradients (λw for L2, λ·sign(w) for L1) reach the optimizer with the loss's:
//! Cost = L + λ/2·Σ‖w‖² or Cost = L + λ·Σ‖w‖₁.

use neurite_core::{Backend, Tensor};

use crate::module::Module;
use crate::spec::LayerSpec;

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
