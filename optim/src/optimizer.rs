//! The `Optimizer` trait, the plain-data `OptimizerState` that checkpoints store, and the two
//! building blocks every optimizer here is written with: `fused_update` (one pass over each
//! parameter's buffer) and `BufferStore` (per-parameter state keyed by parameter path). The update
//! rules themselves live in one file each (`sgd.rs`, `momentum.rs`, …).

use std::collections::BTreeMap;

use neurite_core::{Backend, Gradients, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::OptimError;

/// A rule that moves parameters against their gradients.
///
/// Parameters come as `(path, tensor)` pairs, as a model's `params_mut()` gives them
/// (`"layers.0.weight"`). Per-parameter state is keyed by that path, so it survives a save and a
/// restore into freshly built tensors. A parameter without a gradient in `grads` is skipped and
/// its state (if any) is left as it was.
///
/// Mini-batch SGD and full-batch gradient descent are the same `step`: which examples the loss
/// was averaged over is the data loader's choice, not the optimizer's.
///
/// Drop the loss (and so its graph, which holds clones of the parameters) before calling `step`:
/// the update then writes each parameter's buffer in place instead of copying it first.
///
/// ```
/// use neurite_core::{Tensor, reference::ReferenceBackend as R};
/// use neurite_optim::{Optimizer, Sgd, SgdConfig};
///
/// // L = θ², so dL/dθ = 2θ = 6 at θ = 3; one step of lr 0.1 gives 3 − 0.6 = 2.4.
/// let mut theta = Tensor::<R>::scalar(3.0).require_grad();
/// let grads = theta.square().backward();
/// let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() })?;
/// sgd.step(&mut [("theta".to_string(), &mut theta)], &grads);
/// assert!((theta.item() - 2.4).abs() < 1e-6);
/// # Ok::<(), neurite_optim::OptimError>(())
/// ```
pub trait Optimizer<B: Backend> {
    /// Applies one update to every parameter that has a gradient in `grads`.
    ///
    /// # Panics
    /// If a gradient's element count differs from its parameter's, or a restored state's buffer
    /// does not fit its parameter (check with [`OptimizerState::check_params`] after loading).
    fn step(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>);

    /// Everything needed to continue exactly where this optimizer is: learning rate, step count
    /// and per-parameter buffers.
    fn state(&self) -> OptimizerState;

    /// Restores a state returned by [`Optimizer::state`] of an optimizer of the same kind; the
    /// steps that follow are bit-identical to those of the optimizer that saved it.
    ///
    /// # Errors
    /// [`OptimError`] if the state belongs to another kind of optimizer, its learning rate is
    /// invalid, or a parameter's buffers are missing, unknown or of unequal lengths. Nothing
    /// changes on error.
    fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError>;

    /// The learning rate used by the next step.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate of the following steps (how a [`crate::Schedule`] drives an
    /// optimizer).
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    fn set_learning_rate(&mut self, lr: f32);

    /// A short lower-case name (`"adam"`), stored in the state and checked when it is loaded.
    fn name(&self) -> &str {
        "custom"
    }
}

impl<B: Backend, O: Optimizer<B> + ?Sized> Optimizer<B> for Box<O> {
    fn step(&mut self, params: &mut [(String, &mut Tensor<B>)], grads: &Gradients<B>) {
        (**self).step(params, grads)
    }
    fn state(&self) -> OptimizerState {
        (**self).state()
    }
    fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        (**self).load_state(state)
    }
    fn learning_rate(&self) -> f32 {
        (**self).learning_rate()
    }
    fn set_learning_rate(&mut self, lr: f32) {
        (**self).set_learning_rate(lr)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// An optimizer's resumable state as plain data; serde writes it into checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The optimizer's [`Optimizer::name`].
    pub optimizer: String,
    /// The learning rate in effect (a schedule may have changed it from the configured one).
    pub lr: f32,
    /// Calls of `step` so far.
    pub steps: u64,
    /// Per-parameter state, keyed by parameter path, in path order.
    pub params: BTreeMap<String, ParamState>,
}

/// One parameter's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// Updates applied to this parameter (Adam's `t` for bias correction).
    pub step: u64,
    /// Named buffers (`"m"`, `"v"`), each with one value per element of the parameter.
    pub buffers: BTreeMap<String, Vec<f32>>,
}

impl OptimizerState {
    /// The state of a fresh optimizer: no step taken, no parameter seen.
    pub fn new(optimizer: impl Into<String>, lr: f32) -> Self {
        OptimizerState { optimizer: optimizer.into(), lr, steps: 0, params: BTreeMap::new() }
    }

    /// Checks that every parameter named in this state exists in `params` with as many elements
    /// as each of its buffers: a checkpoint loader calls it so that a mismatched state is an
    /// error rather than a panic in the next `step`.
    ///
    /// # Errors
    /// [`OptimError::UnknownParameter`] or [`OptimError::BufferLength`].
    pub fn check_params<B: Backend>(&self, params: &[(String, &mut Tensor<B>)]) -> Result<(), OptimError> {
        let sizes: BTreeMap<&str, usize> = params.iter().map(|(name, t)| (name.as_str(), t.numel())).collect();
        for (param, state) in &self.params {
            let Some(&expected) = sizes.get(param.as_str()) else {
                return Err(OptimError::UnknownParameter { param: param.clone() });
            };
            for (buffer, values) in &state.buffers {
                if values.len() != expected {
                    return Err(OptimError::BufferLength {
                        param: param.clone(),
                        buffer: buffer.clone(),
                        expected,
                        found: values.len(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks that this state was saved by `optimizer` and that its learning rate is valid.
    ///
    /// # Errors
    /// [`OptimError::WrongOptimizer`] or [`OptimError::InvalidSetting`].
    pub fn check_owner(&self, optimizer: &'static str) -> Result<(), OptimError> {
        if self.optimizer != optimizer {
            return Err(OptimError::WrongOptimizer { expected: optimizer.to_string(), found: self.optimizer.clone() });
        }
        crate::error::check_learning_rate(optimizer, self.lr)
    }
}

/// Runs `update(path, values, grad)` once for each parameter that has a gradient, with the
/// parameter's values (written in place, see [`Tensor::update_data`]) and its gradient, both
/// row-major and of equal length. No tensor is created.
///
/// # Panics
/// If a gradient's element count differs from its parameter's.
pub fn fused_update<B: Backend>(
    params: &mut [(String, &mut Tensor<B>)],
    grads: &Gradients<B>,
    mut update: impl FnMut(&str, &mut [f32], &[f32]),
) {
    for (path, param) in params.iter_mut() {
        let Some(grad) = grads.get(param) else { continue };
        assert_eq!(
            grad.numel(),
            param.numel(),
            "optimizer: gradient of `{path}` has shape {}, parameter has shape {}",
            grad.shape(),
            param.shape()
        );
        let grad = grad.as_slice();
        param.update_data(|values| update(path, values, grad));
    }
}

/// One parameter's state inside an optimizer: the update count and `N` buffers of the
/// parameter's length, zero at first.
#[derive(Clone, Debug, PartialEq)]
pub struct Slot<const N: usize> {
    /// Updates applied so far, counting the one in progress (1 during the first update).
    pub step: u64,
    /// The buffers, in the order of the store's names.
    pub buffers: [Vec<f32>; N],
}

/// Per-parameter state of an optimizer with `N` named buffers per parameter (Adam: `m`, `v`),
/// keyed by parameter path; converts to and from [`OptimizerState`].
#[derive(Clone, Debug, PartialEq)]
pub struct BufferStore<const N: usize> {
    names: [&'static str; N],
    slots: BTreeMap<String, Slot<N>>,
}

impl<const N: usize> BufferStore<N> {
    /// An empty store whose slots hold buffers called `names`.
    pub fn new(names: [&'static str; N]) -> Self {
        BufferStore { names, slots: BTreeMap::new() }
    }

    /// The buffer names.
    pub fn names(&self) -> [&'static str; N] {
        self.names
    }

    /// The slot of `path`, if that parameter has been updated (or restored).
    pub fn get(&self, path: &str) -> Option<&Slot<N>> {
        self.slots.get(path)
    }

    /// Number of parameters with state.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no parameter has state yet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Like [`fused_update`], with each parameter's slot (created zeroed on first use, its
    /// `step` counter already advanced): `update(values, grad, slot)`.
    ///
    /// # Panics
    /// If a gradient's or a restored buffer's length differs from its parameter's.
    pub fn update<B: Backend>(
        &mut self,
        optimizer: &str,
        params: &mut [(String, &mut Tensor<B>)],
        grads: &Gradients<B>,
        mut update: impl FnMut(&mut [f32], &[f32], &mut Slot<N>),
    ) {
        fused_update(params, grads, |path, values, grad| {
            let slot = self.slot_mut(optimizer, path, values.len());
            slot.step += 1;
            update(values, grad, slot);
        });
    }

    fn slot_mut(&mut self, optimizer: &str, path: &str, len: usize) -> &mut Slot<N> {
        if !self.slots.contains_key(path) {
            let slot = Slot { step: 0, buffers: std::array::from_fn(|_| vec![0.0; len]) };
            self.slots.insert(path.to_string(), slot);
        }
        let slot = self.slots.get_mut(path).expect("the slot was inserted above");
        if let Some(buffer) = slot.buffers.first() {
            assert_eq!(
                buffer.len(),
                len,
                "{optimizer}: restored state of `{path}` holds {} values, parameter has {len}",
                buffer.len()
            );
        }
        slot
    }

    /// The slots as [`ParamState`]s, keyed by path.
    pub fn to_state(&self) -> BTreeMap<String, ParamState> {
        self.slots
            .iter()
            .map(|(path, slot)| {
                let buffers = self.names.iter().zip(&slot.buffers).map(|(n, b)| (n.to_string(), b.clone())).collect();
                (path.clone(), ParamState { step: slot.step, buffers })
            })
            .collect()
    }

    /// A store with names `names` holding `params`.
    ///
    /// # Errors
    /// [`OptimError::MissingBuffer`], [`OptimError::UnknownBuffer`], or
    /// [`OptimError::BufferLength`] when a parameter's buffers differ in length.
    pub fn from_state(
        optimizer: &str,
        names: [&'static str; N],
        params: BTreeMap<String, ParamState>,
    ) -> Result<Self, OptimError> {
        let mut slots = BTreeMap::new();
        for (path, mut state) in params {
            let mut buffers: [Vec<f32>; N] = std::array::from_fn(|_| Vec::new());
            for (buffer, name) in buffers.iter_mut().zip(names) {
                *buffer = state.buffers.remove(name).ok_or_else(|| OptimError::MissingBuffer {
                    optimizer: optimizer.to_string(),
                    param: path.clone(),
                    buffer: name.to_string(),
                })?;
            }
            if let Some(extra) = state.buffers.into_keys().next() {
                return Err(OptimError::UnknownBuffer { optimizer: optimizer.to_string(), param: path, buffer: extra });
            }
            if let Some(first) = buffers.first() {
                let expected = first.len();
                if let Some((name, buffer)) = names.iter().zip(&buffers).find(|(_, b)| b.len() != expected) {
                    return Err(OptimError::BufferLength {
                        param: path,
                        buffer: name.to_string(),
                        expected,
                        found: buffer.len(),
                    });
                }
            }
            slots.insert(path, Slot { step: state.step, buffers });
        }
        Ok(BufferStore { names, slots })
    }
}

/// What every optimizer of this crate keeps besides its settings: its name, the learning rate in
/// force, the step count and the per-parameter buffers, with the state round trip written once.
/// Each optimizer's file holds only its settings, their checks and its update rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct OptimCore<const N: usize> {
    name: &'static str,
    pub(crate) lr: f32,
    steps: u64,
    store: BufferStore<N>,
}

impl<const N: usize> OptimCore<N> {
    /// A fresh optimizer called `name` (checked learning rate `lr`) with buffers `buffers`.
    pub(crate) fn new(name: &'static str, buffers: [&'static str; N], lr: f32) -> Self {
        OptimCore { name, lr, steps: 0, store: BufferStore::new(buffers) }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// # Panics
    /// If `lr` is negative or not finite.
    #[track_caller]
    pub(crate) fn set_learning_rate(&mut self, lr: f32) {
        assert!(lr.is_finite() && lr >= 0.0, "{}: set_learning_rate({lr}) needs a finite number >= 0", self.name);
        self.lr = lr;
    }

    pub(crate) fn state(&self) -> OptimizerState {
        OptimizerState { optimizer: self.name.into(), lr: self.lr, steps: self.steps, params: self.store.to_state() }
    }

    pub(crate) fn load_state(&mut self, state: OptimizerState) -> Result<(), OptimError> {
        state.check_owner(self.name)?;
        self.store = BufferStore::from_state(self.name, self.store.names(), state.params)?;
        self.lr = state.lr;
        self.steps = state.steps;
        Ok(())
    }

    /// One step: `rule(values, grad, slot)` for each parameter with a gradient (see
    /// [`BufferStore::update`]).
    pub(crate) fn update<B: Backend>(
        &mut self,
        params: &mut [(String, &mut Tensor<B>)],
        grads: &Gradients<B>,
        rule: impl FnMut(&mut [f32], &[f32], &mut Slot<N>),
    ) {
        self.store.update(self.name, params, grads, rule);
        self.steps += 1;
    }
}

/// Writes, for an optimizer struct with fields `config: $config` and `core: OptimCore<_>` and an
/// inherent `fn update`, the inherent accessors (`config`, `learning_rate`, `set_learning_rate`,
/// `name`, `state`, `load_state`, so callers need not name a backend) and the `Optimizer<B>` impl.
macro_rules! impl_optimizer {
    ($ty:ty, $config:ty) => {
        impl $ty {
            /// The settings it was built with (the learning rate may have changed since).
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// The learning rate of the next step.
            pub fn learning_rate(&self) -> f32 {
                self.core.lr
            }

            /// Sets the learning rate.
            ///
            /// # Panics
            /// If `lr` is negative or not finite.
            pub fn set_learning_rate(&mut self, lr: f32) {
                self.core.set_learning_rate(lr);
            }

            /// The name stored in its state.
            pub fn name(&self) -> &str {
                self.core.name()
            }

            /// See [`crate::Optimizer::state`].
            pub fn state(&self) -> $crate::OptimizerState {
                self.core.state()
            }

            /// See [`crate::Optimizer::load_state`].
            ///
            /// # Errors
            /// As [`crate::Optimizer::load_state`].
            pub fn load_state(&mut self, state: $crate::OptimizerState) -> Result<(), $crate::OptimError> {
                self.core.load_state(state)
            }
        }

        impl<B: neurite_core::Backend> $crate::Optimizer<B> for $ty {
            fn step(
                &mut self,
                params: &mut [(String, &mut neurite_core::Tensor<B>)],
                grads: &neurite_core::Gradients<B>,
            ) {
                self.update(params, grads)
            }
            fn state(&self) -> $crate::OptimizerState {
                <$ty>::state(self)
            }
            fn load_state(&mut self, state: $crate::OptimizerState) -> Result<(), $crate::OptimError> {
                <$ty>::load_state(self, state)
            }
            fn learning_rate(&self) -> f32 {
                <$ty>::learning_rate(self)
            }
            fn set_learning_rate(&mut self, lr: f32) {
                <$ty>::set_learning_rate(self, lr)
            }
            fn name(&self) -> &str {
                <$ty>::name(self)
            }
        }
    };
}
pub(crate) use impl_optimizer;
