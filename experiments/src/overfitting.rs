//! `overfitting`: a network far too large for its data — 1,000 training digits, two hidden layers
//! of 512 ReLU units (He init), 670,000 weights — trained by SGD (lr 0.05, batches of 100) for 201
//! epochs: without regularization, with L2 weight decay λ = 0.1 (λ/2·Σ‖W‖² over the weights, not
//! the biases), with dropout at the rates Srivastava et al. (2014) use on MNIST (20 % of the input
//! pixels, 50 % of each hidden layer's units), and with both. Without regularization the training
//! accuracy reaches 100 % within a few dozen epochs while the test accuracy stays near 88–90 %, and
//! the test loss starts to climb. L2 narrows the gap most, by holding the training accuracy down —
//! at λ = 0.1 too strongly: the test accuracy falls with it. Dropout keeps the training accuracy
//! at 100 % and raises the test accuracy by about two points, an advantage that grows with the
//! epochs, while its test loss keeps falling.
//!
//! This is where Neurite departs from the book (ch. 6, "overfit_weight_decay" and
//! "overfit_dropout"), whose network is six hidden layers of 100 units trained on 300 digits at
//! lr 0.01 with dropout p = 0.15–0.2. Measured here, that narrow, deep network under dropout
//! mostly trains more slowly, so its gap does not shrink in a comparable budget; and on 300
//! digits even this wide network gains under a point from dropout, as Srivastava et al.'s
//! data-size experiment (their fig. 9) leads one to expect: with very little data, most of the
//! error is what the data do not show. The 1,000 digits are a seeded random draw from the
//! embedded 5,000; the per-epoch test accuracy is measured on the first 1,000 test digits and
//! the final one on the whole test set. The quick form trains on 300 digits for 60 epochs and
//! tests on 300; it is too small for dropout to pay off and its test asserts only L2's effect
//! (an ignored test asserts dropout's on the full form).

use neurite_core::Backend;
use neurite_nn::data::BatchLoader;
use neurite_nn::{Activation, Init};
use neurite_optim::{Sgd, SgdConfig};

use crate::common::{Digits, Run, Table, describe, evaluate, flat, mlp, pct, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series};

/// Training digits of the full and of the quick form.
const TRAIN_SIZE: (usize, usize) = (1000, 300);

/// (label, L2 λ, dropout probability of the inputs and of the hidden units).
const CONFIGS: [(&str, Option<f32>, (f32, f32)); 4] = [
    ("no regularization", None, (0.0, 0.0)),
    ("L2 (λ = 0.1)", Some(0.1), (0.0, 0.0)),
    ("dropout (0.2 in, 0.5 hidden)", None, (0.2, 0.5)),
    ("L2 + dropout", Some(0.1), (0.2, 0.5)),
];

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("overfitting", options)?;
    let (epochs, lr, curve_size) = if run.quick() { (60, 0.05, 300) } else { (201, 0.05, 1000) };
    let digits = Digits::load(options, if run.quick() { curve_size } else { usize::MAX })?;
    let train = digits.train_subset(if run.quick() { TRAIN_SIZE.1 } else { TRAIN_SIZE.0 }, run.seed());
    describe(&train, &digits);
    let curve_test = digits.test.range(0..curve_size.min(digits.test.len()))?;
    say!(
        "784-512-512-10 ReLU network, He init, SGD lr {lr}, batch 100, {epochs} epochs; \
         per-epoch test accuracy on {} digits",
        curve_test.len()
    );

    let mut csv = Table::new(&["config", "epoch", "train_acc", "test_acc", "train_loss", "test_loss"]);
    let mut summary = Table::new(&[
        "config",
        "train acc %",
        "test acc %",
        "gap (points)",
        "best test acc % (curve)",
        "train loss",
        "test loss",
    ]);
    let mut panels = Vec::new();
    for (label, l2, dropout) in CONFIGS {
        let mut spec = mlp(2, 512, Activation::Relu, Init::He);
        (spec.input_dropout, spec.dropout) = dropout;
        let mut model = spec.init::<B>(run.seed());
        let mut sgd = Sgd::new(SgdConfig { lr, ..Default::default() })?;
        let mut loader = BatchLoader::new(&train, 100).with_preprocessing(flat()).shuffled(run.seed());
        let (mut train_curve, mut test_curve) = (Vec::new(), Vec::new());
        for epoch in 1..=epochs {
            for b in loader.epoch::<B>() {
                step(&mut model, &mut sgd, &b.inputs, &b.labels, l2);
            }
            let (train_loss, train_acc) = evaluate(&mut model, &train, flat());
            let (test_loss, test_acc) = evaluate(&mut model, &curve_test, flat());
            csv.row(vec![
                label.into(),
                epoch.to_string(),
                train_acc.to_string(),
                test_acc.to_string(),
                train_loss.to_string(),
                test_loss.to_string(),
            ]);
            train_curve.push((epoch as f64, f64::from(train_acc)));
            test_curve.push((epoch as f64, f64::from(test_acc)));
        }
        let (train_loss, train_acc) = evaluate(&mut model, &train, flat());
        let (test_loss, test_acc) = evaluate(&mut model, &digits.test, flat());
        let best = test_curve.iter().map(|p| p.1).fold(0.0, f64::max) as f32;
        summary.row(vec![
            label.into(),
            pct(train_acc),
            pct(test_acc),
            format!("{:.1}", 100.0 * (train_acc - test_acc)),
            pct(best),
            format!("{train_loss:.4}"),
            format!("{test_loss:.4}"),
        ]);
        panels.push(Panel {
            title: label.into(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            series: vec![Series::line("train", train_curve), Series::line("test", test_curve)],
            y_range: Some((0.0, 1.0)),
            ..Panel::default()
        });
    }
    summary.print();
    run.finish(&csv, &panels, 2, (560, 380))
}
