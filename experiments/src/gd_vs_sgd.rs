//! `gd-vs-sgd`: full-batch gradient descent (every training digit in every step) against
//! mini-batch SGD (100 digits a step), same two-layer ReLU network (784-100-10, He init), same
//! learning rate 0.1. Both are judged by the loss on the whole training set, measured outside the
//! clock. Per step, GD's exact gradient does about as well as SGD's noisy one or better; per
//! example seen, and so per second, SGD is far ahead, because its steps cost a fiftieth.
//!
//! Not a book experiment; Neurite's own setup: 100 GD steps and 5,000 SGD steps, the same
//! 500,000 examples when all 5,000 digits train (the quick form: 10 and 300 steps). The seconds
//! column is wall-clock time and, unlike every other number, varies from run to run.

use std::time::Instant;

use neurite_core::{Backend, Tensor};
use neurite_nn::{Activation, Init, Module};
use neurite_optim::{Optimizer, Sgd, SgdConfig};

use crate::common::{Digits, Endless, Run, Table, evaluate, flat, mlp, sig, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_nn::data::Dataset;
use neurite_train::plot::{Panel, Series, Style};

/// One point of a curve: (step, examples seen, training seconds, training-set loss).
type Point = (usize, usize, f64, f32);

/// Trains with batches from `next` for `steps` steps, measuring the training-set loss at the
/// start, after each step `measure` picks, and at the end.
fn descend<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    train: &Dataset,
    steps: usize,
    measure: impl Fn(usize) -> bool,
    mut next: impl FnMut() -> (Tensor<B>, Tensor<B>),
) -> Vec<Point> {
    let mut points = vec![(0, 0, 0.0, evaluate(model, train, flat()).0)];
    let (mut seconds, mut examples) = (0.0, 0);
    for k in 1..=steps {
        let started = Instant::now();
        let (x, labels) = next();
        examples += labels.numel();
        step(model, optimizer, &x, &labels, None);
        seconds += started.elapsed().as_secs_f64();
        if measure(k) || k == steps {
            points.push((k, examples, seconds, evaluate(model, train, flat()).0));
        }
    }
    points
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("gd-vs-sgd", options)?;
    let (gd_steps, sgd_steps) = if run.quick() { (10, 300) } else { (100, 5000) };
    let digits = Digits::load(options, 0)?;
    let train = &digits.train;
    say!("training on {} embedded digits (losses are on all of them)", train.len());
    say!("784-100-10 ReLU network, He init, lr 0.1: {gd_steps} full-batch steps vs {sgd_steps} steps of 100");
    let spec = mlp(1, 100, Activation::Relu, Init::He);

    let (all_x, all_labels) = train.to_tensors::<B>(&flat());
    let all_labels = Tensor::<B>::from_vec(all_labels.iter().map(|&l| l as f32).collect(), [all_labels.len()]);
    let mut model = spec.init::<B>(run.seed());
    let mut gd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() })?;
    // Measured every `early` steps while GD runs, then every `late` steps.
    let (early, late) = ((gd_steps / 50).max(1), (sgd_steps / 50).max(1));
    let (early, late) = if run.quick() { (2, 30) } else { (early, late) };
    let measure = |step: usize| step.is_multiple_of(if step <= gd_steps { early } else { late });
    let gd_points = descend(&mut model, &mut gd, train, gd_steps, measure, || (all_x.clone(), all_labels.clone()));

    let mut model = spec.init::<B>(run.seed());
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() })?;
    let mut batches = Endless::<B>::new(train, 100, flat(), run.seed());
    let sgd_points = descend(&mut model, &mut sgd, train, sgd_steps, measure, || {
        let b = batches.next_batch();
        (b.inputs, b.labels)
    });

    let mut csv = Table::new(&["method", "step", "examples", "seconds", "train_loss"]);
    let mut summary =
        Table::new(&["method", "steps", "examples", "seconds", "final loss", "loss @ GD's last step count"]);
    let curves = [("full-batch GD", "gd", &gd_points), ("mini-batch SGD (100)", "sgd", &sgd_points)];
    for (_, method, points) in &curves {
        for &(step, examples, seconds, loss) in points.iter() {
            csv.row(vec![
                method.to_string(),
                step.to_string(),
                examples.to_string(),
                seconds.to_string(),
                loss.to_string(),
            ]);
        }
        let &(steps, examples, seconds, loss) = points.last().expect("at least the starting point");
        let at_gd_steps = points.iter().rev().find(|p| p.0 <= gd_steps).map_or(f32::NAN, |p| p.3);
        summary.row(vec![
            method.to_string(),
            steps.to_string(),
            examples.to_string(),
            format!("{seconds:.2}"),
            sig(loss, 4),
            sig(at_gd_steps, 4),
        ]);
    }
    summary.print();

    let axes = [
        ("step", "loss against steps (GD's number of steps)"),
        ("thousands of examples processed", "loss against examples processed"),
        ("seconds of training (wall clock)", "loss against time"),
    ];
    let panels = axes
        .iter()
        .enumerate()
        .map(|(a, (x_label, title))| Panel {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: "loss on the training set".into(),
            series: curves
                .iter()
                .map(|(label, _, points)| {
                    let pts = points
                        .iter()
                        .filter(|p| a != 0 || p.0 <= gd_steps)
                        .map(|&(step, examples, seconds, loss)| {
                            let x = match a {
                                0 => step as f64,
                                1 => examples as f64 / 1000.0,
                                _ => seconds,
                            };
                            (x, f64::from(loss))
                        })
                        .collect();
                    Series { name: label.to_string(), points: pts, style: Style::Line }
                })
                .collect(),
            ..Panel::default()
        })
        .collect::<Vec<_>>();
    run.finish(&csv, &panels, 3, (460, 360))
}
