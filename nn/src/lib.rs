//! Neural-network building blocks for Neurite, generic over `B: Backend`: the [`Module`] trait
//! and [`Sequential`]; layers ([`Linear`], [`Conv2d`], [`MaxPool2d`], [`AvgPool2d`], [`Flatten`],
//! [`Dropout`], [`BatchNorm1d`], [`BatchNorm2d`], the residual block [`Residual`] and
//! [`GlobalAvgPool`]); activations as functions and as a layer
//! ([`Activation`]); the course's MLP and CNN ready-made ([`models`]); losses ([`loss`]); initializers ([`Init`]); L1/L2 penalties
//! ([`regularization`]); checkpoints ([`checkpoint`]) and safetensors interchange
//! ([`interchange`]); and MNIST data loading ([`data`]). Tensor ops and their gradients are
//! `neurite-core`'s; optimizers are `neurite-optim`'s.
//!
//! ```
//! # fn demo<B: neurite_core::Backend>() {
//! use neurite_core::{Rng, Tensor};
//! use neurite_nn::{Activation, Init, LinearConfig, Module, Sequential, loss};
//!
//! let mut rng = Rng::seed(7);
//! let model = Sequential::<B>::new()
//!     .with(LinearConfig::new(4, 8).with_init(Init::He).init::<B>(&mut rng))
//!     .with(Activation::Relu)
//!     .with(LinearConfig::new(8, 3).init::<B>(&mut rng));
//! let x = Tensor::<B>::randn([5, 4], 0.0, 1.0, &mut rng);
//! let labels = Tensor::<B>::from_vec(vec![0.0, 1.0, 2.0, 1.0, 0.0], [5]);
//! let grads = loss::cross_entropy(&model.forward(&x), &labels).backward();
//! assert!(model.params().iter().all(|(_, p)| grads.get(p).is_some()));
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
pub mod checkpoint;
mod codec;
pub mod data;
pub mod footprint;
pub mod infer;
pub mod init;
pub mod interchange;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod models;
pub mod module;
pub mod registry;
pub mod regularization;
pub mod spec;
pub mod state;

pub use activation::Activation;
pub use checkpoint::{Checkpoint, CheckpointError, load_model, save_model};
pub use footprint::{Budget, Footprint};
pub use init::Init;
pub use interchange::{Imported, InterchangeError, export_safetensors, import_safetensors};
pub use layers::{
    AvgPool2d, BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormConfig, ChannelPad, Conv2d, Conv2dConfig, Dropout,
    Flatten, GlobalAvgPool, Linear, LinearConfig, MaxPool2d, Residual,
};
pub use module::{Module, Sequential, Summary, SummaryRow};
pub use spec::{LayerSpec, SpecError, build_sequential};
pub use state::StateError;

pub use neurite_core as core;
