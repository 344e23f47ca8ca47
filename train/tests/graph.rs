//! `neurite graph`'s drawings: the lecture's examples carry the right numbers, their layout is
//! pinned, and both renderings hold the labels.

use neurite_core::reference::ReferenceBackend as R;
use neurite_core::{Rng, Tensor};
use neurite_nn::models::{MlpConfig, ResNetConfig, Shortcut};
use neurite_train::graph::{EXAMPLES, NodeKind, ValueGraph, example, format_number};

/// One line per node: label, kind, value and gradient; then the edges and the layout.
fn describe(graph: &ValueGraph) -> String {
    let layout = graph.layout();
    let mut out = format!("{}\nsize {:?}\n", graph.title, layout.size);
    for (i, node) in graph.nodes.iter().enumerate() {
        out.push_str(&format!(
            "{i:>2} {:<14} {:<9} at {:?} value {} grad {}\n",
            node.label,
            format!("{:?}", node.kind),
            layout.positions[i],
            node.value,
            node.grad.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!("edges {:?}\n", graph.edges));
    out
}

#[test]
fn the_apple_graph_carries_the_lectures_numbers() {
    let graph = example::<R>("apples").expect("a known example");
    let find = |label: &str| graph.nodes.iter().find(|n| n.label == label).expect("a node");
    // (2·100 + 3·150)·1.1 = 715; ∂/∂ apple price = 2·1.1, ∂/∂ apples = 100·1.1, ∂/∂ tax = 650.
    let expected = [
        ("apple price", "100", "2.2"),
        ("apples", "2", "110"),
        ("orange price", "150", "3.3"),
        ("oranges", "3", "165"),
        ("tax", "1.1", "650"),
    ];
    for (label, value, grad) in expected {
        let node = find(label);
        assert_eq!((node.value.as_str(), node.grad.as_deref()), (value, Some(grad)), "{label}");
        assert_eq!(node.kind, NodeKind::Parameter);
    }
    let out = graph.nodes.last().expect("an output");
    assert_eq!((out.label.as_str(), out.value.as_str(), out.grad.as_deref()), ("×", "715", Some("1")));
    // Five leaves, three multiplications, one addition; eight edges.
    assert_eq!(graph.nodes.len(), 9);
    assert_eq!(graph.edges.len(), 8);
    insta::assert_snapshot!(describe(&graph));
}

#[test]
fn every_example_draws_to_svg_and_png_with_its_numbers() {
    for (name, _) in EXAMPLES {
        let graph = example::<R>(name).expect("a known example");
        let svg = graph.to_svg().expect("draws");
        assert!(svg.starts_with("<svg"), "{name}");
        for node in &graph.nodes {
            // plotters escapes text for XML; the examples' labels need none but `&`-free checks.
            assert!(svg.contains(&node.value), "{name}: value {} missing", node.value);
        }
        let png = graph.to_image().expect("draws");
        assert_eq!((png.width(), png.height()), graph.layout().size, "{name}");
        // Something was drawn: dark pixels exist.
        assert!(png.pixels().filter(|p| p.0[0] < 100).count() > 500, "{name}");
    }
    assert!(example::<R>("pears").is_none());
}

#[test]
fn the_sigmoid_graph_gives_y_times_one_minus_y() {
    let graph = example::<R>("sigmoid").expect("a known example");
    let y = 1.0 / (1.0 + (-0.4f32).exp());
    let x = graph.nodes.iter().find(|n| n.label == "x").expect("x");
    assert_eq!(x.grad.as_deref(), Some(format_number(y * (1.0 - y)).as_str()));
    assert_eq!(graph.nodes.last().map(|n| n.value.clone()), Some(format_number(y)));
    insta::assert_snapshot!(describe(&graph));
}

#[test]
fn the_two_layer_graph_gives_softmax_minus_one_hot_at_the_output_bias() {
    let graph = example::<R>("two-layer").expect("a known example");
    // The loss is the last node; the gradient at b2 is softmax − one-hot: [p0, p1 − 1] = [p0, −p0].
    let b2 = graph.nodes.iter().find(|n| n.label == "b2").expect("b2");
    let logits_node = graph.nodes.iter().rev().find(|n| n.label == "+").expect("the output affine");
    let logits: Vec<f32> =
        logits_node.value.trim_matches(['[', ']']).split(", ").map(|v| v.parse().expect("a number")).collect();
    let e: Vec<f32> = logits.iter().map(|z| z.exp()).collect();
    let p0 = e[0] / (e[0] + e[1]);
    let printed: Vec<f32> = b2
        .grad
        .as_deref()
        .expect("b2 has a gradient")
        .trim_matches(['[', ']'])
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    assert!((printed[0] - p0).abs() < 1e-3 && (printed[1] + p0).abs() < 1e-3, "{printed:?} vs {p0}");
    insta::assert_snapshot!(describe(&graph));
}

#[test]
fn the_chain_rule_exercise_gives_both_partial_derivatives() {
    let graph = example::<R>("chain-rule").expect("a known example");
    let node = |label: &str| graph.nodes.iter().find(|n| n.label == label).expect("a node");
    let (r, t) = (2.0f32, std::f32::consts::FRAC_PI_6);
    // u = (r sin t)² + 2 sin² t; ∂u/∂r = 2r·sin² t = 1, ∂u/∂t = (r² + 2)·sin 2t = 6·(√3/2).
    assert_eq!(node("u = x² + 2y").value, format_number(r * r * t.sin().powi(2) + 2.0 * t.sin().powi(2)));
    let grad = |label: &str| node(label).grad.as_deref().expect("a gradient").parse::<f32>().expect("a number");
    assert!((grad("r") - 2.0 * r * t.sin().powi(2)).abs() < 1e-3, "∂u/∂r = {}", grad("r"));
    assert!((grad("t") - (r * r + 2.0) * (2.0 * t).sin()).abs() < 1e-3, "∂u/∂t = {}", grad("t"));
    // sin t feeds x and y: two edges leave it, and its gradient sums both paths' products.
    let sin = graph.nodes.iter().position(|n| n.label == "sin").expect("sin");
    assert_eq!(graph.edges.iter().filter(|e| e.0 == sin).count(), 2);
    insta::assert_snapshot!(describe(&graph));
}

#[test]
fn the_composite_function_gives_two_t() {
    let graph = example::<R>("composite").expect("a known example");
    let node = |label: &str| graph.nodes.iter().find(|n| n.label == label).expect("a node");
    assert_eq!(node("z = t²").value, "9");
    // ∂z/∂t = 2t = 6, and t = x + y passes it on to both.
    for label in ["t = x + y", "x", "y"] {
        assert_eq!(node(label).grad.as_deref(), Some("6"), "{label}");
    }
    insta::assert_snapshot!(describe(&graph));
}

#[test]
fn a_model_graph_has_one_node_per_layer_and_its_weights() {
    let mut model = MlpConfig::new(4, &[3], 2).init::<R>(1);
    neurite_nn::Module::set_training(&mut model, false);
    let x = Tensor::<R>::from_vec(Rng::seed(2).normal_vec(4, 0.0, 1.0), [1, 4]);
    let graph = ValueGraph::of_model("tiny", &model, &x, 1);
    // input, flatten, (weights, linear), relu, (weights, linear), loss.
    let labels: Vec<&str> = graph.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels.len(), 8, "{labels:?}");
    assert_eq!(labels[0], "input (label 1)");
    assert_eq!(labels[7], "CE loss");
    assert_eq!(graph.nodes.iter().filter(|n| n.kind == NodeKind::Parameter).count(), 2);
    assert!(graph.nodes.iter().filter(|n| n.kind == NodeKind::Parameter).all(|n| n.label.ends_with("weights")));
    assert_eq!(graph.edges.len(), 7);
}

#[test]
fn a_residual_network_is_drawn_with_its_branches_meeting_at_a_sum() {
    let config = ResNetConfig::new([3, 8, 8], 4, 8).with_widths(&[2, 4, 4]).with_shortcut(Shortcut::B);
    let mut model = config.init::<R>(1).expect("builds");
    neurite_nn::Module::set_training(&mut model, false);
    let x = Tensor::<R>::from_vec(Rng::seed(2).normal_vec(3 * 64, 0.0, 1.0), [1, 3, 8, 8]);
    let graph = ValueGraph::of_model("resnet-8", &model, &x, 1);
    let labels: Vec<&str> = graph.nodes.iter().map(|n| n.label.as_str()).collect();
    let sums: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == "+").collect();
    assert_eq!(sums.len(), 3, "one sum per block: {labels:?}");
    let inputs_of = |v: usize| -> Vec<usize> { graph.edges.iter().filter(|e| e.1 == v).map(|e| e.0).collect() };
    // Stage 1's block: the body and the identity, straight from the block's input (the ReLU).
    let first = inputs_of(sums[0]);
    assert_eq!(first.len(), 2);
    assert_eq!(labels[first[0]], "Conv3x3·BN·ReLU·Conv3x3·BN");
    assert_eq!(labels[first[1]], "ReLU");
    // Stage 2's block: the strided body and the 1×1 projection, both fed by the previous block.
    let second = inputs_of(sums[1]);
    assert_eq!(labels[second[0]], "Conv3x3/2·BN·ReLU·Conv3x3·BN");
    assert_eq!(labels[second[1]], "shortcut Conv1x1/2·BN");
    assert_eq!(inputs_of(second[0]).iter().filter(|&&u| labels[u] == "ReLU").count(), 1);
    // The sum carries the gradient of both branches: the same tensor, so the same text.
    assert_eq!(graph.nodes[sums[1]].grad, graph.nodes[second[0]].grad);
    assert_eq!(labels.last(), Some(&"CE loss"));
}
