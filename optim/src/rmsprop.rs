//! RMSProp: AdaGrad with a forgetting sum, so the step size follows recent gradients rather than
//! all of them: G ← γG + (1 − γ)g², θ ← θ − η·g/√(G + ε), ε inside the square root as the course
//! writes it.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_positive, check_unit_interval};
use crate::optimizer::{BufferStore, OptimizerState, assert_learning_rate, impl_optimizer};

/// Settings of [`RmsProp`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate η (≥ 0). Default 0.001.
    pub lr: f32,
    /// Decay γ of the running mean of g², in [0, 1). Default 0.9 (Hinton's lecture value).
    pub gamma: f32,
    /// ε (> 0), added to G inside the square root. Default 1e-8.
    pub eps: f32,
    /// Coupled weight decay λ (≥ 0): g becomes g + λθ. Default 0.
    pub weight_decay: f32,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig { lr: 0.001, gamma: 0.9, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl RmsPropConfig {
    /// The optimizer with these settings (same as [`RmsProp::new`]).
    ///
    /// # Errors
    /// As [`RmsProp::new`].
    pub fn init(self) -> Result<RmsProp, OptimError> {
        RmsProp::new(self)
    }
}

/// RMSProp (Tieleman & Hinton, 2012): G ← γG + (1 − γ)g², θ ← θ − η·g/√(G + ε).
#[derive(Clone, Debug)]
pub struct RmsProp {
    config: RmsPropConfig,
    lr: f32,
    steps: u64,
    store: BufferStore<1>,
}

impl RmsProp {
    /// The name stored in its state.
    pub const NAME: &'static str = "rmsprop";
    const BUFFERS: [&'static str; 1] = ["mean_sq"];

    /// RMSProp with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite,
    /// `gamma` is outside [0, 1), or `eps` is not a finite number > 0.
    pub fn new(config: RmsPropConfig) -> Result<Self, OptimError> {
        check_learning_rate(Self::NAME, config.lr)?;
        check_unit_interval(Self::NAME, "gamma", config.gamma)?;
        check_positive(Self::NAME, "eps", config.eps)?;
        check_non_negative(Self::NAME, "weight_decay", config.weight_decay)?;
        Ok(RmsProp { config, lr: config.lr, steps: 0, store: BufferStore::new(Self::BUFFERS) })
    }

    /// The settings it was built with (the learning rate may have changed since).
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f32 {
        self.lr
    }

    /// Sets the learning rate.
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    pub fn set_learning_rate(&mut self, lr: f32) {
        assert_learning_rate(Self::NAME, lr);
        self.lr = lr;
    }

    /// `"rmsprop"`.
    pub fn name(&self) -> &str {
        Self::NAME
    }

    /// See [`crate::Optimizer::state`].
    pub fn state(&self) -> OptimizerState {
        OptimizerState { optimizer: Self::NAME.into(), lr: self.lr, steps: self.steps, params: self.store.to_state() }
    }

    /// See [`crate::Optimizer::load_state`].
    ///
    /// # Errors
    /// As [`crate::Optimizer::load_state`].
    pub fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        state.check_owner(Self::NAME)?;
        self.store = BufferStore::from_state(Self::NAME, Self::BUFFERS, state.params)?;
        self.lr = state.lr;
        self.steps = state.steps;
        Ok(())
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let RmsPropConfig { gamma, eps, weight_decay: wd, .. } = self.config;
        let lr = self.lr;
        self.store.update(Self::NAME, params, grads, |theta, grad, slot| {
            let [mean_sq] = &mut slot.buffers;
            for ((p, &g), s) in theta.iter_mut().zip(grad).zip(mean_sq.iter_mut()) {
                let g = g + wd * *p;
                *s = gamma * *s + (1.0 - gamma) * g * g;
                *p -= lr * g / (*s + eps).sqrt();
            }
        });
        self.steps += 1;
    }
}

impl_optimizer!(RmsProp);
