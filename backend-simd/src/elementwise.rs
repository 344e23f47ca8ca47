//! Element-wise kernels: unary maps in fixed-size parallel chunks, binary ops by output rows with
//! the broadcast pattern of each operand (advance or repeat), both through the `arch` kernels.

use neurite_core::backend::{BinaryOp, UnaryOp};
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
