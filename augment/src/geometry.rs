//! Geometric transforms: flips, translation, random crop from a padded image (the CIFAR recipe),
//! random resized crop (zoom), and resizing (bilinear, nearest). The per-image kernels they run
//! ([`flip_horizontal`], [`shift_crop`], [`resize_region`], …) are public, for tests and for code
//! that wants one image at fixed parameters.

use neurite_core::Rng;
use neurite_core::isa::Isa;

use crate::batch::{ImageBatch, ImageSize, Pixel, chance, draw, map_samples, update_samples};
use crate::transform::Transform;

/// What a pixel outside the source image reads as, when a transform looks past the border.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fill {
    /// A constant value (0 is black).
    Constant(f32),
    /// The nearest edge pixel, repeated (`a a | a b c | c c`).
    Edge,
    /// The image mirrored about its edge pixel, which is not repeated (`c b | a b c | b a`).
    Reflect,
}

/// The source index that coordinate `i` (possibly outside `0..n`) reads under `fill`, or `None`
/// for a constant fill (or an empty axis).
pub fn border_index(i: isize, n: usize, fill: Fill) -> Option<usize> {
    if n == 0 {
        return None;
    }
    if (0..n as isize).contains(&i) {
        return Some(i as usize);
    }
    match fill {
        Fill::Constant(_) => None,
        Fill::Edge => Some(i.clamp(0, n as isize - 1) as usize),
        Fill::Reflect => {
            if n == 1 {
                return Some(0);
            }
            let period = 2 * (n as isize - 1);
            let m = i.rem_euclid(period);
            Some(if m < n as isize { m } else { period - m } as usize)
        }
    }
}

/// A rectangle of an image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Region {
    /// The whole of an image of `size`.
    pub fn whole(size: ImageSize) -> Self {
        Region { top: 0, left: 0, height: size.height, width: size.width }
    }

    /// Whether pixel (`y`, `x`) lies inside.
    pub fn contains(&self, y: usize, x: usize) -> bool {
        (self.top..self.top + self.height).contains(&y) && (self.left..self.left + self.width).contains(&x)
    }
}

/// Mirrors one image `[C, H, W]` left to right, in place.
#[inline(always)]
pub fn flip_horizontal<T: Pixel>(image: &mut [T], size: ImageSize) {
    if size.width == 0 {
        return;
    }
    image.chunks_mut(size.width).for_each(<[T]>::reverse);
}

/// Mirrors one image `[C, H, W]` top to bottom, in place.
#[inline(always)]
pub fn flip_vertical<T: Pixel>(image: &mut [T], size: ImageSize) {
    let (h, w) = (size.height, size.width);
    if size.plane() == 0 {
        return;
    }
    for plane in image.chunks_mut(size.plane()) {
        for y in 0..h / 2 {
            let (upper, lower) = plane.split_at_mut((h - 1 - y) * w);
            swap_rows(&mut upper[y * w..(y + 1) * w], &mut lower[..w]);
        }
    }
}

/// Swaps two rows 32 bytes at a time (one AVX2 register each way), then the rest.
#[inline(always)]
fn swap_rows<T: Pixel>(a: &mut [T], b: &mut [T]) {
    let chunk = (32 / std::mem::size_of::<T>()).max(1);
    let mut a_chunks = a.chunks_exact_mut(chunk);
    let mut b_chunks = b.chunks_exact_mut(chunk);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        x.swap_with_slice(y);
    }
    a_chunks.into_remainder().swap_with_slice(b_chunks.into_remainder());
}

/// Writes `dst[c, y, x] = src[c, y + top, x + left]` for an output of `out_h × out_w`, reading
/// pixels outside the source by `fill`. A translation by (dx, dy) is `top = −dy, left = −dx`; a
/// crop of a padded image is `top = offset − padding`.
///
/// # Panics
/// If `dst` does not hold `C · out_h · out_w` values.
#[allow(clippy::too_many_arguments)]
pub fn shift_crop<T: Pixel>(
    src: &[T],
    size: ImageSize,
    top: isize,
    left: isize,
    out_h: usize,
    out_w: usize,
    fill: Fill,
    dst: &mut [T],
) {
    assert_eq!(dst.len(), size.channels * out_h * out_w, "shift_crop: output length");
    let constant = T::from_unit(if let Fill::Constant(v) = fill { v } else { 0.0 });
    let cols: Vec<Option<usize>> = (0..out_w).map(|x| border_index(x as isize + left, size.width, fill)).collect();
    // The columns that read the source directly form one run, copied with a single memcpy.
    let inside = |x: usize| (0..size.width as isize).contains(&(x as isize + left));
    let first = (0..out_w).find(|&x| inside(x)).unwrap_or(out_w);
    let end = (first..out_w).find(|&x| !inside(x)).unwrap_or(out_w);
    for c in 0..size.channels {
        let plane = &src[c * size.plane()..(c + 1) * size.plane()];
        for y in 0..out_h {
            let row_out = &mut dst[(c * out_h + y) * out_w..(c * out_h + y + 1) * out_w];
            let Some(sy) = border_index(y as isize + top, size.height, fill) else {
                row_out.fill(constant);
                continue;
            };
            let row_in = &plane[sy * size.width..(sy + 1) * size.width];
            if first < end {
                let s0 = (first as isize + left) as usize;
                row_out[first..end].copy_from_slice(&row_in[s0..s0 + (end - first)]);
            }
            for x in (0..first).chain(end..out_w) {
                row_out[x] = cols[x].map_or(constant, |sx| row_in[sx]);
            }
        }
    }
}

/// How a resize computes an output pixel from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// The source pixel whose cell holds the output pixel's top-left corner (PyTorch's
    /// `nearest`): `src = ⌊dst · in / out⌋`.
    Nearest,
    /// A weighted mean of the four nearest source pixels, with pixel centres aligned (PyTorch's
    /// `bilinear`, `align_corners = false`): `src = (dst + ½) · in / out − ½`, clamped to the image.
    Bilinear,
}

/// For each output index along one axis: the two source indices and the weight of the second.
fn axis_taps(start: usize, len: usize, out: usize, interpolation: Interpolation) -> Vec<(usize, usize, f32)> {
    let scale = len as f32 / out as f32;
    (0..out)
        .map(|i| match interpolation {
            Interpolation::Nearest => {
                let s = ((i as f32 * scale) as usize).min(len - 1);
                (start + s, start + s, 0.0)
            }
            Interpolation::Bilinear => {
                let s = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
                let s0 = (s as usize).min(len - 1);
                let s1 = (s0 + 1).min(len - 1);
                (start + s0, start + s1, s - s0 as f32)
            }
        })
        .collect()
}

/// Resamples `region` of `src` to `out_h × out_w` (a crop and a resize in one pass).
///
/// # Panics
/// If the region is empty or not inside the image, or `dst` does not hold `C · out_h · out_w`
/// values.
pub fn resize_region<T: Pixel>(
    src: &[T],
    size: ImageSize,
    region: Region,
    out_h: usize,
    out_w: usize,
    interpolation: Interpolation,
    dst: &mut [T],
) {
    assert!(
        region.height > 0
            && region.width > 0
            && region.top + region.height <= size.height
            && region.left + region.width <= size.width,
        "resize: region {region:?} is not inside a {}×{} image",
        size.height,
        size.width
    );
    assert_eq!(dst.len(), size.channels * out_h * out_w, "resize: output length");
    resize_region_on(Isa::detect(), src, size, region, (out_h, out_w), interpolation, dst);
}

/// [`resize_region`] with the loops compiled for `isa`.
fn resize_region_on<T: Pixel>(
    isa: Isa,
    src: &[T],
    size: ImageSize,
    region: Region,
    (out_h, out_w): (usize, usize),
    interpolation: Interpolation,
    dst: &mut [T],
) {
    if out_h == 0 || out_w == 0 || size.channels == 0 {
        return;
    }
    let rows = axis_taps(region.top, region.height, out_h, interpolation);
    let cols = axis_taps(region.left, region.width, out_w, interpolation);
    isa.run(
        #[inline(always)]
        || resize_loops(src, size, &rows, &cols, dst, isa),
    );
}

/// The loops of [`resize_region`]: each source row the output needs is interpolated along x once
/// (two rows are kept, as consecutive output rows mostly share them), then each output row is
/// the blend of two such rows. The arithmetic is that of one pixel at a time — the x blend of
/// the upper and of the lower row, then the y blend of the two — so the order of work changes no
/// bit.
#[inline(always)]
fn resize_loops<T: Pixel>(
    src: &[T],
    size: ImageSize,
    rows: &[(usize, usize, f32)],
    cols: &[(usize, usize, f32)],
    dst: &mut [T],
    isa: Isa,
) {
    let (w, out_w) = (size.width, cols.len());
    // Halving (or any exact 2:1 step) reads pairs of neighbours at weight ½: a loop over pairs
    // vectorises where the general gather does not.
    let halves = |taps: &[(usize, usize, f32)]| {
        taps.iter().enumerate().all(|(i, &(a, b, l))| a == taps[0].0 + 2 * i && b == a + 1 && l == 0.5)
    };
    let halving = halves(cols);
    if halving && halves(rows) && T::box_halve_is_native() {
        // Both ways: each output is the mean of a 2 × 2 block, which levels compute exactly.
        let (first_row, first_col, out_plane) = (rows[0].0, cols[0].0, out_w * rows.len());
        for (plane, out) in src.chunks(size.plane()).zip(dst.chunks_mut(out_plane)) {
            for (y, row_out) in out.chunks_mut(out_w).enumerate() {
                let top = (first_row + 2 * y) * w + first_col;
                let upper = &plane[top..top + 2 * out_w];
                let lower = &plane[top + w..top + w + 2 * out_w];
                T::box_halve(upper, lower, row_out);
            }
        }
        return;
    }
    // Otherwise each output reads line[x0] and line[x0 + 1] of the row in f32 (one spare value
    // at the end). Where x1 = x0 (the last column) the weight is 0, which gives line[x0] exactly
    // as a + (a − a)·lx does.
    let starts: Vec<u32> = cols.iter().map(|&(x0, _, _)| (x0 - cols[0].0) as u32).collect();
    let weights: Vec<f32> = cols.iter().map(|&(x0, x1, lx)| if x1 == x0 { 0.0 } else { lx }).collect();
    let channels = size.channels;
    let mut line = vec![0.0f32; channels * (w + 1)];
    // Blocks of eight outputs whose taps lie within nine consecutive columns (any upscale, and
    // mild downscales): with AVX2 their values are picked out of two vector loads by a permute
    // instead of sixteen loads.
    let span = starts.last().map_or(0, |&s| s as usize + 2);
    let blocks: Vec<Option<(usize, [i32; 8])>> = starts
        .chunks_exact(8)
        .map(|block| {
            let base = block[0] as usize;
            let rel: [i32; 8] = std::array::from_fn(|j| (block[j] - block[0]) as i32);
            (rel[7] <= 7 && base + 9 <= span).then_some((base, rel))
        })
        .collect();
    let taps = RowTaps { halving, first: cols[0].0, starts: &starts, weights: &weights, blocks: &blocks, isa };
    // Two source rows, all channels of each, interpolated along x.
    let empty = || (usize::MAX, vec![0.0f32; channels * out_w]);
    let mut held: [(usize, Vec<f32>); 2] = [empty(), empty()];
    let out_plane = out_w * rows.len();
    for (y, &(y0, y1, ly)) in rows.iter().enumerate() {
        for (want, keep) in [(y0, y1), (y1, y0)] {
            if held[0].0 != want && held[1].0 != want {
                let slot = usize::from(held[0].0 == keep);
                taps.interpolate(src, size, want, &mut line, &mut held[slot].1);
                held[slot].0 = want;
            }
        }
        let pick = |y: usize| if held[0].0 == y { &held[0].1 } else { &held[1].1 };
        let (upper, lower) = (pick(y0).chunks(out_w), pick(y1).chunks(out_w));
        for ((plane, upper), lower) in dst.chunks_mut(out_plane).zip(upper).zip(lower) {
            let row_out = &mut plane[y * out_w..(y + 1) * out_w];
            blend_rows(isa, row_out, upper, lower, ly);
        }
    }
}

/// `out[x] = from_unit(upper[x] + (lower[x] − upper[x])·ly)`. Levels with AVX2 go 32 at a time:
/// the same arithmetic, then the conversion to integers (which rounds halves to even, as
/// `from_unit` does) and two saturating packs for four vectors at once, where the compiler
/// shuffles each vector down on its own. The values blend two levels/255, so they lie in [0, 1]
/// and the packs' saturation is all the clamping they need.
#[inline(always)]
fn blend_rows<T: Pixel>(isa: Isa, out: &mut [T], upper: &[f32], lower: &[f32], ly: f32) {
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx2(v3), Some(levels)) = (isa, T::as_levels_mut(out)) {
        let (weight, scale) = (v3.avx._mm256_set1_ps(ly), v3.avx._mm256_set1_ps(255.0));
        let order = v3.avx._mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        let mut outs = levels.chunks_exact_mut(32);
        let (mut ups, mut lows) = (upper.chunks_exact(32), lower.chunks_exact(32));
        for ((o, u), l) in (&mut outs).zip(&mut ups).zip(&mut lows) {
            let mut words = [v3.avx._mm256_setzero_si256(); 4];
            for (k, word) in words.iter_mut().enumerate() {
                let top: [f32; 8] = u[8 * k..8 * k + 8].try_into().expect("eight");
                let bottom: [f32; 8] = l[8 * k..8 * k + 8].try_into().expect("eight");
                let (top, bottom) = (pulp::cast(top), pulp::cast(bottom));
                let gap = v3.avx._mm256_mul_ps(v3.avx._mm256_sub_ps(bottom, top), weight);
                let value = v3.avx._mm256_mul_ps(v3.avx._mm256_add_ps(top, gap), scale);
                *word = v3.avx._mm256_cvtps_epi32(value);
            }
            let low = v3.avx2._mm256_packus_epi32(words[0], words[1]);
            let high = v3.avx2._mm256_packus_epi32(words[2], words[3]);
            let bytes = v3.avx2._mm256_permutevar8x32_epi32(v3.avx2._mm256_packus_epi16(low, high), order);
            let bytes: [u8; 32] = pulp::cast(bytes);
            o.copy_from_slice(&bytes);
        }
        let rest = outs.into_remainder();
        for ((o, &top), &bottom) in rest.iter_mut().zip(ups.remainder()).zip(lows.remainder()) {
            *o = u8::from_unit(top + (bottom - top) * ly);
        }
        return;
    }
    let _ = isa;
    for ((o, &top), &bottom) in out.iter_mut().zip(upper).zip(lower) {
        *o = T::from_unit(top + (bottom - top) * ly);
    }
}

/// How [`resize_loops`] interpolates a source row along x.
struct RowTaps<'a> {
    /// Whether output x reads columns first + 2x and first + 2x + 1 at weight ½.
    halving: bool,
    /// The first column read.
    first: usize,
    /// Otherwise: output x reads columns first + starts[x] and the one after at weight
    /// weights[x].
    starts: &'a [u32],
    weights: &'a [f32],
    /// Per block of eight outputs: the first column read (relative to `first`) and each
    /// output's offset from it, where all lie within nine columns.
    blocks: &'a [Option<(usize, [i32; 8])>],
    isa: Isa,
}

impl RowTaps<'_> {
    /// Interpolates row `y` of every channel of `src` into `out` (`C × out_w`), using `line`
    /// (`C` rows one value longer than the image's) for the rows in f32.
    #[inline(always)]
    fn interpolate<T: Pixel>(&self, src: &[T], size: ImageSize, y: usize, line: &mut [f32], out: &mut [f32]) {
        let (w, out_w) = (size.width, self.starts.len());
        let row = |ch: usize| &src[ch * size.plane() + y * w..ch * size.plane() + (y + 1) * w];
        if self.halving {
            for (ch, out) in out.chunks_mut(out_w).enumerate() {
                let pairs = row(ch)[self.first..self.first + 2 * out_w].chunks_exact(2);
                for (o, pair) in out.iter_mut().zip(pairs) {
                    let (a, b) = (pair[0].to_unit(), pair[1].to_unit());
                    *o = a + (b - a) * 0.5;
                }
            }
            return;
        }
        // Only the columns the taps read, from `first`, plus a spare copy of the last one.
        let span = self.starts.last().map_or(0, |&s| s as usize + 2);
        for (ch, line) in line.chunks_mut(span).take(size.channels).enumerate() {
            let read = &row(ch)[self.first..(self.first + span).min(w)];
            for (l, v) in line.iter_mut().zip(read) {
                *l = v.to_unit();
            }
            line[span - 1] = line[read.len() - 1];
        }
        match size.channels {
            1 => self.lerp_channels::<1>(&line[..span], span, out),
            3 => self.lerp_channels::<3>(&line[..3 * span], span, out),
            c => {
                for (line, out) in line.chunks(span).zip(out.chunks_mut(out_w)).take(c) {
                    self.lerp_channels::<1>(line, span, out);
                }
            }
        }
    }

    /// `out[c][x] = a + (b − a)·weights[x]` for a, b = line[c][starts[x]], line[c][starts[x] + 1],
    /// the tap read once for the `C` channels.
    #[inline(always)]
    fn lerp_channels<const C: usize>(&self, line: &[f32], span: usize, out: &mut [f32]) {
        let out_w = self.starts.len();
        let lines: [&[f32]; C] = std::array::from_fn(|c| &line[c * span..(c + 1) * span]);
        let (head, _) = out.split_at_mut(C * out_w);
        let mut outs = head.chunks_mut(out_w);
        let mut outs: [&mut [f32]; C] = std::array::from_fn(|_| outs.next().expect("C rows"));
        // `min` bounds the index where the check can see it, so the loop needs no other check.
        let last = span - 2;
        let scalar = |x: usize, outs: &mut [&mut [f32]; C]| {
            let (i, lx) = ((self.starts[x] as usize).min(last), self.weights[x]);
            for c in 0..C {
                let (a, b) = (lines[c][i], lines[c][i + 1]);
                outs[c][x] = a + (b - a) * lx;
            }
        };
        for (k, block) in self.blocks.iter().enumerate() {
            let x = 8 * k;
            match (self.isa, block) {
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx2(v3), &Some((base, rel))) => {
                    // The same arithmetic on the same values as the scalar loop, eight at once.
                    let idx: std::arch::x86_64::__m256i = pulp::cast(rel);
                    let lx: [f32; 8] = self.weights[x..x + 8].try_into().expect("a block");
                    for c in 0..C {
                        let low: [f32; 8] = lines[c][base..base + 8].try_into().expect("a block");
                        let high: [f32; 8] = lines[c][base + 1..base + 9].try_into().expect("a block");
                        let a: [f32; 8] = pulp::cast(v3.avx2._mm256_permutevar8x32_ps(pulp::cast(low), idx));
                        let b: [f32; 8] = pulp::cast(v3.avx2._mm256_permutevar8x32_ps(pulp::cast(high), idx));
                        for (j, o) in outs[c][x..x + 8].iter_mut().enumerate() {
                            *o = a[j] + (b[j] - a[j]) * lx[j];
                        }
                    }
                }
                _ => (x..x + 8).for_each(|x| scalar(x, &mut outs)),
            }
        }
        (8 * self.blocks.len()..out_w).for_each(|x| scalar(x, &mut outs));
    }
}

/// Mirrors each image left to right with probability `p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HorizontalFlip {
    /// Probability of flipping a sample.
    pub p: f32,
}

impl HorizontalFlip {
    /// Flips with probability `p` (0.5 is usual).
    pub fn new(p: f32) -> Self {
        HorizontalFlip { p }
    }
}

impl Transform for HorizontalFlip {
    fn name(&self) -> &'static str {
        "flip"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl HorizontalFlip {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then_some(()));
        let size = batch.size();
        update_samples(&mut batch, &params, |_, img| {
            Isa::detect().run(
                #[inline(always)]
                || flip_horizontal(img, size),
            )
        });
        batch
    }
}

/// Mirrors each image top to bottom with probability `p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VerticalFlip {
    /// Probability of flipping a sample.
    pub p: f32,
}

impl VerticalFlip {
    /// Flips with probability `p`.
    pub fn new(p: f32) -> Self {
        VerticalFlip { p }
    }
}

impl Transform for VerticalFlip {
    fn name(&self) -> &'static str {
        "vflip"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl VerticalFlip {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, mut batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let params = draw(batch.len(), rng, |rng| chance(rng, self.p).then_some(()));
        let size = batch.size();
        update_samples(&mut batch, &params, |_, img| {
            Isa::detect().run(
                #[inline(always)]
                || flip_vertical(img, size),
            )
        });
        batch
    }
}

/// Shifts each image by whole pixels (dx, dy), each uniform in −max..=max, filling the uncovered
/// border by `fill`. Positive dx moves the content right, positive dy down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Translate {
    /// Largest horizontal shift in pixels.
    pub max_dx: usize,
    /// Largest vertical shift in pixels.
    pub max_dy: usize,
    /// What the uncovered border shows.
    pub fill: Fill,
    /// Probability of shifting a sample.
    pub p: f32,
}

impl Translate {
    /// Shifts by up to `max` pixels along each axis, always applied.
    pub fn new(max: usize, fill: Fill) -> Self {
        Translate { max_dx: max, max_dy: max, fill, p: 1.0 }
    }

    /// Translates one image by exactly (`dx`, `dy`).
    pub fn shift<T: Pixel>(src: &[T], size: ImageSize, dx: isize, dy: isize, fill: Fill, dst: &mut [T]) {
        shift_crop(src, size, -dy, -dx, size.height, size.width, fill, dst);
    }
}

impl Transform for Translate {
    fn name(&self) -> &'static str {
        "translate"
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl Translate {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let pick = |rng: &mut Rng, max: usize| rng.below(2 * max + 1) as isize - max as isize;
        let params = draw(batch.len(), rng, |rng| {
            chance(rng, self.p).then(|| {
                let dx = pick(rng, self.max_dx);
                (dx, pick(rng, self.max_dy))
            })
        });
        let size = batch.size();
        map_samples(batch, &params, size, |&(dx, dy), src, dst| Translate::shift(src, size, dx, dy, self.fill, dst))
    }
}

/// Pads each image by `padding` pixels on every side, then cuts a window of the original size (or
/// of `size`) at a uniformly random position: the CIFAR-10 recipe (`padding` 4, zero fill). A
/// skipped sample gets the centre window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomCrop {
    /// Padding on each side, in pixels.
    pub padding: usize,
    /// Output `(height, width)`; `None` keeps the input size.
    pub size: Option<(usize, usize)>,
    /// What the padding holds.
    pub fill: Fill,
    /// Probability of a random (rather than centred) window.
    pub p: f32,
}

impl RandomCrop {
    /// Pads by `padding` with `fill` and crops back to the input size, always applied.
    pub fn new(padding: usize, fill: Fill) -> Self {
        RandomCrop { padding, size: None, fill, p: 1.0 }
    }
}

impl Transform for RandomCrop {
    fn name(&self) -> &'static str {
        "crop"
    }
    fn output_size(&self, input: ImageSize) -> ImageSize {
        let (h, w) = self.size.unwrap_or((input.height, input.width));
        input.with_hw(h, w)
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl RandomCrop {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let size = batch.size();
        let out = self.output_size(size);
        let (room_h, room_w) = (size.height + 2 * self.padding, size.width + 2 * self.padding);
        assert!(
            out.height <= room_h && out.width <= room_w,
            "crop: a {}×{} window does not fit a {}×{} image padded by {}",
            out.height,
            out.width,
            size.height,
            size.width,
            self.padding
        );
        let (slack_h, slack_w) = (room_h - out.height, room_w - out.width);
        let pad = self.padding as isize;
        let params = draw(batch.len(), rng, |rng| {
            let (oy, ox) = if chance(rng, self.p) {
                let oy = rng.below(slack_h + 1);
                (oy, rng.below(slack_w + 1))
            } else {
                (slack_h / 2, slack_w / 2)
            };
            Some((oy as isize - pad, ox as isize - pad))
        });
        map_samples(batch, &params, out, |&(top, left), src, dst| {
            shift_crop(src, size, top, left, out.height, out.width, self.fill, dst)
        })
    }
}

/// Crops a random region — its area a uniform fraction in `scale` of the image, its aspect ratio
/// (width / height) log-uniform in `ratio` — and resizes it to the output size: "zoom" is crop
/// then rescale. The region is drawn as torchvision's `RandomResizedCrop` does (up to ten tries,
/// then a centred crop). A skipped sample is resized whole.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomResizedCrop {
    /// Range of the region's area as a fraction of the image's.
    pub scale: (f32, f32),
    /// Range of the region's aspect ratio, width / height.
    pub ratio: (f32, f32),
    /// Output `(height, width)`; `None` keeps the input size.
    pub size: Option<(usize, usize)>,
    /// How the region is resampled.
    pub interpolation: Interpolation,
    /// Probability of a random (rather than whole-image) region.
    pub p: f32,
}

impl RandomResizedCrop {
    /// Area fraction in `scale`, aspect ratio in [3/4, 4/3], bilinear, output of the input size.
    pub fn new(scale: (f32, f32)) -> Self {
        RandomResizedCrop {
            scale,
            ratio: (0.75, 4.0 / 3.0),
            size: None,
            interpolation: Interpolation::Bilinear,
            p: 1.0,
        }
    }

    /// Draws a region of an image of `height × width` as torchvision does.
    pub fn draw_region(&self, height: usize, width: usize, rng: &mut Rng) -> Region {
        let area = (height * width) as f32;
        let (log_lo, log_hi) = (self.ratio.0.ln(), self.ratio.1.ln());
        for _ in 0..10 {
            let target = area * rng.uniform_range(self.scale.0, self.scale.1);
            let aspect = rng.uniform_range(log_lo, log_hi).exp();
            let w = (target * aspect).sqrt().round() as usize;
            let h = (target / aspect).sqrt().round() as usize;
            if (1..=width).contains(&w) && (1..=height).contains(&h) {
                let top = rng.below(height - h + 1);
                let left = rng.below(width - w + 1);
                return Region { top, left, height: h, width: w };
            }
        }
        // Fallback: the largest centred region whose ratio is within range.
        let in_ratio = width as f32 / height as f32;
        let (w, h) = if in_ratio < self.ratio.0.min(self.ratio.1) {
            (width, ((width as f32 / self.ratio.0.min(self.ratio.1)).round() as usize).clamp(1, height))
        } else if in_ratio > self.ratio.0.max(self.ratio.1) {
            (((height as f32 * self.ratio.0.max(self.ratio.1)).round() as usize).clamp(1, width), height)
        } else {
            (width, height)
        };
        Region { top: (height - h) / 2, left: (width - w) / 2, height: h, width: w }
    }
}

impl Transform for RandomResizedCrop {
    fn name(&self) -> &'static str {
        "resized-crop"
    }
    fn output_size(&self, input: ImageSize) -> ImageSize {
        let (h, w) = self.size.unwrap_or((input.height, input.width));
        input.with_hw(h, w)
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl RandomResizedCrop {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, batch: ImageBatch<T>, rng: &mut Rng) -> ImageBatch<T> {
        let size = batch.size();
        let out = self.output_size(size);
        let params = draw(batch.len(), rng, |rng| {
            Some(if chance(rng, self.p) { self.draw_region(size.height, size.width, rng) } else { Region::whole(size) })
        });
        map_samples(batch, &params, out, |&region, src, dst| {
            resize_region(src, size, region, out.height, out.width, self.interpolation, dst)
        })
    }
}

/// Resizes every image to `height × width` (deterministic; no probability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Resize {
    /// Output height.
    pub height: usize,
    /// Output width.
    pub width: usize,
    /// Bilinear or nearest.
    pub interpolation: Interpolation,
}

impl Resize {
    /// Resizes to `height × width`.
    pub fn new(height: usize, width: usize, interpolation: Interpolation) -> Self {
        Resize { height, width, interpolation }
    }
}

impl Transform for Resize {
    fn name(&self) -> &'static str {
        "resize"
    }
    fn output_size(&self, input: ImageSize) -> ImageSize {
        input.with_hw(self.height, self.width)
    }
    fn apply_batch(&self, batch: ImageBatch, rng: &mut Rng) -> ImageBatch {
        self.run(batch, rng)
    }
    fn apply_batch_u8(&self, batch: ImageBatch<u8>, rng: &mut Rng) -> ImageBatch<u8> {
        self.run(batch, rng)
    }
}

impl Resize {
    /// The transform on `f32` values or `u8` levels alike.
    fn run<T: Pixel>(&self, batch: ImageBatch<T>, _rng: &mut Rng) -> ImageBatch<T> {
        let size = batch.size();
        let out = self.output_size(size);
        if out == size {
            // Both interpolations sample every source pixel at its own centre.
            return batch;
        }
        let params = vec![Some(()); batch.len()];
        map_samples(batch, &params, out, |_, src, dst| {
            resize_region(src, size, Region::whole(size), out.height, out.width, self.interpolation, dst)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 resampling (permutes for blocks of eight) gives the baseline's bits, upscaling,
    /// downscaling and at the same size, on f32 values and on levels.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_resampling_equals_the_baseline_to_the_bit() {
        let Isa::Avx2(v3) = Isa::detect() else {
            eprintln!("skipped: this CPU has no AVX2 (or NEURITE_SIMD=scalar), so there is one path only");
            return;
        };
        let size = ImageSize::new(3, 41, 53);
        let src = Rng::seed(8).uniform_vec(size.len(), 0.0, 1.0);
        let levels: Vec<u8> = src.iter().map(|&v| u8::from_unit(v)).collect();
        let regions = [
            Region::whole(size),
            Region { top: 3, left: 5, height: 20, width: 17 },
            Region { top: 0, left: 40, height: 41, width: 13 },
        ];
        for region in regions {
            for out in [(41, 53), (64, 80), (30, 37), (9, 8)] {
                for interpolation in [Interpolation::Bilinear, Interpolation::Nearest] {
                    let n = 3 * out.0 * out.1;
                    let (mut base, mut wide) = (vec![0.0f32; n], vec![0.0f32; n]);
                    resize_region_on(Isa::Baseline, &src, size, region, out, interpolation, &mut base);
                    resize_region_on(Isa::Avx2(v3), &src, size, region, out, interpolation, &mut wide);
                    let same = base.iter().zip(&wide).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{region:?} to {out:?}, {interpolation:?}");
                    let (mut base, mut wide) = (vec![0u8; n], vec![0u8; n]);
                    resize_region_on(Isa::Baseline, &levels, size, region, out, interpolation, &mut base);
                    resize_region_on(Isa::Avx2(v3), &levels, size, region, out, interpolation, &mut wide);
                    assert_eq!(base, wide, "levels, {region:?} to {out:?}, {interpolation:?}");
                }
            }
        }
    }

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        // a b c → index −2..5 reads c b | a b c | b a
        let got: Vec<_> = (-2..5).map(|i| border_index(i, 3, Fill::Reflect).unwrap()).collect();
        assert_eq!(got, [2, 1, 0, 1, 2, 1, 0]);
        let edge: Vec<_> = (-2..5).map(|i| border_index(i, 3, Fill::Edge).unwrap()).collect();
        assert_eq!(edge, [0, 0, 0, 1, 2, 2, 2]);
        assert_eq!(border_index(-1, 3, Fill::Constant(0.0)), None);
    }

    #[test]
    fn resizing_to_nothing_writes_nothing() {
        let size = ImageSize::new(2, 3, 4);
        let src = vec![0.5f32; size.len()];
        for (out_h, out_w) in [(0, 4), (3, 0), (0, 0)] {
            let mut dst = vec![0.0f32; 2 * out_h * out_w];
            resize_region(&src, size, Region::whole(size), out_h, out_w, Interpolation::Bilinear, &mut dst);
            assert!(dst.is_empty());
        }
    }

    #[test]
    fn bilinear_resize_of_the_same_size_is_the_identity() {
        let size = ImageSize::new(1, 3, 4);
        let src: Vec<f32> = (0..12).map(|i| i as f32 / 11.0).collect();
        let mut dst = vec![0.0; 12];
        resize_region(&src, size, Region::whole(size), 3, 4, Interpolation::Bilinear, &mut dst);
        assert_eq!(dst, src);
    }

    #[test]
    fn bilinear_upscale_by_two_interpolates_between_centres() {
        // [0, 1] → centres at −¼, ¼, ¾, 1¼ of the source: 0, ¼, ¾, 1 after clamping.
        let size = ImageSize::new(1, 1, 2);
        let mut dst = vec![0.0; 4];
        resize_region(&[0.0, 1.0], size, Region::whole(size), 1, 4, Interpolation::Bilinear, &mut dst);
        assert_eq!(dst, [0.0, 0.25, 0.75, 1.0]);
        resize_region(&[0.0, 1.0], size, Region::whole(size), 1, 4, Interpolation::Nearest, &mut dst);
        assert_eq!(dst, [0.0, 0.0, 1.0, 1.0]);
    }
}
