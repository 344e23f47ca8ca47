//! Blurs: Gaussian (separable, σ and kernel size), median (k × k window) and bilateral (σ_space,
//! σ_color, over a disc of radius ⌈3σ_space⌉). Gaussian and bilateral read past the border by
//! reflection, median by repeating the edge, so each preserves a constant image exactly.

use std::cell::RefCell;

use neurite_core::Rng;
use neurite_core::isa::Isa;

use crate::batch::{ImageBatch, ImageSize, Pixel, chance, draw, update_samples};
use crate::geometry::{Fill, border_index};
use crate::transform::Transform;

/// The kernel size a Gaussian of `sigma` gets when none is given: 2⌈3σ⌉ + 1 (at least 1), which
/// keeps all but 0.3% of the weight.
pub fn auto_kernel_size(sigma: f32) -> usize {
    if sigma > 0.0 { 2 * (3.0 * sigma).ceil() as usize + 1 } else { 1 }
}

/// The normalised 1-D Gaussian kernel of `size` taps (odd): wᵢ ∝ exp(−(i − r)²/(2σ²)) with
/// r = size / 2, summing to 1. A σ of 0 (or less) gives the identity kernel.
///
/// # Panics
/// If `size` is even.
pub fn gaussian_kernel(sigma: f32, size: usize) -> Vec<f32> {
    assert!(size % 2 == 1, "gaussian blur: kernel size {size} must be odd");
    let r = (size / 2) as f32;
    if sigma <= 0.0 {
        return (0..size).map(|i| if i == size / 2 { 1.0 } else { 0.0 }).collect();
    }
    let weights: Vec<f64> =
        (0..size).map(|i| (-((i as f32 - r) as f64).powi(2) / (2.0 * (sigma as f64).powi(2))).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| (w / total) as f32).collect()
}

/// Index tables for reading rows or columns `−r .. n + r` by `fill`.
fn border_table(n: usize, r: usize, fill: Fill) -> Vec<usize> {
    (0..n + 2 * r).map(|i| border_index(i as isize - r as isize, n, fill).unwrap_or(0)).collect()
}

thread_local! {
    /// A buffer each thread keeps between images, so that a blur neither allocates nor faults in
    /// fresh memory per image.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The same for the fixed-point blur of levels.
    static LEVELS_SCRATCH: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` zeros from this thread's scratch buffer (a fresh one if the buffer is in use
/// further up the stack).
#[inline(always)]
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_buffer(&SCRATCH, len, f)
}

/// Runs `f` on `len` zeros from the buffer `key` holds for this thread, started on a 64-byte
/// boundary: rows whose length is a multiple of a cache line's values then load in whole cache
/// lines, never split across two.
#[inline(always)]
fn with_buffer<T: Copy + Default, R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<T>>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let size = std::mem::size_of::<T>();
    let mut buffer = key.with(|s| std::mem::take(&mut *s.borrow_mut()));
    buffer.clear();
    buffer.resize(len + 64 / size, T::default());
    let skip = (64 - buffer.as_ptr() as usize % 64) % 64 / size;
    let result = f(&mut buffer[skip..skip + len]);
    key.with(|s| *s.borrow_mut() = buffer);
    result
}

/// Convolves one image `[C, H, W]` with `kernel` (odd length) along rows then columns, reflecting
/// at the border, into `dst`. Levels (`u8`) with a Gaussian's kernel (symmetric, weights in
/// [0, 1) summing to 1) go in 16-bit fixed point, within a level of the f32 blur rounded.
///
/// # Panics
/// If the lengths of `src`, `dst` and `size` disagree, or `kernel` has an even length.
pub fn gaussian_blur<T: Pixel>(src: &[T], size: ImageSize, kernel: &[f32], dst: &mut [T]) {
    assert!(src.len() == size.len() && dst.len() == size.len(), "gaussian blur: buffer lengths");
    dst.copy_from_slice(src);
    gaussian_blur_in_place(dst, size, kernel);
}

/// [`gaussian_blur`] of `image` into itself: the row pass reads each plane into a buffer of its
/// own, so the column pass can write the plane directly.
///
/// # Panics
/// If the length of `image` disagrees with `size`, or `kernel` has an even length.
pub fn gaussian_blur_in_place<T: Pixel>(image: &mut [T], size: ImageSize, kernel: &[f32]) {
    assert!(kernel.len() % 2 == 1, "gaussian blur: kernel size {} must be odd", kernel.len());
    assert!(image.len() == size.len(), "gaussian blur: buffer length");
    gaussian_blur_on(Isa::detect(), image, size, kernel);
}

/// [`gaussian_blur_in_place`] with the loops compiled for `isa`. Levels go through
/// [`gaussian_levels_on`] where the kernel suits 16-bit fixed point.
fn gaussian_blur_on<T: Pixel>(isa: Isa, image: &mut [T], size: ImageSize, kernel: &[f32]) {
    let (h, w, r) = (size.height, size.width, kernel.len() / 2);
    if size.is_empty() {
        return;
    }
    if let (Some(levels), Some(weights)) = (T::as_levels_mut(image), fixed_point_weights(kernel)) {
        gaussian_levels_on(isa, levels, size, &weights);
        return;
    }
    let cols = border_table(w, r, Fill::Reflect);
    let rows = border_table(h, r, Fill::Reflect);
    // The scratch is taken outside `run`: everything inside must inline into the code compiled
    // for the level, or `mul_add` would become a library call.
    with_scratch(h * w, |across| {
        if isa.has_fma() {
            isa.run(
                #[inline(always)]
                || gaussian_planes::<T, true>(image, size, kernel, &cols, &rows, across),
            );
        } else {
            isa.run(
                #[inline(always)]
                || gaussian_planes::<T, false>(image, size, kernel, &cols, &rows, across),
            );
        }
    });
}

/// The weights of `kernel` in 16-bit fixed point, q_t = round(k_t·2¹⁶) with the centre's set so
/// that they sum to exactly 2¹⁶ (a constant image stays constant); `None` unless every weight is
/// in [0, 1), their sum within 10⁻³ of 1 and the kernel symmetric (a Gaussian's), where the
/// fixed-point sums cannot overflow and stay within a level of the f32 blur.
fn fixed_point_weights(kernel: &[f32]) -> Option<Vec<u16>> {
    const ONE: f64 = 65_536.0;
    let sum: f64 = kernel.iter().map(|&k| k as f64).sum();
    let symmetric = kernel.iter().zip(kernel.iter().rev()).all(|(a, b)| a.to_bits() == b.to_bits());
    if !symmetric || (sum - 1.0).abs() > 1e-3 || kernel.iter().any(|&k| !(0.0..1.0).contains(&k)) {
        return None;
    }
    let mut q: Vec<i64> = kernel.iter().map(|&k| (k as f64 * ONE).round() as i64).collect();
    let mid = kernel.len() / 2;
    q[mid] += ONE as i64 - q.iter().sum::<i64>();
    q.iter().map(|&v| u16::try_from(v).ok()).collect()
}

/// The Gaussian blur of levels in 16-bit fixed point, as image libraries blur 8-bit images,
/// sixteen values to a vector where f32 holds eight. The row pass keeps 256·level in 16 bits:
/// u = Σₜ ⌊256·v·q_t / 2¹⁶⌋ (at most 255·256, as the q_t sum to 2¹⁶); the column pass sums
/// ⌊u_t·q_t / 2¹⁶⌋ the same way and rounds to a level. Integer arithmetic, so every level gives
/// the same bits; within a level of the f32 blur rounded (the truncations cost less than 7/256 of
/// a level, the weights' rounding less than 0.02 levels, for seven taps).
fn gaussian_levels_on(isa: Isa, image: &mut [u8], size: ImageSize, q: &[u16]) {
    let (h, w, r) = (size.height, size.width, q.len() / 2);
    let cols = border_table(w, r, Fill::Reflect);
    let rows = border_table(h, r, Fill::Reflect);
    with_buffer(&LEVELS_SCRATCH, h * w + w + 2 * r, |scratch| {
        let (across, padded) = scratch.split_at_mut(h * w);
        isa.run(
            #[inline(always)]
            || {
                let shifts: Vec<usize> = (0..q.len()).collect();
                let mut starts = vec![0usize; q.len()];
                for plane in image.chunks_mut(size.plane()) {
                    for (row_in, row_out) in plane.chunks(w).zip(across.chunks_mut(w)) {
                        for (p, &v) in padded[r..r + w].iter_mut().zip(row_in) {
                            *p = (v as u16) << 8;
                        }
                        for i in (0..r).chain(r + w..w + 2 * r) {
                            padded[i] = (row_in[cols[i]] as u16) << 8;
                        }
                        fixed_sum(isa, padded, &shifts, q, row_out.len(), |x, v: &[u16]| {
                            row_out[x..x + v.len()].copy_from_slice(v)
                        });
                    }
                    for (y, row_out) in plane.chunks_mut(w).enumerate() {
                        for (start, &sy) in starts.iter_mut().zip(&rows[y..y + q.len()]) {
                            *start = sy * w;
                        }
                        fixed_sum(isa, across, &starts, q, w, |x, v: &[u16]| {
                            for (o, &u) in row_out[x..x + v.len()].iter_mut().zip(v) {
                                *o = ((u as u32 + 128) >> 8) as u8;
                            }
                        });
                    }
                }
            },
        );
    });
}

/// `Σₜ ⌊source[starts[t] + x] · q[t] / 2¹⁶⌋` for x in 0..w, handed to `put(x, values)` by blocks
/// of 32 (kept in registers across the taps), then 16, the rest as a block of 16 that overlaps the
/// one before (rows narrower than 16: single values).
#[inline(always)]
fn fixed_sum(isa: Isa, source: &[u16], starts: &[usize], q: &[u16], w: usize, put: impl FnMut(usize, &[u16])) {
    // The usual kernel lengths get the tap loop unrolled at compile time.
    match q.len() {
        3 => fixed_sum_taps::<3>(isa, source, starts, q, w, put),
        5 => fixed_sum_taps::<5>(isa, source, starts, q, w, put),
        7 => fixed_sum_taps::<7>(isa, source, starts, q, w, put),
        9 => fixed_sum_taps::<9>(isa, source, starts, q, w, put),
        _ => fixed_sum_taps::<0>(isa, source, starts, q, w, put),
    }
}

/// [`fixed_sum`] for `K` taps (0: any number).
#[inline(always)]
fn fixed_sum_taps<const K: usize>(
    isa: Isa,
    source: &[u16],
    starts: &[usize],
    q: &[u16],
    w: usize,
    mut put: impl FnMut(usize, &[u16]),
) {
    assert!(starts.iter().all(|&s| s + w <= source.len()), "fixed sum: rows inside the source");
    let (starts, q) = if K > 0 { (&starts[..K], &q[..K]) } else { (starts, q) };
    let mut x = 0;
    while x + 32 <= w {
        put(x, &fixed_block::<32>(isa, source, starts, q, x));
        x += 32;
    }
    while x + 16 <= w {
        put(x, &fixed_block::<16>(isa, source, starts, q, x));
        x += 16;
    }
    if x < w && w >= 16 {
        // The rest as one block ending at the row's end: its first columns come out as before.
        put(w - 16, &fixed_block::<16>(isa, source, starts, q, w - 16));
        x = w;
    }
    while x < w {
        put(x, &fixed_block::<1>(isa, source, starts, q, x));
        x += 1;
    }
}

/// `B` sums of [`fixed_sum`] from column `x`.
#[inline(always)]
fn fixed_block<const B: usize>(isa: Isa, source: &[u16], starts: &[usize], q: &[u16], x: usize) -> [u16; B] {
    let mut acc = [0u16; B];
    for (&start, &k) in starts.iter().zip(q) {
        let row: &[u16; B] = source[start + x..start + x + B].try_into().expect("a block");
        add_high_products(isa, &mut acc, row, k);
    }
    acc
}

/// `acc[j] += ⌊row[j]·k / 2¹⁶⌋`: with AVX2 sixteen at a time by `vpmulhuw`, which the compiler
/// does not find by itself here; elsewhere one by one.
#[inline(always)]
fn add_high_products<const B: usize>(isa: Isa, acc: &mut [u16; B], row: &[u16; B], k: u16) {
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx2(v3), true) = (isa, B.is_multiple_of(16)) {
        let k = v3.avx._mm256_set1_epi16(k as i16);
        for (a, r) in acc.chunks_exact_mut(16).zip(row.chunks_exact(16)) {
            let (a16, r16): (&mut [u16; 16], &[u16; 16]) =
                (a.try_into().expect("sixteen"), r.try_into().expect("sixteen"));
            let product = v3.avx2._mm256_mulhi_epu16(pulp::cast(*r16), k);
            *a16 = pulp::cast(v3.avx2._mm256_add_epi16(pulp::cast(*a16), product));
        }
        return;
    }
    let _ = isa;
    for (a, &v) in acc.iter_mut().zip(row) {
        *a = a.wrapping_add(((v as u32 * k as u32) >> 16) as u16);
    }
}

/// The passes of [`gaussian_blur_in_place`] over each plane, with `across` (`h × w`) for the rows.
#[inline(always)]
fn gaussian_planes<T: Pixel, const FMA: bool>(
    image: &mut [T],
    size: ImageSize,
    kernel: &[f32],
    cols: &[usize],
    rows: &[usize],
    across: &mut [f32],
) {
    let (w, r) = (size.width, kernel.len() / 2);
    let mut padded = vec![0.0f32; w + 2 * r];
    let mut starts = vec![0usize; kernel.len()];
    let shifts: Vec<usize> = (0..kernel.len()).collect();
    for plane in image.chunks_mut(size.plane()) {
        // Rows: read each row once into a padded buffer (the inside in one run, the border through
        // the reflection table), then slide the kernel along it.
        for (row_in, row_out) in plane.chunks(w).zip(across.chunks_mut(w)) {
            for (p, v) in padded[r..r + w].iter_mut().zip(row_in) {
                *p = v.to_unit();
            }
            for i in (0..r).chain(r + w..w + 2 * r) {
                padded[i] = row_in[cols[i]].to_unit();
            }
            weighted_sum::<FMA>(&padded, &shifts, kernel, row_out);
        }
        // Columns: the same sum over whole rows of the row pass, which walks memory in order.
        for (y, row_out) in plane.chunks_mut(w).enumerate() {
            for (start, &sy) in starts.iter_mut().zip(&rows[y..y + kernel.len()]) {
                *start = sy * w;
            }
            let sum = &mut padded[..w];
            weighted_sum::<FMA>(across, &starts, kernel, sum);
            for (out, &v) in row_out.iter_mut().zip(sum.iter()) {
                *out = T::from_unit(v);
            }
        }
    }
}

/// `out[x] = Σₜ kernel[t] · source[starts[t] + x]`. Blocks of 32 columns stay in registers
/// across the taps (four independent vectors of eight, so the additions do not wait on each
/// other), then blocks of 8, then single columns, all with the same arithmetic. A symmetric kernel
/// of the usual lengths (a Gaussian's) adds the two rows of each weight before multiplying:
/// k_mid·v_mid + Σ k_t·(v_t + v_{K−1−t}); others sum from t = 0 up, from 0. `FMA` fuses each
/// multiply with its add.
#[inline(always)]
fn weighted_sum<const FMA: bool>(source: &[f32], starts: &[usize], kernel: &[f32], out: &mut [f32]) {
    // The usual kernel lengths get the tap loop unrolled at compile time.
    match kernel.len() {
        3 => weighted_sum_fixed::<3, FMA>(source, starts, kernel, out),
        5 => weighted_sum_fixed::<5, FMA>(source, starts, kernel, out),
        7 => weighted_sum_fixed::<7, FMA>(source, starts, kernel, out),
        9 => weighted_sum_fixed::<9, FMA>(source, starts, kernel, out),
        _ => weighted_sum_any::<FMA>(source, starts, kernel, out),
    }
}

/// [`weighted_sum`] for a kernel of `K` taps.
#[inline(always)]
fn weighted_sum_fixed<const K: usize, const FMA: bool>(
    source: &[f32],
    starts: &[usize],
    kernel: &[f32],
    out: &mut [f32],
) {
    let starts: &[usize; K] = starts.try_into().expect("K starts");
    let kernel: &[f32; K] = kernel.try_into().expect("K taps");
    let symmetric = (0..K / 2).all(|t| kernel[t].to_bits() == kernel[K - 1 - t].to_bits());
    if !symmetric {
        weighted_sum_any::<FMA>(source, starts, kernel, out);
        return;
    }
    let w = out.len();
    assert!(starts.iter().all(|&s| s + w <= source.len()), "weighted sum: rows inside the source");
    let mut x = 0;
    while x + 32 <= w {
        sum_block::<32, K, FMA>(source, starts, kernel, &mut out[x..x + 32], x);
        x += 32;
    }
    while x + 8 <= w {
        sum_block::<8, K, FMA>(source, starts, kernel, &mut out[x..x + 8], x);
        x += 8;
    }
    while x < w {
        sum_block::<1, K, FMA>(source, starts, kernel, &mut out[x..x + 1], x);
        x += 1;
    }
}

/// `B` columns from `x` of [`weighted_sum_fixed`] for a symmetric kernel of `K` (odd) taps, in
/// registers across the taps.
#[inline(always)]
fn sum_block<const B: usize, const K: usize, const FMA: bool>(
    source: &[f32],
    starts: &[usize; K],
    kernel: &[f32; K],
    out: &mut [f32],
    x: usize,
) {
    let row = |t: usize| -> &[f32; B] { source[starts[t] + x..starts[t] + x + B].try_into().expect("a block") };
    let mid = row(K / 2);
    let mut acc: [f32; B] = std::array::from_fn(|j| kernel[K / 2] * mid[j]);
    for (t, &k) in kernel[..K / 2].iter().enumerate() {
        let (near, far) = (row(t), row(K - 1 - t));
        for j in 0..B {
            acc[j] = madd::<FMA>(k, near[j] + far[j], acc[j]);
        }
    }
    out.copy_from_slice(&acc);
}

/// [`weighted_sum`] for any kernel length.
#[inline(always)]
fn weighted_sum_any<const FMA: bool>(source: &[f32], starts: &[usize], kernel: &[f32], out: &mut [f32]) {
    let w = out.len();
    let mut x = sum_blocks::<32, FMA>(source, starts, kernel, out, 0);
    x = sum_blocks::<8, FMA>(source, starts, kernel, out, x);
    for x in x..w {
        let mut acc = 0.0f32;
        for (&start, &k) in starts.iter().zip(kernel) {
            acc = madd::<FMA>(k, source[start + x], acc);
        }
        out[x] = acc;
    }
}

/// The columns from `x` in whole blocks of `B` for [`weighted_sum_any`]; returns where they stop.
#[inline(always)]
fn sum_blocks<const B: usize, const FMA: bool>(
    source: &[f32],
    starts: &[usize],
    kernel: &[f32],
    out: &mut [f32],
    x: usize,
) -> usize {
    let end = x + (out.len() - x) / B * B;
    for x in (x..end).step_by(B) {
        let mut acc = [0.0f32; B];
        for (&start, &k) in starts.iter().zip(kernel) {
            let row: &[f32; B] = source[start + x..start + x + B].try_into().expect("a block");
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = madd::<FMA>(k, v, *a);
            }
        }
        out[x..x + B].copy_from_slice(&acc);
    }
    end
}

/// The median of three values.
#[inline(always)]
fn median3<T: Pixel>(a: T, b: T, c: T) -> T {
    a.lower(b).higher(a.higher(b).lower(c))
}

/// The value of rank `rank` (0 = smallest) among `k` sorted columns of `k` values each, laid one
/// after the other in `columns`: a k-way merge stopped at that rank, choosing each step's column
/// without a data-dependent branch.
fn rank_of_sorted_columns(columns: &[f32], k: usize, rank: usize) -> f32 {
    let mut heads = [0usize; 16];
    let mut value = 0.0;
    for _ in 0..=rank {
        let (mut best, mut best_value) = (0, f32::INFINITY);
        for (c, &h) in heads[..k].iter().enumerate() {
            let v = if h < k { columns[c * k + h] } else { f32::INFINITY };
            let better = v < best_value;
            best = if better { c } else { best };
            best_value = if better { v } else { best_value };
        }
        value = best_value;
        heads[best] += 1;
    }
    value
}

/// The 3 × 3 median of one plane, in place and vectorisable across each row: every padded
/// column is sorted into (lo ≤ mid ≤ hi) once per row, and the median of a window of three sorted
/// columns is med(max of the lows, med of the mids, min of the highs). Three padded rows hold
/// the source rows y − 1, y and y + 1; row y − 1 is kept from the step before, as the plane
/// already holds its output.
#[inline(always)]
fn median3x3_plane<T: Pixel>(plane: &mut [T], h: usize, w: usize) {
    let zeros = vec![T::default(); w + 2];
    let mut padded = [zeros.clone(), zeros.clone(), zeros.clone()];
    let (mut lo, mut mid, mut hi) = (zeros.clone(), zeros.clone(), zeros);
    let load = |row: &mut [T], line: &[T]| {
        row[1..=w].copy_from_slice(line);
        row[0] = line[0];
        row[w + 1] = line[w - 1];
    };
    load(&mut padded[1], &plane[..w]);
    padded[0] = padded[1].clone();
    for y in 0..h {
        if y > 0 {
            padded.rotate_left(1);
        }
        let below = (y + 1).min(h - 1);
        load(&mut padded[2], &plane[below * w..(below + 1) * w]);
        let [a, b, c] = &padded;
        for ((((l, m), u), (&a, &b)), &c) in
            lo.iter_mut().zip(mid.iter_mut()).zip(hi.iter_mut()).zip(a.iter().zip(b)).zip(c)
        {
            *l = a.lower(b).lower(c);
            *u = a.higher(b).higher(c);
            *m = median3(a, b, c);
        }
        let row_out = &mut plane[y * w..(y + 1) * w];
        let lows = lo[..w].iter().zip(&lo[1..w + 1]).zip(&lo[2..]);
        let mids = mid[..w].iter().zip(&mid[1..w + 1]).zip(&mid[2..]);
        let highs = hi[..w].iter().zip(&hi[1..w + 1]).zip(&hi[2..]);
        for (out, ((((&l0, &l1), &l2), ((&m0, &m1), &m2)), ((&h0, &h1), &h2))) in
            row_out.iter_mut().zip(lows.zip(mids).zip(highs))
        {
            let low = l0.higher(l1).higher(l2);
            let high = h0.lower(h1).lower(h2);
            *out = median3(low, median3(m0, m1, m2), high);
        }
    }
}

/// [`median3x3_plane`] with the loops compiled for `isa`.
fn median3x3_on<T: Pixel>(isa: Isa, plane: &mut [T], h: usize, w: usize) {
    isa.run(
        #[inline(always)]
        || median3x3_plane(plane, h, w),
    );
}

/// Puts `a` and `b` in order without a branch.
#[inline(always)]
fn order(v: &mut [f32], a: usize, b: usize) {
    let (lo, hi) = (v[a].min(v[b]), v[a].max(v[b]));
    v[a] = lo;
    v[b] = hi;
}

/// Sorts a short column: optimal sorting networks (branch-free) for 3 and 5 values, insertion
/// sort otherwise.
fn sort_small(v: &mut [f32]) {
    match v.len() {
        3 => {
            order(v, 0, 1);
            order(v, 1, 2);
            order(v, 0, 1);
        }
        5 => {
            for (a, b) in [(0, 1), (3, 4), (2, 4), (2, 3), (0, 3), (0, 2), (1, 4), (1, 3), (1, 2)] {
                order(v, a, b);
            }
        }
        _ => {
            for i in 1..v.len() {
                let mut j = i;
                while j > 0 && v[j] < v[j - 1] {
                    v.swap(j, j - 1);
                    j -= 1;
                }
            }
        }
    }
}

/// Replaces each value by the median of its `k × k` window in the same channel (k odd, at most
/// 15), repeating the edge pixels past the border.
///
/// Each window column is sorted once per output row and shared by the `k` windows that contain it.
/// For k = 3 the median of three sorted columns (lo ≤ mid ≤ hi) is med(max of the lows, med of
/// the mids, min of the highs); larger windows merge their sorted columns up to the middle rank.
///
/// # Panics
/// If `k` is even or larger than 15, or the buffer lengths disagree with `size`.
pub fn median_blur<T: Pixel>(src: &[T], size: ImageSize, k: usize, dst: &mut [T]) {
    assert!(src.len() == size.len() && dst.len() == size.len(), "median blur: buffer lengths");
    dst.copy_from_slice(src);
    median_blur_in_place(dst, size, k);
}

/// [`median_blur`] of `image` into itself.
///
/// # Panics
/// If `k` is even or larger than 15, or the length of `image` disagrees with `size`.
pub fn median_blur_in_place<T: Pixel>(image: &mut [T], size: ImageSize, k: usize) {
    assert!(k % 2 == 1 && k <= 15, "median blur: window size {k} must be odd and at most 15");
    assert!(image.len() == size.len(), "median blur: buffer length");
    if size.is_empty() {
        return;
    }
    if k == 3 {
        for plane in image.chunks_mut(size.plane()) {
            median3x3_on(Isa::detect(), plane, size.height, size.width);
        }
        return;
    }
    // Larger windows merge sorted columns of `f32`. A median picks one of the window's values
    // and `to_unit` keeps their order, so levels go there and back unchanged.
    let values: Vec<f32> = image.iter().map(|v| v.to_unit()).collect();
    let mut out = vec![0.0f32; size.len()];
    median_merge(&values, size, k, &mut out);
    for (d, &v) in image.iter_mut().zip(&out) {
        *d = T::from_unit(v);
    }
}

/// The k × k median (k > 3) by merging sorted columns.
fn median_merge(src: &[f32], size: ImageSize, k: usize, dst: &mut [f32]) {
    let (h, w, r) = (size.height, size.width, k / 2);
    let cols = border_table(w, r, Fill::Edge);
    let rows = border_table(h, r, Fill::Edge);
    let mut sorted = vec![0.0f32; (w + 2 * r) * k];
    for (src_plane, dst_plane) in src.chunks(size.plane()).zip(dst.chunks_mut(size.plane())) {
        for (y, row_out) in dst_plane.chunks_mut(w).enumerate() {
            for (column, &sx) in sorted.chunks_mut(k).zip(&cols) {
                for (v, &sy) in column.iter_mut().zip(&rows[y..y + k]) {
                    *v = src_plane[sy * w + sx];
                }
                sort_small(column);
            }
            for (x, out) in row_out.iter_mut().enumerate() {
                *out = rank_of_sorted_columns(&sorted[x * k..(x + k) * k], k, k * k / 2);
            }
        }
    }
}

/// a·b + c, fused into one rounding when `FMA` (only where the instruction set has it).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// 2^t for t ≤ 0, within 3·10⁻⁶ relative (2⁻¹²⁵ below −125), in operations that vectorise: n, the
/// nearest integer to t (rounded by adding 1.5·2²³, whose low mantissa bits then hold n); 2^f for
/// the rest f = t − n in [−½, ½] by a polynomial 1 + f·q(f) of degree 4, q fitted to minimise the
/// largest relative error over that interval (2.8·10⁻⁶, where Taylor's series needs degree 5 for
/// as little); and n added to the exponent field.
#[inline(always)]
fn pow2_nonpositive<const FMA: bool>(t: f32) -> f32 {
    pow2_from::<FMA, false>(t.max(LOWEST_POWER))
}

/// The exponent below which [`pow2_nonpositive`] gives 2^LOWEST_POWER.
const LOWEST_POWER: f32 = -125.0;

/// 1.5 · 2²³: a float below 2²² plus this has the nearest integer in its low mantissa bits.
const ROUND: f32 = 12_582_912.0;
/// q's coefficients in [`pow2_from`], from f⁰ up (near ln 2, ln²2/2, ln³2/6, ln⁴2/24, Taylor's).
const Q: [f32; 4] = [0.693_124_2, 0.240_240_99, 0.055_906_43, 0.009_582_855];
/// The same fit of degree 2, for `COARSE`.
const Q_COARSE: [f32; 3] = [0.693_282_9, 0.242_211, 0.055_008_934];

/// [`pow2_nonpositive`] for t in [−125, 0] (below, the exponent field would wrap). With `COARSE`,
/// q has degree 2, within 1.02·10⁻⁴ relative: one multiply-add fewer.
///
/// Where the instruction set has fused multiply-adds (AVX2, which brings SSE4.1's rounding
/// instruction), n comes from rounding t itself: the same n, in a shorter chain of operations.
#[inline(always)]
fn pow2_from<const FMA: bool, const COARSE: bool>(t: f32) -> f32 {
    // shifted's bits are ROUND's plus n; ROUND's own bits vanish when shifted into the exponent.
    let (f, shifted) = if FMA {
        let n = t.round_ties_even();
        (t - n, n + ROUND)
    } else {
        let shifted = t + ROUND;
        (t - (shifted - ROUND), shifted)
    };
    let exponent = shifted.to_bits() << 23;
    let q = if COARSE {
        madd::<FMA>(f, madd::<FMA>(f, Q_COARSE[2], Q_COARSE[1]), Q_COARSE[0])
    } else {
        madd::<FMA>(f, madd::<FMA>(f, madd::<FMA>(f, Q[3], Q[2]), Q[1]), Q[0])
    };
    let p = madd::<FMA>(f, q, 1.0);
    f32::from_bits(p.to_bits().wrapping_add(exponent))
}

/// e^x for x ≤ 0 as the bilateral blur computes it: 2^t for t = x·log₂e, with n the nearest
/// integer to t (rounded by adding 1.5·2²³, whose low mantissa bits then hold n), 2^(t − n) by a
/// polynomial of degree 4 fitted for the least largest relative error, and n added to the
/// exponent field — operations that vectorise. Within 4·10⁻⁶ of e^x, relative for x ≥ −10 and
/// absolute everywhere (the rounding of x·log₂e costs relative accuracy only where e^x is tiny);
/// 2⁻¹²⁵ below x ≈ −86.6.
pub fn exp_nonpositive(x: f32) -> f32 {
    pow2_nonpositive::<false>(x * std::f32::consts::LOG2_E)
}

/// Edge-preserving blur: each pixel becomes the mean of the pixels within r = ⌈3σ_space⌉ of it
/// (the disc dx² + dy² ≤ r², as OpenCV's window: 29 pixels at σ_space 1), weighted by
/// exp(−d²/(2σ_space²)) for the distance d in pixels times exp(−Δ²/(2σ_color²)) for the colour
/// difference Δ (Euclidean over the channels; the second factor by [`exp_nonpositive`]'s method,
/// within 4·10⁻⁶, or for `u8` levels by a polynomial of a degree less, within 1.02·10⁻⁴, which
/// moves a result by at most 0.026 of a level before it is rounded). Reflects at the border. As
/// σ_color → ∞ it becomes a Gaussian blur of σ_space over that disc. Where the CPU has AVX2 the
/// loops use fused multiply-adds, so their results differ from the baseline's by rounding (a few
/// units of 10⁻⁷).
///
/// # Panics
/// If the buffer lengths disagree with `size`.
pub fn bilateral_blur<T: Pixel>(src: &[T], size: ImageSize, sigma_space: f32, sigma_color: f32, dst: &mut [T]) {
    assert!(src.len() == size.len() && dst.len() == size.len(), "bilateral blur: buffer lengths");
    dst.copy_from_slice(src);
    bilateral_blur_in_place(dst, size, sigma_space, sigma_color);
}

/// [`bilateral_blur`] of `image` into itself (the neighbourhoods are read from a padded copy).
///
/// # Panics
/// If the length of `image` disagrees with `size`.
pub fn bilateral_blur_in_place<T: Pixel>(image: &mut [T], size: ImageSize, sigma_space: f32, sigma_color: f32) {
    assert!(image.len() == size.len(), "bilateral blur: buffer length");
    bilateral_on(Isa::detect(), image, size, sigma_space, sigma_color);
}

/// [`bilateral_blur_in_place`] with the loops compiled for `isa`.
fn bilateral_on<T: Pixel>(isa: Isa, image: &mut [T], size: ImageSize, sigma_space: f32, sigma_color: f32) {
    Bilateral::new(size, sigma_space, sigma_color).apply(isa, image);
}

/// The bilateral blur's set-up for one image size and pair of σs, made once for all the images
/// of a batch.
struct Bilateral {
    size: ImageSize,
    taps: usize,
    /// The window without its centre, as runs of one row: (row, first column, width).
    runs: Vec<(usize, usize, usize)>,
    /// log₂ of the spatial weights of the runs' pixels, run after run.
    log_spatial: Vec<f32>,
    /// The least of them, for [`needs_clamp`].
    lowest_spatial: f32,
    /// The centre's spatial weight, whose colour factor is always 1.
    centre: f32,
    /// The scale of the values, √(log₂e/2)/σ_color.
    k: f32,
    /// The source column of each padded column, and the source row of each padded row.
    cols: Vec<usize>,
    rows: Vec<usize>,
    /// The vectors of the one-channel AVX2 kernel, for one channel of at least eight columns
    /// ([`grey_vectors`]); empty otherwise.
    grey: Vec<Lanes>,
}

impl Bilateral {
    fn new(size: ImageSize, sigma_space: f32, sigma_color: f32) -> Self {
        let taps = auto_kernel_size(sigma_space);
        let r = taps / 2;
        let g = gaussian_kernel(sigma_space, taps);
        // The window is the disc of radius r (as OpenCV's): row dy − r of it spans the columns
        // r ± ⌊√(r² − (dy − r)²)⌋, 29 of the 49 pixels of the 7×7 square at σ_space 1.
        // The centre's row is two runs, left and right of it: the centre's own term needs no
        // exponential (its colour distance is 0), so it starts the sums instead.
        let runs: Vec<(usize, usize, usize)> = (0..taps)
            .flat_map(|dy| {
                let (first, len) = disc_span(r, dy);
                if dy == r {
                    [(dy, first, r - first), (dy, r + 1, r - first)]
                } else {
                    [(dy, first, len), (dy, first, 0)]
                }
            })
            .filter(|&(_, _, len)| len > 0)
            .collect();
        let log_spatial: Vec<f32> = runs
            .iter()
            .flat_map(|&(dy, first, len)| {
                let gy = g[dy];
                g[first..first + len].iter().map(move |gx| (gy * gx).log2())
            })
            .collect();
        let lowest_spatial = log_spatial.iter().fold(0.0f32, |m, &v| m.min(v));
        let centre = g[r] * g[r];
        // A tap's weight s · exp(−Δ²/(2σ²)) is one power of two, 2^(log₂s − Σ_c (k·v_c − k·v'_c)²)
        // with k² = log₂e/(2σ²): the values are read scaled by k, so that the exponent of each
        // tap costs one fused multiply-add per channel, and the sum is scaled back by 1/k.
        let k = ((std::f64::consts::LOG2_E / 2.0).sqrt() / sigma_color as f64) as f32;
        let cols = border_table(size.width, r, Fill::Reflect);
        let rows = border_table(size.height, r, Fill::Reflect);
        let grey = if size.channels == 1 && size.width >= LANES { grey_vectors(size, taps / 2) } else { Vec::new() };
        Bilateral { size, taps, runs, log_spatial, lowest_spatial, centre, k, cols, rows, grey }
    }

    /// Blurs `image` (of the set-up's size) in place, with the loops compiled for `isa`.
    fn apply<T: Pixel>(&self, isa: Isa, image: &mut [T]) {
        let size = self.size;
        if size.is_empty() {
            return;
        }
        let (h, w, r) = (size.height, size.width, self.taps / 2);
        let pw = w + 2 * r;
        let n = Neighbourhood {
            h,
            w,
            pw,
            taps: self.taps,
            runs: &self.runs,
            log_spatial: &self.log_spatial,
            centre: self.centre,
            unscale: 1.0 / self.k,
        };
        // Each channel with r reflected rows and columns around it, in f32, so that the
        // neighbours of consecutive pixels are consecutive values.
        with_scratch(size.channels * (h + 2 * r) * pw, |padded| {
            let clamp = isa.run(
                #[inline(always)]
                || {
                    self.pad(image, padded);
                    needs_clamp(image, size.channels, self.k, self.lowest_spatial)
                },
            );
            #[cfg(target_arch = "x86_64")]
            if let (Isa::Avx2(v3), false) = (isa, self.grey.is_empty()) {
                isa.run(
                    #[inline(always)]
                    || bilateral_grey(v3, padded, &self.grey, clamp, &n, image),
                );
                return;
            }
            if isa.has_fma() {
                isa.run(
                    #[inline(always)]
                    || bilateral_channels::<T, true>(padded, size.channels, clamp, &n, image),
                );
            } else {
                isa.run(
                    #[inline(always)]
                    || bilateral_channels::<T, false>(padded, size.channels, clamp, &n, image),
                );
            }
        });
    }

    /// `image`'s values times k into `padded`, with the border reflected: each row's inside in
    /// one run and its border from those values through the column table, then the border rows
    /// as copies of inside ones through the row table.
    #[inline(always)]
    fn pad<T: Pixel>(&self, image: &[T], padded: &mut [f32]) {
        let (h, w, r, k) = (self.size.height, self.size.width, self.taps / 2, self.k);
        let pw = w + 2 * r;
        for (plane, out) in image.chunks(self.size.plane()).zip(padded.chunks_mut((h + 2 * r) * pw)) {
            for (source, line) in plane.chunks(w).zip(out[r * pw..].chunks_mut(pw)) {
                for (v, s) in line[r..r + w].iter_mut().zip(source) {
                    *v = s.to_unit() * k;
                }
                for x in (0..r).chain(r + w..pw) {
                    line[x] = line[r + self.cols[x]];
                }
            }
            for py in (0..r).chain(r + h..h + 2 * r) {
                let from = (r + self.rows[py]) * pw;
                out.copy_within(from..from + pw, py * pw);
            }
        }
    }
}

/// Whether a tap's exponent can fall below [`LOWEST_POWER`] (given the least log₂ of a spatial
/// weight), so that the loops must clamp it. Where it cannot (the channels' ranges are small for
/// σ_color, as they are for levels in [0, 1] and σ_color ≥ 0.1 on one channel), the loops leave
/// the clamp out, which then changes nothing.
///
/// NaNs are left out of the range: a window holding one gives NaN with the clamp or without.
#[inline(always)]
fn needs_clamp<T: Pixel>(image: &[T], c: usize, k: f32, lowest_spatial: f32) -> bool {
    // Eight running minima and maxima, which vectorise (a fold through `f32::min` would not).
    let mut low = [f32::INFINITY; LANES];
    let mut high = [f32::NEG_INFINITY; LANES];
    let mut extend = |values: &[T]| {
        for (j, v) in values.iter().enumerate() {
            let v = v.to_unit();
            low[j] = if v < low[j] { v } else { low[j] };
            high[j] = if v > high[j] { v } else { high[j] };
        }
    };
    let chunks = image.chunks_exact(LANES);
    let rest = chunks.remainder();
    chunks.for_each(&mut extend);
    extend(rest);
    let range =
        k * (high.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) - low.iter().fold(f32::INFINITY, |m, &v| m.min(v)));
    // The distance is at most the range in every channel (values scaled by k); the bound is kept
    // one unit clear of the clamp, which covers the rounding of the exponent's own arithmetic.
    let widest = c as f32 * range * range;
    // (An infinite range, or none for an image of NaNs, leaves `safe` false.)
    let safe = lowest_spatial - widest > LOWEST_POWER + 1.0;
    !safe
}

/// The bilateral loops for the channel count, with or without fused multiply-adds and the clamp
/// ([`needs_clamp`]). One channel goes sixteen pixels at a time (two vectors, whose exponentials
/// overlap); three go eight at a time, which is all the registers hold.
#[inline(always)]
fn bilateral_channels<T: Pixel, const FMA: bool>(
    padded: &[f32],
    c: usize,
    clamp: bool,
    n: &Neighbourhood<'_>,
    image: &mut [T],
) {
    match (c, clamp) {
        (1, false) => bilateral_fixed::<T, 1, 16, FMA, false>(padded, n, image),
        (1, true) => bilateral_fixed::<T, 1, 16, FMA, true>(padded, n, image),
        (3, false) => bilateral_fixed::<T, 3, LANES, FMA, false>(padded, n, image),
        (3, true) => bilateral_fixed::<T, 3, LANES, FMA, true>(padded, n, image),
        (c, _) => bilateral_any::<T, FMA>(padded, c, n, image),
    }
}

/// Row `dy` (0 ..= 2r) of the disc of radius `r`: its first column and its width, the columns
/// r ± ⌊√(r² − (dy − r)²)⌋.
const fn disc_span(r: usize, dy: usize) -> (usize, usize) {
    let off = dy.abs_diff(r);
    let mut reach = r;
    while reach * reach + off * off > r * r {
        reach -= 1;
    }
    (r - reach, 2 * reach + 1)
}

/// What the bilateral kernel needs besides the pixels.
struct Neighbourhood<'a> {
    h: usize,
    w: usize,
    /// Width of a padded row.
    pw: usize,
    taps: usize,
    /// The window without its centre, as runs of one row: (row, first column, width).
    runs: &'a [(usize, usize, usize)],
    /// log₂ of the spatial weights of the runs' pixels, run after run.
    log_spatial: &'a [f32],
    /// The centre's spatial weight.
    centre: f32,
    /// 1/k, for the values read scaled by k = √(log₂e/2)/σ_color.
    unscale: f32,
}

/// Lanes of a vector: pixels of a row computed side by side.
const LANES: usize = 8;

/// The bilateral blur for a channel count known at compile time (1 or 3): blocks of `L` pixels
/// of a row (a multiple of eight) go through the neighbourhood together, so every step is one
/// vector operation per eight; rows narrower than `L` go eight, then one pixel at a time, through
/// the same arithmetic.
#[inline(always)]
fn bilateral_fixed<T: Pixel, const C: usize, const L: usize, const FMA: bool, const CLAMP: bool>(
    padded: &[f32],
    n: &Neighbourhood<'_>,
    image: &mut [T],
) {
    let (h, w, pw, taps) = (n.h, n.w, n.pw, n.taps);
    let plane = (h + taps - 1) * pw;
    let channels: [&[f32]; C] = std::array::from_fn(|ch| &padded[ch * plane..(ch + 1) * plane]);
    for y in 0..h {
        let mut x = 0;
        while x < w {
            // The last block of a row ends at the row's end, overlapping the one before: each lane
            // does the same arithmetic, so the pixels computed twice come out the same.
            x = if w >= L {
                bilateral_store::<T, C, L, FMA, CLAMP>(&channels, n, y, x.min(w - L), image)
            } else if w >= LANES {
                bilateral_store::<T, C, LANES, FMA, CLAMP>(&channels, n, y, x.min(w - LANES), image)
            } else {
                bilateral_store::<T, C, 1, FMA, CLAMP>(&channels, n, y, x, image)
            };
        }
    }
}

/// [`bilateral_block`] of `L` pixels from column `x` of row `y`, written to `image`; returns the
/// column after them.
#[inline(always)]
fn bilateral_store<T: Pixel, const C: usize, const L: usize, const FMA: bool, const CLAMP: bool>(
    channels: &[&[f32]; C],
    n: &Neighbourhood<'_>,
    y: usize,
    x: usize,
    image: &mut [T],
) -> usize {
    let (h, w) = (n.h, n.w);
    let mut out = [[0.0f32; L]; C];
    // Levels take the coarser exponential (`pow2_from`): its error of 1.02·10⁻⁴ moves a result by
    // at most that fraction of the window's range, 0.026 of a level, before the rounding.
    if T::LEVELS {
        bilateral_block::<C, L, FMA, CLAMP, true>(channels, n, y, x, &mut out);
    } else {
        bilateral_block::<C, L, FMA, CLAMP, false>(channels, n, y, x, &mut out);
    }
    for (ch, values) in out.iter().enumerate() {
        let row = &mut image[(ch * h + y) * w..(ch * h + y + 1) * w];
        for (d, &v) in row[x..x + L].iter_mut().zip(values) {
            *d = T::from_unit(v);
        }
    }
    x + L
}

/// `L` consecutive pixels of row `y` from column `x`, each channel's result in `out`, the
/// exponent clamped if `CLAMP` ([`needs_clamp`]), the exponential coarse if `COARSE`
/// ([`pow2_from`]).
#[inline(always)]
fn bilateral_block<const C: usize, const L: usize, const FMA: bool, const CLAMP: bool, const COARSE: bool>(
    channels: &[&[f32]; C],
    n: &Neighbourhood<'_>,
    y: usize,
    x: usize,
    out: &mut [[f32; L]; C],
) {
    let (pw, r) = (n.pw, n.taps / 2);
    let centre_at = (y + r) * pw + x + r;
    let centre: [[f32; L]; C] =
        std::array::from_fn(|ch| channels[ch][centre_at..centre_at + L].try_into().expect("L values"));
    let mut acc: [[f32; L]; C] = std::array::from_fn(|ch| centre[ch].map(|v| n.centre * v));
    let mut total = [n.centre; L];
    let mut log_spatial = n.log_spatial;
    for &(dy, first, len) in n.runs {
        // The row of neighbours for all taps of this run, sliced once.
        let at = (y + dy) * pw + x + first;
        let rows: [&[f32]; C] = std::array::from_fn(|ch| &channels[ch][at..at + len - 1 + L]);
        let (row_weights, rest) = log_spatial.split_at(len);
        log_spatial = rest;
        for (dx, &log_s) in row_weights.iter().enumerate() {
            let value: [&[f32; L]; C] = std::array::from_fn(|ch| rows[ch][dx..dx + L].try_into().expect("L values"));
            for j in 0..L {
                let mut t = log_s;
                for ch in 0..C {
                    let d = value[ch][j] - centre[ch][j];
                    t = madd::<FMA>(-d, d, t);
                }
                let weight = pow2_from::<FMA, COARSE>(if CLAMP { t.max(LOWEST_POWER) } else { t });
                total[j] += weight;
                for ch in 0..C {
                    acc[ch][j] = madd::<FMA>(weight, value[ch][j], acc[ch][j]);
                }
            }
        }
    }
    for ch in 0..C {
        for j in 0..L {
            out[ch][j] = acc[ch][j] / total[j] * n.unscale;
        }
    }
}

/// Eight pixels of one channel as the AVX2 kernel computes them: lanes 0..4 and 4..8 each from
/// four consecutive pixels of a row, whose windows start at padded index `lo` and `hi` and whose
/// results go to image index `out_lo` and `out_hi`. In a whole vector the halves are consecutive
/// (`hi = lo + 4`); a split one holds the last four pixels of a row and of the row below.
#[derive(Clone, Copy, Debug)]
struct Lanes {
    lo: usize,
    hi: usize,
    out_lo: usize,
    out_hi: usize,
    split: bool,
}

/// The vectors that cover an image of one channel (width ≥ 8): each row's whole vectors of eight,
/// then its last pixels. A row that leaves one to four pixels shares a split vector with the row
/// below, so that a row of 28 takes 3½ vectors instead of 4; otherwise (or for a last row without
/// a partner) a vector ends at the row's end, overlapping the one before. The whole vectors come
/// first, then the split ones, each kind repeating its last vector up to a multiple of
/// [`GREY_VECTORS`] (which computes those pixels twice, to the same bits).
fn grey_vectors(size: ImageSize, r: usize) -> Vec<Lanes> {
    let (h, w) = (size.height, size.width);
    let pw = w + 2 * r;
    let whole = |y: usize, x: usize| Lanes {
        lo: y * pw + x,
        hi: y * pw + x + 4,
        out_lo: y * w + x,
        out_hi: y * w + x + 4,
        split: false,
    };
    let rest = w % LANES;
    let (mut vectors, mut split) = (Vec::new(), Vec::new());
    for y in 0..h {
        vectors.extend((0..w - rest).step_by(LANES).map(|x| whole(y, x)));
        if rest == 0 {
            continue;
        }
        let x = w - 4;
        if rest > 4 || (y + 1 == h && h % 2 == 1) {
            vectors.push(whole(y, w - LANES));
        } else if y % 2 == 0 {
            split.push(Lanes {
                lo: y * pw + x,
                hi: (y + 1) * pw + x,
                out_lo: y * w + x,
                out_hi: (y + 1) * w + x,
                split: true,
            });
        }
    }
    for kind in [&mut vectors, &mut split] {
        if let Some(&last) = kind.last() {
            kind.resize(kind.len().next_multiple_of(GREY_VECTORS), last);
        }
    }
    vectors.append(&mut split);
    vectors
}

/// Vectors the one-channel AVX2 kernel computes side by side (their exponentials overlap).
const GREY_VECTORS: usize = 2;

/// The bilateral blur of one channel with AVX2, [`GREY_VECTORS`] vectors of [`grey_vectors`] at
/// a time, in explicit instructions: the same arithmetic as [`bilateral_block`] with fused
/// multiply-adds, so the same bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn bilateral_grey<T: Pixel>(
    v3: pulp::x86::V3,
    padded: &[f32],
    vectors: &[Lanes],
    clamp: bool,
    n: &Neighbourhood<'_>,
    image: &mut [T],
) {
    match (clamp, T::LEVELS) {
        (false, false) => grey_groups::<T, false, false>(v3, padded, vectors, n, image),
        (false, true) => grey_groups::<T, false, true>(v3, padded, vectors, n, image),
        (true, false) => grey_groups::<T, true, false>(v3, padded, vectors, n, image),
        (true, true) => grey_groups::<T, true, true>(v3, padded, vectors, n, image),
    }
}

/// [`bilateral_grey`] for the clamp and the exponential's degree.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn grey_groups<T: Pixel, const CLAMP: bool, const COARSE: bool>(
    v3: pulp::x86::V3,
    padded: &[f32],
    vectors: &[Lanes],
    n: &Neighbourhood<'_>,
    image: &mut [T],
) {
    for group in vectors.chunks_exact(GREY_VECTORS) {
        let group: &[Lanes; GREY_VECTORS] = group.try_into().expect("a group");
        let results = if group[0].split {
            grey_block::<GREY_VECTORS, true, CLAMP, COARSE>(v3, padded, group, n)
        } else {
            grey_block::<GREY_VECTORS, false, CLAMP, COARSE>(v3, padded, group, n)
        };
        for (&lanes, values) in group.iter().zip(results) {
            grey_store(image, lanes, values);
        }
    }
}

/// The eight results of `lanes` into `image`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn grey_store<T: Pixel>(image: &mut [T], lanes: Lanes, values: [f32; LANES]) {
    if lanes.split {
        for (half, at) in [lanes.out_lo, lanes.out_hi].into_iter().enumerate() {
            for (d, &v) in image[at..at + 4].iter_mut().zip(&values[4 * half..4 * half + 4]) {
                *d = T::from_unit(v);
            }
        }
    } else {
        for (d, &v) in image[lanes.out_lo..lanes.out_lo + LANES].iter_mut().zip(&values) {
            *d = T::from_unit(v);
        }
    }
}

/// The values of `lanes` from offset `at` of their windows' starts on, for `len` taps: the row
/// for the first four lanes and the one for the last four (the same when not `SPLIT`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn grey_rows<const SPLIT: bool>(padded: &[f32], lanes: Lanes, at: usize, len: usize) -> [&[f32]; 2] {
    if SPLIT {
        [&padded[lanes.lo + at..lanes.lo + at + len - 1 + 4], &padded[lanes.hi + at..lanes.hi + at + len - 1 + 4]]
    } else {
        let row = &padded[lanes.lo + at..lanes.lo + at + len - 1 + LANES];
        [row, row]
    }
}

/// The eight values of [`grey_rows`] at tap `dx`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn grey_load<const SPLIT: bool>(v3: pulp::x86::V3, rows: [&[f32]; 2], dx: usize) -> std::arch::x86_64::__m256 {
    if SPLIT {
        let lo: [f32; 4] = rows[0][dx..dx + 4].try_into().expect("four");
        let hi: [f32; 4] = rows[1][dx..dx + 4].try_into().expect("four");
        v3.avx._mm256_insertf128_ps::<1>(v3.avx._mm256_castps128_ps256(pulp::cast(lo)), pulp::cast(hi))
    } else {
        let all: [f32; LANES] = rows[0][dx..dx + LANES].try_into().expect("eight");
        pulp::cast(all)
    }
}

/// [`bilateral_block`] for `V` vectors of one channel, all split or all whole as `SPLIT` says:
/// their results.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn grey_block<const V: usize, const SPLIT: bool, const CLAMP: bool, const COARSE: bool>(
    v3: pulp::x86::V3,
    padded: &[f32],
    lanes: &[Lanes; V],
    n: &Neighbourhood<'_>,
) -> [[f32; LANES]; V] {
    let (avx, fma) = (v3.avx, v3.fma);
    let r = n.taps / 2;
    // (No closures here: an intrinsic inside one stays a function call.)
    let centre_at = r * n.pw + r;
    let s0 = avx._mm256_set1_ps(n.centre);
    let mut centre = [avx._mm256_setzero_ps(); V];
    let mut acc = [avx._mm256_setzero_ps(); V];
    for k in 0..V {
        centre[k] = grey_load::<SPLIT>(v3, grey_rows::<SPLIT>(padded, lanes[k], centre_at, 1), 0);
        acc[k] = avx._mm256_mul_ps(s0, centre[k]);
    }
    let mut total = [s0; V];
    let mut log_spatial = n.log_spatial;
    let mut rows = [[&padded[..0]; 2]; V];
    for &(dy, first, len) in n.runs {
        let (row_weights, rest) = log_spatial.split_at(len);
        log_spatial = rest;
        let at = dy * n.pw + first;
        for k in 0..V {
            rows[k] = grey_rows::<SPLIT>(padded, lanes[k], at, len);
        }
        for (dx, &log_s) in row_weights.iter().enumerate() {
            let log_s = avx._mm256_set1_ps(log_s);
            for k in 0..V {
                let value = grey_load::<SPLIT>(v3, rows[k], dx);
                let d = avx._mm256_sub_ps(value, centre[k]);
                let t = fma._mm256_fnmadd_ps(d, d, log_s);
                let weight = pow2_avx2::<CLAMP, COARSE>(v3, t);
                total[k] = avx._mm256_add_ps(total[k], weight);
                acc[k] = fma._mm256_fmadd_ps(weight, value, acc[k]);
            }
        }
    }
    let unscale = avx._mm256_set1_ps(n.unscale);
    let mut results = [[0.0f32; LANES]; V];
    for k in 0..V {
        results[k] = pulp::cast(avx._mm256_mul_ps(avx._mm256_div_ps(acc[k], total[k]), unscale));
    }
    results
}

/// [`pow2_from`] with fused multiply-adds and rounding, in AVX2 instructions (the exponent
/// clamped first if `CLAMP`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn pow2_avx2<const CLAMP: bool, const COARSE: bool>(
    v3: pulp::x86::V3,
    t: std::arch::x86_64::__m256,
) -> std::arch::x86_64::__m256 {
    let (avx, avx2, fma) = (v3.avx, v3.avx2, v3.fma);
    let t = if CLAMP { avx._mm256_max_ps(t, avx._mm256_set1_ps(LOWEST_POWER)) } else { t };
    let n = avx._mm256_round_ps::<0x08>(t); // to nearest, ties to even, no exceptions
    let f = avx._mm256_sub_ps(t, n);
    let exponent = avx2._mm256_slli_epi32::<23>(avx._mm256_cvtps_epi32(n));
    let q = if COARSE {
        let q = fma._mm256_fmadd_ps(f, avx._mm256_set1_ps(Q_COARSE[2]), avx._mm256_set1_ps(Q_COARSE[1]));
        fma._mm256_fmadd_ps(f, q, avx._mm256_set1_ps(Q_COARSE[0]))
    } else {
        let q = fma._mm256_fmadd_ps(f, avx._mm256_set1_ps(Q[3]), avx._mm256_set1_ps(Q[2]));
        let q = fma._mm256_fmadd_ps(f, q, avx._mm256_set1_ps(Q[1]));
        fma._mm256_fmadd_ps(f, q, avx._mm256_set1_ps(Q[0]))
    };
    let p = fma._mm256_fmadd_ps(f, q, avx._mm256_set1_ps(1.0));
    avx._mm256_castsi256_ps(avx2._mm256_add_epi32(avx._mm256_castps_si256(p), exponent))
}

/// The bilateral blur for any other channel count, one pixel at a time with the channels in a
/// loop (one channel at a time would change the colour distance).
#[inline(always)]
fn bilateral_any<T: Pixel, const FMA: bool>(padded: &[f32], c: usize, n: &Neighbourhood<'_>, image: &mut [T]) {
    let (h, w, pw, taps) = (n.h, n.w, n.pw, n.taps);
    let r = taps / 2;
    let plane = (h + 2 * r) * pw;
    let mut centre = vec![0.0f32; c];
    let mut acc = vec![0.0f32; c];
    for y in 0..h {
        for x in 0..w {
            for (ch, v) in centre.iter_mut().enumerate() {
                *v = padded[ch * plane + (y + r) * pw + x + r];
            }
            for (a, &v) in acc.iter_mut().zip(&centre) {
                *a = n.centre * v;
            }
            let mut total = n.centre;
            let mut log_spatial = n.log_spatial.iter();
            for &(dy, first, len) in n.runs {
                for dx in first..first + len {
                    let q = (y + dy) * pw + x + dx;
                    let mut t = *log_spatial.next().expect("a weight per tap");
                    for (ch, &v) in centre.iter().enumerate() {
                        let d = padded[ch * plane + q] - v;
                        t = madd::<FMA>(-d, d, t);
                    }
                    let weight = pow2_nonpositive::<FMA>(t);
                    total += weight;
                    for (ch, a) in acc.iter_mut().enumerate() {
                        *a = madd::<FMA>(weight, padded[ch * plane + q], *a);
                    }
                }
            }
            for (ch, a) in acc.iter().enumerate() {
                image[(ch * h + y) * w + x] = T::from_unit(a / total * n.unscale);
            }
        }
    }
}

/// Gaussian blur with σ uniform in `sigma` (drawn per sample) and a fixed or automatic kernel size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianBlur {
    /// Range of σ in pixels (equal ends for a fixed σ).
    pub sigma: (f32, f32),
    /// Kernel size (odd); `None` picks [`auto_kernel_size`] of each sample's σ.
    pub kernel_size: Option<usize>,
    /// Probability of blurring a sample.
    pub p: f32,
}

impl GaussianBlur {
    /// A fixed σ with the automatic kernel size, always applied.
    pub fn new(sigma: f32) -> Self {
        GaussianBlur { sigma: (sigma, sigma), kernel_size: None, p: 1.0 }
    }
}

impl Transform for GaussianBlur {
    fn name(&self) -> &'static str {
        "gaussian-blur"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl GaussianBlur {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| {
            chance(rng, self.p).then(|| {
                let sigma = rng.uniform_range(self.sigma.0, self.sigma.1);
                gaussian_kernel(sigma, self.kernel_size.unwrap_or_else(|| auto_kernel_size(sigma)))
            })
        });
        let size = batch.size();
        update_samples(&mut batch, &params, |kernel, img| gaussian_blur_in_place(img, size, kernel));
        batch
    }
}

/// Median blur over a `size × size` window (3 and 5 are usual; odd sizes up to 15 work).
/// Applying one of another size panics, as [`median_blur`] does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MedianBlur {
    /// Window size (odd).
    pub size: usize,
    /// Probability of blurring a sample.
    pub p: f32,
}

impl MedianBlur {
    /// A `size × size` median, always applied.
    pub fn new(size: usize) -> Self {
        MedianBlur { size, p: 1.0 }
    }
}

impl Transform for MedianBlur {
    fn name(&self) -> &'static str {
        "median-blur"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl MedianBlur {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then_some(()));
        let (size, k) = (batch.size(), self.size);
        update_samples(&mut batch, &params, |_, img| median_blur_in_place(img, size, k));
        batch
    }
}

/// Bilateral blur with fixed σ_space (pixels) and σ_color (value units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BilateralBlur {
    /// Spatial σ in pixels.
    pub sigma_space: f32,
    /// Colour σ in value units (0.1 keeps edges whose sides differ by more than about 0.2).
    pub sigma_color: f32,
    /// Probability of blurring a sample.
    pub p: f32,
}

impl BilateralBlur {
    /// Bilateral blur, always applied.
    pub fn new(sigma_space: f32, sigma_color: f32) -> Self {
        BilateralBlur { sigma_space, sigma_color, p: 1.0 }
    }
}

impl Transform for BilateralBlur {
    fn name(&self) -> &'static str {
        "bilateral-blur"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl BilateralBlur {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then_some(()));
        let (plan, isa) = (Bilateral::new(batch.size(), self.sigma_space, self.sigma_color), Isa::detect());
        update_samples(&mut batch, &params, |_, img| plan.apply(isa, img));
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectorisable_exponential_is_close_to_exp() {
        let (mut worst_relative, mut worst_absolute) = (0.0f64, 0.0f64);
        for i in 0..=200_000 {
            let x = (-100.0 * i as f64 / 200_000.0) as f32;
            let exact = (x as f64).exp();
            let got = exp_nonpositive(x) as f64;
            worst_absolute = worst_absolute.max((got - exact).abs());
            if x >= -10.0 {
                worst_relative = worst_relative.max(((got - exact) / exact).abs());
            }
            // The fused version (on any machine: `mul_add` is exact in software too).
            let fused = pow2_nonpositive::<true>(x * std::f32::consts::LOG2_E) as f64;
            worst_absolute = worst_absolute.max((fused - exact).abs());
        }
        assert!(worst_relative < 4e-6, "worst relative error {worst_relative:e}");
        assert!(worst_absolute < 4e-6, "worst absolute error {worst_absolute:e}");
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert!(exp_nonpositive(-1000.0) < 1e-37);
    }

    /// The coarse 2^t of levels, against f64 at every level of rounding: within 1.02·10⁻⁴ of it,
    /// relative, over the range the loops use without the clamp; exact at 0, as the fine one.
    #[test]
    fn the_coarse_power_of_two_is_within_its_bound() {
        let mut worst = 0.0f64;
        for i in 0..=400_000 {
            let t = (-124.0 * i as f64 / 400_000.0) as f32;
            let exact = (t as f64).exp2();
            for got in [pow2_from::<false, true>(t), pow2_from::<true, true>(t)] {
                worst = worst.max((got as f64 / exact - 1.0).abs());
            }
        }
        assert!(worst < 1.02e-4, "worst relative error {worst:e}");
        assert!(worst > 0.9e-4, "the bound is the fit's own, not loose: {worst:e}");
        assert_eq!(pow2_from::<false, true>(0.0), 1.0);
    }

    /// The loops compiled with AVX2 give the baseline's bits (the Gaussian and bilateral blurs
    /// of f32 values, which fuse multiply-adds there, within 10⁻⁶ and 10⁻⁵), on odd sizes that
    /// leave vector remainders.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_loops_agree_with_the_baseline() {
        let Isa::Avx2(v3) = Isa::detect() else {
            eprintln!("skipped: this CPU has no AVX2 (or NEURITE_SIMD=scalar), so there is one path only");
            return;
        };
        let mut rng = neurite_core::Rng::seed(5);
        for (h, w) in [(7usize, 13usize), (28, 28), (33, 67)] {
            let size = ImageSize::new(3, h, w);
            let src = rng.uniform_vec(size.len(), 0.0, 1.0);
            let kernel = gaussian_kernel(1.3, 9);
            let (mut base, mut wide) = (src.clone(), src.clone());
            gaussian_blur_on(Isa::Baseline, &mut base, size, &kernel);
            gaussian_blur_on(Isa::Avx2(v3), &mut wide, size, &kernel);
            let gap = base.iter().zip(&wide).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(gap < 1e-6, "gaussian {h}×{w}: values differ by {gap}");
            let (mut base, mut wide) = (src[..h * w].to_vec(), src[..h * w].to_vec());
            median3x3_on(Isa::Baseline, &mut base, h, w);
            median3x3_on(Isa::Avx2(v3), &mut wide, h, w);
            assert!(base.iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits()), "median {h}×{w}");
            let levels: Vec<u8> = src.iter().map(|&v| u8::from_unit(v)).collect();
            let (mut base, mut wide) = (levels.clone(), levels.clone());
            gaussian_blur_on(Isa::Baseline, &mut base, size, &kernel);
            gaussian_blur_on(Isa::Avx2(v3), &mut wide, size, &kernel);
            assert_eq!(base, wide, "u8 gaussian {h}×{w}: integer arithmetic, the same bits");
            let (mut base, mut wide) = (levels[..h * w].to_vec(), levels[..h * w].to_vec());
            median3x3_on(Isa::Baseline, &mut base, h, w);
            median3x3_on(Isa::Avx2(v3), &mut wide, h, w);
            assert_eq!(base, wide, "u8 median {h}×{w}");
            // The bilateral blur fuses multiply-adds on AVX2: the same within rounding.
            for channels in [1, 2, 3] {
                let size = ImageSize::new(channels, h, w);
                let (mut base, mut wide) = (src[..size.len()].to_vec(), src[..size.len()].to_vec());
                bilateral_on(Isa::Baseline, &mut base, size, 1.0, 0.1);
                bilateral_on(Isa::Avx2(v3), &mut wide, size, 1.0, 0.1);
                let gap = base.iter().zip(&wide).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(gap < 1e-5, "bilateral {size:?}: levels differ by {gap}");
            }
        }
    }

    /// The explicit one-channel AVX2 kernel gives the bits of the generic loops compiled for
    /// AVX2, on every way a width and height leave tails: whole rows of vectors, tails of one to
    /// four shared by two rows (or not, for a last odd row), tails of five to seven; with and
    /// without the clamp, on values and on levels.
    #[test]
    fn the_one_channel_avx2_kernel_is_the_generic_loops() {
        let isa @ Isa::Avx2(_) = Isa::detect() else {
            eprintln!("skipped: this CPU has no AVX2 (or NEURITE_SIMD=scalar), so there is one path only");
            return;
        };
        fn both<T: Pixel>(
            isa: Isa,
            image: &[T],
            size: ImageSize,
            sigma_space: f32,
            sigma_color: f32,
        ) -> (Vec<T>, Vec<T>) {
            let plan = Bilateral::new(size, sigma_space, sigma_color);
            assert!(!plan.grey.is_empty(), "{size:?} takes the explicit kernel");
            let mut explicit = image.to_vec();
            plan.apply(isa, &mut explicit);
            let generic_plan = Bilateral { grey: Vec::new(), ..plan };
            let mut generic = image.to_vec();
            generic_plan.apply(isa, &mut generic);
            (explicit, generic)
        }
        let mut rng = neurite_core::Rng::seed(29);
        for h in [1, 2, 3, 7, 8] {
            for w in [8, 9, 11, 12, 13, 16, 20, 28, 37] {
                let size = ImageSize::new(1, h, w);
                for (low, high) in [(0.0, 1.0), (-3.0, 3.0)] {
                    let src = rng.uniform_vec(size.len(), low, high);
                    let (explicit, generic) = both(isa, &src, size, 1.0, 0.1);
                    let same = explicit.iter().zip(&generic).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{size:?} on [{low}, {high}]");
                }
                let levels: Vec<u8> = (0..size.len()).map(|_| rng.below(256) as u8).collect();
                let (explicit, generic) = both(isa, &levels, size, 1.3, 0.2);
                assert_eq!(explicit, generic, "{size:?} on levels");
            }
        }
    }

    #[test]
    fn sorting_networks_sort() {
        let mut rng = neurite_core::Rng::seed(3);
        for len in [3, 5, 7] {
            for _ in 0..200 {
                let mut v = rng.uniform_vec(len, 0.0, 1.0);
                let mut want = v.clone();
                want.sort_by(f32::total_cmp);
                sort_small(&mut v);
                assert_eq!(v, want);
            }
        }
    }
}
