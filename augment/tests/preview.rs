//! Preview grids: layout (order, gaps, background), size fitting, and saving to PNG.

mod common;

use neurite_augment::preview::tile;
use neurite_augment::spec::{catalogue, typical_pipeline};
use neurite_augment::{
    GridLayout, HorizontalFlip, ImageBatch, ImageSize, Interpolation, Resize, Transform, load_image, preview_runs,
    preview_transforms, save_png,
};
use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor};

#[test]
fn tiles_run_left_to_right_then_down_with_gaps_of_background() {
    // Three 1×2 images in two columns with 1-pixel gaps: 2 rows → 2·1 + 3 = 5 high, 2·2 + 3 = 7 wide.
    let batch = ImageBatch::new(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3, ImageSize::new(1, 1, 2));
    let grid = tile(&batch, GridLayout { columns: 2, gap: 1, background: 1.0 });
    assert_eq!(grid.dims(), [1, 1, 5, 7]);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 0.1, 0.2, 1.0, 0.3, 0.4, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 0.5, 0.6, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    ];
    assert_eq!(grid.as_slice(), want);
}

#[test]
fn the_source_comes_first_then_each_transform_in_order() {
    let source = Tensor::<R>::from_vec(vec![0.1, 0.2, 0.3], [1, 1, 1, 3]);
    let flip = HorizontalFlip::new(1.0);
    let shrink = Resize::new(1, 1, Interpolation::Nearest);
    let layout = GridLayout { columns: 3, gap: 0, background: 0.0 };
    let grid = preview_transforms(&source, &[&flip, &shrink], layout, &mut Rng::seed(0));
    // The 1×1 result is resized back to 1×3 (bilinear of a single pixel repeats it).
    assert_eq!(grid.dims(), [1, 1, 1, 9]);
    assert_eq!(grid.as_slice(), [0.1, 0.2, 0.3, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1]);
}

#[test]
fn pipeline_runs_fill_the_grid_after_the_source() {
    let source = Tensor::<R>::full([1, 3, 8, 8], 0.5);
    let layout = GridLayout { columns: 3, gap: 2, background: 1.0 };
    let grid = preview_runs(&source, &typical_pipeline(), 5, layout, &mut Rng::seed(1));
    // Six cells in rows of three: 2 rows.
    assert_eq!(grid.dims(), [1, 3, 2 * 8 + 3 * 2, 3 * 8 + 4 * 2]);
}

#[test]
fn a_preview_of_every_transform_on_the_cat_saves_as_png() {
    let cat: Tensor<R> = load_image(common::cat_path()).unwrap();
    let small =
        Resize::new(75, 113, Interpolation::Bilinear).apply_batch(ImageBatch::from_tensor(&cat), &mut Rng::seed(0));
    let source: Tensor<R> = small.into_tensor();
    let entries = catalogue(ImageSize::new(3, 75, 113));
    let transforms: Vec<&dyn Transform> = entries.iter().map(|(_, t)| t.as_ref()).collect();
    let grid = preview_transforms(&source, &transforms, GridLayout::default(), &mut Rng::seed(2));
    // 17 cells in rows of four: 5 rows.
    assert_eq!(grid.dims(), [1, 3, 5 * 75 + 6 * 2, 4 * 113 + 5 * 2]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("preview.png");
    save_png(&grid, &path).unwrap();
    let back: Tensor<R> = load_image(&path).unwrap();
    assert_eq!(back.dims(), grid.dims());
}
