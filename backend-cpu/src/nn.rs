//! Convolution and pooling: im2col/col2im and pooling planes from `neurite_core::reference`, run in
//! parallel over images or planes. Convolution is im2col + the blocked matmul, one image per task,
//! so the column buffer of one image (not of the whole batch) is live per thread.

use neurite_core::backend::{Conv2dSpec, MatmulSpec, Pool2dSpec};
use neurite_core::reference;
use rayon::prelude::*;

use crate::matmul::matmul;

/// Runs `f` on each `(index, chunk)` of `out`, in parallel when there is more than one chunk.
fn per_chunk(out: &mut [f32], size: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
    if size == 0 {
        return;
    }
    if out.len() > size {
        out.par_chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    }
}

pub(crate) fn im2col(x: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let per = spec.patch_len() * spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let mut out = vec![0.0; spec.batch * per];
    per_chunk(&mut out, per, |n, cols| reference::im2col_image(&x[n * image..(n + 1) * image], spec, cols));
    out
}

pub(crate) fn col2im(cols: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let per = spec.patch_len() * spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let mut out = vec![0.0; spec.batch * image];
    per_chunk(&mut out, image, |n, img| reference::col2im_image(&cols[n * per..(n + 1) * per], spec, img));
    out
}

/// One image's product `weight[F, C·kh·kw] · cols[C·kh·kw, P]`, optionally with `weight` read
/// transposed.
fn image_product(weight: &[f32], cols: &[f32], m: usize, k: usize, n: usize, lhs_transposed: bool) -> Vec<f32> {
    let mut spec = MatmulSpec::plain(m, k, n);
    spec.lhs_transposed = lhs_transposed;
    matmul(weight, cols, spec)
}

pub(crate) fn conv2d(x: &[f32], weight: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let p = spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let per_out = spec.out_channels * p;
    let mut out = vec![0.0; spec.batch * per_out];
    per_chunk(&mut out, per_out, |n, y| {
        let mut cols = vec![0.0; spec.patch_len() * p];
        reference::im2col_image(&x[n * image..(n + 1) * image], spec, &mut cols);
        y.copy_from_slice(&image_product(weight, &cols, spec.out_channels, spec.patch_len(), p, false));
    });
    out
}

pub(crate) fn conv2d_backward_input(dy: &[f32], weight: &[f32], spec: &Conv2dSpec) -> Vec<f32> {
    let p = spec.out_h() * spec.out_w();
    let image = spec.in_channels * spec.height * spec.width;
    let per_out = spec.out_channels * p;
    let mut dx = vec![0.0; spec.batch * image];
    per_chunk(&mut dx, image, |n, img| {
        let dcols =
            image_product(weight, &dy[n * per_out..(n + 1) * per_out], spec.patch_len(), spec.out_channels, p, true);
        reference::col2im_image(&dcols, spec, img);
    });
    dx
}

pub(crate) fn max_pool2d(x: &[f32], spec: &Pool2dSpec) -> (Vec<f32>, Vec<usize>) {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let planes = spec.batch * spec.channels;
    let mut out = vec![0.0; planes * out_plane];
    let mut idx = vec![0usize; planes * out_plane];
    if out_plane == 0 {
        return (out, idx);
    }
    let body = |(p, (o, i)): (usize, (&mut [f32], &mut [usize]))| {
        reference::max_pool2d_plane(&x[p * plane..(p + 1) * plane], p * plane, spec, o, i);
    };
    if planes > 1 {
        out.par_chunks_mut(out_plane).zip(idx.par_chunks_mut(out_plane)).enumerate().for_each(body);
    } else {
        out.chunks_mut(out_plane).zip(idx.chunks_mut(out_plane)).enumerate().for_each(body);
    }
    (out, idx)
}

pub(crate) fn avg_pool2d(x: &[f32], spec: &Pool2dSpec) -> Vec<f32> {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let mut out = vec![0.0; spec.batch * spec.channels * out_plane];
    per_chunk(&mut out, out_plane, |p, o| reference::avg_pool2d_plane(&x[p * plane..(p + 1) * plane], spec, o));
    out
}

pub(crate) fn avg_pool2d_backward(dy: &[f32], spec: &Pool2dSpec) -> Vec<f32> {
    let plane = spec.height * spec.width;
    let out_plane = spec.out_h() * spec.out_w();
    let mut dx = vec![0.0; spec.batch * spec.channels * plane];
    per_chunk(&mut dx, plane, |p, d| {
        reference::avg_pool2d_backward_plane(&dy[p * out_plane..(p + 1) * out_plane], spec, d)
    });
    dx
}
