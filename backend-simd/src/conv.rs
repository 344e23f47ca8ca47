//! Convolution and pooling. Convolution groups images into chunks whose column matrices sit side
//! by side (`[C·kh·kw, G·P]` for G images of P output pixels), so each chunk is one wide sgemm;
//! chunks run in parallel and their weight gradients are summed in chunk order. Pooling runs the
//! core reference kernels plane by plane in parallel.

use neurite_core::backend::{Conv2dSpec, Pool2dSpec};
use neurite_core::reference;
use rayon::prelude::*;

use crate::buffer::Buffer;
use crate::gemm::{self, Operand};

/// Most column-matrix values per chunk (512 KiB, one Zen 3 core's L2): sgemm then packs a column
/// matrix that im2col has only just written while it is still in L2. With 4 MB chunks it came
/// back from L3 or memory; measured on the MNIST CNN step, 2 threads: ~2,800 → ~3,400 images/s.
const CHUNK_VALUES: usize = 1 << 17;
/// Chunks a batch is cut into at least, enough for two or four threads to share evenly; more
/// when a chunk's column matrix would pass `CHUNK_VALUES` (a 64-image batch of 28×28 images under
/// a 5×5 kernel is 11 chunks of at most 6; of 16-channel 14×14 images, 64 chunks of one).
pub(crate) const CHUNKS: usize = 8;

/// Images per chunk: a function of the geometry only, so the order in which the weight gradient
/// sums its chunks (the one result chunking could change) does not depend on the threads.
fn images_per_chunk(spec: &Conv2dSpec) -> usize {
    let per_image = (spec.patch_len() * spec.out_h() * spec.out_w()).max(1);
    spec.batch.div_ceil(CHUNKS).min(CHUNK_VALUES / per_image).max(1)
}

/// A product within one chunk, into output rows `ldc` apart: single-threaded when there are
/// chunks enough to keep every thread busy, else split into tiles too. Either way every output
/// value is the same (see `gemm`).
#[allow(clippy::too_many_arguments)]
fn chunk_sgemm(chunks: usize, m: usize, k: usize, n: usize, a: Operand<'_>, b: Operand<'_>, c: &mut [f32], ldc: usize) {
    if chunks >= rayon::current_num_threads() {
        gemm::sgemm_serial_strided(m, k, n, a, b, c, ldc);
    } else {
        gemm::sgemm_strided(m, k, n, a, b, c, ldc);
    }
}

/// The valid output columns `ox` for kernel column `kx`: those whose input column lies inside
/// the image, as a range.
fn valid_range(out_len: usize, k: usize, stride: usize, pad: usize, in_len: usize) -> (usize, usize) {
    // x = ox·s + k − p must satisfy 0 ≤ x < in_len.
    let lo = if k >= pad { 0 } else { (pad - k).div_ceil(stride) };
    let hi = if in_len + pad > k { ((in_len + pad - k - 1) / stride + 1).min(out_len) } else { 0 };
    (lo.min(hi), hi)
}

/// Unfolds one image into columns `col0..col0 + P` of a column matrix with row length `ld`.
fn im2col_into(img: &[f32], spec: &Conv2dSpec, cols: &mut [f32], ld: usize, col0: usize) {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let (s, p) = (spec.stride, spec.padding);
    let mut r = 0;
    for c in 0..spec.in_channels {
        let plane = &img[c * spec.height * spec.width..(c + 1) * spec.height * spec.width];
        for ky in 0..spec.kernel_h {
            let (y_lo, y_hi) = valid_range(oh, ky, s.0, p.0, spec.height);
            for kx in 0..spec.kernel_w {
                let (x_lo, x_hi) = valid_range(ow, kx, s.1, p.1, spec.width);
                let row = &mut cols[r * ld + col0..r * ld + col0 + oh * ow];
                r += 1;
                if s == (1, 1) && ow == spec.width {
                    shifted_rows(plane, spec, row, (ky, kx), (y_lo, y_hi), (x_lo, x_hi));
                    continue;
                }
                for oy in 0..oh {
                    let dst = &mut row[oy * ow..(oy + 1) * ow];
                    if oy < y_lo || oy >= y_hi {
                        dst.fill(0.0);
                        continue;
                    }
                    let y = oy * s.0 + ky - p.0;
                    dst[..x_lo].fill(0.0);
                    dst[x_hi..].fill(0.0);
                    let src = &plane[y * spec.width..(y + 1) * spec.width];
                    if s.1 == 1 && x_hi > x_lo {
                        let x0 = x_lo + kx - p.1;
                        dst[x_lo..x_hi].copy_from_slice(&src[x0..x0 + (x_hi - x_lo)]);
                    } else {
                        for ox in x_lo..x_hi {
                            dst[ox] = src[ox * s.1 + kx - p.1];
                        }
                    }
                }
            }
        }
    }
}

/// The im2col row of kernel offset `(ky, kx)` for a stride-1 convolution whose output rows are as
/// wide as the input's (`same` padding, the common case). The row is then the input plane shifted
/// by `(ky − p, kx − p)`: the valid output rows are one contiguous copy of the plane, after which
/// the few columns that wrapped around from a neighbouring row (or were not covered) are zeroed.
/// One long copy instead of one short copy per output row, which for 14- or 28-pixel rows was
/// mostly call overhead.
fn shifted_rows(
    plane: &[f32],
    spec: &Conv2dSpec,
    row: &mut [f32],
    (ky, kx): (usize, usize),
    (y_lo, y_hi): (usize, usize),
    (x_lo, x_hi): (usize, usize),
) {
    let w = spec.width;
    row[..y_lo * w].fill(0.0);
    row[y_hi * w..].fill(0.0);
    if y_hi <= y_lo {
        return;
    }
    // Output index y_lo·w + t reads plane index start + t.
    let start = ((y_lo + ky) * w + kx) as isize - (spec.padding.0 * w + spec.padding.1) as isize;
    let len = (y_hi - y_lo) * w;
    let t0 = ((-start).max(0) as usize).min(len);
    let t1 = len.min((plane.len() as isize - start).max(0) as usize);
    let dst = &mut row[y_lo * w..y_hi * w];
    if t1 > t0 {
        dst[t0..t1].copy_from_slice(&plane[(start + t0 as isize) as usize..(start + t1 as isize) as usize]);
    }
    dst[..t0].fill(0.0);
    dst[t1.max(t0)..].fill(0.0);
    for line in dst.chunks_exact_mut(w) {
        zero_few(&mut line[..x_lo]);
        zero_few(&mut line[x_hi.max(x_lo)..]);
    }
}

/// Zeroes a slice that is usually a few values long (the columns a kernel offset pushes past an
/// image's edge): fixed-size stores for up to four values, since `fill` calls `memset` and the call
/// costs more than the stores.
#[inline]
fn zero_few(values: &mut [f32]) {
    match values {
        [] => {}
        [a] => *a = 0.0,
        [a, b] => (*a, *b) = (0.0, 0.0),
        [a, b, c] => (*a, *b, *c) = (0.0, 0.0, 0.0),
        [a, b, c, d] => (*a, *b, *c, *d) = (0.0, 0.0, 0.0, 0.0),
        longer => longer.fill(0.0),
    }
}

/// Adds columns `col0..col0 + P` of a column matrix (row length `ld`) back into one image.
fn col2im_from(cols: &[f32], ld: usize, col0: usize, spec: &Conv2dSpec, img: &mut [f32]) {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let (s, p) = (spec.stride, spec.padding);
    let mut r = 0;
    for c in 0..spec.in_channels {
        let plane = &mut img[c * spec.height * spec.width..(c + 1) * spec.height * spec.width];
        for ky in 0..spec.kernel_h {
            let (y_lo, y_hi) = valid_range(oh, ky, s.0, p.0, spec.height);
            for kx in 0..spec.kernel_w {
                let (x_lo, x_hi) = valid_range(ow, kx, s.1, p.1, spec.width);
                let row = &cols[r * ld + col0..r * ld + col0 + oh * ow];
                for oy in y_lo..y_hi {
                    let y = oy * s.0 + ky - p.0;
                    let dst = &mut plane[y * spec.width..(y + 1) * spec.width];
                    let src = &row[oy * ow..(oy + 1) * ow];
                    if s.1 == 1 && x_hi > x_lo {
                        let x0 = x_lo + kx - p.1;
                        crate::arch::add_assign(&mut dst[x0..x0 + (x_hi - x_lo)], &src[x_lo..x_hi]);
                    } else {
                        for ox in x_lo..x_hi {
                            dst[ox * s.1 + kx - p.1] += src[ox];
                        }
                    }
                }
                r += 1;
            }
        }
    }
}

/// [`col2im_from`] for a column matrix that may be overwritten (the scratch of the input
/// gradient): for a stride-1 `same`-width convolution each row is added to its channel plane as one
/// contiguous run, after zeroing the entries whose column wraps around (adding 0 leaves a value
/// unchanged, and every plane value still receives its terms in row order).
fn col2im_scratch(cols: &mut [f32], ld: usize, col0: usize, spec: &Conv2dSpec, img: &mut [f32]) {
    let (oh, ow, w) = (spec.out_h(), spec.out_w(), spec.width);
    if spec.stride != (1, 1) || ow != w {
        return col2im_from(cols, ld, col0, spec, img);
    }
    let p = spec.padding;
    let mut r = 0;
    for c in 0..spec.in_channels {
        let plane = &mut img[c * spec.height * w..(c + 1) * spec.height * w];
        for ky in 0..spec.kernel_h {
            let (y_lo, y_hi) = valid_range(oh, ky, 1, p.0, spec.height);
            for kx in 0..spec.kernel_w {
                let (x_lo, x_hi) = valid_range(ow, kx, 1, p.1, w);
                let row = &mut cols[r * ld + col0..r * ld + col0 + oh * ow];
                r += 1;
                if y_hi <= y_lo {
                    continue;
                }
                let src = &mut row[y_lo * w..y_hi * w];
                for line in src.chunks_exact_mut(w) {
                    zero_few(&mut line[..x_lo]);
                    zero_few(&mut line[x_hi.max(x_lo)..]);
                }
                // Row index y_lo·w + t adds into plane index start + t.
                let start = ((y_lo + ky) * w + kx) as isize - (p.0 * w + p.1) as isize;
                let t0 = (-start).max(0) as usize;
                let t1 = src.len().min((plane.len() as isize - start).max(0) as usize);
                if t1 > t0 {
                    let at = (start + t0 as isize) as usize;
                    crate::arch::add_assign(&mut plane[at..at + (t1 - t0)], &src[t0..t1]);
                }
            }
        }
    }
}

pub(crate) fn im2col(x: &[f32], spec: &Conv2dSpec) -> Buffer {
    let per = spec.patch_len() * spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let p = spec.out_h() * spec.out_w();
    let mut out = Buffer::uninit(spec.batch * per);
    if per > 0 {
        out.as_mut_slice().par_chunks_mut(per).enumerate().for_each(|(n, cols)| {
            im2col_into(&x[n * image..(n + 1) * image], spec, cols, p, 0);
        });
    }
    out
}

pub(crate) fn col2im(cols: &[f32], spec: &Conv2dSpec) -> Buffer {
    let per = spec.patch_len() * spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let p = spec.out_h() * spec.out_w();
    let mut out = Buffer::uninit(spec.batch * image);
    if image > 0 {
        out.as_mut_slice().par_chunks_mut(image).enumerate().for_each(|(n, img)| {
            img.fill(0.0);
            col2im_from(&cols[n * per..(n + 1) * per], p, 0, spec, img);
        });
    }
    out
}

/// The column matrix `[C·kh·kw, g·P]` of images `n0..n0 + g` (every entry written, so the
/// pooled buffer needs no zeroing).
fn chunk_cols(x: &[f32], spec: &Conv2dSpec, n0: usize, g: usize) -> Buffer {
    let p = spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let mut cols = Buffer::uninit(spec.patch_len() * g * p);
    for i in 0..g {
        im2col_into(&x[(n0 + i) * image..(n0 + i + 1) * image], spec, cols.as_mut_slice(), g * p, i * p);
    }
    cols
}

pub(crate) fn conv2d(x: &[f32], w: &[f32], spec: &Conv2dSpec) -> Buffer {
    if crate::direct::applies(spec) {
        return crate::direct::conv2d(x, w, spec);
    }
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let mut y = Buffer::uninit(spec.batch * f * p);
    let g = images_per_chunk(spec);
    if y.is_empty() {
        return y;
    }
    let chunks = spec.batch.div_ceil(g);
    y.as_mut_slice().par_chunks_mut(g * f * p).enumerate().for_each(|(c, y_chunk)| {
        let gi = y_chunk.len() / (f * p);
        let cols = chunk_cols(x, spec, c * g, gi);
        let (a, b) = (Operand::new(w, f, kk, false), Operand::new(cols.as_slice(), kk, gi * p, false));
        if gi == 1 {
            // One image: W·cols is already its [F, P] output.
            return chunk_sgemm(chunks, f, kk, p, a, b, y_chunk, p);
        }
        // Several images side by side: one wide product, then [F, g·P] → [g, F, P].
        let mut out = Buffer::uninit(f * gi * p);
        let out = out.as_mut_slice();
        chunk_sgemm(chunks, f, kk, gi * p, a, b, out, gi * p);
        for i in 0..gi {
            for fi in 0..f {
                y_chunk[(i * f + fi) * p..(i * f + fi + 1) * p]
                    .copy_from_slice(&out[fi * gi * p + i * p..fi * gi * p + (i + 1) * p]);
            }
        }
    });
    y
}

/// `dy` of images `n0..n0 + g` rearranged from `[g, F, P]` to `[F, g·P]`.
fn chunk_dy(dy: &[f32], spec: &Conv2dSpec, n0: usize, g: usize) -> Buffer {
    let p = spec.out_h() * spec.out_w();
    let f = spec.out_channels;
    let mut buffer = Buffer::uninit(f * g * p);
    let out = buffer.as_mut_slice();
    for i in 0..g {
        for fi in 0..f {
            let src = &dy[((n0 + i) * f + fi) * p..((n0 + i) * f + fi + 1) * p];
            out[fi * g * p + i * p..fi * g * p + (i + 1) * p].copy_from_slice(src);
        }
    }
    buffer
}

pub(crate) fn conv2d_backward_input(dy: &[f32], w: &[f32], spec: &Conv2dSpec) -> Buffer {
    if crate::direct::applies_backward(spec) {
        return crate::direct::conv2d_backward_input(dy, w, spec);
    }
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let image = spec.in_channels * spec.height * spec.width;
    let g = images_per_chunk(spec);
    // Zeroed chunk by chunk in the parallel tasks, not up front on one thread.
    let mut dx = Buffer::uninit(spec.batch * image);
    if dx.is_empty() {
        return dx;
    }
    let chunks = spec.batch.div_ceil(g);
    dx.as_mut_slice().par_chunks_mut(g * image).enumerate().for_each(|(c, dx_chunk)| {
        dx_chunk.fill(0.0);
        let n0 = c * g;
        let gi = dx_chunk.len() / image;
        let mut dcols = Buffer::uninit(kk * gi * p);
        // dcols = Wᵀ·dy, W read transposed through strides; one image's dy is read where it
        // lies, several are first rearranged from [g, F, P] to [F, g·P].
        let wt = Operand::new(w, kk, f, true);
        if gi == 1 {
            let dy_n = Operand::new(&dy[n0 * f * p..(n0 + 1) * f * p], f, p, false);
            chunk_sgemm(chunks, kk, f, p, wt, dy_n, dcols.as_mut_slice(), p);
        } else {
            let dyc = chunk_dy(dy, spec, n0, gi);
            let dyc = Operand::new(dyc.as_slice(), f, gi * p, false);
            chunk_sgemm(chunks, kk, f, gi * p, wt, dyc, dcols.as_mut_slice(), gi * p);
        }
        for i in 0..gi {
            col2im_scratch(dcols.as_mut_slice(), gi * p, i * p, spec, &mut dx_chunk[i * image..(i + 1) * image]);
        }
    });
    dx
}

pub(crate) fn conv2d_backward_weight(x: &[f32], dy: &[f32], spec: &Conv2dSpec) -> Buffer {
    if crate::direct::applies_weight(spec) {
        return crate::direct::conv2d_backward_weight(x, dy, spec);
    }
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let g = images_per_chunk(spec);
    let chunks = spec.batch.div_ceil(g);
    // One product dWᵀ = cols · dyᵀ per chunk ([C·kh·kw, F]: the large column matrix is the
    // row-major left operand, which sgemm packs with contiguous reads; as the transposed right
    // operand of dy · colsᵀ it would be gathered at a stride). Consecutive chunks are summed in
    // at most `CHUNKS` groups, in parallel, and the groups in order: a summation order that the
    // geometry alone sets, with a few pooled buffers however many chunks there are.
    let per_group = chunks.div_ceil(CHUNKS).max(1);
    let groups = chunks.div_ceil(per_group);
    let product = |c: usize, out: &mut [f32]| {
        let n0 = c * g;
        let gi = g.min(spec.batch - n0);
        let cols = chunk_cols(x, spec, n0, gi);
        let a = Operand::new(cols.as_slice(), kk, gi * p, false);
        if gi == 1 {
            // One image's dy, [F, P], is already the transposed right operand.
            let b = Operand::new(&dy[n0 * f * p..(n0 + 1) * f * p], p, f, true);
            return chunk_sgemm(groups, kk, p, f, a, b, out, f);
        }
        let dyc = chunk_dy(dy, spec, n0, gi);
        chunk_sgemm(groups, kk, gi * p, f, a, Operand::new(dyc.as_slice(), gi * p, f, true), out, f);
    };
    let partials: Vec<Buffer> = (0..groups)
        .into_par_iter()
        .map(|group| {
            let first = group * per_group;
            let mut sum = Buffer::uninit(kk * f);
            product(first, sum.as_mut_slice());
            let mut term = Buffer::uninit(if per_group > 1 { kk * f } else { 0 });
            for c in first + 1..chunks.min(first + per_group) {
                product(c, term.as_mut_slice());
                crate::arch::add_assign(sum.as_mut_slice(), term.as_slice());
            }
            sum
        })
        .collect();
    let mut partials = partials.into_iter();
    let Some(mut dwt) = partials.next() else {
        return Buffer::zeroed(f * kk);
    };
    for part in partials {
        crate::arch::add_assign(dwt.as_mut_slice(), part.as_slice());
    }
    let dwt = dwt.as_slice();
    // [C·kh·kw, F] → [F, C·kh·kw]
    let mut dw = Buffer::uninit(f * kk);
    for (fi, row) in dw.as_mut_slice().chunks_exact_mut(kk.max(1)).enumerate().take(f) {
        for (r, v) in row.iter_mut().enumerate() {
            *v = dwt[r * f + fi];
        }
    }
    dw
}

/// 2×2 windows with stride 2 and no padding (the common case), without the general window walk.
/// Same winners as the reference: the first of equal values in row-major window order, and a
/// NaN wins.
fn max_pool_2x2_plane(plane: &[f32], base: usize, spec: &Pool2dSpec, out: &mut [f32], argmax: &mut [usize]) {
    let (w, ow) = (spec.width, spec.out_w());
    for oy in 0..spec.out_h() {
        let top = &plane[2 * oy * w..2 * oy * w + 2 * ow];
        let bottom = &plane[(2 * oy + 1) * w..(2 * oy + 1) * w + 2 * ow];
        let out = &mut out[oy * ow..(oy + 1) * ow];
        let argmax = &mut argmax[oy * ow..(oy + 1) * ow];
        let row_base = base + 2 * oy * w;
        for (ox, ((o, a), (t, b))) in
            out.iter_mut().zip(argmax.iter_mut()).zip(top.chunks_exact(2).zip(bottom.chunks_exact(2))).enumerate()
        {
            // A tree of three branch-free comparisons (selects, not jumps: on real activations
            // the winner is unpredictable); the first of equals and the first NaN still win.
            let (top_best, top_k) = first_max(t[0], 0, t[1], 1);
            let (bottom_best, bottom_k) = first_max(b[0], w, b[1], w + 1);
            let (best, k) = first_max(top_best, top_k, bottom_best, bottom_k);
            *o = best;
            *a = row_base + 2 * ox + k;
        }
    }
}

/// The winner of `a` (first) and `b`: `b` if it is larger, or NaN while `a` is not.
#[inline(always)]
fn first_max(a: f32, ia: usize, b: f32, ib: usize) -> (f32, usize) {
    let take = (b > a) | (b.is_nan() & !a.is_nan());
    (if take { b } else { a }, if take { ib } else { ia })
}

pub(crate) fn max_pool2d(x: &[f32], spec: &Pool2dSpec) -> (Buffer, Vec<usize>) {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let planes = spec.batch * spec.channels;
    let mut out = Buffer::uninit(planes * out_plane);
    let mut idx = vec![0usize; planes * out_plane];
    let fast = spec.kernel == (2, 2) && spec.stride == (2, 2) && spec.padding == (0, 0);
    if out_plane > 0 {
        out.as_mut_slice().par_chunks_mut(out_plane).zip(idx.par_chunks_mut(out_plane)).enumerate().for_each(
            |(p, (o, i))| {
                let src = &x[p * plane..(p + 1) * plane];
                if fast {
                    max_pool_2x2_plane(src, p * plane, spec, o, i)
                } else {
                    reference::max_pool2d_plane(src, p * plane, spec, o, i)
                }
            },
        );
    }
    (out, idx)
}

pub(crate) fn max_pool2d_backward(dy: &[f32], argmax: &[usize], spec: &Pool2dSpec) -> Buffer {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    // Each plane is zeroed by the task that fills it (in parallel, while it is in cache) rather
    // than the whole gradient up front on one thread.
    let mut dx = Buffer::uninit(spec.batch * spec.channels * plane);
    if plane > 0 {
        dx.as_mut_slice().par_chunks_mut(plane).enumerate().for_each(|(p, d)| {
            d.fill(0.0);
            let base = p * plane;
            let (dy, argmax) = (&dy[p * out_plane..(p + 1) * out_plane], &argmax[p * out_plane..(p + 1) * out_plane]);
            for (&g, &i) in dy.iter().zip(argmax) {
                if i != usize::MAX {
                    d[i - base] += g;
                }
            }
        });
    }
    dx
}

pub(crate) fn avg_pool2d(x: &[f32], spec: &Pool2dSpec) -> Buffer {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let mut out = Buffer::uninit(spec.batch * spec.channels * out_plane);
    if out_plane > 0 {
        out.as_mut_slice()
            .par_chunks_mut(out_plane)
            .enumerate()
            .for_each(|(p, o)| reference::avg_pool2d_plane(&x[p * plane..(p + 1) * plane], spec, o));
    }
    out
}

pub(crate) fn avg_pool2d_backward(dy: &[f32], spec: &Pool2dSpec) -> Buffer {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let mut dx = Buffer::zeroed(spec.batch * spec.channels * plane);
    if plane > 0 {
        dx.as_mut_slice()
            .par_chunks_mut(plane)
            .enumerate()
            .for_each(|(p, d)| reference::avg_pool2d_backward_plane(&dy[p * out_plane..(p + 1) * out_plane], spec, d));
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Convolution geometries around the stride-1 `same`-width fast paths: kernels 1 to 5, row
    /// padding from none to past the kernel, column padding (k − 1)/2 (the fast path) and others.
    fn geometries() -> Vec<Conv2dSpec> {
        let mut out = Vec::new();
        for (height, width) in [(1, 1), (3, 4), (6, 5), (2, 7)] {
            for k in [1, 2, 3, 5] {
                for pad_y in [0, (k - 1) / 2, k] {
                    for pad_x in [(k - 1) / 2, 0, k / 2 + 1] {
                        for stride in [(1, 1), (2, 1)] {
                            let spec = Conv2dSpec {
                                batch: 1,
                                in_channels: 2,
                                height,
                                width,
                                out_channels: 1,
                                kernel_h: k,
                                kernel_w: k,
                                stride,
                                padding: (pad_y, pad_x),
                            };
                            if height + 2 * pad_y >= k && width + 2 * pad_x >= k {
                                out.push(spec);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_and_col2im_fast_paths_match_the_reference() {
        let mut fast_paths = 0;
        for spec in geometries() {
            fast_paths += usize::from(spec.stride == (1, 1) && spec.out_w() == spec.width);
            let img: Vec<f32> = (0..2 * spec.height * spec.width).map(|i| i as f32 + 1.0).collect();
            let per = spec.patch_len() * spec.out_h() * spec.out_w();
            let mut cols = vec![f32::NAN; per];
            im2col_into(&img, &spec, &mut cols, spec.out_h() * spec.out_w(), 0);
            assert_eq!(cols, reference::im2col(&img, &spec), "im2col {spec:?}");

            let mut scratch: Vec<f32> = (0..per).map(|i| (i % 7) as f32 - 3.0).collect();
            let mut expected = vec![0.5; img.len()];
            reference::col2im_image(&scratch, &spec, &mut expected);
            let mut got = vec![0.5; img.len()];
            col2im_scratch(&mut scratch, spec.out_h() * spec.out_w(), 0, &spec, &mut got);
            assert_eq!(got, expected, "col2im {spec:?}");
        }
        assert!(fast_paths > 20, "only {fast_paths} geometries take the fast paths");
    }

    #[test]
    fn valid_ranges_match_a_brute_force_scan() {
        for out_len in 1..6 {
            for k in 0..4 {
                for stride in 1..4 {
                    for pad in 0..3 {
                        for in_len in 1..8 {
                            let ok: Vec<usize> = (0..out_len)
                                .filter(|&o| {
                                    let x = (o * stride + k) as isize - pad as isize;
                                    x >= 0 && (x as usize) < in_len
                                })
                                .collect();
                            let (lo, hi) = valid_range(out_len, k, stride, pad, in_len);
                            assert_eq!((lo..hi).collect::<Vec<_>>(), ok, "{out_len} {k} {stride} {pad} {in_len}");
                        }
                    }
                }
            }
        }
    }
}
