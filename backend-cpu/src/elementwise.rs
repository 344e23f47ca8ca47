//! Element-wise kernels: unary maps and broadcasting binary ops, parallel over fixed-size chunks
//! (unary) or over rows of the output's last dimension (binary, broadcast, permute).

use neurite_core::backend::{BinaryOp, UnaryOp};
use neurite_core::shape::{Shape, broadcast_offsets};
use rayon::prelude::*;

use crate::{CHUNK, PARALLEL_THRESHOLD};

/// Applies `f` to every element, in parallel chunks above the threshold.
fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0.0; x.len()];
    let body = |(o, i): (&mut [f32], &[f32])| {
        for (o, &v) in o.iter_mut().zip(i) {
            *o = f(v);
        }
    };
    if x.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(body);
    } else {
        body((&mut out, x));
    }
    out
}

/// `op` on every element. Each arm is its own monomorphised loop so the compiler can vectorise it.
pub(crate) fn unary(op: UnaryOp, x: &[f32]) -> Vec<f32> {
    match op {
        UnaryOp::Neg => map(x, |v| -v),
        UnaryOp::Square => map(x, |v| v * v),
        UnaryOp::Abs => map(x, f32::abs),
        UnaryOp::Relu => map(x, |v| v.max(0.0)),
        UnaryOp::AddScalar(c) => map(x, move |v| v + c),
        UnaryOp::MulScalar(c) => map(x, move |v| v * c),
        UnaryOp::Sqrt => map(x, f32::sqrt),
        UnaryOp::Recip => map(x, |v| 1.0 / v),
        UnaryOp::Exp => map(x, f32::exp),
        UnaryOp::Step => map(x, |v| if v > 0.0 { 1.0 } else { 0.0 }),
        other => map(x, move |v| other.apply(v)),
    }
}

/// Row geometry of a broadcast read: for each row of the output's last dimension, where the
/// operand's row starts, and whether the operand advances along the row (stride 1) or repeats
/// one value (stride 0).
struct Rows {
    starts: Vec<usize>,
    step: usize,
}

fn rows_of(shape: &Shape, out: &Shape) -> Rows {
    let strides = shape.broadcast_strides(out);
    let (outer_dims, step) = match out.rank() {
        0 => (Shape::scalar(), 0),
        r => (Shape::new(&out.dims()[..r - 1]), strides[r - 1]),
    };
    let outer_strides = &strides[..strides.len().saturating_sub(1)];
    Rows { starts: broadcast_offsets(&outer_dims, outer_strides).collect(), step }
}

/// Fills `out` (rows of length `cols`) row by row with `f(row index, row)`, in parallel when big.
fn for_rows(out: &mut [f32], cols: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if cols == 0 {
        return;
    }
    if out.len() >= PARALLEL_THRESHOLD {
        let rows_per_task = (CHUNK / cols).max(1);
        out.par_chunks_mut(rows_per_task * cols).enumerate().for_each(|(t, block)| {
            for (r, row) in block.chunks_mut(cols).enumerate() {
                f(t * rows_per_task + r, row);
            }
        });
    } else {
        for (r, row) in out.chunks_mut(cols).enumerate() {
            f(r, row);
        }
    }
}

/// `op` on broadcast pairs, with tight loops for the four row patterns (each operand either runs
/// along the row or repeats one value).
pub(crate) fn binary(op: BinaryOp, a: &[f32], a_shape: &Shape, b: &[f32], b_shape: &Shape) -> Vec<f32> {
    let out_shape = Shape::broadcast(a_shape, b_shape).expect("binary: shapes checked by Tensor");
    if a_shape == b_shape {
        let mut out = vec![0.0; a.len()];
        let body = |(o, (x, y)): (&mut [f32], (&[f32], &[f32]))| {
            row_kernel(op, o, x, 1, y, 1);
        };
        if a.len() >= PARALLEL_THRESHOLD {
            out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK))).for_each(body);
        } else {
            body((&mut out, (a, b)));
        }
        return out;
    }
    let cols = out_shape.dims().last().copied().unwrap_or(1);
    let ra = rows_of(a_shape, &out_shape);
    let rb = rows_of(b_shape, &out_shape);
    let mut out = vec![0.0; out_shape.numel()];
    for_rows(&mut out, cols, |r, row| {
        let (sa, sb) = (ra.starts[r], rb.starts[r]);
        let xa = &a[sa..sa + if ra.step == 0 { 1 } else { cols }];
        let xb = &b[sb..sb + if rb.step == 0 { 1 } else { cols }];
        row_kernel(op, row, xa, ra.step, xb, rb.step);
    });
    out
}

/// One output row from two operand rows, each read with step 0 (repeat) or 1 (advance).
#[inline]
fn row_kernel(op: BinaryOp, out: &mut [f32], a: &[f32], sa: usize, b: &[f32], sb: usize) {
    macro_rules! run {
        ($f:expr) => {{
            let f = $f;
            match (sa, sb) {
                (1, 1) => out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y)),
                (1, 0) => {
                    let y = b[0];
                    out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, y))
                }
                (0, 1) => {
                    let x = a[0];
                    out.iter_mut().zip(b).for_each(|(o, &y)| *o = f(x, y))
                }
                _ => {
                    let v = f(a[0], b[0]);
                    out.iter_mut().for_each(|o| *o = v)
                }
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

/// `x` repeated along broadcast dimensions to `out`.
pub(crate) fn broadcast_to(x: &[f32], shape: &Shape, out: &Shape) -> Vec<f32> {
    let cols = out.dims().last().copied().unwrap_or(1);
    let rows = rows_of(shape, out);
    let mut data = vec![0.0; out.numel()];
    for_rows(&mut data, cols, |r, row| {
        let s = rows.starts[r];
        if rows.step == 0 {
            row.fill(x[s]);
        } else {
            row.copy_from_slice(&x[s..s + cols]);
        }
    });
    data
}

/// Axis permutation, parallel over rows of the output.
pub(crate) fn permute(x: &[f32], shape: &Shape, axes: &[usize]) -> Vec<f32> {
    let out_shape = Shape::new(axes.iter().map(|&a| shape.dim(a)).collect::<Vec<_>>());
    if out_shape.rank() == 0 || out_shape.numel() == 0 {
        return x.to_vec();
    }
    let in_strides = shape.strides();
    let strides: Vec<usize> = axes.iter().map(|&a| in_strides[a]).collect();
    let r = out_shape.rank();
    let cols = out_shape.dim(r - 1);
    let last = strides[r - 1];
    let outer = Shape::new(&out_shape.dims()[..r - 1]);
    let starts: Vec<usize> = broadcast_offsets(&outer, &strides[..r - 1]).collect();
    let mut out = vec![0.0; out_shape.numel()];
    for_rows(&mut out, cols, |i, row| {
        let s = starts[i];
        for (j, o) in row.iter_mut().enumerate() {
            *o = x[s + j * last];
        }
    });
    out
}
