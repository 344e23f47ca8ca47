//! Depth is data: a graph of very many ops is recorded, differentiated and released without
//! recursion, so it cannot overflow the stack (test threads have 2 MiB stacks; a recursive drop
//! of 100,000 nodes needs far more).

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Tensor, no_grad};

#[test]
fn a_chain_of_100_000_ops_backpropagates_and_drops() {
    let x = Tensor::<R>::from_vec(vec![0.5, -1.0, 2.0], [3]).require_grad();
    let mut y = x.clone();
    // y ← 1.0001·y + 0.001 50,000 times (100,000 ops): dy/dx = 1.0001^50000 per element.
    for _ in 0..50_000 {
        y = y.mul_scalar(1.0001).add_scalar(0.001);
    }
    let loss = y.sum();
    let grads = loss.backward();
    let g = grads.get(&x).expect("x has a gradient").to_vec();
    let expected = 1.0001f64.powi(50_000) as f32;
    for v in g {
        assert!((v - expected).abs() <= 1e-3 * expected, "gradient {v}, expected {expected}");
    }
    // The last handles on the graph go here; the test passing is the drop not overflowing.
    drop(loss);
    drop(y);
    assert_eq!(no_grad(|| x.add_scalar(1.0)).to_vec(), vec![1.5, 0.0, 3.0]);
}
