//! Residual networks: a steady-state training step takes every tensor buffer of pooled size from
//! the pool, and what a step holds grows with depth by no more than what backward keeps per block.
//! (Its own binary: the pool's counter is global.)
//!
//! The first step on an empty pool allocates a buffer for everything alive at once, so its count
//! measures the step's peak. A block of two convolutions keeps for backward the two convolution
//! outputs, the two batch-norm outputs (each fused with its ReLU, or the sum's) and the block's
//! output: five maps, plus its two weight gradients; the transient buffers of a kernel (padded
//! planes, packed weights) go back to the pool before the next kernel runs. So a ResNet-20 (nine
//! blocks) may need at most 7 buffers per block more than a ResNet-8 (three).

use neurite_backend_simd::{SimdBackend, clear_pool, fresh_allocations};
use neurite_core::{Rng, Tensor};
use neurite_nn::Module;
use neurite_nn::models::ResNetConfig;
use neurite_optim::{Optimizer, SgdConfig};

type T = Tensor<SimdBackend>;

/// Fresh buffers of a cold step, then of three steady steps, for a ResNet of `depth`.
fn allocations(depth: usize) -> (usize, usize, f32, f32) {
    clear_pool();
    let mut net = ResNetConfig::new([3, 24, 24], 10, depth).init::<SimdBackend>(3).expect("builds");
    let mut sgd = SgdConfig { lr: 0.05, weight_decay: 0.0 }.init().expect("valid settings");
    let mut rng = Rng::seed(4);
    let x = T::randn([8, 3, 24, 24], 0.0, 1.0, &mut rng);
    let t = T::from_vec((0..8).map(|i| (i % 10) as f32).collect(), [8]).one_hot(10);
    let mut step = || {
        let loss = net.forward(&x).softmax_cross_entropy(&t);
        let grads = loss.backward();
        sgd.step(&mut net.params_mut(), &grads);
        loss.item()
    };
    let before = fresh_allocations();
    let first = step();
    let cold = fresh_allocations() - before;
    step();
    let warm = fresh_allocations();
    let mut loss = first;
    for _ in 0..3 {
        loss = step();
    }
    (cold, fresh_allocations() - warm, first, loss)
}

#[test]
fn resnet_steps_reuse_their_buffers_and_grow_with_depth_by_what_backward_keeps() {
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a rayon pool");
    let ((cold8, steady8, ..), (cold20, steady20, first, last)) =
        one_thread.install(|| (allocations(8), allocations(20)));
    assert_eq!((steady8, steady20), (0, 0), "tensor buffers allocated fresh in steady-state ResNet steps");
    assert!(last < first, "the same batch five times: loss {first} → {last}");
    let per_block = (cold20 - cold8) as f64 / 6.0;
    eprintln!("cold step: ResNet-8 {cold8} buffers, ResNet-20 {cold20}: {per_block:.1} per extra block");
    assert!(cold20 > cold8, "a deeper network keeps more activations");
    assert!(per_block <= 7.0, "{per_block:.1} buffers per extra block ({cold8} → {cold20})");
}
