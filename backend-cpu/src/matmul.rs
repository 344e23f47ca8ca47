//! A packed, register-blocked matrix product in plain Rust (no BLAS, no intrinsics). B is packed
//! once into panels of `NR` columns; each task takes a block of rows, packs `MR` rows of A at a time,
//! and a micro-kernel keeps its `MR × NR` accumulators in vector registers while it walks a
//! `KC`-deep slice of k, then adds them into C. Transposed operands are read through strides while
//! packing (the tensor is never copied transposed).
//!
//! The loops are ordinary safe Rust that LLVM vectorises. Built for the x86-64 baseline they get
//! SSE2 only, so where the CPU has AVX2 the same generic loops are also compiled inside a function
//! with AVX2 enabled (`pulp`'s `V3::vectorize`, which keeps the `unsafe` of calling it out of this
//! crate) and chosen at run time with a wider tile: 6×16 in twelve 8-wide registers instead of
//! 4×8 in eight 4-wide ones. Rust never fuses a multiply and an add into an FMA, so every product
//! is rounded on its own and summed in the same order on both paths: they agree to the bit (a unit
//! test below checks it). `NEURITE_SIMD=scalar` keeps the baseline path.
//!
//! Block boundaries in k depend only on the shape, and every output value sums its k range in the
//! same order whatever thread computes it, so results are bit-identical at any thread count.

use neurite_core::backend::MatmulSpec;
use neurite_core::isa::Isa;
use rayon::prelude::*;

use crate::PARALLEL_THRESHOLD;

/// Depth of one pass over k. Every output value sums each `KC`-deep slice in order from zero and
/// then adds it into C, on either instruction set, so the two give bit-identical results.
const KC: usize = 256;
/// Columns of C per block: the `KC × NC` slice of packed B (256 KiB) stays in L2.
const NC: usize = 256;

/// A matrix read through strides: element (i, j) is `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl View<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.rs + j * self.cs]
    }
}

/// The product of `spec`, `[batch, m, n]`.
pub(crate) fn matmul(lhs: &[f32], rhs: &[f32], spec: MatmulSpec) -> Vec<f32> {
    matmul_on(Isa::detect(), lhs, rhs, spec)
}

/// The product of `spec` computed with the loops compiled for `isa`: on the x86-64 baseline
/// (SSE2) a 4×8 tile whose A values arrive pre-broadcast across 4 lanes, with AVX2 a 6×16 tile
/// in twelve 8-wide registers.
pub(crate) fn matmul_on(isa: Isa, lhs: &[f32], rhs: &[f32], spec: MatmulSpec) -> Vec<f32> {
    match isa {
        Isa::Baseline => tiled::<4, 8, 4>(isa, lhs, rhs, spec),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2(_) => tiled::<6, 16, 1>(isa, lhs, rhs, spec),
    }
}

/// The blocked product with an `MR × NR` micro-tile; `L` is how many lanes each packed A value is
/// repeated across (4 for SSE2, which has no broadcast from memory; 1 where the CPU broadcasts as
/// it loads).
fn tiled<const MR: usize, const NR: usize, const L: usize>(
    isa: Isa,
    lhs: &[f32],
    rhs: &[f32],
    spec: MatmulSpec,
) -> Vec<f32> {
    let MatmulSpec { batch, m, k, n, .. } = spec;
    let mut out = vec![0.0f32; batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let (lr, lc) = spec.lhs_strides();
    let (rr, rc) = spec.rhs_strides();
    let parallel = spec.flops() >= 32 * PARALLEL_THRESHOLD as u64;
    // Rows of C per parallel task: a whole number of tiles.
    let row_block = MR * 12;
    for (b, c) in out.chunks_mut(m * n).enumerate() {
        let a = View { data: &lhs[b * spec.lhs_stride()..], rs: lr, cs: lc };
        let bm = View { data: &rhs[b * spec.rhs_stride()..], rs: rr, cs: rc };
        let packed_b = pack_b::<NR>(bm, k, n, parallel);
        // The same loops, inlined into a function compiled with AVX2 enabled on that path. No
        // FMA: Rust never fuses a multiply and an add, so each product is rounded as on the
        // baseline path.
        let task = |(block, c_rows): (usize, &mut [f32])| {
            isa.run(
                #[inline(always)]
                || gemm_rows::<MR, NR, L>(a, block * row_block, c_rows, &packed_b, k, n),
            )
        };
        if parallel {
            c.par_chunks_mut(row_block * n).enumerate().for_each(task);
        } else {
            c.chunks_mut(row_block * n).enumerate().for_each(task);
        }
    }
    out
}

/// B `[k, n]` as panels of `NR` columns, each panel `k × NR` row-major, the last one zero-padded.
/// Panels are packed in parallel for large products (packing is a copy: no result changes).
fn pack_b<const NR: usize>(b: View<'_>, k: usize, n: usize, parallel: bool) -> Vec<f32> {
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
#[inline(always)]
fn gemm_rows<const MR: usize, const NR: usize, const L: usize>(
    a: View<'_>,
    row0: usize,
    c: &mut [f32],
    packed_b: &[f32],
    k: usize,
    n: usize,
) {
    let rows = c.len() / n;
    let panels = n.div_ceil(NR);
    let mut sliver = vec![[0.0f32; L]; MR * KC];
    for first_panel in (0..panels).step_by(NC / NR) {
        let block = first_panel..panels.min(first_panel + NC / NR);
        for k0 in (0..k).step_by(KC) {
            let depth = KC.min(k - k0);
            for i0 in (0..rows).step_by(MR) {
                // sliver[p·MR + i] = A[row0 + i0 + i, k0 + p] in every lane, zero past the last row.
                for p in 0..depth {
                    for i in 0..MR {
                        let r = i0 + i;
                        sliver[p * MR + i] = [if r < rows { a.at(row0 + r, k0 + p) } else { 0.0 }; L];
                    }
                }
                for jp in block.clone() {
                    let panel = &packed_b[jp * k * NR..(jp + 1) * k * NR];
                    let acc = kernel::<MR, NR, L>(&sliver[..depth * MR], &panel[k0 * NR..(k0 + depth) * NR]);
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

/// The micro-kernel: Σₚ a[p, i]·b[p, j] over one k slice, its `MR × NR` accumulators in vector
/// registers. On SSE2 each A value arrives already repeated across a 4-wide vector, so the loop is
/// vector loads, multiplies and adds only: broadcasting a scalar would cost a shuffle per value, on
/// the ports the arithmetic needs (measured: ~23 → ~29 GFLOP/s on one core). AVX2 broadcasts as it
/// loads, so there `L` is 1.
#[inline(always)]
fn kernel<const MR: usize, const NR: usize, const L: usize>(a: &[[f32; L]], b: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0.0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        let bp: &[f32; NR] = bp.try_into().expect("panel rows are NR wide");
        for (acc_row, av) in acc.iter_mut().zip(ap) {
            for (j, acc) in acc_row.iter_mut().enumerate() {
                *acc += av[j % L] * bp[j];
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1) with many distinct bit patterns.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Every product the same as a plain triple loop in f64, to f32 rounding of the sums.
    fn check_against_naive(isa: Isa, spec: MatmulSpec, lhs: &[f32], rhs: &[f32]) -> Vec<f32> {
        let got = matmul_on(isa, lhs, rhs, spec);
        let MatmulSpec { batch, m, k, n, .. } = spec;
        let ((lr, lc), (rr, rc)) = (spec.lhs_strides(), spec.rhs_strides());
        for b in 0..batch {
            let (la, ra) = (&lhs[b * spec.lhs_stride()..], &rhs[b * spec.rhs_stride()..]);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|p| la[i * lr + p * lc] as f64 * ra[p * rr + j * rc] as f64).sum();
                    let v = got[(b * m + i) * n + j];
                    assert!(
                        (v as f64 - want).abs() <= 1e-5 * (k as f64).sqrt() * (1.0 + want.abs()),
                        "{isa:?} {spec:?}: C[{b}][{i}][{j}] = {v}, want {want}"
                    );
                }
            }
        }
        got
    }

    fn specs() -> Vec<MatmulSpec> {
        let mut specs = Vec::new();
        // Odd sizes around the tile shapes (4×8, 6×16), k past one KC slice, n past one NC block.
        for &(m, k, n) in &[(1, 1, 1), (7, 5, 3), (6, 16, 16), (13, 33, 17), (33, 257, 9), (5, 300, 270), (70, 40, 50)]
        {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut spec = MatmulSpec::plain(m, k, n);
                spec.lhs_transposed = ta;
                spec.rhs_transposed = tb;
                specs.push(spec);
            }
        }
        // A batch sharing one rhs.
        specs.push(MatmulSpec { batch: 3, rhs_batched: false, ..MatmulSpec::plain(9, 20, 11) });
        specs
    }

    #[test]
    fn baseline_tiles_match_a_naive_product() {
        for (s, spec) in specs().into_iter().enumerate() {
            let lhs = values(spec.batch * spec.m * spec.k, 2 * s as u64);
            let rhs = values(spec.batch * spec.k * spec.n, 2 * s as u64 + 1);
            check_against_naive(Isa::Baseline, spec, &lhs, &rhs);
        }
    }

    /// The AVX2 tiles add the same products in the same order as the baseline ones, so the two
    /// paths agree to the bit, and a run does not depend on which CPU it was made on.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_tiles_equal_the_baseline_bit_for_bit() {
        let Some(v3) = pulp::x86::V3::try_new() else {
            eprintln!("this CPU has no AVX2: only the baseline path can run here");
            return;
        };
        for (s, spec) in specs().into_iter().enumerate() {
            let lhs = values(spec.batch * spec.m * spec.k, 2 * s as u64);
            let rhs = values(spec.batch * spec.k * spec.n, 2 * s as u64 + 1);
            let wide = check_against_naive(Isa::Avx2(v3), spec, &lhs, &rhs);
            let base = matmul_on(Isa::Baseline, &lhs, &rhs, spec);
            let differ = wide.iter().zip(&base).filter(|(w, b)| w.to_bits() != b.to_bits()).count();
            assert_eq!(differ, 0, "{spec:?}: {differ} of {} values differ between AVX2 and baseline", wide.len());
        }
    }
}
