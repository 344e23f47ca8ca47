//! Convolution and pooling. Convolution groups images into chunks whose column matrices sit side
//! by side (`[C·kh·kw, G·P]` for G images of P output pixels), so each chunk is one wide sgemm;
//! chunks run in parallel and their weight gradients are summed in chunk order. Pooling runs the
//! core reference kernels plane by plane in parallel.

use neurite_core::backend::{Conv2dSpec, Pool2dSpec};
use neurite_core::reference;
use rayon::prelude::*;

use crate::buffer::Buffer;
use crate::gemm::{self, Operand};

/// Column-matrix values per chunk we aim for (about 4 MB).
const CHUNK_VALUES: usize = 1 << 20;

/// Images per chunk: a function of the geometry only, so results do not depend on threads.
fn images_per_chunk(spec: &Conv2dSpec) -> usize {
    let per_image = (spec.patch_len() * spec.out_h() * spec.out_w()).max(1);
    (CHUNK_VALUES / per_image).clamp(1, spec.batch.max(1))
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
                    if s.1 == 1 {
                        let x0 = x_lo + kx - p.1;
                        dst[x_lo..x_hi].copy_from_slice(&src[x0..x0 + (x_hi - x_lo)]);
                    } else {
                        for ox in x_lo..x_hi {
                            dst[ox] = src[ox * s.1 + kx - p.1];
                        }
                    }
                }
                r += 1;
            }
        }
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
    let mut out = Buffer::zeroed(spec.batch * image);
    if image > 0 {
        out.as_mut_slice().par_chunks_mut(image).enumerate().for_each(|(n, img)| {
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
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let mut y = Buffer::uninit(spec.batch * f * p);
    let g = images_per_chunk(spec);
    if y.is_empty() {
        return y;
    }
    y.as_mut_slice().par_chunks_mut(g * f * p).enumerate().for_each(|(c, y_chunk)| {
        let n0 = c * g;
        let gi = y_chunk.len() / (f * p);
        let cols = chunk_cols(x, spec, n0, gi);
        let mut out = Buffer::uninit(f * gi * p);
        let out = out.as_mut_slice();
        gemm::sgemm(
            f,
            kk,
            gi * p,
            Operand::new(w, f, kk, false),
            Operand::new(cols.as_slice(), kk, gi * p, false),
            out,
        );
        // [F, g·P] → [g, F, P]
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
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let image = spec.in_channels * spec.height * spec.width;
    let g = images_per_chunk(spec);
    let mut dx = Buffer::zeroed(spec.batch * image);
    if dx.is_empty() {
        return dx;
    }
    dx.as_mut_slice().par_chunks_mut(g * image).enumerate().for_each(|(c, dx_chunk)| {
        let n0 = c * g;
        let gi = dx_chunk.len() / image;
        let dyc = chunk_dy(dy, spec, n0, gi);
        let mut dcols = Buffer::uninit(kk * gi * p);
        // dcols = Wᵀ·dy, with W read transposed through strides.
        let wt = Operand::new(w, kk, f, true);
        gemm::sgemm(kk, f, gi * p, wt, Operand::new(dyc.as_slice(), f, gi * p, false), dcols.as_mut_slice());
        for i in 0..gi {
            col2im_from(dcols.as_slice(), gi * p, i * p, spec, &mut dx_chunk[i * image..(i + 1) * image]);
        }
    });
    dx
}

pub(crate) fn conv2d_backward_weight(x: &[f32], dy: &[f32], spec: &Conv2dSpec) -> Buffer {
    let p = spec.out_h() * spec.out_w();
    let (f, kk) = (spec.out_channels, spec.patch_len());
    let g = images_per_chunk(spec);
    let chunks = spec.batch.div_ceil(g);
    // One partial dW per chunk, summed in chunk order.
    let partials: Vec<Vec<f32>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let n0 = c * g;
            let gi = g.min(spec.batch - n0);
            let cols = chunk_cols(x, spec, n0, gi);
            let dyc = chunk_dy(dy, spec, n0, gi);
            let mut dw = vec![0.0; f * kk];
            gemm::sgemm(
                f,
                gi * p,
                kk,
                Operand::new(dyc.as_slice(), f, gi * p, false),
                Operand::new(cols.as_slice(), gi * p, kk, true),
                &mut dw,
            );
            dw
        })
        .collect();
    let mut dw = Buffer::zeroed(f * kk);
    for part in &partials {
        crate::arch::add_assign(dw.as_mut_slice(), part);
    }
    dw
}

/// 2×2 windows with stride 2 and no padding (the common case), without the general window walk.
/// Same winners as the reference: the first of equal values in row-major window order, and a
/// NaN wins.
fn max_pool_2x2_plane(plane: &[f32], base: usize, spec: &Pool2dSpec, out: &mut [f32], argmax: &mut [usize]) {
    let (w, ow) = (spec.width, spec.out_w());
    for oy in 0..spec.out_h() {
        let r0 = 2 * oy * w;
        for ox in 0..ow {
            let i0 = r0 + 2 * ox;
            let mut best_i = i0;
            let mut best = plane[i0];
            for i in [i0 + 1, i0 + w, i0 + w + 1] {
                let v = plane[i];
                if v > best || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    best_i = i;
                }
            }
            out[oy * ow + ox] = best;
            argmax[oy * ow + ox] = base + best_i;
        }
    }
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
    let mut dx = Buffer::zeroed(spec.batch * spec.channels * plane);
    if plane > 0 && out_plane > 0 {
        dx.as_mut_slice().par_chunks_mut(plane).enumerate().for_each(|(p, d)| {
            let base = p * plane;
            for (&g, &i) in
                dy[p * out_plane..(p + 1) * out_plane].iter().zip(&argmax[p * out_plane..(p + 1) * out_plane])
            {
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
