//! The same inputs give bit-identical outputs with 1, 2 and 4 rayon threads on `SimdBackend`:
//! sgemm tiles, convolution chunks, reduction chunks and batch norm's per-channel sums depend on
//! shapes only.

use neurite_backend_simd::SimdBackend;
use neurite_core::{Rng, Tensor};

mod common;

type T = Tensor<SimdBackend>;

fn bits_with_threads(threads: usize, f: &(dyn Fn() -> Vec<Vec<f32>> + Sync)) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    pool.install(|| f().into_iter().map(|v| v.into_iter().map(f32::to_bits).collect()).collect())
}

fn check(f: &(dyn Fn() -> Vec<Vec<f32>> + Sync)) {
    let one = bits_with_threads(1, f);
    assert!(one.iter().all(|v| !v.is_empty()));
    assert_eq!(one, bits_with_threads(2, f), "1 vs 2 threads");
    assert_eq!(one, bits_with_threads(4, f), "1 vs 4 threads");
}

#[test]
fn matmul_is_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(1);
        let a = T::randn([300, 257], 0.0, 1.0, &mut rng);
        let b = T::randn([513, 257], 0.0, 1.0, &mut rng);
        vec![
            a.matmul_t(&b, false, true).to_vec(),
            a.matmul_t(&a, true, false).to_vec(),
            b.matmul_t(&a, false, true).to_vec(),
        ]
    });
}

#[test]
fn a_cnn_training_step_is_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(3);
        let x = T::randn([37, 1, 14, 14], 0.0, 1.0, &mut rng);
        let c1 = T::randn([8, 1, 5, 5], 0.0, 0.3, &mut rng).require_grad();
        let w = T::randn([10, 8 * 7 * 7], 0.0, 0.1, &mut rng).require_grad();
        let labels = T::from_vec((0..37).map(|i| (i % 10) as f32).collect(), [37]).one_hot(10);
        let h = x.conv2d(&c1, None, (1, 1), (2, 2)).relu().max_pool2d((2, 2), (2, 2), (0, 0));
        let loss = h.flatten_batch().matmul_t(&w, false, true).softmax_cross_entropy(&labels);
        let g = loss.backward();
        let big = T::randn([1_000_003], 0.0, 1.0, &mut rng);
        vec![loss.to_vec(), g.get(&c1).unwrap().to_vec(), g.get(&w).unwrap().to_vec(), big.sum().to_vec()]
    });
}

#[test]
fn a_resnet_training_step_is_identical_at_any_thread_count() {
    check(&common::resnet_step);
}

#[test]
fn convolution_gradients_on_large_maps_are_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(5);
        let x = T::randn([19, 3, 30, 30], 0.0, 1.0, &mut rng).require_grad();
        let w = T::randn([7, 3, 3, 3], 0.0, 0.3, &mut rng).require_grad();
        let weights = T::randn([19, 7, 30, 30], 0.0, 1.0, &mut rng);
        let y = x.conv2d(&w, None, (1, 1), (1, 1));
        let g = y.mul(&weights).sum().backward();
        vec![y.to_vec(), g.get(&x).unwrap().to_vec(), g.get(&w).unwrap().to_vec()]
    });
}
