//! The one entry point of matrix products, and the only caller of the two sgemm libraries:
//! `matrixmultiply` and `gemm` (which dispatches at run time to AVX2 + FMA kernels, or AVX-512
//! ones where the CPU has them). [`engine`] picks one per product by its shape class, from
//! measurements (see its documentation); `NEURITE_GEMM=matrixmultiply|gemm` forces one.
//!
//! Operands stored transposed are read through strides, never copied. Large products are cut
//! into one output tile per rayon thread; each tile is one single-threaded sgemm over the whole k
//! range. Both libraries compute every output value the same way whichever tile it falls in (k
//! cut into blocks whose size depends on k and the CPU only, summed in order): results are
//! bit-identical at any thread count, as `tests/determinism.rs` and this file's tests check.

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

/// The two sgemm libraries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `matrixmultiply` (bluss): AVX2 + FMA at best.
    MatrixMultiply,
    /// `gemm` (sarah-ek): AVX2 + FMA, and AVX-512 where the CPU has it.
    Gemm,
}

impl Engine {
    /// The engine forced by `NEURITE_GEMM`, if it names one.
    fn forced() -> Option<Engine> {
        static FORCED: std::sync::OnceLock<Option<Engine>> = std::sync::OnceLock::new();
        *FORCED.get_or_init(|| match std::env::var("NEURITE_GEMM").ok()?.to_ascii_lowercase().as_str() {
            "matrixmultiply" => Some(Engine::MatrixMultiply),
            "gemm" => Some(Engine::Gemm),
            _ => None,
        })
    }
}

/// The instruction set the `gemm` engine's kernels run with on this CPU: `avx512` (AVX-512F),
/// `avx2` (AVX2 + FMA) or `scalar`, by the same checks its run-time dispatch makes.
pub fn gemm_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return "avx2";
        }
    }
    "scalar"
}

/// Products whose sides are all at least this long are "large and square".
const SQUARE: usize = 256;

/// The engine for an `[m, k]·[k, n]` product (one tile of it), unless `NEURITE_GEMM` forces one.
///
/// Measured on a Zen 3 EPYC (AVX2), both libraries on the same shapes. One thread, GFLOP/s,
/// matrixmultiply → gemm: convolution forward 16×144×1024 25.7 → 42.7 and 32×288×256
/// 56.2 → 67.3; input gradient 144×16×1024 45.8 → 65.3; weight gradient 144×1024×16
/// 46.1 → 69.7 and 288×256×32 52.9 → 65.7; the MLP's 128×784×512 74.6 → 80.7 and 512×128×784
/// 80.5 → 87.6. Whole training steps, two threads, best of three interleaved runs: MLP 37,968 →
/// 42,415 samples/s, MNIST CNN 3,302 → 3,500. Large square products went the other way:
/// 1024³ on two threads (tiles of 512×1024×1024) 135 → 120 GFLOP/s, 256³ 117 → 115. So products
/// with every side at least 256 go to matrixmultiply, all others to gemm.
pub fn engine(m: usize, k: usize, n: usize) -> Engine {
    Engine::forced().unwrap_or(if m.min(k).min(n) >= SQUARE { Engine::MatrixMultiply } else { Engine::Gemm })
}

/// `c = a·b` for `c` at `c` with row stride `ldc`, on one thread, by `engine`.
///
/// # Safety
/// `c` must be valid for writes at `i·ldc + j` for all `i < m`, `j < n`, with no other thread
/// touching those elements meanwhile, and not overlap `a` or `b`; `a` and `b` must pass
/// `check_operands`.
#[allow(clippy::too_many_arguments)]
unsafe fn engine_raw(
    engine: Engine,
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_>,
    b: Operand<'_>,
    c: *mut f32,
    ldc: usize,
) {
    if engine == Engine::Gemm {
        // SAFETY: guaranteed by the caller, as documented above. `gemm` takes column stride
        // before row stride; with `read_dst` false it overwrites c (alpha is unused) with
        // beta·a·b; no conjugation for reals; one thread.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c,
                1,
                ldc as isize,
                false,
                a.data.as_ptr(),
                a.col_stride as isize,
                a.row_stride as isize,
                b.data.as_ptr(),
                b.col_stride as isize,
                b.row_stride as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        return;
    }
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

/// Whether `c` holds an `[m, n]` output with row stride `ldc`.
fn check_output(m: usize, n: usize, c: &[f32], ldc: usize) {
    assert!(ldc >= n && c.len() >= (m - 1) * ldc + n, "sgemm: output too short");
}

/// `c = a·b` into rows `ldc` apart (row i of the output is `c[i·ldc..i·ldc + n]`; what lies
/// between rows is left alone), on the calling thread.
///
/// # Panics
/// If `c` or an operand is too short for the shape, or `ldc < n`.
pub(crate) fn sgemm_serial_strided(
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_>,
    b: Operand<'_>,
    c: &mut [f32],
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    check_output(m, n, c, ldc);
    if k == 0 {
        for row in 0..m {
            c[row * ldc..row * ldc + n].fill(0.0);
        }
        return;
    }
    check_operands(m, k, n, &a, &b);
    // SAFETY: c holds the m rows of n elements ldc apart (checked) and is borrowed mutably, so
    // nothing else touches it; operands checked above.
    unsafe { engine_raw(engine(m, k, n), m, k, n, a, b, c.as_mut_ptr(), ldc) };
}

/// [`sgemm_serial_strided`], split into tiles over rayon when large.
///
/// # Panics
/// If `c` or an operand is too short for the shape, or `ldc < n`.
pub(crate) fn sgemm_strided(m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: &mut [f32], ldc: usize) {
    if k == 0 || 2 * m * n * k < PARALLEL_FLOPS || (m < 2 * MIN_TILE && n < 2 * MIN_TILE) {
        return sgemm_serial_strided(m, k, n, a, b, c, ldc);
    }
    check_output(m, n, c, ldc);
    check_operands(m, k, n, &a, &b);
    // One tile per thread along the longer side, at least MIN_TILE wide. Fewer, larger tiles
    // pack the shared operand fewer times. The split cannot change any output value: sgemm sums
    // each output over k in fixed kc-sized blocks whatever rows or columns share its call.
    let tiles = rayon::current_num_threads().max(1);
    let out = SharedOut(c.as_mut_ptr());
    // The engine of the whole product, not of each tile: tiles depend on the thread count.
    let engine = engine(m, k, n);
    if m >= n {
        let tile = m.div_ceil(tiles).max(MIN_TILE).next_multiple_of(8);
        (0..m.div_ceil(tile)).into_par_iter().for_each(|t| {
            let r0 = t * tile;
            let rows = tile.min(m - r0);
            let a_tile = Operand { data: &a.data[r0 * a.row_stride..], ..a };
            // SAFETY: this tile writes rows r0..r0 + rows of the output (checked in bounds),
            // which no other tile writes; `c` is exclusively borrowed for the call.
            unsafe { engine_raw(engine, rows, k, n, a_tile, b, out.get().add(r0 * ldc), ldc) };
        });
    } else {
        let tile = n.div_ceil(tiles).max(MIN_TILE).next_multiple_of(8);
        (0..n.div_ceil(tile)).into_par_iter().for_each(|t| {
            let c0 = t * tile;
            let cols = tile.min(n - c0);
            let b_tile = Operand { data: &b.data[c0 * b.col_stride..], ..b };
            // SAFETY: this tile writes columns c0..c0 + cols of every row (row stride ldc) of
            // the output, which no other tile writes; `c` is exclusively borrowed for the call.
            unsafe { engine_raw(engine, m, k, cols, a, b_tile, out.get().add(c0), ldc) };
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
            sgemm_strided(m, k, n, a, bm, c, n);
        }
    };
    if batch > 1 && 2 * m * n * k < PARALLEL_FLOPS {
        // Many small products: one task per batch item.
        out.par_chunks_mut(m * n).enumerate().for_each(|(b, c)| item(b, c));
    } else {
        out.chunks_mut(m * n).enumerate().for_each(|(b, c)| item(b, c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    }

    /// `c = a·b` by `engine`, for the tests.
    fn product(engine: Engine, m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>) -> Vec<u32> {
        let mut c = vec![0.0f32; m * n];
        check_operands(m, k, n, &a, &b);
        // SAFETY: c holds m·n values and is exclusively borrowed; operands checked above.
        unsafe { engine_raw(engine, m, k, n, a, b, c.as_mut_ptr(), n) };
        c.iter().map(|x| x.to_bits()).collect()
    }

    /// The premise of splitting a product into tiles: a block of rows or columns computed on its
    /// own has the bits of the same block of the whole product, for both engines, at the shapes
    /// and tile sizes the tiling uses (and odd ones), with either operand transposed.
    #[test]
    fn a_tile_has_the_bits_of_the_whole_product() {
        for engine in [Engine::MatrixMultiply, Engine::Gemm] {
            for (m, k, n) in [(300, 257, 513), (144, 1024, 16), (16, 144, 1024), (97, 33, 200), (64, 2100, 64)] {
                for (ta, tb) in [(false, false), (true, false), (false, true)] {
                    let (av, bv) = (values(m * k, 1), values(k * n, 2));
                    let (a, b) = (Operand::new(&av, m, k, ta), Operand::new(&bv, k, n, tb));
                    let whole = product(engine, m, k, n, a, b);
                    let case = format!("{engine:?} {m}x{k}x{n} transposed {ta} {tb}");
                    for (r0, r1) in [(0, m / 3), (m / 3, m), (8, (m - 5).max(9))] {
                        let a_rows = Operand { data: &av[r0 * a.row_stride..], ..a };
                        let part = product(engine, r1 - r0, k, n, a_rows, b);
                        let first = part.iter().zip(&whole[r0 * n..r1 * n]).position(|(p, w)| p != w);
                        assert_eq!(first, None, "rows {r0}..{r1} of {case}: first difference");
                    }
                    for (c0, c1) in [(0, n / 2), (n / 2, n), (3, n - 1)] {
                        let b_cols = Operand { data: &bv[c0 * b.col_stride..], ..b };
                        let part = product(engine, m, k, c1 - c0, a, b_cols);
                        let first = (0..m * (c1 - c0)).position(|t| {
                            let (i, j) = (t / (c1 - c0), t % (c1 - c0));
                            part[t] != whole[i * n + c0 + j]
                        });
                        assert_eq!(first, None, "columns {c0}..{c1} of {case}: first difference");
                    }
                }
            }
        }
    }

    /// Both engines compute the product (to float rounding, against f64).
    #[test]
    fn both_engines_compute_the_product() {
        let (m, k, n) = (37, 129, 45);
        let (av, bv) = (values(m * k, 3), values(k * n, 4));
        let mut c = vec![0.0; m * n];
        for engine in [Engine::MatrixMultiply, Engine::Gemm] {
            // SAFETY: c holds m·n values, exclusively borrowed; the operands hold m·k and k·n.
            unsafe {
                engine_raw(
                    engine,
                    m,
                    k,
                    n,
                    Operand::new(&av, m, k, false),
                    Operand::new(&bv, k, n, false),
                    c.as_mut_ptr(),
                    n,
                )
            };
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k).map(|p| f64::from(av[i * k + p]) * f64::from(bv[p * n + j])).sum();
                    assert!((f64::from(c[i * n + j]) - want).abs() < 1e-4, "{engine:?} ({i}, {j})");
                }
            }
        }
    }
}
