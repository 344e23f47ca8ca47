//! Gradient checking: compares the gradients that `backward` computes with central finite
//! differences, (f(x + ε) − f(x − ε)) / 2ε, for every element of every input that requires a
//! gradient. Public so any crate can check its own layers and losses.

use std::fmt;

use crate::backend::Backend;
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Tensor, no_grad};

/// Settings of a gradient check.
#[derive(Clone, Copy, Debug)]
pub struct GradcheckConfig {
    /// Step ε of the central difference.
    pub eps: f32,
    /// Absolute tolerance.
    pub atol: f32,
    /// Relative tolerance: an entry passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
    pub rtol: f32,
    /// At most this many entries per input are checked (evenly spaced); 0 means all.
    pub max_points: usize,
}

impl Default for GradcheckConfig {
    /// ε = 5e-3, atol = 5e-3, rtol = 1e-2: tight enough to catch a wrong rule (which errs by
    /// O(1)), loose enough for f32 forward passes.
    fn default() -> Self {
        GradcheckConfig { eps: 5e-3, atol: 5e-3, rtol: 1e-2, max_points: 0 }
    }
}

/// The worst disagreement found by a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// How many gradient entries were compared.
    pub checked: usize,
    /// The largest |analytic − numeric| seen.
    pub max_abs_error: f32,
    /// Entries outside the tolerance: (input, flat index, analytic, numeric).
    pub mismatches: Vec<(usize, usize, f32, f32)>,
}

impl GradcheckReport {
    /// Whether every entry was within tolerance.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty() && self.checked > 0
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} entries checked, max |error| {:.3e}", self.checked, self.max_abs_error)?;
        for (input, index, analytic, numeric) in self.mismatches.iter().take(5) {
            write!(f, "; input {input}[{index}]: analytic {analytic:.6}, numeric {numeric:.6}")?;
        }
        Ok(())
    }
}

/// Checks the gradients of `f` with respect to each input that `requires_grad()`.
///
/// A non-scalar output is reduced to Σ wᵢ·outᵢ with fixed pseudo-random weights wᵢ, so every
/// output entry (and a wrong sign anywhere) shows in the check. Inputs that do not require a
/// gradient (indices, masks) are passed through unchanged.
pub fn gradcheck<B: Backend>(
    f: impl Fn(&[Tensor<B>]) -> Tensor<B>,
    inputs: &[Tensor<B>],
    config: GradcheckConfig,
) -> GradcheckReport {
    let out = f(inputs);
    let weights = output_weights(out.numel());
    let weight_tensor = Tensor::<B>::from_vec(weights.clone(), out.shape().clone());
    let loss = out.mul(&weight_tensor).sum();
    let grads = loss.backward();

    // The numeric loss is accumulated in f64 from f32 outputs, to keep rounding out of ε's way.
    let numeric_loss = |xs: &[Tensor<B>]| -> f64 {
        no_grad(|| f(xs)).as_slice().iter().zip(&weights).map(|(&o, &w)| o as f64 * w as f64).sum()
    };

    let mut report = GradcheckReport { checked: 0, max_abs_error: 0.0, mismatches: Vec::new() };
    for (i, input) in inputs.iter().enumerate() {
        if !input.requires_grad() {
            continue;
        }
        let analytic = grads.get(input).map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; input.numel()]);
        let base = input.to_vec();
        let n = base.len();
        let step = if config.max_points == 0 || n <= config.max_points { 1 } else { n.div_ceil(config.max_points) };
        for j in (0..n).step_by(step) {
            let mut shifted = inputs.to_vec();
            let mut probe = |delta: f32| {
                let mut values = base.clone();
                values[j] += delta;
                shifted[i] = Tensor::from_vec(values, input.shape().clone());
                numeric_loss(&shifted)
            };
            let numeric = ((probe(config.eps) - probe(-config.eps)) / (2.0 * config.eps as f64)) as f32;
            let error = (analytic[j] - numeric).abs();
            report.checked += 1;
            report.max_abs_error = report.max_abs_error.max(error);
            let within = error <= config.atol + config.rtol * numeric.abs();
            if !within {
                report.mismatches.push((i, j, analytic[j], numeric));
            }
        }
    }
    report
}

/// Fixed weights in ±[0.5, 1.5] that turn an output into a scalar for checking.
fn output_weights(n: usize) -> Vec<f32> {
    let mut rng = Rng::seed(0x6772_6164);
    (0..n)
        .map(|_| {
            let w = rng.uniform_range(0.5, 1.5);
            if rng.bernoulli(0.5) { w } else { -w }
        })
        .collect()
}

/// Values for checking near kinks safely: distinct (no ties for max), at least 0.3 from zero (no
/// ReLU or |x| kink within ε), of random sign, in random order. Magnitudes lie in [0.3, 1.5].
pub fn smooth_values(shape: impl Into<Shape>, seed: u64) -> Vec<f32> {
    let shape = shape.into();
    let n = shape.numel();
    let mut rng = Rng::seed(seed);
    let order = rng.permutation(n);
    order
        .into_iter()
        .map(|k| {
            let magnitude = 0.3 + 1.2 * (k as f32 + 0.5) / n.max(1) as f32;
            if rng.bernoulli(0.5) { magnitude } else { -magnitude }
        })
        .collect()
}

/// Like [`smooth_values`], but all positive (for log, sqrt, 1/x and pow bases).
pub fn positive_values(shape: impl Into<Shape>, seed: u64) -> Vec<f32> {
    smooth_values(shape, seed).into_iter().map(f32::abs).collect()
}
