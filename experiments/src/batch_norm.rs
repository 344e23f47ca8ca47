//! `batch-norm`: the same network with and without batch normalization, started from a sweep of
//! initial weight scales, and trained for a fixed budget, as in the book (ch. 6,
//! "batch_norm_test"): 1,000 training digits, five hidden layers of 100 ReLU units (Linear →
//! BatchNorm → ReLU with batch norm), every weight drawn from N(0, w²) for 16 scales w from 1 down
//! to 10⁻⁴ (log-spaced), SGD lr 0.01, batches of 100, 20 epochs. Without batch norm only the
//! scales near He's (√(2/100) ≈ 0.14) learn; with it, a band of scales two to three orders of
//! magnitude wide does. Two limits remain visible: batch norm makes a layer's output blind to its
//! weights' scale, so large weights get proportionally small updates and learn slowly; and when
//! a batch's variance falls below ε (10⁻⁵, PyTorch's default; the book uses 10⁻⁶) the
//! normalization no longer restores the signal, so the smallest scales still fail.
//!
//! Differences from the book: the 1,000 digits are a seeded random draw from the embedded 5,000;
//! the test accuracy after training is reported beside the training accuracy. The quick form
//! sweeps 5 scales (1, 0.1, …, 10⁻⁴) for 6 epochs at lr 0.05 and tests on 500 digits.

use neurite_core::Backend;
use neurite_nn::data::BatchLoader;
use neurite_nn::{Activation, Init};
use neurite_optim::{Sgd, SgdConfig};

use crate::common::{Digits, Run, Table, describe, evaluate, flat, mlp, pct, sig, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series, Style};

const TRAIN_SIZE: usize = 1000;

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("batch-norm", options)?;
    let (scales, epochs, lr) = if run.quick() { (5, 6, 0.05) } else { (16, 20, 0.01) };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    let train = digits.train_subset(TRAIN_SIZE, run.seed());
    describe(&train, &digits);
    say!("784-100-100-100-100-100-10 ReLU network, weights N(0, w²), SGD lr {lr}, batch 100, {epochs} epochs");
    // np.logspace(0, -4, scales): 1 down to 1e-4, evenly spaced in log10.
    let weight_scales: Vec<f32> = (0..scales).map(|i| 10f32.powf(-4.0 * i as f32 / (scales - 1) as f32)).collect();

    let mut csv = Table::new(&["batch_norm", "weight_scale", "epoch", "train_acc", "test_acc"]);
    let mut summary = Table::new(&[
        "weight scale",
        "train acc % (BN)",
        "train acc % (no BN)",
        "test acc % (BN)",
        "test acc % (no BN)",
    ]);
    let mut finals: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
    let shown: Vec<usize> =
        if scales > 4 { vec![0, scales / 3, 2 * scales / 3, scales - 1] } else { (0..scales).collect() };
    let mut curve_panels = Vec::new();
    for (s, &w) in weight_scales.iter().enumerate() {
        let mut row = vec![sig(w, 3)];
        let mut test_cells = Vec::new();
        let mut curves = Vec::new();
        for (k, batch_norm) in [true, false].into_iter().enumerate() {
            let mut spec = mlp(5, 100, Activation::Relu, Init::Normal { std: w });
            spec.batch_norm = batch_norm;
            let mut model = spec.init::<B>(run.seed());
            let mut sgd = Sgd::new(SgdConfig { lr, ..Default::default() })?;
            let mut loader = BatchLoader::new(&train, 100).with_preprocessing(flat()).shuffled(run.seed());
            let mut curve = Vec::new();
            let mut train_acc = 0.0;
            for epoch in 1..=epochs {
                for b in loader.epoch::<B>() {
                    step(&mut model, &mut sgd, &b.inputs, &b.labels, None);
                }
                train_acc = evaluate(&mut model, &train, flat()).1;
                curve.push((epoch as f64, f64::from(train_acc)));
                if epoch < epochs {
                    csv.row(vec![
                        batch_norm.to_string(),
                        w.to_string(),
                        epoch.to_string(),
                        train_acc.to_string(),
                        String::new(),
                    ]);
                }
            }
            let (_, test_acc) = evaluate(&mut model, &digits.test, flat());
            csv.row(vec![
                batch_norm.to_string(),
                w.to_string(),
                epochs.to_string(),
                train_acc.to_string(),
                test_acc.to_string(),
            ]);
            row.push(pct(train_acc));
            test_cells.push(pct(test_acc));
            finals[k].push((f64::from(w).log10(), f64::from(train_acc)));
            let name = if batch_norm { "with batch norm" } else { "without" };
            curves.push(Series::line(name, curve));
        }
        row.extend(test_cells);
        summary.row(row);
        if shown.contains(&s) {
            curve_panels.push(Panel {
                title: format!("weight scale w = {}", sig(w, 3)),
                x_label: "epoch".into(),
                y_label: "training accuracy".into(),
                series: curves,
                y_range: Some((0.0, 1.0)),
                ..Panel::default()
            });
        }
    }
    summary.print();
    let [with, without] = finals;
    let mut panels = vec![Panel {
        title: format!("training accuracy after {epochs} epochs"),
        x_label: "log₁₀ of the initial weight scale w".into(),
        y_label: "training accuracy".into(),
        series: vec![
            Series { name: "with batch norm".into(), points: with, style: Style::LineMarkers },
            Series { name: "without".into(), points: without, style: Style::LineMarkers },
        ],
        y_range: Some((0.0, 1.0)),
        ..Panel::default()
    }];
    panels.extend(curve_panels);
    run.finish(&csv, &panels, 3, (460, 340))
}
