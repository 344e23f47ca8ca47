//! Values worked out by hand, with the arithmetic in comments: the losses on small inputs, a
//! 2-4-3 MLP forward pass, penalties, parameter names and counts, and the summary table.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor};
use neurite_nn::loss::{self, MseReduction};
use neurite_nn::regularization::{self, Penalty};
use neurite_nn::{
    Activation, BatchNormConfig, Conv2dConfig, Dropout, Flatten, Linear, LinearConfig, MaxPool2d, Module, Sequential,
    metrics,
};

type T = Tensor<R>;

fn close(got: f32, want: f32) {
    assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "got {got}, expected {want}");
}

fn close_all(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (&g, &w) in got.iter().zip(want) {
        close(g, w);
    }
}

#[test]
fn mse_follows_the_course_convention_and_the_plain_mean() {
    // y − d = [[1, 0, −2], [−1, −1, −1]]: Σ(y − d)² = 1 + 0 + 4 + 1 + 1 + 1 = 8.
    let y = T::from_vec(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], [2, 3]).require_grad();
    let d = T::from_vec(vec![0.0, 2.0, 5.0, 1.0, 1.0, 1.0], [2, 3]);
    // E = 1/(2N)·Σ‖d − y‖² with N = 2 samples: 8/4 = 2.
    let e = loss::mse(&y, &d, MseReduction::HalfSumPerSample);
    close(e.item(), 2.0);
    // ∂E/∂y = (y − d)/N.
    close_all(e.backward().get(&y).expect("leaf").as_slice(), &[0.5, 0.0, -1.0, -0.5, -0.5, -0.5]);
    // The plain mean over 6 elements: 8/6.
    close(loss::mse(&y, &d, MseReduction::Mean).item(), 8.0 / 6.0);
}

#[test]
fn cross_entropy_on_labels_and_one_hot_targets() {
    // Row 1, logits [1, 2, 3], label 2: −ln(e³/(e + e² + e³)) = ln(1 + e⁻¹ + e⁻²) = 0.407606.
    // Row 2, logits [0, 0, 0], label 0: ln 3 = 1.098612. Mean: 0.753109.
    let logits = T::from_vec(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], [2, 3]).require_grad();
    let labels = T::from_vec(vec![2.0, 0.0], [2]);
    let ce = loss::cross_entropy(&logits, &labels);
    close(ce.item(), 0.753_109_1);
    // ∂L/∂x = (softmax − one_hot)/N: softmax([1, 2, 3]) = [0.090031, 0.244728, 0.665241].
    let g = ce.backward();
    close_all(
        g.get(&logits).expect("leaf").as_slice(),
        &[0.045_015_29, 0.122_364_24, -0.167_379_5, -1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0],
    );
    let one_hot = T::from_vec(vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0], [2, 3]);
    close(loss::cross_entropy_one_hot(&logits, &one_hot).item(), 0.753_109_1);
}

#[test]
fn label_smoothing_by_hand() {
    // Logits [ln 3, 0] give softmax [0.75, 0.25]. Label 0 with ε = 0.2 over 2 classes is the
    // target [0.9, 0.1]: −(0.9·ln 0.75 + 0.1·ln 0.25) = 0.258914 + 0.138629 = 0.397543.
    let logits = T::from_vec(vec![3f32.ln(), 0.0], [1, 2]).require_grad();
    let labels = T::from_vec(vec![0.0], [1]);
    let smoothed = loss::cross_entropy_smoothed(&logits, &labels, 0.2);
    close(smoothed.item(), 0.397_543);
    // ∂L/∂x = softmax − target = [0.75 − 0.9, 0.25 − 0.1].
    close_all(smoothed.backward().get(&logits).expect("leaf").as_slice(), &[-0.15, 0.15]);
    // ε = 0 is the plain loss: −ln 0.75.
    close(loss::cross_entropy_smoothed(&logits, &labels, 0.0).item(), -(0.75f32.ln()));
}

#[test]
fn cross_entropy_of_the_course_example() {
    // The network says 0.6 for the right class: E = −ln 0.6 = 0.510826. Logits ln p reproduce
    // those probabilities exactly, as softmax(ln p) = p when Σp = 1.
    let p = [0.1f32, 0.05, 0.6, 0.05, 0.1, 0.1];
    let logits = T::from_vec(p.iter().map(|v| v.ln()).collect(), [1, 6]);
    close(loss::cross_entropy(&logits, &T::from_vec(vec![2.0], [1])).item(), 0.510_825_6);
    // And with the wrong class (p = 0.1): −ln 0.1 = ln 10 = 2.302585.
    close(loss::cross_entropy(&logits, &T::from_vec(vec![0.0], [1])).item(), std::f32::consts::LN_10);
}

#[test]
fn binary_cross_entropy_on_probabilities_and_logits() {
    // p = [0.9, 0.2], t = [1, 0]: −(ln 0.9 + ln 0.8)/2 = (0.105361 + 0.223144)/2 = 0.164252.
    let p = T::from_vec(vec![0.9, 0.2], [2]);
    let t = T::from_vec(vec![1.0, 0.0], [2]);
    close(loss::bce(&p, &t).item(), 0.164_252);
    // x = [0, 2], t = [1, 0]: (softplus(0) − 0 + softplus(2) − 0)/2 = (0.693147 + 2.126928)/2.
    let x = T::from_vec(vec![0.0, 2.0], [2]).require_grad();
    let bce = loss::bce_with_logits(&x, &t);
    close(bce.item(), 1.410_037_6);
    // ∂/∂x = (σ(x) − t)/n = [(0.5 − 1)/2, (0.880797 − 0)/2].
    close_all(bce.backward().get(&x).expect("leaf").as_slice(), &[-0.25, 0.440_398_6]);
}

#[test]
fn absolute_error_and_huber_by_hand() {
    // e = y − d = [0.5, −2, 1]: mean |e| = 3.5/3.
    let y = T::from_vec(vec![1.0, 0.0, 3.0], [3]).require_grad();
    let d = T::from_vec(vec![0.5, 2.0, 2.0], [3]);
    let l1 = loss::l1(&y, &d);
    close(l1.item(), 3.5 / 3.0);
    close_all(l1.backward().get(&y).expect("leaf").as_slice(), &[1.0 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
    // δ = 1: ½·0.25 = 0.125 inside; 1·(2 − 0.5) = 1.5 and 1·(1 − 0.5) = 0.5 at and beyond δ
    // (both branches agree at |e| = δ): (0.125 + 1.5 + 0.5)/3.
    let huber = loss::huber(&y, &d, 1.0);
    close(huber.item(), 2.125 / 3.0);
    // ∂/∂y = e/3 inside, δ·sign(e)/3 beyond.
    close_all(huber.backward().get(&y).expect("leaf").as_slice(), &[0.5 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
}

#[test]
fn binary_cross_entropy_stays_finite_where_it_saturates() {
    // Confidently wrong: logits ±100 against the opposite targets cost 100 each, not infinity.
    let x = T::from_vec(vec![100.0, -100.0], [2]);
    let t = T::from_vec(vec![0.0, 1.0], [2]);
    close(loss::bce_with_logits(&x, &t).item(), 100.0);
    // Probabilities 0 and 1 against the opposite targets are clamped to ε = 1e-7: −ln(ε) ≈ 16.1.
    let p = T::from_vec(vec![1.0, 0.0], [2]);
    let clamped = loss::bce(&p, &t).item();
    assert!(clamped.is_finite() && clamped > 15.0 && clamped < 16.2, "{clamped}");
}

/// The 2-4-3 network of the worked example: ReLU hidden layer, linear output.
fn mlp_2_4_3() -> Sequential<R> {
    let w1 = T::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, -1.0], [4, 2]);
    let b1 = T::from_vec(vec![0.0, 0.5, -1.0, 0.0], [4]);
    let w2 = T::from_vec(vec![1.0, 1.0, 0.0, 0.0, 0.0, 1.0, -1.0, 1.0, 0.5, 0.0, 0.0, 2.0], [3, 4]);
    let b2 = T::from_vec(vec![0.0, 1.0, -1.0], [3]);
    Sequential::new()
        .with(Linear::from_tensors(w1, Some(b1)))
        .with(Activation::Relu)
        .with(Linear::from_tensors(w2, Some(b2)))
}

#[test]
fn mlp_2_4_3_forward_matches_the_worked_example() {
    let model = mlp_2_4_3();
    // x = [1, 2]. Hidden: u = W₁x + b₁ = [1, 2 + 0.5, 1 + 2 − 1, 1 − 2] = [1, 2.5, 2, −1];
    // ReLU gives h = [1, 2.5, 2, 0].
    // Output: W₂h + b₂ = [1 + 2.5, 2.5 − 2 + 0 + 1, 0.5 + 0 − 1] = [3.5, 1.5, −0.5].
    // x = [−1, 1]. u = [−1, 1.5, −1, −2], h = [0, 1.5, 0, 0], out = [1.5, 2.5, −1].
    let x = T::from_vec(vec![1.0, 2.0, -1.0, 1.0], [2, 2]);
    let y = model.forward(&x);
    assert_eq!(y.dims(), [2, 3]);
    close_all(y.as_slice(), &[3.5, 1.5, -0.5, 1.5, 2.5, -1.0]);
    // Softmax of the first row: e^{3.5}, e^{1.5}, e^{−0.5} = 33.115, 4.4817, 0.60653 over their
    // sum 38.203 = [0.866813, 0.117310, 0.015876].
    let p = Activation::Softmax(1).apply(&y);
    close_all(&p.as_slice()[..3], &[0.866_813_3, 0.117_310_4, 0.015_876_24]);
    assert_eq!(metrics::accuracy(&y, &[0, 1]), 1.0);
    assert_eq!(metrics::accuracy(&y, &[0, 0]), 0.5);
}

#[test]
fn parameters_are_named_by_path_and_counted() {
    let mut rng = Rng::seed(1);
    let mut model = Sequential::<R>::new()
        .with(Conv2dConfig::new(1, 4, (3, 3)).init::<R>(&mut rng))
        .with(BatchNormConfig::new(4).init_2d::<R>())
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Flatten)
        .with(Dropout::new(0.5, 3))
        .with(LinearConfig::new(4 * 13 * 13, 10).init::<R>(&mut rng));
    let names: Vec<String> = model.params().into_iter().map(|(n, _)| n).collect();
    let expected =
        ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.6.weight", "layers.6.bias"];
    assert_eq!(names, expected);
    let mutable: Vec<String> = model.params_mut().into_iter().map(|(n, _)| n).collect();
    assert_eq!(mutable, expected);
    let buffers: Vec<String> = model.buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers, ["layers.1.running_mean", "layers.1.running_var"]);
    // Conv: 4·1·3·3 + 4 = 40; batch norm: 4 + 4 = 8; linear: 676·10 + 10 = 6770.
    assert_eq!(model.num_params(), 40 + 8 + 6770);
    assert!(model.params().iter().all(|(_, p)| p.requires_grad()));
    let summary = model.summary(&[1, 1, 28, 28]);
    assert_eq!(summary.total_params(), 6818);
    let table = summary.to_string();
    assert!(table.contains("layers.6  Linear(in=676, out=10)"), "{table}");
    assert!(table.ends_with("total trainable parameters: 6818"), "{table}");
    insta::assert_snapshot!(table);
}

#[test]
fn penalties_add_lambda_over_two_times_the_squared_norm_or_lambda_times_the_l1_norm() {
    let model = mlp_2_4_3();
    // Weights only: ‖W₁‖² = 1 + 1 + 1 + 1 + 1 + 1 = 6, ‖W₂‖² = 1 + 1 + 1 + 1 + 1 + 0.25 + 4 = 9.25.
    // L2 with λ = 0.1: 0.05·15.25 = 0.7625. ‖W₁‖₁ = 6, ‖W₂‖₁ = 1 + 1 + 1 + 1 + 1 + 0.5 + 2 = 7.5:
    // L1 with λ = 0.1: 1.35.
    let weights = |name: &str| regularization::is_weight(name);
    close(Penalty::L2(0.1).of_module(&model, weights).item(), 0.7625);
    close(Penalty::L1(0.1).of_module(&model, weights).item(), 1.35);
    let zero = T::scalar(0.0);
    close(regularization::with_l2(&zero, &model, 0.1).item(), 0.7625);
    close(regularization::with_l1(&zero, &model, 0.1).item(), 1.35);
    // The penalty's gradient is λw for L2: for W₁[0][0] = 1 that is 0.1.
    let cost = regularization::with_l2(&zero, &model, 0.1);
    let g = cost.backward();
    let w1 = model.params()[0].1;
    close_all(g.get(w1).expect("weight").as_slice(), &[0.1, 0.0, 0.0, 0.1, 0.1, 0.1, 0.1, -0.1]);
    let b1 = model.params()[1].1;
    assert!(g.get(b1).is_none(), "biases are not penalised");
}
