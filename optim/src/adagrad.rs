//! AdaGrad: each parameter element gets its own step size, shrinking with the sum of its squared
//! gradients so far: G ← G + g², θ ← θ − η·g/√(G + ε), with ε inside the square root as the course
//! writes it (so √ε bounds the denominator from below).

use neurite_core::{Backend, Gradients, Tensor};

use crate::error::{OptimError, check_learning_rate, check_non_negative, check_positive};
use crate::optimizer::{OptimCore, impl_optimizer};

/// Settings of [`AdaGrad`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdaGradConfig {
    /// Learning rate η (≥ 0). Default 0.01.
    pub lr: f32,
    /// ε (> 0), added to G inside the square root. Default 1e-8 (a floor of 1e-4 under the root).
    pub eps: f32,
    /// Coupled weight decay λ (≥ 0): g becomes g + λθ. Default 0.
    pub weight_decay: f32,
}

impl Default for AdaGradConfig {
    fn default() -> Self {
        AdaGradConfig { lr: 0.01, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl AdaGradConfig {
    /// The optimizer with these settings (same as [`AdaGrad::new`]).
    ///
    /// # Errors
    /// As [`AdaGrad::new`].
    pub fn init(self) -> Result<AdaGrad, OptimError> {
        AdaGrad::new(self)
    }
}

/// AdaGrad (Duchi et al., 2011): G ← G + g², θ ← θ − η·g/√(G + ε).
#[derive(Clone, Debug)]
pub struct AdaGrad {
    config: AdaGradConfig,
    core: OptimCore<1>,
}

impl AdaGrad {
    /// The name stored in its state.
    pub const NAME: &'static str = "adagrad";
    const BUFFERS: [&'static str; 1] = ["sum_sq"];

    /// AdaGrad with `config`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` or `weight_decay` is negative or not finite, or
    /// `eps` is not a finite number > 0.
    pub fn new(config: AdaGradConfig) -> Result<Self, OptimError> {
        check_learning_rate(Self::NAME, config.lr)?;
        check_positive(Self::NAME, "eps", config.eps)?;
        check_non_negative(Self::NAME, "weight_decay", config.weight_decay)?;
        Ok(AdaGrad { config, core: OptimCore::new(Self::NAME, Self::BUFFERS, config.lr) })
    }

    fn update<B: Backend>(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        let AdaGradConfig { eps, weight_decay: wd, .. } = self.config;
        let lr = self.core.lr;
        self.core.update(params, grads, |theta, grad, slot| {
            let [sum_sq] = &mut slot.buffers;
            for ((p, &g), s) in theta.iter_mut().zip(grad).zip(sum_sq.iter_mut()) {
                let g = g + wd * *p;
                *s += g * g;
                *p -= lr * g / (*s + eps).sqrt();
            }
        });
    }
}

impl_optimizer!(AdaGrad, AdaGradConfig);
