//! The dense layer u = Wx + b, with PyTorch's `[out, in]` weight layout: a batch `[n, in]` is
//! multiplied by Wᵀ through `matmul_t`'s transpose flag, never a copied transpose.

use neurite_core::{Backend, BiasAct, Rng, Tensor};

use crate::init::Init;
use crate::module::Module;
use crate::spec::LayerSpec;

/// Settings of a [`Linear`] layer; [`LinearConfig::init`] draws its parameters.
///
/// ```
/// # fn demo<B: neurite_core::Backend>() {
/// use neurite_nn::{Init, LinearConfig, Module};
/// let mut rng = neurite_core::Rng::seed(1);
/// let layer = LinearConfig::new(784, 128).with_init(Init::He).init::<B>(&mut rng);
/// assert_eq!(layer.num_params(), 784 * 128 + 128);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearConfig {
    /// Inputs per sample.
    pub in_features: usize,
    /// Outputs per sample.
    pub out_features: usize,
    /// Whether to add a bias.
    pub bias: bool,
    /// Weight initializer (default [`Init::Xavier`]).
    pub init: Init,
    /// Bias initializer (default [`Init::Zeros`]).
    pub bias_init: Init,
}

impl LinearConfig {
    /// A layer from `in_features` to `out_features`, with a bias, Xavier weights and zero bias.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        LinearConfig { in_features, out_features, bias: true, init: Init::Xavier, bias_init: Init::Zeros }
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

    /// Adds a bias or not.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// Draws the parameters from `rng`: weight first, then bias.
    ///
    /// # Panics
    /// If a size is zero.
    pub fn init<B: Backend>(&self, rng: &mut Rng) -> Linear<B> {
        assert!(
            self.in_features > 0 && self.out_features > 0,
            "linear: sizes in={} out={} must be positive",
            self.in_features,
            self.out_features
        );
        let (i, o) = (self.in_features, self.out_features);
        let weight = self.init.tensor::<B>([o, i], i, o, rng).require_grad();
        let bias = self.bias.then(|| self.bias_init.tensor::<B>([o], i, o, rng).require_grad());
        Linear { weight, bias }
    }
}

/// y = x·Wᵀ + b on `[n, in]` (or `[batch, n, in]`) inputs; weight `[out, in]`, bias `[out]`.
pub struct Linear<B: Backend> {
    weight: Tensor<B>,
    bias: Option<Tensor<B>>,
}

impl<B: Backend> Linear<B> {
    /// A layer with these parameters (marked as requiring gradients).
    ///
    /// # Panics
    /// If the weight is not 2-D or the bias is not `[out]`.
    pub fn from_tensors(weight: Tensor<B>, bias: Option<Tensor<B>>) -> Self {
        assert_eq!(weight.rank(), 2, "linear: weight {} must be [out, in]", weight.shape());
        if let Some(b) = &bias {
            assert_eq!(b.dims(), [weight.dims()[0]], "linear: bias {} must be [{}]", b.shape(), weight.dims()[0]);
        }
        Linear { weight: weight.require_grad(), bias: bias.map(Tensor::require_grad) }
    }

    /// The `[out, in]` weight.
    pub fn weight(&self) -> &Tensor<B> {
        &self.weight
    }

    /// The `[out]` bias, if any.
    pub fn bias(&self) -> Option<&Tensor<B>> {
        self.bias.as_ref()
    }

    /// Inputs per sample.
    pub fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }

    /// Outputs per sample.
    pub fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }
}

impl<B: Backend> Module<B> for Linear<B> {
    /// # Panics
    /// If the input's last dimension is not `in_features` (the matmul names both shapes).
    fn forward(&self, x: &Tensor<B>) -> Tensor<B> {
        let y = x.matmul_t(&self.weight, false, true);
        match &self.bias {
            // `[batch, out]`: the bias runs along axis 1, one fused pass.
            Some(b) if y.rank() == 2 => y.bias_act(b, BiasAct::None),
            Some(b) => y.add(b),
            None => y,
        }
    }

    fn forward_activated(&self, x: &Tensor<B>, act: BiasAct) -> Option<Tensor<B>> {
        let b = self.bias.as_ref()?;
        let y = x.matmul_t(&self.weight, false, true);
        (y.rank() == 2).then(|| y.bias_act(b, act))
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
        LayerSpec::Linear {
            in_features: self.in_features(),
            out_features: self.out_features(),
            bias: self.bias.is_some(),
        }
    }

    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        let mut out = input.to_vec();
        if let Some(last) = out.last_mut() {
            *last = self.out_features();
        }
        out
    }
}
