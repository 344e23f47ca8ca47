//! Weight initializers: constants, the course's "naive" normal draws (σ = 1, σ = 0.01), uniform,
//! Xavier (randn/√n_in) and Glorot uniform, He (randn/√(n_in/2)) and He uniform. Layers take one
//! for their weight and one for their bias (zeros by default).

use neurite_core::{Backend, Rng, Shape, Tensor};
use serde::{Deserialize, Serialize};

/// How to fill a parameter tensor. `fan_in` is the number of inputs each output unit sees
/// (`in` for a linear layer, `in·kh·kw` for a convolution), `fan_out` the number of outputs each
/// input feeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
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
