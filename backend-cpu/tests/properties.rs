//! Property tests: on random shapes (sizes 0, 1 and odd included), `CpuBackend` agrees with the
//! single-threaded `ReferenceBackend` kernel by kernel, within stated tolerances.

use neurite_backend_cpu::CpuBackend as C;
use neurite_core::backend::{Backend, BinaryOp, MatmulSpec, ReduceOp};
use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Shape};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn close(got: &[f32], want: &[f32], tol: f32) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        prop_assert!(g == w || (g - w).abs() <= tol * (1.0 + w.abs()), "element {}: {} vs {}", i, g, w);
    }
    Ok(())
}

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0), Just(1), Just(7), Just(33), 1usize..20]
}

/// A shape and a second shape that broadcasts with it (some dimensions set to 1 or dropped).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(dim(), 0..4)
        .prop_flat_map(|a| {
            let n = a.len();
            (Just(a), prop::collection::vec(any::<bool>(), n), 0..=n)
        })
        .prop_map(|(a, ones, drop)| {
            let b: Vec<usize> = a.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
            (a, b[drop.min(b.len())..].to_vec())
        })
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    Rng::seed(seed).uniform_vec(n, -2.0, 2.0)
}

proptest! {
    // A fixed seed: the same cases on every run and machine, so CI cannot flake.
    #![proptest_config(ProptestConfig {
        cases: 64,
        rng_seed: RngSeed::Fixed(0x6e65_7572),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn binary_ops_match_reference((sa, sb) in broadcast_pair(), seed in 0u64..1000, swap in any::<bool>()) {
        let (sa, sb) = if swap { (sb, sa) } else { (sa, sb) };
        let (sa, sb) = (Shape::new(sa), Shape::new(sb));
        let a = data(sa.numel(), seed);
        let b = data(sb.numel(), seed + 1);
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Max, BinaryOp::Gt] {
            close(&C::binary(op, &a, &sa, &b, &sb), &R::binary(op, &a, &sa, &b, &sb), 1e-6)?;
        }
    }

    #[test]
    fn matmul_matches_reference(m in dim(), k in dim(), n in dim(), batch in 1usize..3, ta in any::<bool>(), tb in any::<bool>(), seed in 0u64..1000) {
        let spec = MatmulSpec { batch, lhs_transposed: ta, rhs_transposed: tb, ..MatmulSpec::plain(m, k, n) };
        let a = data(batch * m * k, seed);
        let b = data(batch * k * n, seed + 1);
        close(&C::matmul(&a, &b, spec), &R::matmul(&a, &b, spec), 1e-4)?;
    }

    #[test]
    fn reductions_match_reference(dims in prop::collection::vec(dim(), 1..4), axis_pick in 0usize..3, seed in 0u64..1000) {
        let shape = Shape::new(dims.clone());
        let axis = axis_pick % dims.len();
        let x = data(shape.numel(), seed);
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::ArgMin] {
            close(&C::reduce(op, &x, &shape, axis), &R::reduce(op, &x, &shape, axis), 1e-5)?;
        }
    }

    #[test]
    fn permutes_match_reference(dims in prop::collection::vec(dim(), 1..4), seed in 0u64..1000) {
        let shape = Shape::new(dims.clone());
        let x = data(shape.numel(), seed);
        let mut axes: Vec<usize> = (0..dims.len()).collect();
        axes.reverse();
        prop_assert_eq!(C::permute(&x, &shape, &axes), R::permute(&x, &shape, &axes));
    }
}
