//! Momentum, exactly as the course writes it: v ← γv + η·∇J, θ ← θ − v; and Nesterov momentum,
//! which takes the gradient at the look-ahead point θ − γv. The velocity v carries η inside it, so
//! a learning-rate change reaches the step gradually, through new gradients.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_unit_interval};
use crate::optimizer::{OptimCore, impl_optimizer};

/// Settings of [`Momentum`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MomentumConfig {
    /// Learning rate η (≥ 0). Default 0.01.
    pub lr: f32,
    /// Momentum γ, in [0, 1). Default 0.9.
    pub momentum: f32,
    /// Nesterov's look-ahead variant. Default false.
    pub nesterov: bool,
    /// Coupled weight decay λ (≥ 0): g becomes g + λθ. Default 0.
    pub weight_decay: f32,
}

impl Default for MomentumConfig {
    fn default() -> Self {
        MomentumConfig { lr: 0.01, momentum: 0.9, nesterov: false, weight_decay: 0.0 }
    }
}

impl MomentumConfig {
    /// The optimizer with these settings (same as [`Momentum::new`]).
    ///
    /// # Errors
    /// As [`Momentum::new`].
    pub fn init(self) -> Result<Momentum, OptimError> {
        Momentum::new(self)
    }
}

/// Gradient descent with momentum (classical or Nesterov).
///
/// Classical: v ← γv + η·g, θ ← θ − v.
///
/// Nesterov evaluates the gradient at the look-ahead point θ − γv. Keeping the look-ahead point
/// itself as the parameter (φ = θ − γv, so the gradient of the loss at the parameter is the one
/// wanted), the update becomes v ← γv + η·g, φ ← φ − (γv + η·g), with v the new velocity: one
/// gradient per step, as in Sutskever et al. (2013).
#[derive(Clone, Debug)]
pub struct Momentum {
    config: MomentumConfig,
    core: OptimCore<1>,
}

impl Momentum {
    /// The name of the classical variant in its state.
    pub const NAME: &'static str = "momentum";
    /// The name of the Nesterov variant in its state.
    pub const NESTEROV_NAME: &'static str = "nesterov";
    const BUFFERS: [&'static str; 1] = ["velocity"];

    /// Momentum with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite, or
    /// `momentum` is outside [0, 1).
    pub fn new(config: MomentumConfig) -> Result<Self, OptimError> {
        let name = if config.nesterov { Self::NESTEROV_NAME } else { Self::NAME };
        check_learning_rate(name, config.lr)?;
        check_unit_interval(name, "momentum", config.momentum)?;
        check_non_negative(name, "weight_decay", config.weight_decay)?;
        Ok(Momentum { config, core: OptimCore::new(name, Self::BUFFERS, config.lr) })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let MomentumConfig { momentum: gamma, nesterov, weight_decay: wd, .. } = self.config;
        let lr = self.core.lr;
        self.core.update(params, grads, |theta, grad, slot| {
            let [velocity] = &mut slot.buffers;
            for ((p, &g), v) in theta.iter_mut().zip(grad).zip(velocity.iter_mut()) {
                let step = lr * (g + wd * *p);
                *v = gamma * *v + step;
                *p -= if nesterov { gamma * *v + step } else { *v };
            }
        });
    }
}

impl_optimizer!(Momentum, MomentumConfig);
