//! End to end: the course's two-layer network learns XOR by plain (full-batch) gradient descent,
//! using nothing but core tensors, autodiff and the seeded RNG.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor, no_grad};

type T = Tensor<R>;

/// Trains 2 → 4 (sigmoid) → 1 (sigmoid) with E = 1/(2N)·Σ(y − t)² and returns the final loss
/// and the network's outputs on the four inputs.
fn train_xor(seed: u64, steps: usize, lr: f32) -> (f32, Vec<f32>) {
    let x = T::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2]);
    let t = T::from_vec(vec![0., 1., 1., 0.], [4, 1]);
    let mut rng = Rng::stream(seed, Stream::Init);
    // Xavier initialisation: randn/√n_in.
    let mut w1 = T::randn([2, 4], 0.0, 1.0 / 2f32.sqrt(), &mut rng).require_grad();
    let mut b1 = T::zeros([4]).require_grad();
    let mut w2 = T::randn([4, 1], 0.0, 1.0 / 4f32.sqrt(), &mut rng).require_grad();
    let mut b2 = T::zeros([1]).require_grad();
    let forward = |w1: &T, b1: &T, w2: &T, b2: &T| x.matmul(w1).add(b1).sigmoid().matmul(w2).add(b2).sigmoid();
    let mut loss = f32::NAN;
    for _ in 0..steps {
        let y = forward(&w1, &b1, &w2, &b2);
        let e = y.sub(&t).square().sum().mul_scalar(0.5 / 4.0);
        loss = e.item();
        let g = e.backward();
        for p in [&mut w1, &mut b1, &mut w2, &mut b2] {
            let step = no_grad(|| p.sub(&g.get(p).expect("every parameter has a gradient").mul_scalar(lr)));
            p.set_data(&step);
        }
    }
    let y = no_grad(|| forward(&w1, &b1, &w2, &b2));
    (loss, y.to_vec())
}

#[test]
fn two_layer_network_learns_xor_with_zero_error() {
    let (loss, y) = train_xor(7, 3000, 2.0);
    let predicted: Vec<u8> = y.iter().map(|&v| u8::from(v > 0.5)).collect();
    assert_eq!(predicted, vec![0, 1, 1, 0], "outputs {y:?}");
    assert!(loss < 0.01, "final loss {loss}");
}

#[test]
fn the_same_seed_trains_the_same_network() {
    let a = train_xor(11, 200, 2.0);
    let b = train_xor(11, 200, 2.0);
    assert_eq!(
        a.1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.1.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_ne!(a.1, train_xor(12, 200, 2.0).1);
}
