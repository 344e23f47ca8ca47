//! Regression with Neurite's library API: a small network learns y = sin(2x) from 400 noisy
//! samples, with the course's squared error E = 1/(2N)·Σ(y − t)² as its loss. The samples are a
//! `TensorData` (f32 inputs with value targets, any shape); the learner, the loss, the metrics
//! and the callbacks are the ones classifiers use.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use neurite_core::{Backend, Rng, Tensor, no_grad};
use neurite_nn::models::MlpConfig;
use neurite_nn::{Activation, Module};
use neurite_optim::{Adam, AdamConfig, Cosine};
use neurite_train::{BatchSize, Learner, MeanAbsoluteError, Mse, TensorData, TrainError, evaluate_with};

/// The noise added to every target: normal, of this standard deviation.
pub const NOISE: f32 = 0.05;

/// `n` points x uniform in [−1.5, 1.5] with targets sin(2x) plus noise, drawn from `seed`.
pub fn noisy_curve(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::seed(seed);
    let xs: Vec<f32> = (0..n).map(|_| rng.uniform_range(-1.5, 1.5)).collect();
    let ys = xs.iter().map(|&x| (2.0 * x).sin() + rng.normal(0.0, NOISE)).collect();
    (xs, ys)
}

/// What the fit reached.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The squared-error loss on the validation points after each epoch.
    pub val_loss: Vec<f64>,
    /// The mean absolute error on the validation points at the end.
    pub mae: f64,
    /// The largest distance between the network and the noiseless curve sin(2x) over [−1.5, 1.5].
    pub worst_error: f32,
}

/// Fits a 1-32-32-1 tanh network to 320 noisy points for `epochs` epochs with Adam (lr 0.01
/// falling to 0.0001 along a half cosine, batches of 32) and measures it on 80 others, and
/// against the noiseless curve.
///
/// # Errors
/// As [`Learner::fit`].
pub fn fit<B: Backend>(epochs: usize, seed: u64) -> Result<Fit, TrainError> {
    let (xs, ys) = noisy_curve(400, seed);
    let values = |range: std::ops::Range<usize>| {
        TensorData::values(xs[range.clone()].to_vec(), &[1], ys[range].to_vec(), 1).map_err(TrainError::Invalid)
    };
    let (train, validation) = (values(0..320)?, values(320..400)?);
    let model = MlpConfig::new(1, &[32, 32], 1).with_activation(Activation::Tanh).init::<B>(seed);
    let adam =
        Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::default() }).map_err(|e| TrainError::Invalid(e.to_string()))?;
    let invalid = |e: neurite_optim::OptimError| TrainError::Invalid(e.to_string());
    let schedule = Cosine::new(0.01, 1e-4, epochs).map_err(invalid)?;
    let mut learner = Learner::new(model, adam)
        .epochs(epochs)
        .batch_size(BatchSize::Samples(32))
        .seed(seed)
        .loss(Mse)
        .schedule(schedule);
    learner.fit(&train, Some(&validation), &mut ())?;
    let val_loss = learner.history().iter().filter_map(|m| m.val_loss).collect();
    let mut model = learner.into_model();
    let mut mae = MeanAbsoluteError::default();
    let e = evaluate_with(&mut model, &validation, Default::default(), &Mse, &mut [&mut mae])?;
    let grid: Vec<f32> = (0..=300).map(|i| -1.5 + 3.0 * i as f32 / 300.0).collect();
    let predicted = no_grad(|| model.forward(&Tensor::<B>::from_vec(grid.clone(), [grid.len(), 1]))).to_vec();
    let worst_error = grid.iter().zip(&predicted).map(|(&x, &y)| (y - (2.0 * x).sin()).abs()).fold(0.0, f32::max);
    Ok(Fit { val_loss, mae: e.metric("mae").unwrap_or(f64::NAN), worst_error })
}
