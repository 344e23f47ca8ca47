//! Tensor ops: each one's forward (a backend kernel) and backward rule, written once for every
//! backend. One file per family: `unary.rs`, `binary.rs`, `matmul.rs`, `reduce.rs`, `layout.rs`,
//! `nn.rs` (softmax, losses, batch norm, convolution, pooling), and `overload.rs` (operators `+ − × ÷`).

mod binary;
mod layout;
mod matmul;
mod nn;
mod overload;
mod reduce;
mod unary;

pub use nn::BatchNormOutput;

use crate::backend::{BinaryOp, UnaryOp};

/// The ops that record a graph node and are not a [`UnaryOp`] or [`BinaryOp`] (whose variants
/// say for themselves, see [`UnaryOp::differentiable`]): each has its own backward rule in this
/// folder.
const STRUCTURAL_OPS: &[&str] = &[
    "where",
    // linear algebra
    "matmul",
    // reductions
    "sum",
    "sum_axis",
    "mean_axis",
    "max_axis",
    "min_axis",
    // layout
    "reshape",
    "permute",
    "broadcast_to",
    "slice",
    "pad",
    "concat",
    "flip",
    "index_select",
    "gather",
    // neural-network kernels
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "bias_act",
    "batch_norm",
    "add_act",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
];

/// Every op that records a graph node, by the name its node reports: the differentiable unary
/// and binary ops, then the structural ones. The gradient-check table must exercise each one;
/// recording an op missing from this list fails a debug assertion.
pub fn differentiable_ops() -> &'static [&'static str] {
    static OPS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    OPS.get_or_init(|| {
        let unary = UnaryOp::ALL.into_iter().filter(|op| op.differentiable()).map(UnaryOp::name);
        let binary = BinaryOp::ALL.into_iter().filter(|op| op.differentiable()).map(BinaryOp::name);
        unary.chain(binary).chain(STRUCTURAL_OPS.iter().copied()).collect()
    })
}
