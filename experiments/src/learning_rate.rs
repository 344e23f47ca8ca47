//! `learning-rate`: the book's 5-layer ReLU network (four hidden layers of 100 units, He init)
//! trained by plain SGD on batches of 128 with learning rates from 10⁻⁴ to 3: too small barely
//! moves the loss, a good one brings it down fast, and too large makes it oscillate or blow up.
//! A run whose loss stops being finite (or passes 10³) is stopped and marked as diverged.
//!
//! Not a book experiment (the book tunes the learning rate by random search); Neurite's own
//! setup: 1,000 iterations (the quick form: 200 iterations of batches of 64).

use neurite_core::Backend;
use neurite_nn::{Activation, Init};
use neurite_optim::{Sgd, SgdConfig};

use crate::common::{
    Digits, Endless, Run, Table, clamp_y, describe, evaluate, flat, indexed, mean, mlp, pct, sig, smooth, step,
};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series};

/// The learning rates, smallest first.
const RATES: [f32; 7] = [1e-4, 1e-3, 1e-2, 1e-1, 0.5, 1.0, 3.0];

/// A loss above this counts as diverged.
const BLOW_UP: f32 = 1e3;

/// How a run went, from its loss curve: the mean loss of the first 10 iterations, and the mean and
/// standard deviation (`spread`) of the last 10 %. Oscillating means the spread exceeds the mean.
fn verdict(first: f32, last: f32, diverged: bool, spread: f32) -> &'static str {
    if diverged || !last.is_finite() || last > first {
        "diverges"
    } else if spread > last {
        "oscillates"
    } else if last > 0.8 * first {
        "barely moves"
    } else {
        "learns"
    }
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("learning-rate", options)?;
    let (iterations, batch) = if run.quick() { (200, 64) } else { (1000, 128) };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    describe(&digits.train, &digits);
    say!("784-100-100-100-100-10 ReLU network, He init, SGD, batch {batch}, {iterations} iterations");

    let mut csv = Table::new(&["lr", "iteration", "loss"]);
    let mut summary =
        Table::new(&["lr", "loss (first 10)", "loss (last 10 %)", "spread (last 10 %)", "verdict", "test acc %"]);
    let window = (iterations / 40).max(5);
    let y_range = (0.0, 4.0);
    let mut series = Vec::new();
    let mut results = Vec::new();
    for lr in RATES {
        let mut model = mlp(4, 100, Activation::Relu, Init::He).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr, ..Default::default() })?;
        let mut batches = Endless::<B>::new(&digits.train, batch, flat(), run.seed());
        let mut losses = Vec::with_capacity(iterations);
        let mut diverged = false;
        for i in 0..iterations {
            let b = batches.next_batch();
            let loss = step(&mut model, &mut sgd, &b.inputs, &b.labels, None);
            csv.row(vec![lr.to_string(), (i + 1).to_string(), loss.to_string()]);
            losses.push(loss);
            if !loss.is_finite() || loss > BLOW_UP {
                diverged = true;
                break;
            }
        }
        let tail = &losses[losses.len() - (losses.len() / 10).max(1)..];
        let (first, last) = (mean(&losses[..10.min(losses.len())]), mean(tail));
        let spread = {
            let m = f64::from(last);
            (tail.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / tail.len() as f64).sqrt() as f32
        };
        let test_acc = if diverged { f32::NAN } else { evaluate(&mut model, &digits.test, flat()).1 };
        results.push((lr, first, last, spread, diverged, test_acc));
        let smoothed = smooth(&losses, window);
        series.push(Series::line(format!("lr = {lr}"), clamp_y(indexed(&smoothed), y_range)));
    }
    let best = results.iter().filter(|r| !r.4).map(|r| r.2).fold(f32::INFINITY, f32::min);
    for &(lr, first, last, spread, diverged, test_acc) in &results {
        let mut verdict = verdict(first, last, diverged, spread).to_string();
        if last == best {
            verdict.push_str(" (best)");
        }
        summary.row(vec![
            lr.to_string(),
            sig(first, 4),
            if diverged { "diverged".into() } else { sig(last, 4) },
            if diverged { "-".into() } else { sig(spread, 3) },
            verdict,
            if diverged { "-".into() } else { pct(test_acc) },
        ]);
    }
    summary.print();
    let panel = Panel {
        title: format!("Learning rate: SGD on MNIST, 5-layer ReLU network, batch {batch}"),
        x_label: "iteration".into(),
        y_label: format!("training loss (mean of last {window}, cut at {})", y_range.1),
        series,
        y_range: Some(y_range),
        ..Panel::default()
    };
    run.finish(&csv, &[panel], 1, (800, 480))
}
