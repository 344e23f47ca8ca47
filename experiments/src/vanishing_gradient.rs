//! `vanishing-gradient`: the norm of the loss gradient with respect to each layer's weights in a
//! 10-layer network (nine hidden layers of 100 units), with sigmoid, tanh or ReLU units, measured
//! on a fixed batch of 500 training digits at initialization and again after training. Each
//! activation gets the initialization made for it (Xavier for sigmoid and tanh, He for ReLU), so
//! what remains is the activation's own effect: σ' ≤ 1/4 shrinks the backward signal at every
//! layer, while tanh' ≤ 1 (and equal to 1 near 0) and ReLU' ∈ {0, 1} pass it on.
//!
//! Not a book experiment (the book shows the effect through activation histograms); Neurite's
//! own setup: SGD, lr 0.05, batches of 100, 1,000 iterations (the quick form: 150 iterations).

use neurite_core::{Backend, Tensor};
use neurite_nn::data::BatchLoader;
use neurite_nn::regularization::is_weight;
use neurite_nn::{Activation, Init, Module, Sequential, loss};
use neurite_optim::{Sgd, SgdConfig};

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, flat, mean, mlp, pct, sig, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series, Style};

const HIDDEN: usize = 9;
const PROBE: usize = 500;

const NETWORKS: [(&str, Activation, Init); 3] = [
    ("sigmoid", Activation::Sigmoid, Init::Xavier),
    ("tanh", Activation::Tanh, Init::Xavier),
    ("relu", Activation::Relu, Init::He),
];

/// ‖∂L/∂W‖ of each linear layer's weight, input side first, for the mean loss on `(x, labels)`.
fn weight_gradient_norms<B: Backend>(model: &Sequential<B>, x: &Tensor<B>, labels: &Tensor<B>) -> Vec<f32> {
    let grads = loss::cross_entropy(&model.forward(x), labels).backward();
    model
        .params()
        .into_iter()
        .filter(|(name, _)| is_weight(name))
        .map(|(_, w)| grads.get(w).map_or(0.0, |g| g.as_slice().iter().map(|v| v * v).sum::<f32>().sqrt()))
        .collect()
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("vanishing-gradient", options)?;
    let iterations = if run.quick() { 150 } else { 1000 };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    describe(&digits.train, &digits);
    say!(
        "784-{}-10 network ({} linear layers), SGD lr 0.05, batch 100, {iterations} iterations; \
         gradients on {PROBE} fixed training digits",
        ["100"; HIDDEN].join("-"),
        HIDDEN + 1
    );
    let probe = digits.train_subset(PROBE, run.seed());
    let probe_batch = BatchLoader::new(&probe, PROBE).with_preprocessing(flat()).epoch::<B>().next();
    let probe_batch = probe_batch.expect("the probe set is not empty");

    let mut csv = Table::new(&["activation", "phase", "layer", "grad_norm"]);
    let mut summary =
        Table::new(&["activation", "phase", "‖∇W1‖", "‖∇W5‖", "‖∇W10‖", "W1 / W10", "train loss", "test acc %"]);
    let phases = ["initialization".to_string(), format!("after {iterations} iterations")];
    let mut panels: Vec<Panel> = phases
        .iter()
        .map(|phase| Panel {
            title: format!("10-layer network: gradient norm per layer, {phase}"),
            x_label: "layer (1 = input side)".into(),
            y_label: "log₁₀ ‖∂L/∂W‖".into(),
            ..Panel::default()
        })
        .collect();

    for (name, activation, init) in NETWORKS {
        let mut model = mlp(HIDDEN, 100, activation, init).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr: 0.05, ..Default::default() })?;
        let mut batches = Endless::<B>::new(&digits.train, 100, flat(), run.seed());
        let mut losses = Vec::new();
        for (p, phase) in phases.iter().enumerate() {
            if p == 1 {
                for _ in 0..iterations {
                    let b = batches.next_batch();
                    losses.push(step(&mut model, &mut sgd, &b.inputs, &b.labels, None));
                }
            }
            let norms = weight_gradient_norms(&model, &probe_batch.inputs, &probe_batch.labels);
            for (l, &g) in norms.iter().enumerate() {
                csv.row(vec![
                    name.into(),
                    if p == 0 { "init" } else { "trained" }.into(),
                    (l + 1).to_string(),
                    g.to_string(),
                ]);
            }
            let (train_loss, _) = evaluate(&mut model, &digits.train, flat());
            let (_, test_acc) = evaluate(&mut model, &digits.test, flat());
            let (first, last) = (norms[0], norms[norms.len() - 1]);
            summary.row(vec![
                name.into(),
                phase.clone(),
                sig(first, 3),
                sig(norms[4], 3),
                sig(last, 3),
                sig(first / last, 3),
                sig(train_loss, 4),
                pct(test_acc),
            ]);
            let points = norms.iter().enumerate().map(|(l, &g)| ((l + 1) as f64, f64::from(g).log10())).collect();
            panels[p].series.push(Series { name: name.into(), points, style: Style::LineMarkers });
        }
        if !losses.is_empty() {
            say!(
                "{name}: mean training loss over the last 100 iterations {}",
                sig(mean(&losses[losses.len().saturating_sub(100)..]), 4)
            );
        }
    }
    summary.print();
    run.finish(&csv, &panels, 2, (620, 420))
}
