//! Where a step's time goes, kernel by kernel. [`Profiled<B>`] is a backend that runs every kernel
//! of `B` unchanged and adds its wall time to a process-wide table, keyed by the kernel and its
//! operation (`binary Mul`, `reduce Sum`) or, for convolutions, its geometry
//! (`conv2d_backward_input 16→16 32×32 k3 s1`). Train a model on
//! `Profiled<SimdBackend>` instead of `SimdBackend`, then read [`take`]: the figures are the same
//! kernels, so the numbers are the backend's own, plus one clock read per call.
//!
//! ```
//! # fn demo<B: neurite_core::Backend>() {
//! use neurite_core::{Tensor, profile::{self, Profiled}};
//! profile::reset();
//! let x = Tensor::<Profiled<B>>::ones([4, 4]);
//! let _ = x.matmul(&x).relu();
//! let rows = profile::take();
//! assert!(rows.iter().any(|r| r.kernel == "matmul" && r.calls == 1));
//! # }
//! ```
//!
//! The table is shared by every thread; a kernel that runs kernels of its own (a default body
//! calling `im2col`) is counted once, under the name it was called by.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, BatchNormSpec, BiasAct, BinaryOp, Conv2dSpec, MatmulSpec, Pool2dSpec, ReduceOp, UnaryOp,
};
use crate::shape::Shape;

/// One kernel's share of the time since the last [`reset`] or [`take`].
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileRow {
    /// The kernel, with its operation where it has one (`unary Relu`, `unary MulScalar`).
    pub kernel: String,
    /// Times it ran.
    pub calls: u64,
    /// Wall time inside it, all calls together.
    pub time: Duration,
}

static TABLE: Mutex<Option<HashMap<String, (u64, Duration)>>> = Mutex::new(None);

fn record(kernel: String, time: Duration) {
    let mut guard = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let entry = guard.get_or_insert_with(HashMap::new).entry(kernel).or_default();
    entry.0 += 1;
    entry.1 += time;
}

/// Forgets everything recorded so far.
pub fn reset() {
    *TABLE.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The rows recorded since the last reset, longest first, and resets.
pub fn take() -> Vec<ProfileRow> {
    let table = TABLE.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
    let mut rows: Vec<ProfileRow> =
        table.into_iter().map(|(kernel, (calls, time))| ProfileRow { kernel, calls, time }).collect();
    rows.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.kernel.cmp(&b.kernel)));
    rows
}

/// An operation's name without its parameters (`MulScalar`, not `MulScalar(0.5)`), so that one
/// row gathers every call of it.
fn op_name(kind: &str, op: impl std::fmt::Debug) -> String {
    let text = format!("{op:?}");
    let name = text.split('(').next().unwrap_or(&text);
    format!("{kind} {name}")
}

/// A convolution kernel's row: its name and geometry (`conv2d 16→32 16×16 k3 s2`), so that a
/// network's layers of different shapes get rows of their own.
fn conv_name(kernel: &str, spec: &Conv2dSpec) -> String {
    format!(
        "{kernel} {}→{} {}×{} k{} s{}",
        spec.in_channels, spec.out_channels, spec.height, spec.width, spec.kernel_h, spec.stride.0
    )
}

/// Runs `f`, charging its time to `kernel`.
fn timed<R>(kernel: impl FnOnce() -> String, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let out = f();
    record(kernel(), start.elapsed());
    out
}

/// The backend `B`, every kernel timed (see the module documentation).
#[derive(Debug)]
pub struct Profiled<B>(PhantomData<B>);

impl<B> Clone for Profiled<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for Profiled<B> {}

impl<B> Default for Profiled<B> {
    fn default() -> Self {
        Profiled(PhantomData)
    }
}

/// `fn $name(args) -> R` delegating to `B::$name`, timed under `$label`.
macro_rules! timed_kernels {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $label:expr;)*) => {
        $(
            fn $name($($arg: $ty),*) -> $ret {
                timed(|| $label, || B::$name($($arg),*))
            }
        )*
    };
}

impl<B: Backend> Backend for Profiled<B> {
    type Storage = B::Storage;

    fn name() -> &'static str {
        B::name()
    }

    fn from_vec(data: Vec<f32>) -> Self::Storage {
        B::from_vec(data)
    }

    fn as_slice(x: &Self::Storage) -> &[f32] {
        B::as_slice(x)
    }

    fn as_mut_slice(x: &mut Self::Storage) -> &mut [f32] {
        B::as_mut_slice(x)
    }

    fn to_vec(x: &Self::Storage) -> Vec<f32> {
        B::to_vec(x)
    }

    timed_kernels! {
        full(len: usize, value: f32) -> Self::Storage, "full".into();
        unary(op: UnaryOp, x: &Self::Storage) -> Self::Storage, op_name("unary", op);
        binary(op: BinaryOp, lhs: &Self::Storage, lhs_shape: &Shape, rhs: &Self::Storage, rhs_shape: &Shape)
            -> Self::Storage, op_name("binary", op);
        where_select(cond: (&Self::Storage, &Shape), a: (&Self::Storage, &Shape), b: (&Self::Storage, &Shape),
            out: &Shape) -> Self::Storage, "where_select".into();
        matmul(lhs: &Self::Storage, rhs: &Self::Storage, spec: MatmulSpec) -> Self::Storage, "matmul".into();
        reduce(op: ReduceOp, x: &Self::Storage, shape: &Shape, axis: usize) -> Self::Storage,
            op_name("reduce", op);
        softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage, "softmax_rows".into();
        log_softmax_rows(x: &Self::Storage, rows: usize, cols: usize) -> Self::Storage, "log_softmax_rows".into();
        permute(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage, "permute".into();
        broadcast_to(x: &Self::Storage, shape: &Shape, out: &Shape) -> Self::Storage, "broadcast_to".into();
        slice(x: &Self::Storage, shape: &Shape, starts: &[usize], ends: &[usize]) -> Self::Storage, "slice".into();
        pad(x: &Self::Storage, shape: &Shape, before: &[usize], after: &[usize], value: f32) -> Self::Storage,
            "pad".into();
        concat(parts: &[(&Self::Storage, &Shape)], axis: usize) -> Self::Storage, "concat".into();
        flip(x: &Self::Storage, shape: &Shape, axes: &[usize]) -> Self::Storage, "flip".into();
        index_select(x: &Self::Storage, shape: &Shape, axis: usize, indices: &[usize]) -> Self::Storage,
            "index_select".into();
        index_add(src: &Self::Storage, src_shape: &Shape, axis: usize, indices: &[usize], len: usize)
            -> Self::Storage, "index_add".into();
        gather(x: &Self::Storage, shape: &Shape, axis: usize, index: &Self::Storage, index_shape: &Shape)
            -> Self::Storage, "gather".into();
        scatter_add(src: &Self::Storage, index: &Self::Storage, index_shape: &Shape, axis: usize, out_shape: &Shape)
            -> Self::Storage, "scatter_add".into();
        one_hot(indices: &Self::Storage, classes: usize) -> Self::Storage, "one_hot".into();
        im2col(x: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage, "im2col".into();
        col2im(cols: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage, "col2im".into();
        conv2d(x: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage,
            conv_name("conv2d", spec);
        conv2d_backward_input(dy: &Self::Storage, weight: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage,
            conv_name("conv2d_backward_input", spec);
        conv2d_backward_weight(x: &Self::Storage, dy: &Self::Storage, spec: &Conv2dSpec) -> Self::Storage,
            conv_name("conv2d_backward_weight", spec);
        bias_act(x: &Self::Storage, bias: &Self::Storage, channels: usize, inner: usize, act: BiasAct)
            -> Self::Storage, op_name("bias_act", act);
        bias_act_backward(y: &Self::Storage, dy: &Self::Storage, channels: usize, inner: usize, act: BiasAct)
            -> (Self::Storage, Self::Storage), op_name("bias_act_backward", act);
        batch_norm(x: &Self::Storage, gamma: &Self::Storage, beta: &Self::Storage, spec: &BatchNormSpec)
            -> (Self::Storage, Self::Storage, Self::Storage), op_name("batch_norm", spec.act);
        batch_norm_backward(x: &Self::Storage, y: &Self::Storage, dy: &Self::Storage, gamma: &Self::Storage,
            stats: (&Self::Storage, &Self::Storage), spec: &BatchNormSpec)
            -> (Self::Storage, Self::Storage, Self::Storage), op_name("batch_norm_backward", spec.act);
        add_act(a: &Self::Storage, b: &Self::Storage, act: BiasAct) -> Self::Storage, op_name("add_act", act);
        add_act_backward(y: &Self::Storage, dy: &Self::Storage, act: BiasAct) -> Self::Storage,
            op_name("add_act_backward", act);
        max_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> (Self::Storage, Vec<usize>), "max_pool2d".into();
        max_pool2d_backward(dy: &Self::Storage, argmax: &[usize], spec: &Pool2dSpec) -> Self::Storage,
            "max_pool2d_backward".into();
        avg_pool2d(x: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage, "avg_pool2d".into();
        avg_pool2d_backward(dy: &Self::Storage, spec: &Pool2dSpec) -> Self::Storage, "avg_pool2d_backward".into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceBackend;
    use crate::tensor::Tensor;

    #[test]
    fn kernels_are_counted_under_their_operation_and_values_are_unchanged() {
        let x = Tensor::<Profiled<ReferenceBackend>>::from_vec(vec![-1.0, 2.0, -3.0, 4.0], [2, 2]);
        let y = x.matmul(&x).relu().add(&x);
        let plain = Tensor::<ReferenceBackend>::from_vec(vec![-1.0, 2.0, -3.0, 4.0], [2, 2]);
        assert_eq!(y.to_vec(), plain.matmul(&plain).relu().add(&plain).to_vec());
        let rows = take();
        let calls = |k: &str| rows.iter().find(|r| r.kernel == k).map_or(0, |r| r.calls);
        assert_eq!((calls("matmul"), calls("unary Relu"), calls("binary Add")), (1, 1, 1), "{rows:?}");
        assert!(take().is_empty(), "take resets the table");
    }
}
