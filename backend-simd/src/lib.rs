//! `SimdBackend`: Neurite's fast CPU backend. Matrix products go through the `gemm` crate's sgemm
//! (AVX2 + FMA, or AVX-512 where the CPU has it; `matrixmultiply` is the measured alternative,
//! see [`engine`]) with operands read through strides, never transposed by copy, split into
//! shape-determined output tiles on rayon; element-wise ops, activations, reductions and softmax use explicit AVX2 +
//! FMA kernels chosen once at run time, with scalar twins for other CPUs (`NEURITE_SIMD=scalar`
//! forces them); convolution is chunked im2col + one wide sgemm per chunk. Buffers come from a
//! pool, so a steady-state training step allocates no new tensor memory.
//!
//! `unsafe` lives in this crate only: the intrinsics in `arch/x86_avx2.rs` and the two sgemm
//! calls in `gemm.rs`, each block with a `// SAFETY:` line.
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod arch;
mod buffer;
mod conv;
mod direct;
mod elementwise;
mod gemm;
mod norm;
mod reduce;

pub use buffer::{Buffer, clear_pool, fresh_allocations};
pub use gemm::{Engine, engine, gemm_level};

use neurite_core::backend::{
    Backend, BatchNormSpec, BiasAct, BinaryOp, Conv2dSpec, MatmulSpec, Pool2dSpec, ReduceOp, UnaryOp,
};
use neurite_core::reference;
use neurite_core::shape::Shape;

/// The fast CPU backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimdBackend;

impl Backend for SimdBackend {
    type Storage = Buffer;

    fn name() -> &'static str {
        "simd"
    }

    fn from_vec(data: Vec<f32>) -> Buffer {
        Buffer::from_vec(data)
    }

    fn as_slice(x: &Buffer) -> &[f32] {
        x.as_slice()
    }

    fn as_mut_slice(x: &mut Buffer) -> &mut [f32] {
        x.as_mut_slice()
    }

    fn full(len: usize, value: f32) -> Buffer {
        let mut b = Buffer::uninit(len);
        b.as_mut_slice().fill(value);
        b
    }

    fn unary(op: UnaryOp, x: &Buffer) -> Buffer {
        elementwise::unary(op, x.as_slice())
    }

    fn binary(op: BinaryOp, lhs: &Buffer, lhs_shape: &Shape, rhs: &Buffer, rhs_shape: &Shape) -> Buffer {
        elementwise::binary(op, lhs.as_slice(), lhs_shape, rhs.as_slice(), rhs_shape)
    }

    fn broadcast_to(x: &Buffer, shape: &Shape, out: &Shape) -> Buffer {
        elementwise::broadcast_to(x.as_slice(), shape, out)
    }

    fn matmul(lhs: &Buffer, rhs: &Buffer, spec: MatmulSpec) -> Buffer {
        let mut out = Buffer::uninit(spec.batch * spec.m * spec.n);
        gemm::matmul(lhs.as_slice(), rhs.as_slice(), spec, out.as_mut_slice());
        out
    }

    fn bias_act(x: &Buffer, bias: &Buffer, channels: usize, inner: usize, act: BiasAct) -> Buffer {
        elementwise::bias_act(x.as_slice(), bias.as_slice(), channels, inner, act)
    }

    fn bias_act_backward(y: &Buffer, dy: &Buffer, channels: usize, inner: usize, act: BiasAct) -> (Buffer, Buffer) {
        elementwise::bias_act_backward(y.as_slice(), dy.as_slice(), channels, inner, act)
    }

    fn batch_norm(x: &Buffer, gamma: &Buffer, beta: &Buffer, spec: &BatchNormSpec) -> (Buffer, Buffer, Buffer) {
        norm::batch_norm(x.as_slice(), gamma.as_slice(), beta.as_slice(), spec)
    }

    fn batch_norm_backward(
        x: &Buffer,
        y: &Buffer,
        dy: &Buffer,
        gamma: &Buffer,
        (mean, var): (&Buffer, &Buffer),
        spec: &BatchNormSpec,
    ) -> (Buffer, Buffer, Buffer) {
        let data = (x.as_slice(), y.as_slice(), dy.as_slice());
        norm::batch_norm_backward(data, gamma.as_slice(), (mean.as_slice(), var.as_slice()), spec)
    }

    fn add_act(a: &Buffer, b: &Buffer, act: BiasAct) -> Buffer {
        norm::add_act(a.as_slice(), b.as_slice(), act)
    }

    fn add_act_backward(y: &Buffer, dy: &Buffer, act: BiasAct) -> Buffer {
        norm::add_act_backward(y.as_slice(), dy.as_slice(), act)
    }

    fn reduce(op: ReduceOp, x: &Buffer, shape: &Shape, axis: usize) -> Buffer {
        reduce::reduce(op, x.as_slice(), shape, axis)
    }

    fn softmax_rows(x: &Buffer, rows: usize, cols: usize) -> Buffer {
        reduce::softmax_rows(x.as_slice(), rows, cols, false)
    }

    fn log_softmax_rows(x: &Buffer, rows: usize, cols: usize) -> Buffer {
        reduce::softmax_rows(x.as_slice(), rows, cols, true)
    }

    fn permute(x: &Buffer, shape: &Shape, axes: &[usize]) -> Buffer {
        elementwise::permute(x.as_slice(), shape, axes)
    }

    fn slice(x: &Buffer, shape: &Shape, starts: &[usize], ends: &[usize]) -> Buffer {
        Buffer::from_vec(reference::slice(x.as_slice(), shape, starts, ends))
    }

    fn im2col(x: &Buffer, spec: &Conv2dSpec) -> Buffer {
        conv::im2col(x.as_slice(), spec)
    }

    fn col2im(cols: &Buffer, spec: &Conv2dSpec) -> Buffer {
        conv::col2im(cols.as_slice(), spec)
    }

    fn conv2d(x: &Buffer, weight: &Buffer, spec: &Conv2dSpec) -> Buffer {
        conv::conv2d(x.as_slice(), weight.as_slice(), spec)
    }

    fn conv2d_backward_input(dy: &Buffer, weight: &Buffer, spec: &Conv2dSpec) -> Buffer {
        conv::conv2d_backward_input(dy.as_slice(), weight.as_slice(), spec)
    }

    fn conv2d_backward_weight(x: &Buffer, dy: &Buffer, spec: &Conv2dSpec) -> Buffer {
        conv::conv2d_backward_weight(x.as_slice(), dy.as_slice(), spec)
    }

    fn max_pool2d(x: &Buffer, spec: &Pool2dSpec) -> (Buffer, Vec<usize>) {
        conv::max_pool2d(x.as_slice(), spec)
    }

    fn max_pool2d_backward(dy: &Buffer, argmax: &[usize], spec: &Pool2dSpec) -> Buffer {
        conv::max_pool2d_backward(dy.as_slice(), argmax, spec)
    }

    fn avg_pool2d(x: &Buffer, spec: &Pool2dSpec) -> Buffer {
        conv::avg_pool2d(x.as_slice(), spec)
    }

    fn avg_pool2d_backward(dy: &Buffer, spec: &Pool2dSpec) -> Buffer {
        conv::avg_pool2d_backward(dy.as_slice(), spec)
    }
}
