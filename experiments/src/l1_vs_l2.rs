//! `l1-vs-l2`: what the two penalties do to the weights. A 784-100-10 ReLU network trains with
//! SGD four times: without a penalty, with L2 (λ/2·Σw²), with L1 (λ·Σ|w|) followed by its
//! subgradient λ·sign(w), and with L1 taken by the proximal (soft-threshold) step
//! w ← sign(w)·max(|w| − lr·λ, 0) after each update.
//!
//! L2's pull is proportional to the weight, so it shrinks every weight and stops short of zero.
//! L1's pull is the same for every weight, so the weights the data does not need (the pixels at
//! the border, which are always 0, and most of the rest) are driven to zero: with the proximal
//! step they land on exactly 0 and stay there, a sparse network; with the subgradient step they
//! overshoot and flip sign around zero instead, small but never exactly 0. The table gives the
//! fraction of first-layer weights that are exactly 0 and that are below 10⁻³ in size, and the
//! test accuracy; the figure shows the sizes of the first-layer weights on a log scale, with the
//! exact zeros apart.
//!
//! The quick form trains 20 epochs on 1,000 digits.

use neurite_core::Backend;
use neurite_nn::regularization::Penalty;
use neurite_nn::{Activation, Init, Module};
use neurite_optim::{Sgd, SgdConfig};
use neurite_train::plot::{Panel, Series};
use neurite_train::{CrossEntropy, StepSettings, train_step};

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, flat, mlp, pct};
use crate::{ExperimentError, ExperimentOptions};

/// Learning rate of every run.
const LR: f32 = 0.1;
/// λ of the L1 runs.
const L1: f32 = 1e-3;
/// λ of the L2 run.
const L2: f32 = 1e-2;

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("l1-vs-l2", options)?;
    let digits = Digits::load(options, if run.quick() { 1000 } else { usize::MAX })?;
    let train = if run.quick() { digits.train_subset(1000, run.seed()) } else { digits.train.clone() };
    let (epochs, batch) = (20, 32);
    describe(&train, &digits);
    say!("784-100-10 ReLU network, SGD lr {LR}, batch {batch}, {epochs} epochs; L1 λ = {L1}, L2 λ = {L2}");

    let cases: [(&str, Option<Penalty>); 4] = [
        ("none", None),
        ("L2", Some(Penalty::L2(L2))),
        ("L1 subgradient", Some(Penalty::L1(L1))),
        ("L1 proximal", Some(Penalty::L1Proximal(L1))),
    ];
    let mut csv = Table::new(&["penalty", "exact_zero_fraction", "small_fraction", "mean_abs", "test_acc"]);
    let mut summary = Table::new(&["penalty", "weights exactly 0 %", "weights |w| < 1e-3 %", "mean |w|", "test acc %"]);
    let mut histograms = Vec::new();
    let (mut zeros, mut names) = (Vec::new(), Vec::new());
    for (k, (name, penalty)) in cases.into_iter().enumerate() {
        let mut model = mlp(1, 100, Activation::Relu, Init::He).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr: LR, ..Default::default() })?;
        let mut settings = StepSettings::new(CrossEntropy);
        if let Some(p) = penalty {
            settings = settings.penalize(p, &model);
        }
        let mut batches = Endless::<B>::new(&train, batch, flat(), run.seed());
        for _ in 0..epochs * (train.len() / batch) {
            let b = batches.next_batch();
            // A step that is not finite leaves the model as it was; none is expected here.
            let _ = train_step(&mut model, &mut sgd, &b.inputs, &b.labels, &settings);
        }
        let (_, acc) = evaluate(&mut model, &digits.test, flat());
        let params = model.params();
        let w = params.iter().find(|(n, _)| n == "layers.1.weight").map(|(_, t)| t.to_vec()).unwrap_or_default();
        let n = w.len().max(1) as f64;
        let exact = w.iter().filter(|v| **v == 0.0).count() as f64 / n;
        let small = w.iter().filter(|v| v.abs() < 1e-3).count() as f64 / n;
        let mean_abs = w.iter().map(|v| f64::from(v.abs())).sum::<f64>() / n;
        csv.row(vec![name.into(), exact.to_string(), small.to_string(), mean_abs.to_string(), acc.to_string()]);
        summary.row(vec![
            name.into(),
            format!("{:.1}", 100.0 * exact),
            format!("{:.1}", 100.0 * small),
            format!("{mean_abs:.4}"),
            pct(acc),
        ]);
        histograms.push(Series::line(name, magnitude_histogram(&w)));
        zeros.push((k as f64 + 1.0, 100.0 * exact));
        names.push((k as f64 + 1.0, name.to_string()));
    }
    summary.print();
    let distribution = Panel {
        title: "first-layer weight sizes (exact zeros at −9)".into(),
        x_label: "log₁₀ |w|".into(),
        y_label: "fraction of weights".into(),
        series: histograms,
        ..Panel::default()
    };
    let exact = Panel {
        title: "weights that are exactly 0".into(),
        x_label: "penalty".into(),
        y_label: "% of first-layer weights".into(),
        series: vec![Series::bars("", zeros, 0.6)],
        y_range: Some((0.0, 100.0)),
        x_ticks: names,
        ..Panel::default()
    };
    run.finish(&csv, &[distribution, exact], 2, (640, 420))
}

/// Where exact zeros are drawn on the log₁₀ |w| axis.
const ZERO_AT: f64 = -9.0;

/// The fraction of `w` in bins of log₁₀ |w| a quarter of a decade wide from 10⁻⁸ to 1, with the
/// exact zeros as one more point at [`ZERO_AT`].
fn magnitude_histogram(w: &[f32]) -> Vec<(f64, f64)> {
    const LOW: f64 = -8.0;
    const BINS: usize = 32;
    let mut counts = [0usize; BINS];
    let mut zeros = 0;
    for &v in w {
        if v == 0.0 {
            zeros += 1;
            continue;
        }
        let bin = ((f64::from(v.abs()).log10() - LOW) * 4.0).floor().clamp(0.0, (BINS - 1) as f64) as usize;
        counts[bin] += 1;
    }
    let n = w.len().max(1) as f64;
    let mut points = vec![(ZERO_AT, zeros as f64 / n), (ZERO_AT + 0.5, 0.0)];
    points.extend(counts.iter().enumerate().map(|(i, &c)| (LOW + (i as f64 + 0.5) / 4.0, c as f64 / n)));
    points
}
