//! Inverted dropout: in training each unit is zeroed with probability p and the survivors are
//! scaled by 1/(1 − p), so the expected activation is unchanged and evaluation is the identity.
//! The mask is a constant factor of the product, so the backward pass blocks exactly the
//! dropped units and scales the rest by the same 1/(1 − p).
//!
//! Randomness is deterministic: each `Dropout` owns its generator (behind a `Mutex`, because
//! `forward` takes `&self`), seeded from stream [`Stream::Dropout`] of a seed or forked from a
//! caller's generator. The same seed and the same sequence of forward calls give the same masks.

use std::sync::{Mutex, PoisonError};

use neurite_core::{Backend, Rng, RngState, Stream, Tensor};

use crate::module::Module;
use crate::spec::LayerSpec;

/// Inverted dropout with drop probability `p`, active only in training mode.
pub struct Dropout {
    p: f32,
    training: bool,
    rng: Mutex<Rng>,
}

impl Dropout {
    /// Dropout with probability `p`, its masks drawn from stream [`Stream::Dropout`] of `seed`.
    /// Two layers of one network should not share a seed (their masks would coincide); use
    /// [`Dropout::with_rng`] with `rng.fork()` to derive one generator per layer.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    pub fn new(p: f32, seed: u64) -> Self {
        Self::with_rng(p, Rng::stream(seed, Stream::Dropout))
    }

    /// Dropout with probability `p`, its masks drawn from `rng`.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    pub fn with_rng(p: f32, rng: Rng) -> Self {
        assert!((0.0..=1.0).contains(&p), "dropout: probability {p} must lie in [0, 1]");
        Dropout { p, training: true, rng: Mutex::new(rng) }
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Whether the layer is in training mode (dropping units).
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// The generator's state, to save with a checkpoint and resume the same masks.
    pub fn rng_state(&self) -> RngState {
        self.rng.lock().unwrap_or_else(PoisonError::into_inner).state()
    }

    /// Resumes the generator from a saved state.
    pub fn set_rng_state(&mut self, state: RngState) {
        *self.rng.get_mut().unwrap_or_else(PoisonError::into_inner) = Rng::from_state(state);
    }

    /// The scaled keep-mask for a tensor of this shape: 1/(1 − p) where kept, 0 where dropped.
    fn mask<B: Backend>(&self, dims: &[usize]) -> Tensor<B> {
        let keep = 1.0 - self.p;
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let n: usize = dims.iter().product();
        let values: Vec<f32> = (0..n).map(|_| if rng.bernoulli(keep) { 1.0 / keep } else { 0.0 }).collect();
        Tensor::from_vec(values, dims.to_vec())
    }
}

impl<B: Backend> Module<B> for Dropout {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        if !self.training || self.p == 0.0 {
            return x.clone();
        }
        if self.p >= 1.0 {
            // Everything dropped: zeros, and a zero gradient.
            return x.mul_scalar(0.0);
        }
        x.mul(&self.mask::<B>(x.dims()))
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn rng_states(&self) -> Vec<RngState> {
        vec![self.rng_state()]
    }

    fn set_rng_states(&mut self, states: &[RngState]) {
        let [state] = states else { panic!("set_rng_states: {} states for one dropout generator", states.len()) };
        self.set_rng_state(*state);
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::Dropout { p: self.p }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }
}
