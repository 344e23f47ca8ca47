//! Learning-rate schedules: constant, step decay, exponential decay, cosine annealing, linear
//! warm-up in front of any other schedule, and reduce-on-plateau. A schedule only computes a
//! rate; the training loop hands it to any optimizer with `set_learning_rate`, so every schedule
//! composes with every optimizer:
//!
//! ```
//! use neurite_core::reference::ReferenceBackend as R;
//! use neurite_optim::{Cosine, Optimizer, Schedule, Sgd, SgdConfig, WarmUp};
//!
//! let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() })?;
//! // Two warm-up epochs, then cosine from 0.1 down to 0 over 8 epochs.
//! let mut schedule = WarmUp::new(2, Cosine::new(0.1, 0.0, 8)?);
//! for epoch in 0..10 {
//!     Optimizer::<R>::set_learning_rate(&mut sgd, schedule.lr(epoch, None));
//!     // … one epoch of steps …
//! }
//! # Ok::<(), neurite_optim::OptimError>(())
//! ```
//!
//! `t` counts whatever the caller steps the schedule by, epochs or iterations, from 0. Schedules
//! are serde data, so a checkpoint can store one (reduce-on-plateau carries state that must be
//! saved to resume exactly).

use serde::{Deserialize, Serialize};

use crate::error::{
    OptimError, check_at_most, check_count, check_decay_factor, check_learning_rate, check_non_negative,
    check_shrink_factor,
};

/// A rule giving the learning rate at step `t`.
pub trait Schedule {
    /// The learning rate for step `t` (0-based; epochs or iterations, as the caller counts).
    /// `metric` is the validation value measured just before, for schedules that react to one
    /// (reduce-on-plateau); the others ignore it. Call it once per step, in order: stateful
    /// schedules count the calls.
    fn lr(&mut self, t: usize, metric: Option<f32>) -> f32;
}

impl<S: Schedule + ?Sized> Schedule for Box<S> {
    fn lr(&mut self, t: usize, metric: Option<f32>) -> f32 {
        (**self).lr(t, metric)
    }
}

/// The same rate at every step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    lr: f32,
}

impl Constant {
    /// Always `lr`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` is negative or not finite.
    pub fn new(lr: f32) -> Result<Self, OptimError> {
        check_learning_rate("constant", lr)?;
        Ok(Constant { lr })
    }
}

impl Schedule for Constant {
    fn lr(&mut self, _t: usize, _metric: Option<f32>) -> f32 {
        self.lr
    }
}

/// Step decay: lr·γ^⌊t / step_size⌋, the rate multiplied by γ every `step_size` steps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepDecay {
    lr: f32,
    step_size: usize,
    gamma: f32,
}

impl StepDecay {
    /// Starts at `lr`, multiplied by `gamma` every `step_size` steps.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` is negative or not finite, `step_size` is 0, or
    /// `gamma` is outside (0, 1].
    pub fn new(lr: f32, step_size: usize, gamma: f32) -> Result<Self, OptimError> {
        check_learning_rate("step_decay", lr)?;
        check_count("step_decay", "step_size", step_size)?;
        check_decay_factor("step_decay", "gamma", gamma)?;
        Ok(StepDecay { lr, step_size, gamma })
    }
}

impl Schedule for StepDecay {
    fn lr(&mut self, t: usize, _metric: Option<f32>) -> f32 {
        decayed(self.lr, self.gamma, t / self.step_size)
    }
}

/// Exponential decay: lr·γᵗ.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exponential {
    lr: f32,
    gamma: f32,
}

impl Exponential {
    /// Starts at `lr`, multiplied by `gamma` every step.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr` is negative or not finite, or `gamma` is outside
    /// (0, 1].
    pub fn new(lr: f32, gamma: f32) -> Result<Self, OptimError> {
        check_learning_rate("exponential", lr)?;
        check_decay_factor("exponential", "gamma", gamma)?;
        Ok(Exponential { lr, gamma })
    }
}

impl Schedule for Exponential {
    fn lr(&mut self, t: usize, _metric: Option<f32>) -> f32 {
        decayed(self.lr, self.gamma, t)
    }
}

/// lr·γⁿ, in f64 so that large n stays accurate.
fn decayed(lr: f32, gamma: f32, n: usize) -> f32 {
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    (f64::from(lr) * f64::from(gamma).powi(n)) as f32
}

/// Cosine annealing (Loshchilov & Hutter, 2017, without restarts): from `lr` at t = 0 down to
/// `min_lr` at t = `period`, along half a cosine, lr(t) = min + (lr − min)·(1 + cos(π·t/period))/2;
/// `min_lr` after that.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cosine {
    lr: f32,
    min_lr: f32,
    period: usize,
}

impl Cosine {
    /// From `lr` down to `min_lr` over `period` steps.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if a rate is negative or not finite, `min_lr > lr`, or
    /// `period` is 0.
    pub fn new(lr: f32, min_lr: f32, period: usize) -> Result<Self, OptimError> {
        check_learning_rate("cosine", lr)?;
        check_non_negative("cosine", "min_lr", min_lr)?;
        check_at_most("cosine", "min_lr", min_lr, lr)?;
        check_count("cosine", "period", period)?;
        Ok(Cosine { lr, min_lr, period })
    }
}

impl Schedule for Cosine {
    fn lr(&mut self, t: usize, _metric: Option<f32>) -> f32 {
        let progress = t.min(self.period) as f64 / self.period as f64;
        let (lr, min) = (f64::from(self.lr), f64::from(self.min_lr));
        (min + (lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32
    }
}

/// Linear warm-up in front of another schedule: for the first `steps` steps the rate climbs
/// linearly towards the inner schedule's first rate r₀, r₀·(t + 1)/(steps + 1); from then on it
/// is the inner schedule's, started afresh: inner.lr(t − steps). During warm-up the metric is not
/// passed on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmUp<S> {
    steps: usize,
    inner: S,
}

impl<S: Schedule> WarmUp<S> {
    /// `steps` steps of warm-up, then `inner` (0 steps: just `inner`).
    pub fn new(steps: usize, inner: S) -> Self {
        WarmUp { steps, inner }
    }

    /// The schedule after the warm-up.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Schedule> Schedule for WarmUp<S> {
    fn lr(&mut self, t: usize, metric: Option<f32>) -> f32 {
        if t < self.steps {
            let target = f64::from(self.inner.lr(0, None));
            (target * (t + 1) as f64 / (self.steps + 1) as f64) as f32
        } else {
            self.inner.lr(t - self.steps, metric)
        }
    }
}

/// Whether a smaller or a larger metric is better (a loss or an accuracy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum PlateauMode {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// Settings of [`ReduceOnPlateau`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlateauConfig {
    /// The starting rate. Default 0.001.
    pub lr: f32,
    /// Whether lower or higher metrics are better. Default [`PlateauMode::Min`].
    pub mode: PlateauMode,
    /// The factor applied on a plateau, in (0, 1). Default 0.1.
    pub factor: f32,
    /// How many observations in a row may fail to improve before the rate drops. Default 10.
    pub patience: usize,
    /// How much better than the best so far a metric must be to count as an improvement
    /// (absolute, ≥ 0). Default 1e-4.
    pub threshold: f32,
    /// The rate never drops below this (≥ 0, ≤ `lr`). Default 0.
    pub min_lr: f32,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig { lr: 0.001, mode: PlateauMode::Min, factor: 0.1, patience: 10, threshold: 1e-4, min_lr: 0.0 }
    }
}

/// Reduce-on-plateau: multiplies the rate by `factor` once the metric has failed to improve on
/// its best by more than `threshold` for more than `patience` observations in a row, then starts
/// counting again. A NaN metric never improves. `t` is ignored; calls without a metric return
/// the current rate unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceOnPlateau {
    config: PlateauConfig,
    lr: f32,
    best: Option<f32>,
    bad_steps: usize,
}

impl ReduceOnPlateau {
    /// A plateau watcher starting at `config.lr`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] if `lr`, `threshold` or `min_lr` is negative or not
    /// finite, `min_lr > lr`, or `factor` is outside (0, 1).
    pub fn new(config: PlateauConfig) -> Result<Self, OptimError> {
        check_learning_rate("reduce_on_plateau", config.lr)?;
        check_shrink_factor("reduce_on_plateau", "factor", config.factor)?;
        check_non_negative("reduce_on_plateau", "threshold", config.threshold)?;
        check_non_negative("reduce_on_plateau", "min_lr", config.min_lr)?;
        check_at_most("reduce_on_plateau", "min_lr", config.min_lr, config.lr)?;
        Ok(ReduceOnPlateau { config, lr: config.lr, best: None, bad_steps: 0 })
    }

    /// The current rate.
    pub fn current(&self) -> f32 {
        self.lr
    }

    /// The best metric seen so far.
    pub fn best(&self) -> Option<f32> {
        self.best
    }

    /// Observations in a row without improvement.
    pub fn bad_steps(&self) -> usize {
        self.bad_steps
    }

    fn observe(&mut self, metric: f32) {
        let threshold = self.config.threshold;
        let improved = match (self.best, self.config.mode) {
            (_, _) if metric.is_nan() => false,
            (None, _) => true,
            (Some(best), PlateauMode::Min) => metric < best - threshold,
            (Some(best), PlateauMode::Max) => metric > best + threshold,
        };
        if improved {
            self.best = Some(metric);
            self.bad_steps = 0;
            return;
        }
        self.bad_steps += 1;
        if self.bad_steps > self.config.patience {
            self.lr = (self.lr * self.config.factor).max(self.config.min_lr);
            self.bad_steps = 0;
        }
    }
}

impl Schedule for ReduceOnPlateau {
    fn lr(&mut self, _t: usize, metric: Option<f32>) -> f32 {
        if let Some(metric) = metric {
            self.observe(metric);
        }
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first `n` rates of `schedule`, without a metric.
    fn rates(mut schedule: impl Schedule, n: usize) -> Vec<f32> {
        (0..n).map(|t| schedule.lr(t, None)).collect()
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-7 * w.abs().max(1.0), "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn constant_never_changes() {
        assert_eq!(rates(Constant::new(0.25).unwrap(), 4), vec![0.25; 4]);
    }

    #[test]
    fn step_decay_multiplies_every_step_size_steps() {
        // 0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2
        assert_close(&rates(StepDecay::new(0.8, 3, 0.5).unwrap(), 7), &[0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2]);
    }

    #[test]
    fn exponential_decay_multiplies_every_step() {
        // 1, 0.9, 0.81, 0.729
        assert_close(&rates(Exponential::new(1.0, 0.9).unwrap(), 4), &[1.0, 0.9, 0.81, 0.729]);
    }

    #[test]
    fn cosine_follows_half_a_cosine_then_stays_at_the_floor() {
        // lr 1, min 0.2, period 4: 0.2 + 0.8·(1 + cos(πt/4))/2 = 1, 0.2 + 0.4·(1 + √½), 0.6,
        // 0.2 + 0.4·(1 − √½), 0.2, then 0.2
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let want = [1.0, 0.2 + 0.4 * (1.0 + h), 0.6, 0.2 + 0.4 * (1.0 - h), 0.2, 0.2];
        assert_close(&rates(Cosine::new(1.0, 0.2, 4).unwrap(), 6), &want);
    }

    #[test]
    fn warm_up_climbs_linearly_then_hands_over() {
        // Three warm-up steps towards 0.4: 0.1, 0.2, 0.3; then step decay from t = 0: 0.4, 0.4, 0.2
        let schedule = WarmUp::new(3, StepDecay::new(0.4, 2, 0.5).unwrap());
        assert_close(&rates(schedule, 6), &[0.1, 0.2, 0.3, 0.4, 0.4, 0.2]);
    }

    #[test]
    fn warm_up_of_zero_steps_is_the_inner_schedule() {
        assert_close(&rates(WarmUp::new(0, Exponential::new(2.0, 0.5).unwrap()), 3), &[2.0, 1.0, 0.5]);
    }

    #[test]
    fn plateau_drops_the_rate_after_patience_bad_observations() {
        let config = PlateauConfig { lr: 1.0, factor: 0.5, patience: 2, threshold: 0.01, ..Default::default() };
        let mut schedule = ReduceOnPlateau::new(config).unwrap();
        // 1.0 sets the best; 0.995 is within the threshold (bad 1); 1.2 (bad 2); 1.1 (bad 3 > 2): halve.
        // 0.5 improves; then 0.6, 0.7, 0.8 are bad 1, 2, 3: halve again.
        let metrics = [1.0, 0.995, 1.2, 1.1, 0.5, 0.6, 0.7, 0.8];
        let got: Vec<f32> = metrics.iter().enumerate().map(|(t, &m)| schedule.lr(t, Some(m))).collect();
        assert_eq!(got, vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]);
        assert_eq!(schedule.best(), Some(0.5));
        assert_eq!(schedule.bad_steps(), 0);
    }

    #[test]
    fn plateau_in_max_mode_respects_the_floor_and_ignores_missing_metrics() {
        let config =
            PlateauConfig { lr: 0.1, mode: PlateauMode::Max, factor: 0.1, patience: 0, threshold: 0.0, min_lr: 0.005 };
        let mut schedule = ReduceOnPlateau::new(config).unwrap();
        // accuracy 0.5 (best), 0.6 (better), 0.6 (not better: 0.1 → 0.01), none (unchanged),
        // NaN (bad: 0.01 → 0.001, floored at 0.005)
        let got = [Some(0.5), Some(0.6), Some(0.6), None, Some(f32::NAN)].map(|m| schedule.lr(0, m));
        assert_close(&got, &[0.1, 0.1, 0.01, 0.01, 0.005]);
    }

    #[test]
    fn plateau_state_survives_serialization() {
        let mut schedule = ReduceOnPlateau::new(PlateauConfig { lr: 1.0, patience: 1, ..Default::default() }).unwrap();
        schedule.lr(0, Some(3.0));
        schedule.lr(1, Some(4.0));
        let bytes = bincode::serde::encode_to_vec(schedule, bincode::config::standard()).unwrap();
        let (mut restored, _): (ReduceOnPlateau, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(restored, schedule);
        // One more bad observation exceeds patience 1 in both.
        assert_eq!(restored.lr(2, Some(5.0)), schedule.lr(2, Some(5.0)));
        assert!((restored.current() - 0.1).abs() < 1e-7);
    }

    #[test]
    fn bad_schedule_settings_are_rejected() {
        assert!(Constant::new(-0.1).is_err());
        assert_eq!(
            StepDecay::new(0.1, 0, 0.5).unwrap_err().to_string(),
            "step_decay: step_size = 0, expected a count >= 1"
        );
        assert!(StepDecay::new(0.1, 2, 1.5).is_err());
        assert!(Exponential::new(0.1, 0.0).is_err());
        assert!(Exponential::new(f32::NAN, 0.5).is_err());
        assert!(Cosine::new(0.1, 0.2, 10).is_err());
        assert!(Cosine::new(0.1, 0.0, 0).is_err());
        assert!(ReduceOnPlateau::new(PlateauConfig { factor: 1.0, ..Default::default() }).is_err());
        assert!(ReduceOnPlateau::new(PlateauConfig { threshold: -1.0, ..Default::default() }).is_err());
        assert!(ReduceOnPlateau::new(PlateauConfig { min_lr: 1.0, ..Default::default() }).is_err());
    }

    #[test]
    fn boxed_schedules_compose() {
        let inner: Box<dyn Schedule> = Box::new(Constant::new(0.6).unwrap());
        assert_close(&rates(WarmUp::new(2, inner), 3), &[0.2, 0.4, 0.6]);
    }
}
