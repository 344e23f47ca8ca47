//! Chooses the kernel set once per process: AVX2 + FMA when the CPU has both (checked with
//! `is_x86_feature_detected!`), else the scalar twins. `NEURITE_SIMD=scalar` forces the scalar
//! set, so one machine can test both paths. Everything outside `arch/` calls the safe functions
//! here and never sees an intrinsic.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use neurite_core::backend::{BinaryOp, UnaryOp};

pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_avx2;

/// Which kernel set runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// 8-wide AVX2 with fused multiply-add.
    Avx2,
    /// Portable scalar code.
    Scalar,
}

static FORCE_SCALAR: AtomicBool = AtomicBool::new(false);

/// The kernel set of this process, chosen on first use (or scalar after [`force_scalar`]).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    if FORCE_SCALAR.load(Ordering::Relaxed) {
        return Level::Scalar;
    }
    *LEVEL.get_or_init(select)
}

/// Makes every later kernel call in this process use the scalar twins, like `NEURITE_SIMD=scalar`
/// (for tests that cover both paths in one run).
pub fn force_scalar() {
    FORCE_SCALAR.store(true, Ordering::Relaxed);
}

fn select() -> Level {
    if std::env::var("NEURITE_SIMD").is_ok_and(|v| v.eq_ignore_ascii_case("scalar")) {
        return Level::Scalar;
    }
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        return Level::Avx2;
    }
    Level::Scalar
}

/// Runs `f` compiled with AVX2 enabled when this process's level is AVX2, else as built (the
/// baseline). For plain-Rust loops that LLVM vectorises: `f` and what it calls must be
/// `#[inline(always)]`. Used by the fused batch-norm passes, whose loops need no intrinsics.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    match (level(), neurite_core::isa::Isa::detect()) {
        #[cfg(target_arch = "x86_64")]
        (Level::Avx2, isa @ neurite_core::isa::Isa::Avx2(_)) => isa.run(f),
        _ => f(),
    }
}

/// Whether the AVX2 kernels may run: the detected level, re-checked so that every `unsafe` call
/// below names the check that makes it sound.
#[inline]
fn avx2() -> bool {
    level() == Level::Avx2
}

/// `op` on every element of `x` into `out`.
pub(crate) fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        if unsafe { x86_avx2::unary(op, x, out) } {
            return;
        }
    }
    scalar::unary(op, x, out);
}

/// One output row of a binary op; each operand advances (step 1) or repeats (step 0).
pub(crate) fn binary_row(op: BinaryOp, out: &mut [f32], a: &[f32], sa: usize, b: &[f32], sb: usize) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        if unsafe { x86_avx2::binary_row(op, out, a, sa, b, sb) } {
            return;
        }
    }
    scalar::binary_row(op, out, a, sa, b, sb);
}

/// Σx.
pub(crate) fn sum(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::sum(x) };
    }
    scalar::sum(x)
}

/// max x.
pub(crate) fn max(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::max(x) };
    }
    scalar::max(x)
}

/// `acc += x`.
pub(crate) fn add_assign(acc: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::add_assign(acc, x) };
    }
    scalar::add_assign(acc, x)
}

/// Output rows (filters) of one direct-convolution block.
pub(crate) const CONV_FILTERS: usize = 6;
/// Output values (flattened pixels) per row of one direct-convolution block.
pub(crate) const CONV_PIXELS: usize = 16;

/// Panics unless every index a convolution block reads or writes lies in its slice.
pub(crate) fn conv_block_bounds(
    w: &[f32],
    x: &[f32],
    (channels, channel_stride): (usize, usize),
    offsets: &[usize],
    out: &[f32],
    out_stride: usize,
) {
    if channels == 0 || offsets.is_empty() {
        return;
    }
    let far = offsets.iter().max().copied().unwrap_or(0) + CONV_PIXELS;
    assert!(x.len() >= (channels - 1) * channel_stride + far, "conv block: input too short");
    assert!(w.len() >= channels * offsets.len() * CONV_FILTERS, "conv block: weights too short");
    assert!(out.len() >= (CONV_FILTERS - 1) * out_stride + CONV_PIXELS, "conv block: output too short");
}

/// One block of a direct stride-1 convolution (see `x86_avx2::conv_block`): 6 output rows of
/// 16 values, each `Σ_c Σ_t w[(c·taps + t)·6 + i] · x[c·channel_stride + offsets[t] + j]`.
pub(crate) fn conv_block(
    w: &[f32],
    x: &[f32],
    channels: (usize, usize),
    offsets: &[usize],
    out: &mut [f32],
    out_stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::conv_block(w, x, channels, offsets, out, out_stride) };
    }
    scalar::conv_block(w, x, channels, offsets, out, out_stride)
}

/// Eight lane sums folded pairwise in a fixed order.
#[inline(always)]
pub(crate) fn fold_lanes(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Panics unless every index a weight-gradient block reads lies in its slice, and `len` is a
/// whole number of 8-value steps.
pub(crate) fn dw_block_bounds(dy: &[f32], dy_stride: usize, rows: usize, x: &[f32], offsets: &[usize], len: usize) {
    assert!(len.is_multiple_of(8), "weight-gradient block: length {len} is not a multiple of 8");
    if len == 0 || rows == 0 {
        return;
    }
    assert!(dy.len() >= (rows - 1) * dy_stride + len, "weight-gradient block: output gradient too short");
    let far = offsets.iter().max().copied().unwrap_or(0);
    assert!(offsets.is_empty() || x.len() >= far + len, "weight-gradient block: input too short");
}

/// `NF × NT` dot products of a direct convolution's weight gradient (see
/// `x86_avx2::dw_block`): `Σ_q dy[i·dy_stride + q] · x[offsets[t] + q]`, in 8 lanes.
pub(crate) fn dw_block<const NF: usize, const NT: usize>(
    dy: &[f32],
    dy_stride: usize,
    x: &[f32],
    offsets: &[usize; NT],
    len: usize,
) -> [[f32; NT]; NF] {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::dw_block::<NF, NT>(dy, dy_stride, x, offsets, len) };
    }
    scalar::dw_block::<NF, NT>(dy, dy_stride, x, offsets, len)
}

/// Softmax or log-softmax of one row in place.
pub(crate) fn softmax_row(row: &mut [f32], log: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: avx2 and fma were detected in select().
        return unsafe { x86_avx2::softmax_row(row, log) };
    }
    scalar::softmax_row(row, log)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    //! Each AVX2 kernel against its scalar twin at every tail length, and the transcendentals
    //! against `f32` over dense sweeps. Skipped (with a message) on CPUs without AVX2.

    use super::*;
    use neurite_core::conformance::elementwise::UNARY_OPS;

    const LENGTHS: &[usize] = &[0, 1, 7, 8, 9, 31, 1000];

    fn has_avx2() -> bool {
        let ok = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if !ok {
            eprintln!("skipped: this CPU has no AVX2/FMA");
        }
        ok
    }

    fn data(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0).collect()
    }

    fn close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * w.abs();
            assert!(ok, "{what}[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn convolution_blocks_match_their_scalar_twins() {
        if !has_avx2() {
            return;
        }
        // Three channels of 70-value planes, nine taps at offsets like a 3×3 kernel's on
        // 10-wide rows; weights for 6 filters.
        let (channels, plane) = (3, 70);
        let offsets: Vec<usize> = (0..9).map(|t| t / 3 * 10 + t % 3).collect();
        let (x, w) = (data(channels * plane), data(channels * 9 * CONV_FILTERS + 5));
        let mut avx = vec![0.0; 5 * 20 + CONV_PIXELS];
        let mut scalar_out = avx.clone();
        // SAFETY: AVX2 and FMA detected above.
        unsafe { x86_avx2::conv_block(&w[5..], &x[3..], (channels, plane), &offsets, &mut avx, 20) };
        scalar::conv_block(&w[5..], &x[3..], (channels, plane), &offsets, &mut scalar_out, 20);
        close("conv_block", &avx, &scalar_out, 1e-5, 1e-5);
        assert!(avx.iter().any(|&v| v != 0.0));

        let dy = data(4 * 40 + 9);
        let taps = [0, 1, 2];
        // SAFETY: AVX2 and FMA detected above.
        let avx = unsafe { x86_avx2::dw_block::<4, 3>(&dy[1..], 40, &x, &taps, 40) };
        let scalar_sums = scalar::dw_block::<4, 3>(&dy[1..], 40, &x, &taps, 40);
        for (a, s) in avx.iter().zip(&scalar_sums) {
            close("dw_block", a, s, 1e-4, 1e-5);
        }
        // Against a plain dot product.
        let want: f32 = (0..40).map(|q| dy[1 + 40 + q] * x[2 + q]).sum();
        close("dw_block by hand", &[avx[1][2]], &[want], 1e-4, 1e-5);
    }

    #[test]
    fn unary_kernels_match_their_scalar_twins_at_every_tail() {
        if !has_avx2() {
            return;
        }
        for &n in LENGTHS {
            let x = data(n);
            let pos: Vec<f32> = x.iter().map(|v| v.abs() + 0.01).collect();
            for &op in UNARY_OPS {
                let input = if matches!(op, UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::PowScalar(_)) { &pos } else { &x };
                let mut simd = vec![0.0; n];
                let mut twin = vec![0.0; n];
                // SAFETY: avx2 and fma detected above.
                if !unsafe { x86_avx2::unary(op, input, &mut simd) } {
                    continue; // no vector kernel for this op
                }
                scalar::unary(op, input, &mut twin);
                close(&format!("{op:?} n={n}"), &simd, &twin, 1e-6, 1e-6);
            }
        }
    }

    #[test]
    fn binary_rows_and_reductions_match_their_scalar_twins() {
        if !has_avx2() {
            return;
        }
        for &n in LENGTHS {
            let a = data(n);
            let b: Vec<f32> = data(n).iter().map(|v| v * 0.5 + 3.0).collect();
            for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
                for (sa, sb) in [(1, 1), (1, 0), (0, 1)] {
                    if n == 0 && (sa == 0 || sb == 0) {
                        continue;
                    }
                    let mut simd = vec![0.0; n];
                    let mut twin = vec![0.0; n];
                    // SAFETY: avx2 and fma detected above.
                    unsafe { x86_avx2::binary_row(op, &mut simd, &a, sa, &b, sb) };
                    scalar::binary_row(op, &mut twin, &a, sa, &b, sb);
                    assert_eq!(simd, twin, "{op:?} ({sa}, {sb}) n={n}");
                }
            }
            // SAFETY: avx2 and fma detected above.
            let (s, m) = unsafe { (x86_avx2::sum(&a), x86_avx2::max(&a)) };
            close("sum", &[s], &[scalar::sum(&a)], 1e-4, 1e-5);
            assert_eq!(m, scalar::max(&a), "max n={n}");
            let mut acc = b.clone();
            let mut twin = b.clone();
            // SAFETY: avx2 and fma detected above.
            unsafe { x86_avx2::add_assign(&mut acc, &a) };
            scalar::add_assign(&mut twin, &a);
            assert_eq!(acc, twin);
            for log in [false, true] {
                let mut row = a.clone();
                let mut twin = a.clone();
                // SAFETY: avx2 and fma detected above.
                unsafe { x86_avx2::softmax_row(&mut row, log) };
                scalar::softmax_row(&mut twin, log);
                close(&format!("softmax log={log} n={n}"), &row, &twin, 1e-6, 1e-5);
            }
        }
    }

    /// Largest relative error of the vector kernel of `op` against `f` on `xs`.
    fn worst(op: UnaryOp, xs: &[f32], f: impl Fn(f64) -> f64, absolute: bool) -> f64 {
        let mut out = vec![0.0; xs.len()];
        // SAFETY: callers check has_avx2() first.
        unsafe { x86_avx2::unary(op, xs, &mut out) };
        xs.iter()
            .zip(&out)
            .map(|(&x, &y)| {
                let want = f(x as f64);
                let err = (y as f64 - want).abs();
                if absolute { err } else { err / want.abs().max(f64::MIN_POSITIVE) }
            })
            .fold(0.0, f64::max)
    }

    fn sweep(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| lo + (hi - lo) * i as f32 / (n - 1) as f32).collect()
    }

    #[test]
    fn transcendentals_meet_their_documented_error_bounds() {
        if !has_avx2() {
            return;
        }
        let exp_err = worst(UnaryOp::Exp, &sweep(-87.0, 88.5, 400_003), f64::exp, false);
        assert!(exp_err <= 2e-7, "exp relative error {exp_err:e}");
        let log_err = worst(UnaryOp::Log, &sweep(1e-30, 1e4, 400_003), f64::ln, true);
        assert!(log_err <= 2e-6, "log absolute error {log_err:e}");
        let log_rel = worst(UnaryOp::Log, &sweep(2.0, 1e30, 400_003), f64::ln, false);
        assert!(log_rel <= 2e-7, "log relative error {log_rel:e}");
        let tanh_err = worst(UnaryOp::Tanh, &sweep(-20.0, 20.0, 400_003), f64::tanh, true);
        assert!(tanh_err <= 3e-7, "tanh absolute error {tanh_err:e}");
        let sig_err = worst(UnaryOp::Sigmoid, &sweep(-90.0, 90.0, 400_003), |x| 1.0 / (1.0 + (-x).exp()), true);
        assert!(sig_err <= 2e-7, "sigmoid absolute error {sig_err:e}");
        // Special values.
        let special = [0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -1.0, 1e-40, 100.0, -100.0, 0.0];
        let mut out = vec![0.0; special.len()];
        // SAFETY: avx2 and fma detected above.
        unsafe { x86_avx2::unary(UnaryOp::Exp, &special[..8], &mut out[..8]) };
        assert_eq!(&out[..4], &[1.0, 1.0, f32::INFINITY, 0.0]);
        assert!(out[4].is_nan());
        // SAFETY: avx2 and fma detected above.
        unsafe { x86_avx2::unary(UnaryOp::Log, &special[..8], &mut out[..8]) };
        assert_eq!(&out[..3], &[f32::NEG_INFINITY, f32::NEG_INFINITY, f32::INFINITY]);
        assert!(out[3].is_nan() && out[4].is_nan() && out[5].is_nan());
        assert!((out[6] - (1e-40f64).ln() as f32).abs() < 1e-4, "log of a subnormal: {}", out[6]);
    }
}
