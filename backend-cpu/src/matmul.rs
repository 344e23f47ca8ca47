//! A packed, register-blocked matrix product in plain Rust (no BLAS, no intrinsics). B is packed
//! once into panels of `NR` columns; each task takes a block of rows, packs `MR` rows of A at a time,
//! and a 4×8 micro-kernel keeps its 32 accumulators in SSE registers while it walks a `KC`-deep
//! slice of k, then adds them into C. The code is safe Rust that LLVM vectorises for the baseline
//! x86-64 target (SSE2, no FMA); see `kernel`. Transposed operands are read through strides while packing (the
//! tensor is never copied transposed). Block boundaries depend only on the shape, and every output
//! value sums its k range in the same order whatever thread computes it, so results are
//! bit-identical at any thread count.

use neurite_core::backend::MatmulSpec;
use rayon::prelude::*;

use crate::PARALLEL_THRESHOLD;

/// Rows of the micro-kernel.
const MR: usize = 4;
/// Columns of the micro-kernel (two 4-wide SSE registers per row).
const NR: usize = 8;
/// Width of an SSE register in f32 lanes.
const LANES: usize = 4;
/// Depth of one pass over k: an `MR × KC` sliver of A (16 KiB with its values repeated across
/// lanes) stays in L1.
const KC: usize = 256;
/// Columns of C per block: the `KC × NC` slice of packed B (256 KiB) stays in L2.
const NC: usize = 256;
/// Rows of C per parallel task.
const ROW_BLOCK: usize = 64;

/// A matrix read through strides: element (i, j) is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl View<'_> {
    #[inline]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.rs + j * self.cs]
    }
}

/// The product of `spec`, `[batch, m, n]`.
pub(crate) fn matmul(lhs: &[f32], rhs: &[f32], spec: MatmulSpec) -> Vec<f32> {
    let MatmulSpec { batch, m, k, n, .. } = spec;
    let mut out = vec![0.0f32; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let (lr, lc) = spec.lhs_strides();
    let (rr, rc) = spec.rhs_strides();
    let parallel = spec.flops() >= 32 * PARALLEL_THRESHOLD as u64;
    for (b, c) in out.chunks_mut(m * n).enumerate() {
        let a = View { data: &lhs[b * spec.lhs_stride()..], rs: lr, cs: lc };
        let bm = View { data: &rhs[b * spec.rhs_stride()..], rs: rr, cs: rc };
        let packed_b = pack_b(bm, k, n, parallel);
        let task = |(block, c_rows): (usize, &mut [f32])| {
            gemm_rows(a, block * ROW_BLOCK, c_rows, &packed_b, k, n);
        };
        if parallel {
            c.par_chunks_mut(ROW_BLOCK * n).enumerate().for_each(task);
        } else {
            c.chunks_mut(ROW_BLOCK * n).enumerate().for_each(task);
        }
    }
    out
}

/// B `[k, n]` as panels of `NR` columns, each panel `k × NR` row-major, the last one zero-padded.
/// Panels are packed in parallel for large products (packing is a copy: no result changes).
fn pack_b(b: View<'_>, k: usize, n: usize, parallel: bool) -> Vec<f32> {
    let panels = n.div_ceil(NR);
    let mut packed = vec![0.0f32; panels * k * NR];
    let pack = |(jp, panel): (usize, &mut [f32])| {
        let j0 = jp * NR;
        let width = NR.min(n - j0);
        for p in 0..k {
            let row = &mut panel[p * NR..p * NR + width];
            for (j, v) in row.iter_mut().enumerate() {
                *v = b.at(p, j0 + j);
            }
        }
    };
    if parallel {
        packed.par_chunks_mut(k * NR).enumerate().for_each(pack);
    } else {
        packed.chunks_mut(k * NR).enumerate().for_each(pack);
    }
    packed
}

/// Computes the rows `row0..row0 + c.len() / n` of C from A and packed B, in the GotoBLAS
/// order: for each block of `NC` columns (whose B panels stay in L2) and each k slice, one sliver
/// of `MR` rows of A is packed (it stays in L1) and meets every panel of the block in turn.
fn gemm_rows(a: View<'_>, row0: usize, c: &mut [f32], packed_b: &[f32], k: usize, n: usize) {
    let rows = c.len() / n;
    let panels = n.div_ceil(NR);
    let mut sliver = [[0.0f32; LANES]; MR * KC];
    for first_panel in (0..panels).step_by(NC / NR) {
        let block = first_panel..panels.min(first_panel + NC / NR);
        for k0 in (0..k).step_by(KC) {
            let depth = KC.min(k - k0);
            for i0 in (0..rows).step_by(MR) {
                // sliver[p·MR + i] = A[row0 + i0 + i, k0 + p] in every lane, zero past the last row.
                for p in 0..depth {
                    for i in 0..MR {
                        let r = i0 + i;
                        sliver[p * MR + i] = [if r < rows { a.at(row0 + r, k0 + p) } else { 0.0 }; LANES];
                    }
                }
                for jp in block.clone() {
                    let panel = &packed_b[jp * k * NR..(jp + 1) * k * NR];
                    let acc = kernel(&sliver[..depth * MR], &panel[k0 * NR..(k0 + depth) * NR]);
                    let (j0, width) = (jp * NR, NR.min(n - jp * NR));
                    for (i, acc_row) in acc.iter().enumerate().take(MR.min(rows - i0)) {
                        let c_row = &mut c[(i0 + i) * n + j0..(i0 + i) * n + j0 + width];
                        for (cv, &av) in c_row.iter_mut().zip(acc_row) {
                            *cv += av;
                        }
                    }
                }
            }
        }
    }
}

/// The 4×8 micro-kernel: Σₚ a[p, i]·b[p, j] over one k slice, in eight SSE registers. Each A
/// value arrives already repeated across a 4-wide vector, so the loop is vector loads, multiplies
/// and adds only: broadcasting a scalar would cost a shuffle per value, on the ports the
/// arithmetic needs (measured: ~23 → ~29 GFLOP/s on one core).
#[inline(always)]
fn kernel(a: &[[f32; LANES]], b: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        let bp: &[f32; NR] = bp.try_into().expect("panel rows are NR wide");
        for (acc_row, av) in acc.iter_mut().zip(ap) {
            for (j, acc) in acc_row.iter_mut().enumerate() {
                *acc += av[j % LANES] * bp[j];
            }
        }
    }
    acc
}
