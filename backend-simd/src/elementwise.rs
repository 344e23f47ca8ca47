//! Element-wise kernels: unary maps in fixed-size parallel chunks, binary ops by output rows with
//! the broadcast pattern of each operand (advance or repeat), both through the `arch` kernels.

use neurite_core::backend::{BiasAct, BinaryOp, UnaryOp};
use neurite_core::shape::{Shape, broadcast_offsets};
use rayon::prelude::*;

use crate::arch;
use crate::buffer::Buffer;

/// Below this many elements a kernel stays on the calling thread.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 15;
/// Element-wise work is split into chunks of this many values (a multiple of 8).
pub(crate) const CHUNK: usize = 1 << 13;

pub(crate) fn unary(op: UnaryOp, x: &[f32]) -> Buffer {
    let mut out = Buffer::uninit(x.len());
    let o = out.as_mut_slice();
    if x.len() >= PARALLEL_THRESHOLD {
        o.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(o, x)| arch::unary(op, x, o));
    } else {
        arch::unary(op, x, o);
    }
    out
}

/// For each row of the output's last dimension: where the operand's row starts, and whether it
/// advances along the row (1) or repeats one value (0).
fn rows_of(shape: &Shape, out: &Shape) -> (Vec<usize>, usize) {
    let strides = shape.broadcast_strides(out);
    match out.rank() {
        0 => (vec![0], 0),
        r => {
            let outer = Shape::new(&out.dims()[..r - 1]);
            (broadcast_offsets(&outer, &strides[..r - 1]).collect(), strides[r - 1])
        }
    }
}

/// Runs `f(row index, row)` over rows of `cols` values, in parallel blocks when large.
pub(crate) fn for_rows(out: &mut [f32], cols: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if cols == 0 || out.is_empty() {
        return;
    }
    if out.len() >= PARALLEL_THRESHOLD {
        let per_task = (CHUNK / cols).max(1);
        out.par_chunks_mut(per_task * cols).enumerate().for_each(|(t, block)| {
            for (r, row) in block.chunks_mut(cols).enumerate() {
                f(t * per_task + r, row);
            }
        });
    } else {
        for (r, row) in out.chunks_mut(cols).enumerate() {
            f(r, row);
        }
    }
}

pub(crate) fn binary(op: BinaryOp, a: &[f32], sa: &Shape, b: &[f32], sb: &Shape) -> Buffer {
    let out_shape = Shape::broadcast(sa, sb).expect("binary: shapes checked by Tensor");
    let mut out = Buffer::uninit(out_shape.numel());
    if sa == sb {
        let o = out.as_mut_slice();
        if a.len() >= PARALLEL_THRESHOLD {
            o.par_chunks_mut(CHUNK)
                .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
                .for_each(|(o, (x, y))| arch::binary_row(op, o, x, 1, y, 1));
        } else {
            arch::binary_row(op, o, a, 1, b, 1);
        }
        return out;
    }
    let cols = out_shape.dims().last().copied().unwrap_or(1);
    let (ra, step_a) = rows_of(sa, &out_shape);
    let (rb, step_b) = rows_of(sb, &out_shape);
    for_rows(out.as_mut_slice(), cols, |r, row| {
        let xa = &a[ra[r]..ra[r] + if step_a == 0 { 1 } else { cols }];
        let xb = &b[rb[r]..rb[r] + if step_b == 0 { 1 } else { cols }];
        arch::binary_row(op, row, xa, step_a, xb, step_b);
    });
    out
}

pub(crate) fn broadcast_to(x: &[f32], shape: &Shape, out: &Shape) -> Buffer {
    let cols = out.dims().last().copied().unwrap_or(1);
    let (starts, step) = rows_of(shape, out);
    let mut data = Buffer::uninit(out.numel());
    for_rows(data.as_mut_slice(), cols, |r, row| {
        let s = starts[r];
        if step == 0 { row.fill(x[s]) } else { row.copy_from_slice(&x[s..s + cols]) }
    });
    data
}

pub(crate) fn permute(x: &[f32], shape: &Shape, axes: &[usize]) -> Buffer {
    let out_shape = Shape::new(axes.iter().map(|&a| shape.dim(a)).collect::<Vec<_>>());
    let mut out = Buffer::uninit(out_shape.numel());
    if out_shape.numel() == 0 {
        return out;
    }
    if out_shape.rank() == 0 {
        out.as_mut_slice().copy_from_slice(x);
        return out;
    }
    let in_strides = shape.strides();
    let strides: Vec<usize> = axes.iter().map(|&a| in_strides[a]).collect();
    let r = out_shape.rank();
    let cols = out_shape.dim(r - 1);
    let last = strides[r - 1];
    let starts: Vec<usize> = broadcast_offsets(&Shape::new(&out_shape.dims()[..r - 1]), &strides[..r - 1]).collect();
    for_rows(out.as_mut_slice(), cols, |i, row| {
        let s = starts[i];
        if last == 1 {
            row.copy_from_slice(&x[s..s + cols]);
        } else {
            for (j, o) in row.iter_mut().enumerate() {
                *o = x[s + j * last];
            }
        }
    });
    out
}

/// `act(x + bias[c])` over `x` as `[outer, channels, inner]`, one pass (see `Backend::bias_act`).
pub(crate) fn bias_act(x: &[f32], bias: &[f32], channels: usize, inner: usize, act: BiasAct) -> Buffer {
    let mut out = Buffer::uninit(x.len());
    let cols = channels * inner;
    let relu = act == BiasAct::Relu;
    for_rows(out.as_mut_slice(), cols, |r, row| {
        let src = &x[r * cols..(r + 1) * cols];
        if inner == 1 {
            // A dense layer's row: one bias value per element.
            for ((o, &v), &b) in row.iter_mut().zip(src).zip(bias) {
                *o = if relu { (v + b).max(0.0) } else { v + b };
            }
        } else {
            for ((plane, src), &b) in row.chunks_mut(inner).zip(src.chunks(inner)).zip(bias) {
                for (o, &v) in plane.iter_mut().zip(src) {
                    *o = if relu { (v + b).max(0.0) } else { v + b };
                }
            }
        }
        if let Some(op @ (UnaryOp::Sigmoid | UnaryOp::Tanh)) = act.unary() {
            // The vector kernels read one slice and write another: z goes through a stack block.
            let mut z = [0.0f32; 256];
            for block in row.chunks_mut(z.len()) {
                let z = &mut z[..block.len()];
                z.copy_from_slice(block);
                arch::unary(op, z, block);
            }
        }
    });
    out
}

/// The gradients of [`bias_act`]: `dz = dy·act′(y)`, and the bias gradient summed per
/// `(outer, channel)` over `inner` (in parallel), then over `outer` in order, so the result does
/// not depend on the threads.
pub(crate) fn bias_act_backward(
    y: &[f32],
    dy: &[f32],
    channels: usize,
    inner: usize,
    act: BiasAct,
) -> (Buffer, Buffer) {
    let mut dz = Buffer::uninit(y.len());
    let cols = channels * inner;
    for_rows(dz.as_mut_slice(), cols, |r, row| {
        let (y, dy) = (&y[r * cols..(r + 1) * cols], &dy[r * cols..(r + 1) * cols]);
        match act {
            BiasAct::None => row.copy_from_slice(dy),
            BiasAct::Relu => {
                for ((o, &y), &g) in row.iter_mut().zip(y).zip(dy) {
                    *o = if y > 0.0 { g } else { 0.0 };
                }
            }
            BiasAct::Sigmoid => {
                for ((o, &y), &g) in row.iter_mut().zip(y).zip(dy) {
                    *o = g * (y * (1.0 - y));
                }
            }
            BiasAct::Tanh => {
                for ((o, &y), &g) in row.iter_mut().zip(y).zip(dy) {
                    *o = g * (1.0 - y * y);
                }
            }
        }
    });
    let mut db = Buffer::zeroed(channels);
    if let Some(outer) = dz.len().checked_div(cols) {
        let dz = dz.as_slice();
        if inner == 1 {
            for row in dz.chunks_exact(cols) {
                arch::add_assign(db.as_mut_slice(), row);
            }
        } else {
            let sums = |o: usize| -> Vec<f32> { dz[o * cols..(o + 1) * cols].chunks(inner).map(arch::sum).collect() };
            let partials: Vec<Vec<f32>> = if dz.len() >= PARALLEL_THRESHOLD {
                (0..outer).into_par_iter().map(sums).collect()
            } else {
                (0..outer).map(sums).collect()
            };
            for part in &partials {
                arch::add_assign(db.as_mut_slice(), part);
            }
        }
    }
    (dz, db)
}
