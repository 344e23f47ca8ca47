//! The AVX2 kernels and their scalar twins agree: one process computes a ResNet training step at
//! the detected level, then again with the scalar set forced. Batch norm and the residual sum run
//! the same plain-Rust loops at both levels and must agree to the bit; the step as a whole (whose
//! sgemm and activations differ by rounding between levels) within 1e-4 relative.
//! One test in its own binary, because forcing the scalar set is for the whole process.

use neurite_backend_simd::SimdBackend;
use neurite_backend_simd::arch::{self, Level};
use neurite_core::{Backend, BatchNormSpec, BiasAct, Rng};

mod common;

fn fused_kernels() -> Vec<Vec<f32>> {
    let mut rng = Rng::seed(5);
    let spec = BatchNormSpec { outer: 7, channels: 3, inner: 61, eps: 1e-5, act: BiasAct::Relu };
    let store = |v: Vec<f32>| SimdBackend::from_vec(v);
    let x = store(rng.normal_vec(7 * 3 * 61, 1.0, 2.0));
    let (gamma, beta) = (store(rng.normal_vec(3, 1.0, 0.3)), store(rng.normal_vec(3, 0.0, 0.3)));
    let dy = store(rng.normal_vec(7 * 3 * 61, 0.0, 1.0));
    let (y, mean, var) = SimdBackend::batch_norm(&x, &gamma, &beta, &spec);
    let (dx, dgamma, dbeta) = SimdBackend::batch_norm_backward(&x, &y, &dy, &gamma, (&mean, &var), &spec);
    let sum = SimdBackend::add_act(&x, &dy, BiasAct::Relu);
    let dsum = SimdBackend::add_act_backward(&sum, &dy, BiasAct::Relu);
    [y, mean, var, dx, dgamma, dbeta, sum, dsum].iter().map(SimdBackend::to_vec).collect()
}

#[test]
fn avx2_and_scalar_kernels_agree() {
    if arch::level() != Level::Avx2 {
        eprintln!("skipped: this CPU has no AVX2 + FMA, so there is only the scalar level");
        return;
    }
    let (avx2_step, avx2_fused) = (common::resnet_step(), fused_kernels());
    arch::force_scalar();
    assert_eq!(arch::level(), Level::Scalar);
    let (scalar_step, scalar_fused) = (common::resnet_step(), fused_kernels());
    let bits = |v: &[Vec<f32>]| v.iter().map(|t| t.iter().map(|x| x.to_bits()).collect::<Vec<_>>()).collect::<Vec<_>>();
    assert_eq!(bits(&avx2_fused), bits(&scalar_fused), "batch norm and add_act: the same bits at both levels");
    for (i, (a, s)) in avx2_step.iter().zip(&scalar_step).enumerate() {
        let scale = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (u, v) in a.iter().zip(s) {
            assert!((u - v).abs() <= 1e-4 * scale.max(1e-3), "tensor {i}: avx2 {u} vs scalar {v} (max |v| {scale})");
        }
    }
}
