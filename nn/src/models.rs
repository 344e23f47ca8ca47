//! The course's two networks as settings that build a [`Sequential`]: the fully connected
//! classifier ([`MlpConfig`]) and the small MNIST convolutional network ([`CnnConfig`]). The
//! command line, the course experiments, the benchmarks and the examples all build them here, so
//! they train the same network from the same seed.
//!
//! [`ModelConfig`] is the one description of a built-in model that settings files and flags
//! use: its kind and every setting of every kind, turned into an [`MlpConfig`] or a [`CnnConfig`]
//! once the input size and the number of classes are known (from the data).
//!
//! Weights are drawn from stream [`Stream::Init`] of the seed, layer by layer in order; each
//! dropout layer gets its own generator forked, in order, from stream [`Stream::Dropout`].

use std::fmt;
use std::str::FromStr;

use neurite_core::{Backend, Rng, Stream};
use serde::{Deserialize, Serialize};
use smart_default::SmartDefault;

use crate::activation::Activation;
use crate::init::Init;
use crate::layers::{BatchNormConfig, Conv2dConfig, Dropout, Flatten, LinearConfig, MaxPool2d, Residual};
use crate::module::{Module, Sequential};
use crate::spec::LayerSpec;

/// A fully connected classifier: flatten, then for each hidden width a linear layer, batch norm
/// (if asked), the activation and dropout (if asked); then a linear layer to the classes. Every
/// linear layer, the last included, draws its weight from `init` and starts with a zero bias.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() {
/// use neurite_nn::{Module, models::MlpConfig};
/// // The course's 784-512-256-10 ReLU network, He init, dropout 0.2.
/// let mlp = MlpConfig::new(784, &[512, 256], 10).with_dropout(0.2).init::<B>(1);
/// assert_eq!(mlp.num_params(), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MlpConfig {
    /// Input features per sample (a `[n, c, h, w]` input is flattened to `c·h·w`).
    pub inputs: usize,
    /// Widths of the hidden layers (none: a linear classifier, softmax regression).
    pub hidden: Vec<usize>,
    /// Outputs: one score per class.
    pub classes: usize,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The weight initializer of every linear layer.
    pub init: Init,
    /// Batch norm between each hidden linear layer and its activation.
    pub batch_norm: bool,
    /// Dropout probability after each hidden activation (0 = no dropout layer).
    pub dropout: f32,
    /// Dropout probability on the input features, before the first linear layer (0 = none;
    /// Srivastava et al. 2014 drop 20 % of MNIST's pixels and 50 % of the hidden units).
    pub input_dropout: f32,
    /// An activation after the last layer (none for a classifier trained on scores; sigmoid for
    /// the course's networks trained with MSE on probabilities).
    pub output: Option<Activation>,
}

impl MlpConfig {
    /// `inputs → hidden… → classes` with ReLU and He initialization, no batch norm, no dropout.
    pub fn new(inputs: usize, hidden: &[usize], classes: usize) -> Self {
        MlpConfig {
            inputs,
            hidden: hidden.to_vec(),
            classes,
            activation: Activation::Relu,
            init: Init::He,
            batch_norm: false,
            dropout: 0.0,
            input_dropout: 0.0,
            output: None,
        }
    }

    /// The course's XOR network: 2 → `hidden` → 1, sigmoid units throughout (the output too),
    /// weights randn/√n_in (the course's "Xavier"), biases zero.
    pub fn xor(hidden: usize) -> Self {
        MlpConfig::new(2, &[hidden], 1)
            .with_activation(Activation::Sigmoid)
            .with_init(Init::Xavier)
            .with_output(Activation::Sigmoid)
    }

    /// Sets the hidden activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the weight initializer.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Adds batch norm to every hidden block.
    pub fn with_batch_norm(mut self, batch_norm: bool) -> Self {
        self.batch_norm = batch_norm;
        self
    }

    /// Adds dropout with probability `p` after every hidden activation.
    pub fn with_dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }

    /// Adds dropout with probability `p` on the input features.
    pub fn with_input_dropout(mut self, p: f32) -> Self {
        self.input_dropout = p;
        self
    }

    /// Puts `activation` after the last layer.
    pub fn with_output(mut self, activation: Activation) -> Self {
        self.output = Some(activation);
        self
    }

    /// The layers [`MlpConfig::init`] builds, as data: what a caller checks (shapes, memory)
    /// before building.
    pub fn architecture(&self) -> Vec<LayerSpec> {
        let mut layers = vec![LayerSpec::Flatten];
        if self.input_dropout > 0.0 {
            layers.push(LayerSpec::Dropout { p: self.input_dropout });
        }
        let mut width = self.inputs;
        for &hidden in &self.hidden {
            layers.push(LayerSpec::Linear { in_features: width, out_features: hidden, bias: true });
            if self.batch_norm {
                let BatchNormConfig { num_features, eps, momentum } = BatchNormConfig::new(hidden);
                layers.push(LayerSpec::BatchNorm1d { num_features, eps, momentum });
            }
            layers.push(self.activation.layer_spec());
            if self.dropout > 0.0 {
                layers.push(LayerSpec::Dropout { p: self.dropout });
            }
            width = hidden;
        }
        layers.push(LayerSpec::Linear { in_features: width, out_features: self.classes, bias: true });
        layers.extend(self.output.map(Activation::layer_spec));
        layers
    }

    /// Builds the network, its weights drawn from `seed`. Parameters are named
    /// `layers.{i}.weight` and `layers.{i}.bias`, `layers.0` being the flatten.
    ///
    /// # Panics
    /// If a size is zero or the dropout probability is outside [0, 1].
    pub fn init<B: Backend>(&self, seed: u64) -> Sequential<B> {
        let mut rng = Rng::stream(seed, Stream::Init);
        let mut dropout_rng = Rng::stream(seed, Stream::Dropout);
        let mut model = Sequential::new().with(Flatten);
        if self.input_dropout > 0.0 {
            model.push(Box::new(Dropout::with_rng(self.input_dropout, dropout_rng.fork())));
        }
        let mut width = self.inputs;
        for &hidden in &self.hidden {
            model.push(Box::new(LinearConfig::new(width, hidden).with_init(self.init).init::<B>(&mut rng)));
            if self.batch_norm {
                model.push(Box::new(BatchNormConfig::new(hidden).init_1d::<B>()));
            }
            model.push(Box::new(self.activation));
            if self.dropout > 0.0 {
                model.push(Box::new(Dropout::with_rng(self.dropout, dropout_rng.fork())));
            }
            width = hidden;
        }
        model.push(Box::new(LinearConfig::new(width, self.classes).with_init(self.init).init::<B>(&mut rng)));
        if let Some(output) = self.output {
            model.push(Box::new(output));
        }
        model
    }
}

/// A convolutional classifier: `filters.len()` blocks, each of `convs_per_block` convolutions
/// (`kernel`×`kernel`, padded to keep the size, each followed by batch norm if asked and the
/// activation) and a 2×2 max-pool; flatten; for each `dense` width dropout (if asked), a linear
/// layer, batch norm (if asked) and the activation; dropout (if asked); a linear layer to the
/// classes. Every weight is drawn from `init`.
///
/// [`CnnConfig::new`] is the course's MNIST network: blocks of 16 and 32 filters of 5×5, one
/// convolution each, no dense layer, so 28×28 digits end in a 1568 → 10 classifier.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() {
/// use neurite_nn::{Module, models::CnnConfig};
/// // Two blocks of two 3×3 convolutions (32, then 64 filters) and a dense layer of 128.
/// let cnn = CnnConfig::new([1, 28, 28], 10).with_filters(&[32, 64], 2, 3).with_dense(&[128]);
/// let net = cnn.init::<B>(1).expect("28×28 fits two poolings");
/// assert_eq!(net.output_shape(&[5, 1, 28, 28]), vec![5, 10]);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CnnConfig {
    /// Input channels (1 for grey images).
    pub channels: usize,
    /// Input height (at least 2 per block: each pooling halves it).
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Outputs: one score per class.
    pub classes: usize,
    /// Filters of each block's convolutions, one entry per block.
    pub filters: Vec<usize>,
    /// Convolutions in each block, before its pooling.
    pub convs_per_block: usize,
    /// Side of every convolution kernel (odd).
    pub kernel: usize,
    /// Widths of the fully connected hidden layers before the classifier.
    pub dense: Vec<usize>,
    /// The activation after each convolution and dense layer.
    pub activation: Activation,
    /// The weight initializer of every layer.
    pub init: Init,
    /// Batch norm after each convolution and dense layer.
    pub batch_norm: bool,
    /// Dropout probability before each linear layer (0 = no dropout layer).
    pub dropout: f32,
}

impl CnnConfig {
    /// The course's CNN for `[channels, height, width]` images and `classes` outputs: blocks of
    /// 16 and 32 filters of 5×5, ReLU and He initialization, no batch norm, no dropout.
    pub fn new(input: [usize; 3], classes: usize) -> Self {
        let [channels, height, width] = input;
        CnnConfig {
            channels,
            height,
            width,
            classes,
            filters: vec![16, 32],
            convs_per_block: 1,
            kernel: 5,
            dense: Vec::new(),
            activation: Activation::Relu,
            init: Init::He,
            batch_norm: false,
            dropout: 0.0,
        }
    }

    /// Sets the blocks: one per entry of `filters`, each of `convs_per_block` convolutions of
    /// `kernel`×`kernel`.
    pub fn with_filters(mut self, filters: &[usize], convs_per_block: usize, kernel: usize) -> Self {
        self.filters = filters.to_vec();
        self.convs_per_block = convs_per_block;
        self.kernel = kernel;
        self
    }

    /// Sets the fully connected hidden layers before the classifier.
    pub fn with_dense(mut self, widths: &[usize]) -> Self {
        self.dense = widths.to_vec();
        self
    }

    /// Sets the activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the weight initializer.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Adds batch norm after each convolution and dense layer.
    pub fn with_batch_norm(mut self, batch_norm: bool) -> Self {
        self.batch_norm = batch_norm;
        self
    }

    /// Adds dropout with probability `p` before each linear layer.
    pub fn with_dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }

    /// Whether the settings describe a network that can be built: at least one block, no zero
    /// width, an odd kernel, and images large enough for every pooling.
    ///
    /// # Errors
    /// A message naming the first setting that does not work.
    pub fn check(&self) -> Result<(), String> {
        if self.filters.is_empty() || self.filters.contains(&0) || self.convs_per_block == 0 {
            return Err("the CNN needs at least one block, one convolution per block and no block of 0 filters".into());
        }
        if self.kernel.is_multiple_of(2) {
            return Err(format!("the kernel side must be odd (it is padded to keep the size), got {}", self.kernel));
        }
        if self.dense.contains(&0) {
            return Err("a dense layer of width 0".into());
        }
        let blocks = self.filters.len();
        let side = if blocks < usize::BITS as usize { 1usize << blocks } else { usize::MAX };
        if self.height < side || self.width < side {
            return Err(format!(
                "the CNN needs images of at least {side}×{side} pixels ({blocks} poolings halve the side), got {}×{}",
                self.width, self.height
            ));
        }
        Ok(())
    }

    /// The layers [`CnnConfig::init`] builds, as data: what a caller checks (shapes, memory)
    /// before building, and what [`CnnConfig::init`] builds from.
    pub fn architecture(&self) -> Vec<LayerSpec> {
        let mut layers = Vec::new();
        let mut channels = self.channels;
        let (mut height, mut width) = (self.height, self.width);
        let norm = |n: usize, two_d: bool| {
            let BatchNormConfig { num_features, eps, momentum } = BatchNormConfig::new(n);
            if two_d {
                LayerSpec::BatchNorm2d { num_features, eps, momentum }
            } else {
                LayerSpec::BatchNorm1d { num_features, eps, momentum }
            }
        };
        for &filters in &self.filters {
            for _ in 0..self.convs_per_block {
                layers.push(LayerSpec::Conv2d {
                    in_channels: channels,
                    out_channels: filters,
                    kernel_size: [self.kernel, self.kernel],
                    stride: [1, 1],
                    padding: [self.kernel / 2, self.kernel / 2],
                    bias: true,
                });
                if self.batch_norm {
                    layers.push(norm(filters, true));
                }
                layers.push(self.activation.layer_spec());
                channels = filters;
            }
            layers.push(LayerSpec::MaxPool2d { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] });
            (height, width) = (height / 2, width / 2);
        }
        layers.push(LayerSpec::Flatten);
        let mut features = channels.saturating_mul(height).saturating_mul(width);
        for &dense in &self.dense {
            if self.dropout > 0.0 {
                layers.push(LayerSpec::Dropout { p: self.dropout });
            }
            layers.push(LayerSpec::Linear { in_features: features, out_features: dense, bias: true });
            if self.batch_norm {
                layers.push(norm(dense, false));
            }
            layers.push(self.activation.layer_spec());
            features = dense;
        }
        if self.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { p: self.dropout });
        }
        layers.push(LayerSpec::Linear { in_features: features, out_features: self.classes, bias: true });
        layers
    }

    /// Builds the network of [`CnnConfig::architecture`], its weights drawn from `seed` layer by
    /// layer.
    ///
    /// # Errors
    /// The message of [`CnnConfig::check`].
    pub fn init<B: Backend>(&self, seed: u64) -> Result<Sequential<B>, String> {
        self.check()?;
        let mut rng = Rng::stream(seed, Stream::Init);
        let mut dropout_rng = Rng::stream(seed, Stream::Dropout);
        let mut model = Sequential::new();
        for spec in self.architecture() {
            let layer: Box<dyn Module<B>> = match spec {
                LayerSpec::Conv2d { in_channels, out_channels, kernel_size: [k, _], padding: [p, _], .. } => Box::new(
                    Conv2dConfig::new(in_channels, out_channels, (k, k))
                        .with_padding((p, p))
                        .with_init(self.init)
                        .init::<B>(&mut rng),
                ),
                LayerSpec::Linear { in_features, out_features, .. } => {
                    Box::new(LinearConfig::new(in_features, out_features).with_init(self.init).init::<B>(&mut rng))
                }
                LayerSpec::BatchNorm2d { num_features, .. } => {
                    Box::new(BatchNormConfig::new(num_features).init_2d::<B>())
                }
                LayerSpec::BatchNorm1d { num_features, .. } => {
                    Box::new(BatchNormConfig::new(num_features).init_1d::<B>())
                }
                LayerSpec::MaxPool2d { .. } => Box::new(MaxPool2d::new((2, 2))),
                LayerSpec::Flatten => Box::new(Flatten),
                LayerSpec::Dropout { p } => Box::new(Dropout::with_rng(p, dropout_rng.fork())),
                _ => Box::new(self.activation),
            };
            model.push(layer);
        }
        Ok(model)
    }
}

/// The shortcut of a residual block that changes the width or the size (He et al. 2016, §3.3):
/// the others are the identity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Shortcut {
    /// Option A: the identity, subsampled by the stride, with zero channels added; no parameters.
    #[default]
    A,
    /// Option B: a 1×1 convolution with the block's stride, then batch norm.
    B,
}

impl fmt::Display for Shortcut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shortcut::A => "a",
            Shortcut::B => "b",
        })
    }
}

/// He et al.'s residual networks for CIFAR (2016, §4.2): a 3×3 convolution of `widths[0]`
/// filters, then one stage per width, each of `n` residual blocks of two 3×3 convolutions (batch
/// norm after each, ReLU after the first and after the sum), the first block of every later
/// stage halving the size with stride 2; then global average pooling and a linear layer to the
/// classes. With three stages the depth is 6n + 2: ResNet-20, 32, 44, 56 and 110. Convolutions
/// have no bias (batch norm follows each); weights are drawn from `init` (He by default).
///
/// [`ResNetConfig::plain`] is the same network without the shortcuts: He et al.'s "plain"
/// network, whose training error grows with depth where the residual one's falls.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() {
/// use neurite_nn::{Module, models::ResNetConfig};
/// let resnet20 = ResNetConfig::new([3, 32, 32], 10, 20).init::<B>(1).expect("6n + 2 layers");
/// assert_eq!(resnet20.num_params(), 269_722);
/// assert_eq!(resnet20.output_shape(&[2, 3, 32, 32]), vec![2, 10]);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ResNetConfig {
    /// Input channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Outputs: one score per class.
    pub classes: usize,
    /// Layers with weights: the first convolution, two per block, and the classifier.
    pub depth: usize,
    /// Filters of each stage (He et al.: 16, 32, 64).
    pub widths: Vec<usize>,
    /// The shortcut of a block that changes width or size.
    pub shortcut: Shortcut,
    /// Whether blocks have shortcuts at all (false: the plain network).
    pub residual: bool,
    /// The activation (ReLU in He et al.).
    pub activation: Activation,
    /// The weight initializer of every convolution and of the classifier.
    pub init: Init,
}

impl ResNetConfig {
    /// ResNet-`depth` for `[channels, height, width]` images and `classes` outputs: stages of 16,
    /// 32 and 64 filters, shortcut option A, ReLU, He initialization.
    pub fn new(input: [usize; 3], classes: usize, depth: usize) -> Self {
        let [channels, height, width] = input;
        ResNetConfig {
            channels,
            height,
            width,
            classes,
            depth,
            widths: vec![16, 32, 64],
            shortcut: Shortcut::A,
            residual: true,
            activation: Activation::Relu,
            init: Init::He,
        }
    }

    /// The same network without shortcuts.
    pub fn plain(mut self) -> Self {
        self.residual = false;
        self
    }

    /// Sets the filters of each stage (one stage per entry).
    pub fn with_widths(mut self, widths: &[usize]) -> Self {
        self.widths = widths.to_vec();
        self
    }

    /// Sets the shortcut of the blocks that change width or size.
    pub fn with_shortcut(mut self, shortcut: Shortcut) -> Self {
        self.shortcut = shortcut;
        self
    }

    /// Sets the activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Sets the weight initializer.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Residual blocks per stage, `n` of 6n + 2.
    pub fn blocks_per_stage(&self) -> usize {
        self.depth.saturating_sub(2) / (2 * self.widths.len().max(1))
    }

    /// Whether the settings describe a network that can be built.
    ///
    /// # Errors
    /// A message naming the setting that does not work.
    pub fn check(&self) -> Result<(), String> {
        if self.widths.is_empty() || self.widths.contains(&0) {
            return Err("the ResNet needs at least one stage and no stage of 0 filters".into());
        }
        let per_block = 2 * self.widths.len();
        if self.depth < per_block + 2 || !(self.depth - 2).is_multiple_of(per_block) {
            let examples: Vec<String> = (1..=3).map(|n| (per_block * n + 2).to_string()).collect();
            return Err(format!(
                "a ResNet of {} stages has {per_block}n + 2 layers ({}, …), got depth {}",
                self.widths.len(),
                examples.join(", "),
                self.depth
            ));
        }
        if self.residual && self.shortcut == Shortcut::A && self.widths.windows(2).any(|w| w[1] < w[0]) {
            return Err(format!(
                "shortcut a pads channels with zeros, so no stage can be narrower than the one before; got widths {}",
                Widths(self.widths.clone())
            ));
        }
        if self.channels == 0 || self.height == 0 || self.width == 0 || self.classes == 0 {
            return Err("the ResNet needs images and classes of positive size".into());
        }
        Ok(())
    }

    /// The layers [`ResNetConfig::init`] builds, as data.
    pub fn architecture(&self) -> Vec<LayerSpec> {
        let act = self.activation.layer_spec();
        let conv = |in_channels: usize, out_channels: usize, k: usize, stride: usize| LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel_size: [k, k],
            stride: [stride, stride],
            padding: [k / 2, k / 2],
            bias: false,
        };
        let norm = |n: usize| {
            let BatchNormConfig { num_features, eps, momentum } = BatchNormConfig::new(n);
            LayerSpec::BatchNorm2d { num_features, eps, momentum }
        };
        let first = self.widths.first().copied().unwrap_or(1);
        let mut layers = vec![conv(self.channels, first, 3, 1), norm(first), act.clone()];
        let mut channels = first;
        for (stage, &width) in self.widths.iter().enumerate() {
            for block in 0..self.blocks_per_stage() {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                let body = vec![
                    conv(channels, width, 3, stride),
                    norm(width),
                    act.clone(),
                    conv(width, width, 3, 1),
                    norm(width),
                ];
                if !self.residual {
                    layers.extend(body);
                    layers.push(act.clone());
                } else {
                    let shortcut = match self.shortcut {
                        _ if stride == 1 && channels == width => Vec::new(),
                        Shortcut::A => {
                            let added = width - channels;
                            vec![LayerSpec::ChannelPad {
                                stride: [stride, stride],
                                before: added / 2,
                                after: added - added / 2,
                            }]
                        }
                        Shortcut::B => vec![conv(channels, width, 1, stride), norm(width)],
                    };
                    layers.push(LayerSpec::Residual { body, shortcut, activation: Some(Box::new(act.clone())) });
                }
                channels = width;
            }
        }
        layers.push(LayerSpec::GlobalAvgPool);
        layers.push(LayerSpec::Linear { in_features: channels, out_features: self.classes, bias: true });
        layers
    }

    /// Builds the network of [`ResNetConfig::architecture`], its weights drawn from `seed` layer
    /// by layer in order.
    ///
    /// # Errors
    /// The message of [`ResNetConfig::check`].
    pub fn init<B: Backend>(&self, seed: u64) -> Result<Sequential<B>, String> {
        self.check()?;
        let mut rng = Rng::stream(seed, Stream::Init);
        let mut model = Sequential::new();
        for spec in self.architecture() {
            model.push(build_initialised(&spec, self.init, &mut rng)?);
        }
        Ok(model)
    }
}

/// Builds `spec` with convolution and linear weights drawn from `init` (biases zero), blocks
/// included.
fn build_initialised<B: Backend>(spec: &LayerSpec, init: Init, rng: &mut Rng) -> Result<Box<dyn Module<B>>, String> {
    let branch = |layers: &[LayerSpec], rng: &mut Rng| -> Result<Sequential<B>, String> {
        layers
            .iter()
            .map(|s| build_initialised(s, init, rng))
            .collect::<Result<Vec<_>, _>>()
            .map(Sequential::from_layers)
    };
    Ok(match spec {
        LayerSpec::Conv2d {
            in_channels,
            out_channels,
            kernel_size: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            bias,
        } => Box::new(
            Conv2dConfig::new(*in_channels, *out_channels, (*kh, *kw))
                .with_stride((*sh, *sw))
                .with_padding((*ph, *pw))
                .with_bias(*bias)
                .with_init(init)
                .init::<B>(rng),
        ),
        LayerSpec::Linear { in_features, out_features, bias } => {
            Box::new(LinearConfig::new(*in_features, *out_features).with_bias(*bias).with_init(init).init::<B>(rng))
        }
        LayerSpec::Residual { body, shortcut, activation } => {
            let body = branch(body, rng)?;
            let shortcut = branch(shortcut, rng)?;
            let activation = activation.as_deref().map(|a| build_initialised(a, init, rng)).transpose()?;
            Box::new(Residual::new(body, shortcut, activation))
        }
        other => crate::spec::build_layer::<B>(0, other, rng).map_err(|e| e.to_string())?,
    })
}

/// Which built-in network a [`ModelConfig`] builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Fully connected: flatten, hidden layers, one output per class (an `MlpConfig`).
    Mlp,
    /// Convolution blocks, each ending in a 2×2 max-pool, then dense layers (a `CnnConfig`).
    Cnn,
    /// He et al.'s residual network for CIFAR, `depth` = 6n + 2 (a `ResNetConfig`).
    Resnet,
    /// The residual network's layers without the shortcuts: He et al.'s plain network.
    Plain,
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
            ModelKind::Resnet => "resnet",
            ModelKind::Plain => "plain",
        })
    }
}

/// Layer widths written as `512,256` (flags) or `[512, 256]` (settings files); the empty text is
/// no layer at all.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Widths(pub Vec<usize>);

impl FromStr for Widths {
    type Err = String;

    fn from_str(text: &str) -> Result<Widths, String> {
        if text.trim().is_empty() {
            return Ok(Widths(Vec::new()));
        }
        text.split(',')
            .map(|w| {
                let w = w.trim();
                w.parse::<usize>().map_err(|_| format!("width `{w}` is not a whole number (e.g. 512,256)"))
            })
            .collect::<Result<_, _>>()
            .map(Widths)
    }
}

impl fmt::Display for Widths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.0.iter().map(usize::to_string).collect();
        f.write_str(&text.join(","))
    }
}

impl<const N: usize> From<[usize; N]> for Widths {
    fn from(widths: [usize; N]) -> Widths {
        Widths(widths.to_vec())
    }
}

/// A built-in model as settings: its kind and the settings of every kind (each kind reads its
/// own and ignores the others). What a settings file's `[model]` table holds and what the
/// model flags of `neurite train` set; [`ModelConfig::init`] builds it for an input size and a
/// number of classes.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() -> Result<(), String> {
/// use neurite_nn::{Module, models::{ModelConfig, ModelKind}};
/// let cnn = ModelConfig { kind: ModelKind::Cnn, dropout: 0.25, ..ModelConfig::default() };
/// let net = cnn.init::<B>([1, 28, 28], 10, 1)?;
/// assert_eq!(net.output_shape(&[2, 1, 28, 28]), vec![2, 10]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, SmartDefault)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields, default, rename_all = "kebab-case")]
pub struct ModelConfig {
    /// Network.
    #[serde(rename = "type")]
    #[default(ModelKind::Mlp)]
    #[cfg_attr(feature = "clap", arg(long = "model", id = "model", value_name = "KIND"))]
    pub kind: ModelKind,
    /// Hidden layer widths of the MLP, comma-separated.
    #[default(Widths(vec![512, 256]))]
    #[cfg_attr(feature = "clap", arg(long, value_name = "W,W,..."))]
    pub hidden: Widths,
    /// Filters of each convolution block of the CNN, comma-separated.
    #[default(Widths(vec![16, 32]))]
    #[cfg_attr(feature = "clap", arg(long, value_name = "F,F,..."))]
    pub filters: Widths,
    /// Convolutions in each block of the CNN, before its 2×2 max-pool.
    #[default(1)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub convs: usize,
    /// Side of the CNN's convolution kernels, odd.
    #[default(5)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "K"))]
    pub kernel: usize,
    /// Widths of the CNN's dense hidden layers before its classifier, comma-separated.
    #[cfg_attr(feature = "clap", arg(long, value_name = "W,W,..."))]
    pub dense: Widths,
    /// Layers of the ResNet (and of the plain network): 6n + 2, e.g. 20, 32, 44, 56, 110.
    #[default(20)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "N"))]
    pub depth: usize,
    /// Filters of the ResNet's first stage; each of the two later stages doubles them.
    #[default(16)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "W"))]
    pub width: usize,
    /// The ResNet's shortcut where a block changes width or size: a (zero-padded identity) or b
    /// (1×1 convolution).
    #[cfg_attr(feature = "clap", arg(long, value_name = "a|b"))]
    pub shortcut: Shortcut,
    /// Hidden activation: relu, sigmoid, tanh, `leaky-relu[:SLOPE]`, `elu[:ALPHA]` or gelu.
    #[default(Activation::Relu)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "NAME"))]
    pub activation: Activation,
    /// Weight initializer: he, he-uniform, xavier, glorot-uniform, zeros, `normal:STD`, `constant:C` or `uniform:LO,HI`.
    #[default(Init::He)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "NAME"))]
    pub init: Init,
    /// Batch normalisation in each hidden block (after each convolution of the CNN).
    #[cfg_attr(feature = "clap", arg(long, action = clap::ArgAction::Set, num_args = 0..=1,
        require_equals = true, default_missing_value = "true", value_name = "BOOL", hide_possible_values = true))]
    pub batch_norm: bool,
    /// Dropout probability after each hidden block, before the CNN's classifier (0 = none).
    #[default(0.2)]
    #[cfg_attr(feature = "clap", arg(long, value_name = "P", allow_negative_numbers = true))]
    pub dropout: f32,
    /// Dropout probability on the input pixels, before the MLP's first layer (Srivastava et al.
    /// drop 0.2 of MNIST's pixels).
    #[cfg_attr(feature = "clap", arg(long, value_name = "P", allow_negative_numbers = true))]
    pub input_dropout: f32,
}

impl ModelConfig {
    /// Checks every setting that can be checked without knowing the input.
    ///
    /// # Errors
    /// A one-line message naming the setting and what it accepts.
    pub fn check(&self) -> Result<(), String> {
        for (name, p) in [("dropout", self.dropout), ("input-dropout", self.input_dropout)] {
            if !(p.is_finite() && (0.0..1.0).contains(&p)) {
                return Err(format!("{name} must be in [0, 1), got {p}"));
            }
        }
        if let Activation::Softmax(_) = self.activation {
            return Err(format!(
                "activation {}: a hidden activation works on each value alone; choose relu, sigmoid, tanh, leaky-relu, elu or gelu",
                self.activation
            ));
        }
        match self.kind {
            ModelKind::Mlp if self.hidden.0.contains(&0) => Err("hidden widths must be at least 1".into()),
            ModelKind::Cnn if self.input_dropout > 0.0 => {
                Err("input-dropout applies to the MLP (model type mlp) only".into())
            }
            // The CNN's checks that need no image size, on a size every pooling fits.
            ModelKind::Cnn => self.cnn([1, usize::MAX, usize::MAX], 1).check().map_err(|e| format!("model cnn: {e}")),
            ModelKind::Resnet | ModelKind::Plain if self.input_dropout > 0.0 => {
                Err("input-dropout applies to the MLP (model type mlp) only".into())
            }
            ModelKind::Resnet | ModelKind::Plain => {
                self.resnet([1, 1, 1], 1).check().map_err(|e| format!("model {}: {e}", self.kind))
            }
            ModelKind::Mlp => Ok(()),
        }
    }

    /// The ResNet (or, for kind `plain`, the plain network) these settings describe, for
    /// `[channels, height, width]` images and `classes` outputs: stages of `width`, 2·`width`
    /// and 4·`width` filters.
    pub fn resnet(&self, input: [usize; 3], classes: usize) -> ResNetConfig {
        let widths: Vec<usize> = [1usize, 2, 4].iter().map(|m| self.width.saturating_mul(*m)).collect();
        let config = ResNetConfig::new(input, classes, self.depth)
            .with_widths(&widths)
            .with_shortcut(self.shortcut)
            .with_activation(self.activation)
            .with_init(self.init);
        if self.kind == ModelKind::Plain { config.plain() } else { config }
    }

    /// A short name of the network: `mlp`, `cnn`, `resnet-20` or `plain-20`.
    pub fn name(&self) -> String {
        match self.kind {
            ModelKind::Resnet | ModelKind::Plain => format!("{}-{}", self.kind, self.depth),
            kind => kind.to_string(),
        }
    }

    /// The MLP these settings describe, for `inputs` features and `classes` outputs.
    pub fn mlp(&self, inputs: usize, classes: usize) -> MlpConfig {
        MlpConfig::new(inputs, &self.hidden.0, classes)
            .with_activation(self.activation)
            .with_init(self.init)
            .with_batch_norm(self.batch_norm)
            .with_dropout(self.dropout)
            .with_input_dropout(self.input_dropout)
    }

    /// The CNN these settings describe, for `[channels, height, width]` images and `classes`
    /// outputs.
    pub fn cnn(&self, input: [usize; 3], classes: usize) -> CnnConfig {
        CnnConfig::new(input, classes)
            .with_filters(&self.filters.0, self.convs, self.kernel)
            .with_dense(&self.dense.0)
            .with_activation(self.activation)
            .with_init(self.init)
            .with_batch_norm(self.batch_norm)
            .with_dropout(self.dropout)
    }

    /// The layers the model has for `[channels, height, width]` inputs and `classes` outputs, as
    /// data: what a caller checks (shapes, memory) before building.
    ///
    /// # Errors
    /// As [`ModelConfig::check`], and for images too small for the CNN's poolings.
    pub fn architecture(&self, input: [usize; 3], classes: usize) -> Result<Vec<LayerSpec>, String> {
        self.check()?;
        match self.kind {
            ModelKind::Mlp => Ok(self.mlp(input.iter().product(), classes).architecture()),
            ModelKind::Cnn => {
                let cnn = self.cnn(input, classes);
                cnn.check().map_err(|e| format!("model cnn: {e}"))?;
                Ok(cnn.architecture())
            }
            ModelKind::Resnet | ModelKind::Plain => {
                let resnet = self.resnet(input, classes);
                resnet.check().map_err(|e| format!("model {}: {e}", self.kind))?;
                Ok(resnet.architecture())
            }
        }
    }

    /// Builds the model for `[channels, height, width]` inputs and `classes` outputs, its
    /// weights and dropout generators drawn from `seed`.
    ///
    /// # Errors
    /// As [`ModelConfig::architecture`].
    pub fn init<B: Backend>(&self, input: [usize; 3], classes: usize, seed: u64) -> Result<Sequential<B>, String> {
        self.architecture(input, classes)?;
        match self.kind {
            ModelKind::Mlp => Ok(self.mlp(input.iter().product(), classes).init::<B>(seed)),
            ModelKind::Cnn => self.cnn(input, classes).init::<B>(seed).map_err(|e| format!("model cnn: {e}")),
            ModelKind::Resnet | ModelKind::Plain => {
                self.resnet(input, classes).init::<B>(seed).map_err(|e| format!("model {}: {e}", self.kind))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::Module;
    use neurite_core::Tensor;
    use neurite_core::reference::ReferenceBackend as R;

    #[test]
    fn the_default_mlp_has_the_course_shape() {
        let mlp = MlpConfig::new(784, &[512, 256], 10).with_dropout(0.2).init::<R>(1);
        // 784·512 + 512 + 512·256 + 256 + 256·10 + 10
        assert_eq!(mlp.num_params(), 535_818);
        // flatten, (linear, relu, dropout) × 2, linear
        assert_eq!(mlp.len(), 8);
        assert_eq!(mlp.rng_states().len(), 2);
    }

    #[test]
    fn the_cnn_ends_in_a_1568_to_10_classifier() {
        let cnn =
            CnnConfig::new([1, 28, 28], 10).with_dropout(0.25).with_batch_norm(true).init::<R>(1).expect("builds");
        let arch = cnn.architecture();
        assert_eq!(arch.last(), Some(&LayerSpec::Linear { in_features: 1568, out_features: 10, bias: true }));
        assert_eq!(cnn.output_shape(&[2, 1, 28, 28]), vec![2, 10]);
        assert_eq!(cnn.rng_states().len(), 1);
        assert!(CnnConfig::new([1, 3, 28], 10).init::<R>(1).is_err());
    }

    #[test]
    fn the_described_architecture_is_the_one_built() {
        let mlp =
            MlpConfig::new(12, &[8, 4], 3).with_batch_norm(true).with_dropout(0.5).with_output(Activation::Sigmoid);
        assert_eq!(mlp.init::<R>(1).architecture(), mlp.architecture());
        let cnn =
            CnnConfig::new([3, 12, 8], 5).with_batch_norm(true).with_dropout(0.1).with_activation(Activation::Tanh);
        assert_eq!(cnn.init::<R>(1).expect("builds").architecture(), cnn.architecture());
    }

    #[test]
    fn input_dropout_drops_pixels_in_training_and_nothing_in_evaluation() {
        let config = MlpConfig::new(16, &[8], 3).with_input_dropout(0.5);
        assert_eq!(config.architecture()[1], LayerSpec::Dropout { p: 0.5 });
        let mut with = config.init::<R>(4);
        assert_eq!(with.architecture(), config.architecture());
        // The weights come from the same stream with or without it, so evaluation agrees.
        let mut without = MlpConfig::new(16, &[8], 3).init::<R>(4);
        let x = Tensor::<R>::from_vec((0..32).map(|i| i as f32 / 32.0).collect(), [2, 16]);
        with.set_training(false);
        without.set_training(false);
        assert_eq!(with.forward(&x).to_vec(), without.forward(&x).to_vec());
        // In training about half the pixels are zeroed and the rest doubled.
        with.set_training(true);
        let dropped = with.layers()[1].forward(&Tensor::<R>::ones([4, 256])).to_vec();
        let zeros = dropped.iter().filter(|&&v| v == 0.0).count();
        assert!(dropped.iter().all(|&v| v == 0.0 || v == 2.0), "{dropped:?}");
        assert!((400..624).contains(&zeros), "{zeros} of 1024 dropped");
    }

    #[test]
    fn a_model_config_builds_the_network_its_kind_describes() {
        let mlp = ModelConfig::default();
        assert_eq!(
            mlp.architecture([1, 28, 28], 10),
            Ok(MlpConfig::new(784, &[512, 256], 10).with_dropout(0.2).architecture())
        );
        let cnn = ModelConfig { kind: ModelKind::Cnn, dropout: 0.0, ..ModelConfig::default() };
        assert_eq!(cnn.architecture([3, 32, 32], 4), Ok(CnnConfig::new([3, 32, 32], 4).architecture()));
        let built = cnn.init::<R>([3, 32, 32], 4, 1).expect("builds");
        assert_eq!(built.architecture(), CnnConfig::new([3, 32, 32], 4).architecture());
        let tiny = cnn.architecture([1, 3, 3], 4).unwrap_err();
        assert!(tiny.starts_with("model cnn: the CNN needs images of at least 4×4 pixels"), "{tiny}");
    }

    #[test]
    fn model_settings_out_of_range_are_named() {
        let check = |c: ModelConfig| c.check().unwrap_err();
        assert_eq!(check(ModelConfig { dropout: 1.0, ..Default::default() }), "dropout must be in [0, 1), got 1");
        assert_eq!(
            check(ModelConfig { hidden: Widths(vec![8, 0]), ..Default::default() }),
            "hidden widths must be at least 1"
        );
        let even = ModelConfig { kind: ModelKind::Cnn, kernel: 4, ..Default::default() };
        assert!(check(even).starts_with("model cnn: the kernel side must be odd"));
        let cnn = ModelConfig { kind: ModelKind::Cnn, input_dropout: 0.2, ..Default::default() };
        assert_eq!(check(cnn), "input-dropout applies to the MLP (model type mlp) only");
        let softmax = ModelConfig { activation: Activation::Softmax(5), ..Default::default() };
        assert!(check(softmax).starts_with("activation softmax:5: a hidden activation works on each value alone"));
    }

    #[test]
    fn text_forms_of_settings_round_trip() {
        assert_eq!("512, 256".parse(), Ok(Widths(vec![512, 256])));
        assert_eq!("".parse(), Ok(Widths(vec![])));
        assert!("512,x".parse::<Widths>().unwrap_err().contains("`x`"));
        assert_eq!(Widths(vec![16, 32]).to_string(), "16,32");
        for text in ["relu", "sigmoid", "tanh", "gelu", "leaky-relu", "leaky-relu:0.2", "elu", "elu:0.5", "softmax"] {
            let activation: Activation = text.parse().expect(text);
            assert_eq!(activation.to_string(), text);
        }
        assert_eq!("leaky-relu".parse(), Ok(Activation::LeakyRelu(0.01)));
        assert!("swish".parse::<Activation>().unwrap_err().starts_with("unknown activation `swish`; choose relu"));
        for text in
            ["he", "he-uniform", "xavier", "glorot-uniform", "zeros", "constant:0.5", "normal:0.01", "uniform:-1,1"]
        {
            let init: Init = text.parse().expect(text);
            assert_eq!(init.to_string(), text);
        }
        for bad in ["uniform", "normal:-1", "normal:x", "uniform:1,-1", "he:2"] {
            assert!(bad.parse::<Init>().unwrap_err().starts_with(&format!("unknown init `{bad}`")), "{bad}");
        }
        let json = serde_json::to_string(&ModelConfig::default()).expect("serialises");
        assert!(json.contains("\"type\":\"mlp\"") && json.contains("\"activation\":\"relu\""), "{json}");
        assert_eq!(serde_json::from_str::<ModelConfig>(&json).expect("parses"), ModelConfig::default());
    }

    #[test]
    fn dropout_generators_are_saved_and_restored_through_the_network() {
        let mut mlp = MlpConfig::new(16, &[8, 8], 3).with_dropout(0.5).init::<R>(4);
        let before = mlp.rng_states();
        let x = Tensor::<R>::ones([2, 16]);
        let first = mlp.forward(&x).to_vec();
        assert_ne!(mlp.rng_states(), before, "the forward pass drew from the generators");
        mlp.set_rng_states(&before);
        assert_eq!(mlp.forward(&x).to_vec(), first, "restored generators draw the same masks");
    }
}
