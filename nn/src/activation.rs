//! Activations as functions (`relu(&x)`, thin names over core's ops, for formulas) and as a layer
//! ([`Activation`], for a [`crate::Sequential`]). Each op's derivative is core's: σ' = σ(1 − σ),
//! tanh' = 1 − tanh², ReLU' = step, and so on.

use std::fmt;
use std::str::FromStr;

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

/// An activation as a parameter-free layer. Its text form (settings files, flags, serde) is a
/// name with an optional argument: see [`ACTIVATION_FORMS`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
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

/// The text forms of [`Activation`], for help texts and errors.
pub const ACTIVATION_FORMS: &str = "relu, sigmoid, tanh, leaky-relu[:SLOPE], elu[:ALPHA], gelu or softmax[:DIM]";

/// PyTorch's defaults, which the short names stand for.
const LEAKY_SLOPE: f32 = 0.01;
const ELU_ALPHA: f32 = 1.0;
const SOFTMAX_DIM: usize = 1;

impl FromStr for Activation {
    type Err = String;

    /// `relu`, `sigmoid`, `tanh`, `gelu`, `leaky-relu` (slope 0.01) or `leaky-relu:SLOPE`, `elu`
    /// (α = 1) or `elu:ALPHA`, `softmax` (axis 1) or `softmax:DIM`.
    fn from_str(text: &str) -> Result<Activation, String> {
        let (name, arg) = match text.trim().split_once(':') {
            Some((name, arg)) => (name.trim(), Some(arg.trim())),
            None => (text.trim(), None),
        };
        let number = |default: f32| match arg {
            None => Some(default),
            Some(a) => a.parse::<f32>().ok().filter(|v| v.is_finite()),
        };
        let parsed = match (name, arg) {
            ("relu", None) => Some(Activation::Relu),
            ("sigmoid", None) => Some(Activation::Sigmoid),
            ("tanh", None) => Some(Activation::Tanh),
            ("gelu", None) => Some(Activation::Gelu),
            ("leaky-relu", _) => number(LEAKY_SLOPE).map(Activation::LeakyRelu),
            ("elu", _) => number(ELU_ALPHA).map(Activation::Elu),
            ("softmax", None) => Some(Activation::Softmax(SOFTMAX_DIM)),
            ("softmax", Some(dim)) => dim.parse().ok().map(Activation::Softmax),
            _ => None,
        };
        parsed.ok_or_else(|| format!("unknown activation `{text}`; choose {ACTIVATION_FORMS}"))
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Activation::Relu => f.write_str("relu"),
            Activation::Sigmoid => f.write_str("sigmoid"),
            Activation::Tanh => f.write_str("tanh"),
            Activation::Gelu => f.write_str("gelu"),
            Activation::LeakyRelu(slope) if slope.to_bits() == LEAKY_SLOPE.to_bits() => f.write_str("leaky-relu"),
            Activation::LeakyRelu(slope) => write!(f, "leaky-relu:{slope}"),
            Activation::Elu(alpha) if alpha.to_bits() == ELU_ALPHA.to_bits() => f.write_str("elu"),
            Activation::Elu(alpha) => write!(f, "elu:{alpha}"),
            Activation::Softmax(SOFTMAX_DIM) => f.write_str("softmax"),
            Activation::Softmax(dim) => write!(f, "softmax:{dim}"),
        }
    }
}

neurite_core::text_form_serde!(Activation);

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
