//! Conformance of `matmul`: hand values, transpose flags, batching, odd sizes, empty dimensions.

use super::{assert_close, random, store, values};
use crate::backend::{Backend, MatmulSpec};
use crate::reference;

fn mm<B: Backend>(a: &[f32], b: &[f32], spec: MatmulSpec) -> Vec<f32> {
    values::<B>(&B::matmul(&store::<B>(a), &store::<B>(b), spec))
}

/// Row-major transpose of `[rows, cols]`.
fn transposed(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols).flat_map(|j| (0..rows).map(move |i| x[i * cols + j])).collect()
}

/// [[1,2,3],[4,5,6]]·[[7,8],[9,10],[11,12]] = [[58,64],[139,154]] (58 = 7 + 18 + 33).
pub fn hand_2x3_times_3x2<B: Backend>() {
    let a = [1., 2., 3., 4., 5., 6.];
    let b = [7., 8., 9., 10., 11., 12.];
    assert_eq!(mm::<B>(&a, &b, MatmulSpec::plain(2, 3, 2)), vec![58., 64., 139., 154.]);
}

/// A matrix stored transposed and read with the flag gives the same product.
pub fn transpose_flags_read_the_same_matrix<B: Backend>() {
    let (m, k, n) = (3, 4, 5);
    let a = random(m * k, 1);
    let b = random(k * n, 2);
    let want = reference::matmul(&a, &b, MatmulSpec::plain(m, k, n));
    for (ta, tb) in [(false, true), (true, false), (true, true)] {
        let sa = if ta { transposed(&a, m, k) } else { a.clone() };
        let sb = if tb { transposed(&b, k, n) } else { b.clone() };
        let spec = MatmulSpec { lhs_transposed: ta, rhs_transposed: tb, ..MatmulSpec::plain(m, k, n) };
        assert_close(&format!("flags {ta} {tb}"), &mm::<B>(&sa, &sb, spec), &want, 1e-5, 1e-5);
    }
}

/// Batched products, and a shared (unbatched) operand on either side.
pub fn batched_and_shared_operands<B: Backend>() {
    let (batch, m, k, n) = (3, 2, 4, 5);
    let a = random(batch * m * k, 3);
    let b = random(batch * k * n, 4);
    let spec = MatmulSpec { batch, ..MatmulSpec::plain(m, k, n) };
    let got = mm::<B>(&a, &b, spec);
    for i in 0..batch {
        let one = reference::matmul(
            &a[i * m * k..(i + 1) * m * k],
            &b[i * k * n..(i + 1) * k * n],
            MatmulSpec::plain(m, k, n),
        );
        assert_close(&format!("batch item {i}"), &got[i * m * n..(i + 1) * m * n], &one, 1e-5, 1e-5);
    }
    // [3, 2, 4]·[4, 5]: the rhs is shared by each item.
    let shared = MatmulSpec { rhs_batched: false, ..spec };
    let got = mm::<B>(&a, &b[..k * n], shared);
    for i in 0..batch {
        let one = reference::matmul(&a[i * m * k..(i + 1) * m * k], &b[..k * n], MatmulSpec::plain(m, k, n));
        assert_close(&format!("shared rhs, item {i}"), &got[i * m * n..(i + 1) * m * n], &one, 1e-5, 1e-5);
    }
    // [2, 4]·[3, 4, 5]: the lhs is shared.
    let shared = MatmulSpec { lhs_batched: false, ..spec };
    let got = mm::<B>(&a[..m * k], &b, shared);
    for i in 0..batch {
        let one = reference::matmul(&a[..m * k], &b[i * k * n..(i + 1) * k * n], MatmulSpec::plain(m, k, n));
        assert_close(&format!("shared lhs, item {i}"), &got[i * m * n..(i + 1) * m * n], &one, 1e-5, 1e-5);
    }
}

/// Odd sizes (tails of every blocking) with every flag combination agree with the reference
/// within 1e-4 relative.
pub fn odd_sizes_match_reference<B: Backend>() {
    let sizes = [(1, 1, 1), (7, 33, 5), (33, 7, 257), (1, 257, 33), (257, 33, 257), (65, 300, 17)];
    for (s, &(m, k, n)) in sizes.iter().enumerate() {
        let a = random(m * k, 10 + s as u64);
        let b = random(k * n, 20 + s as u64);
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let spec = MatmulSpec { lhs_transposed: ta, rhs_transposed: tb, ..MatmulSpec::plain(m, k, n) };
            let want = reference::matmul(&a, &b, spec);
            assert_close(&format!("{m}x{k}x{n} flags {ta} {tb}"), &mm::<B>(&a, &b, spec), &want, 1e-4, 1e-4);
        }
    }
}

/// m = 0 or n = 0 gives an empty result; k = 0 gives zeros.
pub fn empty_dimensions_give_empty_or_zero<B: Backend>() {
    assert!(mm::<B>(&[], &[1., 2., 3.], MatmulSpec::plain(0, 3, 1)).is_empty());
    assert!(mm::<B>(&[1., 2.], &[], MatmulSpec::plain(1, 2, 0)).is_empty());
    assert_eq!(mm::<B>(&[], &[], MatmulSpec::plain(2, 0, 3)), vec![0.0; 6]);
}
