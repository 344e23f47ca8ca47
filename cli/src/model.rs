//! The networks of `neurite train` and the checkpoints they live in.
//!
//! [`build`] turns a [`Recipe`] into a `Sequential` of `neurite_nn` layers — the MLP (flatten,
//! hidden blocks, classifier) or the CNN (two conv/pool blocks, classifier) — with handles on its
//! dropout layers, whose generators a checkpoint must save for an exact resume.
//! [`LoadedModel::load`] rebuilds a trained network from a checkpoint alone (for `eval`,
//! `predict`, `export` and `info`), with the input shape, class names and preprocessing the
//! training run recorded in the checkpoint's metadata under the `*_KEY` names below.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use neurite_augment::ImageSize;
use neurite_core::{Backend, Rng, RngState, Stream, Tensor};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::{
    Activation, BatchNormConfig, Checkpoint, Conv2dConfig, Dropout, Flatten, Init, LayerSpec, LinearConfig, MaxPool2d,
    Module, Sequential,
};

use crate::error::{UsageExt, usage};
use crate::recipe::{InitChoice, ModelKind, Recipe, parse_init};

/// Metadata key: the run's resolved recipe, as TOML.
pub const RECIPE_KEY: &str = "recipe";
/// Metadata key: the input image size `[channels, height, width]`, as JSON.
pub const INPUT_KEY: &str = "input";
/// Metadata key: how u8 pixels become inputs (`neurite_nn::data::Preprocessing`), as JSON.
pub const PREPROCESSING_KEY: &str = "preprocessing";
/// Metadata key: the class names, as a JSON list.
pub const CLASSES_KEY: &str = "classes";

/// How every network of `neurite train` reads pixels: scaled to [0, 1], laid out `[n, c, h, w]`.
pub fn preprocessing() -> Preprocessing {
    Preprocessing::unit(Layout::Nchw)
}

/// A dropout layer that the training loop can reach after it went into a `Sequential`: the
/// network holds one clone, the loop another, to save and restore the mask generator.
#[derive(Clone)]
pub struct SharedDropout(Arc<Mutex<Dropout>>);

impl SharedDropout {
    fn new(p: f32, rng: Rng) -> Self {
        SharedDropout(Arc::new(Mutex::new(Dropout::with_rng(p, rng))))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Dropout> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The mask generator's state.
    pub fn rng_state(&self) -> RngState {
        self.lock().rng_state()
    }

    /// Continues the mask generator from `state`.
    pub fn set_rng_state(&self, state: RngState) {
        self.lock().set_rng_state(state);
    }
}

impl<B: Backend> Module<B> for SharedDropout {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        <Dropout as Module<B>>::forward(&self.lock(), x)
    }

    fn set_training(&mut self, training: bool) {
        <Dropout as Module<B>>::set_training(&mut self.lock(), training);
    }

    fn spec(&self) -> LayerSpec {
        <Dropout as Module<B>>::spec(&self.lock())
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.to_vec()
    }
}

/// A network built from a recipe.
pub struct Built<B: Backend> {
    /// The layers; parameters are named `layers.{i}.weight` and so on.
    pub model: Sequential<B>,
    /// Handles on its dropout layers, in order.
    pub dropouts: Vec<SharedDropout>,
    /// Names of the weights the L1/L2 penalties apply to (linear and convolution weights, not
    /// biases nor batch-norm scales).
    pub penalised: Vec<String>,
}

fn init_of(recipe: &Recipe) -> anyhow::Result<Init> {
    Ok(match parse_init(&recipe.init).usage()? {
        InitChoice::He => Init::He,
        InitChoice::Xavier => Init::Xavier,
        InitChoice::Zeros => Init::Zeros,
        InitChoice::Normal(std) => Init::Normal { std },
    })
}

fn activation_of(recipe: &Recipe) -> anyhow::Result<Activation> {
    Ok(match recipe.activation.as_str() {
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "leaky-relu" => Activation::LeakyRelu(0.01),
        other => return Err(usage(format!("unknown activation `{other}`; choose relu, sigmoid, tanh or leaky-relu"))),
    })
}

/// Builds the recipe's network for `input` images and `classes` outputs, its parameters drawn
/// from stream [`Stream::Init`] of the recipe's seed and its dropout masks from stream
/// [`Stream::Dropout`].
///
/// - MLP: flatten, then per hidden width: linear, batch norm (with `batch-norm`), activation,
///   dropout (with `dropout` > 0); then linear to `classes`.
/// - CNN: conv 1→16 5×5 pad 2, batch norm, activation, max-pool 2, conv 16→32 5×5 pad 2, batch
///   norm, activation, max-pool 2, flatten, dropout, linear to `classes`.
///
/// # Errors
/// A usage error for an unknown activation or init, or a CNN on images smaller than 4×4.
pub fn build<B: Backend>(recipe: &Recipe, input: ImageSize, classes: usize) -> anyhow::Result<Built<B>> {
    let init = init_of(recipe)?;
    let activation = activation_of(recipe)?;
    let mut rng = Rng::stream(recipe.seed, Stream::Init);
    let mut dropout_rng = Rng::stream(recipe.seed, Stream::Dropout);
    let mut model = Sequential::<B>::new();
    let mut dropouts = Vec::new();
    let mut penalised = Vec::new();
    let mut add_dropout = |model: &mut Sequential<B>| {
        if recipe.dropout > 0.0 {
            let d = SharedDropout::new(recipe.dropout, dropout_rng.fork());
            dropouts.push(d.clone());
            model.push(Box::new(d));
        }
    };
    match recipe.model {
        ModelKind::Mlp => {
            model.push(Box::new(Flatten));
            let mut width = input.len();
            for &hidden in &recipe.hidden {
                penalised.push(format!("layers.{}.weight", model.len()));
                model.push(Box::new(LinearConfig::new(width, hidden).with_init(init).init::<B>(&mut rng)));
                if recipe.batch_norm {
                    model.push(Box::new(BatchNormConfig::new(hidden).init_1d::<B>()));
                }
                model.push(Box::new(activation));
                add_dropout(&mut model);
                width = hidden;
            }
            penalised.push(format!("layers.{}.weight", model.len()));
            model.push(Box::new(LinearConfig::new(width, classes).with_init(init).init::<B>(&mut rng)));
        }
        ModelKind::Cnn => {
            if input.height < 4 || input.width < 4 {
                return Err(usage(format!(
                    "--model cnn needs images of at least 4×4 pixels, got {}×{}",
                    input.width, input.height
                )));
            }
            let mut channels = input.channels;
            for filters in [16, 32] {
                penalised.push(format!("layers.{}.weight", model.len()));
                let conv = Conv2dConfig::new(channels, filters, (5, 5)).with_padding((2, 2)).with_init(init);
                model.push(Box::new(conv.init::<B>(&mut rng)));
                if recipe.batch_norm {
                    model.push(Box::new(BatchNormConfig::new(filters).init_2d::<B>()));
                }
                model.push(Box::new(activation));
                model.push(Box::new(MaxPool2d::new((2, 2))));
                channels = filters;
            }
            model.push(Box::new(Flatten));
            add_dropout(&mut model);
            let features = channels * (input.height / 4) * (input.width / 4);
            penalised.push(format!("layers.{}.weight", model.len()));
            model.push(Box::new(LinearConfig::new(features, classes).with_init(init).init::<B>(&mut rng)));
        }
    }
    Ok(Built { model, dropouts, penalised })
}

/// A trained network read from a checkpoint, with what it needs to be used.
pub struct LoadedModel<B: Backend> {
    /// The network, in evaluation mode.
    pub model: Sequential<B>,
    /// The size of one input image.
    pub input: ImageSize,
    /// One name per output.
    pub class_names: Vec<String>,
    /// How u8 pixels become inputs.
    pub preprocessing: Preprocessing,
    /// The checkpoint as read.
    pub checkpoint: Checkpoint,
}

impl<B: Backend> LoadedModel<B> {
    /// Reads and rebuilds the checkpoint at `path`.
    ///
    /// # Errors
    /// A usage error for a missing, corrupt or foreign file, or one whose network cannot be
    /// rebuilt.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let origin = path.display().to_string();
        let checkpoint = Checkpoint::load(path).usage()?;
        let mut model = checkpoint.build_sequential::<B>(&origin).usage()?;
        model.set_training(false);
        let input = input_of(&checkpoint, &origin)?;
        let classes = classes_of(&checkpoint.architecture)
            .ok_or_else(|| usage(format!("{origin}: the network does not end in a linear layer")))?;
        let class_names = match checkpoint.metadata(CLASSES_KEY) {
            Some(text) => serde_json::from_str::<Vec<String>>(text)
                .ok()
                .filter(|names| names.len() == classes)
                .ok_or_else(|| usage(format!("{origin}: metadata `{CLASSES_KEY}` is not a list of {classes} names")))?,
            None => (0..classes).map(|c| c.to_string()).collect(),
        };
        let preprocessing = match checkpoint.metadata(PREPROCESSING_KEY) {
            Some(text) => serde_json::from_str(text).usage_with(format!("{origin}: metadata `{PREPROCESSING_KEY}`"))?,
            None => preprocessing(),
        };
        Ok(LoadedModel { model, input, class_names, preprocessing, checkpoint })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// A batch of `[n, c, h, w]` inputs from images with values in [0, 1], preprocessed as the
    /// model was trained.
    pub fn inputs(&self, images: &[Vec<f32>]) -> Tensor<B> {
        let p = &self.preprocessing;
        let values: Vec<f32> = images.iter().flatten().map(|&v| (v * 255.0 * p.scale - p.mean) / p.std).collect();
        let shape = match p.layout {
            Layout::Nchw => vec![images.len(), self.input.channels, self.input.height, self.input.width],
            Layout::Flat => vec![images.len(), self.input.len()],
        };
        Tensor::from_vec(values, shape)
    }
}

/// The output count of the last linear layer of an architecture.
pub fn classes_of(architecture: &LayerSpec) -> Option<usize> {
    let LayerSpec::Sequential { layers } = architecture else { return None };
    layers.iter().rev().find_map(|l| match l {
        LayerSpec::Linear { out_features, .. } => Some(*out_features),
        _ => None,
    })
}

/// The input size recorded in a checkpoint, or, for a checkpoint made elsewhere, a guess from
/// its first layer (a square grey image for a linear layer, 28×28 for a convolution).
fn input_of(checkpoint: &Checkpoint, origin: &str) -> anyhow::Result<ImageSize> {
    if let Some(text) = checkpoint.metadata(INPUT_KEY) {
        return match serde_json::from_str::<[usize; 3]>(text) {
            Ok([c, h, w]) if c > 0 && h > 0 && w > 0 => Ok(ImageSize::new(c, h, w)),
            _ => Err(usage(format!("{origin}: metadata `{INPUT_KEY}` is not [channels, height, width]"))),
        };
    }
    let LayerSpec::Sequential { layers } = &checkpoint.architecture else {
        return Err(usage(format!("{origin}: not a Sequential network")));
    };
    let first = layers.iter().find(|l| !matches!(l, LayerSpec::Flatten));
    Ok(match first {
        Some(LayerSpec::Conv2d { in_channels, .. }) => ImageSize::new(*in_channels, 28, 28),
        Some(LayerSpec::Linear { in_features, .. }) => {
            let side = (*in_features as f64).sqrt().round() as usize;
            if side * side == *in_features { ImageSize::new(1, side, side) } else { ImageSize::new(1, 1, *in_features) }
        }
        _ => return Err(usage(format!("{origin}: cannot tell the input size of this network"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_core::reference::ReferenceBackend as R;

    #[test]
    fn the_default_mlp_has_the_course_shape() {
        let built = build::<R>(&Recipe::default(), ImageSize::new(1, 28, 28), 10).expect("builds");
        // 784·512 + 512 + 512·256 + 256 + 256·10 + 10
        assert_eq!(built.model.num_params(), 535_818);
        // flatten, (linear, relu, dropout) × 2, linear
        assert_eq!(built.penalised, ["layers.1.weight", "layers.4.weight", "layers.7.weight"]);
        assert_eq!(built.dropouts.len(), 2);
    }

    #[test]
    fn the_cnn_ends_in_a_1568_to_10_classifier() {
        let recipe = Recipe { model: ModelKind::Cnn, dropout: 0.25, batch_norm: true, ..Recipe::default() };
        let built = build::<R>(&recipe, ImageSize::new(1, 28, 28), 10).expect("builds");
        let arch = built.model.architecture();
        assert_eq!(arch.last(), Some(&LayerSpec::Linear { in_features: 1568, out_features: 10, bias: true }));
        assert_eq!(built.dropouts.len(), 1);
        assert_eq!(built.model.output_shape(&[2, 1, 28, 28]), vec![2, 10]);
        assert_eq!(classes_of(&built.model.spec()), Some(10));
    }

    #[test]
    fn dropout_handles_reach_the_layers_in_the_network() {
        let recipe = Recipe { hidden: vec![8, 8], dropout: 0.5, ..Recipe::default() };
        let built = build::<R>(&recipe, ImageSize::new(1, 4, 4), 3).expect("builds");
        assert_eq!(built.dropouts.len(), 2);
        let before = built.dropouts[0].rng_state();
        let _ = built.model.forward(&Tensor::ones([2, 1, 4, 4]));
        assert_ne!(built.dropouts[0].rng_state(), before, "the forward pass drew from the shared generator");
    }
}
