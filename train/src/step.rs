//! The training step, written once: forward, loss (+ L1/L2 penalties), backward, the non-finite
//! guard, gradient clipping, optimizer update. [`crate::Learner`] runs it for every batch; the
//! course experiments, `neurite xor` and the benchmarks call [`train_step`] directly, so what is
//! measured is what users run.

use std::fmt;
use std::sync::Arc;

use neurite_core::{Backend, Gradients, Tensor};
use neurite_nn::Module;
use neurite_nn::regularization::{Penalty, penalised};
use neurite_optim::{GradClip, Optimizer};

use crate::loss::{CrossEntropy, Loss, TargetForm, count_correct};

/// How a step computes its loss and treats its gradients (everything but the model, the
/// optimizer and the data).
pub struct StepSettings<B: Backend> {
    /// The data loss.
    pub loss: Arc<dyn Loss<B>>,
    /// Penalties added to the data loss, in order.
    pub penalties: Vec<Penalty>,
    /// The parameters the penalties apply to (see [`StepSettings::penalize`]).
    pub penalised: Vec<String>,
    /// Gradient clipping before the update.
    pub clip: Option<GradClip>,
}

impl<B: Backend> Clone for StepSettings<B> {
    fn clone(&self) -> Self {
        StepSettings {
            loss: Arc::clone(&self.loss),
            penalties: self.penalties.clone(),
            penalised: self.penalised.clone(),
            clip: self.clip,
        }
    }
}

impl<B: Backend> fmt::Debug for StepSettings<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepSettings")
            .field("loss", &self.loss.name())
            .field("penalties", &self.penalties)
            .field("penalised", &self.penalised)
            .field("clip", &self.clip)
            .finish()
    }
}

impl<B: Backend> Default for StepSettings<B> {
    /// Softmax cross-entropy, no penalty, no clipping.
    fn default() -> Self {
        StepSettings::new(CrossEntropy)
    }
}

impl<B: Backend> StepSettings<B> {
    /// Steps minimising `loss`, with no penalty and no clipping.
    pub fn new(loss: impl Loss<B> + 'static) -> Self {
        Self::with_loss(Arc::new(loss))
    }

    /// Steps minimising a shared loss, with no penalty and no clipping.
    pub fn with_loss(loss: Arc<dyn Loss<B>>) -> Self {
        StepSettings { loss, penalties: Vec::new(), penalised: Vec::new(), clip: None }
    }

    /// Adds `penalty` over the weights of `model` (every `weight` but batch norm's, see
    /// [`neurite_nn::regularization::penalised`]). A penalty of strength 0 is left out.
    pub fn penalize(mut self, penalty: Penalty, model: &dyn Module<B>) -> Self {
        if penalty.strength() != 0.0 {
            self.penalties.push(penalty);
            self.penalised = penalised(model);
        }
        self
    }

    /// Clips the gradients before each update.
    pub fn clip(mut self, clip: GradClip) -> Self {
        self.clip = Some(clip);
        self
    }

    /// How many samples of a batch the outputs get right, as [`Loss::predicted`] says, against
    /// the classes its targets stand for: the indices themselves, the largest entry of one-hot
    /// rows, or for a single value per sample, class 1 above 0.5.
    pub fn correct(&self, outputs: &Tensor<B>, targets: &Tensor<B>) -> usize {
        let labels: Vec<usize> = match self.loss.targets() {
            TargetForm::ClassIndices => targets.as_slice().iter().map(|&l| l as usize).collect(),
            TargetForm::Values if targets.rank() == 2 && targets.dims()[1] > 1 => {
                targets.argmax(1, false).as_slice().iter().map(|&c| c as usize).collect()
            }
            TargetForm::Values => targets.as_slice().iter().map(|&t| usize::from(t > 0.5)).collect(),
        };
        count_correct(&self.loss.predicted(outputs), &labels)
    }
}

/// What one step measured, before its update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutput {
    /// The minimised loss: the data loss plus the penalties.
    pub loss: f32,
    /// The data loss alone (what a training curve shows).
    pub data_loss: f32,
    /// Samples the model got right (see [`StepSettings::correct`]).
    pub correct: usize,
}

/// A step whose loss or gradients were not finite; the model and optimizer were left untouched.
#[derive(Clone, Debug, PartialEq)]
pub struct NonFinite {
    /// The minimised loss.
    pub loss: f32,
    /// The first parameter, in model order, whose gradient holds a NaN or an infinity.
    pub parameter: Option<String>,
}

/// One optimizer step on a batch: the model in training mode, forward, loss and penalties,
/// backward, then (if every value is finite) clipping and the update. The graph is dropped
/// before the update, so each parameter is rewritten in place.
///
/// ```
/// use neurite_core::{Tensor, reference::ReferenceBackend as R};
/// use neurite_nn::{Module, models::MlpConfig};
/// use neurite_optim::{Sgd, SgdConfig};
/// use neurite_train::{CrossEntropy, StepSettings, train_step};
///
/// let mut model = MlpConfig::new(2, &[8], 2).init::<R>(1);
/// let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..Default::default() })?;
/// let x = Tensor::<R>::from_vec(vec![0.0, 1.0, 1.0, 0.0], [2, 2]);
/// let labels = Tensor::<R>::from_vec(vec![1.0, 0.0], [2]);
/// let settings = StepSettings::new(CrossEntropy);
/// let first = train_step(&mut model, &mut sgd, &x, &labels, &settings).expect("finite");
/// for _ in 0..20 {
///     train_step(&mut model, &mut sgd, &x, &labels, &settings).expect("finite");
/// }
/// let last = train_step(&mut model, &mut sgd, &x, &labels, &settings).expect("finite");
/// assert!(last.loss < first.loss && last.correct == 2);
/// # Ok::<(), neurite_optim::OptimError>(())
/// ```
///
/// # Errors
/// [`NonFinite`] if the loss or a gradient is NaN or infinite; nothing is updated then.
///
/// # Panics
/// If the targets do not fit the loss (see [`Loss::of`]).
pub fn train_step<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    inputs: &Tensor<B>,
    targets: &Tensor<B>,
    settings: &StepSettings<B>,
) -> Result<StepOutput, NonFinite> {
    model.set_training(true);
    let (output, grads) = {
        let outputs = model.forward(inputs);
        let data_loss = settings.loss.of(&outputs, targets);
        let total = add_penalties(model, data_loss.clone(), settings);
        let output = StepOutput {
            loss: total.item(),
            data_loss: data_loss.item(),
            correct: settings.correct(&outputs, targets),
        };
        (output, total.backward())
        // The graph, which holds clones of every parameter, ends here: the update below then
        // writes each parameter's buffer in place.
    };
    update(model, optimizer, output, &grads, settings)
}

/// `loss` plus the settings' penalties over the model's weights, in the graph.
pub(crate) fn add_penalties<B: Backend>(
    model: &dyn Module<B>,
    loss: Tensor<B>,
    settings: &StepSettings<B>,
) -> Tensor<B> {
    let mut total = loss;
    if !settings.penalties.is_empty() {
        let params = model.params();
        let weights = || params.iter().filter(|(name, _)| settings.penalised.contains(name)).map(|(_, t)| *t);
        for penalty in &settings.penalties {
            total = total.add(&penalty.of(weights()));
        }
    }
    total
}

/// The end of a step once its gradients are known: the non-finite guard, clipping, the
/// optimizer's update and the proximal L1 step. Shared by [`train_step`] and the data-parallel
/// step, which sums its gradients across ranks first.
pub(crate) fn update<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    output: StepOutput,
    grads: &Gradients<B>,
    settings: &StepSettings<B>,
) -> Result<StepOutput, NonFinite> {
    let bad = first_non_finite(model, grads);
    if !output.loss.is_finite() || bad.is_some() {
        return Err(NonFinite { loss: output.loss, parameter: bad });
    }
    let mut params = model.params_mut();
    match &settings.clip {
        Some(clip) => {
            let clipped = clip.apply(&params, grads);
            optimizer.step(&mut params, &clipped);
        }
        None => optimizer.step(&mut params, grads),
    }
    if settings.penalties.iter().any(|p| matches!(p, Penalty::L1Proximal(_))) {
        let lr = optimizer.learning_rate();
        for (_, weight) in params.iter_mut().filter(|(name, _)| settings.penalised.contains(name)) {
            for penalty in &settings.penalties {
                penalty.proximal_step(weight, lr);
            }
        }
    }
    Ok(output)
}

/// The name of the first parameter whose gradient holds a NaN or an infinity.
fn first_non_finite<B: Backend>(model: &dyn Module<B>, grads: &Gradients<B>) -> Option<String> {
    model
        .params()
        .into_iter()
        .find(|(_, p)| grads.get(p).is_some_and(|g| !all_finite(g.as_slice())))
        .map(|(name, _)| name)
}

/// Whether no value is NaN or infinite. A float is one of those exactly when its exponent bits
/// are all ones; OR-ing that test over the slice, without an early exit, lets the compiler
/// vectorise the loop (the guard reads every gradient of every step, so its speed matters).
fn all_finite(values: &[f32]) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    !values.iter().fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nan_and_infinities_are_not_finite() {
        assert!(all_finite(&[0.0, -0.0, 1.0, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45]));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
            let mut values = vec![1.0; 37];
            values[29] = bad;
            assert!(!all_finite(&values), "{bad}");
        }
        assert!(all_finite(&[]));
    }
}
