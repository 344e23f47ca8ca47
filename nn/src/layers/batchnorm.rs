//! Batch normalisation (Ioffe & Szegedy, 2015). In training, each feature (a column of
//! `[n, features]`, or a channel of `[n, c, h, w]`) is normalised with its batch mean and variance,
//! x̂ = (x − μ)/√(σ² + ε), then scaled and shifted by learnable γ (`weight`) and β (`bias`): the
//! gradient flows through μ and σ² too. Training runs core's fused [`Tensor::batch_norm`], one
//! pass forward and one backward, with the activation that follows folded in when the layer sits
//! before ReLU, sigmoid or tanh in a `Sequential`. Running statistics follow
//! PyTorch: r ← (1 − momentum)·r + momentum·batch, with the unbiased batch variance for
//! `running_var`; evaluation normalises with them instead.
//!
//! The running statistics change inside `forward(&self)`, so they live behind a `Mutex`.

use std::sync::{Mutex, PoisonError};

use neurite_core::{Backend, BiasAct, Tensor, no_grad};

use crate::module::Module;
use crate::spec::LayerSpec;

/// Settings of a batch-norm layer: `num_features`, ε (default 1e-5), momentum (default 0.1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// Features (columns of a 1-D batch norm, channels of a 2-D one).
    pub num_features: usize,
    /// Added to the variance before the square root.
    pub eps: f32,
    /// Weight of the new batch in the running statistics.
    pub momentum: f32,
}

impl BatchNormConfig {
    /// PyTorch's defaults: ε = 1e-5, momentum = 0.1.
    pub fn new(num_features: usize) -> Self {
        BatchNormConfig { num_features, eps: 1e-5, momentum: 0.1 }
    }

    /// Sets ε.
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum.
    pub fn with_momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// A 1-D batch norm for `[n, features]` (γ = 1, β = 0, running mean 0, running variance 1).
    pub fn init_1d<B: Backend>(&self) -> BatchNorm1d<B> {
        BatchNorm::from_config(*self)
    }

    /// A 2-D batch norm for `[n, channels, h, w]`.
    pub fn init_2d<B: Backend>(&self) -> BatchNorm2d<B> {
        BatchNorm::from_config(*self)
    }
}

struct Running<B: Backend> {
    mean: Tensor<B>,
    var: Tensor<B>,
}

/// Batch normalisation over `D` = 1 (`[n, features]`) or `D` = 2 (`[n, channels, h, w]`)
/// inputs; use the aliases [`BatchNorm1d`] and [`BatchNorm2d`].
pub struct BatchNorm<B: Backend, const D: usize> {
    weight: Tensor<B>,
    bias: Tensor<B>,
    running: Mutex<Running<B>>,
    eps: f32,
    momentum: f32,
    training: bool,
}

/// Batch norm of `[n, features]` inputs, per feature.
pub type BatchNorm1d<B> = BatchNorm<B, 1>;
/// Batch norm of `[n, channels, h, w]` inputs, per channel.
pub type BatchNorm2d<B> = BatchNorm<B, 2>;

impl<B: Backend, const D: usize> BatchNorm<B, D> {
    /// A fresh layer: γ = 1, β = 0, running mean 0, running variance 1, in training mode.
    ///
    /// # Panics
    /// If `D` is not 1 or 2, `num_features` is zero, ε is not positive or momentum not in [0, 1].
    pub fn from_config(config: BatchNormConfig) -> Self {
        assert!(D == 1 || D == 2, "batch_norm: only 1-D and 2-D forms exist, not {D}-D");
        let c = config.num_features;
        assert!(c > 0, "batch_norm: num_features must be positive");
        assert!(config.eps > 0.0, "batch_norm: eps {} must be positive", config.eps);
        assert!((0.0..=1.0).contains(&config.momentum), "batch_norm: momentum {} must lie in [0, 1]", config.momentum);
        BatchNorm {
            weight: Tensor::ones([c]).require_grad(),
            bias: Tensor::zeros([c]).require_grad(),
            running: Mutex::new(Running { mean: Tensor::zeros([c]), var: Tensor::ones([c]) }),
            eps: config.eps,
            momentum: config.momentum,
            training: true,
        }
    }

    /// Features normalised.
    pub fn num_features(&self) -> usize {
        self.weight.numel()
    }

    /// γ, `[features]`.
    pub fn weight(&self) -> &Tensor<B> {
        &self.weight
    }

    /// β, `[features]`.
    pub fn bias(&self) -> &Tensor<B> {
        &self.bias
    }

    /// The running mean and variance, each `[features]`.
    pub fn running_stats(&self) -> (Tensor<B>, Tensor<B>) {
        let r = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        (r.mean.clone(), r.var.clone())
    }

    /// The shape a per-feature `[c]` tensor takes to broadcast over the input.
    fn stat_shape(&self) -> Vec<usize> {
        if D == 1 { vec![1, self.num_features()] } else { vec![1, self.num_features(), 1, 1] }
    }

    fn check_input(&self, x: &Tensor<B>) {
        let rank = if D == 1 { 2 } else { 4 };
        let ok = x.rank() == rank && x.dims()[1] == self.num_features();
        assert!(
            ok,
            "batch_norm{D}d: input {} must be {} with {} features",
            x.shape(),
            if D == 1 { "[n, features]" } else { "[n, channels, h, w]" },
            self.num_features()
        );
    }

    /// `act(batch_norm(x))`. In training, one fused pass ([`Tensor::batch_norm`]) with the batch
    /// statistics, which also update the running ones; in evaluation, the running statistics.
    ///
    /// # Panics
    /// If the input does not fit the layer (see [`Module::forward`]).
    fn normalise(&self, x: &Tensor<B>, act: BiasAct) -> Tensor<B> {
        self.check_input(x);
        if self.training {
            let out = x.batch_norm(&self.weight, &self.bias, self.eps, act);
            let count = x.numel() / self.num_features();
            no_grad(|| {
                // PyTorch keeps the unbiased variance in the running estimate.
                let unbiased = if count > 1 { count as f32 / (count - 1) as f32 } else { 1.0 };
                let m = self.momentum;
                let mut r = self.running.lock().unwrap_or_else(PoisonError::into_inner);
                r.mean = r.mean.mul_scalar(1.0 - m).add(&out.mean.mul_scalar(m));
                r.var = r.var.mul_scalar(1.0 - m).add(&out.var.mul_scalar(m * unbiased));
            });
            return out.y;
        }
        let stat = self.stat_shape();
        let (mean, var) = self.running_stats();
        let x_hat = x.sub(&mean.reshape(stat.clone())).div(&var.add_scalar(self.eps).sqrt().reshape(stat.clone()));
        let y = x_hat.mul(&self.weight.reshape(stat.clone())).add(&self.bias.reshape(stat));
        match act {
            BiasAct::None => y,
            BiasAct::Relu => y.relu(),
            BiasAct::Sigmoid => y.sigmoid(),
            BiasAct::Tanh => y.tanh(),
        }
    }
}

impl<B: Backend, const D: usize> Module<B> for BatchNorm<B, D> {
    /// # Panics
    /// If the input is not `[n, features]` (1-D) or `[n, channels, h, w]` (2-D) with this layer's
    /// feature count.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        self.normalise(x, BiasAct::None)
    }

    /// Training runs batch norm and the activation as one fused pass; evaluation normalises with
    /// the running statistics and applies the activation after.
    fn forward_activated(&self, x: &Tensor<B>, act: BiasAct) -> Option<Tensor<B>> {
        Some(self.normalise(x, act))
    }

    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        vec![("weight".to_string(), &self.weight), ("bias".to_string(), &self.bias)]
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        vec![("weight".to_string(), &mut self.weight), ("bias".to_string(), &mut self.bias)]
    }

    fn buffers(&self) -> Vec<(String, Tensor<B>)> {
        let (mean, var) = self.running_stats();
        vec![("running_mean".to_string(), mean), ("running_var".to_string(), var)]
    }

    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        let r = self.running.get_mut().unwrap_or_else(PoisonError::into_inner);
        vec![("running_mean".to_string(), &mut r.mean), ("running_var".to_string(), &mut r.var)]
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn spec(&self) -> LayerSpec {
        let (num_features, eps, momentum) = (self.num_features(), self.eps, self.momentum);
        if D == 1 {
            LayerSpec::BatchNorm1d { num_features, eps, momentum }
        } else {
            LayerSpec::BatchNorm2d { num_features, eps, momentum }
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }
}
