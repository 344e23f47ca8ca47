//! Property tests: on random shapes with odd sizes (0, 1, 7, 33, 257 …), every kernel of
//! `SimdBackend` agrees with `CpuBackend` within the stated tolerances: element-wise ≤ 1e-6
//! relative, reductions ≤ 1e-5, matmul and convolution ≤ 1e-4 (each plus the same absolute floor).

use neurite_backend_cpu::CpuBackend as C;
use neurite_backend_simd::SimdBackend as S;
use neurite_core::backend::{Backend, BiasAct, BinaryOp, Conv2dSpec, MatmulSpec, Pool2dSpec, ReduceOp, UnaryOp};
use neurite_core::conformance::elementwise::UNARY_OPS;
use neurite_core::{Rng, Shape};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol * (1.0 + w.abs());
        prop_assert!(ok, "{} element {}: simd {} vs cpu {}", what, i, g, w);
    }
    Ok(())
}

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![Just(0), Just(1), Just(7), Just(33), Just(257), 1usize..16]
}

fn data(n: usize, seed: u64) -> Vec<f32> {
    Rng::seed(seed).uniform_vec(n, -3.0, 3.0)
}

fn s(x: &[f32]) -> <S as Backend>::Storage {
    S::from_vec(x.to_vec())
}

fn v(x: &<S as Backend>::Storage) -> Vec<f32> {
    S::to_vec(x)
}

proptest! {
    // A fixed seed: the same cases on every run and machine, so CI cannot flake.
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: RngSeed::Fixed(0x6e65_7572),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn unary_ops_match(n in dim(), extra in 0usize..3000, seed in 0u64..1000) {
        let x = data(n + extra, seed);
        let pos: Vec<f32> = x.iter().map(|v| v.abs() + 0.01).collect();
        for &op in UNARY_OPS {
            let input = if matches!(op, UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::PowScalar(_)) { &pos } else { &x };
            close(&format!("{op:?}"), &v(&S::unary(op, &s(input))), &C::unary(op, &input.clone()), 1e-6)?;
        }
    }

    #[test]
    fn binary_ops_match(a in prop::collection::vec(dim(), 0..3), ones in prop::collection::vec(any::<bool>(), 3), seed in 0u64..1000) {
        let b: Vec<usize> = a.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
        let (sa, sb) = (Shape::new(a), Shape::new(b));
        let x = data(sa.numel(), seed);
        let y: Vec<f32> = data(sb.numel(), seed + 1).iter().map(|v| v + 4.0).collect();
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max, BinaryOp::Le] {
            close(&format!("{op:?}"), &v(&S::binary(op, &s(&x), &sa, &s(&y), &sb)), &C::binary(op, &x, &sa, &y, &sb), 1e-6)?;
            close(&format!("{op:?} swapped"), &v(&S::binary(op, &s(&y), &sb, &s(&x), &sa)), &C::binary(op, &y, &sb, &x, &sa), 1e-6)?;
        }
    }

    #[test]
    fn matmul_matches(m in dim(), k in dim(), n in dim(), batch in 1usize..3, ta in any::<bool>(), tb in any::<bool>(), shared in 0usize..3, seed in 0u64..1000) {
        let spec = MatmulSpec {
            batch, lhs_transposed: ta, rhs_transposed: tb,
            lhs_batched: shared != 1, rhs_batched: shared != 2,
            ..MatmulSpec::plain(m, k, n)
        };
        let a = data(if spec.lhs_batched { batch } else { 1 } * m * k, seed);
        let b = data(if spec.rhs_batched { batch } else { 1 } * k * n, seed + 1);
        close("matmul", &v(&S::matmul(&s(&a), &s(&b), spec)), &C::matmul(&a, &b, spec), 1e-4)?;
    }

    #[test]
    fn reductions_and_softmax_match(dims in prop::collection::vec(dim(), 1..4), axis_pick in 0usize..3, seed in 0u64..1000) {
        let shape = Shape::new(dims.clone());
        let axis = axis_pick % dims.len();
        let x = data(shape.numel(), seed);
        for op in [ReduceOp::Max, ReduceOp::Min, ReduceOp::ArgMax] {
            close(&format!("{op:?}"), &v(&S::reduce(op, &s(&x), &shape, axis)), &C::reduce(op, &x, &shape, axis), 1e-5)?;
        }
        // Sums are compared relative to Σ|x| of their lane (the condition of the sum): the two
        // backends add in different orders, and cancellation can leave a small total.
        let abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let scale = C::reduce(ReduceOp::Sum, &abs, &shape, axis);
        for op in [ReduceOp::Sum, ReduceOp::Mean] {
            if op == ReduceOp::Mean && dims[axis] == 0 { continue; }
            let got = v(&S::reduce(op, &s(&x), &shape, axis));
            let want = C::reduce(op, &x, &shape, axis);
            let len = if op == ReduceOp::Mean { dims[axis] as f32 } else { 1.0 };
            for i in 0..want.len() {
                prop_assert!((got[i] - want[i]).abs() <= 1e-5 * (1.0 + scale[i] / len), "{:?} element {}: {} vs {}", op, i, got[i], want[i]);
            }
        }
        let cols = *dims.last().unwrap();
        let rows = shape.numel().checked_div(cols).unwrap_or(0);
        close("softmax", &v(&S::softmax_rows(&s(&x), rows, cols)), &C::softmax_rows(&x, rows, cols), 1e-5)?;
        close("log_softmax", &v(&S::log_softmax_rows(&s(&x), rows, cols)), &C::log_softmax_rows(&x, rows, cols), 1e-5)?;
        let mut axes: Vec<usize> = (0..dims.len()).collect();
        axes.rotate_left(1);
        prop_assert_eq!(v(&S::permute(&s(&x), &shape, &axes)), C::permute(&x, &shape, &axes));
    }

    #[test]
    fn bias_activation_matches(outer in dim(), channels in 1usize..40, inner in prop_oneof![Just(1usize), Just(7), Just(33), Just(257)], act in 0usize..4, seed in 0u64..1000) {
        let act = [BiasAct::None, BiasAct::Relu, BiasAct::Sigmoid, BiasAct::Tanh][act];
        let n = outer * channels * inner;
        let (x, bias, dy) = (data(n, seed), data(channels, seed + 1), data(n, seed + 2));
        let y = C::bias_act(&x, &bias, channels, inner, act);
        close("bias_act", &v(&S::bias_act(&s(&x), &s(&bias), channels, inner, act)), &y, 1e-6)?;
        let (dzs, dbs) = S::bias_act_backward(&s(&y), &s(&dy), channels, inner, act);
        let (dzc, dbc) = C::bias_act_backward(&y, &dy, channels, inner, act);
        close("bias_act dz", &v(&dzs), &dzc, 1e-6)?;
        // The bias gradient is a sum of outer·inner terms: a reduction's tolerance, relative to Σ|dz|.
        let scale: f32 = dzc.iter().map(|d| d.abs()).sum::<f32>().max(1.0);
        let dbs: Vec<f32> = v(&dbs).iter().map(|d| d / scale).collect();
        let dbc: Vec<f32> = dbc.iter().map(|d| d / scale).collect();
        close("bias_act dbias", &dbs, &dbc, 1e-5)?;
    }

    #[test]
    fn convolution_matches(batch in 1usize..5, c in 1usize..4, h in 1usize..12, w in 1usize..12, f in 1usize..5, k in 1usize..4, stride in 1usize..3, pad in 0usize..2, seed in 0u64..1000) {
        prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
        let spec = Conv2dSpec { batch, in_channels: c, height: h, width: w, out_channels: f, kernel_h: k, kernel_w: k, stride: (stride, stride), padding: (pad, pad) };
        let x = data(spec.input_shape().numel(), seed);
        let wt = data(spec.weight_shape().numel(), seed + 1);
        let dy = data(spec.output_shape().numel(), seed + 2);
        close("conv2d", &v(&S::conv2d(&s(&x), &s(&wt), &spec)), &C::conv2d(&x, &wt, &spec), 1e-4)?;
        close("dx", &v(&S::conv2d_backward_input(&s(&dy), &s(&wt), &spec)), &C::conv2d_backward_input(&dy, &wt, &spec), 1e-4)?;
        close("dw", &v(&S::conv2d_backward_weight(&s(&x), &s(&dy), &spec)), &C::conv2d_backward_weight(&x, &dy, &spec), 1e-4)?;
        close("im2col", &v(&S::im2col(&s(&x), &spec)), &C::im2col(&x, &spec), 0.0)?;
        let cols = data(spec.cols_shape().numel(), seed + 3);
        close("col2im", &v(&S::col2im(&s(&cols), &spec)), &C::col2im(&cols, &spec), 1e-5)?;
    }

    #[test]
    fn pooling_matches(batch in 1usize..4, c in 1usize..4, h in 1usize..10, w in 1usize..10, k in 1usize..4, stride in 1usize..3, padded in any::<bool>(), seed in 0u64..1000) {
        prop_assume!(h >= k && w >= k);
        // Unpadded windows include the 2×2, stride-2 fast path.
        let pad = if padded { k / 2 } else { 0 };
        let spec = Pool2dSpec { batch, channels: c, height: h, width: w, kernel: (k, k), stride: (stride, stride), padding: (pad, pad) };
        let x = data(batch * c * h * w, seed);
        let (ys, is) = S::max_pool2d(&s(&x), &spec);
        let (yc, ic) = C::max_pool2d(&x, &spec);
        close("max_pool2d", &v(&ys), &yc, 0.0)?;
        prop_assert_eq!(&is, &ic);
        let dy = data(yc.len(), seed + 1);
        close("max_pool2d backward", &v(&S::max_pool2d_backward(&s(&dy), &is, &spec)), &C::max_pool2d_backward(&dy, &ic, &spec), 1e-6)?;
        close("avg_pool2d", &v(&S::avg_pool2d(&s(&x), &spec)), &C::avg_pool2d(&x, &spec), 1e-6)?;
        close("avg_pool2d backward", &v(&S::avg_pool2d_backward(&s(&dy), &spec)), &C::avg_pool2d_backward(&dy, &spec), 1e-6)?;
    }
}
