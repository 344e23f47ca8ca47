//! Element-wise ops of one tensor: activations (sigmoid, tanh, ReLU, leaky ReLU, ELU, GELU,
//! softplus), exp/log/sqrt and friends, and scalar arithmetic. Each backward rule reuses the input
//! or the output, whichever is cheaper: d tanh = dy·(1 − y²), d sigmoid = dy·y(1 − y).

use crate::backend::{Backend, UnaryOp};
use crate::tensor::{Backward, Tensor};

/// The recorded form of a unary op; `backward` gives the chain-rule factor for each.
struct Unary(UnaryOp);

impl<B: Backend> Backward<B> for Unary {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn backward(&self, inputs: &[Tensor<B>], y: &Tensor<B>, dy: &Tensor<B>) -> Vec<Option<Tensor<B>>> {
        let x = &inputs[0];
        let dx = match self.0 {
            // d(−x) = −dy
            UnaryOp::Neg => dy.neg(),
            // d eˣ = dy·eˣ = dy·y
            UnaryOp::Exp => dy.mul(y),
            // d ln x = dy/x
            UnaryOp::Log => dy.div(x),
            // d √x = dy/(2√x) = dy·0.5/y
            UnaryOp::Sqrt => dy.mul(&y.recip().mul_scalar(0.5)),
            // d x² = 2x·dy
            UnaryOp::Square => dy.mul(&x.mul_scalar(2.0)),
            // d|x| = sign(x)·dy (0 at the kink)
            UnaryOp::Abs => dy.mul(&x.sign()),
            // d(1/x) = −dy/x² = −dy·y²
            UnaryOp::Recip => dy.mul(&y.square()).neg(),
            UnaryOp::Sin => dy.mul(&x.cos()),
            UnaryOp::Cos => dy.mul(&x.sin()).neg(),
            // d σ(x) = dy·y(1 − y)
            UnaryOp::Sigmoid => dy.mul(&y.mul(&y.neg().add_scalar(1.0))),
            // d tanh x = dy·(1 − y²)
            UnaryOp::Tanh => dy.mul(&y.square().neg().add_scalar(1.0)),
            UnaryOp::Relu => dy.mul(&x.map(UnaryOp::Step)),
            UnaryOp::LeakyRelu(alpha) => dy.mul(&x.map(UnaryOp::LeakyReluDeriv(alpha))),
            UnaryOp::Elu(alpha) => dy.mul(&x.map(UnaryOp::EluDeriv(alpha))),
            UnaryOp::Gelu => dy.mul(&x.map(UnaryOp::GeluDeriv)),
            // d softplus = σ(x)
            UnaryOp::Softplus => dy.mul(&x.sigmoid()),
            UnaryOp::AddScalar(_) => dy.clone(),
            UnaryOp::MulScalar(c) => dy.mul_scalar(c),
            // d xᶜ = c·xᶜ⁻¹
            UnaryOp::PowScalar(c) => dy.mul(&x.powf(c - 1.0).mul_scalar(c)),
            // The gradient passes where the input was inside [lo, hi].
            UnaryOp::Clamp(lo, hi) => {
                let inside = x.ge(&Tensor::scalar(lo)).mul(&x.le(&Tensor::scalar(hi)));
                dy.mul(&inside)
            }
            UnaryOp::Sign | UnaryOp::Step | UnaryOp::LeakyReluDeriv(_) | UnaryOp::EluDeriv(_) | UnaryOp::GeluDeriv => {
                unreachable!("{} has no gradient and records no node", self.0.name())
            }
        };
        vec![Some(dx)]
    }
}

impl<B: Backend> Tensor<B> {
    /// Applies an element-wise [`UnaryOp`], recording it when it has a gradient rule. Crate-private:
    /// the public API is the named methods below, so the derivatives that backward rules use are
    /// not reachable (and not differentiated) from outside.
    pub(crate) fn map(&self, op: UnaryOp) -> Tensor<B> {
        let data = B::unary(op, self.storage());
        if op.differentiable() {
            Tensor::from_op(data, self.shape().clone(), &[self], Unary(op))
        } else {
            Tensor::from_storage(data, self.shape().clone())
        }
    }

    /// −x
    pub fn neg(&self) -> Tensor<B> {
        self.map(UnaryOp::Neg)
    }
    /// eˣ
    pub fn exp(&self) -> Tensor<B> {
        self.map(UnaryOp::Exp)
    }
    /// ln x
    pub fn log(&self) -> Tensor<B> {
        self.map(UnaryOp::Log)
    }
    /// √x
    pub fn sqrt(&self) -> Tensor<B> {
        self.map(UnaryOp::Sqrt)
    }
    /// x²
    pub fn square(&self) -> Tensor<B> {
        self.map(UnaryOp::Square)
    }
    /// |x|
    pub fn abs(&self) -> Tensor<B> {
        self.map(UnaryOp::Abs)
    }
    /// −1, 0 or 1 (no gradient).
    pub fn sign(&self) -> Tensor<B> {
        self.map(UnaryOp::Sign)
    }
    /// 1/x
    pub fn recip(&self) -> Tensor<B> {
        self.map(UnaryOp::Recip)
    }
    /// sin x
    pub fn sin(&self) -> Tensor<B> {
        self.map(UnaryOp::Sin)
    }
    /// cos x
    pub fn cos(&self) -> Tensor<B> {
        self.map(UnaryOp::Cos)
    }
    /// The logistic sigmoid 1/(1 + e⁻ˣ).
    pub fn sigmoid(&self) -> Tensor<B> {
        self.map(UnaryOp::Sigmoid)
    }
    /// tanh x
    pub fn tanh(&self) -> Tensor<B> {
        self.map(UnaryOp::Tanh)
    }
    /// max(x, 0)
    pub fn relu(&self) -> Tensor<B> {
        self.map(UnaryOp::Relu)
    }
    /// x for x > 0, else αx.
    pub fn leaky_relu(&self, alpha: f32) -> Tensor<B> {
        self.map(UnaryOp::LeakyRelu(alpha))
    }
    /// x for x > 0, else α(eˣ − 1).
    pub fn elu(&self, alpha: f32) -> Tensor<B> {
        self.map(UnaryOp::Elu(alpha))
    }
    /// GELU (tanh approximation).
    pub fn gelu(&self) -> Tensor<B> {
        self.map(UnaryOp::Gelu)
    }
    /// ln(1 + eˣ), without overflow.
    pub fn softplus(&self) -> Tensor<B> {
        self.map(UnaryOp::Softplus)
    }
    /// x + c
    pub fn add_scalar(&self, c: f32) -> Tensor<B> {
        self.map(UnaryOp::AddScalar(c))
    }
    /// x − c
    pub fn sub_scalar(&self, c: f32) -> Tensor<B> {
        self.map(UnaryOp::AddScalar(-c))
    }
    /// x · c
    pub fn mul_scalar(&self, c: f32) -> Tensor<B> {
        self.map(UnaryOp::MulScalar(c))
    }
    /// x / c
    pub fn div_scalar(&self, c: f32) -> Tensor<B> {
        self.map(UnaryOp::MulScalar(1.0 / c))
    }
    /// xᶜ
    pub fn powf(&self, c: f32) -> Tensor<B> {
        self.map(UnaryOp::PowScalar(c))
    }
    /// min(max(x, lo), hi)
    pub fn clamp(&self, lo: f32, hi: f32) -> Tensor<B> {
        self.map(UnaryOp::Clamp(lo, hi))
    }
}
