//! AVX2 + FMA kernels (x86-64). Every function here is an `unsafe fn` with
//! `#[target_feature(enable = "avx2,fma")]`: calling one is sound only after `select()` in
//! `arch/mod.rs` has detected both features. Each has a safe scalar twin in `scalar.rs`, and
//! loop tails (fewer than 8 values) are finished by that twin's formula.
//!
//! Transcendentals are our own polynomial approximations (range reduction + Horner with FMA):
//! - `exp`: |relative error| ≤ 2e-7 on [−87.3, 88.7]; 0 below (where f32 would be subnormal), +∞
//!   above, NaN kept.
//! - `log`: |error| ≤ 2e-7 relative (absolute near x = 1), subnormals handled; log 0 = −∞,
//!   log of a negative number or NaN = NaN.
//! - `tanh` = (1 − e)/(1 + e) with e = exp(−2|x|): |absolute error| ≤ 3e-7.
//! - `sigmoid` = 1/(1 + exp(−x)): |absolute error| ≤ 2e-7.
//!
//! The bounds are checked by the dense sweeps in `arch/mod.rs`'s tests.

use std::arch::x86_64::*;

use neurite_core::backend::{BinaryOp, UnaryOp};

const LANES: usize = 8;

#[target_feature(enable = "avx2,fma")]
#[inline]
fn splat(v: f32) -> __m256 {
    _mm256_set1_ps(v)
}

/// 2ⁿ for integral n in [−126, 128] given as floats, as the product of two normal powers.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn pow2(n: __m256) -> (__m256, __m256) {
    let ni = _mm256_cvtps_epi32(n);
    let half = _mm256_srai_epi32::<1>(ni);
    let rest = _mm256_sub_epi32(ni, half);
    let bias = _mm256_set1_epi32(127);
    let a = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(half, bias)));
    let b = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(rest, bias)));
    (a, b)
}

/// eˣ for eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn exp8(x: __m256) -> __m256 {
    const HI: f32 = 88.722_83;
    const LO: f32 = -87.336_55;
    let clamped = _mm256_min_ps(_mm256_max_ps(x, splat(LO)), splat(HI));
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        clamped,
        splat(std::f32::consts::LOG2_E),
    ));
    // r = x − n·ln 2, with ln 2 split in two so that r keeps its low bits.
    let r = _mm256_fnmadd_ps(n, splat(0.693_359_4), clamped);
    let r = _mm256_fnmadd_ps(n, splat(-2.121_944_4e-4), r);
    // e^r on |r| ≤ ln2/2: Taylor series to r⁷ (truncation below 1e-8).
    let mut p = splat(1.0 / 5040.0);
    p = _mm256_fmadd_ps(p, r, splat(1.0 / 720.0));
    p = _mm256_fmadd_ps(p, r, splat(1.0 / 120.0));
    p = _mm256_fmadd_ps(p, r, splat(1.0 / 24.0));
    p = _mm256_fmadd_ps(p, r, splat(1.0 / 6.0));
    p = _mm256_fmadd_ps(p, r, splat(0.5));
    p = _mm256_fmadd_ps(p, r, splat(1.0));
    p = _mm256_fmadd_ps(p, r, splat(1.0));
    let (a, b) = pow2(n);
    let mut y = _mm256_mul_ps(_mm256_mul_ps(p, a), b);
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps::<_CMP_LT_OQ>(x, splat(LO)));
    y = _mm256_blendv_ps(y, splat(f32::INFINITY), _mm256_cmp_ps::<_CMP_GT_OQ>(x, splat(HI)));
    _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

/// ln x for eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) fn log8(x: __m256) -> __m256 {
    // Subnormals: scale by 2²³ first and take 23 off the exponent.
    let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(x, splat(f32::MIN_POSITIVE));
    let xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, splat(8_388_608.0)), tiny);
    let bits = _mm256_castps_si256(xs);
    let exponent = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
    let mut e = _mm256_cvtepi32_ps(exponent);
    e = _mm256_sub_ps(e, _mm256_and_ps(tiny, splat(23.0)));
    let mantissa =
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007F_FFFF)), _mm256_set1_epi32(0x3F80_0000));
    let mut m = _mm256_castsi256_ps(mantissa);
    // Bring m into [√½, √2) so that f = m − 1 is small.
    let big = _mm256_cmp_ps::<_CMP_GT_OQ>(m, splat(std::f32::consts::SQRT_2));
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, splat(0.5)), big);
    e = _mm256_add_ps(e, _mm256_and_ps(big, splat(1.0)));
    let f = _mm256_sub_ps(m, splat(1.0));
    // ln m = 2·atanh(s) with s = f/(2 + f): 2s(1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9).
    let s = _mm256_div_ps(f, _mm256_add_ps(splat(2.0), f));
    let s2 = _mm256_mul_ps(s, s);
    let mut p = splat(1.0 / 9.0);
    p = _mm256_fmadd_ps(p, s2, splat(1.0 / 7.0));
    p = _mm256_fmadd_ps(p, s2, splat(1.0 / 5.0));
    p = _mm256_fmadd_ps(p, s2, splat(1.0 / 3.0));
    let two_s = _mm256_add_ps(s, s);
    let log_m = _mm256_fmadd_ps(_mm256_mul_ps(two_s, s2), p, two_s);
    let mut y = _mm256_fmadd_ps(e, splat(0.693_359_4), _mm256_fmadd_ps(e, splat(-2.121_944_4e-4), log_m));
    y = _mm256_blendv_ps(y, splat(f32::NEG_INFINITY), _mm256_cmp_ps::<_CMP_EQ_OQ>(x, _mm256_setzero_ps()));
    y = _mm256_blendv_ps(y, splat(f32::NAN), _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps()));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_EQ_OQ>(x, splat(f32::INFINITY)));
    _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_UNORD_Q>(x, x))
}

/// tanh x for eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tanh8(x: __m256) -> __m256 {
    let sign = _mm256_and_ps(x, splat(-0.0));
    let ax = _mm256_andnot_ps(splat(-0.0), x);
    let e = exp8(_mm256_mul_ps(ax, splat(-2.0)));
    let t = _mm256_div_ps(_mm256_sub_ps(splat(1.0), e), _mm256_add_ps(splat(1.0), e));
    _mm256_or_ps(t, sign)
}

/// 1/(1 + e⁻ˣ) for eight lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn sigmoid8(x: __m256) -> __m256 {
    let e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    _mm256_div_ps(splat(1.0), _mm256_add_ps(splat(1.0), e))
}

/// Applies `f` to `x` in blocks of eight and `tail` to the rest.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn map8(x: &[f32], out: &mut [f32], f: impl Fn(__m256) -> __m256, tail: impl Fn(f32) -> f32) {
    let n = x.len().min(out.len());
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: i + 8 ≤ n ≤ both lengths, so both 8-wide accesses are in bounds.
        unsafe {
            let v = _mm256_loadu_ps(x.as_ptr().add(i));
            _mm256_storeu_ps(out.as_mut_ptr().add(i), f(v));
        }
        i += LANES;
    }
    for j in i..n {
        out[j] = tail(x[j]);
    }
}

/// Applies `f` to `x` in place, in blocks of eight, and `tail` to the rest.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn map8_in_place(x: &mut [f32], f: impl Fn(__m256) -> __m256, tail: impl Fn(f32) -> f32) {
    let n = x.len();
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: i + 8 ≤ n.
        unsafe {
            let v = _mm256_loadu_ps(x.as_ptr().add(i));
            _mm256_storeu_ps(x.as_mut_ptr().add(i), f(v));
        }
        i += LANES;
    }
    for v in &mut x[i..] {
        *v = tail(*v);
    }
}

/// `op` on every element of `x` into `out`. Returns false (writing nothing) for ops without a
/// vector kernel; the caller then uses the scalar twin.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn unary(op: UnaryOp, x: &[f32], out: &mut [f32]) -> bool {
    let zero = _mm256_setzero_ps();
    let t = |v: f32| op.apply(v);
    match op {
        UnaryOp::Neg => map8(x, out, |v| _mm256_sub_ps(zero, v), t),
        UnaryOp::Abs => map8(x, out, |v| _mm256_andnot_ps(splat(-0.0), v), t),
        UnaryOp::Square => map8(x, out, |v| _mm256_mul_ps(v, v), t),
        UnaryOp::Sqrt => map8(x, out, |v| _mm256_sqrt_ps(v), t),
        UnaryOp::Recip => map8(x, out, |v| _mm256_div_ps(splat(1.0), v), t),
        UnaryOp::Relu => map8(x, out, |v| _mm256_max_ps(v, zero), t),
        UnaryOp::Step => map8(x, out, |v| _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(v, zero), splat(1.0)), t),
        UnaryOp::AddScalar(c) => map8(x, out, |v| _mm256_add_ps(v, splat(c)), t),
        UnaryOp::MulScalar(c) => map8(x, out, |v| _mm256_mul_ps(v, splat(c)), t),
        UnaryOp::Clamp(lo, hi) => map8(x, out, |v| _mm256_min_ps(_mm256_max_ps(v, splat(lo)), splat(hi)), t),
        UnaryOp::LeakyRelu(alpha) => map8(
            x,
            out,
            |v| _mm256_blendv_ps(_mm256_mul_ps(v, splat(alpha)), v, _mm256_cmp_ps::<_CMP_GT_OQ>(v, zero)),
            t,
        ),
        UnaryOp::LeakyReluDeriv(alpha) => {
            map8(x, out, |v| _mm256_blendv_ps(splat(alpha), splat(1.0), _mm256_cmp_ps::<_CMP_GT_OQ>(v, zero)), t)
        }
        UnaryOp::Exp => map8(x, out, |v| exp8(v), t),
        UnaryOp::Log => map8(x, out, |v| log8(v), t),
        UnaryOp::Tanh => map8(x, out, |v| tanh8(v), t),
        UnaryOp::Sigmoid => map8(x, out, |v| sigmoid8(v), t),
        UnaryOp::Elu(alpha) => map8(
            x,
            out,
            |v| {
                let neg = _mm256_mul_ps(splat(alpha), _mm256_sub_ps(exp8(v), splat(1.0)));
                _mm256_blendv_ps(neg, v, _mm256_cmp_ps::<_CMP_GT_OQ>(v, zero))
            },
            t,
        ),
        UnaryOp::Softplus => map8(
            x,
            out,
            |v| {
                let e = exp8(_mm256_sub_ps(zero, _mm256_andnot_ps(splat(-0.0), v)));
                _mm256_add_ps(_mm256_max_ps(v, zero), log8(_mm256_add_ps(splat(1.0), e)))
            },
            t,
        ),
        UnaryOp::Gelu => map8(
            x,
            out,
            |v| {
                let cube = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
                let inner = _mm256_mul_ps(splat(0.797_884_6), _mm256_fmadd_ps(cube, splat(0.044_715), v));
                _mm256_mul_ps(_mm256_mul_ps(splat(0.5), v), _mm256_add_ps(splat(1.0), tanh8(inner)))
            },
            t,
        ),
        _ => return false,
    }
    true
}

/// One output row of a binary op; each operand either advances (step 1) or repeats its first
/// value (step 0). Returns false for ops without a vector kernel.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn binary_row(op: BinaryOp, out: &mut [f32], a: &[f32], sa: usize, b: &[f32], sb: usize) -> bool {
    macro_rules! run {
        ($vec:expr, $sc:expr) => {{
            let n = out.len();
            let mut i = 0;
            // SAFETY (all loads/stores below): i + 8 ≤ n, and an advancing operand has n values.
            while i + LANES <= n {
                unsafe {
                    let va = if sa == 1 { _mm256_loadu_ps(a.as_ptr().add(i)) } else { _mm256_set1_ps(a[0]) };
                    let vb = if sb == 1 { _mm256_loadu_ps(b.as_ptr().add(i)) } else { _mm256_set1_ps(b[0]) };
                    _mm256_storeu_ps(out.as_mut_ptr().add(i), $vec(va, vb));
                }
                i += LANES;
            }
            for j in i..n {
                out[j] = $sc(a[j * sa], b[j * sb]);
            }
        }};
    }
    match op {
        BinaryOp::Add => run!(|x, y| _mm256_add_ps(x, y), |x: f32, y: f32| x + y),
        BinaryOp::Sub => run!(|x, y| _mm256_sub_ps(x, y), |x: f32, y: f32| x - y),
        BinaryOp::Mul => run!(|x, y| _mm256_mul_ps(x, y), |x: f32, y: f32| x * y),
        BinaryOp::Div => run!(|x, y| _mm256_div_ps(x, y), |x: f32, y: f32| x / y),
        _ => return false,
    }
    true
}

/// Σx, with four 8-lane accumulators combined in a fixed order.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sum(x: &[f32]) -> f32 {
    let n = x.len();
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 4 * LANES <= n {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 ≤ i + 32 ≤ n.
            *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(x.as_ptr().add(i + k * LANES)) });
        }
        i += 4 * LANES;
    }
    while i + LANES <= n {
        // SAFETY: i + 8 ≤ n.
        acc[0] = _mm256_add_ps(acc[0], unsafe { _mm256_loadu_ps(x.as_ptr().add(i)) });
        i += LANES;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut lanes = [0.0f32; LANES];
    // SAFETY: `lanes` holds exactly 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
    let mut total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for &v in &x[i..] {
        total += v;
    }
    total
}

/// max x (−∞ for an empty slice; NaN is ignored like `f32::max`).
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn max(x: &[f32]) -> f32 {
    let n = x.len();
    let mut acc = splat(f32::NEG_INFINITY);
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: i + 8 ≤ n. max_ps returns its second operand when the first is NaN, so a NaN
        // element is skipped as f32::max would.
        acc = _mm256_max_ps(unsafe { _mm256_loadu_ps(x.as_ptr().add(i)) }, acc);
        i += LANES;
    }
    let mut lanes = [0.0f32; LANES];
    // SAFETY: `lanes` holds exactly 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    let mut m = lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for &v in &x[i..] {
        m = m.max(v);
    }
    m
}

/// `acc += x` element-wise.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn add_assign(acc: &mut [f32], x: &[f32]) {
    let n = acc.len().min(x.len());
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: i + 8 ≤ n ≤ both lengths.
        unsafe {
            let s = _mm256_add_ps(_mm256_loadu_ps(acc.as_ptr().add(i)), _mm256_loadu_ps(x.as_ptr().add(i)));
            _mm256_storeu_ps(acc.as_mut_ptr().add(i), s);
        }
        i += LANES;
    }
    for j in i..n {
        acc[j] += x[j];
    }
}

/// Softmax (or log-softmax) of one row in place: max, exp of the shifted row with its sum, scale.
///
/// # Safety
/// AVX2 and FMA must be available.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn softmax_row(row: &mut [f32], log: bool) {
    if row.is_empty() {
        return;
    }
    // SAFETY (calls below): AVX2 and FMA are available, as this function requires.
    let m = unsafe { max(row) };
    let shift = if m.is_finite() { m } else { 0.0 };
    let n = row.len();
    let vs = splat(shift);
    if log {
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i + LANES <= n {
            // SAFETY: i + 8 ≤ n.
            let v = unsafe { _mm256_loadu_ps(row.as_ptr().add(i)) };
            acc = _mm256_add_ps(acc, exp8(_mm256_sub_ps(v, vs)));
            i += LANES;
        }
        let mut lanes = [0.0f32; LANES];
        // SAFETY: `lanes` holds exactly 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
        let mut total =
            ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        for &v in &row[i..] {
            total += (v - shift).exp();
        }
        // (x − max) − ln Σ: subtracting the two separately keeps the digits that x − (max + ln Σ)
        // would lose when max is large.
        let log_sum = total.ln();
        map8_in_place(row, |v| _mm256_sub_ps(_mm256_sub_ps(v, vs), splat(log_sum)), |v| (v - shift) - log_sum);
    } else {
        map8_in_place(row, |v| exp8(_mm256_sub_ps(v, vs)), |v| (v - shift).exp());
        // SAFETY: AVX2 and FMA are available.
        let total = unsafe { sum(row) };
        let inv = 1.0 / total;
        map8_in_place(row, |v| _mm256_mul_ps(v, splat(inv)), |v| v * inv);
    }
}

/// One block of a direct stride-1 convolution: `CONV_FILTERS` output rows of `CONV_PIXELS`
/// values, `out[i·out_stride + j]` = Σ_c Σ_t `w[(c·taps + t)·CONV_FILTERS + i]` ·
/// `x[c·channel_stride + offsets[t] + j]`, the sum over c and t in that order, one FMA per
/// term. Twelve accumulators
/// (6 filters × 2 vectors of 8 pixels) stay in registers for the whole sum; each step loads two
/// input vectors and broadcasts six weights.
///
/// # Safety
/// AVX2 and FMA must be available. The bounds are checked (`conv_block_bounds`).
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_block(
    w: &[f32],
    x: &[f32],
    (channels, channel_stride): (usize, usize),
    offsets: &[usize],
    out: &mut [f32],
    out_stride: usize,
) {
    const F: usize = super::CONV_FILTERS;
    super::conv_block_bounds(w, x, (channels, channel_stride), offsets, out, out_stride);
    let taps = offsets.len();
    let zero = _mm256_setzero_ps();
    let mut acc = [[zero; 2]; F];
    for c in 0..channels {
        // SAFETY (pointer arithmetic and loads below): conv_block_bounds checked that every
        // x index c·channel_stride + offsets[t] + j (j < 16) and every w index
        // (c·taps + t)·6 + i lies in its slice.
        let xc = unsafe { x.as_ptr().add(c * channel_stride) };
        let wc = unsafe { w.as_ptr().add(c * taps * F) };
        for (t, &off) in offsets.iter().enumerate() {
            let (x0, x1) = unsafe { (_mm256_loadu_ps(xc.add(off)), _mm256_loadu_ps(xc.add(off + 8))) };
            for (i, a) in acc.iter_mut().enumerate() {
                let wv = unsafe { _mm256_broadcast_ss(&*wc.add(t * F + i)) };
                a[0] = _mm256_fmadd_ps(wv, x0, a[0]);
                a[1] = _mm256_fmadd_ps(wv, x1, a[1]);
            }
        }
    }
    for (i, a) in acc.iter().enumerate() {
        // SAFETY: conv_block_bounds checked i·out_stride + 16 ≤ out.len() for i < 6.
        unsafe {
            _mm256_storeu_ps(out.as_mut_ptr().add(i * out_stride), a[0]);
            _mm256_storeu_ps(out.as_mut_ptr().add(i * out_stride + 8), a[1]);
        }
    }
}

/// Dot products of a direct convolution's weight gradient: `acc[i][t]` = Σ_{q < len}
/// `dy[i·dy_stride + q]` · `x[offsets[t] + q]`, for NF output-gradient rows against NT shifted
/// input rows. NF·NT accumulators of 8 lanes stay in registers; each step of 8 values loads NF +
/// NT vectors for NF·NT FMAs. The 8 lanes are summed at the end in a fixed pairwise order.
///
/// # Safety
/// AVX2 and FMA must be available. The bounds are checked (`dw_block_bounds`).
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dw_block<const NF: usize, const NT: usize>(
    dy: &[f32],
    dy_stride: usize,
    x: &[f32],
    offsets: &[usize; NT],
    len: usize,
) -> [[f32; NT]; NF] {
    super::dw_block_bounds(dy, dy_stride, NF, x, offsets, len);
    let mut acc = [[_mm256_setzero_ps(); NT]; NF];
    let mut q = 0;
    while q < len {
        // SAFETY (loads): dw_block_bounds checked (NF − 1)·dy_stride + len ≤ dy.len() and
        // max(offsets) + len ≤ x.len(), and q + 8 ≤ len (len is a multiple of 8).
        let xs: [__m256; NT] = std::array::from_fn(|t| unsafe { _mm256_loadu_ps(x.as_ptr().add(offsets[t] + q)) });
        for (i, row) in acc.iter_mut().enumerate() {
            let d = unsafe { _mm256_loadu_ps(dy.as_ptr().add(i * dy_stride + q)) };
            for (a, &xv) in row.iter_mut().zip(&xs) {
                *a = _mm256_fmadd_ps(d, xv, *a);
            }
        }
        q += LANES;
    }
    let mut out = [[0.0f32; NT]; NF];
    for (o, a) in out.iter_mut().zip(&acc) {
        for (v, &lanes) in o.iter_mut().zip(a) {
            let mut l = [0.0f32; LANES];
            // SAFETY: l holds 8 values.
            unsafe { _mm256_storeu_ps(l.as_mut_ptr(), lanes) };
            *v = super::fold_lanes(l);
        }
    }
    out
}
