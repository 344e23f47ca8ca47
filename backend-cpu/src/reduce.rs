//! Reductions along an axis and row-wise softmax. Long sums follow the fixed chunk order of
//! `neurite_core::reference::chunked_sum` (chunks of `REDUCE_CHUNK`), so the parallel result is
//! bit-identical to the sequential one and to itself at any thread count.

use neurite_core::backend::{REDUCE_CHUNK, ReduceOp};
use neurite_core::reference;
use neurite_core::shape::Shape;
use rayon::prelude::*;

use crate::PARALLEL_THRESHOLD;

/// Reduces `x` of `shape` along `axis`.
pub(crate) fn reduce(op: ReduceOp, x: &[f32], shape: &Shape, axis: usize) -> Vec<f32> {
    let (outer, len, inner) = shape.split_at_axis(axis);
    let big = x.len() >= PARALLEL_THRESHOLD;
    if inner == 1 && matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
        // Contiguous lanes.
        if outer == 1 && big {
            // One long lane: chunk sums in parallel, then combined in order.
            let partial: Vec<f32> = x.par_chunks(REDUCE_CHUNK).map(|c| c.iter().sum::<f32>()).collect();
            let total = partial.iter().fold(0.0f32, |acc, &p| acc + p);
            return vec![if op == ReduceOp::Mean { total / len as f32 } else { total }];
        }
        let lane = |o: usize| {
            let total = reference::chunked_sum(x[o * len..(o + 1) * len].iter().copied());
            if op == ReduceOp::Mean { total / len as f32 } else { total }
        };
        return if big { (0..outer).into_par_iter().map(lane).collect() } else { (0..outer).map(lane).collect() };
    }
    if matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
        // Strided lanes: add whole rows of `inner` values, keeping each lane's chunk order.
        let block = |o: usize| {
            let mut total = vec![0.0f32; inner];
            let mut chunk = vec![0.0f32; inner];
            for p in 0..len {
                let row = &x[(o * len + p) * inner..(o * len + p + 1) * inner];
                for (c, &v) in chunk.iter_mut().zip(row) {
                    *c += v;
                }
                if (p + 1) % REDUCE_CHUNK == 0 {
                    for (t, c) in total.iter_mut().zip(chunk.iter_mut()) {
                        *t += *c;
                        *c = 0.0;
                    }
                }
            }
            for (t, c) in total.iter_mut().zip(&chunk) {
                *t += *c;
                if op == ReduceOp::Mean {
                    *t /= len as f32;
                }
            }
            total
        };
        return if big && outer > 1 {
            (0..outer).into_par_iter().flat_map_iter(block).collect()
        } else {
            (0..outer).flat_map(block).collect()
        };
    }
    let lane = |idx: usize| reference::reduce_lane(op, x, (idx / inner) * len * inner + idx % inner, inner, len);
    if big { (0..outer * inner).into_par_iter().map(lane).collect() } else { (0..outer * inner).map(lane).collect() }
}

/// Softmax or log-softmax of each row, rows in parallel.
pub(crate) fn softmax_rows(x: &[f32], rows: usize, cols: usize, log: bool) -> Vec<f32> {
    let mut out = x.to_vec();
    if cols == 0 || rows == 0 {
        return out;
    }
    if x.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(cols).for_each(|row| reference::softmax_row(row, log));
    } else {
        out.chunks_mut(cols).for_each(|row| reference::softmax_row(row, log));
    }
    out
}
