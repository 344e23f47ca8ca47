//! [`OptimizerConfig`]: any of this crate's optimizers as settings, with its learning-rate
//! schedule and gradient clipping, as a settings file's `[optimizer]` table and the optimizer
//! flags of `neurite train` describe it. The learning rate is written once, here: the schedule
//! is built from it ([`OptimizerConfig::schedule`]), and the optimizer starts at it
//! ([`OptimizerConfig::init`]).

use std::fmt;

use neurite_core::Backend;
use serde::{Deserialize, Serialize};
use smart_default::SmartDefault;

use crate::error::OptimError;
use crate::schedule::Schedule;
use crate::{
    AdaGradConfig, AdamConfig, AdamWConfig, GradClip, MomentumConfig, Optimizer, RmsPropConfig, ScheduleSpec, SgdConfig,
};

/// Which optimizer an [`OptimizerConfig`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Plain gradient descent (`Sgd`).
    Sgd,
    /// Momentum (`Momentum`).
    Momentum,
    /// Nesterov momentum (`Momentum` with `nesterov`).
    Nesterov,
    /// AdaGrad (`AdaGrad`).
    Adagrad,
    /// RMSProp (`RmsProp`).
    Rmsprop,
    /// Adam (`Adam`).
    Adam,
    /// Adam with decoupled weight decay (`AdamW`).
    Adamw,
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "nesterov",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::Rmsprop => "rmsprop",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        })
    }
}

/// An optimizer, its learning-rate schedule and gradient clipping, as settings. Each optimizer
/// reads the settings it has (`momentum` is Momentum's and Nesterov's, `beta1`/`beta2` Adam's
/// and AdamW's) and leaves the others; the ones not listed take the optimizer's own defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SmartDefault)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct OptimizerConfig {
    /// Optimizer.
    #[serde(rename = "type")]
    #[default(OptimizerKind::Adam)]
    #[cfg_attr(feature = "clap", arg(long = "optimizer", id = "optimizer", value_name = "NAME"))]
    pub kind: OptimizerKind,
    /// Learning rate, the base rate of the schedule.
    #[default(1e-3)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub lr: f32,
    /// Learning-rate schedule by epoch: constant, step:EVERY,GAMMA, exp:GAMMA, cosine:MIN_LR or
    /// plateau:FACTOR,PATIENCE.
    #[default(ScheduleSpec::Constant)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "SPEC"))]
    pub schedule: ScheduleSpec,
    /// Epochs of linear warm-up before the schedule.
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub warmup: usize,
    /// Momentum γ of momentum and nesterov.
    #[default(0.9)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub momentum: f32,
    /// β₁ of adam and adamw.
    #[default(0.9)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub beta1: f32,
    /// β₂ of adam and adamw.
    #[default(0.999)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub beta2: f32,
    /// Weight decay λ (coupled; decoupled for adamw, whose default is 0.01; else 0).
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub weight_decay: Option<f32>,
    /// Clip the gradients' global norm to F before each update.
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub clip_norm: Option<f32>,
    /// Clip every gradient value to ±F before each update.
    #[cfg_attr(feature = "clap", arg(long, value_name = "F", allow_negative_numbers = true))]
    pub clip_value: Option<f32>,
}

impl OptimizerConfig {
    /// Checks every setting for a run of `epochs` epochs (the schedule's length), before anything
    /// is built.
    ///
    /// # Errors
    /// A one-line message naming the setting and what it accepts.
    pub fn check(&self, epochs: usize) -> Result<(), String> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr must be a positive number, got {}", self.lr));
        }
        for (name, v) in [("momentum", self.momentum), ("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                return Err(format!("{name} must be in [0, 1), got {v}"));
            }
        }
        if let Some(v) = self.weight_decay.filter(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(format!("weight-decay must be a non-negative number, got {v}"));
        }
        for (name, v) in [("clip-norm", self.clip_norm), ("clip-value", self.clip_value)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(format!("{name} must be a positive number, got {v}"));
            }
        }
        if self.clip_norm.is_some() && self.clip_value.is_some() {
            return Err("give clip-norm or clip-value, not both".into());
        }
        if self.warmup >= epochs.max(1) {
            return Err(format!("warmup {} must be fewer than epochs {epochs}", self.warmup));
        }
        self.schedule(epochs).map(|_| ()).map_err(|e| format!("schedule {}: {e}", self.schedule))
    }

    /// The optimizer, starting at rate `lr`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting out of range.
    pub fn init<B: Backend>(&self) -> Result<Box<dyn Optimizer<B>>, OptimError> {
        let OptimizerConfig { lr, momentum, beta1, beta2, .. } = *self;
        let decay = self.weight_decay.unwrap_or(0.0);
        Ok(match self.kind {
            OptimizerKind::Sgd => Box::new(SgdConfig { lr, weight_decay: decay }.init()?),
            OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                let nesterov = self.kind == OptimizerKind::Nesterov;
                Box::new(MomentumConfig { lr, momentum, nesterov, weight_decay: decay }.init()?)
            }
            OptimizerKind::Adagrad => Box::new(AdaGradConfig { lr, weight_decay: decay, ..Default::default() }.init()?),
            OptimizerKind::Rmsprop => Box::new(RmsPropConfig { lr, weight_decay: decay, ..Default::default() }.init()?),
            OptimizerKind::Adam => {
                Box::new(AdamConfig { lr, beta1, beta2, weight_decay: decay, ..Default::default() }.init()?)
            }
            OptimizerKind::Adamw => {
                let weight_decay = self.weight_decay.unwrap_or(AdamWConfig::default().weight_decay);
                Box::new(AdamWConfig { lr, beta1, beta2, weight_decay, ..Default::default() }.init()?)
            }
        })
    }

    /// The learning rate of every epoch of a run of `epochs` epochs: `warmup` epochs of linear
    /// warm-up to `lr`, then `schedule` from `lr`.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a schedule setting out of range.
    pub fn schedule(&self, epochs: usize) -> Result<Box<dyn Schedule>, OptimError> {
        self.schedule.build(self.lr, epochs, self.warmup)
    }

    /// The gradient clipping, if any.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a bound that is not a positive number.
    pub fn clip(&self) -> Result<Option<GradClip>, OptimError> {
        match (self.clip_norm, self.clip_value) {
            (Some(max), _) => GradClip::by_norm(max).map(Some),
            (None, Some(max)) => GradClip::by_value(max).map(Some),
            (None, None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_core::reference::ReferenceBackend as R;

    #[test]
    fn every_kind_builds_the_optimizer_it_names_at_the_configured_rate() {
        let kinds = [
            (OptimizerKind::Sgd, "sgd"),
            (OptimizerKind::Momentum, "momentum"),
            (OptimizerKind::Nesterov, "nesterov"),
            (OptimizerKind::Adagrad, "adagrad"),
            (OptimizerKind::Rmsprop, "rmsprop"),
            (OptimizerKind::Adam, "adam"),
            (OptimizerKind::Adamw, "adamw"),
        ];
        for (kind, name) in kinds {
            let config = OptimizerConfig { kind, lr: 0.05, ..Default::default() };
            let optimizer = config.init::<R>().expect("valid");
            assert_eq!((optimizer.name(), optimizer.learning_rate()), (name, 0.05));
            assert_eq!(kind.to_string(), name);
        }
    }

    #[test]
    fn the_schedule_starts_from_the_one_learning_rate() {
        let config = OptimizerConfig { lr: 0.1, schedule: "step:2,0.5".parse().expect("spec"), ..Default::default() };
        let mut schedule = config.schedule(10).expect("valid");
        let rates: Vec<f32> = (0..4).map(|t| schedule.lr(t, None)).collect();
        // 0.1·0.5^⌊t/2⌋
        assert_eq!(rates, [0.1, 0.1, 0.05, 0.05]);
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let check = |c: OptimizerConfig| c.check(20).unwrap_err();
        assert_eq!(check(OptimizerConfig { lr: -1.0, ..Default::default() }), "lr must be a positive number, got -1");
        assert_eq!(check(OptimizerConfig { beta2: 1.0, ..Default::default() }), "beta2 must be in [0, 1), got 1");
        assert_eq!(
            check(OptimizerConfig { warmup: 20, ..Default::default() }),
            "warmup 20 must be fewer than epochs 20"
        );
        let both = OptimizerConfig { clip_norm: Some(1.0), clip_value: Some(1.0), ..Default::default() };
        assert_eq!(check(both), "give clip-norm or clip-value, not both");
        let exp = OptimizerConfig { schedule: "exp:2".parse().expect("spec"), ..Default::default() };
        assert!(check(exp).starts_with("schedule exp:2: "));
        assert_eq!(OptimizerConfig::default().check(20), Ok(()));
    }
}
