//! Conformance of `reduce`, `softmax_rows` and `log_softmax_rows`.

use super::{LENGTHS, assert_close, random, shape, store, values};
use crate::backend::{Backend, ReduceOp};
use crate::reference;

fn red<B: Backend>(op: ReduceOp, x: &[f32], dims: &[usize], axis: usize) -> Vec<f32> {
    values::<B>(&B::reduce(op, &store::<B>(x), &shape(dims), axis))
}

/// [[1,2,3],[4,5,6]] along each axis.
pub fn axis_reductions_by_hand<B: Backend>() {
    let x = [1., 2., 3., 4., 5., 6.];
    assert_eq!(red::<B>(ReduceOp::Sum, &x, &[2, 3], 0), vec![5., 7., 9.]);
    assert_eq!(red::<B>(ReduceOp::Sum, &x, &[2, 3], 1), vec![6., 15.]);
    assert_eq!(red::<B>(ReduceOp::Mean, &x, &[2, 3], 0), vec![2.5, 3.5, 4.5]);
    assert_eq!(red::<B>(ReduceOp::Mean, &x, &[2, 3], 1), vec![2., 5.]);
    assert_eq!(red::<B>(ReduceOp::Max, &x, &[2, 3], 0), vec![4., 5., 6.]);
    assert_eq!(red::<B>(ReduceOp::Min, &x, &[2, 3], 1), vec![1., 4.]);
    assert_eq!(red::<B>(ReduceOp::ArgMax, &x, &[2, 3], 1), vec![2., 2.]);
    assert_eq!(red::<B>(ReduceOp::ArgMin, &x, &[2, 3], 0), vec![0., 0., 0.]);
    // The middle axis of [2, 2, 2].
    let y = [1., 2., 3., 4., 5., 6., 7., 8.];
    assert_eq!(red::<B>(ReduceOp::Sum, &y, &[2, 2, 2], 1), vec![4., 6., 12., 14.]);
}

/// Argmax and argmin pick the first of equal values.
pub fn argmax_takes_the_first_of_ties<B: Backend>() {
    assert_eq!(red::<B>(ReduceOp::ArgMax, &[1., 3., 3., 0.], &[4], 0), vec![1.]);
    assert_eq!(red::<B>(ReduceOp::ArgMin, &[2., 0., 5., 0.], &[4], 0), vec![1.]);
}

/// Summing n ones gives n exactly, along contiguous and strided axes, at every length.
pub fn long_sums_are_exact_on_ones<B: Backend>() {
    for &n in LENGTHS {
        let ones = vec![1.0; n];
        assert_eq!(red::<B>(ReduceOp::Sum, &ones, &[n], 0), vec![n as f32], "length {n}");
        let ones2 = vec![1.0; 2 * n];
        assert_eq!(red::<B>(ReduceOp::Sum, &ones2, &[n, 2], 0), vec![n as f32; 2], "strided, length {n}");
        if n > 0 {
            assert_eq!(red::<B>(ReduceOp::Mean, &ones, &[n], 0), vec![1.0], "mean, length {n}");
        }
    }
}

/// Every reduction on every axis of odd shapes agrees with the reference within 1e-5 relative.
pub fn reductions_match_reference<B: Backend>() {
    let shapes: &[&[usize]] = &[&[7], &[33, 7], &[7, 33, 9], &[257, 257], &[1, 257, 1], &[3, 0, 2], &[70_000]];
    let ops = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::ArgMax, ReduceOp::ArgMin];
    for (s, dims) in shapes.iter().enumerate() {
        let x = random(dims.iter().product(), 40 + s as u64);
        for axis in 0..dims.len() {
            for op in ops {
                if dims[axis] == 0 && matches!(op, ReduceOp::Mean) {
                    continue;
                }
                let want = reference::reduce(op, &x, &shape(dims), axis);
                assert_close(
                    &format!("{op:?} of {dims:?} along {axis}"),
                    &red::<B>(op, &x, dims, axis),
                    &want,
                    1e-5,
                    1e-5,
                );
            }
        }
    }
}

/// softmax([1, 2, 3]) = eˣ/Σeˣ = [0.090031, 0.244728, 0.665241]; log-softmax is its log.
pub fn softmax_by_hand<B: Backend>() {
    let x = store::<B>(&[1., 2., 3., 0., 0., 0.]);
    let s = values::<B>(&B::softmax_rows(&x, 2, 3));
    assert_close("softmax", &s, &[0.090_030_57, 0.244_728_47, 0.665_240_96, 1. / 3., 1. / 3., 1. / 3.], 1e-6, 1e-5);
    let l = values::<B>(&B::log_softmax_rows(&x, 2, 3));
    let want: Vec<f32> =
        [0.090_030_57f32, 0.244_728_47, 0.665_240_96, 1. / 3., 1. / 3., 1. / 3.].iter().map(|v| v.ln()).collect();
    assert_close("log_softmax", &l, &want, 1e-5, 1e-5);
    // Odd widths and many rows agree with the reference.
    for (rows, cols) in [(1, 1), (7, 33), (257, 10), (33, 257), (300, 300)] {
        let x = random(rows * cols, (rows * cols) as u64);
        let s = values::<B>(&B::softmax_rows(&store::<B>(&x), rows, cols));
        assert_close("softmax rows", &s, &reference::softmax_rows(&x, rows, cols, false), 1e-6, 1e-5);
        let l = values::<B>(&B::log_softmax_rows(&store::<B>(&x), rows, cols));
        assert_close("log_softmax rows", &l, &reference::softmax_rows(&x, rows, cols, true), 1e-5, 1e-5);
    }
}

/// Inputs of 1000 do not overflow: softmax([1000, 1001]) = [0.268941, 0.731059].
pub fn softmax_is_stable_for_large_inputs<B: Backend>() {
    let x = store::<B>(&[1000., 1001., -1000., -1001.]);
    let s = values::<B>(&B::softmax_rows(&x, 2, 2));
    assert_close("softmax", &s, &[0.268_941_4, 0.731_058_6, 0.731_058_6, 0.268_941_4], 1e-6, 1e-5);
    let l = values::<B>(&B::log_softmax_rows(&x, 2, 2));
    assert_close("log_softmax", &l, &[-1.313_261_7, -0.313_261_7, -0.313_261_7, -1.313_261_7], 1e-5, 1e-5);
}
