//! `Sequential` runs a dense or convolutional layer followed by ReLU, sigmoid or tanh as one fused
//! bias-and-activation pass: the graph has one `bias_act` node where the layers alone would add
//! `add` and the activation, and outputs and gradients are those of the layers run one by one.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor};
use neurite_nn::{Activation, Conv2dConfig, Flatten, Init, LinearConfig, MaxPool2d, Module, Sequential};

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
