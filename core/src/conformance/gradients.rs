//! The gradient-check table: one row per differentiable op (several for ops with broadcasting,
//! batching or flags), each compared with central finite differences on the backend under test.
//! Inputs come from `gradcheck::smooth_values`, away from kinks (ReLU at 0) and ties (max), and
//! shapes include size-1 dimensions, broadcasting and odd sizes. The check fails if any op in
//! `ops::differentiable_ops()` appears in no row's graph.

use std::collections::BTreeSet;

use crate::backend::Backend;
use crate::gradcheck::{GradcheckConfig, gradcheck, positive_values, smooth_values};
use crate::ops::differentiable_ops;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// One row of the table.
pub struct Case<B: Backend> {
    /// What the row checks.
    pub name: &'static str,
    /// The inputs; those that `requires_grad()` are checked.
    pub inputs: Vec<Tensor<B>>,
    /// The function of the inputs.
    #[allow(clippy::type_complexity)]
    pub f: Box<dyn Fn(&[Tensor<B>]) -> Tensor<B>>,
}

fn param<B: Backend>(dims: &[usize], seed: u64) -> Tensor<B> {
    Tensor::from_vec(smooth_values(Shape::new(dims), seed), dims).require_grad()
}

fn positive<B: Backend>(dims: &[usize], seed: u64) -> Tensor<B> {
    Tensor::from_vec(positive_values(Shape::new(dims), seed), dims).require_grad()
}

/// A second operand on a different grid than `param`, so maximum/minimum never tie.
fn shifted<B: Backend>(dims: &[usize], seed: u64) -> Tensor<B> {
    let values = smooth_values(Shape::new(dims), seed).into_iter().map(|v| v * 0.77).collect();
    Tensor::from_vec(values, dims).require_grad()
}

/// Small values (|v| ≤ 0.225) for a bias: added to a `param` value (|x| ≥ 0.3) the sum stays at
/// least 0.075 from ReLU's kink.
fn small<B: Backend>(dims: &[usize], seed: u64) -> Tensor<B> {
    let values = smooth_values(Shape::new(dims), seed).into_iter().map(|v| v * 0.15).collect();
    Tensor::from_vec(values, dims).require_grad()
}

fn constant<B: Backend>(values: Vec<f32>, dims: &[usize]) -> Tensor<B> {
    Tensor::from_vec(values, dims)
}

macro_rules! case {
    ($name:expr, [$($input:expr),* $(,)?], $f:expr) => {
        Case { name: $name, inputs: vec![$($input),*], f: Box::new($f) }
    };
}

/// Every row of the table.
pub fn cases<B: Backend>() -> Vec<Case<B>> {
    vec![
        // unary
        case!("neg", [param(&[3, 4], 1)], |x| x[0].neg()),
        case!("exp", [param(&[7], 2)], |x| x[0].exp()),
        case!("log", [positive(&[2, 3], 3)], |x| x[0].log()),
        case!("sqrt", [positive(&[5], 4)], |x| x[0].sqrt()),
        case!("square", [param(&[2, 1, 3], 5)], |x| x[0].square()),
        case!("abs", [param(&[4, 4], 6)], |x| x[0].abs()),
        case!("recip", [positive(&[6], 7)], |x| x[0].recip()),
        case!("sin", [param(&[5], 8)], |x| x[0].sin()),
        case!("cos", [param(&[5], 9)], |x| x[0].cos()),
        case!("sigmoid", [param(&[3, 3], 10)], |x| x[0].sigmoid()),
        case!("tanh", [param(&[3, 3], 11)], |x| x[0].tanh()),
        case!("relu", [param(&[33], 12)], |x| x[0].relu()),
        case!("leaky_relu", [param(&[9], 13)], |x| x[0].leaky_relu(0.1)),
        case!("elu", [param(&[9], 14)], |x| x[0].elu(1.0)),
        case!("gelu", [param(&[9], 15)], |x| x[0].gelu()),
        case!("softplus", [param(&[9], 16)], |x| x[0].softplus()),
        case!("add_scalar", [param(&[2], 17)], |x| x[0].add_scalar(3.0)),
        case!("mul_scalar", [param(&[2], 18)], |x| x[0].mul_scalar(-2.5)),
        case!("pow_scalar", [positive(&[4], 19)], |x| x[0].powf(2.5)),
        // Magnitudes of 6 smooth values are 0.4, 0.6, …, 1.4: none within ε of the bounds ±0.7.
        case!("clamp", [param(&[6], 20)], |x| x[0].clamp(-0.7, 0.7)),
        // binary, with broadcasting
        case!("add broadcast row", [param(&[2, 3], 21), param(&[3], 22)], |x| x[0].add(&x[1])),
        case!("sub outer", [param(&[2, 1], 23), param(&[1, 3], 24)], |x| x[0].sub(&x[1])),
        case!("mul broadcast column", [param(&[3, 4], 25), param(&[3, 1], 26)], |x| x[0].mul(&x[1])),
        case!("mul same shape", [param(&[7], 27), param(&[7], 28)], |x| x[0].mul(&x[1])),
        case!("mul by scalar tensor", [param(&[2, 2], 29), param(&[], 30)], |x| x[0].mul(&x[1])),
        case!("div", [param(&[2, 3], 31), positive(&[3], 32)], |x| x[0].div(&x[1])),
        case!("pow", [positive(&[4], 33), param(&[4], 34)], |x| x[0].pow(&x[1])),
        case!("maximum", [param(&[5], 35), shifted(&[5], 36)], |x| x[0].maximum(&x[1])),
        case!("minimum broadcast", [param(&[2, 5], 37), shifted(&[5], 38)], |x| x[0].minimum(&x[1])),
        case!("where", [constant(vec![1., 0., 1., 0., 0., 1.], &[2, 3]), param(&[2, 3], 39), param(&[3], 40)], |x| {
            Tensor::where_select(&x[0], &x[1], &x[2])
        }),
        // matmul
        case!("matmul 2-D", [param(&[3, 4], 41), param(&[4, 5], 42)], |x| x[0].matmul(&x[1])),
        case!("matmul batched", [param(&[2, 3, 4], 43), param(&[2, 4, 2], 44)], |x| x[0].matmul(&x[1])),
        case!("matmul shared rhs", [param(&[2, 3, 4], 45), param(&[4, 2], 46)], |x| x[0].matmul(&x[1])),
        case!("matmul shared lhs", [param(&[3, 4], 47), param(&[2, 4, 5], 48)], |x| x[0].matmul(&x[1])),
        case!("matmul lhs transposed", [param(&[4, 3], 49), param(&[4, 5], 50)], |x| x[0].matmul_t(&x[1], true, false)),
        case!("matmul rhs transposed", [param(&[3, 4], 51), param(&[5, 4], 52)], |x| x[0].matmul_t(&x[1], false, true)),
        case!("matmul both transposed", [param(&[2, 4, 3], 53), param(&[5, 4], 54)], |x| x[0]
            .matmul_t(&x[1], true, true)),
        // reductions
        case!("sum", [param(&[3, 4], 55)], |x| x[0].sum()),
        case!("sum_axis", [param(&[2, 3, 4], 56)], |x| x[0].sum_axis(1, false)),
        case!("sum_axis keepdim", [param(&[3, 1, 2], 57)], |x| x[0].sum_axis(0, true)),
        case!("mean_axis", [param(&[2, 7], 58)], |x| x[0].mean_axis(1, true)),
        case!("max_axis", [param(&[3, 5], 59)], |x| x[0].max_axis(1, false)),
        case!("min_axis", [param(&[4, 3], 60)], |x| x[0].min_axis(0, true)),
        // layout
        case!("reshape", [param(&[2, 6], 61)], |x| x[0].reshape([3, 4]).mul(&x[0].reshape([3, 4]).sin())),
        case!("permute", [param(&[2, 3, 4], 62)], |x| x[0].permute(&[2, 0, 1])),
        case!("broadcast_to", [param(&[3, 1], 63)], |x| x[0].broadcast_to(&Shape::new([2, 3, 4]))),
        case!("slice", [param(&[4, 5], 64)], |x| x[0].slice(&[1..3, 0..4])),
        case!("pad", [param(&[2, 3], 65)], |x| x[0].pad(&[1, 0], &[2, 1], 0.5)),
        case!("concat", [param(&[2, 3], 66), param(&[2, 1], 67)], |x| Tensor::concat(&[x[0].clone(), x[1].clone()], 1)),
        case!("flip", [param(&[3, 4], 68)], |x| x[0].flip(&[0, 1])),
        case!("index_select", [param(&[4, 3], 69)], |x| x[0].index_select(0, &[3, 0, 3, 1])),
        case!("gather", [param(&[3, 4], 70), constant(vec![2., 0., 3.], &[3, 1])], |x| x[0].gather(1, &x[1])),
        // neural-network kernels
        case!("softmax", [param(&[3, 5], 71)], |x| x[0].softmax(1)),
        case!("softmax axis 0", [param(&[4, 3], 72)], |x| x[0].softmax(0)),
        case!("log_softmax", [param(&[3, 5], 73)], |x| x[0].log_softmax(1)),
        case!(
            "softmax_cross_entropy one-hot",
            [param(&[4, 5], 74), Tensor::from_vec(vec![0., 2., 4., 1.], [4]).one_hot(5)],
            |x| x[0].softmax_cross_entropy(&x[1])
        ),
        case!("softmax_cross_entropy soft targets", [param(&[3, 4], 75), positive(&[3, 4], 76)], |x| {
            x[0].softmax_cross_entropy(&x[1])
        }),
        case!("bias_act relu on [N, C]", [param(&[5, 3], 90), small(&[3], 91)], |x| {
            x[0].bias_act(&x[1], crate::BiasAct::Relu)
        }),
        case!("bias_act sigmoid on [N, C, H, W]", [param(&[2, 3, 2, 5], 92), small(&[3], 93)], |x| {
            x[0].bias_act(&x[1], crate::BiasAct::Sigmoid)
        }),
        case!("bias_act tanh on [N, C, L]", [param(&[3, 2, 7], 94), small(&[2], 95)], |x| {
            x[0].bias_act(&x[1], crate::BiasAct::Tanh)
        }),
        case!(
            "batch_norm relu on [N, C, H, W]",
            [param(&[3, 2, 2, 3], 120), param(&[2], 121), small(&[2], 122)],
            |x| {
                // Weighted, so that the gradient is not the trivially zero one of Σ y over a channel.
                let w = Tensor::from_vec(smooth_values(Shape::new([3, 2, 2, 3]), 123), [3, 2, 2, 3]);
                x[0].batch_norm(&x[1], &x[2], 1e-5, crate::BiasAct::Relu).y.mul(&w)
            }
        ),
        case!("batch_norm none on [N, C]", [param(&[5, 3], 124), param(&[3], 125), small(&[3], 126)], |x| {
            let w = Tensor::from_vec(smooth_values(Shape::new([5, 3]), 127), [5, 3]);
            x[0].batch_norm(&x[1], &x[2], 1e-3, crate::BiasAct::None).y.mul(&w)
        }),
        case!("add_act relu", [param(&[2, 3, 4], 128), small(&[2, 3, 4], 129)], |x| {
            x[0].add_act(&x[1], crate::BiasAct::Relu)
        }),
        case!("add_act tanh, one operand twice", [param(&[7], 130)], |x| x[0].add_act(&x[0], crate::BiasAct::Tanh)),
        case!("bias_act none on [1, C, 1]", [param(&[1, 4, 1], 96), small(&[4], 97)], |x| {
            x[0].bias_act(&x[1], crate::BiasAct::None)
        }),
        case!("conv2d padded", [param(&[2, 2, 5, 5], 77), param(&[3, 2, 3, 3], 78), param(&[3], 79)], |x| {
            x[0].conv2d(&x[1], Some(&x[2]), (1, 1), (1, 1))
        }),
        case!("conv2d strided", [param(&[1, 3, 7, 6], 80), param(&[2, 3, 2, 3], 81)], |x| {
            x[0].conv2d(&x[1], None, (2, 1), (0, 0))
        }),
        case!("max_pool2d", [param(&[1, 2, 4, 4], 82)], |x| x[0].max_pool2d((2, 2), (2, 2), (0, 0))),
        case!("max_pool2d overlapping", [param(&[2, 1, 5, 5], 83)], |x| x[0].max_pool2d((3, 3), (1, 1), (1, 1))),
        case!("avg_pool2d", [param(&[1, 2, 5, 5], 84)], |x| x[0].avg_pool2d((3, 3), (2, 2), (1, 1))),
        // a composition: the graph of a small MLP with a shared weight used twice
        case!("two-layer net", [param(&[4, 3], 85), param(&[3, 3], 86), param(&[3], 87)], |x| {
            let h = x[0].matmul(&x[1]).add(&x[2]).tanh();
            h.matmul(&x[1]).sigmoid()
        }),
    ]
}

/// Runs every row; fails listing each row whose gradients disagree with finite differences and
/// each differentiable op that no row exercises.
pub fn every_differentiable_op_passes_gradcheck<B: Backend>() {
    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    for case in cases::<B>() {
        let out = (case.f)(&case.inputs);
        covered.extend(out.graph_ops());
        let report = gradcheck(&case.f, &case.inputs, GradcheckConfig::default());
        if !report.passed() {
            failures.push(format!("{}: {report}", case.name));
        }
    }
    assert!(failures.is_empty(), "gradient check failed on {}:\n{}", B::name(), failures.join("\n"));
    let missing: Vec<&str> = differentiable_ops().iter().copied().filter(|op| !covered.contains(op)).collect();
    assert!(missing.is_empty(), "differentiable ops with no gradcheck row: {missing:?}");
}
