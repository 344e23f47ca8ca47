//! The only caller of `matrixmultiply::sgemm`. Operands stored transposed are read through
//! strides, never copied. Large products are cut into one output tile per rayon thread; each tile
//! is one single-threaded sgemm over the whole k range. sgemm computes every output value the same
//! way whichever tile it falls in (fixed kc blocks of k, summed in order), so results are
//! bit-identical at any thread count, as `tests/determinism.rs` checks.

use neurite_core::backend::MatmulSpec;
use rayon::prelude::*;

/// A row-major matrix operand: its data and (row stride, column stride) in elements.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Operand<'a> {
    /// A `[rows, cols]` matrix stored row-major, read transposed when `transposed` (then it is
    /// stored as `[cols, rows]`).
    pub fn new(data: &'a [f32], rows: usize, cols: usize, transposed: bool) -> Self {
        if transposed {
            Operand { data, row_stride: 1, col_stride: rows }
        } else {
            Operand { data, row_stride: cols, col_stride: 1 }
        }
    }
}

/// Work (2·m·n·k) below which a product runs on the calling thread.
const PARALLEL_FLOPS: usize = 1 << 21;
/// Smallest tile side worth a task of its own.
const MIN_TILE: usize = 32;

/// Checks that every element `a` and `b` address for an `[m, k]·[k, n]` product lies in its slice.
fn check_operands(m: usize, k: usize, n: usize, a: &Operand<'_>, b: &Operand<'_>) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    if m > 0 && n > 0 && k > 0 {
        assert!(a.data.len() > last(m, k, a.row_stride, a.col_stride), "sgemm: lhs too short");
        assert!(b.data.len() > last(k, n, b.row_stride, b.col_stride), "sgemm: rhs too short");
    }
}

/// `c = a·b` for `c` at `c` with row stride `ldc`, on one thread.
///
/// # Safety
/// `c` must be valid for writes at `i·ldc + j` for all `i < m`, `j < n`, with no other thread
/// touching those elements meanwhile, and not overlap `a` or `b`; `a` and `b` must pass
/// `check_operands`.
unsafe fn sgemm_raw(m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: *mut f32, ldc: usize) {
    // SAFETY: guaranteed by the caller, as documented above.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            0.0,
            c,
            ldc as isize,
            1,
        );
    }
}

/// A raw output pointer that tiles share; each tile writes only its own elements.
struct SharedOut(*mut f32);

// SAFETY: tiles write disjoint elements (see `sgemm`), so sharing the pointer between rayon tasks
// creates no data race.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn get(&self) -> *mut f32 {
        self.0
    }
}

/// `c[m, n] = a·b` (c contiguous, overwritten) on the calling thread, for callers that already
/// run in parallel (one chunk of a convolution per task).
///
/// # Panics
/// If `c` or an operand is too short for the shape.
pub(crate) fn sgemm_serial(m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: &mut [f32]) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= m * n, "sgemm: output too short");
    if k == 0 {
        c[..m * n].fill(0.0);
        return;
    }
    check_operands(m, k, n, &a, &b);
    // SAFETY: c holds m·n elements (asserted) and is borrowed mutably, so nothing else touches
    // it; operands checked above.
    unsafe { sgemm_raw(m, k, n, a, b, c.as_mut_ptr(), n) };
}

/// `c[m, n] = a·b` (c contiguous, overwritten), split into tiles over rayon when large.
///
/// # Panics
/// If `c` or an operand is too short for the shape.
pub(crate) fn sgemm(m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: &mut [f32]) {
    if k == 0 || 2 * m * n * k < PARALLEL_FLOPS || (m < 2 * MIN_TILE && n < 2 * MIN_TILE) {
        return sgemm_serial(m, k, n, a, b, c);
    }
    assert!(c.len() >= m * n, "sgemm: output too short");
    check_operands(m, k, n, &a, &b);
    // One tile per thread along the longer side, at least MIN_TILE wide. Fewer, larger tiles
    // pack the shared operand fewer times. The split cannot change any output value: sgemm sums
    // each output over k in fixed kc-sized blocks whatever rows or columns share its call.
    let tiles = rayon::current_num_threads().max(1);
    let out = SharedOut(c.as_mut_ptr());
    if m >= n {
        let tile = m.div_ceil(tiles).max(MIN_TILE).next_multiple_of(8);
        (0..m.div_ceil(tile)).into_par_iter().for_each(|t| {
            let r0 = t * tile;
            let rows = tile.min(m - r0);
            let a_tile = Operand { data: &a.data[r0 * a.row_stride..], ..a };
            // SAFETY: this tile writes rows r0..r0 + rows of the m·n output (asserted in
            // bounds), which no other tile writes; `c` is exclusively borrowed for the call.
            unsafe { sgemm_raw(rows, k, n, a_tile, b, out.get().add(r0 * n), n) };
        });
    } else {
        let tile = n.div_ceil(tiles).max(MIN_TILE).next_multiple_of(8);
        (0..n.div_ceil(tile)).into_par_iter().for_each(|t| {
            let c0 = t * tile;
            let cols = tile.min(n - c0);
            let b_tile = Operand { data: &b.data[c0 * b.col_stride..], ..b };
            // SAFETY: this tile writes columns c0..c0 + cols of every row (row stride n) of the
            // m·n output, which no other tile writes; `c` is exclusively borrowed for the call.
            unsafe { sgemm_raw(m, k, cols, a, b_tile, out.get().add(c0), n) };
        });
    }
}

/// Products with at most this many multiply-adds skip sgemm: its packing costs more than the
/// arithmetic (the course's 2-4-1 network, a scalar loss).
const SMALL: usize = 4096;

/// `c = a·b` by direct loops, for tiny products.
fn small_product(m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: &mut [f32]) {
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        row.fill(0.0);
        for p in 0..k {
            let av = a.data[i * a.row_stride + p * a.col_stride];
            for (j, cv) in row.iter_mut().enumerate() {
                *cv += av * b.data[p * b.row_stride + j * b.col_stride];
            }
        }
    }
}

/// The (batched) product of `spec` into `out` (`[batch, m, n]`).
pub(crate) fn matmul(lhs: &[f32], rhs: &[f32], spec: MatmulSpec, out: &mut [f32]) {
    let MatmulSpec { batch, m, k, n, .. } = spec;
    if m == 0 || n == 0 {
        return;
    }
    let item = |b: usize, c: &mut [f32]| {
        let a = Operand::new(&lhs[b * spec.lhs_stride()..], m, k, spec.lhs_transposed);
        let bm = Operand::new(&rhs[b * spec.rhs_stride()..], k, n, spec.rhs_transposed);
        if m * k * n <= SMALL {
            small_product(m, k, n, a, bm, c);
        } else {
            sgemm(m, k, n, a, bm, c);
        }
    };
    if batch > 1 && 2 * m * n * k < PARALLEL_FLOPS {
        // Many small products: one task per batch item.
        out.par_chunks_mut(m * n).enumerate().for_each(|(b, c)| item(b, c));
    } else {
        out.chunks_mut(m * n).enumerate().for_each(|(b, c)| item(b, c));
    }
}
