//! A trained network read back from a checkpoint with what it needs to be used: the input size,
//! the class names and the preprocessing the training run recorded in the checkpoint's metadata
//! (under the `*_KEY` names below). `neurite eval`, `predict`, `export` and `info` load their
//! model here; a checkpoint from elsewhere gets its input size guessed from its first layer.

use std::path::Path;

use neurite_augment::ImageSize;
use neurite_core::{Backend, Tensor};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::{Checkpoint, LayerSpec, Module, Sequential};

use crate::error::TrainError;

/// Metadata key: the input image size `[channels, height, width]`, as JSON.
pub const INPUT_KEY: &str = "input";
/// Metadata key: how u8 pixels become inputs (`neurite_nn::data::Preprocessing`), as JSON.
pub const PREPROCESSING_KEY: &str = "preprocessing";
/// Metadata key: the class names, as a JSON list.
pub const CLASSES_KEY: &str = "classes";

fn invalid(message: String) -> TrainError {
    TrainError::Invalid(message)
}

/// A trained network read from a checkpoint, with what it needs to be used.
pub struct TrainedModel<B: Backend> {
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

impl<B: Backend> TrainedModel<B> {
    /// Reads and rebuilds the checkpoint at `path`.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] for a missing, corrupt or foreign file, or one whose network
    /// cannot be rebuilt; [`TrainError::Invalid`] for metadata that does not fit the network.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let origin = path.display().to_string();
        let checkpoint = Checkpoint::load(path)?;
        let mut model = checkpoint.build_sequential::<B>(&origin)?;
        model.set_training(false);
        let input = input_of(&checkpoint, &origin)?;
        let classes = classes_of(&checkpoint.architecture)
            .ok_or_else(|| invalid(format!("{origin}: the network does not end in a linear layer")))?;
        let class_names = match checkpoint.metadata(CLASSES_KEY) {
            Some(text) => {
                serde_json::from_str::<Vec<String>>(text).ok().filter(|names| names.len() == classes).ok_or_else(
                    || invalid(format!("{origin}: metadata `{CLASSES_KEY}` is not a list of {classes} names")),
                )?
            }
            None => (0..classes).map(|c| c.to_string()).collect(),
        };
        let preprocessing = match checkpoint.metadata(PREPROCESSING_KEY) {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid(format!("{origin}: metadata `{PREPROCESSING_KEY}`: {e}")))?,
            None => Preprocessing::default(),
        };
        Ok(TrainedModel { model, input, class_names, preprocessing, checkpoint })
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
fn classes_of(architecture: &LayerSpec) -> Option<usize> {
    let LayerSpec::Sequential { layers } = architecture else { return None };
    layers.iter().rev().find_map(|l| match l {
        LayerSpec::Linear { out_features, .. } => Some(*out_features),
        _ => None,
    })
}

/// The input size recorded in a checkpoint, or, for a checkpoint made elsewhere, a guess from
/// its first layer (a square grey image for a linear layer, 28×28 for a convolution).
fn input_of(checkpoint: &Checkpoint, origin: &str) -> Result<ImageSize, TrainError> {
    if let Some(text) = checkpoint.metadata(INPUT_KEY) {
        return match serde_json::from_str::<[usize; 3]>(text) {
            Ok([c, h, w]) if c > 0 && h > 0 && w > 0 => Ok(ImageSize::new(c, h, w)),
            _ => Err(invalid(format!("{origin}: metadata `{INPUT_KEY}` is not [channels, height, width]"))),
        };
    }
    let LayerSpec::Sequential { layers } = &checkpoint.architecture else {
        return Err(invalid(format!("{origin}: not a Sequential network")));
    };
    let first = layers.iter().find(|l| !matches!(l, LayerSpec::Flatten));
    Ok(match first {
        Some(LayerSpec::Conv2d { in_channels, .. }) => ImageSize::new(*in_channels, 28, 28),
        Some(LayerSpec::Linear { in_features, .. }) => {
            let side = (*in_features as f64).sqrt().round() as usize;
            if side * side == *in_features { ImageSize::new(1, side, side) } else { ImageSize::new(1, 1, *in_features) }
        }
        _ => return Err(invalid(format!("{origin}: cannot tell the input size of this network"))),
    })
}
