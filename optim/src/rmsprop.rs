//! RMSProp: AdaGrad with a forgetting sum, so the step size follows recent gradients rather than
//! all of them: G ← γG + (1 − γ)g², θ ← θ − η·g/√(G + ε), ε inside the square root as the course
//! writes it.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_positive, check_unit_interval};
use crate::optimizer::{OptimCore, impl_optimizer};

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
    core: OptimCore<1>,
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
        Ok(RmsProp { config, core: OptimCore::new(Self::NAME, Self::BUFFERS, config.lr) })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let RmsPropConfig { gamma, eps, weight_decay: wd, .. } = self.config;
        let lr = self.core.lr;
        self.core.update(params, grads, |theta, grad, slot| {
            let [mean_sq] = &mut slot.buffers;
            for ((p, &g), s) in theta.iter_mut().zip(grad).zip(mean_sq.iter_mut()) {
                let g = g + wd * *p;
                *s = gamma * *s + (1.0 - gamma) * g * g;
                *p -= lr * g / (*s + eps).sqrt();
            }
        });
    }
}

impl_optimizer!(RmsProp, RmsPropConfig);
