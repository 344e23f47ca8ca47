//! The course's worked examples of computational graphs and backpropagation, replayed through
//! Neurite's autodiff, with each expected value computed by hand in a comment.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Tensor, no_grad};

type T = Tensor<R>;

fn close(got: f32, want: f32) {
    assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "got {got}, expected {want}");
}

fn close_all(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (&g, &w) in got.iter().zip(want) {
        close(g, w);
    }
}

#[test]
fn add_node_passes_the_gradient_unchanged() {
    // z = x + y, upstream gradient 1.3: both inputs receive 1.3.
    let x = T::scalar(2.0).require_grad();
    let y = T::scalar(5.0).require_grad();
    let z = x.add(&y);
    let g = z.backward_with(&T::scalar(1.3));
    close(g.get(&x).unwrap().item(), 1.3);
    close(g.get(&y).unwrap().item(), 1.3);
}

#[test]
fn mul_node_swaps_its_inputs() {
    // z = x·y with x = 10, y = 1.1 and upstream 1.3: dz/dx = 1.3·1.1 = 1.43, dz/dy = 1.3·10 = 13.
    let x = T::scalar(10.0).require_grad();
    let y = T::scalar(1.1).require_grad();
    let g = x.mul(&y).backward_with(&T::scalar(1.3));
    close(g.get(&x).unwrap().item(), 1.43);
    close(g.get(&y).unwrap().item(), 13.0);
}

#[test]
fn apple_shopping_graph() {
    // 2 apples at 100 each, 3 oranges at 150 each, 10% tax: price = (2·100 + 3·150)·1.1 = 715.
    // d price/d apple price = 2·1.1 = 2.2, d/d apples = 100·1.1 = 110, d/d tax = 650.
    let apple = T::scalar(100.0).require_grad();
    let apples = T::scalar(2.0).require_grad();
    let orange = T::scalar(150.0).require_grad();
    let oranges = T::scalar(3.0).require_grad();
    let tax = T::scalar(1.1).require_grad();
    let price = apple.mul(&apples).add(&orange.mul(&oranges)).mul(&tax);
    close(price.item(), 715.0);
    let g = price.backward();
    close(g.get(&apple).unwrap().item(), 2.2);
    close(g.get(&apples).unwrap().item(), 110.0);
    close(g.get(&orange).unwrap().item(), 3.3);
    close(g.get(&oranges).unwrap().item(), 165.0);
    close(g.get(&tax).unwrap().item(), 650.0);
}

#[test]
fn chain_rule_through_polar_substitution() {
    // u = x² + 2y with x = r·sin t, y = sin² t:
    // ∂u/∂r = 2x·sin t = 2r·sin² t, ∂u/∂t = 2x·r·cos t + 2·2 sin t cos t = (r² + 2)·sin 2t.
    let (r0, t0) = (1.7f32, 0.6f32);
    let r = T::scalar(r0).require_grad();
    let t = T::scalar(t0).require_grad();
    let x = r.mul(&t.sin());
    let y = t.sin().square();
    let u = x.square().add(&y.mul_scalar(2.0));
    let g = u.backward();
    close(g.get(&r).unwrap().item(), 2.0 * r0 * t0.sin().powi(2));
    close(g.get(&t).unwrap().item(), (r0 * r0 + 2.0) * (2.0 * t0).sin());
}

#[test]
fn sigmoid_node_gradient_is_y_times_one_minus_y() {
    // y = σ(x) at x = 0.4: dy/dx = y(1 − y).
    let x = T::from_vec(vec![0.4, -1.0, 2.5], [3]).require_grad();
    let y = x.sigmoid();
    let g = y.sum().backward();
    let want: Vec<f32> = y.to_vec().iter().map(|y| y * (1.0 - y)).collect();
    close_all(&g.get(&x).unwrap().to_vec(), &want);
}

#[test]
fn affine_node_gradients_have_the_slides_shapes() {
    // Y = X·W with X [2, 3] (batch of two) and W [3, 4]:
    // ∂L/∂X = ∂L/∂Y·Wᵀ is [2, 4]·[4, 3] = [2, 3]; ∂L/∂W = Xᵀ·∂L/∂Y is [3, 2]·[2, 4] = [3, 4].
    let x = T::from_vec((1..=6).map(|v| v as f32).collect(), [2, 3]).require_grad();
    let w = T::from_vec((1..=12).map(|v| v as f32 * 0.1).collect(), [3, 4]).require_grad();
    let y = x.matmul(&w);
    assert_eq!(y.dims(), &[2, 4]);
    let dy = T::from_vec(vec![1., 0., 0., 1., 0., 2., 0., 0.], [2, 4]);
    let g = y.backward_with(&dy);
    let dx = g.get(&x).unwrap();
    let dw = g.get(&w).unwrap();
    assert_eq!(dx.dims(), &[2, 3]);
    assert_eq!(dw.dims(), &[3, 4]);
    // Row 0 of dY is [1, 0, 0, 1]: dX[0] = W[:, 0] + W[:, 3] = [0.1 + 0.4, 0.5 + 0.8, 0.9 + 1.2].
    // Row 1 is [0, 2, 0, 0]: dX[1] = 2·W[:, 1] = [0.4, 1.2, 2.0].
    close_all(&dx.to_vec(), &[0.5, 1.3, 2.1, 0.4, 1.2, 2.0]);
    // dW = Xᵀ·dY: column 0 = X[0]·1, column 1 = X[1]·2, column 3 = X[0]·1, column 2 = 0.
    close_all(&dw.to_vec(), &[1., 8., 0., 1., 2., 10., 0., 2., 3., 12., 0., 3.]);
}

#[test]
fn gradients_accumulate_when_a_tensor_is_used_twice() {
    // y = x·x + x at x = 3: dy/dx = 2x + 1 = 7.
    let x = T::scalar(3.0).require_grad();
    let y = x.mul(&x).add(&x);
    close(y.backward().get(&x).unwrap().item(), 7.0);
}

#[test]
fn a_broadcast_bias_collects_the_gradient_of_every_row() {
    // y = Σ (X + b) over a [4, 3] batch: each bias entry appears in 4 rows, so ∂y/∂b = 4.
    let x = T::zeros([4, 3]);
    let b = T::from_vec(vec![0.1, 0.2, 0.3], [3]).require_grad();
    let g = x.add(&b).sum().backward();
    assert_eq!(g.get(&b).unwrap().to_vec(), vec![4.0, 4.0, 4.0]);
}

#[test]
fn detach_cuts_the_graph() {
    // y = x·detach(x) at x = 3: only the first factor is seen, dy/dx = 3 (not 6).
    let x = T::scalar(3.0).require_grad();
    let y = x.mul(&x.detach());
    close(y.backward().get(&x).unwrap().item(), 3.0);
}

#[test]
fn no_grad_records_nothing() {
    let x = T::scalar(3.0).require_grad();
    let y = no_grad(|| x.mul(&x));
    assert!(!y.is_tracked());
    assert!(y.graph_ops().is_empty());
    // Recording resumes afterwards.
    assert!(x.mul(&x).is_tracked());
}

#[test]
fn tensors_without_require_grad_get_no_gradient() {
    let x = T::scalar(2.0);
    let w = T::scalar(5.0).require_grad();
    let g = x.mul(&w).backward();
    assert!(g.get(&x).is_none());
    close(g.get(&w).unwrap().item(), 2.0);
    assert_eq!(g.len(), 1);
}

#[test]
fn the_graph_lists_its_ops_in_evaluation_order() {
    let x = T::from_vec(vec![1.0, 2.0], [1, 2]).require_grad();
    let w = T::from_vec(vec![0.5, -0.5], [2, 1]).require_grad();
    let loss = x.matmul(&w).sigmoid().sum();
    assert_eq!(loss.graph_ops(), vec!["matmul", "sigmoid", "sum"]);
    let dot = loss.graph_dot();
    assert!(dot.starts_with("digraph"));
    assert!(dot.contains("label=\"matmul\"") && dot.contains("[1, 2]"));
}

#[test]
fn set_data_keeps_the_identity_of_a_parameter() {
    // One step of gradient descent on y = w², w = 3, lr = 0.1: w ← 3 − 0.1·6 = 2.4.
    let mut w = T::scalar(3.0).require_grad();
    let id = w.id();
    let g = w.square().backward();
    let step = w.sub(&g.get(&w).unwrap().mul_scalar(0.1));
    w.set_data(&step);
    assert_eq!(w.id(), id);
    assert!(w.requires_grad());
    close(w.item(), 2.4);
}

#[test]
fn a_deep_graph_does_not_overflow_the_stack() {
    // 20,000 chained ops: backward is iterative. y = x + 20000·0.001, dy/dx = 1.
    let x = T::scalar(1.0).require_grad();
    let mut y = x.clone();
    for _ in 0..20_000 {
        y = y.add_scalar(0.001);
    }
    close(y.backward().get(&x).unwrap().item(), 1.0);
}

#[test]
#[should_panic(expected = "matmul: lhs [32, 784] and rhs [128, 10] need lhs.cols == rhs.rows")]
fn matmul_rejects_mismatched_inner_dims() {
    let _ = T::zeros([32, 784]).matmul(&T::zeros([128, 10]));
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] do not broadcast")]
fn add_rejects_shapes_that_do_not_broadcast() {
    let _ = T::zeros([2, 3]).add(&T::zeros([4]));
}

#[test]
#[should_panic(expected = "backward: needs a scalar loss, got shape [2]")]
fn backward_needs_a_scalar() {
    let _ = T::zeros([2]).require_grad().exp().backward();
}

#[test]
#[should_panic(expected = "reshape: cannot reshape [2, 3] into [4]")]
fn reshape_rejects_a_different_element_count() {
    let _ = T::zeros([2, 3]).reshape([4]);
}

#[test]
#[should_panic(expected = "conv2d: input [1, 3, 5, 5] has 3 channels, weight [2, 1, 3, 3] expects 1")]
fn conv2d_rejects_mismatched_channels() {
    let _ = T::zeros([1, 3, 5, 5]).conv2d(&T::zeros([2, 1, 3, 3]), None, (1, 1), (0, 0));
}

#[test]
fn operators_read_like_the_formula() {
    // (x + 1)·x − x/2 at x = 4: 5·4 − 2 = 18.
    let x = T::scalar(4.0);
    close(((&x + 1.0) * &x - &x / 2.0).item(), 18.0);
    close((-&x).item(), -4.0);
}

#[test]
fn softmax_cross_entropy_matches_its_definition() {
    // Logits [[2, 1, 0]] with label 0: loss = −ln(e²/(e² + e + 1)) = 0.407606.
    let logits = T::from_vec(vec![2.0, 1.0, 0.0], [1, 3]).require_grad();
    let target = T::from_vec(vec![0.0], [1]).one_hot(3);
    let loss = logits.softmax_cross_entropy(&target);
    close(loss.item(), 0.407_606);
    // Gradient: softmax − one-hot = [0.665241 − 1, 0.244728, 0.090031].
    let g = loss.backward();
    close_all(&g.get(&logits).unwrap().to_vec(), &[-0.334_759, 0.244_728, 0.090_031]);
}

#[test]
fn update_data_writes_in_place_and_keeps_identity() {
    // Gradient descent on y = Σw² with lr 0.25: w ← w − 0.25·2w = w/2.
    let mut w = T::from_vec(vec![2.0, -4.0], [2]).require_grad();
    let id = w.id();
    let g = w.square().sum().backward().get(&w).unwrap().clone();
    let snapshot = w.clone();
    w.update_data(|values| {
        for (v, d) in values.iter_mut().zip(g.as_slice()) {
            *v -= 0.25 * d;
        }
    });
    assert_eq!(w.to_vec(), vec![1.0, -2.0]);
    assert_eq!(w.id(), id);
    assert!(w.requires_grad());
    // A clone taken before the update still sees the old values (the buffer was shared, so copied).
    assert_eq!(snapshot.to_vec(), vec![2.0, -4.0]);
}
