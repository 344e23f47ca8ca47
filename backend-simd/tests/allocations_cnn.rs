//! A steady-state training step of a small CNN (two convolutions with fused bias and ReLU, max
//! pooling, a dense layer) takes every tensor buffer of pooled size from the pool: the
//! convolution's per-chunk column matrices, its products and the weight gradient's partial sums
//! included. (Its own binary: the pool's counter is global, and the MLP test beside it counts too.)
//!
//! How many per-chunk buffers are alive at once depends on how rayon's threads steal the chunks
//! (a thread waiting inside one chunk may start another), so a later step can need one buffer
//! more than any step before it. On one thread the schedule is fixed and the count exact; on the
//! shared pool the test bounds the growth instead.

use neurite_backend_simd::{SimdBackend, fresh_allocations};
use neurite_core::{BiasAct, Rng, Tensor};

type T = Tensor<SimdBackend>;

#[test]
fn a_steady_state_cnn_step_allocates_no_tensor_memory() {
    let mut rng = Rng::seed(2);
    let mut params = vec![
        T::randn([8, 1, 5, 5], 0.0, 0.4, &mut rng).require_grad(),
        T::zeros([8]).require_grad(),
        T::randn([16, 8, 5, 5], 0.0, 0.1, &mut rng).require_grad(),
        T::zeros([16]).require_grad(),
        T::randn([10, 16 * 7 * 7], 0.0, 0.03, &mut rng).require_grad(),
        T::zeros([10]).require_grad(),
    ];
    // 16 images: the second convolution runs as 16 one-image chunks, summed in 8 groups of two.
    let x = T::rand_uniform([16, 1, 28, 28], 0.0, 1.0, &mut rng);
    let t = T::from_vec((0..16).map(|i| (i % 10) as f32).collect(), [16]).one_hot(10);
    let step = |params: &mut Vec<T>| {
        let p = &*params;
        let pool = |h: T| h.max_pool2d((2, 2), (2, 2), (0, 0));
        let h = pool(x.conv2d(&p[0], None, (1, 1), (2, 2)).bias_act(&p[1], BiasAct::Relu));
        let h = pool(h.conv2d(&p[2], None, (1, 1), (2, 2)).bias_act(&p[3], BiasAct::Relu));
        let loss =
            h.flatten_batch().matmul_t(&p[4], false, true).bias_act(&p[5], BiasAct::None).softmax_cross_entropy(&t);
        let grads = loss.backward();
        let grads: Vec<T> = params.iter().map(|q| grads.get(q).expect("in graph").clone()).collect();
        for (q, g) in params.iter_mut().zip(&grads) {
            q.update_data(|v| v.iter_mut().zip(g.as_slice()).for_each(|(v, d)| *v -= 0.05 * d));
        }
        loss.item()
    };
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a rayon pool");
    let (first, cold, loss) = one_thread.install(|| {
        let before = fresh_allocations();
        let first = step(&mut params);
        let cold = fresh_allocations() - before;
        for _ in 0..2 {
            step(&mut params);
        }
        let fresh = fresh_allocations();
        let loss = step(&mut params);
        assert_eq!(fresh_allocations(), fresh, "tensor buffers allocated fresh in a steady-state CNN step");
        (first, cold, loss)
    });
    assert!(cold > 0, "the first step fills the pool");
    // The same batch four times: the loss must have come down.
    assert!(loss < first, "loss {first} → {loss}");
    // On all threads: after a few steps to grow the pool to the threads' needs, ten steps together
    // allocate fewer buffers than the one cold step did (without the pool, each would allocate as many).
    for _ in 0..3 {
        step(&mut params);
    }
    let fresh = fresh_allocations();
    for _ in 0..10 {
        step(&mut params);
    }
    let more = fresh_allocations() - fresh;
    assert!(
        more < cold,
        "{more} buffers allocated fresh in ten steady-state steps on all threads (a cold step: {cold})"
    );
}
