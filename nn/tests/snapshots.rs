//! Snapshots pin a seeded MLP's and a seeded CNN's outputs and gradients. Values are rounded to
//! five significant digits, so every backend gives the same text; a changed snapshot is a
//! behaviour change (of an initializer, a layer or a backward rule) and its commit says why.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Stream, Tensor};
use neurite_nn::{
    Activation, BatchNormConfig, Conv2dConfig, Dropout, Flatten, Init, LinearConfig, MaxPool2d, Module, Sequential,
    loss,
};

type T = Tensor<R>;

fn rounded(t: &T) -> String {
    let values: Vec<String> = t.to_vec().iter().map(|v| format!("{v:.4e}")).collect();
    format!("{:?} [{}]", t.dims(), values.join(", "))
}

/// The output, the loss and the gradient of every parameter, one per line.
fn report(model: &Sequential<R>, x: &T, labels: &T) -> String {
    let y = model.forward(x);
    let loss = loss::cross_entropy(&y, labels);
    let grads = loss.backward();
    let mut lines = vec![format!("output {}", rounded(&y)), format!("loss {}", rounded(&loss))];
    for (name, p) in model.params() {
        lines.push(format!("d{name} {}", rounded(grads.get(p).expect("every parameter has a gradient"))));
    }
    lines.join("\n")
}

#[test]
fn seeded_mlp_outputs_and_gradients() {
    let mut rng = Rng::stream(42, Stream::Init);
    let model = Sequential::<R>::new()
        .with(LinearConfig::new(4, 6).with_init(Init::He).init::<R>(&mut rng))
        .with(Activation::Relu)
        .with(Dropout::new(0.25, 42))
        .with(
            LinearConfig::new(6, 5)
                .with_init(Init::GlorotUniform)
                .with_bias_init(Init::Constant(0.1))
                .init::<R>(&mut rng),
        )
        .with(Activation::Tanh)
        .with(LinearConfig::new(5, 3).init::<R>(&mut rng));
    let x = T::randn([3, 4], 0.0, 1.0, &mut Rng::seed(1));
    let labels = T::from_vec(vec![0.0, 2.0, 1.0], [3]);
    insta::assert_snapshot!(report(&model, &x, &labels));
}

#[test]
fn seeded_cnn_outputs_and_gradients() {
    // No bias before batch norm: it would cancel, and its gradient would be rounding noise.
    let mut rng = Rng::stream(7, Stream::Init);
    let model = Sequential::<R>::new()
        .with(
            Conv2dConfig::new(1, 2, (3, 3))
                .with_padding((1, 1))
                .with_bias(false)
                .with_init(Init::He)
                .init::<R>(&mut rng),
        )
        .with(BatchNormConfig::new(2).init_2d::<R>())
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Conv2dConfig::new(2, 3, (2, 2)).with_stride((2, 2)).init::<R>(&mut rng))
        .with(Activation::Gelu)
        .with(Flatten)
        .with(LinearConfig::new(12, 4).init::<R>(&mut rng));
    let x = T::randn([2, 1, 8, 8], 0.0, 1.0, &mut Rng::seed(2));
    let labels = T::from_vec(vec![3.0, 1.0], [2]);
    insta::assert_snapshot!(report(&model, &x, &labels));
}
