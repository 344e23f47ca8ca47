//! `zero-init`: why weights may not all start equal. A 784-64-64-10 network starts with every
//! weight 0 or with He's N(0, 2/n_in), for sigmoid and for ReLU units, and trains with plain SGD.
//! From zeros, every hidden unit of a layer computes the same value and receives the same
//! gradient, so the units stay copies of each other for ever (the symmetry problem): a layer of 64
//! units works as one. With sigmoid the copies learn together and the network stalls at the
//! accuracy a one-unit bottleneck allows; with ReLU they all output 0, no gradient reaches them,
//! and only the output biases learn. He's random start breaks the symmetry.
//!
//! The table counts the distinct hidden units of each layer after training (units whose incoming
//! weights differ by more than 10⁻⁶) and the test accuracy; the figure shows the test accuracy by
//! epoch and, for the sigmoid networks, the incoming weights of six first-layer units summed over
//! each quarter of the image (identical bars from zeros). The quick form trains 10 epochs on
//! 1,000 digits.

use neurite_core::Backend;
use neurite_nn::{Activation, Init, Module};
use neurite_optim::{Sgd, SgdConfig};
use neurite_train::plot::{Panel, Series};

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, flat, mlp, pct, step};
use crate::{ExperimentError, ExperimentOptions};

const CASES: [(&str, Activation, &str, Init); 4] = [
    ("sigmoid", Activation::Sigmoid, "zeros", Init::Zeros),
    ("sigmoid", Activation::Sigmoid, "He", Init::He),
    ("relu", Activation::Relu, "zeros", Init::Zeros),
    ("relu", Activation::Relu, "He", Init::He),
];

/// How many of the rows of `weight` (`[units, inputs]`, one row per unit) differ from every
/// earlier row by more than `tolerance` somewhere.
pub(crate) fn distinct_rows(weight: &[f32], inputs: usize, tolerance: f32) -> usize {
    let rows: Vec<&[f32]> = weight.chunks(inputs).collect();
    (0..rows.len())
        .filter(|&i| {
            rows[..i].iter().all(|earlier| earlier.iter().zip(rows[i]).any(|(a, b)| (a - b).abs() > tolerance))
        })
        .count()
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("zero-init", options)?;
    let digits = Digits::load(options, if run.quick() { 1000 } else { usize::MAX })?;
    let train = if run.quick() { digits.train_subset(1000, run.seed()) } else { digits.train.clone() };
    let (epochs, batch, lr) = (if run.quick() { 10 } else { 15 }, 32, 0.5);
    describe(&train, &digits);
    say!("784-64-64-10 network, SGD lr = {lr}, batch {batch}, {epochs} epochs, from all-zero and from He weights");

    let mut csv = Table::new(&["activation", "init", "epoch", "test_acc", "distinct_1", "distinct_2"]);
    let mut summary =
        Table::new(&["activation", "init", "distinct units, layer 1", "distinct units, layer 2", "test acc %"]);
    let mut series = Vec::new();
    let mut pictures = Vec::new();
    let steps = train.len() / batch;
    for (act_name, activation, init_name, init) in CASES {
        let mut model = mlp(2, 64, activation, init).init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr, ..Default::default() })?;
        let mut batches = Endless::<B>::new(&train, batch, flat(), run.seed());
        let mut curve = Vec::with_capacity(epochs);
        let mut last = (0, 0, 0.0);
        for epoch in 1..=epochs {
            for _ in 0..steps {
                let b = batches.next_batch();
                step(&mut model, &mut sgd, &b.inputs, &b.labels, None);
            }
            let (_, acc) = evaluate(&mut model, &digits.test, flat());
            let params = model.params();
            let weight =
                |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, t)| t.to_vec()).unwrap_or_default();
            let distinct = (
                distinct_rows(&weight("layers.1.weight"), 784, 1e-6),
                distinct_rows(&weight("layers.3.weight"), 64, 1e-6),
            );
            csv.row(vec![
                act_name.into(),
                init_name.into(),
                epoch.to_string(),
                acc.to_string(),
                distinct.0.to_string(),
                distinct.1.to_string(),
            ]);
            curve.push((epoch as f64, f64::from(acc)));
            last = (distinct.0, distinct.1, acc);
        }
        summary.row(vec![act_name.into(), init_name.into(), last.0.to_string(), last.1.to_string(), pct(last.2)]);
        series.push(Series::line(format!("{act_name}, {init_name}"), curve));
        if act_name == "sigmoid" {
            let params = model.params();
            let first =
                params.iter().find(|(n, _)| n == "layers.1.weight").map(|(_, t)| t.to_vec()).unwrap_or_default();
            pictures.push((init_name, first));
        }
    }
    summary.print();
    let accuracy = Panel {
        title: "test accuracy: units that start equal stay equal".into(),
        x_label: "epoch".into(),
        y_label: "test accuracy".into(),
        series,
        y_range: Some((0.0, 1.0)),
        ..Panel::default()
    };
    // Incoming weights of the first six units of layer 1 (sigmoid), one bar group per unit:
    // the mean absolute weight over each of the image's four quadrants. From zeros the six
    // groups are identical; from He they differ.
    let mut bars = Vec::new();
    for (k, (init_name, weights)) in pictures.iter().enumerate() {
        let offset = 0.45 * k as f64;
        let points: Vec<(f64, f64)> = (0..6)
            .flat_map(|unit| {
                let row = &weights[unit * 784..(unit + 1) * 784];
                (0..4).map(move |q| {
                    let (qy, qx) = (q / 2, q % 2);
                    let sum: f32 =
                        (0..14).flat_map(|y| (0..14).map(move |x| row[(qy * 14 + y) * 28 + qx * 14 + x])).sum();
                    ((unit * 5 + q) as f64 + 1.0 + offset, f64::from(sum))
                })
            })
            .collect();
        bars.push(Series::bars(format!("sigmoid, {init_name}"), points, 0.4));
    }
    let units = Panel {
        title: "layer-1 weights of units 1–6: sum over each image quadrant".into(),
        x_label: "four bars per unit: the image's top left, top right, bottom left, bottom right".into(),
        y_label: "sum of incoming weights".into(),
        series: bars,
        // Each unit's group spans positions 5u + 1 … 5u + 4.45; its name goes under the middle.
        x_ticks: (0..6).map(|unit| (unit as f64 * 5.0 + 2.725, format!("unit {}", unit + 1))).collect(),
        ..Panel::default()
    };
    run.finish(&csv, &[accuracy, units], 2, (640, 420))
}
