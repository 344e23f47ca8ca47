//! Architectures as data: [`LayerSpec`] names a layer's type and settings, so a checkpoint can
//! check that it is loaded into the same network, an export can tell PyTorch how to rebuild it,
//! and [`build_sequential`] can rebuild a [`Sequential`] of built-in layers from the list alone.
//! The JSON form (`{"type": "Linear", "in_features": 784, ...}`) uses PyTorch's argument names.

use std::fmt;

use neurite_core::{Backend, Rng, Stream};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::layers::{
    AvgPool2d, BatchNorm1d, BatchNorm2d, BatchNormConfig, ChannelPad, Conv2dConfig, Dropout, Flatten, GlobalAvgPool,
    LinearConfig, MaxPool2d, Residual,
};
use crate::module::{Module, Sequential};

/// Reads an f32 setting, refusing one that is not finite: JSON can spell `1e200`, which becomes
/// infinity as an f32 and could not be written back (JSON has no infinity or NaN).
fn finite_f32<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
    let value = f32::deserialize(deserializer)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!("setting {value} is out of range for f32")))
    }
}

/// One layer's type and settings, in the terms of the matching PyTorch module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LayerSpec {
    /// `nn.Linear(in_features, out_features, bias)`; weight `[out, in]`.
    Linear {
        /// Inputs per sample.
        in_features: usize,
        /// Outputs per sample.
        out_features: usize,
        /// Whether a bias is added.
        bias: bool,
    },
    /// `nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias)`; weight
    /// `[out, in, kh, kw]`.
    Conv2d {
        /// Input channels.
        in_channels: usize,
        /// Output channels (filters).
        out_channels: usize,
        /// Kernel height and width.
        kernel_size: [usize; 2],
        /// Vertical and horizontal stride.
        stride: [usize; 2],
        /// Zero padding on each side, vertically and horizontally.
        padding: [usize; 2],
        /// Whether a bias is added.
        bias: bool,
    },
    /// `nn.MaxPool2d(kernel_size, stride, padding)`.
    MaxPool2d {
        /// Window height and width.
        kernel_size: [usize; 2],
        /// Vertical and horizontal stride.
        stride: [usize; 2],
        /// Padding on each side.
        padding: [usize; 2],
    },
    /// `nn.AvgPool2d(kernel_size, stride, padding)` (padding counts as zeros, PyTorch's default).
    AvgPool2d {
        /// Window height and width.
        kernel_size: [usize; 2],
        /// Vertical and horizontal stride.
        stride: [usize; 2],
        /// Padding on each side.
        padding: [usize; 2],
    },
    /// `nn.Flatten()`: `[n, ...] → [n, rest]`.
    Flatten,
    /// `nn.Dropout(p)`.
    Dropout {
        /// Probability of dropping a unit.
        #[serde(deserialize_with = "finite_f32")]
        p: f32,
    },
    /// `nn.BatchNorm1d(num_features, eps, momentum)` on `[n, features]`.
    BatchNorm1d {
        /// Features (columns).
        num_features: usize,
        /// Added to the variance before the square root.
        #[serde(deserialize_with = "finite_f32")]
        eps: f32,
        /// Weight of the new batch in the running statistics.
        #[serde(deserialize_with = "finite_f32")]
        momentum: f32,
    },
    /// `nn.BatchNorm2d(num_features, eps, momentum)` on `[n, channels, h, w]`.
    BatchNorm2d {
        /// Channels.
        num_features: usize,
        /// Added to the variance before the square root.
        #[serde(deserialize_with = "finite_f32")]
        eps: f32,
        /// Weight of the new batch in the running statistics.
        #[serde(deserialize_with = "finite_f32")]
        momentum: f32,
    },
    /// `nn.ReLU()`.
    ReLU,
    /// `nn.Sigmoid()`.
    Sigmoid,
    /// `nn.Tanh()`.
    Tanh,
    /// `nn.LeakyReLU(negative_slope)`.
    LeakyReLU {
        /// Slope for negative inputs.
        #[serde(deserialize_with = "finite_f32")]
        negative_slope: f32,
    },
    /// `nn.ELU(alpha)`.
    ELU {
        /// Scale of the negative branch.
        #[serde(deserialize_with = "finite_f32")]
        alpha: f32,
    },
    /// `nn.GELU(approximate="tanh")`.
    GELU,
    /// `nn.Softmax(dim)`.
    Softmax {
        /// The axis that sums to one.
        dim: usize,
    },
    /// A nested `nn.Sequential`.
    Sequential {
        /// Its layers, in order.
        layers: Vec<LayerSpec>,
    },
    /// A residual block, `activation(body(x) + shortcut(x))` (He et al. 2016); tensors are named
    /// `body.{i}.…` and `shortcut.{i}.…`.
    Residual {
        /// The residual branch, in order.
        body: Vec<LayerSpec>,
        /// The shortcut branch; empty for the identity.
        #[serde(default)]
        shortcut: Vec<LayerSpec>,
        /// The activation applied to the sum (`ReLU` in He et al.), if any.
        #[serde(default)]
        activation: Option<Box<LayerSpec>>,
    },
    /// The mean of each channel: `[n, c, h, w] → [n, c]` (`nn.AdaptiveAvgPool2d(1)` then
    /// `nn.Flatten()`).
    GlobalAvgPool,
    /// He et al.'s shortcut option A: `x[:, :, ::s, ::s]` with `before` and `after` channels of
    /// zeros added (`F.pad` on the channel axis).
    ChannelPad {
        /// Vertical and horizontal subsampling.
        stride: [usize; 2],
        /// Zero channels before the input's.
        before: usize,
        /// Zero channels after the input's.
        after: usize,
    },
    /// A layer defined outside this crate: its name and whatever settings it reports.
    Custom {
        /// The layer's name (`Swish`).
        name: String,
        /// Its settings, as JSON.
        settings: serde_json::Value,
    },
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerSpec::Linear { in_features, out_features, bias } => {
                write!(f, "Linear(in={in_features}, out={out_features}")?;
                if !bias {
                    write!(f, ", bias=false")?;
                }
                write!(f, ")")
            }
            LayerSpec::Conv2d { in_channels, out_channels, kernel_size, stride, padding, bias } => {
                write!(
                    f,
                    "Conv2d(in={in_channels}, out={out_channels}, kernel={}x{}, stride={}x{}, padding={}x{}",
                    kernel_size[0], kernel_size[1], stride[0], stride[1], padding[0], padding[1]
                )?;
                if !bias {
                    write!(f, ", bias=false")?;
                }
                write!(f, ")")
            }
            LayerSpec::MaxPool2d { kernel_size, stride, padding }
            | LayerSpec::AvgPool2d { kernel_size, stride, padding } => {
                let name = if matches!(self, LayerSpec::MaxPool2d { .. }) { "MaxPool2d" } else { "AvgPool2d" };
                write!(
                    f,
                    "{name}(kernel={}x{}, stride={}x{}, padding={}x{})",
                    kernel_size[0], kernel_size[1], stride[0], stride[1], padding[0], padding[1]
                )
            }
            LayerSpec::Flatten => write!(f, "Flatten"),
            LayerSpec::Dropout { p } => write!(f, "Dropout(p={p})"),
            LayerSpec::BatchNorm1d { num_features, eps, momentum } => {
                write!(f, "BatchNorm1d({num_features}, eps={eps}, momentum={momentum})")
            }
            LayerSpec::BatchNorm2d { num_features, eps, momentum } => {
                write!(f, "BatchNorm2d({num_features}, eps={eps}, momentum={momentum})")
            }
            LayerSpec::ReLU => write!(f, "ReLU"),
            LayerSpec::Sigmoid => write!(f, "Sigmoid"),
            LayerSpec::Tanh => write!(f, "Tanh"),
            LayerSpec::LeakyReLU { negative_slope } => write!(f, "LeakyReLU({negative_slope})"),
            LayerSpec::ELU { alpha } => write!(f, "ELU({alpha})"),
            LayerSpec::GELU => write!(f, "GELU(tanh)"),
            LayerSpec::Softmax { dim } => write!(f, "Softmax(dim={dim})"),
            LayerSpec::Sequential { layers } => write!(f, "Sequential({} layers)", layers.len()),
            LayerSpec::Residual { shortcut, activation, .. } => {
                write!(f, "Residual(shortcut=")?;
                match shortcut.as_slice() {
                    [] => write!(f, "identity")?,
                    [LayerSpec::ChannelPad { .. }] => write!(f, "zero-pad")?,
                    layers => write!(f, "{} layers", layers.len())?,
                }
                match activation {
                    Some(a) => write!(f, ", then {a})"),
                    None => write!(f, ")"),
                }
            }
            LayerSpec::GlobalAvgPool => write!(f, "GlobalAvgPool"),
            LayerSpec::ChannelPad { stride, before, after } => {
                write!(f, "ChannelPad(stride={}x{}, zeros={before}+{after})", stride[0], stride[1])
            }
            LayerSpec::Custom { name, settings } => {
                if settings.is_null() {
                    write!(f, "{name}")
                } else {
                    write!(f, "{name}({settings})")
                }
            }
        }
    }
}

/// A layer list that cannot be turned into layers.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    /// A custom layer that no crate registered (see [`crate::registry`]): only its own crate
    /// knows how to build it.
    #[error(
        "layer {index}: cannot build custom layer `{name}` from its description (this program has not registered it)"
    )]
    CustomLayer {
        /// Position in the list.
        index: usize,
        /// The custom layer's name.
        name: String,
    },
    /// A setting out of range (a zero size, a dropout probability outside [0, 1]).
    #[error("layer {index}: invalid settings for {layer}: {reason}")]
    InvalidSettings {
        /// Position in the list.
        index: usize,
        /// The layer, as displayed.
        layer: String,
        /// What is wrong.
        reason: String,
    },
    /// A layer that does not fit the output of the layer before it (or the network's input).
    #[error("layer {index} ({layer}): input {input:?}: {reason}")]
    Shape {
        /// Its path (`3`, or `3.1` inside a nested `Sequential`).
        index: String,
        /// The layer, as displayed.
        layer: String,
        /// The shape it receives, batch dimension first.
        input: Vec<usize>,
        /// What does not fit.
        reason: String,
    },
    /// A network, batch or image that would need more memory than the budget allows.
    #[error("{what} needs {needed} of memory, more than the budget of {budget} (NEURITE_MEMORY_BUDGET sets another)")]
    OverBudget {
        /// What was checked.
        what: String,
        /// Bytes it needs.
        needed: crate::footprint::Bytes,
        /// The budget.
        budget: crate::footprint::Bytes,
    },
}

fn pair(a: [usize; 2]) -> (usize, usize) {
    (a[0], a[1])
}

fn invalid(index: usize, spec: &LayerSpec, reason: &str) -> SpecError {
    SpecError::InvalidSettings { index, layer: spec.to_string(), reason: reason.to_string() }
}

/// The number of f32 values in the parameters and buffers of the layers `architecture`
/// describes, computed from the descriptions alone; `None` if it overflows `usize`.
pub(crate) fn state_values(architecture: &[LayerSpec]) -> Option<usize> {
    let bias = |b: bool, n: usize| if b { n } else { 0 };
    architecture.iter().try_fold(0usize, |total, spec| {
        let values = match spec {
            LayerSpec::Linear { in_features, out_features, bias: b } => {
                in_features.checked_mul(*out_features)?.checked_add(bias(*b, *out_features))?
            }
            LayerSpec::Conv2d { in_channels, out_channels, kernel_size, bias: b, .. } => out_channels
                .checked_mul(*in_channels)?
                .checked_mul(kernel_size[0])?
                .checked_mul(kernel_size[1])?
                .checked_add(bias(*b, *out_channels))?,
            // γ, β, running mean and running variance.
            LayerSpec::BatchNorm1d { num_features, .. } | LayerSpec::BatchNorm2d { num_features, .. } => {
                num_features.checked_mul(4)?
            }
            LayerSpec::Sequential { layers } => state_values(layers)?,
            LayerSpec::Residual { body, shortcut, activation } => state_values(body)?
                .checked_add(state_values(shortcut)?)?
                .checked_add(state_values(activation.as_deref().map(std::slice::from_ref).unwrap_or_default())?)?,
            _ => 0,
        };
        total.checked_add(values)
    })
}

/// How deeply composite layers (`Sequential`, `Residual`) may nest. Long chains are fine at any
/// length; nesting is what the walks over a description recurse on, so it is bounded here, far
/// above any real network (a ResNet nests two deep).
pub const MAX_NESTING: usize = 32;

/// Checks that composite layers nest at most [`MAX_NESTING`] deep, without recursing.
///
/// # Errors
/// [`SpecError::InvalidSettings`] naming the limit.
pub fn check_nesting(architecture: &[LayerSpec]) -> Result<(), SpecError> {
    let mut pending: Vec<(&LayerSpec, usize)> = architecture.iter().map(|s| (s, 1)).collect();
    while let Some((spec, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &LayerSpec>> = match spec {
            LayerSpec::Sequential { layers } => Box::new(layers.iter()),
            LayerSpec::Residual { body, shortcut, activation } => {
                Box::new(body.iter().chain(shortcut.iter()).chain(activation.as_deref()))
            }
            _ => continue,
        };
        if depth >= MAX_NESTING {
            return Err(SpecError::InvalidSettings {
                index: 0,
                layer: spec.to_string(),
                reason: format!("blocks nest more than {MAX_NESTING} deep"),
            });
        }
        pending.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Checks, before anything is built, that the layers `architecture` describes hold no more
/// parameter and buffer values than `available`, the values a file supplies for them. Restoring
/// would fail anyway, and building first could allocate far more than the file justifies (a
/// 161-byte checkpoint can describe a 100 000 × 100 000 `Linear`).
///
/// # Errors
/// [`SpecError::InvalidSettings`] naming both counts.
pub(crate) fn check_state_fits(architecture: &[LayerSpec], available: usize) -> Result<(), SpecError> {
    check_nesting(architecture)?;
    match state_values(architecture) {
        Some(needed) if needed <= available => Ok(()),
        needed => Err(SpecError::InvalidSettings {
            index: 0,
            layer: LayerSpec::Sequential { layers: architecture.to_vec() }.to_string(),
            reason: match needed {
                Some(n) => format!("its parameters and buffers hold {n} values, the file only {available}"),
                None => "its parameters and buffers hold more values than memory can address".to_string(),
            },
        }),
    }
}

/// Checks settings that would make a layer constructor panic, so that descriptions read from
/// files fail with an error instead.
pub(crate) fn validate(index: usize, spec: &LayerSpec) -> Result<(), SpecError> {
    let positive = |v: &[usize]| v.iter().all(|&d| d > 0);
    match spec {
        LayerSpec::Linear { in_features, out_features, .. } if !positive(&[*in_features, *out_features]) => {
            Err(invalid(index, spec, "sizes must be positive"))
        }
        LayerSpec::Conv2d { in_channels, out_channels, kernel_size, stride, .. }
            if !positive(&[*in_channels, *out_channels]) || !positive(kernel_size) || !positive(stride) =>
        {
            Err(invalid(index, spec, "sizes and strides must be positive"))
        }
        LayerSpec::MaxPool2d { kernel_size, stride, padding }
        | LayerSpec::AvgPool2d { kernel_size, stride, padding }
            if !positive(kernel_size)
                || !positive(stride)
                || padding[0] > kernel_size[0] / 2
                || padding[1] > kernel_size[1] / 2 =>
        {
            Err(invalid(index, spec, "window and stride must be positive, padding at most half the window"))
        }
        LayerSpec::Dropout { p } if !(0.0..=1.0).contains(p) => Err(invalid(index, spec, "p must lie in [0, 1]")),
        LayerSpec::BatchNorm1d { num_features, eps, momentum }
        | LayerSpec::BatchNorm2d { num_features, eps, momentum }
            if *num_features == 0 || !(*eps > 0.0 && eps.is_finite()) || !(0.0..=1.0).contains(momentum) =>
        {
            Err(invalid(index, spec, "features must be positive, eps > 0 and momentum in [0, 1]"))
        }
        LayerSpec::LeakyReLU { negative_slope: v } | LayerSpec::ELU { alpha: v } if !v.is_finite() => {
            Err(invalid(index, spec, "the slope must be finite"))
        }
        LayerSpec::Residual { body, .. } if body.is_empty() => {
            Err(invalid(index, spec, "the body needs at least one layer"))
        }
        LayerSpec::Residual { activation: Some(activation), .. }
            if !matches!(
                **activation,
                LayerSpec::ReLU
                    | LayerSpec::Sigmoid
                    | LayerSpec::Tanh
                    | LayerSpec::LeakyReLU { .. }
                    | LayerSpec::ELU { .. }
                    | LayerSpec::GELU
            ) =>
        {
            Err(invalid(
                index,
                spec,
                "the activation after the sum must be ReLU, Sigmoid, Tanh, LeakyReLU, ELU or GELU",
            ))
        }
        LayerSpec::Residual { activation: Some(activation), .. } => validate(index, activation),
        LayerSpec::ChannelPad { stride, .. } if !positive(stride) => {
            Err(invalid(index, spec, "the stride must be positive"))
        }
        _ => Ok(()),
    }
}

/// Builds one built-in layer from its description. Parameters are initialised from `rng` with
/// each layer's default initializer (a checkpoint or import then overwrites them).
///
/// # Errors
/// [`SpecError`] for a custom layer or settings out of range.
pub fn build_layer<B: Backend>(index: usize, spec: &LayerSpec, rng: &mut Rng) -> Result<Box<dyn Module<B>>, SpecError> {
    validate(index, spec)?;
    let layer: Box<dyn Module<B>> = match spec {
        LayerSpec::Linear { in_features, out_features, bias } => {
            Box::new(LinearConfig::new(*in_features, *out_features).with_bias(*bias).init::<B>(rng))
        }
        LayerSpec::Conv2d { in_channels, out_channels, kernel_size, stride, padding, bias } => Box::new(
            Conv2dConfig::new(*in_channels, *out_channels, pair(*kernel_size))
                .with_stride(pair(*stride))
                .with_padding(pair(*padding))
                .with_bias(*bias)
                .init::<B>(rng),
        ),
        LayerSpec::MaxPool2d { kernel_size, stride, padding } => {
            Box::new(MaxPool2d::new(pair(*kernel_size)).with_stride(pair(*stride)).with_padding(pair(*padding)))
        }
        LayerSpec::AvgPool2d { kernel_size, stride, padding } => {
            Box::new(AvgPool2d::new(pair(*kernel_size)).with_stride(pair(*stride)).with_padding(pair(*padding)))
        }
        LayerSpec::Flatten => Box::new(Flatten),
        LayerSpec::Dropout { p } => Box::new(Dropout::with_rng(*p, rng.fork())),
        LayerSpec::BatchNorm1d { num_features, eps, momentum } => Box::new(BatchNorm1d::<B>::from_config(
            BatchNormConfig::new(*num_features).with_eps(*eps).with_momentum(*momentum),
        )),
        LayerSpec::BatchNorm2d { num_features, eps, momentum } => Box::new(BatchNorm2d::<B>::from_config(
            BatchNormConfig::new(*num_features).with_eps(*eps).with_momentum(*momentum),
        )),
        LayerSpec::ReLU => Box::new(Activation::Relu),
        LayerSpec::Sigmoid => Box::new(Activation::Sigmoid),
        LayerSpec::Tanh => Box::new(Activation::Tanh),
        LayerSpec::LeakyReLU { negative_slope } => Box::new(Activation::LeakyRelu(*negative_slope)),
        LayerSpec::ELU { alpha } => Box::new(Activation::Elu(*alpha)),
        LayerSpec::GELU => Box::new(Activation::Gelu),
        LayerSpec::Softmax { dim } => Box::new(Activation::Softmax(*dim)),
        LayerSpec::Sequential { layers } => Box::new(build_chain::<B>(layers, rng)?),
        LayerSpec::Residual { body, shortcut, activation } => {
            let body = build_chain(body, rng)?;
            let shortcut = build_chain(shortcut, rng)?;
            let activation = activation.as_deref().map(|a| build_layer(index, a, rng)).transpose()?;
            Box::new(Residual::new(body, shortcut, activation))
        }
        LayerSpec::GlobalAvgPool => Box::new(GlobalAvgPool),
        LayerSpec::ChannelPad { stride, before, after } => Box::new(ChannelPad::new(pair(*stride), *before, *after)),
        LayerSpec::Custom { name, settings } => match crate::registry::build_custom::<B>(name, settings) {
            Some(built) => built.map_err(|reason| invalid(index, spec, &reason))?,
            None => return Err(SpecError::CustomLayer { index, name: name.clone() }),
        },
    };
    Ok(layer)
}

/// Rebuilds a [`Sequential`] of built-in layers from its description, initialising parameters
/// from stream [`Stream::Init`] of `seed` (and dropout generators from it too).
///
/// # Errors
/// [`SpecError`] if a layer is custom or has settings out of range.
pub fn build_sequential<B: Backend>(architecture: &[LayerSpec], seed: u64) -> Result<Sequential<B>, SpecError> {
    build_chain(architecture, &mut Rng::stream(seed, Stream::Init))
}

/// The layers `architecture` describes, in order, as a [`Sequential`], drawing from `rng`.
fn build_chain<B: Backend>(architecture: &[LayerSpec], rng: &mut Rng) -> Result<Sequential<B>, SpecError> {
    let layers = architecture.iter().enumerate().map(|(i, spec)| build_layer(i, spec, rng));
    layers.collect::<Result<Vec<_>, _>>().map(Sequential::from_layers)
}
