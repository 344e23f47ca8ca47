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

/// Flattened outputs per image below which the weight gradient keeps im2col + sgemm.
const WEIGHT_MIN_POSITIONS: usize = 512;

/// Whether the weight gradient of `spec` runs here: as [`applies`], with kernels at most 5 wide
/// (the widths the dot-product block is built for), on images of at least
/// [`WEIGHT_MIN_POSITIONS`] flattened outputs. Each dot product runs over one image's positions,
/// and on short ones the lane sums and calls cost more than the products: measured on ResNet-20
/// (Zen 3, 2 threads, ms per step, im2col → direct), 32×32 maps (1,088 positions) 54–62 → 41,
/// 16×16 (288) 34–42 → 43–45, 8×8 (80) 36–42 → 78–82; the MNIST CNN's 14×14 5×5 layer (252)
/// 4.5 → 5.7.
pub(crate) fn applies_weight(spec: &Conv2dSpec) -> bool {
    applies(spec) && (1..=5).contains(&spec.kernel_w) && Plan::new(spec).positions >= WEIGHT_MIN_POSITIONS
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

/// One image `[C, H, W]` into zero-padded planes of `plan.plane` values each.
fn pad_image(image: &[f32], spec: &Conv2dSpec, plan: &Plan, planes: &mut [f32]) {
    let (h, width) = (spec.height, spec.width);
    let (ph, pw) = spec.padding;
    planes.fill(0.0);
    for (ci, plane) in planes.chunks_exact_mut(plan.plane).enumerate() {
        for (yy, src) in image[ci * h * width..(ci + 1) * h * width].chunks_exact(width.max(1)).enumerate() {
            let at = (yy + ph) * plan.row + pw;
            plane[at..at + width].copy_from_slice(src);
        }
    }
}

/// Cross-correlation of `x` with `w` as `spec` describes (stride 1).
pub(crate) fn conv2d(x: &[f32], w: &[f32], spec: &Conv2dSpec) -> Buffer {
    let plan = Plan::new(spec);
    let packed = pack_weights(w, spec, plan.filters);
    let (c, h, width) = (spec.in_channels, spec.height, spec.width);
    let (f, oh, ow) = (spec.out_channels, spec.out_h(), spec.out_w());
    let image = c * h * width;
    let mut y = Buffer::uninit(spec.batch * f * oh * ow);
    if y.is_empty() {
        return y;
    }
    let weights_per_block = c * plan.offsets.len() * CONV_FILTERS;
    y.as_mut_slice().par_chunks_mut(f * oh * ow).enumerate().for_each(|(n, y_image)| {
        let mut planes = Buffer::uninit(c * plan.plane);
        pad_image(&x[n * image..(n + 1) * image], spec, &plan, planes.as_mut_slice());
        let planes = planes.as_slice();
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

/// Images per group of the weight gradient: a function of the batch only, so that the order in
/// which groups' sums are added does not depend on the threads.
fn images_per_group(batch: usize) -> usize {
    batch.div_ceil(crate::conv::CHUNKS).max(1)
}

/// The gradient of a stride-1 convolution with respect to its weight: for every filter f,
/// channel c and tap (ky, kx), the dot product over images and output positions of dy and the
/// input read at that tap's offset, straight from the padded planes (no im2col). Images are cut
/// into at most `CHUNKS` (eight) groups summed in parallel, each in image order, then the groups
/// in order.
pub(crate) fn conv2d_backward_weight(x: &[f32], dy: &[f32], spec: &Conv2dSpec) -> Buffer {
    let plan = Plan::new(spec);
    let (f, c, kh, kw) = (spec.out_channels, spec.in_channels, spec.kernel_h, spec.kernel_w);
    let (oh, ow) = (spec.out_h(), spec.out_w());
    let (image, out_image) = (c * spec.height * spec.width, f * oh * ow);
    let per_group = images_per_group(spec.batch);
    let groups = spec.batch.div_ceil(per_group);
    let partials: Vec<Buffer> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut dw = Buffer::zeroed(f * c * kh * kw);
            // dy in the flattened layout, zero past each row's out_w values, with rows for
            // whole blocks of filters.
            let rows = f.next_multiple_of(12);
            let mut flat = Buffer::uninit(rows * plan.positions);
            let mut planes = Buffer::uninit(c * plan.plane);
            for n in g * per_group..spec.batch.min((g + 1) * per_group) {
                pad_image(&x[n * image..(n + 1) * image], spec, &plan, planes.as_mut_slice());
                let flat = flat.as_mut_slice();
                flat.fill(0.0);
                for (fi, src) in dy[n * out_image..(n + 1) * out_image].chunks_exact(oh * ow).enumerate() {
                    for (yy, line) in src.chunks_exact(ow).enumerate() {
                        let at = fi * plan.positions + yy * plan.row;
                        flat[at..at + ow].copy_from_slice(line);
                    }
                }
                let grads = (flat as &[f32], planes.as_slice());
                match kw {
                    1 => accumulate::<12, 1>(grads, spec, &plan, dw.as_mut_slice()),
                    2 => accumulate::<6, 2>(grads, spec, &plan, dw.as_mut_slice()),
                    3 => accumulate::<4, 3>(grads, spec, &plan, dw.as_mut_slice()),
                    4 => accumulate::<3, 4>(grads, spec, &plan, dw.as_mut_slice()),
                    _ => accumulate::<2, 5>(grads, spec, &plan, dw.as_mut_slice()),
                }
            }
            dw
        })
        .collect();
    let mut partials = partials.into_iter();
    let Some(mut total) = partials.next() else { return Buffer::zeroed(f * c * kh * kw) };
    for part in partials {
        arch::add_assign(total.as_mut_slice(), part.as_slice());
    }
    total
}

/// Adds one image's weight gradient into `dw` (`[F, C, kh, kw]`): blocks of NF filters against
/// the NT = kw taps of one kernel row, for every channel and row.
fn accumulate<const NF: usize, const NT: usize>(
    (flat, planes): (&[f32], &[f32]),
    spec: &Conv2dSpec,
    plan: &Plan,
    dw: &mut [f32],
) {
    let (f, c, kh, kw) = (spec.out_channels, spec.in_channels, spec.kernel_h, spec.kernel_w);
    for f0 in (0..f).step_by(NF) {
        let dy_rows = &flat[f0 * plan.positions..];
        for ci in 0..c {
            for ky in 0..kh {
                let offsets: [usize; NT] = std::array::from_fn(|t| ci * plan.plane + ky * plan.row + t);
                let sums = arch::dw_block::<NF, NT>(dy_rows, plan.positions, planes, &offsets, plan.positions);
                for (i, row) in sums.iter().enumerate().take(f - f0) {
                    let at = (((f0 + i) * c + ci) * kh + ky) * kw;
                    for (d, s) in dw[at..at + kw].iter_mut().zip(row) {
                        *d += s;
                    }
                }
            }
        }
    }
}
