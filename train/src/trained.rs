//! A trained network read back from a checkpoint with what it needs to be used: the input size,
//! the class names and the preprocessing the training run recorded in the checkpoint's metadata
//! (under the `*_KEY` names below). `neurite eval`, `predict`, `export` and `info` load their
//! model here; a checkpoint from elsewhere gets its input size guessed from its first layer.

use std::path::Path;

use neurite_augment::ImageSize;
use neurite_core::{Backend, Tensor};
use neurite_nn::data::{Layout, Preprocessing};
use neurite_nn::interchange::StateDict;
use neurite_nn::{Budget, Checkpoint, Footprint, LayerSpec, Module, Sequential};

use crate::config::{RECIPE_KEY, TrainConfig};
use crate::error::TrainError;
use crate::loss::LossKind;
use neurite_data::Fit;

pub use neurite_nn::interchange::{CLASSES_KEY, INPUT_KEY, PREPROCESSING_KEY};

/// Checkpoint metadata: how training images of other sizes were brought to the input
/// (`stretch`, `crop`, `pad`), when any was.
pub const RESIZE_KEY: &str = "input-resize";
/// Checkpoint metadata: `light` or `dark`, the background of most training images.
pub const BACKGROUND_KEY: &str = "input-background";

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
    /// How its training images of other sizes were brought to its input (`None`: not recorded,
    /// or none needed it); images for it are brought the same way (stretched when `None`).
    pub fit: Option<Fit>,
    /// Whether its training images were mostly light-backgrounded (`None`: not recorded). For a
    /// grey model trained on dark backgrounds (MNIST), `predict` inverts light-backgrounded
    /// images; a colour model never.
    pub light_background: Option<bool>,
    /// The loss it was trained with, as its recorded settings say (cross-entropy for a checkpoint
    /// without them, and for an ensemble of several, whose output is log-probabilities).
    pub loss: LossKind,
    /// What the network needs for one input (shapes, values per sample), as checked on loading.
    pub footprint: Footprint,
    /// The checkpoint as read.
    pub checkpoint: Checkpoint,
}

impl<B: Backend> TrainedModel<B> {
    /// Reads the checkpoint at `path`, checks its network against its input layer by layer and
    /// against `budget` (for one input), and rebuilds it. Nothing is allocated for the network
    /// before those checks pass.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] for a missing, corrupt or foreign file, or one whose network
    /// cannot be rebuilt; [`TrainError::Invalid`] for metadata or a network that does not fit
    /// its input, or that would not fit `budget`.
    pub fn load(path: &Path, budget: Budget) -> Result<Self, TrainError> {
        let origin = path.display().to_string();
        let checkpoint = match Checkpoint::load(path) {
            Err(neurite_nn::CheckpointError::Foreign { .. }) if StateDict::read(path).is_ok() => {
                return Err(invalid(format!(
                    "{origin}: a safetensors file, not a checkpoint (exports are for other tools; \
                     `neurite import --safetensors {origin} …` makes a checkpoint of a PyTorch state_dict)"
                )));
            }
            loaded => loaded?,
        };
        let LayerSpec::Sequential { layers } = &checkpoint.architecture else {
            return Err(invalid(format!("{origin}: not a Sequential network")));
        };
        let input = input_of(&checkpoint, layers, &origin)?;
        let preprocessing: Preprocessing = match checkpoint.metadata(PREPROCESSING_KEY) {
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid(format!("{origin}: metadata `{PREPROCESSING_KEY}`: {e}")))?,
            None => Preprocessing::default(),
        };
        if !preprocessing.is_valid() {
            return Err(invalid(format!("{origin}: metadata `{PREPROCESSING_KEY}` is not finite with std ≠ 0")));
        }
        let dims = match preprocessing.layout {
            Layout::Nchw => vec![1, input.channels, input.height, input.width],
            Layout::Flat => vec![1, input.channels.saturating_mul(input.height).saturating_mul(input.width)],
        };
        let footprint = Footprint::of(layers, &dims).map_err(|e| invalid(format!("{origin}: {e}")))?;
        let classes = match footprint.output.as_slice() {
            [1, k] if *k > 0 => *k,
            other => {
                return Err(invalid(format!(
                    "{origin}: the network turns an input of shape {dims:?} into {other:?}, not one score per class"
                )));
            }
        };
        budget
            .check(format!("{origin}: the network on one image"), footprint.inference_bytes(1))
            .map_err(|e| invalid(e.to_string()))?;
        let class_names = match checkpoint.metadata(CLASSES_KEY) {
            Some(text) => {
                serde_json::from_str::<Vec<String>>(text).ok().filter(|names| names.len() == classes).ok_or_else(
                    || invalid(format!("{origin}: metadata `{CLASSES_KEY}` is not a list of {classes} names")),
                )?
            }
            None => (0..classes).map(|c| c.to_string()).collect(),
        };
        if let Some(i) = class_names.iter().position(|n| n.chars().any(char::is_control)) {
            return Err(invalid(format!(
                "{origin}: metadata `{CLASSES_KEY}`: class {i}'s name holds a control character"
            )));
        }
        let mut model = checkpoint.build_sequential::<B>(&origin)?;
        model.set_training(false);
        // Settings that do not read (from elsewhere, or mangled) leave the default loss: the
        // network itself does not depend on them.
        let loss = checkpoint
            .metadata(RECIPE_KEY)
            .and_then(|text| TrainConfig::parse(text).ok())
            .map_or(LossKind::CrossEntropy, |c| c.loss);
        let fit = match checkpoint.metadata(RESIZE_KEY) {
            Some(text) => {
                Some(text.parse::<Fit>().map_err(|e| invalid(format!("{origin}: metadata `{RESIZE_KEY}`: {e}")))?)
            }
            None => None,
        };
        let light_background = match checkpoint.metadata(BACKGROUND_KEY) {
            Some("light") => Some(true),
            Some("dark") => Some(false),
            Some(other) => {
                return Err(invalid(format!(
                    "{origin}: metadata `{BACKGROUND_KEY}` is `{}`, not light or dark",
                    other.escape_debug()
                )));
            }
            None => None,
        };
        Ok(TrainedModel {
            model,
            input,
            class_names,
            preprocessing,
            fit,
            light_background,
            loss,
            footprint,
            checkpoint,
        })
    }

    /// Whether `predict` inverts an image with a light background (`auto`): only for a grey
    /// model whose training images had dark backgrounds (or were not recorded: MNIST's
    /// convention), never for a colour one.
    pub fn inverts_light_images(&self) -> bool {
        self.input.channels == 1 && self.light_background != Some(true)
    }

    /// Checks that running the network on `batch` inputs at once fits `budget`.
    ///
    /// # Errors
    /// [`TrainError::Invalid`] naming both sizes.
    pub fn check_batch(&self, batch: usize, budget: Budget) -> Result<(), TrainError> {
        let what = format!("the network on a batch of {batch} images");
        budget.check(what, self.footprint.inference_bytes(batch)).map_err(|e| invalid(e.to_string()))
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// The class probabilities (softmax of the outputs) of images with values in [0, 1], each
    /// `[channels, height, width]` of the model's input size, one row per image, computed in
    /// batches of [`crate::EVAL_BATCH`] without a graph.
    ///
    /// ```no_run
    /// # use neurite_core::reference::ReferenceBackend as R;
    /// let model = neurite_train::TrainedModel::<R>::load("runs/x/model.ckpt".as_ref(), neurite_nn::Budget::from_env()?)?;
    /// let blank = vec![0.0; model.input.len()];
    /// let p = model.predict(&[blank])?;
    /// assert_eq!(p[0].len(), model.classes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for an image of another size.
    pub fn predict(&self, images: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, TrainError> {
        let size = self.input.len();
        if let Some((i, image)) = images.iter().enumerate().find(|(_, image)| image.len() != size) {
            return Err(invalid(format!(
                "image {i} has {} values; the model takes {}×{} images with {} channel(s), {size} values",
                image.len(),
                self.input.width,
                self.input.height,
                self.input.channels
            )));
        }
        let k = self.classes();
        let mut rows = Vec::with_capacity(images.len());
        for chunk in images.chunks(crate::EVAL_BATCH) {
            let p = neurite_core::no_grad(|| self.model.forward(&self.inputs(chunk)).softmax(1)).to_vec();
            rows.extend(p.chunks(k).map(<[f32]>::to_vec));
        }
        Ok(rows)
    }

    /// A batch of `[n, c, h, w]` inputs from images with values in [0, 1], preprocessed as the
    /// model was trained.
    pub fn inputs(&self, images: &[Vec<f32>]) -> Tensor<B> {
        let p = &self.preprocessing;
        let plane = self.input.height * self.input.width;
        let values: Vec<f32> = images
            .iter()
            .flat_map(|image| {
                image.chunks(plane).enumerate().flat_map(|(c, px)| px.iter().map(move |&v| p.apply_unit(v, c)))
            })
            .collect();
        let shape = match p.layout {
            Layout::Nchw => vec![images.len(), self.input.channels, self.input.height, self.input.width],
            Layout::Flat => vec![images.len(), self.input.len()],
        };
        Tensor::from_vec(values, shape)
    }
}

/// The input size recorded in a checkpoint, or, for a checkpoint made elsewhere, a guess from
/// its first layer (a square grey image for a linear layer, 28×28 for a convolution).
fn input_of(checkpoint: &Checkpoint, layers: &[LayerSpec], origin: &str) -> Result<ImageSize, TrainError> {
    if let Some(text) = checkpoint.metadata(INPUT_KEY) {
        return match serde_json::from_str::<[usize; 3]>(text) {
            Ok([c, h, w]) if c > 0 && h > 0 && w > 0 => Ok(ImageSize::new(c, h, w)),
            _ => Err(invalid(format!("{origin}: metadata `{INPUT_KEY}` is not [channels, height, width]"))),
        };
    }
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

/// Several networks of the same task used as one: its output is log(mean of the members'
/// softmax probabilities), so its arg-max is the ensemble's vote by probability and its
/// cross-entropy is that of the averaged probabilities. Inference only (it has no parameters
/// to train).
pub struct Ensemble<B: Backend> {
    members: Vec<Sequential<B>>,
}

impl<B: Backend> Module<B> for Ensemble<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut total: Option<Tensor<B>> = None;
        for member in &self.members {
            let p = member.forward(x).softmax(1);
            total = Some(match total {
                Some(t) => t.add(&p),
                None => p,
            });
        }
        let total = total.expect("an ensemble has members");
        // The smallest positive f32 keeps a class every member rules out at a finite log.
        total.mul_scalar(1.0 / self.members.len() as f32).clamp(f32::MIN_POSITIVE, 1.0).log()
    }

    fn set_training(&mut self, training: bool) {
        for member in &mut self.members {
            member.set_training(training);
        }
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::Custom { name: format!("Ensemble of {}", self.members.len()), settings: serde_json::Value::Null }
    }
}

impl<B: Backend> TrainedModel<B> {
    /// The models as one [`Ensemble`]: they must take the same input, prepared the same way, and
    /// name the same classes. The first one's checkpoint stands for the whole; the footprint is
    /// the largest member's (members run one after another).
    ///
    /// # Errors
    /// [`TrainError::Invalid`] for no model, or models that disagree (naming the first that does).
    pub fn ensemble(models: Vec<TrainedModel<B>>, names: &[String]) -> Result<TrainedModel<B>, TrainError> {
        let mut models = models.into_iter();
        let first = models.next().ok_or_else(|| invalid("an ensemble needs at least one checkpoint".into()))?;
        let mut members = vec![first.model];
        let mut footprint = first.footprint;
        // Every model is a member, named or not (a short `names` must not drop one).
        let name_of = |i: usize| names.get(i).cloned().unwrap_or_else(|| format!("checkpoint {}", i + 1));
        for (i, model) in models.enumerate() {
            let name = name_of(i + 1);
            let disagrees = if model.input != first.input {
                Some("input size")
            } else if model.class_names != first.class_names {
                Some("classes")
            } else if model.preprocessing != first.preprocessing {
                Some("preprocessing")
            } else {
                None
            };
            if let Some(what) = disagrees {
                return Err(invalid(format!(
                    "{name}: not the same {what} as {}; an ensemble's members must agree",
                    name_of(0)
                )));
            }
            if model.footprint.inference_bytes(1) > footprint.inference_bytes(1) {
                footprint = model.footprint;
            }
            members.push(model.model);
        }
        let (model, loss) = match members.len() {
            1 => (members.pop().expect("one member"), first.loss),
            _ => (Sequential::new().with(Ensemble { members }), LossKind::CrossEntropy),
        };
        Ok(TrainedModel {
            model,
            input: first.input,
            class_names: first.class_names,
            preprocessing: first.preprocessing,
            fit: first.fit,
            light_background: first.light_background,
            loss,
            footprint,
            checkpoint: first.checkpoint,
        })
    }
}
