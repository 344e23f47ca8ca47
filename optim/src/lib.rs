//! Optimizers for Neurite: gradient descent, SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam and
//! AdamW, with learning-rate schedules and gradient clipping, generic over `B: Backend`.
//!
//! This crate is a placeholder in the workspace; issue #5 ("optim: GD, SGD, Momentum, …") fills it.
//! Parameters are `Tensor`s made with `require_grad`; an optimizer reads their gradients from the
//! `Gradients` store that `backward` returns and writes new values with `Tensor::set_data`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use neurite_core as core;
