//! `Tensor<B>`: an f32 buffer owned by backend `B`, its shape, and — when gradients are tracked —
//! the graph node that made it. Creation, inspection and graph bookkeeping live here; the ops
//! themselves live in `ops/`, and the backward pass in `autodiff.rs`.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::Backend;
use crate::check;
use crate::rng::Rng;
use crate::shape::Shape;

/// A tensor's identity: gradients are stored under it, and it survives `set_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// The backward rule of one op: given the op's inputs, its output and the gradient of the loss
/// with respect to that output, the gradient with respect to each input (`None` where an input
/// needs none). It runs with graph recording off, so it may use any tensor op.
pub(crate) trait Backward<B: Backend>: Send + Sync {
    /// The op's name, as listed by [`crate::ops::differentiable_ops`].
    fn name(&self) -> &'static str;

    /// The input gradients, one per input, each of that input's shape.
    fn backward(&self, inputs: &[Tensor<B>], output: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>>;
}

pub(crate) struct Node<B: Backend> {
    pub(crate) op: Box<dyn Backward<B>>,
    pub(crate) inputs: Vec<Tensor<B>>,
}

pub(crate) enum Grad<B: Backend> {
    /// Not part of any graph.
    None,
    /// A leaf whose gradient is wanted (a parameter or a watched input).
    Leaf,
    /// The output of a recorded op.
    Node(Node<B>),
}

pub(crate) struct Inner<B: Backend> {
    pub(crate) id: TensorId,
    pub(crate) data: Arc<B::Storage>,
    pub(crate) shape: Shape,
    pub(crate) grad: Grad<B>,
}

/// Dropping the last handle on a graph's output releases the whole graph behind it. The default
/// drop would recurse once per op (each node owns its inputs), so a network of very many layers
/// would overflow the stack; this one walks the graph with a heap stack instead, taking each
/// node's inputs out of the tensors it is the last owner of.
impl<B: Backend> Drop for Inner<B> {
    fn drop(&mut self) {
        let Grad::Node(node) = std::mem::replace(&mut self.grad, Grad::None) else { return };
        let mut pending = node.inputs;
        while let Some(tensor) = pending.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(tensor.inner)
                && let Grad::Node(node) = std::mem::replace(&mut inner.grad, Grad::None)
            {
                pending.extend(node.inputs);
            }
        }
    }
}

/// An n-dimensional array of f32 on backend `B`, with reverse-mode automatic differentiation.
///
/// Cloning is cheap: clones share the buffer and the identity. Ops never mutate their inputs.
pub struct Tensor<B: Backend> {
    pub(crate) inner: Arc<Inner<B>>,
}

impl<B: Backend> Clone for Tensor<B> {
    fn clone(&self) -> Self {
        Tensor { inner: Arc::clone(&self.inner) }
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record the graph (true unless inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Runs `f` with graph recording off on this thread: for evaluation, where no gradient is needed
/// and no graph (nor the memory it holds) should be kept.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _guard = NoGradGuard::new();
    f()
}

/// Turns graph recording off on this thread until dropped.
pub struct NoGradGuard {
    previous: bool,
}

impl NoGradGuard {
    /// Turns recording off; the previous setting returns when the guard drops.
    pub fn new() -> Self {
        let previous = GRAD_ENABLED.with(|g| g.replace(false));
        NoGradGuard { previous }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

impl<B: Backend> Tensor<B> {
    // ---- creation ------------------------------------------------------------------------------

    pub(crate) fn from_storage(data: B::Storage, shape: Shape) -> Self {
        debug_assert_eq!(B::as_slice(&data).len(), shape.numel(), "storage length vs shape {shape}");
        Tensor { inner: Arc::new(Inner { id: TensorId::fresh(), data: Arc::new(data), shape, grad: Grad::None }) }
    }

    pub(crate) fn from_shared(data: Arc<B::Storage>, shape: Shape) -> Self {
        Tensor { inner: Arc::new(Inner { id: TensorId::fresh(), data, shape, grad: Grad::None }) }
    }

    /// The result of an op: records a graph node when recording is on and any input is tracked.
    pub(crate) fn from_op(
        data: B::Storage,
        shape: Shape,
        inputs: &[&Tensor<B>],
        op: impl Backward<B> + 'static,
    ) -> Self {
        Self::from_op_shared(Arc::new(data), shape, inputs, op)
    }

    pub(crate) fn from_op_shared(
        data: Arc<B::Storage>,
        shape: Shape,
        inputs: &[&Tensor<B>],
        op: impl Backward<B> + 'static,
    ) -> Self {
        debug_assert_eq!(B::as_slice(&data).len(), shape.numel(), "{}: output length vs shape {shape}", op.name());
        let tracked = is_grad_enabled() && inputs.iter().any(|t| t.is_tracked());
        let grad = if tracked {
            debug_assert!(
                crate::ops::differentiable_ops().contains(&op.name()),
                "op `{}` records a graph node but is missing from ops::differentiable_ops()",
                op.name()
            );
            Grad::Node(Node { op: Box::new(op), inputs: inputs.iter().map(|t| (*t).clone()).collect() })
        } else {
            Grad::None
        };
        Tensor { inner: Arc::new(Inner { id: TensorId::fresh(), data, shape, grad }) }
    }

    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Panics
    /// If `data.len()` differs from the number of elements of `shape`.
    #[track_caller]
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        if data.len() != shape.numel() {
            check::fail("from_vec", format_args!("{} values cannot fill shape {shape}", data.len()));
        }
        Self::from_storage(B::from_vec(data), shape)
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar(value: f32) -> Self {
        Self::from_storage(B::from_vec(vec![value]), Shape::scalar())
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: impl Into<Shape>, value: f32) -> Self {
        let shape = shape.into();
        Self::from_storage(B::full(shape.numel(), value), shape)
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Self::full(shape, 0.0)
    }

    /// Ones of `shape`.
    pub fn ones(shape: impl Into<Shape>) -> Self {
        Self::full(shape, 1.0)
    }

    /// Zeros of this tensor's shape.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.shape().clone())
    }

    /// Ones of this tensor's shape.
    pub fn ones_like(&self) -> Self {
        Self::ones(self.shape().clone())
    }

    /// 0, 1, …, n − 1 as a `[n]` tensor.
    pub fn arange(n: usize) -> Self {
        Self::from_vec((0..n).map(|i| i as f32).collect(), [n])
    }

    /// Draws from N(mean, std²).
    pub fn randn(shape: impl Into<Shape>, mean: f32, std: f32, rng: &mut Rng) -> Self {
        let shape = shape.into();
        Self::from_vec(rng.normal_vec(shape.numel(), mean, std), shape)
    }

    /// Draws from U[lo, hi).
    pub fn rand_uniform(shape: impl Into<Shape>, lo: f32, hi: f32, rng: &mut Rng) -> Self {
        let shape = shape.into();
        Self::from_vec(rng.uniform_vec(shape.numel(), lo, hi), shape)
    }

    /// 1.0 with probability `p`, else 0.0.
    pub fn bernoulli(shape: impl Into<Shape>, p: f32, rng: &mut Rng) -> Self {
        let shape = shape.into();
        Self::from_vec(rng.bernoulli_vec(shape.numel(), p), shape)
    }

    // ---- inspection ----------------------------------------------------------------------------

    /// This tensor's identity.
    pub fn id(&self) -> TensorId {
        self.inner.id
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.inner.shape
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        self.inner.shape.dims()
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.inner.shape.rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.inner.shape.numel()
    }

    /// The backend buffer.
    pub fn storage(&self) -> &B::Storage {
        &self.inner.data
    }

    /// The values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        B::as_slice(&self.inner.data)
    }

    /// The values, copied out.
    pub fn to_vec(&self) -> Vec<f32> {
        B::to_vec(&self.inner.data)
    }

    /// The single value of a one-element tensor.
    ///
    /// # Panics
    /// If the tensor does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> f32 {
        if self.numel() != 1 {
            check::fail("item", format_args!("tensor of shape {} is not a single value", self.shape()));
        }
        self.as_slice()[0]
    }

    // ---- graph ---------------------------------------------------------------------------------

    /// Marks this tensor as a leaf whose gradient `backward` should return (a parameter, or an
    /// input whose gradient is wanted). Keeps the buffer and the identity.
    pub fn require_grad(self) -> Self {
        match &self.inner.grad {
            Grad::Leaf => self,
            _ => Tensor {
                inner: Arc::new(Inner {
                    id: self.inner.id,
                    data: Arc::clone(&self.inner.data),
                    shape: self.inner.shape.clone(),
                    grad: Grad::Leaf,
                }),
            },
        }
    }

    /// Whether this tensor is a leaf that collects a gradient.
    pub fn requires_grad(&self) -> bool {
        matches!(self.inner.grad, Grad::Leaf)
    }

    /// Whether gradients flow through this tensor (a leaf, or the output of a recorded op).
    pub fn is_tracked(&self) -> bool {
        !matches!(self.inner.grad, Grad::None)
    }

    /// The same values cut from the graph: a new identity, no node, no gradient.
    pub fn detach(&self) -> Self {
        Self::from_shared(Arc::clone(&self.inner.data), self.shape().clone())
    }

    /// Replaces the values of this tensor, keeping its identity and whether it requires a gradient
    /// (how an optimizer updates a parameter). Any graph it headed is forgotten.
    ///
    /// # Panics
    /// If `values` has a different shape.
    #[track_caller]
    pub fn set_data(&mut self, values: &Tensor<B>) {
        check::same_shape("set_data", self.shape(), values.shape());
        let grad = if self.requires_grad() { Grad::Leaf } else { Grad::None };
        self.inner = Arc::new(Inner {
            id: self.inner.id,
            data: Arc::clone(&values.inner.data),
            shape: values.shape().clone(),
            grad,
        });
    }

    /// Updates the values in place, keeping identity, shape and `requires_grad`: `f` gets the
    /// values to overwrite. The buffer is written directly when nothing else shares it (the steady
    /// state of an optimizer step), else copied first — so drop the loss (and with it the graph,
    /// which holds clones of every parameter) before updating. Any graph this tensor headed is
    /// forgotten.
    pub fn update_data(&mut self, f: impl FnOnce(&mut [f32])) {
        let grad = if self.requires_grad() { Grad::Leaf } else { Grad::None };
        let inner = match Arc::get_mut(&mut self.inner) {
            Some(inner) if matches!(inner.grad, Grad::Leaf | Grad::None) => inner,
            _ => {
                self.inner = Arc::new(Inner {
                    id: self.inner.id,
                    data: Arc::clone(&self.inner.data),
                    shape: self.inner.shape.clone(),
                    grad,
                });
                Arc::get_mut(&mut self.inner).expect("a freshly made Arc is unique")
            }
        };
        f(B::as_mut_slice(Arc::make_mut(&mut inner.data)));
    }

    /// The name of the op that made this tensor, if it was recorded.
    pub fn op_name(&self) -> Option<&'static str> {
        match &self.inner.grad {
            Grad::Node(node) => Some(node.op.name()),
            _ => None,
        }
    }

    /// The recorded inputs of the op that made this tensor (empty for a leaf).
    pub fn op_inputs(&self) -> Vec<Tensor<B>> {
        match &self.inner.grad {
            Grad::Node(node) => node.inputs.clone(),
            _ => Vec::new(),
        }
    }

    /// Every tensor of the graph that ends here, inputs before the ops that use them.
    pub fn graph_order(&self) -> Vec<Tensor<B>> {
        crate::autodiff::topological_order(self)
    }

    /// The names of the ops recorded in the graph that ends here, in evaluation order.
    pub fn graph_ops(&self) -> Vec<&'static str> {
        self.graph_order().iter().filter_map(|t| t.op_name()).collect()
    }

    /// The graph that ends here in Graphviz `dot` syntax: op nodes, with edges labelled by the
    /// shapes of the data they carry. `dot -Tpng` draws it.
    pub fn graph_dot(&self) -> String {
        let order = self.graph_order();
        let mut out = String::from("digraph neurite {\n  rankdir=LR;\n  node [fontname=\"sans\"];\n");
        for t in &order {
            let id = t.id().0;
            let label = match (t.op_name(), t.requires_grad()) {
                (Some(name), _) => name.to_string(),
                (None, true) => format!("param {}", t.shape()),
                (None, false) => format!("input {}", t.shape()),
            };
            let style = if t.op_name().is_some() { "ellipse" } else { "box" };
            out.push_str(&format!("  t{id} [label=\"{label}\", shape={style}];\n"));
            for input in t.op_inputs() {
                out.push_str(&format!("  t{} -> t{id} [label=\"{}\"];\n", input.id().0, input.shape()));
            }
        }
        out.push_str("}\n");
        out
    }
}

impl<B: Backend> fmt::Debug for Tensor<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.as_slice();
        let shown = values.len().min(8);
        write!(f, "Tensor<{}>{} {:?}", B::name(), self.shape(), &values[..shown])?;
        if values.len() > shown {
            write!(f, " … ({} values)", values.len())?;
        }
        if let Some(op) = self.op_name() {
            write!(f, " from {op}")?;
        } else if self.requires_grad() {
            write!(f, " (requires grad)")?;
        }
        Ok(())
    }
}
