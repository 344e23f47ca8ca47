//! Conformance of the element-wise kernels: `unary`, `binary`, `where_select`, `broadcast_to`.

use super::{LENGTHS, assert_close, random, shape, store, values};
use crate::backend::{Backend, BinaryOp, UnaryOp};
use crate::reference;

/// Every unary op once, with parameters.
pub const UNARY_OPS: &[UnaryOp] = &[
    UnaryOp::Neg,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sqrt,
    UnaryOp::Square,
    UnaryOp::Abs,
    UnaryOp::Sign,
    UnaryOp::Recip,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Sigmoid,
    UnaryOp::Tanh,
    UnaryOp::Relu,
    UnaryOp::LeakyRelu(0.1),
    UnaryOp::Elu(1.0),
    UnaryOp::Gelu,
    UnaryOp::Softplus,
    UnaryOp::Step,
    UnaryOp::LeakyReluDeriv(0.1),
    UnaryOp::EluDeriv(1.0),
    UnaryOp::GeluDeriv,
    UnaryOp::AddScalar(1.5),
    UnaryOp::MulScalar(-3.0),
    UnaryOp::PowScalar(2.5),
    UnaryOp::Clamp(-0.5, 0.5),
];

/// Every binary op.
pub const BINARY_OPS: &[BinaryOp] = &[
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Pow,
    BinaryOp::Max,
    BinaryOp::Min,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
];

fn un<B: Backend>(op: UnaryOp, x: &[f32]) -> Vec<f32> {
    values::<B>(&B::unary(op, &store::<B>(x)))
}

/// Each unary op on values whose results are known exactly or to many digits.
pub fn unary_hand_values<B: Backend>() {
    let e = std::f32::consts::E;
    let cases: &[(UnaryOp, &[f32], &[f32])] = &[
        (UnaryOp::Neg, &[1.0, -2.0, 0.0], &[-1.0, 2.0, 0.0]),
        (UnaryOp::Exp, &[0.0, 1.0, -1.0], &[1.0, e, 1.0 / e]),
        (UnaryOp::Log, &[1.0, e, 0.0], &[0.0, 1.0, f32::NEG_INFINITY]),
        (UnaryOp::Sqrt, &[4.0, 0.0, 2.25], &[2.0, 0.0, 1.5]),
        (UnaryOp::Square, &[3.0, -0.5], &[9.0, 0.25]),
        (UnaryOp::Abs, &[-2.0, 3.0], &[2.0, 3.0]),
        (UnaryOp::Sign, &[-2.0, 0.0, 5.0], &[-1.0, 0.0, 1.0]),
        (UnaryOp::Recip, &[4.0, -0.5], &[0.25, -2.0]),
        (UnaryOp::Sin, &[0.0, std::f32::consts::FRAC_PI_2], &[0.0, 1.0]),
        (UnaryOp::Cos, &[0.0, std::f32::consts::PI], &[1.0, -1.0]),
        // σ(0) = 1/2, σ(ln 3) = 3/4, and no overflow far out.
        (UnaryOp::Sigmoid, &[0.0, 3f32.ln(), -100.0, 100.0], &[0.5, 0.75, 0.0, 1.0]),
        // tanh(ln 2) = (2 − 1/2)/(2 + 1/2) = 0.6
        (UnaryOp::Tanh, &[0.0, 2f32.ln(), 50.0], &[0.0, 0.6, 1.0]),
        (UnaryOp::Relu, &[-1.0, 0.0, 2.0], &[0.0, 0.0, 2.0]),
        (UnaryOp::LeakyRelu(0.1), &[-2.0, 3.0], &[-0.2, 3.0]),
        // ELU(−1) = e⁻¹ − 1
        (UnaryOp::Elu(1.0), &[-1.0, 2.0], &[1.0 / e - 1.0, 2.0]),
        // GELU(1) = ½(1 + tanh(√(2/π)·1.044715)) = 0.841192
        (UnaryOp::Gelu, &[0.0, 1.0], &[0.0, 0.841_192]),
        // softplus(0) = ln 2, and softplus(x) ≈ x for large x without overflow.
        (UnaryOp::Softplus, &[0.0, 100.0, -100.0], &[std::f32::consts::LN_2, 100.0, 0.0]),
        (UnaryOp::Step, &[-1.0, 0.0, 0.5], &[0.0, 0.0, 1.0]),
        (UnaryOp::LeakyReluDeriv(0.1), &[-1.0, 2.0], &[0.1, 1.0]),
        (UnaryOp::EluDeriv(1.0), &[0.0, 2.0], &[1.0, 1.0]),
        // GELU'(0) = 1/2
        (UnaryOp::GeluDeriv, &[0.0], &[0.5]),
        (UnaryOp::AddScalar(1.5), &[1.0], &[2.5]),
        (UnaryOp::MulScalar(-3.0), &[2.0], &[-6.0]),
        (UnaryOp::PowScalar(0.5), &[9.0], &[3.0]),
        (UnaryOp::Clamp(-0.5, 0.5), &[-2.0, 0.25, 2.0], &[-0.5, 0.25, 0.5]),
    ];
    for &(op, x, want) in cases {
        assert_close(&format!("{op:?}"), &un::<B>(op, x), want, 1e-6, 1e-5);
    }
}

/// Each unary op agrees with [`UnaryOp::apply`] at every length in [`LENGTHS`].
pub fn unary_matches_reference_at_every_length<B: Backend>() {
    for &n in LENGTHS {
        let x = random(n, n as u64);
        let positive: Vec<f32> = x.iter().map(|v| v.abs() + 0.1).collect();
        for &op in UNARY_OPS {
            let input = if matches!(op, UnaryOp::Log | UnaryOp::Sqrt | UnaryOp::PowScalar(_)) { &positive } else { &x };
            let want = reference::unary(op, input);
            assert_close(&format!("{op:?} at length {n}"), &un::<B>(op, input), &want, 1e-6, 1e-6);
        }
    }
}

fn bin<B: Backend>(op: BinaryOp, a: &[f32], sa: &[usize], b: &[f32], sb: &[usize]) -> Vec<f32> {
    values::<B>(&B::binary(op, &store::<B>(a), &shape(sa), &store::<B>(b), &shape(sb)))
}

/// Binary ops and broadcasting on small hand-computed cases.
pub fn binary_hand_values<B: Backend>() {
    // [2, 3] + [3]: the row is added to each row.
    let got = bin::<B>(BinaryOp::Add, &[1., 2., 3., 4., 5., 6.], &[2, 3], &[10., 20., 30.], &[3]);
    assert_eq!(got, vec![11., 22., 33., 14., 25., 36.]);
    // [2, 1] · [3]: an outer product.
    let got = bin::<B>(BinaryOp::Mul, &[2., 3.], &[2, 1], &[1., 10., 100.], &[3]);
    assert_eq!(got, vec![2., 20., 200., 3., 30., 300.]);
    // scalar − [3]
    assert_eq!(bin::<B>(BinaryOp::Sub, &[1.], &[], &[1., 2., 3.], &[3]), vec![0., -1., -2.]);
    assert_eq!(bin::<B>(BinaryOp::Div, &[1., 6.], &[2], &[4., 3.], &[2]), vec![0.25, 2.]);
    assert_close("pow", &bin::<B>(BinaryOp::Pow, &[2., 9.], &[2], &[3., 0.5], &[2]), &[8., 3.], 1e-6, 1e-6);
    assert_eq!(bin::<B>(BinaryOp::Max, &[1., 5.], &[2], &[3.], &[1]), vec![3., 5.]);
    assert_eq!(bin::<B>(BinaryOp::Min, &[1., 5.], &[2], &[3.], &[1]), vec![1., 3.]);
}

/// Every binary op agrees with the reference on broadcasting shape pairs, odd sizes included.
pub fn binary_broadcasting_matches_reference<B: Backend>() {
    let pairs: &[(&[usize], &[usize])] = &[
        (&[257], &[257]),
        (&[33, 257], &[257]),
        (&[257, 33], &[257, 1]),
        (&[1, 7], &[33, 1]),
        (&[2, 1, 9], &[7, 1]),
        (&[], &[31]),
        (&[31], &[]),
        (&[0, 3], &[3]),
        (&[257, 257], &[257, 257]),
        (&[4, 257, 65], &[1, 65]),
    ];
    for (k, &(sa, sb)) in pairs.iter().enumerate() {
        let a = random(sa.iter().product(), 100 + k as u64);
        let b: Vec<f32> = random(sb.iter().product(), 200 + k as u64).iter().map(|v| v + 3.0).collect();
        let a_pos: Vec<f32> = a.iter().map(|v| v.abs() + 0.1).collect();
        for &op in BINARY_OPS {
            let lhs = if op == BinaryOp::Pow { &a_pos } else { &a };
            let want = reference::binary(op, lhs, &shape(sa), &b, &shape(sb));
            assert_close(&format!("{op:?} {sa:?} with {sb:?}"), &bin::<B>(op, lhs, sa, &b, sb), &want, 1e-6, 1e-6);
        }
    }
}

/// Comparisons give exactly 1.0 or 0.0.
pub fn comparisons_give_zero_or_one<B: Backend>() {
    let a = [1., 2., 3.];
    let b = [2.];
    let cases = [
        (BinaryOp::Eq, [0., 1., 0.]),
        (BinaryOp::Ne, [1., 0., 1.]),
        (BinaryOp::Lt, [1., 0., 0.]),
        (BinaryOp::Le, [1., 1., 0.]),
        (BinaryOp::Gt, [0., 0., 1.]),
        (BinaryOp::Ge, [0., 1., 1.]),
    ];
    for (op, want) in cases {
        assert_eq!(bin::<B>(op, &a, &[3], &b, &[1]), want.to_vec(), "{op:?}");
    }
}

/// `where_select` picks per element and broadcasts all three operands.
pub fn where_select_broadcasts<B: Backend>() {
    let cond = store::<B>(&[1., 0.]);
    let a = store::<B>(&[1., 2., 3.]);
    let b = store::<B>(&[-1.]);
    let out = B::where_select((&cond, &shape(&[2, 1])), (&a, &shape(&[3])), (&b, &shape(&[])), &shape(&[2, 3]));
    assert_eq!(values::<B>(&out), vec![1., 2., 3., -1., -1., -1.]);
}

/// `broadcast_to` repeats rows and columns.
pub fn broadcast_to_repeats_rows<B: Backend>() {
    let x = store::<B>(&[1., 2.]);
    assert_eq!(values::<B>(&B::broadcast_to(&x, &shape(&[2]), &shape(&[2, 2]))), vec![1., 2., 1., 2.]);
    assert_eq!(values::<B>(&B::broadcast_to(&x, &shape(&[2, 1]), &shape(&[2, 3]))), vec![1., 1., 1., 2., 2., 2.]);
    let big = random(257, 9);
    let want = reference::broadcast_to(&big, &shape(&[257, 1]), &shape(&[257, 257]));
    assert_eq!(values::<B>(&B::broadcast_to(&store::<B>(&big), &shape(&[257, 1]), &shape(&[257, 257]))), want);
}
