//! Optimizers for Neurite, generic over `B: Backend`: gradient descent (full-batch or
//! mini-batch, the loader decides), Momentum, Nesterov, AdaGrad, RMSProp, Adam and AdamW, each
//! with optional coupled weight decay; learning-rate schedules; gradient clipping; and the
//! course's comparison of optimizers on a ravine.
//!
//! Parameters are `(path, tensor)` pairs, as models give them (`params_mut()`); an optimizer reads
//! each one's gradient from the `Gradients` that `backward` returned and rewrites the parameter in
//! one fused pass over its buffer (`Tensor::update_data`), with its state in plain `Vec<f32>`s keyed
//! by path. That state is serde data (`OptimizerState`) and restores bit-exactly. A new optimizer
//! implements [`Optimizer`] in its own crate; [`fused_update`] and [`BufferStore`] are there to
//! help.
//!
//! ```
//! use neurite_core::{Tensor, reference::ReferenceBackend as R};
//! use neurite_optim::{Adam, AdamConfig, Optimizer};
//!
//! // Minimise (w − 3)² from w = 0.
//! let mut w = Tensor::<R>::scalar(0.0).require_grad();
//! let mut adam = Adam::new(AdamConfig { lr: 0.1, ..Default::default() })?;
//! for _ in 0..200 {
//!     let grads = w.sub_scalar(3.0).square().backward();
//!     adam.step(&mut [("w".to_string(), &mut w)], &grads);
//! }
//! assert!((w.item() - 3.0).abs() < 0.05);
//! # Ok::<(), neurite_optim::OptimError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod adagrad;
mod adam;
mod clip;
mod config;
pub mod course;
mod error;
mod momentum;
mod optimizer;
mod rmsprop;
pub mod schedule;
mod schedule_spec;
mod sgd;

pub use neurite_core as core;

pub use adagrad::{AdaGrad, AdaGradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use clip::{Clipped, GradClip, clip_grad_norm, clip_grad_value, global_grad_norm};
pub use config::{OptimizerConfig, OptimizerKind};
pub use error::{
    OptimError, check_at_most, check_count, check_decay_factor, check_learning_rate, check_non_negative,
    check_positive, check_shrink_factor, check_unit_interval,
};
pub use momentum::{Momentum, MomentumConfig};
pub use optimizer::{BufferStore, Optimizer, OptimizerState, ParamState, Slot, fused_update};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{
    Constant, Cosine, Exponential, PlateauConfig, PlateauMode, ReduceOnPlateau, Schedule, StepDecay, WarmUp,
};
pub use schedule_spec::{SCHEDULE_FORMS, ScheduleSpec};
pub use sgd::{Sgd, SgdConfig};
