//! Portable single-threaded kernels on slices: the default bodies of `Backend` kernels, and the
//! reference a new backend can start from or be compared with. Written for clarity, not speed;
//! backends override the hot ones.

use crate::backend::{BatchNormSpec, BiasAct, Conv2dSpec};
use crate::backend::{BinaryOp, MatmulSpec, Pool2dSpec, REDUCE_CHUNK, ReduceOp, UnaryOp};
use crate::shape::{Shape, broadcast_offsets};

/// `op` on every element.
pub fn unary(op: UnaryOp, x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| op.apply(v)).collect()
}

/// `op` on broadcast pairs.
///
/// # Panics
/// If the shapes do not broadcast.
pub fn binary(op: BinaryOp, a: &[f32], a_shape: &Shape, b: &[f32], b_shape: &Shape) -> Vec<f32> {
    let out = Shape::broadcast(a_shape, b_shape).expect("binary: shapes checked by the caller");
    let sa = a_shape.broadcast_strides(&out);
    let sb = b_shape.broadcast_strides(&out);
    broadcast_offsets(&out, &sa).zip(broadcast_offsets(&out, &sb)).map(|(i, j)| op.apply(a[i], b[j])).collect()
}

/// `cond != 0 ? a : b` with broadcasting to `out`.
pub fn where_select(cond: (&[f32], &Shape), a: (&[f32], &Shape), b: (&[f32], &Shape), out: &Shape) -> Vec<f32> {
    let sc = cond.1.broadcast_strides(out);
    let sa = a.1.broadcast_strides(out);
    let sb = b.1.broadcast_strides(out);
    broadcast_offsets(out, &sc)
        .zip(broadcast_offsets(out, &sa))
        .zip(broadcast_offsets(out, &sb))
        .map(|((c, i), j)| if cond.0[c] != 0.0 { a.0[i] } else { b.0[j] })
        .collect()
}

/// The (batched) product of `spec`, one dot product per output, summed in order of `k`.
pub fn matmul(lhs: &[f32], rhs: &[f32], spec: MatmulSpec) -> Vec<f32> {
    let MatmulSpec { batch, m, k, n, .. } = spec;
    let (lr, lc) = spec.lhs_strides();
    let (rr, rc) = spec.rhs_strides();
    let mut out = vec![0.0; batch * m * n];
    for b in 0..batch {
        let l = &lhs[b * spec.lhs_stride()..];
        let r = &rhs[b * spec.rhs_stride()..];
        for i in 0..m {
            for j in 0..n {
                let mut acc = 0.0f32;
                for p in 0..k {
                    acc += l[i * lr + p * lc] * r[p * rr + j * rc];
                }
                out[(b * m + i) * n + j] = acc;
            }
        }
    }
    out
}

/// Sums `values` in chunks of [`REDUCE_CHUNK`], then sums the chunk totals: the order every
/// backend follows so that long sums agree bit for bit at any thread count.
pub fn chunked_sum(values: impl ExactSizeIterator<Item = f32>) -> f32 {
    let mut total = 0.0f32;
    let mut chunk = 0.0f32;
    for (i, v) in values.enumerate() {
        chunk += v;
        if (i + 1) % REDUCE_CHUNK == 0 {
            total += chunk;
            chunk = 0.0;
        }
    }
    total + chunk
}

/// Reduces one lane of `len` values read at `start + i·stride`.
pub fn reduce_lane(op: ReduceOp, x: &[f32], start: usize, stride: usize, len: usize) -> f32 {
    let lane = (0..len).map(|i| x[start + i * stride]);
    match op {
        ReduceOp::Sum => chunked_sum(lane),
        ReduceOp::Mean => chunked_sum(lane) / len as f32,
        ReduceOp::Max => lane.fold(f32::NEG_INFINITY, f32::max),
        ReduceOp::Min => lane.fold(f32::INFINITY, f32::min),
        ReduceOp::ArgMax | ReduceOp::ArgMin => {
            let mut best = 0usize;
            let mut best_value = if len > 0 { x[start] } else { 0.0 };
            for (i, v) in lane.enumerate() {
                let better = if op == ReduceOp::ArgMax { v > best_value } else { v < best_value };
                // A NaN wins so that it is never hidden by the argmax.
                if better || (v.is_nan() && !best_value.is_nan()) {
                    best = i;
                    best_value = v;
                }
            }
            best as f32
        }
    }
}

/// Reduces along `axis`; the output drops that axis.
pub fn reduce(op: ReduceOp, x: &[f32], shape: &Shape, axis: usize) -> Vec<f32> {
    let (outer, len, inner) = shape.split_at_axis(axis);
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            out.push(reduce_lane(op, x, o * len * inner + i, inner, len));
        }
    }
    out
}

/// Softmax (or log-softmax) of one row, in place, max subtracted first.
pub fn softmax_row(row: &mut [f32], log: bool) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if row.is_empty() {
        return;
    }
    // A row of −∞ has no defined softmax; keep it finite-free rather than produce NaN from ∞ − ∞.
    let shift = if max.is_finite() { max } else { 0.0 };
    if log {
        let sum = chunked_sum(row.iter().map(|&v| (v - shift).exp()));
        let log_sum = sum.ln();
        for v in row.iter_mut() {
            *v = *v - shift - log_sum;
        }
    } else {
        for v in row.iter_mut() {
            *v = (*v - shift).exp();
        }
        let sum = chunked_sum(row.iter().copied());
        let inv = 1.0 / sum;
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

/// Row-wise softmax or log-softmax of a `[rows, cols]` buffer.
pub fn softmax_rows(x: &[f32], rows: usize, cols: usize, log: bool) -> Vec<f32> {
    let mut out = x.to_vec();
    if cols > 0 {
        for row in out.chunks_mut(cols).take(rows) {
            softmax_row(row, log);
        }
    }
    out
}

/// Output axis `i` is input axis `axes[i]`.
pub fn permute(x: &[f32], shape: &Shape, axes: &[usize]) -> Vec<f32> {
    let out_shape = Shape::new(axes.iter().map(|&a| shape.dim(a)).collect::<Vec<_>>());
    let in_strides = shape.strides();
    let strides: Vec<usize> = axes.iter().map(|&a| in_strides[a]).collect();
    broadcast_offsets(&out_shape, &strides).map(|i| x[i]).collect()
}

/// `x` repeated along broadcast dimensions to `out`.
pub fn broadcast_to(x: &[f32], shape: &Shape, out: &Shape) -> Vec<f32> {
    let strides = shape.broadcast_strides(out);
    broadcast_offsets(out, &strides).map(|i| x[i]).collect()
}

/// The block `starts..ends` along every axis.
pub fn slice(x: &[f32], shape: &Shape, starts: &[usize], ends: &[usize]) -> Vec<f32> {
    let out_shape = Shape::new(starts.iter().zip(ends).map(|(s, e)| e - s).collect::<Vec<_>>());
    let strides = shape.strides();
    let base: usize = starts.iter().zip(&strides).map(|(s, st)| s * st).sum();
    broadcast_offsets(&out_shape, &strides).map(|i| x[base + i]).collect()
}

/// `x` surrounded by `value` cells.
pub fn pad(x: &[f32], shape: &Shape, before: &[usize], after: &[usize], value: f32) -> Vec<f32> {
    let out_dims: Vec<usize> = (0..shape.rank()).map(|i| before[i] + shape.dim(i) + after[i]).collect();
    let out_shape = Shape::new(out_dims);
    let mut out = vec![value; out_shape.numel()];
    let out_strides = out_shape.strides();
    let base: usize = before.iter().zip(&out_strides).map(|(b, st)| b * st).sum();
    for (src, dst) in broadcast_offsets(shape, &out_strides).enumerate() {
        out[base + dst] = x[src];
    }
    out
}

/// Joins parts along `axis`.
pub fn concat(parts: &[(&[f32], &Shape)], axis: usize) -> Vec<f32> {
    let Some((_, first)) = parts.first() else {
        return Vec::new();
    };
    let outer: usize = first.dims()[..axis].iter().product();
    let total: usize = parts.iter().map(|(d, _)| d.len()).sum();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (data, shape) in parts {
            let block = shape.dims()[axis..].iter().product::<usize>();
            out.extend_from_slice(&data[o * block..(o + 1) * block]);
        }
    }
    out
}

/// Reverses `axes`.
pub fn flip(x: &[f32], shape: &Shape, axes: &[usize]) -> Vec<f32> {
    let strides = shape.strides();
    let dims = shape.dims();
    let mut out = Vec::with_capacity(x.len());
    let mut index = vec![0usize; shape.rank()];
    for _ in 0..shape.numel() {
        let mut offset = 0;
        for d in 0..shape.rank() {
            let i = if axes.contains(&d) { dims[d] - 1 - index[d] } else { index[d] };
            offset += i * strides[d];
        }
        out.push(x[offset]);
        for d in (0..shape.rank()).rev() {
            index[d] += 1;
            if index[d] < dims[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

/// Picks `indices` along `axis`.
pub fn index_select(x: &[f32], shape: &Shape, axis: usize, indices: &[usize]) -> Vec<f32> {
    let (outer, len, inner) = shape.split_at_axis(axis);
    let mut out = Vec::with_capacity(outer * indices.len() * inner);
    for o in 0..outer {
        for &i in indices {
            let start = (o * len + i) * inner;
            out.extend_from_slice(&x[start..start + inner]);
        }
    }
    out
}

/// Adds slices of `src` along `axis` into a zero tensor whose `axis` has length `len`.
pub fn index_add(src: &[f32], src_shape: &Shape, axis: usize, indices: &[usize], len: usize) -> Vec<f32> {
    let (outer, n, inner) = src_shape.split_at_axis(axis);
    let mut out = vec![0.0; outer * len * inner];
    for o in 0..outer {
        for (k, &i) in indices.iter().enumerate().take(n) {
            let s = (o * n + k) * inner;
            let d = (o * len + i) * inner;
            for t in 0..inner {
                out[d + t] += src[s + t];
            }
        }
    }
    out
}

/// PyTorch's `gather` along `axis`.
pub fn gather(x: &[f32], shape: &Shape, axis: usize, index: &[f32], index_shape: &Shape) -> Vec<f32> {
    let (outer, len, inner) = shape.split_at_axis(axis);
    let (_, ilen, _) = index_shape.split_at_axis(axis);
    let mut out = Vec::with_capacity(index.len());
    for o in 0..outer {
        for k in 0..ilen {
            for t in 0..inner {
                let i = index[(o * ilen + k) * inner + t] as usize;
                out.push(x[(o * len + i) * inner + t]);
            }
        }
    }
    out
}

/// The adjoint of [`gather`].
pub fn scatter_add(src: &[f32], index: &[f32], index_shape: &Shape, axis: usize, out_shape: &Shape) -> Vec<f32> {
    let (outer, len, inner) = out_shape.split_at_axis(axis);
    let (_, ilen, _) = index_shape.split_at_axis(axis);
    let mut out = vec![0.0; out_shape.numel()];
    for o in 0..outer {
        for k in 0..ilen {
            for t in 0..inner {
                let s = (o * ilen + k) * inner + t;
                let i = index[s] as usize;
                out[(o * len + i) * inner + t] += src[s];
            }
        }
    }
    out
}

/// One-hot rows.
pub fn one_hot(indices: &[f32], classes: usize) -> Vec<f32> {
    let mut out = vec![0.0; indices.len() * classes];
    for (row, &i) in indices.iter().enumerate() {
        out[row * classes + i as usize] = 1.0;
    }
    out
}

/// The input offset that column-matrix entry (row `r`, output position `(oy, ox)`) of image `n`
/// reads, or `None` in the padding.
#[inline]
fn im2col_source(spec: &Conv2dSpec, c: usize, ky: usize, kx: usize, oy: usize, ox: usize) -> Option<usize> {
    let y = (oy * spec.stride.0 + ky).checked_sub(spec.padding.0)?;
    let x = (ox * spec.stride.1 + kx).checked_sub(spec.padding.1)?;
    (y < spec.height && x < spec.width).then(|| (c * spec.height + y) * spec.width + x)
}

/// Unfolds images into column matrices (see `Backend::im2col`).
pub fn im2col(x: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let image = spec.in_channels * spec.height * spec.width;
    let mut out = vec![0.0; spec.batch * spec.patch_len() * oh * ow];
    for (n, cols) in out.chunks_mut((spec.patch_len() * oh * ow).max(1)).enumerate().take(spec.batch) {
        im2col_image(&x[n * image..(n + 1) * image], spec, cols);
    }
    out
}

/// Unfolds one image `[C, H, W]` into `cols` (`[C·kh·kw, out_h·out_w]`).
pub fn im2col_image(img: &[f32], spec: &Conv2dSpec, cols: &mut [f32]) {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let mut r = 0;
    for c in 0..spec.in_channels {
        for ky in 0..spec.kernel_h {
            for kx in 0..spec.kernel_w {
                let row = &mut cols[r * oh * ow..(r + 1) * oh * ow];
                for oy in 0..oh {
                    for ox in 0..ow {
                        row[oy * ow + ox] = im2col_source(spec, c, ky, kx, oy, ox).map_or(0.0, |i| img[i]);
                    }
                }
                r += 1;
            }
        }
    }
}

/// Folds column matrices back into images, summing overlaps.
pub fn col2im(cols: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let image = spec.in_channels * spec.height * spec.width;
    let mut out = vec![0.0; spec.batch * image];
    for (n, img) in out.chunks_mut(image.max(1)).enumerate().take(spec.batch) {
        let per = spec.patch_len() * oh * ow;
        col2im_image(&cols[n * per..(n + 1) * per], spec, img);
    }
    out
}

/// Folds one column matrix into one image `[C, H, W]` (which it adds to).
pub fn col2im_image(cols: &[f32], spec: &Conv2dSpec, img: &mut [f32]) {
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let mut r = 0;
    for c in 0..spec.in_channels {
        for ky in 0..spec.kernel_h {
            for kx in 0..spec.kernel_w {
                let row = &cols[r * oh * ow..(r + 1) * oh * ow];
                for oy in 0..oh {
                    for ox in 0..ow {
                        if let Some(i) = im2col_source(spec, c, ky, kx, oy, ox) {
                            img[i] += row[oy * ow + ox];
                        }
                    }
                }
                r += 1;
            }
        }
    }
}

/// Visits the in-bounds input offsets (within one plane) of pooling window `(oy, ox)`.
fn pool_window(spec: &Pool2dSpec, oy: usize, ox: usize, mut visit: impl FnMut(usize)) {
    for ky in 0..spec.kernel.0 {
        let Some(y) = (oy * spec.stride.0 + ky).checked_sub(spec.padding.0) else { continue };
        if y >= spec.height {
            continue;
        }
        for kx in 0..spec.kernel.1 {
            let Some(x) = (ox * spec.stride.1 + kx).checked_sub(spec.padding.1) else { continue };
            if x < spec.width {
                visit(y * spec.width + x);
            }
        }
    }
}

/// Max pooling of one plane `[H, W]` into `out` and `argmax` (offsets within `x`'s whole buffer,
/// given the plane's start `base`).
pub fn max_pool2d_plane(plane: &[f32], base: usize, spec: &Pool2dSpec, out: &mut [f32], argmax: &mut [usize]) {
    let ow = spec.out_w();
    for oy in 0..spec.out_h() {
        for ox in 0..ow {
            let mut best = f32::NEG_INFINITY;
            let mut best_i = usize::MAX;
            pool_window(spec, oy, ox, |i| {
                let v = plane[i];
                if best_i == usize::MAX || v > best || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    best_i = i;
                }
            });
            out[oy * ow + ox] = best;
            argmax[oy * ow + ox] = if best_i == usize::MAX { usize::MAX } else { base + best_i };
        }
    }
}

/// Max pooling with the winners' flat input indices.
pub fn max_pool2d(x: &[f32], spec: &Pool2dSpec) -> (Vec<f32>, Vec<usize>) {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let planes = spec.batch * spec.channels;
    let mut out = vec![0.0; planes * out_plane];
    let mut idx = vec![0usize; planes * out_plane];
    for p in 0..planes {
        max_pool2d_plane(
            &x[p * plane..(p + 1) * plane],
            p * plane,
            spec,
            &mut out[p * out_plane..(p + 1) * out_plane],
            &mut idx[p * out_plane..(p + 1) * out_plane],
        );
    }
    (out, idx)
}

/// `act(x + bias[c])` over `x` as `[outer, channels, inner]`.
pub fn bias_act(x: &[f32], bias: &[f32], channels: usize, inner: usize, act: BiasAct) -> Vec<f32> {
    let mut out = x.to_vec();
    for row in out.chunks_mut((channels * inner).max(1)) {
        for (plane, &b) in row.chunks_mut(inner.max(1)).zip(bias) {
            for v in plane {
                *v = act.apply(*v + b);
            }
        }
    }
    out
}

/// The gradients of [`bias_act`] from its output and output gradient: `dz = dy·act′`, and the
/// bias gradient, summed per `(outer, channel)` over `inner` first, then over `outer` in order.
pub fn bias_act_backward(y: &[f32], dy: &[f32], channels: usize, inner: usize, act: BiasAct) -> (Vec<f32>, Vec<f32>) {
    let dz: Vec<f32> = y.iter().zip(dy).map(|(&y, &g)| g * act.derivative_from_output(y)).collect();
    let mut db = vec![0.0; channels];
    for row in dz.chunks((channels * inner).max(1)) {
        for (d, plane) in db.iter_mut().zip(row.chunks(inner.max(1))) {
            *d += chunked_sum(plane.iter().copied());
        }
    }
    (dz, db)
}

/// The rows `x[n, c, ..]` of channel `c` of a `[outer, channels, inner]` buffer, in order of n.
fn channel_rows<'a>(x: &'a [f32], spec: &BatchNormSpec, c: usize) -> impl Iterator<Item = &'a [f32]> {
    let (channels, inner) = (spec.channels, spec.inner);
    (0..spec.outer).map(move |n| &x[(n * channels + c) * inner..(n * channels + c + 1) * inner])
}

/// Batch normalisation and its activation (see [`crate::Backend::batch_norm`]): each channel's
/// mean and variance by two passes (the variance from values with the mean taken away), each sum
/// over its rows in order, each row summed by [`chunked_sum`].
pub fn batch_norm(x: &[f32], gamma: &[f32], beta: &[f32], spec: &BatchNormSpec) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = spec.count().max(1) as f32;
    let mut mean = vec![0.0; spec.channels];
    let mut var = vec![0.0; spec.channels];
    for c in 0..spec.channels {
        let m = channel_rows(x, spec, c).map(|row| chunked_sum(row.iter().copied())).sum::<f32>() / count;
        let squares = channel_rows(x, spec, c).map(|row| chunked_sum(row.iter().map(|&v| (v - m) * (v - m))));
        (mean[c], var[c]) = (m, squares.sum::<f32>() / count);
    }
    let mut y = x.to_vec();
    for (i, row) in y.chunks_mut(spec.inner.max(1)).enumerate() {
        let c = i % spec.channels.max(1);
        let scale = gamma[c] * spec.inv_std(var[c]);
        for v in row {
            *v = spec.act.apply((*v - mean[c]) * scale + beta[c]);
        }
    }
    (y, mean, var)
}

/// The gradients of [`batch_norm`]: with dz = dy·act′ (from y), x̂ = (x − μ)/√(σ² + ε) and M
/// values per channel, dβ = Σ dz, dγ = Σ dz·x̂, and dx = γ/√(σ² + ε)·(dz − dβ/M − x̂·dγ/M).
pub fn batch_norm_backward(
    (x, y, dy): (&[f32], &[f32], &[f32]),
    gamma: &[f32],
    (mean, var): (&[f32], &[f32]),
    spec: &BatchNormSpec,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = spec.count().max(1) as f32;
    let act = spec.act;
    let mut dgamma = vec![0.0; spec.channels];
    let mut dbeta = vec![0.0; spec.channels];
    for c in 0..spec.channels {
        let inv_std = spec.inv_std(var[c]);
        let rows = channel_rows(x, spec, c).zip(channel_rows(y, spec, c)).zip(channel_rows(dy, spec, c));
        for ((x, y), dy) in rows {
            let dz = || y.iter().zip(dy).map(|(&y, &g)| g * act.derivative_from_output(y));
            dbeta[c] += chunked_sum(dz());
            dgamma[c] += chunked_sum(dz().zip(x).map(|(dz, &x)| dz * (x - mean[c]) * inv_std));
        }
    }
    let mut dx = vec![0.0; x.len()];
    for (i, row) in dx.chunks_mut(spec.inner.max(1)).enumerate() {
        let c = i % spec.channels.max(1);
        let inv_std = spec.inv_std(var[c]);
        let at = i * spec.inner;
        for (j, d) in row.iter_mut().enumerate() {
            let dz = dy[at + j] * act.derivative_from_output(y[at + j]);
            let x_hat = (x[at + j] - mean[c]) * inv_std;
            *d = gamma[c] * inv_std * (dz - dbeta[c] / count - x_hat * dgamma[c] / count);
        }
    }
    (dx, dgamma, dbeta)
}

/// Routes each output gradient to its window's winner.
pub fn max_pool2d_backward(dy: &[f32], argmax: &[usize], spec: &Pool2dSpec) -> Vec<f32> {
    let mut dx = vec![0.0; spec.batch * spec.channels * spec.height * spec.width];
    for (&g, &i) in dy.iter().zip(argmax) {
        if i != usize::MAX {
            dx[i] += g;
        }
    }
    dx
}

/// Average pooling of one plane.
pub fn avg_pool2d_plane(plane: &[f32], spec: &Pool2dSpec, out: &mut [f32]) {
    let ow = spec.out_w();
    let area = (spec.kernel.0 * spec.kernel.1) as f32;
    for oy in 0..spec.out_h() {
        for ox in 0..ow {
            let mut sum = 0.0;
            pool_window(spec, oy, ox, |i| sum += plane[i]);
            out[oy * ow + ox] = sum / area;
        }
    }
}

/// Average pooling (divisor kh·kw).
pub fn avg_pool2d(x: &[f32], spec: &Pool2dSpec) -> Vec<f32> {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let planes = spec.batch * spec.channels;
    let mut out = vec![0.0; planes * out_plane];
    for p in 0..planes {
        avg_pool2d_plane(&x[p * plane..(p + 1) * plane], spec, &mut out[p * out_plane..(p + 1) * out_plane]);
    }
    out
}

/// Gradient of average pooling for one plane, added into `dx`.
pub fn avg_pool2d_backward_plane(dy: &[f32], spec: &Pool2dSpec, dx: &mut [f32]) {
    let ow = spec.out_w();
    let area = (spec.kernel.0 * spec.kernel.1) as f32;
    for oy in 0..spec.out_h() {
        for ox in 0..ow {
            let g = dy[oy * ow + ox] / area;
            pool_window(spec, oy, ox, |i| dx[i] += g);
        }
    }
}

/// Gradient of average pooling.
pub fn avg_pool2d_backward(dy: &[f32], spec: &Pool2dSpec) -> Vec<f32> {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let planes = spec.batch * spec.channels;
    let mut dx = vec![0.0; planes * plane];
    for p in 0..planes {
        avg_pool2d_backward_plane(&dy[p * out_plane..(p + 1) * out_plane], spec, &mut dx[p * plane..(p + 1) * plane]);
    }
    dx
}

/// A backend made only of the portable kernels above: single-threaded and obviously correct.
/// Core's own tests run on it; it shows how little a new backend must write, and gives other
/// backends a second opinion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReferenceBackend;

impl crate::backend::Backend for ReferenceBackend {
    type Storage = Vec<f32>;

    fn name() -> &'static str {
        "reference"
    }

    fn from_vec(data: Vec<f32>) -> Vec<f32> {
        data
    }

    fn as_slice(x: &Vec<f32>) -> &[f32] {
        x
    }

    fn as_mut_slice(x: &mut Vec<f32>) -> &mut [f32] {
        x
    }

    fn unary(op: UnaryOp, x: &Vec<f32>) -> Vec<f32> {
        unary(op, x)
    }

    fn binary(op: BinaryOp, lhs: &Vec<f32>, lhs_shape: &Shape, rhs: &Vec<f32>, rhs_shape: &Shape) -> Vec<f32> {
        binary(op, lhs, lhs_shape, rhs, rhs_shape)
    }

    fn matmul(lhs: &Vec<f32>, rhs: &Vec<f32>, spec: MatmulSpec) -> Vec<f32> {
        matmul(lhs, rhs, spec)
    }

    fn reduce(op: ReduceOp, x: &Vec<f32>, shape: &Shape, axis: usize) -> Vec<f32> {
        reduce(op, x, shape, axis)
    }

    fn im2col(x: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        im2col(x, spec)
    }

    fn col2im(cols: &Vec<f32>, spec: &Conv2dSpec) -> Vec<f32> {
        col2im(cols, spec)
    }
}
