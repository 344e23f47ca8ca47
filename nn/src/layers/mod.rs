//! The built-in layers: dense ([`Linear`]), convolution ([`Conv2d`]), pooling ([`MaxPool2d`],
//! [`AvgPool2d`]), [`Flatten`], [`Dropout`] and batch normalisation ([`BatchNorm1d`],
//! [`BatchNorm2d`]); and beyond chains, the residual block ([`Residual`]) with [`GlobalAvgPool`]
//! and the zero-padding shortcut [`ChannelPad`]. Activations as layers live in `activation.rs`.

mod batchnorm;
mod conv;
mod dropout;
mod flatten;
mod linear;
mod pool;
mod residual;

pub use batchnorm::{BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormConfig};
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use linear::{Linear, LinearConfig};
pub use pool::{AvgPool2d, MaxPool2d};
pub use residual::{ChannelPad, GlobalAvgPool, Residual};
