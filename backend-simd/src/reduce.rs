//! Reductions and row-wise softmax. Sums follow the fixed chunk structure of the core reference
//! (`REDUCE_CHUNK` values per chunk, chunk totals combined in order); inside a chunk the AVX2 sum
//! uses fixed lanes. So the result never depends on the thread count.

use neurite_core::backend::{REDUCE_CHUNK, ReduceOp};
use neurite_core::reference;
use neurite_core::shape::Shape;
use rayon::prelude::*;

use crate::arch;
use crate::buffer::Buffer;
use crate::elementwise::PARALLEL_THRESHOLD;

/// Σ of a contiguous lane, chunk by chunk.
fn lane_sum(x: &[f32]) -> f32 {
    x.chunks(REDUCE_CHUNK).fold(0.0f32, |total, c| total + arch::sum(c))
}

pub(crate) fn reduce(op: ReduceOp, x: &[f32], shape: &Shape, axis: usize) -> Buffer {
    let (outer, len, inner) = shape.split_at_axis(axis);
    let big = x.len() >= PARALLEL_THRESHOLD;
    let mut out = Buffer::uninit(outer * inner);
    let o = out.as_mut_slice();
    let mean = op == ReduceOp::Mean;
    let finish = |s: f32| if mean { s / len as f32 } else { s };
    match op {
        ReduceOp::Sum | ReduceOp::Mean if inner == 1 => {
            if outer == 1 && big {
                let partial: Vec<f32> = x.par_chunks(REDUCE_CHUNK).map(arch::sum).collect();
                o[0] = finish(partial.iter().fold(0.0f32, |t, &p| t + p));
            } else if big {
                o.par_iter_mut().enumerate().for_each(|(i, v)| *v = finish(lane_sum(&x[i * len..(i + 1) * len])));
            } else {
                for (i, v) in o.iter_mut().enumerate() {
                    *v = finish(lane_sum(&x[i * len..(i + 1) * len]));
                }
            }
        }
        ReduceOp::Sum | ReduceOp::Mean => {
            // Strided lanes: add whole rows of `inner` values, chunk by chunk along the axis.
            let block = |ob: usize, dst: &mut [f32]| {
                dst.fill(0.0);
                let mut chunk = vec![0.0f32; inner];
                for start in (0..len).step_by(REDUCE_CHUNK) {
                    chunk.fill(0.0);
                    for p in start..(start + REDUCE_CHUNK).min(len) {
                        arch::add_assign(&mut chunk, &x[(ob * len + p) * inner..(ob * len + p + 1) * inner]);
                    }
                    arch::add_assign(dst, &chunk);
                }
                if mean {
                    dst.iter_mut().for_each(|v| *v /= len as f32);
                }
            };
            if inner == 0 {
                return out;
            }
            if big && outer > 1 {
                o.par_chunks_mut(inner).enumerate().for_each(|(ob, dst)| block(ob, dst));
            } else {
                o.chunks_mut(inner).enumerate().for_each(|(ob, dst)| block(ob, dst));
            }
        }
        ReduceOp::Max if inner == 1 => {
            let lane = |i: usize| arch::max(&x[i * len..(i + 1) * len]);
            if big {
                o.par_iter_mut().enumerate().for_each(|(i, v)| *v = lane(i));
            } else {
                o.iter_mut().enumerate().for_each(|(i, v)| *v = lane(i));
            }
        }
        _ => {
            let lane =
                |idx: usize| reference::reduce_lane(op, x, (idx / inner) * len * inner + idx % inner, inner, len);
            if big {
                o.par_iter_mut().enumerate().for_each(|(i, v)| *v = lane(i));
            } else {
                o.iter_mut().enumerate().for_each(|(i, v)| *v = lane(i));
            }
        }
    }
    out
}

pub(crate) fn softmax_rows(x: &[f32], rows: usize, cols: usize, log: bool) -> Buffer {
    let mut out = Buffer::uninit(x.len());
    out.as_mut_slice().copy_from_slice(x);
    if rows == 0 || cols == 0 {
        return out;
    }
    let o = out.as_mut_slice();
    if x.len() >= PARALLEL_THRESHOLD {
        o.par_chunks_mut(cols).for_each(|row| arch::softmax_row(row, log));
    } else {
        o.chunks_mut(cols).for_each(|row| arch::softmax_row(row, log));
    }
    out
}
