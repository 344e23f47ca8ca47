//! Every layer and every loss, gradient-checked by central finite differences
//! (`neurite_core::gradcheck`) with respect to its input and each of its parameters. Inputs come
//! from `smooth_values`: distinct, and at least 0.3 away from the kinks of ReLU and |x|.

use std::ops::Range;

use neurite_core::gradcheck::{positive_values, smooth_values};
use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{GradcheckConfig, Rng, Tensor, gradcheck};
use neurite_nn::models::Shortcut;
use neurite_nn::regularization::Penalty;
use neurite_nn::{
    Activation, AvgPool2d, BatchNormConfig, ChannelPad, Conv2dConfig, Dropout, Flatten, GlobalAvgPool, LinearConfig,
    MaxPool2d, Module, Residual, Sequential, loss,
};

type T = Tensor<R>;

fn smooth(dims: &[usize], seed: u64) -> T {
    T::from_vec(smooth_values(dims.to_vec(), seed), dims.to_vec())
}

/// Checks the gradient of `make()`'s output with respect to the input `x` and every parameter.
/// Each evaluation builds the layer afresh (so dropout draws the same mask each time) and swaps
/// the checked tensors in for its parameters. Asserts that every entry of every tensor was
/// compared, so a parameter the graph ignores would fail too.
fn check_module<M: Module<R>>(make: impl Fn() -> M, x: T, training: bool) {
    let template = make();
    let mut inputs = vec![x.require_grad()];
    inputs.extend(template.params().into_iter().map(|(_, p)| p.clone()));
    let expected: usize = inputs.iter().map(T::numel).sum();
    let report = gradcheck(
        |xs| {
            let mut layer = make();
            layer.set_training(training);
            for ((_, p), value) in layer.params_mut().into_iter().zip(&xs[1..]) {
                *p = value.clone();
            }
            layer.forward(&xs[0])
        },
        &inputs,
        GradcheckConfig::default(),
    );
    assert!(report.passed(), "{report}");
    assert_eq!(report.checked, expected, "every input and parameter entry is checked");
}

fn rng() -> Rng {
    Rng::seed(11)
}

#[test]
fn linear_with_bias() {
    check_module(|| LinearConfig::new(3, 4).init::<R>(&mut rng()), smooth(&[5, 3], 1), true);
}

#[test]
fn linear_without_bias_on_a_3d_batch() {
    check_module(|| LinearConfig::new(3, 2).with_bias(false).init::<R>(&mut rng()), smooth(&[2, 4, 3], 2), true);
}

#[test]
fn conv2d_with_stride_and_padding() {
    let make = || Conv2dConfig::new(2, 3, (3, 3)).with_stride((2, 2)).with_padding((1, 1)).init::<R>(&mut rng());
    check_module(make, smooth(&[2, 2, 5, 5], 3), true);
}

#[test]
fn conv2d_with_stride_2_on_an_even_side_leaving_padding_unused() {
    // 6 + 2 − 3 = 5 is odd: the last padded row and column are never read.
    let make = || Conv2dConfig::new(2, 3, (3, 3)).with_stride((2, 2)).with_padding((1, 1)).init::<R>(&mut rng());
    check_module(make, smooth(&[2, 2, 6, 6], 31), true);
}

#[test]
fn conv2d_rectangular_kernel_without_bias() {
    let make = || Conv2dConfig::new(1, 2, (2, 3)).with_bias(false).init::<R>(&mut rng());
    check_module(make, smooth(&[1, 1, 4, 5], 4), true);
}

#[test]
fn max_pool2d() {
    check_module(|| MaxPool2d::new((2, 2)), smooth(&[2, 2, 4, 4], 5), true);
}

#[test]
fn max_pool2d_overlapping_windows() {
    check_module(|| MaxPool2d::new((3, 3)).with_stride((1, 1)), smooth(&[1, 2, 4, 4], 6), true);
}

#[test]
fn avg_pool2d_with_padding() {
    check_module(|| AvgPool2d::new((2, 2)).with_padding((1, 1)), smooth(&[2, 1, 3, 3], 7), true);
}

#[test]
fn flatten() {
    check_module(|| Flatten, smooth(&[2, 3, 2, 2], 8), true);
}

#[test]
fn dropout_in_training() {
    check_module(|| Dropout::new(0.4, 9), smooth(&[4, 6], 9), true);
}

#[test]
fn dropout_in_evaluation() {
    check_module(|| Dropout::new(0.4, 9), smooth(&[4, 6], 10), false);
}

fn bn_config(features: usize) -> BatchNormConfig {
    BatchNormConfig::new(features)
}

/// γ and β made non-trivial so that their gradients are not the special values of γ = 1, β = 0.
fn with_affine<M: Module<R>>(mut layer: M, seed: u64) -> M {
    for (i, (_, p)) in layer.params_mut().into_iter().enumerate() {
        let values = positive_values(p.dims().to_vec(), seed + i as u64);
        p.update_data(|w| w.copy_from_slice(&values));
    }
    layer
}

#[test]
fn batch_norm_1d_in_training_through_the_batch_statistics() {
    check_module(|| with_affine(bn_config(3).init_1d::<R>(), 1), smooth(&[5, 3], 11), true);
}

#[test]
fn batch_norm_1d_in_evaluation() {
    check_module(|| with_affine(bn_config(3).init_1d::<R>(), 2), smooth(&[4, 3], 12), false);
}

#[test]
fn batch_norm_2d_in_training_through_the_batch_statistics() {
    check_module(|| with_affine(bn_config(2).init_2d::<R>(), 3), smooth(&[2, 2, 3, 3], 13), true);
}

#[test]
fn batch_norm_2d_in_evaluation() {
    check_module(|| with_affine(bn_config(2).init_2d::<R>(), 4), smooth(&[2, 2, 2, 3], 14), false);
}

fn check_activation(activation: Activation, seed: u64) {
    check_module(|| activation, smooth(&[3, 5], seed), true);
}

#[test]
fn activations() {
    check_activation(Activation::Sigmoid, 20);
    check_activation(Activation::Tanh, 21);
    check_activation(Activation::Relu, 22);
    check_activation(Activation::LeakyRelu(0.1), 23);
    check_activation(Activation::Elu(1.0), 24);
    check_activation(Activation::Gelu, 25);
    check_activation(Activation::Softmax(1), 26);
    check_activation(Activation::Softmax(0), 27);
}

#[test]
fn a_whole_cnn_with_every_parameter() {
    let make = || {
        let mut rng = rng();
        Sequential::<R>::new()
            .with(Conv2dConfig::new(1, 2, (3, 3)).with_padding((1, 1)).init::<R>(&mut rng))
            .with(with_affine(bn_config(2).init_2d::<R>(), 5))
            .with(Activation::Tanh)
            .with(AvgPool2d::new((2, 2)))
            .with(Flatten)
            .with(LinearConfig::new(8, 3).init::<R>(&mut rng))
    };
    check_module(make, smooth(&[2, 1, 4, 4], 30), true);
}

/// A residual block as He et al. build it, with tanh in place of ReLU so no value sits near a
/// kink: conv, batch norm, tanh, conv, batch norm, plus the shortcut, then tanh.
fn residual_block(shortcut: Shortcut, stride: usize) -> Residual<R> {
    let mut rng = rng();
    let (c_in, c_out) = (2, if stride == 1 { 2 } else { 4 });
    let conv = |i, o, k, s, rng: &mut Rng| {
        Conv2dConfig::new(i, o, (k, k)).with_stride((s, s)).with_padding((k / 2, k / 2)).with_bias(false).init::<R>(rng)
    };
    let body = Sequential::new()
        .with(conv(c_in, c_out, 3, stride, &mut rng))
        .with(with_affine(bn_config(c_out).init_2d::<R>(), 6))
        .with(Activation::Tanh)
        .with(conv(c_out, c_out, 3, 1, &mut rng))
        .with(with_affine(bn_config(c_out).init_2d::<R>(), 7));
    let shortcut = match shortcut {
        _ if stride == 1 => Sequential::new(),
        Shortcut::A => Sequential::new().with(ChannelPad::new((stride, stride), 1, 1)),
        Shortcut::B => Sequential::new()
            .with(conv(c_in, c_out, 1, stride, &mut rng))
            .with(with_affine(bn_config(c_out).init_2d::<R>(), 8)),
    };
    Residual::new(body, shortcut, Some(Box::new(Activation::Tanh)))
}

#[test]
fn residual_block_with_the_identity_shortcut() {
    check_module(|| residual_block(Shortcut::A, 1), smooth(&[2, 2, 4, 4], 40), true);
}

#[test]
fn residual_block_with_the_zero_padded_shortcut_a() {
    check_module(|| residual_block(Shortcut::A, 2), smooth(&[2, 2, 5, 5], 41), true);
}

#[test]
fn residual_block_with_the_zero_padded_shortcut_a_on_an_even_side() {
    check_module(|| residual_block(Shortcut::A, 2), smooth(&[2, 2, 6, 6], 47), true);
}

#[test]
fn residual_block_with_the_projection_shortcut_b() {
    check_module(|| residual_block(Shortcut::B, 2), smooth(&[2, 2, 4, 4], 42), true);
}

#[test]
fn residual_block_in_evaluation() {
    check_module(|| residual_block(Shortcut::B, 2), smooth(&[2, 2, 4, 4], 43), false);
}

#[test]
fn global_average_pooling_and_channel_padding() {
    check_module(|| GlobalAvgPool, smooth(&[2, 3, 3, 2], 44), true);
    check_module(|| ChannelPad::new((2, 1), 2, 1), smooth(&[2, 2, 5, 3], 45), true);
    check_module(|| ChannelPad::new((2, 2), 1, 1), smooth(&[2, 2, 4, 6], 46), true);
}

// ---- losses ------------------------------------------------------------------------------------

fn check_loss(f: impl Fn(&[T]) -> T, inputs: Vec<T>) {
    let expected: usize = inputs.iter().filter(|t| t.requires_grad()).map(T::numel).sum();
    let report = gradcheck(f, &inputs, GradcheckConfig::default());
    assert!(report.passed(), "{report}");
    assert_eq!(report.checked, expected);
}

/// Values spread over (lo, hi), distinct, in random order.
fn within(dims: &[usize], range: Range<f32>, seed: u64) -> T {
    let raw = positive_values(dims.to_vec(), seed); // in [0.3, 1.5]
    let values = raw.iter().map(|v| range.start + (range.end - range.start) * (v - 0.3) / 1.2).collect();
    T::from_vec(values, dims.to_vec())
}

#[test]
fn mse_in_both_conventions_wrt_prediction_and_target() {
    for reduction in [loss::MseReduction::HalfSumPerSample, loss::MseReduction::Mean] {
        let inputs = vec![smooth(&[4, 3], 40).require_grad(), smooth(&[4, 3], 41).require_grad()];
        check_loss(|xs| loss::mse(&xs[0], &xs[1], reduction), inputs);
    }
}

#[test]
fn cross_entropy_with_integer_labels() {
    let labels = T::from_vec(vec![2.0, 0.0, 1.0, 2.0], [4]);
    check_loss(|xs| loss::cross_entropy(&xs[0], &xs[1]), vec![smooth(&[4, 3], 42).require_grad(), labels]);
}

#[test]
fn cross_entropy_with_label_smoothing() {
    let labels = T::from_vec(vec![1.0, 0.0, 3.0], [3]);
    check_loss(
        |xs| loss::cross_entropy_smoothed(&xs[0], &xs[1], 0.1),
        vec![smooth(&[3, 4], 48).require_grad(), labels],
    );
}

#[test]
fn cross_entropy_with_soft_targets_wrt_logits_and_targets() {
    let targets = within(&[3, 4], 0.05..0.45, 43).require_grad();
    check_loss(|xs| loss::cross_entropy_one_hot(&xs[0], &xs[1]), vec![smooth(&[3, 4], 44).require_grad(), targets]);
}

#[test]
fn bce_on_probabilities() {
    let p = within(&[4, 2], 0.1..0.9, 45).require_grad();
    let t = within(&[4, 2], 0.0..1.0, 46).require_grad();
    check_loss(|xs| loss::bce(&xs[0], &xs[1]), vec![p, t]);
}

#[test]
fn bce_on_logits() {
    let t = within(&[3, 3], 0.0..1.0, 47).require_grad();
    check_loss(|xs| loss::bce_with_logits(&xs[0], &xs[1]), vec![smooth(&[3, 3], 48).mul_scalar(3.0).require_grad(), t]);
}

#[test]
fn mean_absolute_error_and_huber_away_from_their_kinks() {
    // Differences of at least 0.1 in size, none near δ = 0.5, so the finite differences stay on
    // one side of every kink.
    let y = within(&[3, 2], 0.0..1.0, 51).require_grad();
    let gaps = [0.3f32, -0.8, 0.15, -0.25, 1.1, -0.6];
    let d = T::from_vec(y.to_vec().iter().zip(gaps).map(|(v, g)| v - g).collect(), [3, 2]).require_grad();
    check_loss(|xs| loss::l1(&xs[0], &xs[1]), vec![y.clone(), d.clone()]);
    check_loss(|xs| loss::huber(&xs[0], &xs[1], 0.5), vec![y, d]);
}

#[test]
fn l1_and_l2_penalties() {
    for penalty in [Penalty::L2(0.3), Penalty::L1(0.3)] {
        let inputs = vec![smooth(&[3, 2], 49).require_grad(), smooth(&[4], 50).require_grad()];
        check_loss(|xs| penalty.of(xs), inputs);
    }
}
