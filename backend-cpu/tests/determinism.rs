//! The same inputs give bit-identical outputs with 1, 2 and 4 rayon threads: every kernel splits
//! its work the same way whatever the pool size, and long sums use fixed-size chunks.

use neurite_backend_cpu::CpuBackend;
use neurite_core::{Rng, Tensor};

type T = Tensor<CpuBackend>;

/// Runs `f` on a pool of `threads` threads and returns the bit patterns of what it produced.
fn bits_with_threads(threads: usize, f: &(dyn Fn() -> Vec<Vec<f32>> + Sync)) -> Vec<Vec<u32>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
    pool.install(|| f().into_iter().map(|v| v.into_iter().map(f32::to_bits).collect()).collect())
}

fn check(f: &(dyn Fn() -> Vec<Vec<f32>> + Sync)) {
    let one = bits_with_threads(1, f);
    assert!(!one.is_empty() && one.iter().all(|v| !v.is_empty()));
    assert_eq!(one, bits_with_threads(2, f), "1 vs 2 threads");
    assert_eq!(one, bits_with_threads(4, f), "1 vs 4 threads");
}

#[test]
fn matmul_is_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(1);
        let a = T::randn([257, 300], 0.0, 1.0, &mut rng);
        let b = T::randn([129, 300], 0.0, 1.0, &mut rng);
        vec![a.matmul_t(&b, false, true).to_vec(), a.matmul_t(&a, true, false).to_vec()]
    });
}

#[test]
fn long_reductions_are_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(2);
        let x = T::randn([1_000_003], 0.0, 1.0, &mut rng);
        let m = T::randn([300, 1000], 0.0, 1.0, &mut rng);
        vec![
            x.sum().to_vec(),
            m.sum_axis(0, false).to_vec(),
            m.sum_axis(1, false).to_vec(),
            m.max_axis(0, false).to_vec(),
            m.softmax(1).to_vec(),
        ]
    });
}

#[test]
fn a_training_step_is_identical_at_any_thread_count() {
    check(&|| {
        let mut rng = Rng::seed(3);
        let x = T::randn([64, 1, 12, 12], 0.0, 1.0, &mut rng);
        let conv = T::randn([8, 1, 3, 3], 0.0, 0.3, &mut rng).require_grad();
        let w = T::randn([10, 8 * 5 * 5], 0.0, 0.1, &mut rng).require_grad();
        let labels = T::from_vec((0..64).map(|i| (i % 10) as f32).collect(), [64]).one_hot(10);
        let h = x.conv2d(&conv, None, (1, 1), (0, 0)).relu().max_pool2d((2, 2), (2, 2), (0, 0));
        let logits = h.flatten_batch().matmul_t(&w, false, true);
        let loss = logits.softmax_cross_entropy(&labels);
        let g = loss.backward();
        vec![loss.to_vec(), g.get(&conv).unwrap().to_vec(), g.get(&w).unwrap().to_vec()]
    });
}
