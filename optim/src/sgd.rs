//! Plain gradient descent, θ ← θ − η·∇J, optionally with coupled weight decay (L2). The same
//! update is full-batch gradient descent or mini-batch SGD depending on which examples the loss
//! was averaged over, a choice the data loader makes. Momentum variants live in `momentum.rs`.

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative};
use crate::optimizer::{OptimCore, impl_optimizer};

/// Settings of [`Sgd`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SgdConfig {
    /// Learning rate η (≥ 0). Default 0.01.
    pub lr: f32,
    /// Coupled weight decay λ (≥ 0): the gradient becomes g + λθ, the gradient of an added
    /// (λ/2)‖θ‖² (L2) term. Default 0.
    pub weight_decay: f32,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 0.01, weight_decay: 0.0 }
    }
}

impl SgdConfig {
    /// The optimizer with these settings (same as [`Sgd::new`]).
    ///
    /// # Errors
    /// As [`Sgd::new`].
    pub fn init(self) -> Result<Sgd, OptimError> {
        Sgd::new(self)
    }
}

/// Gradient descent: θ ← θ − η·(g + λθ) for each parameter θ with gradient g.
#[derive(Clone, Debug)]
pub struct Sgd {
    config: SgdConfig,
    core: OptimCore<0>,
}

impl Sgd {
    /// The name stored in its state.
    pub const NAME: &'static str = "sgd";

    /// Gradient descent with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite.
    pub fn new(config: SgdConfig) -> Result<Self, OptimError> {
        check_learning_rate(Self::NAME, config.lr)?;
        check_non_negative(Self::NAME, "weight_decay", config.weight_decay)?;
        Ok(Sgd { config, core: OptimCore::new(Self::NAME, [], config.lr) })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let (lr, wd) = (self.core.lr, self.config.weight_decay);
        self.core.update(params, grads, |theta, grad, _| {
            for (p, &g) in theta.iter_mut().zip(grad) {
                *p -= lr * (g + wd * *p);
            }
        });
    }
}

impl_optimizer!(Sgd, SgdConfig);
