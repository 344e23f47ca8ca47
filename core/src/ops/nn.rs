//! The kernels neural networks are made of: softmax and log-softmax (stable), the fused
//! log-softmax + negative log-likelihood loss, 2-D convolution and pooling. Layers that use them
//! live in `neurite-nn`.

use crate::backend::{Backend, BatchNormSpec, BiasAct, Conv2dSpec, Pool2dSpec, window_positions};
use crate::check;
use crate::shape::Shape;
use crate::tensor::{Backward, Tensor};

struct Softmax {
    log: bool,
}

impl<B: Backend> Backward<B> for Softmax {
    fn name(&self) -> &'static str {
        if self.log { "log_softmax" } else { "softmax" }
    }

    fn backward(&self, _inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let last = y.rank() - 1;
        let dx = if self.log {
            // y = x − logΣeˣ: dx = dy − softmax(x)·Σdy
            dy.sub(&y.exp().mul(&dy.sum_axis(last, true)))
        } else {
            // y = softmax(x): dx = y·(dy − Σ dy·y)
            y.mul(&dy.sub(&dy.mul(y).sum_axis(last, true)))
        };
        vec![Some(dx)]
    }
}

struct SoftmaxCrossEntropy;

impl<B: Backend> Backward<B> for SoftmaxCrossEntropy {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (logits, targets) = (&inputs[0], &inputs[1]);
        let n = logits.dims()[0] as f32;
        let scale = dy.item() / n;
        let rows = logits.dims()[0];
        let cols = logits.dims()[1];
        let logp = Tensor::from_storage(B::log_softmax_rows(logits.storage(), rows, cols), logits.shape().clone());
        // L = −(1/N) Σ t·log p: ∂L/∂x = (p·Σt − t)/N, which is (p − t)/N for one-hot targets.
        let dx = logp.exp().mul(&targets.sum_axis(1, true)).sub(targets).mul_scalar(scale);
        let dt = targets.is_tracked().then(|| logp.mul_scalar(-scale));
        vec![Some(dx), dt]
    }
}

struct BiasActivation {
    channels: usize,
    inner: usize,
    act: BiasAct,
}

impl<B: Backend> Backward<B> for BiasActivation {
    fn name(&self) -> &'static str {
        "bias_act"
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (x, b) = (&inputs[0], &inputs[1]);
        let (dz, db) = B::bias_act_backward(y.storage(), dy.storage(), self.channels, self.inner, self.act);
        let dx = x.is_tracked().then(|| Tensor::from_storage(dz, x.shape().clone()));
        let db = b.is_tracked().then(|| Tensor::from_storage(db, b.shape().clone()));
        vec![dx, db]
    }
}

struct BatchNorm<B: Backend> {
    spec: BatchNormSpec,
    mean: B::Storage,
    var: B::Storage,
}

impl<B: Backend> Backward<B> for BatchNorm<B> {
    fn name(&self) -> &'static str {
        "batch_norm"
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (x, gamma, beta) = (&inputs[0], &inputs[1], &inputs[2]);
        let (dx, dgamma, dbeta) = B::batch_norm_backward(
            x.storage(),
            y.storage(),
            dy.storage(),
            gamma.storage(),
            (&self.mean, &self.var),
            &self.spec,
        );
        vec![
            x.is_tracked().then(|| Tensor::from_storage(dx, x.shape().clone())),
            gamma.is_tracked().then(|| Tensor::from_storage(dgamma, gamma.shape().clone())),
            beta.is_tracked().then(|| Tensor::from_storage(dbeta, beta.shape().clone())),
        ]
    }
}

struct AddActivation {
    act: BiasAct,
}

impl<B: Backend> Backward<B> for AddActivation {
    fn name(&self) -> &'static str {
        "add_act"
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        // Both operands receive dy·act′: one buffer, shared.
        let dz = Tensor::from_storage(B::add_act_backward(y.storage(), dy.storage(), self.act), y.shape().clone());
        vec![inputs[0].is_tracked().then(|| dz.clone()), inputs[1].is_tracked().then_some(dz)]
    }
}

/// What [`Tensor::batch_norm`] returns: the output, and the batch statistics it normalised with
/// (outside the graph), for a layer's running estimates.
pub struct BatchNormOutput<B: Backend> {
    /// act(γ·x̂ + β), the input's shape.
    pub y: Tensor<B>,
    /// Each channel's batch mean, `[channels]`.
    pub mean: Tensor<B>,
    /// Each channel's biased batch variance (divided by the count), `[channels]`.
    pub var: Tensor<B>,
}

struct Conv2d {
    spec: Conv2dSpec,
}

impl<B: Backend> Backward<B> for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let dx = x.is_tracked().then(|| {
            Tensor::from_storage(B::conv2d_backward_input(dy.storage(), w.storage(), &self.spec), x.shape().clone())
        });
        let dw = w.is_tracked().then(|| {
            Tensor::from_storage(B::conv2d_backward_weight(x.storage(), dy.storage(), &self.spec), w.shape().clone())
        });
        vec![dx, dw]
    }
}

struct MaxPool2d {
    spec: Pool2dSpec,
    argmax: Vec<usize>,
}

impl<B: Backend> Backward<B> for MaxPool2d {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let dx = B::max_pool2d_backward(dy.storage(), &self.argmax, &self.spec);
        vec![Some(Tensor::from_storage(dx, inputs[0].shape().clone()))]
    }
}

struct AvgPool2d {
    spec: Pool2dSpec,
}

impl<B: Backend> Backward<B> for AvgPool2d {
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }

    fn backward(&self, inputs: &[Tensor<B>], _y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let dx = B::avg_pool2d_backward(dy.storage(), &self.spec);
        vec![Some(Tensor::from_storage(dx, inputs[0].shape().clone()))]
    }
}

impl<B: Backend> Tensor<B> {
    fn softmax_impl(&self, axis: usize, log: bool) -> Tensor<B> {
        let name = if log { "log_softmax" } else { "softmax" };
        check::axis(name, self.shape(), axis);
        let last = self.rank() - 1;
        if axis != last {
            // Move the axis last, apply, and move it back: both moves are differentiable.
            return self.transpose(axis, last).softmax_impl(last, log).transpose(axis, last);
        }
        let cols = self.dims()[last];
        let rows = self.numel().checked_div(cols).unwrap_or(0);
        let data = if log {
            B::log_softmax_rows(self.storage(), rows, cols)
        } else {
            B::softmax_rows(self.storage(), rows, cols)
        };
        Tensor::from_op(data, self.shape().clone(), &[self], Softmax { log })
    }

    /// Softmax along `axis`: eˣ/Σeˣ, computed with the maximum subtracted so large inputs do not
    /// overflow.
    ///
    /// # Panics
    /// If `axis` is out of range.
    #[track_caller]
    pub fn softmax(&self, axis: usize) -> Tensor<B> {
        self.softmax_impl(axis, false)
    }

    /// Log-softmax along `axis`: x − max − ln Σ eˣ⁻ᵐᵃˣ, finite even where softmax underflows.
    #[track_caller]
    pub fn log_softmax(&self, axis: usize) -> Tensor<B> {
        self.softmax_impl(axis, true)
    }

    /// Mean softmax cross-entropy of `[n, classes]` logits against `[n, classes]` target
    /// probabilities (one-hot rows for hard labels): −(1/n) Σᵢ Σⱼ tᵢⱼ log softmax(xᵢ)ⱼ. Log-softmax
    /// and the loss are fused, so the gradient is the stable (softmax − t)/n.
    ///
    /// # Panics
    /// If the shapes differ or are not 2-D.
    #[track_caller]
    pub fn softmax_cross_entropy(&self, targets: &Tensor<B>) -> Tensor<B> {
        check::rank("softmax_cross_entropy", "logits", self.shape(), 2);
        check::same_shape("softmax_cross_entropy", self.shape(), targets.shape());
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        let logp = B::log_softmax_rows(self.storage(), rows, cols);
        let prod = B::binary(crate::backend::BinaryOp::Mul, &logp, self.shape(), targets.storage(), targets.shape());
        let flat = Shape::new([rows * cols]);
        let total = B::as_slice(&B::reduce(crate::backend::ReduceOp::Sum, &prod, &flat, 0))[0];
        let loss = if rows == 0 { 0.0 } else { -total / rows as f32 };
        Tensor::from_op(B::from_vec(vec![loss]), Shape::scalar(), &[self, targets], SoftmaxCrossEntropy)
    }

    /// 2-D cross-correlation (what deep learning calls convolution) of `[N, C, H, W]` inputs with
    /// `[F, C, kh, kw]` weights and an optional `[F]` bias, into `[N, F, out_h, out_w]` with
    /// out = (in + 2·padding − k)/stride + 1.
    ///
    /// # Panics
    /// If the ranks or channel counts disagree, the bias is not `[F]`, a stride is 0, or the
    /// kernel is larger than the padded input.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Tensor<B>,
        bias: Option<&Tensor<B>>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Tensor<B> {
        check::rank("conv2d", "input", self.shape(), 4);
        check::rank("conv2d", "weight", weight.shape(), 4);
        let (x, w) = (self.dims(), weight.dims());
        if x[1] != w[1] {
            check::fail(
                "conv2d",
                format_args!(
                    "input {} has {} channels, weight {} expects {}",
                    self.shape(),
                    x[1],
                    weight.shape(),
                    w[1]
                ),
            );
        }
        if stride.0 == 0 || stride.1 == 0 {
            check::fail("conv2d", format_args!("stride {stride:?} must be positive"));
        }
        let fits = |len, k, s, p| window_positions(len, k, s, p).is_some();
        if !fits(x[2], w[2], stride.0, padding.0) || !fits(x[3], w[3], stride.1, padding.1) {
            check::fail(
                "conv2d",
                format_args!(
                    "kernel {} is larger than the input {} padded by {padding:?}",
                    weight.shape(),
                    self.shape()
                ),
            );
        }
        let spec = Conv2dSpec {
            batch: x[0],
            in_channels: x[1],
            height: x[2],
            width: x[3],
            out_channels: w[0],
            kernel_h: w[2],
            kernel_w: w[3],
            stride,
            padding,
        };
        let data = B::conv2d(self.storage(), weight.storage(), &spec);
        let y = Tensor::from_op(data, spec.output_shape(), &[self, weight], Conv2d { spec });
        match bias {
            None => y,
            Some(b) => {
                if b.dims() != [w[0]] {
                    check::fail("conv2d", format_args!("bias {} must be [{}]", b.shape(), w[0]));
                }
                y.bias_act(b, BiasAct::None)
            }
        }
    }

    /// `act(self + bias)` with the `[C]` bias added along axis 1 (`[N, C]` rows of a dense layer,
    /// `[N, C, H, W]` maps of a convolution), in one fused pass: the same values as
    /// `self.add(&bias.reshape([1, C, 1, …])).relu()` (or `.sigmoid()`, `.tanh()`), with one node
    /// in the graph instead of two and one backward pass instead of three.
    ///
    /// # Panics
    /// If `self` has fewer than two dimensions or `bias` is not `[C]`.
    #[track_caller]
    pub fn bias_act(&self, bias: &Tensor<B>, act: BiasAct) -> Tensor<B> {
        let dims = self.dims();
        if dims.len() < 2 {
            check::fail("bias_act", format_args!("input {} needs at least two dimensions", self.shape()));
        }
        if bias.dims() != [dims[1]] {
            check::fail(
                "bias_act",
                format_args!("bias {} must be [{}] for input {}", bias.shape(), dims[1], self.shape()),
            );
        }
        let (channels, inner) = (dims[1], dims[2..].iter().product());
        let data = B::bias_act(self.storage(), bias.storage(), channels, inner, act);
        Tensor::from_op(data, self.shape().clone(), &[self, bias], BiasActivation { channels, inner, act })
    }

    /// Training-mode batch normalisation over axis 1 with an activation, in one fused pass
    /// forward and one backward: for `[N, C]` rows or `[N, C, H, W]` maps, each channel c is
    /// normalised with the mean μ and variance σ² of its values in this batch,
    /// `y = act(γ[c]·(x − μ)/√(σ² + ε) + β[c])`. The values are those of the same formula written
    /// with `mean_axis`, `sub`, `div`, `mul`, `add` and the activation (to rounding); the graph has
    /// one node instead of about twelve, and no intermediate tensor is kept for backward.
    ///
    /// # Panics
    /// If `self` has fewer than two dimensions, γ or β is not `[C]`, or ε is not positive.
    #[track_caller]
    pub fn batch_norm(&self, gamma: &Tensor<B>, beta: &Tensor<B>, eps: f32, act: BiasAct) -> BatchNormOutput<B> {
        let dims = self.dims();
        if dims.len() < 2 {
            check::fail("batch_norm", format_args!("input {} needs at least two dimensions", self.shape()));
        }
        for (name, t) in [("gamma", gamma), ("beta", beta)] {
            if t.dims() != [dims[1]] {
                check::fail(
                    "batch_norm",
                    format_args!("{name} {} must be [{}] for input {}", t.shape(), dims[1], self.shape()),
                );
            }
        }
        if eps.is_nan() || eps <= 0.0 {
            check::fail("batch_norm", format_args!("eps {eps} must be positive"));
        }
        let spec = BatchNormSpec { outer: dims[0], channels: dims[1], inner: dims[2..].iter().product(), eps, act };
        let (y, mean, var) = B::batch_norm(self.storage(), gamma.storage(), beta.storage(), &spec);
        let stats = Shape::new([spec.channels]);
        let op = BatchNorm::<B> { spec, mean: mean.clone(), var: var.clone() };
        BatchNormOutput {
            y: Tensor::from_op(y, self.shape().clone(), &[self, gamma, beta], op),
            mean: Tensor::from_storage(mean, stats.clone()),
            var: Tensor::from_storage(var, stats),
        }
    }

    /// `act(self + other)` for two tensors of one shape, in one fused pass (a residual block's sum
    /// and its ReLU): the values of `self.add(other)` followed by the activation, with one node
    /// and one backward pass, whose gradient both operands share.
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn add_act(&self, other: &Tensor<B>, act: BiasAct) -> Tensor<B> {
        if self.dims() != other.dims() {
            check::fail("add_act", format_args!("shapes {} and {} differ", self.shape(), other.shape()));
        }
        let data = B::add_act(self.storage(), other.storage(), act);
        Tensor::from_op(data, self.shape().clone(), &[self, other], AddActivation { act })
    }

    fn pool_spec(
        &self,
        name: &str,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Pool2dSpec {
        check::rank(name, "input", self.shape(), 4);
        let x = self.dims();
        if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
            check::fail(name, format_args!("kernel {kernel:?} and stride {stride:?} must be positive"));
        }
        let fits = |len, k, s, p| window_positions(len, k, s, p).is_some();
        if !fits(x[2], kernel.0, stride.0, padding.0) || !fits(x[3], kernel.1, stride.1, padding.1) {
            check::fail(
                name,
                format_args!("window {kernel:?} is larger than the input {} padded by {padding:?}", self.shape()),
            );
        }
        if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
            check::fail(name, format_args!("padding {padding:?} must be at most half the window {kernel:?}"));
        }
        Pool2dSpec { batch: x[0], channels: x[1], height: x[2], width: x[3], kernel, stride, padding }
    }

    /// Max pooling of `[N, C, H, W]` over `kernel` windows. The gradient goes to each window's
    /// largest input (the first, on ties).
    ///
    /// # Panics
    /// If the input is not 4-D, a size is 0, or the window does not fit.
    #[track_caller]
    pub fn max_pool2d(&self, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Tensor<B> {
        let spec = self.pool_spec("max_pool2d", kernel, stride, padding);
        let (data, argmax) = B::max_pool2d(self.storage(), &spec);
        Tensor::from_op(data, spec.output_shape(), &[self], MaxPool2d { spec, argmax })
    }

    /// Average pooling of `[N, C, H, W]` over `kernel` windows (padding counts as zeros).
    ///
    /// # Panics
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn avg_pool2d(&self, kernel: (usize, usize), stride: (usize, usize), padding: (usize, usize)) -> Tensor<B> {
        let spec = self.pool_spec("avg_pool2d", kernel, stride, padding);
        let data = B::avg_pool2d(self.storage(), &spec);
        Tensor::from_op(data, spec.output_shape(), &[self], AvgPool2d { spec })
    }
}
