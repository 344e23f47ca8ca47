//! `training-histograms`: the hidden layers while the network learns. A 784-100-100-100-100-10
//! network with sigmoid or ReLU units, starting from small weights (σ = 0.01) or from the scale
//! made for the activation (the lecture's pairing: Xavier's N(0, 1/n_in) for sigmoid, He's
//! N(0, 2/n_in) for ReLU), trains with SGD; before training and after every epoch a fixed batch
//! of 500 training digits goes through it, and `neurite_train::histograms::Recorder` keeps each hidden
//! layer's outputs, the gradient of the loss with respect to them, and its dead units (the same
//! recorder as `neurite train --histograms`).
//!
//! What it shows: from σ = 0.01 every layer's outputs collapse (sigmoid to 0.5, ReLU to 0) and the
//! gradient shrinks by a large factor per layer on the way down, so the first layers barely
//! learn; the last layer's ReLUs even die as training pushes their biases below zero. From He the
//! ReLU outputs stay spread at every depth, the gradient reaches the first layer at the same size,
//! and almost no unit dies. Sigmoid shrinks the gradient about fourfold per layer even from
//! Xavier (σ' ≤ 1/4 where Xavier keeps the weights' gain at 1): the vanishing gradient. The table
//! gives, at the end, the spread of the last hidden layer's outputs, the ratio of the gradient at layer 1 to layer 4, the fraction of dead ReLUs
//! and the test accuracy.
//!
//! The quick form trains 2 epochs on 1,000 digits.

use neurite_core::{Backend, Tensor};
use neurite_nn::data::BatchLoader;
use neurite_nn::{Activation, Init};
use neurite_optim::{Sgd, SgdConfig};
use neurite_train::histograms::Recorder;
use neurite_train::plot::Panel;

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, flat, mlp, pct, sig, step};
use crate::{ExperimentError, ExperimentOptions};

const CASES: [(&str, Activation, &str, Init); 4] = [
    ("sigmoid", Activation::Sigmoid, "σ = 0.01", Init::Normal { std: 0.01 }),
    ("sigmoid", Activation::Sigmoid, "Xavier", Init::Xavier),
    ("relu", Activation::Relu, "σ = 0.01", Init::Normal { std: 0.01 }),
    ("relu", Activation::Relu, "He", Init::He),
];

/// Samples in the probe batch.
const PROBE: usize = 500;

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("training-histograms", options)?;
    let digits = Digits::load(options, if run.quick() { 1000 } else { usize::MAX })?;
    let train = if run.quick() { digits.train_subset(1000, run.seed()) } else { digits.train.clone() };
    let (epochs, batch, lr) = (if run.quick() { 2 } else { 10 }, 32, 0.1);
    describe(&train, &digits);
    say!("784-100-100-100-100-10 network, SGD lr {lr}, batch {batch}, {epochs} epochs; probe of {PROBE} digits");
    let probe = digits.train_subset(PROBE, run.seed().wrapping_add(1));
    let probe_batch = BatchLoader::new(&probe, PROBE).with_preprocessing(flat()).epoch::<B>().next();
    let probe_batch = probe_batch.expect("the probe set is not empty");
    let targets: Tensor<B> = probe_batch.labels.one_hot(10);

    let mut csv = Table::new(&["activation", "init", "epoch", "layer", "mean", "std", "grad_rms", "dead_fraction"]);
    let mut summary = Table::new(&[
        "activation",
        "init",
        "layer-4 output std",
        "grad rms layer 1 / layer 4",
        "dead ReLUs %",
        "test acc %",
    ]);
    let mut panels: Vec<Panel> = Vec::new();
    for (act_name, activation, init_name, init) in CASES {
        let mut model = mlp(4, 100, activation, init).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr, ..Default::default() })?;
        let mut recorder = Recorder::new(probe_batch.inputs.clone(), targets.clone());
        recorder.record(&mut model, 0);
        let mut batches = Endless::<B>::new(&train, batch, flat(), run.seed());
        for epoch in 1..=epochs {
            for _ in 0..train.len() / batch {
                let b = batches.next_batch();
                step(&mut model, &mut sgd, &b.inputs, &b.labels, None);
            }
            recorder.record(&mut model, epoch);
        }
        let (_, acc) = evaluate(&mut model, &digits.test, flat());
        for r in recorder.records() {
            csv.row(vec![
                act_name.into(),
                init_name.into(),
                r.epoch.to_string(),
                r.layer.to_string(),
                r.mean.to_string(),
                r.std.to_string(),
                r.grad_rms.to_string(),
                r.dead.map_or(String::new(), |d| d.to_string()),
            ]);
        }
        let last: Vec<_> = recorder.records().iter().filter(|r| r.epoch == epochs).collect();
        let at = |layer: usize| last.iter().find(|r| r.layer == layer).copied();
        let (first, fourth) = (at(1), at(4));
        let ratio = match (first, fourth) {
            (Some(a), Some(b)) if b.grad_rms > 0.0 => sig((a.grad_rms / b.grad_rms) as f32, 3),
            _ => "-".into(),
        };
        let dead = last.iter().filter_map(|r| r.dead).sum::<f64>() / last.len().max(1) as f64;
        summary.row(vec![
            act_name.into(),
            init_name.into(),
            fourth.map_or("-".into(), |r| sig(r.std as f32, 3)),
            ratio,
            if activation == Activation::Relu { format!("{:.1}", 100.0 * dead) } else { "-".into() },
            pct(acc),
        ]);
        let case = format!("{act_name}, {init_name}");
        for layer in [1, 4] {
            panels.push(recorder.value_panel(layer, &format!("{case}: layer {layer} outputs"), 3));
        }
        panels.push(recorder.grad_panel(1, &format!("{case}: layer 1 gradient"), 3));
        panels.push(recorder.rms_panel(&format!("{case}: gradient by layer")));
        panels.push(recorder.dead_panel(&format!("{case}: dead units (ReLU only)")));
    }
    summary.print();
    run.finish(&csv, &panels, 5, (340, 260))
}
