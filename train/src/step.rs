//! The training step, written once: forward, loss (+ L1/L2 penalties), backward, the non-finite
//! guard, gradient clipping, optimizer update. [`crate::Learner`] runs it for every batch; the
//! course experiments, `neurite xor` and the benchmarks call [`train_step`] directly, so what is
//! measured is what users run.

use neurite_core::{Backend, Gradients, Tensor};
use neurite_nn::regularization::{Penalty, penalised};
use neurite_nn::{Module, loss};
use neurite_optim::{GradClip, Optimizer};

/// The loss a step minimises, and the targets it takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loss {
    /// Softmax cross-entropy of `[n, classes]` scores; targets are class indices `[n]`.
    #[default]
    CrossEntropy,
    /// The course's mean squared error E = 1/(2N)·Σ‖y − t‖²; targets have the output's shape
    /// (one-hot rows for a classifier).
    Mse,
    /// Binary cross-entropy of probabilities in (0, 1); targets of the output's shape.
    Bce,
    /// Binary cross-entropy of logits (sigmoid folded in, stable); targets of the output's shape.
    BceWithLogits,
}

impl Loss {
    /// What the loss is called on a chart or in a table.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "squared error",
            Loss::Bce | Loss::BceWithLogits => "binary cross-entropy",
        }
    }

    /// The loss of `outputs` against `targets`, a scalar in the graph.
    ///
    /// # Panics
    /// If the targets do not have the shape this loss takes.
    pub fn of<B: Backend>(self, outputs: &Tensor<B>, targets: &Tensor<B>) -> Tensor<B> {
        match self {
            Loss::CrossEntropy => loss::cross_entropy(outputs, targets),
            Loss::Mse => loss::mse(outputs, targets, loss::MseReduction::HalfSumPerSample),
            Loss::Bce => loss::bce(outputs, targets),
            Loss::BceWithLogits => loss::bce_with_logits(outputs, targets),
        }
    }

    /// Whether the targets are class indices (`[n]`) rather than values of the output's shape.
    pub fn takes_class_indices(self) -> bool {
        self == Loss::CrossEntropy
    }

    /// How many samples the outputs get right: the largest score at the class (class indices, or
    /// the largest target entry of one-hot rows), or, for a single output per sample, the same
    /// side of the decision threshold as the target (0.5 for probabilities, 0 for logits).
    pub fn correct<B: Backend>(self, outputs: &Tensor<B>, targets: &Tensor<B>) -> usize {
        let predicted = || outputs.argmax(1, false);
        if self.takes_class_indices() {
            let labels = targets.as_slice();
            return predicted().as_slice().iter().zip(labels).filter(|(p, l)| p == l).count();
        }
        if outputs.rank() == 2 && outputs.dims()[1] > 1 {
            let classes = targets.argmax(1, false);
            return predicted().as_slice().iter().zip(classes.as_slice()).filter(|(p, c)| p == c).count();
        }
        let threshold = if self == Loss::BceWithLogits { 0.0 } else { 0.5 };
        outputs.as_slice().iter().zip(targets.as_slice()).filter(|(y, t)| (**y > threshold) == (**t > 0.5)).count()
    }
}

/// How a step computes its loss and treats its gradients (everything but the model, the
/// optimizer and the data).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepSettings {
    /// The data loss.
    pub loss: Loss,
    /// Penalties added to the data loss, in order.
    pub penalties: Vec<Penalty>,
    /// The parameters the penalties apply to (see [`StepSettings::penalize`]).
    pub penalised: Vec<String>,
    /// Gradient clipping before the update.
    pub clip: Option<GradClip>,
}

impl StepSettings {
    /// Steps minimising `loss`, with no penalty and no clipping.
    pub fn new(loss: Loss) -> Self {
        StepSettings { loss, ..StepSettings::default() }
    }

    /// Adds `penalty` over the weights of `model` (every `weight` but batch norm's, see
    /// [`neurite_nn::regularization::penalised`]). A penalty of strength 0 is left out.
    pub fn penalize<B: Backend>(mut self, penalty: Penalty, model: &dyn Module<B>) -> Self {
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
}

/// What one step measured, before its update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutput {
    /// The minimised loss: the data loss plus the penalties.
    pub loss: f32,
    /// The data loss alone (what a training curve shows).
    pub data_loss: f32,
    /// Samples the model got right (see [`Loss::correct`]).
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
/// use neurite_train::{Loss, StepSettings, train_step};
///
/// let mut model = MlpConfig::new(2, &[8], 2).init::<R>(1);
/// let mut sgd = Sgd::new(SgdConfig { lr: 0.5, ..Default::default() })?;
/// let x = Tensor::<R>::from_vec(vec![0.0, 1.0, 1.0, 0.0], [2, 2]);
/// let labels = Tensor::<R>::from_vec(vec![1.0, 0.0], [2]);
/// let settings = StepSettings::new(Loss::CrossEntropy);
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
    settings: &StepSettings,
) -> Result<StepOutput, NonFinite> {
    model.set_training(true);
    let (output, grads) = {
        let outputs = model.forward(inputs);
        let data_loss = settings.loss.of(&outputs, targets);
        let total = add_penalties(model, data_loss.clone(), settings);
        let output = StepOutput {
            loss: total.item(),
            data_loss: data_loss.item(),
            correct: settings.loss.correct(&outputs, targets),
        };
        (output, total.backward())
        // The graph, which holds clones of every parameter, ends here: the update below then
        // writes each parameter's buffer in place.
    };
    update(model, optimizer, output, &grads, settings)
}

/// `loss` plus the settings' penalties over the model's weights, in the graph.
pub(crate) fn add_penalties<B: Backend>(model: &dyn Module<B>, loss: Tensor<B>, settings: &StepSettings) -> Tensor<B> {
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
    settings: &StepSettings,
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
