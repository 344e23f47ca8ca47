//! Learning-rate schedules by name: [`ScheduleSpec`], the text form recipes and flags use
//! (`constant`, `step:10,0.5`, `exp:0.95`, `cosine:1e-5`, `plateau:0.5,3`), with a linear
//! warm-up of a number of steps in front of any of them. [`ScheduleSpec::build`] turns one into a
//! boxed [`Schedule`] for a base rate and a run length.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::OptimError;
use crate::schedule::{
    Constant, Cosine, Exponential, PlateauConfig, PlateauMode, ReduceOnPlateau, Schedule, StepDecay, WarmUp,
};

/// A learning-rate schedule as settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ScheduleSpec {
    /// The base rate throughout.
    Constant,
    /// `step:EVERY,GAMMA`: the rate multiplied by γ every `every` steps.
    Step {
        /// Steps between decays.
        every: usize,
        /// The factor.
        gamma: f32,
    },
    /// `exp:GAMMA`: the rate multiplied by γ every step.
    Exponential {
        /// The factor.
        gamma: f32,
    },
    /// `cosine[:MIN_LR]`: half a cosine from the base rate down to `min_lr` over the run.
    Cosine {
        /// The rate at the end.
        min_lr: f32,
    },
    /// `plateau[:FACTOR[,PATIENCE]]`: the rate multiplied by `factor` when the watched loss has
    /// not improved for `patience` steps.
    Plateau {
        /// The factor.
        factor: f32,
        /// Steps without improvement before a cut.
        patience: usize,
    },
}

/// What [`ScheduleSpec`] accepts, for help texts and errors.
pub const SCHEDULE_FORMS: &str =
    "constant, step:EVERY,GAMMA, exp:GAMMA, cosine[:MIN_LR] or plateau[:FACTOR[,PATIENCE]]";

impl ScheduleSpec {
    /// The schedule for base rate `lr` over a run of `steps` steps (the cosine's period), after
    /// `warmup` steps of linear warm-up.
    ///
    /// # Errors
    /// [`OptimError::InvalidSetting`] for a setting out of range (a γ outside (0, 1], a
    /// minimum rate above the base rate).
    pub fn build(self, lr: f32, steps: usize, warmup: usize) -> Result<Box<dyn Schedule>, OptimError> {
        let after = steps.saturating_sub(warmup).max(1);
        Ok(match self {
            ScheduleSpec::Constant => Box::new(WarmUp::new(warmup, Constant::new(lr)?)),
            ScheduleSpec::Step { every, gamma } => Box::new(WarmUp::new(warmup, StepDecay::new(lr, every, gamma)?)),
            ScheduleSpec::Exponential { gamma } => Box::new(WarmUp::new(warmup, Exponential::new(lr, gamma)?)),
            ScheduleSpec::Cosine { min_lr } => Box::new(WarmUp::new(warmup, Cosine::new(lr, min_lr, after)?)),
            ScheduleSpec::Plateau { factor, patience } => {
                let config = PlateauConfig { lr, factor, patience, mode: PlateauMode::Min, ..PlateauConfig::default() };
                Box::new(WarmUp::new(warmup, ReduceOnPlateau::new(config)?))
            }
        })
    }
}

impl std::str::FromStr for ScheduleSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<ScheduleSpec, String> {
        let (name, args) = match text.trim().split_once(':') {
            Some((name, args)) => (name.trim(), args.split(',').map(str::trim).collect::<Vec<_>>()),
            None => (text.trim(), Vec::new()),
        };
        let bad = || format!("schedule `{text}`: expected {SCHEDULE_FORMS}");
        let number = |i: usize, default: f32| -> Result<f32, String> {
            match args.get(i) {
                None => Ok(default),
                Some(v) => v.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(bad),
            }
        };
        let count = |i: usize, default: usize| -> Result<usize, String> {
            match args.get(i) {
                None => Ok(default),
                Some(v) => v.parse::<usize>().map_err(|_| bad()),
            }
        };
        let arity = |n: usize| if args.len() > n { Err(bad()) } else { Ok(()) };
        let spec = match name {
            "constant" => {
                arity(0)?;
                ScheduleSpec::Constant
            }
            "step" => {
                arity(2)?;
                ScheduleSpec::Step { every: count(0, 10)?, gamma: number(1, 0.1)? }
            }
            "exp" => {
                arity(1)?;
                ScheduleSpec::Exponential { gamma: number(0, 0.95)? }
            }
            "cosine" => {
                arity(1)?;
                ScheduleSpec::Cosine { min_lr: number(0, 0.0)? }
            }
            "plateau" => {
                arity(2)?;
                ScheduleSpec::Plateau { factor: number(0, 0.1)?, patience: count(1, 5)? }
            }
            _ => return Err(bad()),
        };
        Ok(spec)
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleSpec::Constant => write!(f, "constant"),
            ScheduleSpec::Step { every, gamma } => write!(f, "step:{every},{gamma}"),
            ScheduleSpec::Exponential { gamma } => write!(f, "exp:{gamma}"),
            ScheduleSpec::Cosine { min_lr } => write!(f, "cosine:{min_lr}"),
            ScheduleSpec::Plateau { factor, patience } => write!(f, "plateau:{factor},{patience}"),
        }
    }
}

neurite_core::text_form_serde!(ScheduleSpec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_print_and_round_trip() {
        for text in ["constant", "step:5,0.5", "exp:0.9", "cosine:0.0001", "plateau:0.5,3"] {
            let spec: ScheduleSpec = text.parse().expect("parses");
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!("step".parse(), Ok(ScheduleSpec::Step { every: 10, gamma: 0.1 }));
        assert_eq!("cosine".parse(), Ok(ScheduleSpec::Cosine { min_lr: 0.0 }));
        let err = "linear:3".parse::<ScheduleSpec>().unwrap_err();
        assert!(err.starts_with("schedule `linear:3`: expected constant, step:EVERY,GAMMA"), "{err}");
        assert!("step:1,2,3".parse::<ScheduleSpec>().is_err() && "exp:x".parse::<ScheduleSpec>().is_err());
    }

    #[test]
    fn built_schedules_give_the_rates_their_formulas_say() {
        let rates = |spec: &str, warmup: usize| {
            let mut s = spec.parse::<ScheduleSpec>().expect("parses").build(0.1, 10, warmup).expect("valid");
            (0..6).map(|t| s.lr(t, Some(1.0))).collect::<Vec<f32>>()
        };
        assert_eq!(rates("constant", 0), [0.1; 6]);
        // 0.1·0.5^⌊t/2⌋
        assert_eq!(rates("step:2,0.5", 0), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]);
        // Two warm-up steps climb to 0.1 (0.1·1/3, 0.1·2/3), then the schedule starts afresh.
        let warm = rates("step:2,0.5", 2);
        assert!((warm[0] - 0.1 / 3.0).abs() < 1e-7 && (warm[1] - 0.2 / 3.0).abs() < 1e-7, "{warm:?}");
        assert_eq!(&warm[2..], [0.1, 0.1, 0.05, 0.05]);
        assert!("exp:2".parse::<ScheduleSpec>().expect("parses").build(0.1, 10, 0).is_err());
    }
}
