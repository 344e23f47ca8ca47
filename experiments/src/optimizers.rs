//! `optimizers`: SGD, Momentum, AdaGrad, RMSProp and Adam, first on the ravine
//! f(x, y) = x²/20 + y² from (−7, 2) for 30 steps with the book's learning rates
//! (`neurite_optim::course`), drawn over the function's contours; then on MNIST with the book's
//! 5-layer ReLU network (four hidden layers of 100, He init), batches of 128, 2,000 iterations,
//! each optimizer with the book's default settings (ch. 6, "optimizer_compare_naive" and
//! "optimizer_compare_mnist"): SGD lr 0.01; Momentum lr 0.01, 0.9; AdaGrad lr 0.01;
//! RMSProp lr 0.01, decay 0.99; Adam lr 0.001.
//!
//! A last panel shows why AdaGrad slows down: each weight's effective learning rate η/√(h + ε),
//! the median over the first layer's weights, read from the optimizer's state along the MNIST
//! run. AdaGrad's h is the *sum* of every squared gradient so far, so its rate can only fall,
//! about as 1/√t; RMSProp's h is a decaying average, which forgets, so its rate follows the
//! gradients' current size instead. The ravine's table also gives the step each optimizer took
//! along x divided by the gradient there (|Δx|/|∂f/∂x|), which is the same rate seen from outside.
//!
//! Differences from the book: 5,000 training digits instead of 60,000; RMSProp takes part in the
//! MNIST comparison too (the book leaves it out there); ε sits inside the square root of AdaGrad
//! and RMSProp (the course's form) rather than outside. The quick form runs 200 MNIST iterations
//! with batches of 64 (the ravine is always the full 30 steps).

use neurite_core::Backend;
use neurite_nn::{Activation, Init};
use neurite_optim::course::{RAVINE_START, RAVINE_STEPS, ravine, ravine_trajectories};
use neurite_optim::{
    AdaGrad, AdaGradConfig, Adam, AdamConfig, Momentum, MomentumConfig, Optimizer, RmsProp, RmsPropConfig, Sgd,
    SgdConfig,
};

use crate::common::{
    Digits, Endless, Run, Table, clamp_y, describe, evaluate, flat, indexed, mlp, pct, sig, smooth, step,
};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series, Style};

/// The x and y ranges of the ravine panels.
const X_RANGE: (f64, f64) = (-10.0, 10.0);
const Y_RANGE: (f64, f64) = (-5.0, 5.0);

/// The loss range of the MNIST panel (the book's); the first iterations' higher losses are cut.
const MNIST_Y_RANGE: (f64, f64) = (0.0, 1.0);

/// An optimizer of the comparison: (name, legend label, the optimizer).
type Entry<B> = (&'static str, &'static str, Box<dyn Optimizer<B>>);

/// The MNIST optimizers with the book's settings: (name, label, optimizer).
fn mnist_optimizers<B: Backend>() -> Result<Vec<Entry<B>>, ExperimentError> {
    Ok(vec![
        ("sgd", "SGD (lr 0.01)", Box::new(Sgd::new(SgdConfig { lr: 0.01, ..Default::default() })?)),
        (
            "momentum",
            "Momentum (lr 0.01, 0.9)",
            Box::new(Momentum::new(MomentumConfig { lr: 0.01, momentum: 0.9, ..Default::default() })?),
        ),
        ("adagrad", "AdaGrad (lr 0.01)", Box::new(AdaGrad::new(AdaGradConfig { lr: 0.01, ..Default::default() })?)),
        (
            "rmsprop",
            "RMSProp (lr 0.01, 0.99)",
            Box::new(RmsProp::new(RmsPropConfig { lr: 0.01, gamma: 0.99, ..Default::default() })?),
        ),
        ("adam", "Adam (lr 0.001)", Box::new(Adam::new(AdamConfig { lr: 0.001, ..Default::default() })?)),
    ])
}

/// Contour lines f(x, y) = c of the ravine, cut where they leave the panel.
fn contours() -> Vec<Vec<(f64, f64)>> {
    let mut lines = Vec::new();
    for c in [0.25f64, 1.0, 2.0, 4.0, 8.0, 16.0] {
        let mut current = Vec::new();
        for k in 0..=200 {
            let t = k as f64 / 200.0 * std::f64::consts::TAU;
            let (x, y) = ((20.0 * c).sqrt() * t.cos(), c.sqrt() * t.sin());
            let inside = (X_RANGE.0..=X_RANGE.1).contains(&x) && (Y_RANGE.0..=Y_RANGE.1).contains(&y);
            if inside {
                current.push((x, y));
            } else if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
    }
    lines
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("optimizers", options)?;
    let mut csv = Table::new(&["part", "optimizer", "step", "x", "y", "loss", "effective_lr"]);
    let mut panels = Vec::new();

    say!("ravine f(x, y) = x²/20 + y², {RAVINE_STEPS} steps from ({}, {})", RAVINE_START[0], RAVINE_START[1]);
    let mut ravine_table = Table::new(&[
        "optimizer",
        "x",
        "y",
        "f(x, y)",
        "distance to (0, 0)",
        "|Δx|/|∂f/∂x| step 1",
        "step 10",
        "step 30",
    ]);
    for trajectory in ravine_trajectories::<B>() {
        let effective = effective_rates(&trajectory.points);
        for (step, &[x, y]) in trajectory.points.iter().enumerate() {
            csv.row(vec![
                "ravine".into(),
                trajectory.optimizer.clone(),
                step.to_string(),
                x.to_string(),
                y.to_string(),
                ravine(x, y).to_string(),
                effective.get(step).map_or(String::new(), |r| r.map_or(String::new(), |r| r.to_string())),
            ]);
        }
        let at = |step: usize| effective.get(step - 1).copied().flatten().map_or("-".to_string(), |r| sig(r, 3));
        let [x, y] = trajectory.end();
        ravine_table.row(vec![
            trajectory.optimizer.clone(),
            sig(x, 4),
            sig(y, 4),
            sig(ravine(x, y), 4),
            sig(trajectory.end_distance(), 4),
            at(1),
            at(10),
            at(30),
        ]);
        let points = trajectory.points.iter().map(|&[x, y]| (f64::from(x), f64::from(y))).collect();
        panels.push(Panel {
            title: trajectory.label.clone(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series { name: String::new(), points, style: Style::LineMarkers }],
            x_range: Some(X_RANGE),
            y_range: Some(Y_RANGE),
            background: contours(),
            ..Panel::default()
        });
    }
    ravine_table.print();

    let (iterations, batch) = if run.quick() { (200, 64) } else { (2000, 128) };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    say!();
    describe(&digits.train, &digits);
    say!("784-100-100-100-100-10 ReLU network, He init, batch {batch}, {iterations} iterations");
    let checkpoints: Vec<usize> = (1..=4).map(|k| k * iterations / 4).collect();
    let mut header = vec!["optimizer".to_string()];
    header.extend(checkpoints.iter().map(|c| format!("loss @{c}")));
    header.push("test acc %".into());
    let mut mnist_table = Table::new(&header.iter().map(String::as_str).collect::<Vec<_>>());
    let window = (iterations / 40).max(5);
    let mut series = Vec::new();
    let mut effective_series = Vec::new();
    let every = (iterations / 100).max(1);
    for (name, label, mut optimizer) in mnist_optimizers::<B>()? {
        let adaptive = ["adagrad", "rmsprop"].contains(&name);
        let mut effective = Vec::new();
        let mut model = mlp(4, 100, Activation::Relu, Init::He).init::<B>(run.seed());
        let mut batches = Endless::<B>::new(&digits.train, batch, flat(), run.seed());
        let mut losses = Vec::with_capacity(iterations);
        for i in 0..iterations {
            let b = batches.next_batch();
            let loss = step(&mut model, optimizer.as_mut(), &b.inputs, &b.labels, None);
            let rate = if adaptive && (i + 1) % every == 0 { median_effective_rate(optimizer.as_ref()) } else { None };
            if let Some(r) = rate {
                effective.push(((i + 1) as f64, f64::from(r)));
            }
            csv.row(vec![
                "mnist".into(),
                name.into(),
                (i + 1).to_string(),
                String::new(),
                String::new(),
                loss.to_string(),
                rate.map_or(String::new(), |r| r.to_string()),
            ]);
            losses.push(loss);
        }
        let (_, test_acc) = evaluate(&mut model, &digits.test, flat());
        let smoothed = smooth(&losses, window);
        let mut row = vec![name.to_string()];
        row.extend(checkpoints.iter().map(|&c| sig(smoothed[c - 1], 4)));
        row.push(pct(test_acc));
        mnist_table.row(row);
        series.push(Series::line(label, clamp_y(indexed(&smoothed), MNIST_Y_RANGE)));
        if adaptive {
            effective_series.push(Series::line(label, effective));
        }
    }
    mnist_table.print();
    panels.push(Panel {
        title: "MNIST, 5-layer ReLU network".into(),
        x_label: "iteration".into(),
        y_label: format!("training loss (mean of last {window}, cut at 1)"),
        series,
        y_range: Some(MNIST_Y_RANGE),
        ..Panel::default()
    });
    panels.push(Panel {
        title: "MNIST: the effective learning rate η/√(h + ε)".into(),
        x_label: "iteration".into(),
        y_label: "median over the first layer's weights".into(),
        series: effective_series,
        log_y: true,
        ..Panel::default()
    });
    run.finish(&csv, &panels, 3, (520, 400))
}

/// The median of η/√(h + ε) over the first weight matrix's elements, from the optimizer's state
/// (AdaGrad's `sum_sq`, RMSProp's `mean_sq`; ε = 10⁻⁸, both configurations' default); `None` for
/// an optimizer without such a buffer.
fn median_effective_rate<B: Backend>(optimizer: &dyn Optimizer<B>) -> Option<f32> {
    let state = optimizer.state();
    let (_, first) = state.params.iter().find(|(path, _)| path.ends_with("weight"))?;
    let h = first.buffers.get("sum_sq").or_else(|| first.buffers.get("mean_sq"))?;
    let mut rates: Vec<f32> = h.iter().map(|&h| state.lr / (h + 1e-8).sqrt()).collect();
    let middle = rates.len() / 2;
    rates.select_nth_unstable_by(middle, f32::total_cmp);
    rates.get(middle).copied()
}

/// Each step's effective learning rate along x on the ravine, |x₊ − x| / |∂f/∂x| with
/// ∂f/∂x = x/10: the rate plain gradient descent would need to take the same step. `None` where
/// the gradient is too small for the ratio to mean anything.
fn effective_rates(points: &[[f32; 2]]) -> Vec<Option<f32>> {
    points
        .windows(2)
        .map(|w| {
            let gradient = w[0][0] / 10.0;
            (gradient.abs() > 1e-4).then(|| (w[1][0] - w[0][0]).abs() / gradient.abs())
        })
        .collect()
}
