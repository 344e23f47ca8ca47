//! 2-D convolution (cross-correlation, as in every deep-learning library) with stride and zero
//! padding, weight `[out, in, kh, kw]` as in PyTorch. The kernel work (im2col + matmul) is the
//! backend's, the gradient core's `conv2d` op's.

use neurite_core::backend::window_positions;
use neurite_core::{Backend, BiasAct, Rng, Tensor};

use crate::init::Init;
use crate::module::Module;
use crate::spec::LayerSpec;

/// Settings of a [`Conv2d`] layer; [`Conv2dConfig::init`] draws its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv2dConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// Vertical and horizontal stride (default 1).
    pub stride: (usize, usize),
    /// Zero padding on each side (default 0).
    pub padding: (usize, usize),
    /// Whether to add a bias (default yes).
    pub bias: bool,
    /// Weight initializer, with fan_in = in·kh·kw (default [`Init::Xavier`]).
    pub init: Init,
    /// Bias initializer (default [`Init::Zeros`]).
    pub bias_init: Init,
}

impl Conv2dConfig {
    /// `in_channels → out_channels` with a `kernel` window, stride 1, no padding.
    pub fn new(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            bias: true,
            init: Init::Xavier,
            bias_init: Init::Zeros,
        }
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: (usize, usize)) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the zero padding.
    pub fn with_padding(mut self, padding: (usize, usize)) -> Self {
        self.padding = padding;
        self
    }

    /// Adds a bias or not.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Sets the weight initializer.
    pub fn with_init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Sets the bias initializer.
    pub fn with_bias_init(mut self, init: Init) -> Self {
        self.bias_init = init;
        self
    }

    /// Draws the parameters from `rng`: weight first, then bias.
    ///
    /// # Panics
    /// If a size or stride is zero.
    pub fn init<B: Backend>(&self, rng: &mut Rng) -> Conv2d<B> {
        let sizes = [self.in_channels, self.out_channels, self.kernel.0, self.kernel.1, self.stride.0, self.stride.1];
        assert!(sizes.iter().all(|&s| s > 0), "conv2d: sizes and strides {self:?} must be positive");
        let (kh, kw) = self.kernel;
        let fan_in = self.in_channels * kh * kw;
        let fan_out = self.out_channels * kh * kw;
        let weight =
            self.init.tensor::<B>([self.out_channels, self.in_channels, kh, kw], fan_in, fan_out, rng).require_grad();
        let bias =
            self.bias.then(|| self.bias_init.tensor::<B>([self.out_channels], fan_in, fan_out, rng).require_grad());
        Conv2d { weight, bias, stride: self.stride, padding: self.padding }
    }
}

/// 2-D convolution of `[n, in, h, w]` into `[n, out, h', w']` with
/// h' = (h + 2·padding − kh)/stride + 1.
pub struct Conv2d<B: Backend> {
    weight: Tensor<B>,
    bias: Option<Tensor<B>>,
    stride: (usize, usize),
    padding: (usize, usize),
}

impl<B: Backend> Conv2d<B> {
    /// The `[out, in, kh, kw]` weight.
    pub fn weight(&self) -> &Tensor<B> {
        &self.weight
    }

    /// The `[out]` bias, if any.
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }
}

impl<B: Backend> Module<B> for Conv2d<B> {
    /// # Panics
    /// If the input is not `[n, in, h, w]` or the kernel is larger than the padded input.
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        x.conv2d(&self.weight, self.bias.as_ref(), self.stride, self.padding)
    }

    fn forward_activated(&self, x: &Tensor<B>, act: BiasAct) -> Option<Tensor<B>> {
        let b = self.bias.as_ref()?;
        Some(x.conv2d(&self.weight, None, self.stride, self.padding).bias_act(b, act))
    }

    fn params(&self) -> Vec<(String, &Tensor<B>)> {
        let mut out = vec![("weight".to_string(), &self.weight)];
        if let Some(b) = &self.bias {
            out.push(("bias".to_string(), b));
        }
        out
    }

    fn params_mut(&mut self) -> Vec<(String, &mut Tensor<B>)> {
        let mut out = vec![("weight".to_string(), &mut self.weight)];
        if let Some(b) = &mut self.bias {
            out.push(("bias".to_string(), b));
        }
        out
    }

    fn spec(&self) -> LayerSpec {
        let w = self.weight.dims();
        LayerSpec::Conv2d {
            in_channels: w[1],
            out_channels: w[0],
            kernel_size: [w[2], w[3]],
            stride: [self.stride.0, self.stride.1],
            padding: [self.padding.0, self.padding.1],
            bias: self.bias.is_some(),
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let w = self.weight.dims();
        match input {
            [n, _, h, wd] => vec![
                *n,
                w[0],
                window_positions(*h, w[2], self.stride.0, self.padding.0).unwrap_or(0),
                window_positions(*wd, w[3], self.stride.1, self.padding.1).unwrap_or(0),
            ],
            _ => input.to_vec(),
        }
    }
}
