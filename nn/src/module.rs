//! The [`Module`] trait every layer implements, the [`Sequential`] container of boxed layers, and
//! the [`Summary`] table (layer, output shape, parameter count). Layers themselves live in
//! `layers/`; the description of an architecture as data lives in `spec.rs`.

use std::fmt;

use neurite_core::{Backend, BiasAct, RngState, Tensor, no_grad};

use crate::spec::LayerSpec;

/// A differentiable building block of a network: a forward pass built from tensor ops, named
/// parameters (leaves made with `require_grad`, updated in place by an optimizer), named buffers
/// (state that is saved but not trained, such as batch norm's running statistics), and a
/// training/evaluation switch.
///
/// Names follow PyTorch's paths: a layer names its own tensors (`weight`, `bias`), and a
/// container prefixes them with its field and index (`layers.0.weight`), so state dictionaries
/// and exported files match a PyTorch model of the same structure.
///
/// Only [`Module::forward`] is required: a parameter-free layer (an activation) writes nothing
/// else. A layer whose output shape is cheap to state overrides [`Module::output_shape`]; the
/// default runs the forward pass on zeros.
pub trait Module<B: Backend>: Send + Sync {
    /// Runs the layer on a batch. Shapes are the layer's to document (`[batch, features]` for a
    /// dense layer, `[batch, channels, height, width]` for a convolution).
    fn forward(&self, x: &Tensor<B>) -> Tensor<B>;

    /// The trainable parameters, by path name (`weight`, `layers.0.bias`).
    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        Vec::new()
    }

    /// The activation this layer is, when a layer before it may fuse it into its bias add
    /// (ReLU, sigmoid, tanh): see [`Module::forward_activated`].
    fn fusable_activation(&self) -> Option<BiasAct> {
        None
    }

    /// This layer followed by `act`, in one fused bias-and-activation pass
    /// ([`Tensor::bias_act`]), if the layer can (a dense or convolutional layer with a bias).
    /// [`Sequential`] uses it for a layer followed by an activation layer; the values are those of
    /// the two layers run one after the other.
    fn forward_activated(&self, _x: &Tensor<B>, _act: BiasAct) -> Option<Tensor<B>> {
        None
    }

    /// The trainable parameters for in-place update, in the same order as [`Module::params`]
    /// (what an optimizer's `step(&mut model.params_mut(), &grads)` takes).
    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        Vec::new()
    }

    /// The non-trainable state (batch norm's `running_mean`, `running_var`), by path name. The
    /// tensors are cheap clones (shared buffers), because a layer may keep them behind a lock so
    /// that `forward(&self)` can update them.
    fn buffers(&self) -> Vec<(String, Tensor<B>)> {
        Vec::new()
    }

    /// The non-trainable state for overwriting (loading a checkpoint), in the order of
    /// [`Module::buffers`].
    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        Vec::new()
    }

    /// Switches between training (dropout active, batch statistics) and evaluation (dropout off,
    /// running statistics). Layers start in training mode, as in PyTorch.
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// The states of the random generators this layer draws from in `forward` (dropout's masks),
    /// in network order: what a checkpoint saves so that a resumed run draws the same masks.
    fn rng_states(&self) -> Vec<RngState> {
        Vec::new()
    }

    /// Continues the generators from `states`, one for each state [`Module::rng_states`] gives,
    /// in the same order.
    ///
    /// # Panics
    /// If `states.len()` differs from `self.rng_states().len()`.
    fn set_rng_states(&mut self, states: &[RngState]) {
        assert!(states.is_empty(), "set_rng_states: {} states for a layer without generators", states.len());
    }

    /// The number of trainable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|(_, t)| t.numel()).sum()
    }

    /// The layer as data: its type and settings, for checkpoints, exports and summaries. The
    /// default names a custom layer by its Rust type with no settings; a custom layer with
    /// settings overrides it with [`LayerSpec::Custom`].
    fn spec(&self) -> LayerSpec {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        let name = base.rsplit("::").next().unwrap_or(base);
        LayerSpec::Custom { name: name.to_string(), settings: serde_json::Value::Null }
    }

    /// The output shape for an input of shape `input` (batch dimension included). The default
    /// runs the forward pass on zeros without recording a graph; layers with side effects in
    /// `forward` (dropout's generator, batch norm's running statistics) override it.
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        no_grad(|| self.forward(&Tensor::zeros(input.to_vec())).dims().to_vec())
    }

    /// This layer as a residual block, if it is one (what drawings use to show its branches).
    fn as_residual(&self) -> Option<&crate::layers::Residual<B>> {
        None
    }

    /// One row per layer: name, type, output shape and parameter count, for an input of shape
    /// `input` (batch dimension included). Containers override it to list their children.
    fn summary(&self, input: &[usize]) -> Summary {
        let output = self.output_shape(input);
        Summary {
            input: input.to_vec(),
            rows: vec![SummaryRow {
                name: String::new(),
                layer: self.spec().to_string(),
                output,
                params: self.num_params(),
                depth: 0,
            }],
        }
    }
}

/// Layers applied one after the other; tensors are named `layers.{i}.{name}`, as for a PyTorch
/// module whose `self.layers` is an `nn.Sequential`.
pub struct Sequential<B: Backend> {
    layers: Vec<Box<dyn Module<B>>>,
}

impl<B: Backend> Sequential<B> {
    /// An empty stack (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// A stack of these layers, in order.
    pub fn from_layers(layers: Vec<Box<dyn Module<B>>>) -> Self {
        Sequential { layers }
    }

    /// Appends a layer (builder style).
    pub fn with(mut self, layer: impl Module<B> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: Box<dyn Module<B>>) {
        self.layers.push(layer);
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Module<B>>] {
        &self.layers
    }

    /// The layers, in order, for modification.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Module<B>>] {
        &mut self.layers
    }

    /// The number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The description of every layer, in order (what checkpoints and exports record).
    pub fn architecture(&self) -> Vec<LayerSpec> {
        self.layers.iter().map(|l| l.spec()).collect()
    }
}

impl<B: Backend> Default for Sequential<B> {
    fn default() -> Self {
        Self::new()
    }
}

fn prefixed<T>(i: usize, named: Vec<(String, T)>) -> impl Iterator<Item = (String, T)> {
    named.into_iter().map(move |(name, t)| (format!("layers.{i}.{name}"), t))
}

impl<B: Backend> Module<B> for Sequential<B> {
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let mut y = x.clone();
        let mut i = 0;
        while i < self.layers.len() {
            // A dense or convolutional layer followed by ReLU, sigmoid or tanh runs as one pass.
            let next = self.layers.get(i + 1).and_then(|l| l.fusable_activation());
            if let Some(fused) = next.and_then(|act| self.layers[i].forward_activated(&y, act)) {
                y = fused;
                i += 2;
                continue;
            }
            y = self.layers[i].forward(&y);
            i += 1;
        }
        y
    }

    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(i, l.params())).collect()
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        self.layers.iter_mut().enumerate().flat_map(|(i, l)| prefixed(i, l.params_mut())).collect()
    }

    fn buffers(&self) -> Vec<(String, Tensor<B>)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(i, l.buffers())).collect()
    }

    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        self.layers.iter_mut().enumerate().flat_map(|(i, l)| prefixed(i, l.buffers_mut())).collect()
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            layer.set_training(training);
        }
    }

    fn rng_states(&self) -> Vec<RngState> {
        self.layers.iter().flat_map(|l| l.rng_states()).collect()
    }

    fn set_rng_states(&mut self, states: &[RngState]) {
        let wanted: Vec<usize> = self.layers.iter().map(|l| l.rng_states().len()).collect();
        let total: usize = wanted.iter().sum();
        assert_eq!(states.len(), total, "set_rng_states: {} states for {total} generators", states.len());
        let mut rest = states;
        for (layer, n) in self.layers.iter_mut().zip(wanted) {
            let (mine, after) = rest.split_at(n);
            layer.set_rng_states(mine);
            rest = after;
        }
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::Sequential { layers: self.architecture() }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.layers.iter().fold(input.to_vec(), |shape, layer| layer.output_shape(&shape))
    }

    fn summary(&self, input: &[usize]) -> Summary {
        let mut rows = Vec::new();
        let mut shape = input.to_vec();
        for (i, layer) in self.layers.iter().enumerate() {
            let inner = layer.summary(&shape);
            for row in inner.rows {
                let name = if row.name.is_empty() { format!("layers.{i}") } else { format!("layers.{i}.{}", row.name) };
                rows.push(SummaryRow { name, ..row });
            }
            shape = layer.output_shape(&shape);
        }
        Summary { input: input.to_vec(), rows }
    }
}

/// One line of a [`Summary`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The layer's path (`layers.0`), empty for a lone layer.
    pub name: String,
    /// The layer's type and settings (`Linear(in=784, out=128)`).
    pub layer: String,
    /// The shape this layer outputs, batch dimension included.
    pub output: Vec<usize>,
    /// Trainable scalars in this layer (for a block, in all of its layers).
    pub params: usize,
    /// How many blocks this row is inside (0 for a layer of the network itself); a block's own
    /// row comes before its layers' rows.
    pub depth: usize,
}

/// A table of a model's layers for a given input shape; `Display` prints it with a total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The input shape the summary was computed for.
    pub input: Vec<usize>,
    /// One row per layer, in order.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// The total number of trainable scalars (a block's row counts its layers' already).
    pub fn total_params(&self) -> usize {
        self.rows.iter().filter(|r| r.depth == 0).map(|r| r.params).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = |s: &[usize]| format!("{s:?}");
        let indented = |r: &SummaryRow| format!("{}{}", "  ".repeat(r.depth), r.name);
        let name_w = self.rows.iter().map(|r| indented(r).len()).max().unwrap_or(0).max("layer".len());
        let type_w = self.rows.iter().map(|r| r.layer.chars().count()).max().unwrap_or(0).max("type".len());
        let out_w = self.rows.iter().map(|r| shape(&r.output).len()).max().unwrap_or(0).max("output shape".len());
        writeln!(f, "input {}", shape(&self.input))?;
        writeln!(f, "{:<name_w$}  {:<type_w$}  {:<out_w$}  {:>10}", "layer", "type", "output shape", "params")?;
        for r in &self.rows {
            let name = indented(r);
            writeln!(f, "{name:<name_w$}  {:<type_w$}  {:<out_w$}  {:>10}", r.layer, shape(&r.output), r.params)?;
        }
        write!(f, "total trainable parameters: {}", self.total_params())
    }
}
