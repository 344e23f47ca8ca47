//! Activations as functions (`relu(&x)`, thin names over core's ops, for formulas) and as a layer
//! ([`Activation`], for a [`crate::Sequential`]). Each op's derivative is core's: σ' = σ(1 − σ),
//! tanh' = 1 − tanh², ReLU' = step, and so on.

use neurite_core::{Backend, BiasAct, Tensor};
use serde::{Deserialize, Serialize};

use crate::module::Module;
use crate::spec::LayerSpec;

/// The logistic sigmoid 1/(1 + e⁻ˣ).
pub fn sigmoid<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.sigmoid()
}

/// The hyperbolic tangent.
pub fn tanh<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.tanh()
}

/// max(x, 0).
pub fn relu<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.relu()
}

/// x for x > 0, else αx.
pub fn leaky_relu<B: Backend>(x: &Tensor<B>, alpha: f32) -> Tensor<B> {
    x.leaky_relu(alpha)
}

/// x for x > 0, else α(eˣ − 1).
pub fn elu<B: Backend>(x: &Tensor<B>, alpha: f32) -> Tensor<B> {
    x.elu(alpha)
}

/// GELU, tanh approximation (PyTorch's `approximate="tanh"`).
pub fn gelu<B: Backend>(x: &Tensor<B>) -> Tensor<B> {
    x.gelu()
}

/// Softmax along `axis`, stable for large inputs.
pub fn softmax<B: Backend>(x: &Tensor<B>, axis: usize) -> Tensor<B> {
    x.softmax(axis)
}

/// An activation as a parameter-free layer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// The logistic sigmoid.
    Sigmoid,
    /// tanh.
    Tanh,
    /// max(x, 0).
    Relu,
    /// Leaky ReLU with the given negative slope (PyTorch's default is 0.01).
    LeakyRelu(f32),
    /// ELU with the given α (PyTorch's default is 1).
    Elu(f32),
    /// GELU, tanh approximation.
    Gelu,
    /// Softmax along the given axis (1 for `[n, classes]`).
    Softmax(usize),
}

impl Activation {
    /// The activation as a layer description (no backend needed).
    pub fn layer_spec(self) -> LayerSpec {
        match self {
            Activation::Sigmoid => LayerSpec::Sigmoid,
            Activation::Tanh => LayerSpec::Tanh,
            Activation::Relu => LayerSpec::ReLU,
            Activation::LeakyRelu(negative_slope) => LayerSpec::LeakyReLU { negative_slope },
            Activation::Elu(alpha) => LayerSpec::ELU { alpha },
            Activation::Gelu => LayerSpec::GELU,
            Activation::Softmax(dim) => LayerSpec::Softmax { dim },
        }
    }

    /// Applies the activation.
    pub fn apply<B: Backend>(&self, x: &Tensor<B>) -> Tensor<B> {
        match *self {
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(alpha) => x.leaky_relu(alpha),
            Activation::Elu(alpha) => x.elu(alpha),
            Activation::Gelu => x.gelu(),
            Activation::Softmax(axis) => x.softmax(axis),
        }
    }
}

impl<B: Backend> Module<B> for Activation {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        self.apply(x)
    }

    fn fusable_activation(&self) -> Option<BiasAct> {
        match self {
            Activation::Relu => Some(BiasAct::Relu),
            Activation::Sigmoid => Some(BiasAct::Sigmoid),
            Activation::Tanh => Some(BiasAct::Tanh),
            _ => None,
        }
    }

    fn spec(&self) -> LayerSpec {
        self.layer_spec()
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }
}
