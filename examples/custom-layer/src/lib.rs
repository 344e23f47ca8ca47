//! A layer defined outside `neurite-nn`: Swish, y = x·σ(βx) (Ramachandran et al., 2017), with a
//! trainable β. It is written only against public items of `neurite-core` (tensor ops, whose
//! gradients come for free) and `neurite-nn` (the `Module` trait), which is all a layer of your
//! own needs: implement `forward`, list the parameters, and it trains, counts, summarises and
//! checkpoints like a built-in one. Implementing `CustomLayer` and calling [`register`] makes it
//! buildable from a checkpoint's description too, so a program that registers it (the `neurite`
//! command does) loads, evaluates, predicts with and exports checkpoints that hold it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use neurite_core::{Backend, Tensor};
use neurite_nn::Module;
use neurite_nn::registry::{CustomLayer, register_layer};

/// Swish, y = x·σ(βx), element-wise, with one trainable β (`beta`, shape `[1]`). β = 1 is SiLU;
/// as β grows it approaches ReLU, at β = 0 it is x/2.
pub struct Swish<B: Backend> {
    beta: Tensor<B>,
}

impl<B: Backend> Swish<B> {
    /// Swish with β starting at `beta`.
    pub fn new(beta: f32) -> Self {
        Swish { beta: Tensor::from_vec(vec![beta], [1]).require_grad() }
    }

    /// The current β.
    pub fn beta(&self) -> f32 {
        self.beta.as_slice()[0]
    }
}

impl<B: Backend> Module<B> for Swish<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        // β broadcasts from [1] over any input shape; core records every op, so backward gives
        // dy/dx = σ(βx) + βx·σ(βx)(1 − σ(βx)) and dy/dβ = x²·σ(βx)(1 − σ(βx)) without a rule here.
        x.mul(&x.mul(&self.beta).sigmoid())
    }

    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        vec![("beta".to_string(), &self.beta)]
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        vec![("beta".to_string(), &mut self.beta)]
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }
}

impl<B: Backend> CustomLayer<B> for Swish<B> {
    const NAME: &'static str = "Swish";

    /// Swish has no settings besides β, which a checkpoint restores.
    fn from_settings(_settings: &serde_json::Value) -> Result<Self, String> {
        Ok(Swish::new(1.0))
    }
}

/// Makes checkpoints holding [`Swish`] loadable on backend `B` (`neurite_nn::registry`).
pub fn register<B: Backend>() {
    register_layer::<B, Swish<B>>();
}
