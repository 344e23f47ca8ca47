//! `Sequential` runs a dense or convolutional layer followed by ReLU, sigmoid or tanh as one fused
//! bias-and-activation pass: the graph has one `bias_act` node where the layers alone would add
//! `add` and the activation, and outputs and gradients are those of the layers run one by one.
//! Batch norm followed by an activation, and a residual block's sum followed by its activation,
//! fuse likewise (`batch_norm`, `add_act`), and give the values of the formula written op by op.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor};
use neurite_nn::{
    Activation, BatchNormConfig, Conv2dConfig, Flatten, Init, LinearConfig, MaxPool2d, Module, Residual, Sequential,
};

fn model() -> Sequential<R> {
    let mut rng = Rng::stream(3, Stream::Init);
    let bias = Init::Uniform { lo: -0.5, hi: 0.5 };
    Sequential::new()
        .with(Conv2dConfig::new(2, 3, (3, 3)).with_padding((1, 1)).with_bias_init(bias).init::<R>(&mut rng))
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Flatten)
        .with(LinearConfig::new(3 * 2 * 2, 6).with_bias_init(bias).init::<R>(&mut rng))
        .with(Activation::Tanh)
        .with(LinearConfig::new(6, 5).with_bias_init(bias).init::<R>(&mut rng))
        .with(Activation::Sigmoid)
        .with(LinearConfig::new(5, 4).with_bias_init(bias).init::<R>(&mut rng))
        .with(Activation::LeakyRelu(0.1))
}

#[test]
fn fused_layers_give_the_values_and_gradients_of_the_layers_one_by_one() {
    let model = model();
    let x = Tensor::<R>::from_vec(Rng::seed(9).uniform_vec(2 * 2 * 4 * 4, -1.0, 1.0), [2, 2, 4, 4]);

    let fused = model.forward(&x);
    let ops = fused.graph_ops();
    assert_eq!(ops.iter().filter(|&&op| op == "bias_act").count(), 4, "{ops:?}");
    for unfused in ["relu", "tanh", "sigmoid", "add"] {
        assert!(!ops.contains(&unfused), "{unfused} left in {ops:?}");
    }
    assert!(ops.contains(&"leaky_relu"), "LeakyReLU is not fusable and runs on its own: {ops:?}");

    // The same layers run one by one.
    let mut y = x.clone();
    for layer in model.layers() {
        y = layer.forward(&y);
    }
    let one_by_one_ops = y.graph_ops();
    assert!(one_by_one_ops.contains(&"relu") && one_by_one_ops.contains(&"sigmoid"), "{one_by_one_ops:?}");
    assert_eq!(fused.to_vec(), y.to_vec(), "same values");

    let (g_fused, g_plain) = (fused.sum().backward(), y.sum().backward());
    for (name, p) in model.params() {
        let (a, b) = (g_fused.get(p).expect("gradient").to_vec(), g_plain.get(p).expect("gradient").to_vec());
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() <= 1e-6 * (1.0 + v.abs()), "{name}: {u} vs {v}");
        }
        assert!(a.iter().any(|&v| v != 0.0), "{name} has a gradient");
    }
}

/// Batch norm in training mode, op by op: the batch mean and biased variance of each channel.
fn batch_norm_by_ops(x: &Tensor<R>, gamma: &Tensor<R>, beta: &Tensor<R>) -> Tensor<R> {
    let c = x.dims()[1];
    let mean_of = |t: &Tensor<R>| t.mean_axis(0, true).mean_axis(2, true).mean_axis(3, true);
    let centered = x.sub(&mean_of(x));
    let var = mean_of(&centered.square());
    centered.div(&var.add_scalar(1e-5).sqrt()).mul(&gamma.reshape([1, c, 1, 1])).add(&beta.reshape([1, c, 1, 1]))
}

#[test]
fn batch_norm_and_a_residual_sum_fuse_with_their_relu_and_match_the_formula() {
    let mut rng = Rng::stream(4, Stream::Init);
    let conv = |rng: &mut Rng| Conv2dConfig::new(3, 3, (3, 3)).with_padding((1, 1)).with_bias(false).init::<R>(rng);
    let body = Sequential::new()
        .with(conv(&mut rng))
        .with(BatchNormConfig::new(3).init_2d::<R>())
        .with(Activation::Relu)
        .with(conv(&mut rng))
        .with(BatchNormConfig::new(3).init_2d::<R>());
    let mut block = Residual::new(body, Sequential::new(), Some(Box::new(Activation::Relu)));
    // γ and β away from their initial 1 and 0, so that both matter.
    for (i, (name, p)) in block.params_mut().into_iter().enumerate() {
        if !name.ends_with("0.weight") && !name.ends_with("3.weight") {
            let values = Rng::seed(20 + i as u64).uniform_vec(3, 0.5, 1.5);
            *p = Tensor::from_vec(
                values.iter().map(|v| if name.ends_with("bias") { v - 1.0 } else { *v }).collect(),
                [3],
            )
            .require_grad();
        }
    }
    let x = Tensor::<R>::from_vec(Rng::seed(8).uniform_vec(2 * 3 * 5 * 5, -1.0, 1.0), [2, 3, 5, 5]);

    let fused = block.forward(&x);
    let ops = fused.graph_ops();
    assert_eq!(ops.iter().filter(|&&op| op == "batch_norm").count(), 2, "{ops:?}");
    assert_eq!(ops.iter().filter(|&&op| op == "add_act").count(), 1, "{ops:?}");
    for unfused in ["relu", "add", "sub", "div", "mean_axis"] {
        assert!(!ops.contains(&unfused), "{unfused} left in {ops:?}");
    }

    let p: Vec<&Tensor<R>> = block.params().into_iter().map(|(_, t)| t).collect();
    let names: Vec<String> = block.params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["body.0.weight", "body.1.weight", "body.1.bias", "body.3.weight", "body.4.weight", "body.4.bias"]
    );
    let h = batch_norm_by_ops(&x.conv2d(p[0], None, (1, 1), (1, 1)), p[1], p[2]).relu();
    let by_ops = batch_norm_by_ops(&h.conv2d(p[3], None, (1, 1), (1, 1)), p[4], p[5]).add(&x).relu();
    let (a, b) = (fused.to_vec(), by_ops.to_vec());
    for (u, v) in a.iter().zip(&b) {
        assert!((u - v).abs() <= 1e-5 * (1.0 + v.abs()), "output {u} vs {v}");
    }
    assert!(a.contains(&0.0) && a.iter().any(|&v| v > 0.0), "the ReLU clips some values and passes others");

    // A weighted sum, so that batch norm's gradients are not the trivial zero of Σ y.
    let w = Tensor::<R>::from_vec(Rng::seed(9).uniform_vec(a.len(), -1.0, 1.0), [2, 3, 5, 5]);
    let (g_fused, g_ops) = (fused.mul(&w).sum().backward(), by_ops.mul(&w).sum().backward());
    for (name, t) in names.iter().zip(&p) {
        let (u, v) = (g_fused.get(t).expect("gradient").to_vec(), g_ops.get(t).expect("gradient").to_vec());
        for (u, v) in u.iter().zip(&v) {
            assert!((u - v).abs() <= 1e-4 * (1.0 + v.abs()), "{name}: {u} vs {v}");
        }
    }
}
