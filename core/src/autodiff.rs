//! The backward pass: walk the recorded graph from a scalar loss in reverse topological order,
//! apply each op's backward rule (the chain rule), and add up the gradients of tensors used more
//! than once. The result is a [`Gradients`] store keyed by tensor identity.

use std::collections::{HashMap, HashSet};

use crate::backend::Backend;
use crate::check;
use crate::tensor::{Grad, NoGradGuard, Tensor, TensorId};

/// The gradients of a loss with respect to the leaves (tensors made with `require_grad`) of its
/// graph, keyed by tensor identity.
pub struct Gradients<B: Backend> {
    grads: HashMap<TensorId, Tensor<B>>,
}

impl<B: Backend> Gradients<B> {
    /// An empty store.
    pub fn new() -> Self {
        Gradients { grads: HashMap::new() }
    }

    /// The gradient of `tensor`, if it is a leaf of the graph that was differentiated.
    pub fn get(&self, tensor: &Tensor<B>) -> Option<&Tensor<B>> {
        self.grads.get(&tensor.id())
    }

    /// The gradient stored under `id`.
    pub fn get_by_id(&self, id: TensorId) -> Option<&Tensor<B>> {
        self.grads.get(&id)
    }

    /// Takes the gradient of `tensor` out of the store.
    pub fn remove(&mut self, tensor: &Tensor<B>) -> Option<Tensor<B>> {
        self.grads.remove(&tensor.id())
    }

    /// Stores `grad` under `id`, adding it to any gradient already there.
    pub fn accumulate(&mut self, id: TensorId, grad: Tensor<B>) {
        let _guard = NoGradGuard::new();
        match self.grads.remove(&id) {
            Some(previous) => {
                self.grads.insert(id, previous.add(&grad));
            }
            None => {
                self.grads.insert(id, grad);
            }
        }
    }

    /// Number of gradients held.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// The identities with a gradient.
    pub fn ids(&self) -> impl Iterator<Item = TensorId> + '_ {
        self.grads.keys().copied()
    }
}

impl<B: Backend> Default for Gradients<B> {
    fn default() -> Self {
        Self::new()
    }
}

/// Every tensor reachable from `root` through recorded ops, each after all of its inputs.
/// Iterative, so a deep graph cannot overflow the stack.
pub(crate) fn topological_order<B: Backend>(root: &Tensor<B>) -> Vec<Tensor<B>> {
    let mut order = Vec::new();
    let mut seen: HashSet<TensorId> = HashSet::new();
    // (tensor, whether its inputs have been pushed already)
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Grad::Node(node) = &t.inner.grad {
            for input in node.inputs.iter().rev() {
                if input.is_tracked() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

impl<B: Backend> Tensor<B> {
    /// Differentiates this scalar with respect to every leaf of its graph: ∂self/∂leaf for each
    /// tensor made with [`Tensor::require_grad`] that this one depends on.
    ///
    /// # Panics
    /// If this tensor holds more than one element (use [`Tensor::backward_with`]).
    #[track_caller]
    pub fn backward(&self) -> Gradients<B> {
        if self.numel() != 1 {
            check::fail("backward", format_args!("needs a scalar loss, got shape {}", self.shape()));
        }
        self.backward_with(&Tensor::ones(self.shape().clone()))
    }

    /// Back-propagates `seed` (∂loss/∂self, of this tensor's shape) through the graph: the
    /// vector–Jacobian product, for a non-scalar output.
    ///
    /// # Panics
    /// If `seed` has a different shape.
    #[track_caller]
    pub fn backward_with(&self, seed: &Tensor<B>) -> Gradients<B> {
        self.backprop(seed, false)
    }

    /// Like [`Tensor::backward_with`], but keeps the gradient of every tensor of the graph, ops
    /// included, not only of the leaves: ∂loss/∂t for each t the graph passes through. For
    /// pictures and teaching (`neurite graph` writes them beside the edges); training needs only
    /// [`Tensor::backward`].
    ///
    /// # Panics
    /// If `seed` has a different shape.
    #[track_caller]
    pub fn backward_all(&self, seed: &Tensor<B>) -> Gradients<B> {
        self.backprop(seed, true)
    }

    #[track_caller]
    fn backprop(&self, seed: &Tensor<B>, keep_all: bool) -> Gradients<B> {
        check::same_shape("backward", self.shape(), seed.shape());
        let _guard = NoGradGuard::new();
        let order = topological_order(self);
        let mut pending: HashMap<TensorId, Tensor<B>> = HashMap::new();
        let mut leaves = Gradients::new();
        pending.insert(self.id(), seed.detach());
        for t in order.iter().rev() {
            let Some(dy) = pending.remove(&t.id()) else { continue };
            if keep_all && !matches!(t.inner.grad, Grad::Leaf) {
                leaves.accumulate(t.id(), dy.clone());
            }
            match &t.inner.grad {
                Grad::Leaf => leaves.accumulate(t.id(), dy),
                Grad::None => {}
                Grad::Node(node) => {
                    let output = t.detach();
                    let grads = node.op.backward(&node.inputs, &output, &dy);
                    debug_assert_eq!(grads.len(), node.inputs.len(), "{}: one gradient per input", node.op.name());
                    for (input, grad) in node.inputs.iter().zip(grads) {
                        let Some(grad) = grad else { continue };
                        if !input.is_tracked() {
                            continue;
                        }
                        if grad.shape() != input.shape() {
                            check::fail(
                                node.op.name(),
                                format_args!(
                                    "backward gave a gradient of shape {} for an input of shape {}",
                                    grad.shape(),
                                    input.shape()
                                ),
                            );
                        }
                        match pending.remove(&input.id()) {
                            Some(previous) => pending.insert(input.id(), previous.add(&grad)),
                            None => pending.insert(input.id(), grad),
                        };
                    }
                }
            }
        }
        leaves
    }
}
