//! Tensor ops: each one's forward (a backend kernel) and backward rule, written once for every
//! backend. One file per family: `unary.rs`, `binary.rs`, `matmul.rs`, `reduce.rs`, `layout.rs`,
//! `nn.rs` (softmax, losses, convolution, pooling), and `overload.rs` (operators `+ − × ÷`).

mod binary;
mod layout;
mod matmul;
mod nn;
mod overload;
mod reduce;
mod unary;

/// Every op that records a graph node, by the name its node reports. The gradient-check table in
/// `core/tests/gradcheck.rs` must exercise each one; recording an op missing from this list fails
/// a debug assertion.
pub const DIFFERENTIABLE_OPS: &[&str] = &[
    // unary
    "neg",
    "exp",
    "log",
    "sqrt",
    "square",
    "abs",
    "recip",
    "sin",
    "cos",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "softplus",
    "add_scalar",
    "mul_scalar",
    "pow_scalar",
    "clamp",
    // binary (broadcasting)
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
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
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
];

/// Ops with no gradient: their outputs are never tracked. Listed so docs and tests can say so.
pub const NON_DIFFERENTIABLE_OPS: &[&str] =
    &["sign", "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "one_hot", "step"];
