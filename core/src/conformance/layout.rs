//! Conformance of the layout kernels: permute, slice, pad, concat, flip, index-select/add,
//! gather/scatter-add, one-hot.

use super::{random, shape, store, values};
use crate::backend::Backend;
use crate::reference;

/// Transposing [[1,2,3],[4,5,6]] gives [[1,4],[2,5],[3,6]]; a 3-D rotation of axes by hand.
pub fn permute_by_hand<B: Backend>() {
    let x = store::<B>(&[1., 2., 3., 4., 5., 6.]);
    assert_eq!(values::<B>(&B::permute(&x, &shape(&[2, 3]), &[1, 0])), vec![1., 4., 2., 5., 3., 6.]);
    // [2, 1, 3] → axes (2, 0, 1) → [3, 2, 1]: out[k][i][0] = x[i][0][k].
    assert_eq!(values::<B>(&B::permute(&x, &shape(&[2, 1, 3]), &[2, 0, 1])), vec![1., 4., 2., 5., 3., 6.]);
}

/// Slicing a block out of a padded tensor gives the tensor back.
pub fn slice_and_pad_are_adjoint<B: Backend>() {
    let x = store::<B>(&[1., 2., 3., 4.]);
    let padded = B::pad(&x, &shape(&[2, 2]), &[1, 0], &[0, 1], 9.);
    assert_eq!(values::<B>(&padded), vec![9., 9., 9., 1., 2., 9., 3., 4., 9.]);
    let back = B::slice(&padded, &shape(&[3, 3]), &[1, 0], &[3, 2]);
    assert_eq!(values::<B>(&back), vec![1., 2., 3., 4.]);
    let col = B::slice(&padded, &shape(&[3, 3]), &[0, 2], &[3, 3]);
    assert_eq!(values::<B>(&col), vec![9., 9., 9.]);
}

/// Concatenation along the first and the last axis.
pub fn concat_along_each_axis<B: Backend>() {
    let a = store::<B>(&[1., 2., 3., 4.]);
    let b = store::<B>(&[5., 6.]);
    let rows = B::concat(&[(&a, &shape(&[2, 2])), (&b, &shape(&[1, 2]))], 0);
    assert_eq!(values::<B>(&rows), vec![1., 2., 3., 4., 5., 6.]);
    let cols = B::concat(&[(&a, &shape(&[2, 2])), (&b, &shape(&[2, 1]))], 1);
    assert_eq!(values::<B>(&cols), vec![1., 2., 5., 3., 4., 6.]);
}

/// Flipping a 3×3 image horizontally and vertically.
pub fn flip_by_hand<B: Backend>() {
    let x = store::<B>(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    assert_eq!(values::<B>(&B::flip(&x, &shape(&[3, 3]), &[1])), vec![3., 2., 1., 6., 5., 4., 9., 8., 7.]);
    assert_eq!(values::<B>(&B::flip(&x, &shape(&[3, 3]), &[0])), vec![7., 8., 9., 4., 5., 6., 1., 2., 3.]);
    assert_eq!(values::<B>(&B::flip(&x, &shape(&[3, 3]), &[0, 1])), vec![9., 8., 7., 6., 5., 4., 3., 2., 1.]);
}

/// Selecting rows (with a repeat) and adding them back.
pub fn index_select_and_index_add<B: Backend>() {
    let x = store::<B>(&[1., 2., 3., 4., 5., 6.]);
    let picked = B::index_select(&x, &shape(&[3, 2]), 0, &[2, 0, 2]);
    assert_eq!(values::<B>(&picked), vec![5., 6., 1., 2., 5., 6.]);
    let cols = B::index_select(&x, &shape(&[3, 2]), 1, &[1]);
    assert_eq!(values::<B>(&cols), vec![2., 4., 6.]);
    // Row 2 was picked twice, so it collects both gradients.
    let added = B::index_add(&store::<B>(&[1., 1., 2., 2., 3., 3.]), &shape(&[3, 2]), 0, &[2, 0, 2], 3);
    assert_eq!(values::<B>(&added), vec![2., 2., 0., 0., 4., 4.]);
}

/// Gather picks one entry per row by label; scatter-add puts it back.
pub fn gather_and_scatter_add<B: Backend>() {
    let x = store::<B>(&[0.1, 0.2, 0.7, 0.5, 0.4, 0.1]);
    let labels = store::<B>(&[2., 0.]);
    let got = B::gather(&x, &shape(&[2, 3]), 1, &labels, &shape(&[2, 1]));
    assert_eq!(values::<B>(&got), vec![0.7, 0.5]);
    let back = B::scatter_add(&store::<B>(&[1., 2.]), &labels, &shape(&[2, 1]), 1, &shape(&[2, 3]));
    assert_eq!(values::<B>(&back), vec![0., 0., 1., 2., 0., 0.]);
    // Along axis 0, with a repeated index accumulating.
    let idx = store::<B>(&[1., 1., 1.]);
    let got = B::gather(&x, &shape(&[2, 3]), 0, &idx, &shape(&[1, 3]));
    assert_eq!(values::<B>(&got), vec![0.5, 0.4, 0.1]);
}

/// Labels [2, 0, 1] with 3 classes.
pub fn one_hot_rows<B: Backend>() {
    let got = B::one_hot(&store::<B>(&[2., 0., 1.]), 3);
    assert_eq!(values::<B>(&got), vec![0., 0., 1., 1., 0., 0., 0., 1., 0.]);
}

/// Layout kernels on odd 3-D shapes agree exactly with the reference.
pub fn layout_matches_reference<B: Backend>() {
    let dims = [7, 33, 9];
    let s = shape(&dims);
    let x = random(7 * 33 * 9, 77);
    let xs = store::<B>(&x);
    for axes in [[0, 2, 1], [2, 1, 0], [1, 0, 2], [2, 0, 1]] {
        assert_eq!(values::<B>(&B::permute(&xs, &s, &axes)), reference::permute(&x, &s, &axes), "permute {axes:?}");
    }
    assert_eq!(
        values::<B>(&B::slice(&xs, &s, &[1, 5, 0], &[6, 32, 9])),
        reference::slice(&x, &s, &[1, 5, 0], &[6, 32, 9])
    );
    assert_eq!(
        values::<B>(&B::pad(&xs, &s, &[0, 1, 2], &[3, 0, 1], -1.)),
        reference::pad(&x, &s, &[0, 1, 2], &[3, 0, 1], -1.)
    );
    assert_eq!(values::<B>(&B::flip(&xs, &s, &[0, 2])), reference::flip(&x, &s, &[0, 2]));
    let big = random(257 * 257, 78);
    let bs = shape(&[257, 257]);
    assert_eq!(values::<B>(&B::permute(&store::<B>(&big), &bs, &[1, 0])), reference::permute(&big, &bs, &[1, 0]));
}
