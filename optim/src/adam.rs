//! Adam and AdamW: per-element steps from running means of the gradient (m) and of its square
//! (v), with bias correction (Kingma & Ba, 2015). Adam's weight decay is coupled (an L2 term added
//! to the gradient, then rescaled with it); AdamW's is decoupled (Loshchilov & Hutter, 2019): it
//! shrinks θ directly, the same for every element.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_positive, check_unit_interval};
use crate::optimizer::{OptimCore, impl_optimizer};

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

/// Adam's settings as AdamW shares them: all but where the weight decay enters.
#[derive(Clone, Copy)]
struct Moments {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
}

const BUFFERS: [&str; 2] = ["m", "v"];

impl Moments {
    /// Checks the settings of optimizer `name`.
    fn check(self, name: &'static str) -> Result<OptimCore<2>, OptimError> {
        check_learning_rate(name, self.lr)?;
        check_unit_interval(name, "beta1", self.beta1)?;
        check_unit_interval(name, "beta2", self.beta2)?;
        check_positive(name, "eps", self.eps)?;
        check_non_negative(name, "weight_decay", self.weight_decay)?;
        Ok(OptimCore::new(name, BUFFERS, self.lr))
    }

    /// One step of Adam (`decoupled` false) or AdamW (true) at the core's learning rate.
    fn step<B: Backend>(
        self,
        core: &mut OptimCore<2>,
        decoupled: bool,
        params: &mut [(String, &mut Tensor<B>)],
        grads: &Gradients<B>,
    ) {
        let Moments { beta1, beta2, eps, weight_decay: wd, .. } = self;
        let lr = core.lr;
        let (coupled_wd, decoupled_wd) = if decoupled { (0.0, wd) } else { (wd, 0.0) };
        core.update(params, grads, |theta, grad, slot| {
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
    }
}

/// Adam with bias correction and optional coupled weight decay:
/// m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),
/// θ ← θ − η·m̂/(√v̂ + ε), with g + λθ in place of g when λ > 0.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    core: OptimCore<2>,
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
        Ok(Adam { config, core: Moments { lr, beta1, beta2, eps, weight_decay }.check(Self::NAME)? })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let AdamConfig { lr, beta1, beta2, eps, weight_decay } = self.config;
        Moments { lr, beta1, beta2, eps, weight_decay }.step(&mut self.core, false, params, grads);
    }
}

/// AdamW: Adam's moments of the raw gradient, and a decoupled weight decay,
/// θ ← θ − η·(m̂/(√v̂ + ε) + λθ).
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamWConfig,
    core: OptimCore<2>,
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
        Ok(AdamW { config, core: Moments { lr, beta1, beta2, eps, weight_decay }.check(Self::NAME)? })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay } = self.config;
        Moments { lr, beta1, beta2, eps, weight_decay }.step(&mut self.core, true, params, grads);
    }
}

impl_optimizer!(Adam, AdamConfig);
impl_optimizer!(AdamW, AdamWConfig);
