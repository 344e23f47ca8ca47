//! The `Backend` trait: the kernels a backend implements over flat f32 buffers and shapes. The
//! value types that describe them live beside it (`kernel_ops.rs`: `UnaryOp`, `BinaryOp`,
//! `ReduceOp`, `BiasAct`; `kernel_specs.rs`: `MatmulSpec`, `Conv2dSpec`, `Pool2dSpec`) and are
//! re-exported here. A kernel never sees a `Tensor`, the graph or a gradient: backward rules live
//! in `ops/` and are written once for every backend.
//!
//! A handful of kernels are required (element-wise maps, broadcasting binary ops, matmul,
//! reductions, im2col/col2im). The rest have portable default bodies, built on `reference.rs` or on
//! the required kernels, which a backend overrides where a benchmark shows a gain.

use std::fmt::Debug;

pub use crate::kernel_ops::{BiasAct, BinaryOp, ReduceOp, UnaryOp};
pub use crate::kernel_specs::{BatchNormSpec, Conv2dSpec, MatmulSpec, Pool2dSpec, window_positions};
use crate::reference;
use crate::shape::Shape;

/// Number of elements summed sequentially before partial sums are combined. Reductions over long
/// axes split their work into chunks of this fixed size, never into per-thread pieces, so results
/// are bit-identical at any thread count.
pub const REDUCE_CHUNK: usize = 1024;

/// The kernels of a tensor backend over flat, row-major f32 buffers.
///
/// Shapes arrive already checked by `Tensor` (the caller guarantees lengths match), so a kernel
/// may panic on inconsistent arguments. Kernels are pure functions: same inputs, same bits, at any
/// thread count.
pub trait Backend: Copy + Clone + Default + Debug + Send + Sync + 'static {
    /// A buffer of f32 values owned by the backend.
    type Storage: Clone + Debug + Send + Sync + 'static;

    /// A short name for reports and benchmark ids (`"cpu"`, `"simd"`).
    fn name() -> &'static str;

    // ---- storage -------------------------------------------------------------------------------

    /// Takes ownership of host values.
    fn from_vec(data: Vec<f32>) -> Self::Storage;

    /// Views the values of a buffer.
    fn as_slice(x: &Self::Storage) -> &[f32];

    /// Views the values of a buffer for writing (used for in-place updates of a buffer nothing
    /// else shares, such as an optimizer step).
    fn as_mut_slice(x: &mut Self::Storage) -> &mut [f32];

    /// Copies the values out.
    fn to_vec(x: &Self::Storage) -> Vec<f32> {
        Self::as_slice(x).to_vec()
    }

    /// A buffer of `len` copies of `value`.
    fn full(len: usize, value: f32) -> Self::Storage {
        Self::from_vec(vec![value; len])
    }

    // ---- element-wise --------------------------------------------------------------------------

    /// Applies `op` to every element.
    fn unary(op: UnaryOp, x: &Self::Storage) -> Self::Storage;

    /// Applies `op` pairwise after broadcasting both operands to `Shape::broadcast(lhs, rhs)`.
    fn binary(
        op: BinaryOp,
        lhs: &Self::Storage,
        lhs_shape: &Shape,
        rhs: &Self::Storage,
        rhs_shape: &Shape,
    ) -> Self::Storage;

    /// `cond != 0 ? a : b`, element-wise, all three broadcast to `out`.
    fn where_select(
        cond: (&Self::Storage, &Shape),
        a: (&Self::Storage, &Shape),
        b: (&Self::Storage, &Shape),
        out: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::where_select(
            (Self::as_slice(cond.0), cond.1),
            (Self::as_slice(a.0), a.1),
            (Self::as_slice(b.0), b.1),
            out,
        ))
    }

    // ---- linear algebra ------------------------------------------------------------------------

    /// The (batched) matrix product described by `spec`; the result is `[batch, m, n]`.
    fn matmul(lhs: &Self::Storage, rhs: &Self::Storage, spec: MatmulSpec) -> Self::Storage;

    // ---- reductions ----------------------------------------------------------------------------

    /// Reduces `x` of `shape` along `axis`; the result has `shape` with that axis removed.
    fn reduce(op: ReduceOp, x: &Self::Storage, shape: &Shape, axis: usize) -> Self::Storage;

    /// Softmax of each row of a `[rows, cols]` buffer, stable for large inputs (max subtracted).
    fn softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage {
        Self::from_vec(reference::softmax_rows(Self::as_slice(x), rows, cols, false))
    }

    /// Log-softmax of each row of a `[rows, cols]` buffer: x − max − ln Σ exp(x − max).
    fn log_softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage {
        Self::from_vec(reference::softmax_rows(Self::as_slice(x), rows, cols, true))
    }

    // ---- layout --------------------------------------------------------------------------------

    /// Reorders the axes: output axis `i` is input axis `axes[i]`.
    fn permute(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage {
        Self::from_vec(reference::permute(Self::as_slice(x), shape, axes))
    }

    /// `x` of `shape` repeated along broadcast dimensions to `out` (NumPy `broadcast_to`).
    fn broadcast_to(x: &Self::Storage, shape: &Shape, out: &Shape) -> Self::Storage {
        Self::from_vec(reference::broadcast_to(Self::as_slice(x), shape, out))
    }

    /// The block `starts[i]..ends[i]` along every axis.
    fn slice(x: &Self::Storage, shape: &Shape, starts: &[usize], ends: &[usize]) -> Self::Storage {
        Self::from_vec(reference::slice(Self::as_slice(x), shape, starts, ends))
    }

    /// Surrounds `x` with `before[i]` and `after[i]` cells of `value` along every axis.
    fn pad(x: &Self::Storage, shape: &Shape, before: &[usize], after: &[usize], value: f32) -> Self::Storage {
        Self::from_vec(reference::pad(Self::as_slice(x), shape, before, after, value))
    }

    /// Joins tensors that agree on every axis but `axis`.
    fn concat(parts: &[(&Self::Storage, &Shape)], axis: usize) -> Self::Storage {
        let slices: Vec<(&[f32], &Shape)> = parts.iter().map(|(s, shape)| (Self::as_slice(s), *shape)).collect();
        Self::from_vec(reference::concat(&slices, axis))
    }

    /// Reverses the order of elements along each of `axes`.
    fn flip(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage {
        Self::from_vec(reference::flip(Self::as_slice(x), shape, axes))
    }

    /// Picks `indices` along `axis` (indices may repeat); that axis becomes `indices.len()` long.
    fn index_select(x: &Self::Storage, shape: &Shape, axis: usize, indices: &[usize]) -> Self::Storage {
        Self::from_vec(reference::index_select(Self::as_slice(x), shape, axis, indices))
    }

    /// The adjoint of `index_select`: a zero tensor with `axis` of length `len`, into which each
    /// slice `i` of `src` along `axis` is added at `indices[i]`.
    fn index_add(src: &Self::Storage, src_shape: &Shape, axis: usize, indices: &[usize], len: usize) -> Self::Storage {
        Self::from_vec(reference::index_add(Self::as_slice(src), src_shape, axis, indices, len))
    }

    /// `out[.., i, ..] = x[.., index[.., i, ..], ..]` along `axis` (PyTorch's `gather`); `index`
    /// holds integral f32 values and has the shape of the output.
    fn gather(
        x: &Self::Storage,
        shape: &Shape,
        axis: usize,
        index: &Self::Storage,
        index_shape: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::gather(Self::as_slice(x), shape, axis, Self::as_slice(index), index_shape))
    }

    /// The adjoint of `gather`: a zero tensor of `out_shape` into which `src` is added at the
    /// positions `index` names along `axis`.
    fn scatter_add(
        src: &Self::Storage,
        index: &Self::Storage,
        index_shape: &Shape,
        axis: usize,
        out_shape: &Shape,
    ) -> Self::Storage {
        Self::from_vec(reference::scatter_add(Self::as_slice(src), Self::as_slice(index), index_shape, axis, out_shape))
    }

    /// `[len, classes]` rows with a 1 at each index of `indices` (integral f32 values).
    fn one_hot(indices: &Self::Storage, classes: usize) -> Self::Storage {
        Self::from_vec(reference::one_hot(Self::as_slice(indices), classes))
    }

    // ---- convolution and pooling ---------------------------------------------------------------

    /// Unfolds `[N, C, H, W]` into column matrices `[N, C·kh·kw, out_h·out_w]`; row
    /// `c·kh·kw + i·kw + j` holds input pixel `(c, y·s + i − p, x·s + j − p)` for each output
    /// position `(y, x)`, zero where it falls in the padding.
    fn im2col(x: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage;

    /// The adjoint of `im2col`: sums each column entry back into the pixel it came from.
    fn col2im(cols: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage;

    /// Cross-correlation of `[N, C, H, W]` inputs with `[F, C, kh, kw]` weights into
    /// `[N, F, out_h, out_w]` (no bias). Default: im2col, then one batched product.
    fn conv2d(x: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let cols = Self::im2col(x, spec);
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.out_channels,
            k: spec.patch_len(),
            n: spec.out_h() * spec.out_w(),
            lhs_transposed: false,
            rhs_transposed: false,
            lhs_batched: false,
            rhs_batched: true,
        };
        Self::matmul(weight, &cols, mm)
    }

    /// Gradient of `conv2d` with respect to its input, from the output gradient `dy`.
    /// Default: Wᵀ · dy per image, then col2im.
    fn conv2d_backward_input(dy: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.patch_len(),
            k: spec.out_channels,
            n: spec.out_h() * spec.out_w(),
            lhs_transposed: true,
            rhs_transposed: false,
            lhs_batched: false,
            rhs_batched: true,
        };
        let dcols = Self::matmul(weight, dy, mm);
        Self::col2im(&dcols, spec)
    }

    /// Gradient of `conv2d` with respect to its weight: Σₙ dyₙ · colsₙᵀ.
    fn conv2d_backward_weight(x: &Self::Storage, dy: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage {
        let cols = Self::im2col(x, spec);
        let mm = MatmulSpec {
            batch: spec.batch,
            m: spec.out_channels,
            k: spec.out_h() * spec.out_w(),
            n: spec.patch_len(),
            lhs_transposed: false,
            rhs_transposed: true,
            lhs_batched: true,
            rhs_batched: true,
        };
        let per_image = Self::matmul(dy, &cols, mm);
        let shape = Shape::new([spec.batch, spec.out_channels * spec.patch_len()]);
        Self::reduce(ReduceOp::Sum, &per_image, &shape, 0)
    }

    /// `act(x + bias[c])` for `x` viewed as `[outer, channels, inner]` (a dense layer's
    /// `[batch, features]` has inner = 1; a convolution's `[N, F, H, W]` has inner = H·W).
    fn bias_act(x: &Self::Storage, bias: &Self::Storage, channels: usize, inner: usize, act: BiasAct) -> Self::Storage {
        Self::from_vec(reference::bias_act(Self::as_slice(x), Self::as_slice(bias), channels, inner, act))
    }

    /// The gradients of [`Backend::bias_act`] from its output `y` and output gradient `dy`:
    /// `dz = dy·act′` (the gradient of x) and `dbias[c]` = the sum of `dz` over `outer` and
    /// `inner`, summed over `inner` first, then over `outer` in order.
    fn bias_act_backward(
        y: &Self::Storage,
        dy: &Self::Storage,
        channels: usize,
        inner: usize,
        act: BiasAct,
    ) -> (Self::Storage, Self::Storage) {
        let (dz, db) = reference::bias_act_backward(Self::as_slice(y), Self::as_slice(dy), channels, inner, act);
        (Self::from_vec(dz), Self::from_vec(db))
    }

    /// Training-mode batch normalisation with its activation, as described by `spec`: per channel
    /// c, the mean μ and the biased variance σ² of its values, then
    /// `y = act(γ[c]·(x − μ)/√(σ² + ε) + β[c])`. Returns `(y, μ, σ²)`; μ and σ² are `[channels]`.
    fn batch_norm(
        x: &Self::Storage,
        gamma: &Self::Storage,
        beta: &Self::Storage,
        spec: &BatchNormSpec,
    ) -> (Self::Storage, Self::Storage, Self::Storage) {
        let (y, mean, var) =
            reference::batch_norm(Self::as_slice(x), Self::as_slice(gamma), Self::as_slice(beta), spec);
        (Self::from_vec(y), Self::from_vec(mean), Self::from_vec(var))
    }

    /// The gradients of [`Backend::batch_norm`] with respect to x, γ and β, from its input `x`,
    /// output `y`, output gradient `dy`, γ, and the μ and σ² it returned.
    fn batch_norm_backward(
        x: &Self::Storage,
        y: &Self::Storage,
        dy: &Self::Storage,
        gamma: &Self::Storage,
        stats: (&Self::Storage, &Self::Storage),
        spec: &BatchNormSpec,
    ) -> (Self::Storage, Self::Storage, Self::Storage) {
        let (dx, dgamma, dbeta) = reference::batch_norm_backward(
            (Self::as_slice(x), Self::as_slice(y), Self::as_slice(dy)),
            Self::as_slice(gamma),
            (Self::as_slice(stats.0), Self::as_slice(stats.1)),
            spec,
        );
        (Self::from_vec(dx), Self::from_vec(dgamma), Self::from_vec(dbeta))
    }

    /// `act(a + b)` for two buffers of the same length (a residual sum and its activation, in one
    /// pass).
    fn add_act(a: &Self::Storage, b: &Self::Storage, act: BiasAct) -> Self::Storage {
        Self::from_vec(Self::as_slice(a).iter().zip(Self::as_slice(b)).map(|(&a, &b)| act.apply(a + b)).collect())
    }

    /// The gradient of [`Backend::add_act`] with respect to either operand, `dy·act′`, from its
    /// output `y`.
    fn add_act_backward(y: &Self::Storage, dy: &Self::Storage, act: BiasAct) -> Self::Storage {
        let (y, dy) = (Self::as_slice(y), Self::as_slice(dy));
        Self::from_vec(y.iter().zip(dy).map(|(&y, &g)| g * act.derivative_from_output(y)).collect())
    }

    /// Max pooling: the outputs and, for each, the flat index into the input of the winner.
    /// A window that lies wholly in the padding yields −∞ and index `usize::MAX`.
    fn max_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> (Self::Storage, Vec<usize>) {
        let (out, idx) = reference::max_pool2d(Self::as_slice(x), spec);
        (Self::from_vec(out), idx)
    }

    /// The adjoint of `max_pool2d`: each output gradient goes to its window's winner.
    fn max_pool2d_backward(dy: &Self::Storage, argmax: &[usize], spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::max_pool2d_backward(Self::as_slice(dy), argmax, spec))
    }

    /// Average pooling; padded cells count as zeros (the divisor is always kh·kw).
    fn avg_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::avg_pool2d(Self::as_slice(x), spec))
    }

    /// The adjoint of `avg_pool2d`: each output gradient is shared equally by its window.
    fn avg_pool2d_backward(dy: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage {
        Self::from_vec(reference::avg_pool2d_backward(Self::as_slice(dy), spec))
    }
}
