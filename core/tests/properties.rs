//! Property tests of broadcasting and of the adjoint pairs that backward rules rely on.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Shape, Tensor};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

type T = Tensor<R>;

/// A shape and a second one that broadcasts to it (dimensions set to 1, leading ones dropped).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(prop_oneof![Just(1usize), Just(7), 0usize..5], 0..4)
        .prop_flat_map(|a| {
            let n = a.len();
            (Just(a), prop::collection::vec(any::<bool>(), n), 0..=n)
        })
        .prop_map(|(a, ones, drop)| {
            let b: Vec<usize> = a.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
            (a, b[drop..].to_vec())
        })
}

fn tensor(dims: &[usize], seed: u64) -> T {
    let shape = Shape::new(dims);
    T::from_vec(Rng::seed(seed).uniform_vec(shape.numel(), -1.0, 1.0), shape)
}

fn dot(a: &T, b: &T) -> f64 {
    a.to_vec().iter().zip(b.to_vec()).map(|(&x, y)| x as f64 * y as f64).sum()
}

proptest! {
    // A fixed seed: the same cases on every run and machine, so CI cannot flake.
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: RngSeed::Fixed(0x6e65_7572),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn broadcasting_is_symmetric_and_reaches_the_larger_shape((a, b) in broadcast_pair()) {
        let (sa, sb) = (Shape::new(a.clone()), Shape::new(b));
        let out = Shape::broadcast(&sa, &sb);
        prop_assert_eq!(out.clone(), Shape::broadcast(&sb, &sa));
        prop_assert_eq!(out, Some(sa));
    }

    #[test]
    fn a_binary_op_equals_the_op_on_explicitly_broadcast_operands((a, b) in broadcast_pair(), seed in 0u64..100) {
        let x = tensor(&a, seed);
        let y = tensor(&b, seed + 1);
        let out = Shape::new(a);
        let implicit = x.mul(&y).to_vec();
        let explicit = x.broadcast_to(&out).mul(&y.broadcast_to(&out)).to_vec();
        prop_assert_eq!(implicit, explicit);
    }

    #[test]
    fn sum_to_is_the_adjoint_of_broadcast_to((a, b) in broadcast_pair(), seed in 0u64..100) {
        // ⟨broadcast(x), y⟩ = ⟨x, sum_to(y)⟩ for all x, y: the identity behind every broadcast backward.
        let x = tensor(&b, seed);
        let y = tensor(&a, seed + 1);
        let out = Shape::new(a);
        let lhs = dot(&x.broadcast_to(&out), &y);
        let rhs = dot(&x, &y.sum_to(x.shape()));
        prop_assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{} vs {}", lhs, rhs);
    }

    #[test]
    fn slice_and_pad_are_adjoint(rows in 1usize..6, cols in 1usize..6, top in 0usize..3, left in 0usize..3, seed in 0u64..100) {
        // ⟨pad(x), y⟩ = ⟨x, slice(y)⟩ with zero padding.
        let x = tensor(&[rows, cols], seed);
        let y = tensor(&[rows + top + 1, cols + left + 2], seed + 1);
        let lhs = dot(&x.pad(&[top, left], &[1, 2], 0.0), &y);
        let rhs = dot(&x, &y.slice(&[top..top + rows, left..left + cols]));
        prop_assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()));
    }
}
