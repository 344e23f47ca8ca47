//! Preview grids: one source image next to what transforms make of it, tiled into a single image
//! to save as PNG. The order is fixed: cells run left to right, then top to bottom; the first cell
//! is always the untouched source, then one cell per transform in the order given (or one per run
//! of a pipeline). Cells are separated and framed by `gap` pixels of the background value; a cell
//! whose transform changed the image size is resized (bilinear) back to the source size.

use neurite_core::{Backend, Rng, Tensor};

use crate::batch::{ImageBatch, ImageSize};
use crate::geometry::{Interpolation, Region, resize_region};
use crate::transform::Transform;

/// How a preview grid is laid out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridLayout {
    /// Cells per row.
    pub columns: usize,
    /// Pixels between cells and around the grid.
    pub gap: usize,
    /// Value of the gap pixels (1 is white).
    pub background: f32,
}

impl Default for GridLayout {
    /// Four columns, 2-pixel white gaps.
    fn default() -> Self {
        GridLayout { columns: 4, gap: 2, background: 1.0 }
    }
}

/// Tiles the images of `batch` into one image, row-major, `layout.columns` per row.
///
/// # Panics
/// If `layout.columns` is 0.
pub fn tile(batch: &ImageBatch, layout: GridLayout) -> ImageBatch {
    assert!(layout.columns > 0, "preview: a grid needs at least one column");
    let size = batch.size();
    let n = batch.len();
    let cols = layout.columns.min(n.max(1));
    let rows = n.div_ceil(cols).max(1);
    let (g, h, w) = (layout.gap, size.height, size.width);
    let out = ImageSize::new(size.channels, rows * h + (rows + 1) * g, cols * w + (cols + 1) * g);
    let mut grid = ImageBatch::full(1, out, layout.background);
    let data = grid.as_mut_slice();
    for i in 0..n {
        let (top, left) = (g + (i / cols) * (h + g), g + (i % cols) * (w + g));
        let image = batch.image(i);
        for c in 0..size.channels {
            for y in 0..h {
                let src = &image[c * size.plane() + y * w..c * size.plane() + (y + 1) * w];
                let start = c * out.plane() + (top + y) * out.width + left;
                data[start..start + w].copy_from_slice(src);
            }
        }
    }
    grid
}

/// The batch resized (bilinear) to `size`'s height and width, unless it already has them.
fn fit(batch: ImageBatch, size: ImageSize) -> ImageBatch {
    let have = batch.size();
    if have.height == size.height && have.width == size.width {
        return batch;
    }
    let out = have.with_hw(size.height, size.width);
    let mut data = vec![0.0; batch.len() * out.len()];
    for (i, dst) in data.chunks_mut(out.len().max(1)).enumerate().take(batch.len()) {
        resize_region(batch.image(i), have, Region::whole(have), out.height, out.width, Interpolation::Bilinear, dst);
    }
    ImageBatch::new(data, batch.len(), out)
}

/// The first image of a `[N, C, H, W]` tensor, as a batch of one.
fn first_image<B: Backend>(source: &Tensor<B>) -> ImageBatch {
    let batch = ImageBatch::from_tensor(source);
    assert!(!batch.is_empty(), "preview: the source batch {} holds no image", source.shape());
    batch.select(0)
}

/// A grid of the first image of `source` (`[N, C, H, W]`) followed by what each of `transforms`
/// makes of it, in order, as a `[1, C, H', W']` tensor. Each transform draws from `rng` in turn.
///
/// # Panics
/// If `source` is not 4-D or holds no image, or a transform changes the channel count.
pub fn preview_transforms<B: Backend>(
    source: &Tensor<B>,
    transforms: &[&dyn Transform],
    layout: GridLayout,
    rng: &mut Rng,
) -> Tensor<B> {
    let image = first_image(source);
    let size = image.size();
    let mut cells = vec![image.clone()];
    for t in transforms {
        cells.push(fit(t.apply_batch(image.clone(), rng), size));
    }
    tile(&ImageBatch::concat(&cells), layout).into_tensor()
}

/// A grid of the first image of `source` followed by `runs` independent results of `transform`
/// (a [`crate::Pipeline`], typically) on it, as a `[1, C, H', W']` tensor.
///
/// # Panics
/// As [`preview_transforms`].
pub fn preview_runs<B: Backend>(
    source: &Tensor<B>,
    transform: &dyn Transform,
    runs: usize,
    layout: GridLayout,
    rng: &mut Rng,
) -> Tensor<B> {
    let image = first_image(source);
    let size = image.size();
    let copies = ImageBatch::concat(&vec![image.clone(); runs]);
    let results = fit(transform.apply_batch(copies, rng), size);
    tile(&ImageBatch::concat(&[image, results]), layout).into_tensor()
}
