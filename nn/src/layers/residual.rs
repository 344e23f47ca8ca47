//! Beyond chains: the residual block of He et al. ("Deep Residual Learning", 2016),
//! `activation(body(x) + shortcut(x))`, and the two parameter-free layers their CIFAR networks
//! need: [`GlobalAvgPool`] (one mean per channel before the classifier) and [`ChannelPad`] (the
//! "option A" shortcut: keep every `stride`-th pixel and add channels of zeros).

use neurite_core::{Backend, RngState, Tensor};

use crate::module::{Module, Sequential, Summary, SummaryRow};
use crate::spec::LayerSpec;

/// `activation(body(x) + shortcut(x))`, the shortcut being the identity when it has no layers.
/// Tensors are named `body.{i}.…` and `shortcut.{i}.…`, as for a PyTorch module whose `body`
/// and `shortcut` are `nn.Sequential`s.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() {
/// use neurite_core::{Rng, Tensor};
/// use neurite_nn::{Activation, BatchNormConfig, Conv2dConfig, Module, Residual, Sequential};
/// let mut rng = Rng::seed(1);
/// let body = Sequential::<B>::new()
///     .with(Conv2dConfig::new(4, 4, (3, 3)).with_padding((1, 1)).with_bias(false).init::<B>(&mut rng))
///     .with(BatchNormConfig::new(4).init_2d::<B>());
/// let block = Residual::new(body, Sequential::new(), Some(Box::new(Activation::Relu)));
/// assert_eq!(block.output_shape(&[2, 4, 8, 8]), vec![2, 4, 8, 8]);
/// # }
/// ```
pub struct Residual<B: Backend> {
    body: Sequential<B>,
    shortcut: Sequential<B>,
    activation: Option<Box<dyn Module<B>>>,
}

impl<B: Backend> Residual<B> {
    /// A block of `body`, `shortcut` (empty: the identity) and the activation after the sum.
    pub fn new(body: Sequential<B>, shortcut: Sequential<B>, activation: Option<Box<dyn Module<B>>>) -> Self {
        Residual { body, shortcut, activation }
    }

    /// The residual branch.
    pub fn body(&self) -> &Sequential<B> {
        &self.body
    }

    /// The shortcut branch (empty for the identity).
    pub fn shortcut(&self) -> &Sequential<B> {
        &self.shortcut
    }

    /// The activation after the sum, if any.
    pub fn activation(&self) -> Option<&dyn Module<B>> {
        self.activation.as_deref()
    }

    fn branches(&self) -> [(&'static str, &Sequential<B>); 2] {
        [("body", &self.body), ("shortcut", &self.shortcut)]
    }
}

fn named<T>(branch: &str, named: Vec<(String, T)>) -> impl Iterator<Item = (String, T)> {
    // The branch's own names are `layers.{i}.…`; a block names them `{branch}.{i}.…`.
    named.into_iter().map(move |(name, t)| {
        let rest = name.strip_prefix("layers.").unwrap_or(&name);
        (format!("{branch}.{rest}"), t)
    })
}

impl<B: Backend> Module<B> for Residual<B> {
    /// # Panics
    /// If the two branches give different shapes (a checked architecture never does).
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let main = self.body.forward(x);
        let shortcut = if self.shortcut.is_empty() { x.clone() } else { self.shortcut.forward(x) };
        match &self.activation {
            // ReLU, sigmoid or tanh after the sum: one fused pass, no tensor for the sum.
            Some(activation) => match activation.fusable_activation() {
                Some(act) if main.dims() == shortcut.dims() => main.add_act(&shortcut, act),
                _ => activation.forward(&main.add(&shortcut)),
            },
            None => main.add(&shortcut),
        }
    }

    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        self.branches().into_iter().flat_map(|(name, branch)| named(name, branch.params())).collect()
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        let mut out: Vec<_> = named("body", self.body.params_mut()).collect();
        out.extend(named("shortcut", self.shortcut.params_mut()));
        out
    }

    fn buffers(&self) -> Vec<(String, Tensor<B>)> {
        self.branches().into_iter().flat_map(|(name, branch)| named(name, branch.buffers())).collect()
    }

    fn buffers_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        let mut out: Vec<_> = named("body", self.body.buffers_mut()).collect();
        out.extend(named("shortcut", self.shortcut.buffers_mut()));
        out
    }

    fn set_training(&mut self, training: bool) {
        self.body.set_training(training);
        self.shortcut.set_training(training);
    }

    fn rng_states(&self) -> Vec<RngState> {
        let mut states = self.body.rng_states();
        states.extend(self.shortcut.rng_states());
        states
    }

    fn set_rng_states(&mut self, states: &[RngState]) {
        let (body, shortcut) = states.split_at(self.body.rng_states().len().min(states.len()));
        self.body.set_rng_states(body);
        self.shortcut.set_rng_states(shortcut);
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::Residual {
            body: self.body.architecture(),
            shortcut: self.shortcut.architecture(),
            activation: self.activation.as_ref().map(|a| Box::new(a.spec())),
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.body.output_shape(input)
    }

    fn as_residual(&self) -> Option<&Residual<B>> {
        Some(self)
    }

    fn summary(&self, input: &[usize]) -> Summary {
        let output = self.output_shape(input);
        let mut rows = vec![SummaryRow {
            name: String::new(),
            layer: self.spec().to_string(),
            output,
            params: self.num_params(),
            depth: 0,
        }];
        for (branch, layers) in self.branches() {
            for row in layers.summary(input).rows {
                let name = format!("{branch}.{}", row.name.strip_prefix("layers.").unwrap_or(&row.name));
                rows.push(SummaryRow { name, depth: row.depth + 1, ..row });
            }
        }
        Summary { input: input.to_vec(), rows }
    }
}

/// The mean of each channel over the whole image: `[n, c, h, w] → [n, c]`, what He et al.'s
/// networks feed their classifier (PyTorch: `nn.AdaptiveAvgPool2d(1)` then `nn.Flatten()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool;

impl<B: Backend> Module<B> for GlobalAvgPool {
    /// # Panics
    /// If the input is not 4-D.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let [n, c, h, w] = <[usize; 4]>::try_from(x.dims())
            .unwrap_or_else(|_| panic!("GlobalAvgPool takes [batch, channels, height, width], got {:?}", x.dims()));
        x.reshape([n, c, h * w]).mean_axis(2, false)
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::GlobalAvgPool
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        input.iter().take(2).copied().collect()
    }
}

/// He et al.'s shortcut option A, parameter-free: `[n, c, h, w] → [n, before + c + after,
/// ⌈h/s⌉, ⌈w/s⌉]`, keeping every `s`-th row and column (`x[:, :, ::s, ::s]`) and adding `before`
/// and `after` channels of zeros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelPad {
    stride: (usize, usize),
    before: usize,
    after: usize,
}

impl ChannelPad {
    /// Subsampling by `stride`, then `before` and `after` zero channels.
    ///
    /// # Panics
    /// If a stride is zero.
    pub fn new(stride: (usize, usize), before: usize, after: usize) -> Self {
        assert!(stride.0 > 0 && stride.1 > 0, "ChannelPad: stride {stride:?} must be positive");
        ChannelPad { stride, before, after }
    }
}

impl<B: Backend> Module<B> for ChannelPad {
    /// # Panics
    /// If the input is not 4-D.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        // A 1×1 window keeps exactly the pixels a strided slice keeps, with its gradient.
        let kept = if self.stride == (1, 1) { x.clone() } else { x.avg_pool2d((1, 1), self.stride, (0, 0)) };
        if self.before == 0 && self.after == 0 {
            kept
        } else {
            kept.pad(&[0, self.before, 0, 0], &[0, self.after, 0, 0], 0.0)
        }
    }

    fn spec(&self) -> LayerSpec {
        LayerSpec::ChannelPad { stride: [self.stride.0, self.stride.1], before: self.before, after: self.after }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        match input {
            [n, c, h, w] => {
                vec![*n, c + self.before + self.after, h.div_ceil(self.stride.0), w.div_ceil(self.stride.1)]
            }
            _ => input.to_vec(),
        }
    }
}
