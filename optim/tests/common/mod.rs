//! The small problem the optimizer tests share: two parameters, `w` of shape [2, 2] and `b` of
//! shape [3], and the loss L = Σ ½·a·θ² + c·θ over their seven elements, whose gradient is
//! a·θ + c (element-wise, a and c fixed below). Different curvatures a make the adaptive
//! optimizers differ from plain SGD.
#![allow(dead_code)]

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Gradients, Tensor};

pub type T = Tensor<R>;

pub const W0: [f32; 4] = [0.5, -1.5, 2.0, 0.25];
pub const B0: [f32; 3] = [1.0, -0.3, 0.8];
pub const A: [f32; 7] = [1.0, 2.0, 0.5, 4.0, 3.0, 0.7, 1.5];
pub const C: [f32; 7] = [0.3, -0.2, 0.1, 0.5, -0.4, 0.5, 0.0];

/// Fresh parameters at their starting values.
pub fn params() -> (T, T) {
    (T::from_vec(W0.to_vec(), [2, 2]).require_grad(), T::from_vec(B0.to_vec(), [3]).require_grad())
}

/// The gradients of L at (w, b), by autodiff. The loss is dropped before returning, so a step
/// that follows updates the parameters in place.
pub fn grads(w: &T, b: &T) -> Gradients<R> {
    let term = |p: &T, range: std::ops::Range<usize>| {
        let n = range.len();
        let a = T::from_vec(A[range.clone()].to_vec(), [n]).reshape(p.shape().clone());
        let c = T::from_vec(C[range].to_vec(), [n]).reshape(p.shape().clone());
        p.square().mul(&a).mul_scalar(0.5).add(&p.mul(&c)).sum()
    };
    term(w, 0..4).add(&term(b, 4..7)).backward()
}

/// w's and b's values, concatenated.
pub fn values(w: &T, b: &T) -> Vec<f32> {
    w.to_vec().into_iter().chain(b.to_vec()).collect()
}
