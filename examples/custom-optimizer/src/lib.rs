//! A custom optimizer defined outside `neurite-optim`: Lion (Chen et al., 2023, "Symbolic
//! Discovery of Optimization Algorithms"), written only against the public `Optimizer` trait and
//! helpers of `neurite-optim`. Nothing in that crate knows about it, yet it runs wherever an
//! optimizer does: in a training loop, boxed as `dyn Optimizer<B>`, behind `Clipped`, driven by
//! a `Schedule`, and saved and restored through `OptimizerState`.
//!
//! Lion keeps one buffer, the momentum m, and steps by the sign of an interpolation:
//!
//! ```text
//! c ← β₁·m + (1 − β₁)·g
//! θ ← θ − η·(sign(c) + λ·θ)
//! m ← β₂·m + (1 − β₂)·g
//! ```
//!
//! Every element moves by exactly η (plus the decoupled decay), so Lion wants a learning rate
//! 3–10 times smaller than Adam's. The tests in `tests/train.rs` train a logistic regression with it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use neurite_core::{Backend, Gradients, Tensor};
use neurite_optim::{
    BufferStore, OptimError, Optimizer, OptimizerState, check_learning_rate, check_non_negative, check_unit_interval,
};

/// Settings of [`Lion`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LionConfig {
    /// Learning rate η (≥ 0). Default 1e-4.
    pub lr: f32,
    /// Interpolation β₁ between momentum and gradient for the step's sign, in [0, 1). Default 0.9.
    pub beta1: f32,
    /// Decay β₂ of the momentum, in [0, 1). Default 0.99.
    pub beta2: f32,
    /// Decoupled weight decay λ (≥ 0). Default 0.
    pub weight_decay: f32,
}

impl Default for LionConfig {
    fn default() -> Self {
        LionConfig { lr: 1e-4, beta1: 0.9, beta2: 0.99, weight_decay: 0.0 }
    }
}

/// The Lion optimizer ("EvoLved Sign Momentum").
#[derive(Clone, Debug)]
pub struct Lion {
    config: LionConfig,
    lr: f32,
    steps: u64,
    momentum: BufferStore<1>,
}

impl Lion {
    /// The name stored in its state.
    pub const NAME: &'static str = "lion";
    const BUFFERS: [&'static str; 1] = ["m"];

    /// Lion with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite, or a β
    /// is outside [0, 1).
    pub fn new(config: LionConfig) -> Result<Self, OptimError> {
        check_learning_rate(Self::NAME, config.lr)?;
        check_unit_interval(Self::NAME, "beta1", config.beta1)?;
        check_unit_interval(Self::NAME, "beta2", config.beta2)?;
        check_non_negative(Self::NAME, "weight_decay", config.weight_decay)?;
        Ok(Lion { config, lr: config.lr, steps: 0, momentum: BufferStore::new(Self::BUFFERS) })
    }

    /// The settings it was built with (the learning rate may have changed since).
    pub fn config(&self) -> &LionConfig {
        &self.config
    }
}

/// −1, 0 or 1 (unlike `f32::signum`, which gives 1 for +0: a zero interpolation should not move
/// the parameter).
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl<B: Backend> Optimizer<B> for Lion {
    fn step(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let LionConfig { beta1, beta2, weight_decay: wd, .. } = self.config;
        let lr = self.lr;
        // One pass over each parameter's buffer, with its momentum; no tensor is created.
        self.momentum.update(Self::NAME, params, grads, |theta, grad, slot| {
            let [m] = &mut slot.buffers;
            for ((p, &g), m) in theta.iter_mut().zip(grad).zip(m.iter_mut()) {
                let c = beta1 * *m + (1.0 - beta1) * g;
                *p -= lr * (sign(c) + wd * *p);
                *m = beta2 * *m + (1.0 - beta2) * g;
            }
        });
        self.steps += 1;
    }

    fn state(&self) -> OptimizerState {
        OptimizerState {
            optimizer: Self::NAME.into(),
            lr: self.lr,
            steps: self.steps,
            params: self.momentum.to_state(),
        }
    }

    fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        state.check_owner(Self::NAME)?;
        self.momentum = BufferStore::from_state(Self::NAME, Self::BUFFERS, state.params)?;
        self.lr = state.lr;
        self.steps = state.steps;
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        assert!(lr.is_finite() && lr >= 0.0, "lion: set_learning_rate({lr}) needs a finite number >= 0");
        self.lr = lr;
    }

    fn name(&self) -> &str {
        Self::NAME
    }
}
