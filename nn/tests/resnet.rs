//! Networks beyond chains: He et al.'s CIFAR ResNets built from settings and from their
//! description, counted, summarised, saved and reloaded; blocks whose branches disagree refused
//! before anything is built; and depth as data — a 100,000-layer chain builds, trains a step and
//! drops without recursion, and nesting past the limit is one error.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor, no_grad};
use neurite_nn::models::{ModelConfig, ModelKind, ResNetConfig, Shortcut};
use neurite_nn::regularization::penalised;
use neurite_nn::spec::MAX_NESTING;
use neurite_nn::{Checkpoint, Footprint, LayerSpec, Module, build_sequential, loss};

type T = Tensor<R>;

#[test]
fn resnet_20_has_the_papers_parameter_count_with_either_shortcut() {
    // conv 3·16·9 + bn 32; stage 1: 3 blocks of 2·(16·16·9) + 2·32; stage 2: (16·32·9 + 32·32·9 +
    // 128) + 2·(2·32·32·9 + 128); stage 3 likewise at 64; linear 64·10 + 10.
    let a = ResNetConfig::new([3, 32, 32], 10, 20);
    assert_eq!(a.init::<R>(1).expect("builds").num_params(), 269_722);
    // Option B adds two 1×1 projections with batch norm: 16·32 + 64 and 32·64 + 128.
    let b = a.clone().with_shortcut(Shortcut::B);
    assert_eq!(b.init::<R>(1).expect("builds").num_params(), 269_722 + 512 + 64 + 2048 + 128);
    // The plain network has the same layers without shortcuts, so option A's count.
    assert_eq!(a.clone().plain().init::<R>(1).expect("builds").num_params(), 269_722);
    for (depth, n) in [(20, 3), (32, 5), (44, 7), (56, 9), (110, 18)] {
        assert_eq!(ResNetConfig::new([3, 32, 32], 10, depth).blocks_per_stage(), n);
    }
}

#[test]
fn the_architecture_is_the_network_built_and_the_checkpoint_rebuilds_it() {
    for config in [
        ResNetConfig::new([3, 12, 10], 4, 8),
        ResNetConfig::new([3, 12, 10], 4, 8).with_shortcut(Shortcut::B),
        ResNetConfig::new([1, 9, 9], 3, 14).with_widths(&[4, 8]).plain(),
    ] {
        let mut model = config.init::<R>(3).expect("builds");
        assert_eq!(model.architecture(), config.architecture());
        let x = T::randn([2, config.channels, config.height, config.width], 0.0, 1.0, &mut Rng::seed(5));
        let _ = model.forward(&x); // moves the running statistics
        model.set_training(false);
        let before = no_grad(|| model.forward(&x)).to_vec();
        let bytes = Checkpoint::from_module(&model).to_bytes().expect("encodes");
        assert_eq!(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]), 2, "written as version 2");
        let mut rebuilt = Checkpoint::from_bytes(&bytes, "mem").expect("parses").build::<R>("mem").expect("builds");
        rebuilt.set_training(false);
        assert_eq!(no_grad(|| rebuilt.forward(&x)).to_vec(), before);
    }
}

#[test]
fn tensors_are_named_by_block_and_branch_and_batch_norm_is_not_penalised() {
    let model = ResNetConfig::new([3, 8, 8], 10, 8).with_shortcut(Shortcut::B).init::<R>(1).expect("builds");
    let names: Vec<String> = model.params().into_iter().map(|(n, _)| n).collect();
    // conv, bn, relu, one block per stage, pooling, linear.
    assert_eq!(&names[..4], ["layers.0.weight", "layers.1.weight", "layers.1.bias", "layers.3.body.0.weight"]);
    assert!(names.contains(&"layers.4.shortcut.0.weight".to_string()), "{names:?}");
    assert!(names.contains(&"layers.4.shortcut.1.bias".to_string()), "{names:?}");
    assert_eq!(names.last().map(String::as_str), Some("layers.7.bias"));
    let buffers: Vec<String> = model.buffers().into_iter().map(|(n, _)| n).collect();
    assert!(buffers.contains(&"layers.5.body.4.running_var".to_string()), "{buffers:?}");
    let weights = penalised(&model);
    assert!(weights.contains(&"layers.3.body.3.weight".to_string()));
    assert!(weights.contains(&"layers.4.shortcut.0.weight".to_string()));
    assert!(!weights.iter().any(|w| w == "layers.3.body.1.weight" || w == "layers.4.shortcut.1.weight"), "{weights:?}");
}

#[test]
fn the_summary_is_a_tree_with_shapes_and_counts() {
    let model = ResNetConfig::new([3, 32, 32], 10, 20).init::<R>(1).expect("builds");
    let summary = model.summary(&[1, 3, 32, 32]);
    assert_eq!(summary.total_params(), 269_722);
    let block = summary.rows.iter().find(|r| r.name == "layers.6").expect("the first block of stage 2");
    assert_eq!((block.output.clone(), block.params, block.depth), (vec![1, 32, 16, 16], 13_952, 0));
    assert_eq!(block.layer, "Residual(shortcut=zero-pad, then ReLU)");
    let pad = summary.rows.iter().find(|r| r.name == "layers.6.shortcut.0").expect("its shortcut");
    assert_eq!((pad.output.clone(), pad.depth), (vec![1, 32, 16, 16], 1));
    let text = ResNetConfig::new([3, 8, 8], 10, 8).init::<R>(1).expect("builds").summary(&[1, 3, 8, 8]).to_string();
    insta::assert_snapshot!(text);
}

#[test]
fn resnet_110_trains_a_step() {
    let model = ResNetConfig::new([3, 8, 8], 10, 110).init::<R>(2).expect("builds");
    assert_eq!(model.len(), 3 + 54 + 2);
    let x = T::randn([2, 3, 8, 8], 0.0, 1.0, &mut Rng::seed(3));
    let labels = T::from_vec(vec![3.0, 7.0], [2]);
    let loss = loss::cross_entropy(&model.forward(&x), &labels);
    let value = loss.to_vec()[0];
    // He initialisation and batch norm keep the first scores moderate: the loss near ln 10.
    assert!(value.is_finite() && (1.0..6.0).contains(&value), "loss {value}");
    let grads = loss.backward();
    for (name, p) in model.params() {
        let g = grads.get(p).unwrap_or_else(|| panic!("{name} has no gradient"));
        assert!(g.to_vec().iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn branches_that_disagree_are_refused_before_building() {
    let conv = |i, o, s| LayerSpec::Conv2d {
        in_channels: i,
        out_channels: o,
        kernel_size: [3, 3],
        stride: [s, s],
        padding: [1, 1],
        bias: false,
    };
    // A body that doubles the channels and halves the size, with the identity as shortcut.
    let block = LayerSpec::Residual { body: vec![conv(4, 8, 2)], shortcut: vec![], activation: None };
    let err = Footprint::of(&[block], &[1, 4, 8, 8]).unwrap_err().to_string();
    assert_eq!(
        err,
        "layer 0 (Residual(shortcut=identity)): input [1, 4, 8, 8]: the body gives [1, 8, 4, 4] and the shortcut \
         [1, 4, 8, 8]; the two are added, so they must agree"
    );
    // An error inside a branch names its path.
    let inner = LayerSpec::Residual { body: vec![conv(4, 4, 1), conv(3, 4, 1)], shortcut: vec![], activation: None };
    let err = Footprint::of(&[LayerSpec::Flatten, inner.clone()], &[1, 4, 8, 8]).unwrap_err().to_string();
    assert!(err.starts_with("layer 1.body.0 (Conv2d(in=4, out=4"), "{err}");
    assert!(err.ends_with("input [1, 256]: a convolution takes [batch, channels, height, width]"), "{err}");
    let err = Footprint::of(&[inner], &[1, 4, 8, 8]).unwrap_err().to_string();
    assert!(err.starts_with("layer 0.body.1 (Conv2d(in=3, out=4"), "{err}");
    assert!(err.ends_with("expects 3 channels, got 4"), "{err}");
    // Only an elementwise activation may follow the sum.
    let softmax = LayerSpec::Residual {
        body: vec![conv(4, 4, 1)],
        shortcut: vec![],
        activation: Some(Box::new(LayerSpec::Softmax { dim: 1 })),
    };
    let err = Footprint::of(&[softmax], &[1, 4, 8, 8]).unwrap_err().to_string();
    assert!(err.ends_with("the activation after the sum must be ReLU, Sigmoid, Tanh, LeakyReLU, ELU or GELU"), "{err}");
}

#[test]
fn resnet_settings_out_of_range_are_named() {
    let err = |c: ResNetConfig| c.check().unwrap_err();
    assert_eq!(
        err(ResNetConfig::new([3, 32, 32], 10, 21)),
        "a ResNet of 3 stages has 6n + 2 layers (8, 14, 20, …), got depth 21"
    );
    assert_eq!(
        err(ResNetConfig::new([3, 32, 32], 10, 2)),
        "a ResNet of 3 stages has 6n + 2 layers (8, 14, 20, …), got depth 2"
    );
    assert!(err(ResNetConfig::new([3, 32, 32], 10, 20).with_widths(&[32, 16, 64])).starts_with("shortcut a pads"));
    // The plain network and option B have no such constraint.
    assert!(ResNetConfig::new([3, 32, 32], 10, 20).with_widths(&[32, 16, 64]).plain().check().is_ok());
    let config = ModelConfig { kind: ModelKind::Resnet, depth: 19, ..ModelConfig::default() };
    assert!(config.check().unwrap_err().starts_with("model resnet: a ResNet of 3 stages has 6n + 2 layers"));
    let plain = ModelConfig { kind: ModelKind::Plain, width: 8, ..ModelConfig::default() };
    let arch = plain.architecture([3, 16, 16], 5).expect("builds");
    assert!(!arch.iter().any(|l| matches!(l, LayerSpec::Residual { .. })));
    assert_eq!(arch.last(), Some(&LayerSpec::Linear { in_features: 32, out_features: 5, bias: true }));
    assert_eq!(plain.name(), "plain-20");
}

#[test]
fn a_chain_of_100_000_layers_builds_trains_a_step_saves_and_drops() {
    let mut layers = Vec::with_capacity(100_000);
    for i in 0..50_000 {
        layers.push(LayerSpec::Linear { in_features: 2, out_features: 2, bias: i % 2 == 0 });
        layers.push(LayerSpec::Tanh);
    }
    let footprint = Footprint::of(&layers, &[3, 2]).expect("fits");
    assert_eq!(footprint.output, vec![3, 2]);
    let model = build_sequential::<R>(&layers, 1).expect("builds");
    assert_eq!(model.len(), 100_000);
    let x = T::from_vec(vec![0.5, -0.5, 1.0, 0.0, -1.0, 2.0], [3, 2]);
    let loss = model.forward(&x).square().sum();
    assert!(loss.to_vec()[0].is_finite());
    let grads = loss.backward();
    assert_eq!(grads.len(), 50_000 + 25_000, "a gradient for every weight and every other bias");
    let bytes = Checkpoint::from_module(&model).to_bytes().expect("encodes");
    let again = Checkpoint::from_bytes(&bytes, "mem").expect("parses").build::<R>("mem").expect("rebuilds");
    assert_eq!(again.num_params(), model.num_params());
    drop((loss, grads, model, again));
}

#[test]
fn nesting_past_the_limit_is_an_error_not_a_crash() {
    let mut spec = LayerSpec::ReLU;
    for _ in 0..MAX_NESTING + 5 {
        spec = LayerSpec::Residual { body: vec![spec], shortcut: vec![], activation: None };
    }
    let err = Footprint::of(&[spec.clone()], &[1, 2, 3, 3]).unwrap_err().to_string();
    assert!(err.ends_with(&format!("blocks nest more than {MAX_NESTING} deep")), "{err}");
    // A checkpoint describing it is refused the same way before anything is built.
    let checkpoint = Checkpoint { architecture: spec, tensors: vec![], extra: vec![], metadata: vec![] };
    let err = checkpoint.build::<R>("deep.ckpt").err().expect("refused").to_string();
    assert!(err.contains("nest more than"), "{err}");
}
