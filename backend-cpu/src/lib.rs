//! `CpuBackend`: Neurite's portable backend. Plain Rust kernels, a cache-blocked matmul of its own
//! (no BLAS; its loops also run compiled for AVX2 where the CPU has it, with the same results), and
//! rayon parallelism over rows, lanes, images or fixed-size chunks above a size
//! threshold. Work is always split the same way whatever the thread count, and every output value
//! is computed by one thread in a fixed order, so results are bit-identical at any thread count.
//!
//! Layout kernels (slice, pad, concat, gather, …) use the portable bodies from
//! `neurite_core::reference`; they move data and are rarely hot.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod elementwise;
mod matmul;
mod nn;
mod reduce;

use neurite_core::backend::{Backend, BinaryOp, Conv2dSpec, MatmulSpec, Pool2dSpec, ReduceOp, UnaryOp};
use neurite_core::shape::Shape;

/// Below this many elements a kernel stays on the calling thread: handing work to rayon costs
/// more than it saves.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Element-wise kernels split their work into chunks of this many elements.
pub(crate) const CHUNK: usize = 1 << 13;

/// The portable rayon backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    type Storage = Vec<f32>;

    fn name() -> &'static str {
        "cpu"
    }

    fn from_vec(data: Vec<f32>) -> Vec<f32> {
        data
    }

    fn as_slice(x: &Vec<f32>) -> &[f32] {
        x
    }

    fn as_mut_slice(x: &mut Vec<f32>) -> &mut [f32] {
        x
    }

    fn to_vec(x: &Vec<f32>) -> Vec<f32> {
        x.clone()
    }

    fn unary(op: UnaryOp, x: &Vec<f32>) -> Vec<f32> {
        elementwise::unary(op, x)
    }

    fn binary(op: BinaryOp, lhs: &Vec<f32>, lhs_shape: &Shape, rhs: &Vec<f32>, rhs_shape: &Shape) -> Vec<f32> {
        elementwise::binary(op, lhs, lhs_shape, rhs, rhs_shape)
    }

    fn broadcast_to(x: &Vec<f32>, shape: &Shape, out: &Shape) -> Vec<f32> {
        elementwise::broadcast_to(x, shape, out)
    }

    fn matmul(lhs: &Vec<f32>, rhs: &Vec<f32>, spec: MatmulSpec) -> Vec<f32> {
        matmul::matmul(lhs, rhs, spec)
    }

    fn reduce(op: ReduceOp, x: &Vec<f32>, shape: &Shape, axis: usize) -> Vec<f32> {
        reduce::reduce(op, x, shape, axis)
    }

    fn softmax_rows(x: &Vec<f32>, rows: usize, cols: usize) -> Vec<f32> {
        reduce::softmax_rows(x, rows, cols, false)
    }

    fn log_softmax_rows(x: &Vec<f32>, rows: usize, cols: usize) -> Vec<f32> {
        reduce::softmax_rows(x, rows, cols, true)
    }

    fn permute(x: &Vec<f32>, shape: &Shape, axes: &[usize]) -> Vec<f32> {
        elementwise::permute(x, shape, axes)
    }

    fn im2col(x: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        nn::im2col(x, spec)
    }

    fn col2im(cols: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        nn::col2im(cols, spec)
    }

    fn conv2d(x: &Vec<f32>, weight: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        nn::conv2d(x, weight, spec)
    }

    fn conv2d_backward_input(dy: &Vec<f32>, weight: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        nn::conv2d_backward_input(dy, weight, spec)
    }

    fn max_pool2d(x: &Vec<f32>, spec: &Pool2dSpec) -> (Vec<f32>, Vec<usize>) {
        nn::max_pool2d(x, spec)
    }

    fn avg_pool2d(x: &Vec<f32>, spec: &Pool2dSpec) -> Vec<f32> {
        nn::avg_pool2d(x, spec)
    }

    fn avg_pool2d_backward(dy: &Vec<f32>, spec: &Pool2dSpec) -> Vec<f32> {
        nn::avg_pool2d_backward(dy, spec)
    }
}
