//! `init`: a 5-layer ReLU network (four hidden layers of 100 units) trained on MNIST with plain
//! SGD (lr = 0.01, batches of 128) for 2,000 iterations from five initializations: the book's
//! three (ch. 6, "weight_init_compare"), N(0, 0.01²), Xavier and He, and the lecture's two
//! extremes, all zeros and N(0, 1). With σ = 0.01 the signal dies out in the forward pass and the
//! gradient in the backward pass, so the loss stays near ln 10 for a long time; from zeros every
//! ReLU outputs 0, no gradient reaches any weight, and it stays at ln 10 for ever (only the output
//! biases learn the class frequencies); from N(0, 1) each layer multiplies the signal's size by
//! about √(100/2) ≈ 7, the scores reach the thousands, and the first steps overshoot — the loss
//! is huge or not a number.
//!
//! Differences from the book: 5,000 training digits instead of 60,000 (2,000 batches of 128 are
//! then 51 epochs); the test accuracy at the end is reported as well. The quick form runs 200
//! iterations with batches of 64.

use neurite_core::Backend;
use neurite_nn::{Activation, Init};
use neurite_optim::{Sgd, SgdConfig};

use crate::common::{
    Digits, Endless, Run, Table, clamp_y, describe, evaluate, flat, indexed, mean, mlp, pct, sig, smooth, step,
};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series};

const INITS: [(&str, Init); 5] = [
    ("zeros", Init::Zeros),
    ("σ = 0.01", Init::Normal { std: 0.01 }),
    ("N(0, 1)", Init::Normal { std: 1.0 }),
    ("Xavier", Init::Xavier),
    ("He", Init::He),
];

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("init", options)?;
    let (iterations, batch) = if run.quick() { (200, 64) } else { (2000, 128) };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    describe(&digits.train, &digits);
    say!("784-100-100-100-100-10 ReLU network, SGD lr = 0.01, batch {batch}, {iterations} iterations");

    let mut csv = Table::new(&["init", "iteration", "loss"]);
    let checkpoints: Vec<usize> = (1..=4).map(|k| k * iterations / 4).collect();
    let mut header = vec!["init".to_string(), "loss (first 10)".to_string()];
    header.extend(checkpoints.iter().map(|c| format!("loss @{c}")));
    header.push("test acc %".into());
    let mut summary = Table::new(&header.iter().map(String::as_str).collect::<Vec<_>>());
    let mut series = Vec::new();
    let window = (iterations / 40).max(5);
    for (label, init) in INITS {
        let mut model = mlp(4, 100, Activation::Relu, init).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr: 0.01, ..Default::default() })?;
        let mut batches = Endless::<B>::new(&digits.train, batch, flat(), run.seed());
        let mut losses = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let b = batches.next_batch();
            let loss = step(&mut model, &mut sgd, &b.inputs, &b.labels, None);
            csv.row(vec![label.into(), (i + 1).to_string(), loss.to_string()]);
            losses.push(loss);
        }
        let (_, test_acc) = evaluate(&mut model, &digits.test, flat());
        let smoothed = smooth(&losses, window);
        let mut row = vec![label.to_string(), sig(mean(&losses[..10.min(iterations)]), 4)];
        row.extend(checkpoints.iter().map(|&c| sig(smoothed[c - 1], 4)));
        row.push(pct(test_acc));
        summary.row(row);
        series.push(Series::line(label, clamp_y(indexed(&smoothed), (0.0, 2.5))));
    }
    summary.print();
    let panel = Panel {
        title: format!("5-layer ReLU network on MNIST: initialization (SGD, lr 0.01, batch {batch})"),
        x_label: "iteration".into(),
        y_label: format!("training loss (mean of last {window})"),
        series,
        y_range: Some((0.0, 2.5)),
        ..Panel::default()
    };
    run.finish(&csv, &[panel], 1, (800, 480))
}
