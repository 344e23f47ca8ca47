//! The course's two networks as settings that build a [`Sequential`]: the fully connected
//! classifier ([`MlpConfig`]) and the small MNIST convolutional network ([`CnnConfig`]). The
//! command line, the course experiments, the benchmarks and the examples all build them here, so
//! they train the same network from the same seed.
//!
//! Weights are drawn from stream [`Stream::Init`] of the seed, layer by layer in order; each
//! dropout layer gets its own generator forked, in order, from stream [`Stream::Dropout`].

use neurite_core::{Backend, Rng, Stream};

use crate::activation::Activation;
use crate::init::Init;
use crate::layers::{BatchNormConfig, Conv2dConfig, Dropout, Flatten, LinearConfig, MaxPool2d};
use crate::module::Sequential;
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

    /// Puts `activation` after the last layer.
    pub fn with_output(mut self, activation: Activation) -> Self {
        self.output = Some(activation);
        self
    }

    /// The layers [`MlpConfig::init`] builds, as data: what a caller checks (shapes, memory)
    /// before building.
    pub fn architecture(&self) -> Vec<LayerSpec> {
        let mut layers = vec![LayerSpec::Flatten];
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

/// The MNIST CNN: conv `channels`→16 5×5 pad 2, batch norm (if asked), activation, max-pool 2;
/// conv 16→32 5×5 pad 2, batch norm, activation, max-pool 2; flatten; dropout (if asked); linear
/// to the classes (1568 → 10 for 28×28 digits). Every weight is drawn from `init`.
#[derive(Clone, Debug, PartialEq)]
pub struct CnnConfig {
    /// Input channels (1 for grey images).
    pub channels: usize,
    /// Input height (at least 4: two poolings halve it twice).
    pub height: usize,
    /// Input width (at least 4).
    pub width: usize,
    /// Outputs: one score per class.
    pub classes: usize,
    /// The activation after each convolution.
    pub activation: Activation,
    /// The weight initializer of every layer.
    pub init: Init,
    /// Batch norm after each convolution.
    pub batch_norm: bool,
    /// Dropout probability before the classifier (0 = no dropout layer).
    pub dropout: f32,
}

/// Filters of the two convolutions.
const CNN_FILTERS: [usize; 2] = [16, 32];

impl CnnConfig {
    /// The CNN for `[channels, height, width]` images and `classes` outputs, with ReLU and He
    /// initialization, no batch norm, no dropout.
    pub fn new(input: [usize; 3], classes: usize) -> Self {
        let [channels, height, width] = input;
        CnnConfig {
            channels,
            height,
            width,
            classes,
            activation: Activation::Relu,
            init: Init::He,
            batch_norm: false,
            dropout: 0.0,
        }
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

    /// Adds batch norm after each convolution.
    pub fn with_batch_norm(mut self, batch_norm: bool) -> Self {
        self.batch_norm = batch_norm;
        self
    }

    /// Adds dropout with probability `p` before the classifier.
    pub fn with_dropout(mut self, p: f32) -> Self {
        self.dropout = p;
        self
    }

    /// The layers [`CnnConfig::init`] builds, as data: what a caller checks (shapes, memory)
    /// before building.
    pub fn architecture(&self) -> Vec<LayerSpec> {
        let mut layers = Vec::new();
        let mut channels = self.channels;
        for filters in CNN_FILTERS {
            layers.push(LayerSpec::Conv2d {
                in_channels: channels,
                out_channels: filters,
                kernel_size: [5, 5],
                stride: [1, 1],
                padding: [2, 2],
                bias: true,
            });
            if self.batch_norm {
                let BatchNormConfig { num_features, eps, momentum } = BatchNormConfig::new(filters);
                layers.push(LayerSpec::BatchNorm2d { num_features, eps, momentum });
            }
            layers.push(self.activation.layer_spec());
            layers.push(LayerSpec::MaxPool2d { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] });
            channels = filters;
        }
        layers.push(LayerSpec::Flatten);
        if self.dropout > 0.0 {
            layers.push(LayerSpec::Dropout { p: self.dropout });
        }
        let features = channels.saturating_mul(self.height / 4).saturating_mul(self.width / 4);
        layers.push(LayerSpec::Linear { in_features: features, out_features: self.classes, bias: true });
        layers
    }

    /// Builds the network, its weights drawn from `seed`.
    ///
    /// # Errors
    /// A message if the images are smaller than 4×4 (two poolings would leave nothing).
    pub fn init<B: Backend>(&self, seed: u64) -> Result<Sequential<B>, String> {
        if self.height < 4 || self.width < 4 {
            return Err(format!("the CNN needs images of at least 4×4 pixels, got {}×{}", self.width, self.height));
        }
        let mut rng = Rng::stream(seed, Stream::Init);
        let mut dropout_rng = Rng::stream(seed, Stream::Dropout);
        let mut model = Sequential::new();
        let mut channels = self.channels;
        for filters in CNN_FILTERS {
            let conv = Conv2dConfig::new(channels, filters, (5, 5)).with_padding((2, 2)).with_init(self.init);
            model.push(Box::new(conv.init::<B>(&mut rng)));
            if self.batch_norm {
                model.push(Box::new(BatchNormConfig::new(filters).init_2d::<B>()));
            }
            model.push(Box::new(self.activation));
            model.push(Box::new(MaxPool2d::new((2, 2))));
            channels = filters;
        }
        model.push(Box::new(Flatten));
        if self.dropout > 0.0 {
            model.push(Box::new(Dropout::with_rng(self.dropout, dropout_rng.fork())));
        }
        let features = channels * (self.height / 4) * (self.width / 4);
        model.push(Box::new(LinearConfig::new(features, self.classes).with_init(self.init).init::<B>(&mut rng)));
        Ok(model)
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
