//! Conformance of convolution (im2col, col2im, conv2d and its two gradients), pooling, and the
//! fused batch-norm and residual-sum passes.

use super::{assert_close, random, store, values};
use crate::backend::{Backend, BatchNormSpec, BiasAct, Conv2dSpec, Pool2dSpec};
use crate::reference::{self, ReferenceBackend};

#[allow(clippy::too_many_arguments)]
fn spec(n: usize, c: usize, h: usize, w: usize, f: usize, k: usize, stride: usize, pad: usize) -> Conv2dSpec {
    Conv2dSpec {
        batch: n,
        in_channels: c,
        height: h,
        width: w,
        out_channels: f,
        kernel_h: k,
        kernel_w: k,
        stride: (stride, stride),
        padding: (pad, pad),
    }
}

/// A 3×3 image 1..9 unfolded for a 2×2 kernel: four rows (one per kernel cell), four columns
/// (one per output position).
pub fn im2col_by_hand<B: Backend>() {
    let s = spec(1, 1, 3, 3, 1, 2, 1, 0);
    let x = store::<B>(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    let cols = values::<B>(&B::im2col(&x, &s));
    #[rustfmt::skip]
    let want = vec![
        1., 2., 4., 5.,   // kernel cell (0, 0) at each output position
        2., 3., 5., 6.,   // (0, 1)
        4., 5., 7., 8.,   // (1, 0)
        5., 6., 8., 9.,   // (1, 1)
    ];
    assert_eq!(cols, want);
    // col2im sums each cell back: the centre pixel 5 appears four times.
    let back = values::<B>(&B::col2im(&store::<B>(&[1.0; 16]), &s));
    assert_eq!(back, vec![1., 2., 1., 2., 4., 2., 1., 2., 1.]);
}

/// Kernel [[1, 0], [0, −1]] on 1..9: each output is x[i][j] − x[i+1][j+1] = −4.
pub fn conv2d_by_hand<B: Backend>() {
    let s = spec(1, 1, 3, 3, 1, 2, 1, 0);
    let x = store::<B>(&[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
    let w = store::<B>(&[1., 0., 0., -1.]);
    assert_eq!(values::<B>(&B::conv2d(&x, &w, &s)), vec![-4.; 4]);
    // With padding 1 and a 1-channel all-ones 3×3 kernel: sums of 3×3 neighbourhoods.
    let s = spec(1, 1, 3, 3, 1, 3, 1, 1);
    let ones = store::<B>(&[1.; 9]);
    assert_eq!(values::<B>(&B::conv2d(&x, &ones, &s)), vec![12., 21., 16., 27., 45., 33., 24., 39., 28.]);
}

/// Direct seven-loop convolution: the definition.
fn direct_conv(x: &[f32], w: &[f32], s: &Conv2dSpec) -> Vec<f32> {
    let (oh, ow) = (s.out_h(), s.out_w());
    let mut out = vec![0.0; s.batch * s.out_channels * oh * ow];
    for n in 0..s.batch {
        for f in 0..s.out_channels {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = 0.0;
                    for c in 0..s.in_channels {
                        for ky in 0..s.kernel_h {
                            for kx in 0..s.kernel_w {
                                let y = (oy * s.stride.0 + ky) as isize - s.padding.0 as isize;
                                let xx = (ox * s.stride.1 + kx) as isize - s.padding.1 as isize;
                                if y >= 0 && xx >= 0 && (y as usize) < s.height && (xx as usize) < s.width {
                                    let xi = ((n * s.in_channels + c) * s.height + y as usize) * s.width + xx as usize;
                                    let wi = ((f * s.in_channels + c) * s.kernel_h + ky) * s.kernel_w + kx;
                                    acc += x[xi] * w[wi];
                                }
                            }
                        }
                    }
                    out[((n * s.out_channels + f) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
    out
}

/// (batch, channels, height, width, filters, kernel, stride, padding)
type Geometry = (usize, usize, usize, usize, usize, usize, usize, usize);

const SPECS: &[Geometry] = &[
    (1, 1, 5, 5, 1, 3, 1, 0),
    (2, 3, 7, 9, 4, 3, 2, 1),
    (3, 2, 8, 8, 5, 5, 1, 2),
    (2, 1, 28, 28, 8, 5, 1, 0),
    (1, 4, 9, 7, 3, 1, 1, 0),
    // Batches past eight, which backends may cut into chunks of several images (19 = 6·3 + 1: a
    // last chunk of one), at stride 1 and 2.
    (19, 3, 6, 6, 5, 3, 1, 1),
    (9, 2, 5, 5, 3, 3, 2, 1),
    // A large image in a batch of eleven, and a kernel of a width no block is built for.
    (11, 3, 23, 23, 4, 3, 1, 1),
    (2, 2, 24, 24, 3, 7, 1, 3),
];

/// Odd geometries (stride, padding, 1×1 kernels, MNIST-sized images) agree with the definition.
pub fn conv2d_matches_direct_loops<B: Backend>() {
    for (i, &(n, c, h, w, f, k, st, p)) in SPECS.iter().enumerate() {
        let s = spec(n, c, h, w, f, k, st, p);
        let x = random(s.input_shape().numel(), 60 + i as u64);
        let wt = random(s.weight_shape().numel(), 70 + i as u64);
        let got = values::<B>(&B::conv2d(&store::<B>(&x), &store::<B>(&wt), &s));
        assert_close(&format!("conv2d {s:?}"), &got, &direct_conv(&x, &wt, &s), 1e-4, 1e-4);
    }
}

/// Both convolution gradients agree with the reference backend's im2col + matmul versions.
pub fn conv2d_gradients_match_reference<B: Backend>() {
    for (i, &(n, c, h, w, f, k, st, p)) in SPECS.iter().enumerate() {
        let s = spec(n, c, h, w, f, k, st, p);
        let x = random(s.input_shape().numel(), 80 + i as u64);
        let wt = random(s.weight_shape().numel(), 90 + i as u64);
        let dy = random(s.output_shape().numel(), 100 + i as u64);
        let got = values::<B>(&B::conv2d_backward_input(&store::<B>(&dy), &store::<B>(&wt), &s));
        let want = <ReferenceBackend as Backend>::conv2d_backward_input(&dy, &wt, &s);
        assert_close(&format!("conv2d dx {s:?}"), &got, &want, 1e-4, 1e-4);
        let got = values::<B>(&B::conv2d_backward_weight(&store::<B>(&x), &store::<B>(&dy), &s));
        let want = <ReferenceBackend as Backend>::conv2d_backward_weight(&x, &dy, &s);
        assert_close(&format!("conv2d dw {s:?}"), &got, &want, 1e-4, 1e-4);
    }
}

fn pool(n: usize, c: usize, h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Pool2dSpec {
    Pool2dSpec {
        batch: n,
        channels: c,
        height: h,
        width: w,
        kernel: (k, k),
        stride: (stride, stride),
        padding: (pad, pad),
    }
}

/// 2×2 max pooling of a 4×4 image, the winners' indices, and the gradient routed to them.
pub fn max_pool_by_hand<B: Backend>() {
    #[rustfmt::skip]
    let x = store::<B>(&[
        1., 3., 2., 0.,
        4., 2., 1., 5.,
        0., 1., 9., 8.,
        2., 6., 7., 3.,
    ]);
    let s = pool(1, 1, 4, 4, 2, 2, 0);
    let (out, idx) = B::max_pool2d(&x, &s);
    assert_eq!(values::<B>(&out), vec![4., 5., 6., 9.]);
    assert_eq!(idx, vec![4, 7, 13, 10]);
    let dx = values::<B>(&B::max_pool2d_backward(&store::<B>(&[1., 2., 3., 4.]), &idx, &s));
    assert_eq!(dx, vec![0., 0., 0., 0., 1., 0., 0., 2., 0., 0., 4., 0., 0., 3., 0., 0.]);
}

/// 2×2 average pooling of a 4×4 image and its gradient (each input gets a quarter).
pub fn avg_pool_by_hand<B: Backend>() {
    let x: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    let s = pool(1, 1, 4, 4, 2, 2, 0);
    // Top-left window: (1 + 2 + 5 + 6)/4 = 3.5.
    assert_eq!(values::<B>(&B::avg_pool2d(&store::<B>(&x), &s)), vec![3.5, 5.5, 11.5, 13.5]);
    let dx = values::<B>(&B::avg_pool2d_backward(&store::<B>(&[4., 8., 12., 16.]), &s));
    assert_eq!(&dx[..4], &[1., 1., 2., 2.]);
    assert_eq!(&dx[12..], &[3., 3., 4., 4.]);
}

/// Pooling with overlap, stride and padding agrees with the reference.
pub fn pooling_matches_reference<B: Backend>() {
    for (i, &(n, c, h, w, k, st, p)) in
        [(2, 3, 7, 9, 3, 2, 1), (1, 1, 28, 28, 2, 2, 0), (3, 2, 5, 5, 3, 1, 1), (1, 1, 1, 1, 1, 1, 0)]
            .iter()
            .enumerate()
    {
        let s = pool(n, c, h, w, k, st, p);
        let x = random(n * c * h * w, 120 + i as u64);
        let dy = random(n * c * s.out_h() * s.out_w(), 130 + i as u64);
        let (out, idx) = B::max_pool2d(&store::<B>(&x), &s);
        let (want, want_idx) = reference::max_pool2d(&x, &s);
        assert_eq!(values::<B>(&out), want, "max_pool2d {s:?}");
        assert_eq!(idx, want_idx, "max_pool2d indices {s:?}");
        let dx = values::<B>(&B::max_pool2d_backward(&store::<B>(&dy), &idx, &s));
        assert_close("max_pool2d backward", &dx, &reference::max_pool2d_backward(&dy, &idx, &s), 1e-6, 1e-6);
        let avg = values::<B>(&B::avg_pool2d(&store::<B>(&x), &s));
        assert_close("avg_pool2d", &avg, &reference::avg_pool2d(&x, &s), 1e-6, 1e-5);
        let davg = values::<B>(&B::avg_pool2d_backward(&store::<B>(&dy), &s));
        assert_close("avg_pool2d backward", &davg, &reference::avg_pool2d_backward(&dy, &s), 1e-6, 1e-5);
    }
}

/// One channel of [1, 2, 3, 6] (mean 3, variance 3.5) with γ = 2, β = 0.5, then ReLU:
/// y = 2·(x − 3)/√3.5 + 0.5 = [−1.638, −0.569, 0.5, 3.707] → [0, 0, 0.5, 3.707].
pub fn batch_norm_by_hand<B: Backend>() {
    let spec = BatchNormSpec { outer: 2, channels: 1, inner: 2, eps: 1e-5, act: BiasAct::Relu };
    let (y, mean, var) = B::batch_norm(&store::<B>(&[1., 2., 3., 6.]), &store::<B>(&[2.]), &store::<B>(&[0.5]), &spec);
    assert_close("batch_norm y", &values::<B>(&y), &[0.0, 0.0, 0.5, 3.707_135], 1e-5, 1e-5);
    assert_close("batch_norm mean, var", &[values::<B>(&mean)[0], values::<B>(&var)[0]], &[3.0, 3.5], 1e-6, 1e-6);
}

/// The fused pass against the formula in f64, on shapes with one-value rows ([N, C]), odd rows
/// and long ones, every activation; its gradients against the reference kernel's (which the
/// gradient-check table checks against finite differences).
pub fn batch_norm_matches_formula<B: Backend>() {
    let shapes = [(5, 3, 1), (4, 2, 33), (3, 5, 7), (2, 3, 257), (1, 2, 1000)];
    let acts = [BiasAct::None, BiasAct::Relu, BiasAct::Sigmoid, BiasAct::Tanh];
    for (i, &(outer, channels, inner)) in shapes.iter().enumerate() {
        let act = acts[i % acts.len()];
        let spec = BatchNormSpec { outer, channels, inner, eps: 1e-5, act };
        let x: Vec<f32> = random(outer * channels * inner, 300 + i as u64).iter().map(|v| v * 3.0 + 1.0).collect();
        let gamma = random(channels, 310 + i as u64);
        let beta = random(channels, 320 + i as u64);
        let dy = random(x.len(), 330 + i as u64);
        let (y, mean, var) = B::batch_norm(&store::<B>(&x), &store::<B>(&gamma), &store::<B>(&beta), &spec);
        let mut want = vec![0.0; x.len()];
        for c in 0..channels {
            let idx = |n: usize, j: usize| (n * channels + c) * inner + j;
            let all = || (0..outer).flat_map(move |n| (0..inner).map(move |j| idx(n, j)));
            let m = all().map(|k| f64::from(x[k])).sum::<f64>() / spec.count() as f64;
            let v = all().map(|k| (f64::from(x[k]) - m).powi(2)).sum::<f64>() / spec.count() as f64;
            let scale = f64::from(gamma[c]) / (v + 1e-5).sqrt();
            for k in all() {
                want[k] = act.apply(((f64::from(x[k]) - m) * scale + f64::from(beta[c])) as f32);
            }
            assert_close("batch_norm mean", &[values::<B>(&mean)[c]], &[m as f32], 1e-5, 1e-5);
            assert_close("batch_norm var", &[values::<B>(&var)[c]], &[v as f32], 1e-5, 1e-4);
        }
        assert_close(&format!("batch_norm {spec:?}"), &values::<B>(&y), &want, 1e-4, 1e-4);
        let stats = (&values::<B>(&mean), &values::<B>(&var));
        let (ry, rm, rv) = <ReferenceBackend as Backend>::batch_norm(&x, &gamma, &beta, &spec);
        let got = B::batch_norm_backward(
            &store::<B>(&x),
            &y,
            &store::<B>(&dy),
            &store::<B>(&gamma),
            (&store::<B>(stats.0), &store::<B>(stats.1)),
            &spec,
        );
        let want = <ReferenceBackend as Backend>::batch_norm_backward(&x, &ry, &dy, &gamma, (&rm, &rv), &spec);
        assert_close(&format!("batch_norm dx {spec:?}"), &values::<B>(&got.0), &want.0, 1e-4, 1e-3);
        assert_close(&format!("batch_norm dgamma {spec:?}"), &values::<B>(&got.1), &want.1, 1e-3, 1e-3);
        assert_close(&format!("batch_norm dbeta {spec:?}"), &values::<B>(&got.2), &want.2, 1e-3, 1e-3);
    }
}

/// `add_act` is the sum followed by the activation, and its gradient dy·act′, at every length.
pub fn add_act_matches_add_then_act<B: Backend>() {
    for (i, &n) in super::LENGTHS.iter().enumerate() {
        let (a, b, dy) = (random(n, 340 + i as u64), random(n, 350 + i as u64), random(n, 360 + i as u64));
        for act in [BiasAct::None, BiasAct::Relu, BiasAct::Sigmoid, BiasAct::Tanh] {
            let y = B::add_act(&store::<B>(&a), &store::<B>(&b), act);
            let want: Vec<f32> = a.iter().zip(&b).map(|(&a, &b)| act.apply(a + b)).collect();
            assert_close(&format!("add_act {act:?} of {n}"), &values::<B>(&y), &want, 1e-6, 1e-6);
            let dz = values::<B>(&B::add_act_backward(&y, &store::<B>(&dy), act));
            let want: Vec<f32> = want.iter().zip(&dy).map(|(&y, &g)| g * act.derivative_from_output(y)).collect();
            assert_close(&format!("add_act backward {act:?} of {n}"), &dz, &want, 1e-6, 1e-6);
        }
    }
}
