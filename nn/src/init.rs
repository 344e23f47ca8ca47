//! Weight initializers: constants, the course's "naive" normal draws (σ = 1, σ = 0.01), uniform,
//! Xavier (randn/√n_in) and Glorot uniform, He (randn/√(n_in/2)) and He uniform. Layers take one
//! for their weight and one for their bias (zeros by default).

use std::fmt;
use std::str::FromStr;

use neurite_core::{Backend, Rng, Shape, Tensor};
use serde::{Deserialize, Serialize};

/// How to fill a parameter tensor. `fan_in` is the number of inputs each output unit sees
/// (`in` for a linear layer, `in·kh·kw` for a convolution), `fan_out` the number of outputs each
/// input feeds.
///
/// Its text form (settings files, flags, serde) is one of [`INIT_FORMS`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub enum Init {
    /// All zeros (the default for biases).
    Zeros,
    /// Every entry equal to the value.
    Constant(f32),
    /// N(0, std²): `Normal { std: 1.0 }` and `Normal { std: 0.01 }` are the course's naive ones.
    Normal {
        /// Standard deviation.
        std: f32,
    },
    /// U[lo, hi).
    Uniform {
        /// Lower bound.
        lo: f32,
        /// Upper bound (excluded).
        hi: f32,
    },
    /// Xavier: randn/√fan_in, so Var(w) = 1/fan_in (the default for weights; suits sigmoid and
    /// tanh).
    #[default]
    Xavier,
    /// Glorot uniform: U(±√(6/(fan_in + fan_out))), so Var(w) = 2/(fan_in + fan_out).
    GlorotUniform,
    /// He: randn/√(fan_in/2), so Var(w) = 2/fan_in (suits ReLU).
    He,
    /// He uniform: U(±√(6/fan_in)), so Var(w) = 2/fan_in.
    HeUniform,
}

/// The text forms of [`Init`], for help texts and errors.
pub const INIT_FORMS: &str =
    "he, he-uniform, xavier, glorot-uniform, zeros, constant:C, normal:STD (STD > 0) or uniform:LO,HI (LO < HI)";

impl FromStr for Init {
    type Err = String;

    fn from_str(text: &str) -> Result<Init, String> {
        let (name, args) = match text.trim().split_once(':') {
            Some((name, args)) => (name.trim(), args.split(',').map(|a| a.trim().parse::<f32>()).collect()),
            None => (text.trim(), Ok(Vec::new())),
        };
        let finite = |values: Vec<f32>| values.into_iter().all(f32::is_finite);
        let parsed = match (name, args) {
            ("zeros", Ok(a)) if a.is_empty() => Some(Init::Zeros),
            ("xavier", Ok(a)) if a.is_empty() => Some(Init::Xavier),
            ("glorot-uniform", Ok(a)) if a.is_empty() => Some(Init::GlorotUniform),
            ("he", Ok(a)) if a.is_empty() => Some(Init::He),
            ("he-uniform", Ok(a)) if a.is_empty() => Some(Init::HeUniform),
            ("constant", Ok(a)) if a.len() == 1 && finite(a.clone()) => Some(Init::Constant(a[0])),
            ("normal", Ok(a)) if a.len() == 1 && finite(a.clone()) && a[0] > 0.0 => Some(Init::Normal { std: a[0] }),
            ("uniform", Ok(a)) if a.len() == 2 && finite(a.clone()) && a[0] < a[1] => {
                Some(Init::Uniform { lo: a[0], hi: a[1] })
            }
            _ => None,
        };
        parsed.ok_or_else(|| format!("unknown init `{text}`; choose {INIT_FORMS}"))
    }
}

impl fmt::Display for Init {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Init::Zeros => f.write_str("zeros"),
            Init::Constant(c) => write!(f, "constant:{c}"),
            Init::Normal { std } => write!(f, "normal:{std}"),
            Init::Uniform { lo, hi } => write!(f, "uniform:{lo},{hi}"),
            Init::Xavier => f.write_str("xavier"),
            Init::GlorotUniform => f.write_str("glorot-uniform"),
            Init::He => f.write_str("he"),
            Init::HeUniform => f.write_str("he-uniform"),
        }
    }
}

neurite_core::text_form_serde!(Init);

impl Init {
    /// A tensor of `shape` drawn from this initializer.
    ///
    /// # Panics
    /// If a fan is zero for a scaled initializer (Xavier, Glorot, He), which no layer asks for.
    pub fn tensor<B: Backend>(
        &self,
        shape: impl Into<Shape>,
        fan_in: usize,
        fan_out: usize,
        rng: &mut Rng,
    ) -> Tensor<B> {
        let shape = shape.into();
        let scaled = matches!(self, Init::Xavier | Init::GlorotUniform | Init::He | Init::HeUniform);
        assert!(!scaled || fan_in > 0, "init: {self:?} needs a positive fan-in for shape {shape}");
        let fan_in = fan_in as f32;
        let fan_out = fan_out as f32;
        match *self {
            Init::Zeros => Tensor::zeros(shape),
            Init::Constant(c) => Tensor::full(shape, c),
            Init::Normal { std } => Tensor::randn(shape, 0.0, std, rng),
            Init::Uniform { lo, hi } => Tensor::rand_uniform(shape, lo, hi, rng),
            Init::Xavier => Tensor::randn(shape, 0.0, 1.0 / fan_in.sqrt(), rng),
            Init::GlorotUniform => {
                let a = (6.0 / (fan_in + fan_out)).sqrt();
                Tensor::rand_uniform(shape, -a, a, rng)
            }
            Init::He => Tensor::randn(shape, 0.0, 1.0 / (fan_in / 2.0).sqrt(), rng),
            Init::HeUniform => {
                let a = (6.0 / fan_in).sqrt();
                Tensor::rand_uniform(shape, -a, a, rng)
            }
        }
    }
}
