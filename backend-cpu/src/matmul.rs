//! A cache-blocked matrix product in plain Rust. Operands stored transposed are packed into
//! row-major panels first (inside the kernel, as every BLAS does; the tensor is never copied
//! transposed). The output is split into blocks of rows that rayon computes independently; every
//! output value sums over k in the same order whatever the thread count.

use neurite_core::backend::MatmulSpec;
use rayon::prelude::*;

use crate::PARALLEL_THRESHOLD;

/// Rows of the output computed by one task.
const ROW_BLOCK: usize = 16;
/// Depth of one pass over k: a `[KC, NC]` panel of rhs stays in cache while a row block uses it.
const KC: usize = 256;
/// Width of one pass over n.
const NC: usize = 1024;

/// The product of `spec`, `[batch, m, n]`.
pub(crate) fn matmul(lhs: &[f32], rhs: &[f32], spec: MatmulSpec) -> Vec<f32> {
    let MatmulSpec { batch, m, k, n, .. } = spec;
    let mut out = vec![0.0f32; batch * m * n];
    if m == 0 || n == 0 {
        return out;
    }
    let parallel = spec.flops() >= 2 * PARALLEL_THRESHOLD as u64 * 16;
    // Pack each distinct operand matrix into row-major form once.
    let pack =
        |data: &[f32], batched: bool, stride: usize, rows: usize, cols: usize, transposed: bool| -> Vec<Vec<f32>> {
            let count = if batched { batch } else { 1 };
            (0..count)
                .map(|b| {
                    let src = &data[b * stride..b * stride + rows * cols];
                    if transposed { transpose(src, cols, rows) } else { src.to_vec() }
                })
                .collect()
        };
    let a_packed = pack(lhs, spec.lhs_batched, spec.lhs_stride(), m, k, spec.lhs_transposed);
    let b_packed = pack(rhs, spec.rhs_batched, spec.rhs_stride(), k, n, spec.rhs_transposed);
    let task = |(block_index, c_block): (usize, &mut [f32])| {
        let rows_per_batch = m.div_ceil(ROW_BLOCK);
        let b = block_index / rows_per_batch;
        let row0 = (block_index % rows_per_batch) * ROW_BLOCK;
        let a = &a_packed[if spec.lhs_batched { b } else { 0 }];
        let bm = &b_packed[if spec.rhs_batched { b } else { 0 }];
        gemm_block(&a[row0 * k..], bm, c_block, k, n);
    };
    // Split each batch item's output into row blocks; blocks never straddle two batch items.
    let mut blocks: Vec<(usize, &mut [f32])> = Vec::new();
    for (b, c) in out.chunks_mut(m * n).enumerate() {
        for (r, block) in c.chunks_mut(ROW_BLOCK * n).enumerate() {
            blocks.push((b * m.div_ceil(ROW_BLOCK) + r, block));
        }
    }
    if parallel {
        blocks.into_par_iter().for_each(task);
    } else {
        blocks.into_iter().for_each(task);
    }
    out
}

/// `c[rows, n] += a[rows, k] · b[k, n]`, all row-major; `rows = c.len() / n`.
fn gemm_block(a: &[f32], b: &[f32], c: &mut [f32], k: usize, n: usize) {
    let rows = c.len() / n;
    for j0 in (0..n).step_by(NC) {
        let j1 = (j0 + NC).min(n);
        for p0 in (0..k).step_by(KC) {
            let p1 = (p0 + KC).min(k);
            let mut i = 0;
            // Four rows at a time: each rhs row segment is loaded once for four updates.
            while i + 4 <= rows {
                let (c0, rest) = c[i * n..(i + 4) * n].split_at_mut(n);
                let (c1, rest) = rest.split_at_mut(n);
                let (c2, c3) = rest.split_at_mut(n);
                let (c0, c1, c2, c3) = (&mut c0[j0..j1], &mut c1[j0..j1], &mut c2[j0..j1], &mut c3[j0..j1]);
                for p in p0..p1 {
                    let a0 = a[i * k + p];
                    let a1 = a[(i + 1) * k + p];
                    let a2 = a[(i + 2) * k + p];
                    let a3 = a[(i + 3) * k + p];
                    let brow = &b[p * n + j0..p * n + j1];
                    for (j, &bv) in brow.iter().enumerate() {
                        c0[j] += a0 * bv;
                        c1[j] += a1 * bv;
                        c2[j] += a2 * bv;
                        c3[j] += a3 * bv;
                    }
                }
                i += 4;
            }
            while i < rows {
                let ci = &mut c[i * n + j0..i * n + j1];
                for p in p0..p1 {
                    let av = a[i * k + p];
                    let brow = &b[p * n + j0..p * n + j1];
                    for (cv, &bv) in ci.iter_mut().zip(brow) {
                        *cv += av * bv;
                    }
                }
                i += 1;
            }
        }
    }
}

/// The transpose of a row-major `[rows, cols]` matrix, in cache-sized tiles.
fn transpose(src: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0.0; rows * cols];
    for i0 in (0..rows).step_by(TILE) {
        for j0 in (0..cols).step_by(TILE) {
            for i in i0..(i0 + TILE).min(rows) {
                for j in j0..(j0 + TILE).min(cols) {
                    out[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
    out
}
