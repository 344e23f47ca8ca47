//! Direct convolution for stride 1, without im2col: each image is copied once into zero-padded
//! channel planes, and every output is a sum over channels and kernel taps of the plane read at a
//! shifted position. Flattening the padded plane makes each tap a fixed offset (`ky·W' + kx`,
//! with W' the padded width), so a block of 16 consecutive outputs reads 16 consecutive inputs per
//! tap: the AVX2 block kernel (`arch::conv_block`) keeps 6 filters × 16 outputs in registers for
//! the whole sum. The flattened rows include W' − W_out positions past each row's end, which are
//! computed and dropped when the result is copied out.
//!
//! The input gradient of a stride-1 convolution is itself one: the output gradient convolved
//! with the kernel turned by 180° and its input and output channels swapped, padded by k − 1 − p.
//! So both run here, and neither needs col2im.
//!
//! Every output value is one sum in a fixed order (channels, then taps), computed by one task per
//! image: the bits do not depend on the thread count.

use neurite_core::backend::Conv2dSpec;
use rayon::prelude::*;

use crate::arch::{self, CONV_FILTERS, CONV_PIXELS};
use crate::buffer::Buffer;

/// Whether a convolution runs here: stride 1, the AVX2 kernels available (the scalar level keeps
/// im2col + sgemm, whose scalar path is the faster of the two there), and not turned off with
/// `NEURITE_CONV=im2col`. Measured on ResNet-20's and the MNIST CNN's layers (see `conv.rs`).
pub(crate) fn applies(spec: &Conv2dSpec) -> bool {
    static IM2COL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let forced = *IM2COL.get_or_init(|| std::env::var("NEURITE_CONV").is_ok_and(|v| v.eq_ignore_ascii_case("im2col")));
    !forced && spec.stride == (1, 1) && arch::level() == arch::Level::Avx2
}

/// Whether the input gradient of `spec` is a direct convolution: as [`applies`], and padding of
/// at most k − 1 (so that the turned kernel's padding k − 1 − p is not negative).
pub(crate) fn applies_backward(spec: &Conv2dSpec) -> bool {
    applies(spec) && spec.padding.0 < spec.kernel_h && spec.padding.1 < spec.kernel_w
}

/// The geometry of one image's padded planes and flattened outputs.
struct Plan {
    /// Padded row width W + 2·pw.
    row: usize,
    /// Flattened outputs per filter, out_h·row rounded up to whole blocks.
    positions: usize,
    /// Values per padded input plane, with room for the last block's furthest tap.
    plane: usize,
    /// Each tap's offset ky·row + kx.
    offsets: Vec<usize>,
    /// Filters rounded up to whole blocks.
    filters: usize,
}

impl Plan {
    fn new(spec: &Conv2dSpec) -> Plan {
        let row = spec.width + 2 * spec.padding.1;
        let rows = spec.height + 2 * spec.padding.0;
        let positions = (spec.out_h() * row).next_multiple_of(CONV_PIXELS);
        let offsets: Vec<usize> =
            (0..spec.kernel_h).flat_map(|ky| (0..spec.kernel_w).map(move |kx| ky * row + kx)).collect();
        let far = offsets.iter().max().copied().unwrap_or(0);
        let plane = (rows * row).max(positions + far);
        Plan { row, positions, plane, offsets, filters: spec.out_channels.next_multiple_of(CONV_FILTERS) }
    }
}

/// `[F, C, kh, kw]` weights as the block kernel reads them: `[F/6][C][kh·kw][6]`, zeros for the
/// filters past F.
fn pack_weights(w: &[f32], spec: &Conv2dSpec, filters: usize) -> Buffer {
    let (f, c, taps) = (spec.out_channels, spec.in_channels, spec.kernel_h * spec.kernel_w);
    let mut packed = Buffer::uninit(filters * c * taps);
    for (block, out) in packed.as_mut_slice().chunks_exact_mut(c * taps * CONV_FILTERS).enumerate() {
        for (k, v) in out.iter_mut().enumerate() {
            let (ct, i) = (k / CONV_FILTERS, k % CONV_FILTERS);
            let fi = block * CONV_FILTERS + i;
            *v = if fi < f { w[fi * c * taps + ct] } else { 0.0 };
        }
    }
    packed
}

/// Cross-correlation of `x` with `w` as `spec` describes (stride 1).
pub(crate) fn conv2d(x: &[f32], w: &[f32], spec: &Conv2dSpec) -> Buffer {
    let plan = Plan::new(spec);
    let packed = pack_weights(w, spec, plan.filters);
    let (c, h, width) = (spec.in_channels, spec.height, spec.width);
    let (f, oh, ow) = (spec.out_channels, spec.out_h(), spec.out_w());
    let (ph, pw) = spec.padding;
    let image = c * h * width;
    let mut y = Buffer::uninit(spec.batch * f * oh * ow);
    if y.is_empty() {
        return y;
    }
    let weights_per_block = c * plan.offsets.len() * CONV_FILTERS;
    y.as_mut_slice().par_chunks_mut(f * oh * ow).enumerate().for_each(|(n, y_image)| {
        // The image in zero-padded planes.
        let mut planes = Buffer::uninit(c * plan.plane);
        let planes = planes.as_mut_slice();
        planes.fill(0.0);
        for ci in 0..c {
            for yy in 0..h {
                let src = &x[n * image + (ci * h + yy) * width..n * image + (ci * h + yy + 1) * width];
                let at = ci * plan.plane + (yy + ph) * plan.row + pw;
                planes[at..at + width].copy_from_slice(src);
            }
        }
        // Every block of 6 filters × 16 flattened outputs.
        let mut flat = Buffer::uninit(plan.filters * plan.positions);
        let flat = flat.as_mut_slice();
        for block in 0..plan.filters / CONV_FILTERS {
            let wb = &packed.as_slice()[block * weights_per_block..(block + 1) * weights_per_block];
            let out = &mut flat[block * CONV_FILTERS * plan.positions..];
            for p0 in (0..plan.positions).step_by(CONV_PIXELS) {
                arch::conv_block(wb, &planes[p0..], (c, plan.plane), &plan.offsets, &mut out[p0..], plan.positions);
            }
        }
        // Keep the out_w valid columns of each flattened row.
        for fi in 0..f {
            for yy in 0..oh {
                let src = &flat[fi * plan.positions + yy * plan.row..fi * plan.positions + yy * plan.row + ow];
                y_image[(fi * oh + yy) * ow..(fi * oh + yy + 1) * ow].copy_from_slice(src);
            }
        }
    });
    y
}

/// The gradient of a stride-1 convolution with respect to its input: `dy` convolved with the
/// kernel turned by 180°, channels swapped (`[C, F, kh, kw]`), padding k − 1 − p.
pub(crate) fn conv2d_backward_input(dy: &[f32], w: &[f32], spec: &Conv2dSpec) -> Buffer {
    let (f, c, kh, kw) = (spec.out_channels, spec.in_channels, spec.kernel_h, spec.kernel_w);
    let mut turned = Buffer::uninit(c * f * kh * kw);
    for (k, v) in turned.as_mut_slice().iter_mut().enumerate() {
        let (ci, fi, ky, kx) = (k / (f * kh * kw), k / (kh * kw) % f, k / kw % kh, k % kw);
        *v = w[((fi * c + ci) * kh + kh - 1 - ky) * kw + kw - 1 - kx];
    }
    let adjoint = Conv2dSpec {
        batch: spec.batch,
        in_channels: f,
        height: spec.out_h(),
        width: spec.out_w(),
        out_channels: c,
        kernel_h: kh,
        kernel_w: kw,
        stride: (1, 1),
        padding: (kh - 1 - spec.padding.0, kw - 1 - spec.padding.1),
    };
    debug_assert_eq!((adjoint.out_h(), adjoint.out_w()), (spec.height, spec.width));
    conv2d(dy, turned.as_slice(), &adjoint)
}
