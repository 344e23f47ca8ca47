//! Safe scalar twins of the AVX2 kernels in `x86_avx2.rs`: the fallback on other CPUs or with
//! `NEURITE_SIMD=scalar`, and the reference the vector kernels are tested against. Each arm is its
//! own loop so the compiler can still vectorise the simple ones.

use neurite_core::backend::{BinaryOp, UnaryOp};
use neurite_core::reference;

/// `op` on every element of `x` into `out`.
pub(crate) fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    macro_rules! map {
        ($f:expr) => {{
            let f = $f;
            for (o, &v) in out.iter_mut().zip(x) {
                *o = f(v);
            }
        }};
    }
    match op {
        UnaryOp::Neg => map!(|v: f32| -v),
        UnaryOp::Square => map!(|v: f32| v * v),
        UnaryOp::Relu => map!(|v: f32| v.max(0.0)),
        UnaryOp::AddScalar(c) => map!(|v: f32| v + c),
        UnaryOp::MulScalar(c) => map!(|v: f32| v * c),
        other => map!(|v: f32| other.apply(v)),
    }
}

/// One output row of a binary op (see `x86_avx2::binary_row`).
pub(crate) fn binary_row(op: BinaryOp, out: &mut [f32], a: &[f32], sa: usize, b: &[f32], sb: usize) {
    macro_rules! run {
        ($f:expr) => {{
            let f = $f;
            match (sa, sb) {
                (1, 1) => out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y)),
                (1, 0) => out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, b[0])),
                (0, 1) => out.iter_mut().zip(b).for_each(|(o, &y)| *o = f(a[0], y)),
                _ => out.fill(f(a[0], b[0])),
            }
        }};
    }
    match op {
        BinaryOp::Add => run!(|x: f32, y: f32| x + y),
        BinaryOp::Sub => run!(|x: f32, y: f32| x - y),
        BinaryOp::Mul => run!(|x: f32, y: f32| x * y),
        BinaryOp::Div => run!(|x: f32, y: f32| x / y),
        other => run!(move |x: f32, y: f32| other.apply(x, y)),
    }
}

/// Σx in order.
pub(crate) fn sum(x: &[f32]) -> f32 {
    x.iter().sum()
}

/// max x (−∞ when empty).
pub(crate) fn max(x: &[f32]) -> f32 {
    x.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// `acc += x`.
pub(crate) fn add_assign(acc: &mut [f32], x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

/// Softmax or log-softmax of one row in place.
pub(crate) fn softmax_row(row: &mut [f32], log: bool) {
    reference::softmax_row(row, log);
}

/// The scalar twin of the AVX2 `conv_block`: the same sums in the same order, each term a
/// multiply and an add (no fused multiply-add), so the two agree within rounding.
pub(crate) fn conv_block(
    w: &[f32],
    x: &[f32],
    (channels, channel_stride): (usize, usize),
    offsets: &[usize],
    out: &mut [f32],
    out_stride: usize,
) {
    const F: usize = super::CONV_FILTERS;
    const P: usize = super::CONV_PIXELS;
    super::conv_block_bounds(w, x, (channels, channel_stride), offsets, out, out_stride);
    let taps = offsets.len();
    let mut acc = [[0.0f32; P]; F];
    for c in 0..channels {
        for (t, &off) in offsets.iter().enumerate() {
            let xs = &x[c * channel_stride + off..c * channel_stride + off + P];
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = w[(c * taps + t) * F + i];
                for (a, &xv) in a.iter_mut().zip(xs) {
                    *a += wv * xv;
                }
            }
        }
    }
    for (i, a) in acc.iter().enumerate() {
        out[i * out_stride..i * out_stride + P].copy_from_slice(a);
    }
}

/// The scalar twin of the AVX2 `dw_block`: the same eight lanes of partial sums, each term a
/// multiply and an add, folded in the same order.
pub(crate) fn dw_block<const NF: usize, const NT: usize>(
    dy: &[f32],
    dy_stride: usize,
    x: &[f32],
    offsets: &[usize; NT],
    len: usize,
) -> [[f32; NT]; NF] {
    super::dw_block_bounds(dy, dy_stride, NF, x, offsets, len);
    let mut acc = [[[0.0f32; 8]; NT]; NF];
    for q in (0..len).step_by(8) {
        for (i, row) in acc.iter_mut().enumerate() {
            for (t, lanes) in row.iter_mut().enumerate() {
                for (l, a) in lanes.iter_mut().enumerate() {
                    *a += dy[i * dy_stride + q + l] * x[offsets[t] + q + l];
                }
            }
        }
    }
    acc.map(|row| row.map(super::fold_lanes))
}
