//! Adam and AdamW: per-element steps from running means of the gradient (m) and of its square
//! (v), with bias correction (Kingma & Ba, 2015). Adam's weight decay is coupled (an L2 term added
//! to the gradient, then rescaled with it); AdamW's is decoupled (Loshchilov & Hutter, 2019): it
//! shrinks θ directly, the same for every element.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_positive, check_unit_interval};
use crate::optimizer::{BufferStore, OptimizerState, assert_learning_rate, impl_optimizer};

/// Settings of [`Adam`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamConfig {
    /// Learning rate η (≥ 0). Default 0.001.
    pub lr: f32,
    /// Decay β₁ of the mean of g, in [0, 1). Default 0.9.
    pub beta1: f32,
    /// Decay β₂ of the mean of g², in [0, 1). Default 0.999.
    pub beta2: f32,
    /// ε (> 0), added to √v̂ in the denominator. Default 1e-8.
    pub eps: f32,
    /// Coupled weight decay λ (≥ 0): g becomes g + λθ before the moments. Default 0.
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl AdamConfig {
    /// The optimizer with these settings (same as [`Adam::new`]).
    ///
    /// # Errors
    /// As [`Adam::new`].
    pub fn init(self) -> Result<Adam, OptimError> {
        Adam::new(self)
    }
}

/// Settings of [`AdamW`]: Adam's, with a decoupled weight decay.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    /// Learning rate η (≥ 0). Default 0.001.
    pub lr: f32,
    /// Decay β₁ of the mean of g, in [0, 1). Default 0.9.
    pub beta1: f32,
    /// Decay β₂ of the mean of g², in [0, 1). Default 0.999.
    pub beta2: f32,
    /// ε (> 0), added to √v̂ in the denominator. Default 1e-8.
    pub eps: f32,
    /// Decoupled weight decay λ (≥ 0): each step also subtracts η·λ·θ. Default 0.01.
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

impl AdamWConfig {
    /// The optimizer with these settings (same as [`AdamW::new`]).
    ///
    /// # Errors
    /// As [`AdamW::new`].
    pub fn init(self) -> Result<AdamW, OptimError> {
        AdamW::new(self)
    }
}

/// What Adam and AdamW share: everything but where the weight decay enters.
#[derive(Clone, Debug)]
struct AdamCore {
    name: &'static str,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    decoupled: bool,
    steps: u64,
    store: BufferStore<2>,
}

impl AdamCore {
    const BUFFERS: [&'static str; 2] = ["m", "v"];

    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &'static str,
        lr: f32,
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: f32,
        decoupled: bool,
    ) -> Result<Self, OptimError> {
        check_learning_rate(name, lr)?;
        check_unit_interval(name, "beta1", beta1)?;
        check_unit_interval(name, "beta2", beta2)?;
        check_positive(name, "eps", eps)?;
        check_non_negative(name, "weight_decay", weight_decay)?;
        let store = BufferStore::new(Self::BUFFERS);
        Ok(AdamCore { name, lr, beta1, beta2, eps, weight_decay, decoupled, steps: 0, store })
    }

    fn set_learning_rate(&mut self, lr: f32) {
        assert_learning_rate(self.name, lr);
        self.lr = lr;
    }

    fn state(&self) -> OptimizerState {
        OptimizerState { optimizer: self.name.into(), lr: self.lr, steps: self.steps, params: self.store.to_state() }
    }

    fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        state.check_owner(self.name)?;
        self.store = BufferStore::from_state(self.name, Self::BUFFERS, state.params)?;
        self.lr = state.lr;
        self.steps = state.steps;
        Ok(())
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let AdamCore { lr, beta1, beta2, eps, weight_decay: wd, decoupled, .. } = *self;
        let (coupled_wd, decoupled_wd) = if decoupled { (0.0, wd) } else { (wd, 0.0) };
        self.store.update(self.name, params, grads, |theta, grad, slot| {
            // Bias corrections 1 − βᵗ, in f64 so that βᵗ stays accurate for large t.
            let t = i32::try_from(slot.step).unwrap_or(i32::MAX);
            let bc1 = (1.0 - f64::from(beta1).powi(t)) as f32;
            let bc2 = (1.0 - f64::from(beta2).powi(t)) as f32;
            let [m, v] = &mut slot.buffers;
            for (((p, &g), m), v) in theta.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g + coupled_wd * *p;
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                let m_hat = *m / bc1;
                let v_hat = *v / bc2;
                *p -= lr * (m_hat / (v_hat.sqrt() + eps) + decoupled_wd * *p);
            }
        });
        self.steps += 1;
    }
}

/// Adam with bias correction and optional coupled weight decay:
/// m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),
/// θ ← θ − η·m̂/(√v̂ + ε), with g + λθ in place of g when λ > 0.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    core: AdamCore,
}

impl Adam {
    /// The name stored in its state.
    pub const NAME: &'static str = "adam";

    /// Adam with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite, a β is
    /// outside [0, 1), or `eps` is not a finite number > 0.
    pub fn new(config: AdamConfig) -> Result<Self, OptimError> {
        let AdamConfig { lr, beta1, beta2, eps, weight_decay } = config;
        Ok(Adam { config, core: AdamCore::new(Self::NAME, lr, beta1, beta2, eps, weight_decay, false)? })
    }

    /// The settings it was built with (the learning rate may have changed since).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f32 {
        self.core.lr
    }

    /// Sets the learning rate.
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.core.set_learning_rate(lr);
    }

    /// `"adam"`.
    pub fn name(&self) -> &str {
        Self::NAME
    }

    /// See [`crate::Optimizer::state`].
    pub fn state(&self) -> OptimizerState {
        self.core.state()
    }

    /// See [`crate::Optimizer::load_state`].
    ///
    /// # Errors
    /// As [`crate::Optimizer::load_state`].
    pub fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        self.core.load_state(state)
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        self.core.update(params, grads);
    }
}

/// AdamW: Adam's moments of the raw gradient, and a decoupled weight decay,
/// θ ← θ − η·(m̂/(√v̂ + ε) + λθ).
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamWConfig,
    core: AdamCore,
}

impl AdamW {
    /// The name stored in its state.
    pub const NAME: &'static str = "adamw";

    /// AdamW with `config`.
    ///
    /// # Errors
    /// As [`Adam::new`].
    pub fn new(config: AdamWConfig) -> Result<Self, OptimError> {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay } = config;
        Ok(AdamW { config, core: AdamCore::new(Self::NAME, lr, beta1, beta2, eps, weight_decay, true)? })
    }

    /// The settings it was built with (the learning rate may have changed since).
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// The learning rate of the next step.
    pub fn learning_rate(&self) -> f32 {
        self.core.lr
    }

    /// Sets the learning rate.
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    pub fn set_learning_rate(&mut self, lr: f32) {
        self.core.set_learning_rate(lr);
    }

    /// `"adamw"`.
    pub fn name(&self) -> &str {
        Self::NAME
    }

    /// See [`crate::Optimizer::state`].
    pub fn state(&self) -> OptimizerState {
        self.core.state()
    }

    /// See [`crate::Optimizer::load_state`].
    ///
    /// # Errors
    /// As [`crate::Optimizer::load_state`].
    pub fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        self.core.load_state(state)
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        self.core.update(params, grads);
    }
}

impl_optimizer!(Adam);
impl_optimizer!(AdamW);
