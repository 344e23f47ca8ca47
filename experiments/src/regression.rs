//! `regression`: the lecture's squared error on a real-valued target. A 1-32-32-1 tanh network
//! learns y = sin(2x) on [−1.5, 1.5] from 320 samples whose targets carry Gaussian noise of
//! σ = 0.1, minimising the course's E = 1/(2N)·Σ(y − d)² (`MseReduction::HalfSumPerSample`, so
//! that ∂E/∂y = (y − d)/N) with Adam on batches of 32, its rate falling from 0.01 to 10⁻⁴ along a
//! half cosine; 80 other samples measure it.
//!
//! What it shows: E on the training samples falls by orders of magnitude and then stops at the
//! floor the noise sets, ½σ² = 0.005: no function of x can predict the noise, so the best
//! possible E is half its variance. Past that floor a network would be fitting the noise of its
//! 320 samples (overfitting), and the validation E, measured on samples it never saw, would rise
//! above the training one. The figure draws the samples, the true curve and the network after a
//! few epochs, and both losses against the floor. The quick form trains 60 epochs instead of 300.

use neurite_core::{Backend, Rng, Tensor, no_grad};
use neurite_nn::loss::{MseReduction, mse};
use neurite_nn::models::MlpConfig;
use neurite_nn::{Activation, Module};
use neurite_optim::{Adam, AdamConfig, Cosine, Optimizer, Schedule};
use neurite_train::plot::{Panel, Series, Style};
use neurite_train::{Mse, StepSettings, train_step};

use crate::common::{Run, Table, sig};
use crate::{ExperimentError, ExperimentOptions};

/// The noise on every target: normal, of this standard deviation.
const NOISE: f32 = 0.1;

/// Training and validation samples.
const TRAIN: usize = 320;
const VALIDATION: usize = 80;

/// Samples in a batch.
const BATCH: usize = 32;

/// The x range the samples come from.
const X_RANGE: (f32, f32) = (-1.5, 1.5);

/// The curve to learn.
fn target(x: f32) -> f32 {
    (2.0 * x).sin()
}

/// The network's outputs for `x` in evaluation mode, without a graph; it is left training.
fn predict<B: Backend>(model: &mut dyn Module<B>, x: &Tensor<B>) -> Tensor<B> {
    model.set_training(false);
    let y = no_grad(|| model.forward(x));
    model.set_training(true);
    y
}

/// The course's E = 1/(2N)·Σ(y − d)² of the network on `(x, d)`.
fn squared_error<B: Backend>(model: &mut dyn Module<B>, x: &Tensor<B>, d: &Tensor<B>) -> f32 {
    no_grad(|| mse(&predict(model, x), d, MseReduction::HalfSumPerSample).item())
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("regression", options)?;
    let epochs = if run.quick() { 60 } else { 300 };
    let floor = 0.5 * NOISE * NOISE;
    say!(
        "y = sin(2x) + N(0, {NOISE}²): {TRAIN} training and {VALIDATION} validation samples; a 1-32-32-1 tanh \
         network, Adam lr 0.01 → 10⁻⁴ (cosine), batch {BATCH}, {epochs} epochs; E = 1/(2N)·Σ(y − d)², noise floor ½σ² = {floor}"
    );
    let mut rng = Rng::seed(run.seed());
    let xs: Vec<f32> = (0..TRAIN + VALIDATION).map(|_| rng.uniform_range(X_RANGE.0, X_RANGE.1)).collect();
    let ds: Vec<f32> = xs.iter().map(|&x| target(x) + rng.normal(0.0, NOISE)).collect();
    let column = |values: &[f32]| Tensor::<B>::from_vec(values.to_vec(), [values.len(), 1]);
    let (train_x, train_d) = (column(&xs[..TRAIN]), column(&ds[..TRAIN]));
    let (val_x, val_d) = (column(&xs[TRAIN..]), column(&ds[TRAIN..]));
    let grid: Vec<f32> = (0..=120).map(|i| X_RANGE.0 + (X_RANGE.1 - X_RANGE.0) * i as f32 / 120.0).collect();
    let grid_x = column(&grid);

    let mut model = MlpConfig::new(1, &[32, 32], 1).with_activation(Activation::Tanh).init::<B>(run.seed());
    let mut adam = Adam::new(AdamConfig { lr: 0.01, ..AdamConfig::default() })?;
    let mut schedule = Cosine::new(0.01, 1e-4, epochs)?;
    let settings = StepSettings::new(Mse);
    let mut csv = Table::new(&["epoch", "train_loss", "val_loss", "noise_floor"]);
    let mut summary = Table::new(&["epoch", "E train", "E validation", "E validation / ½σ²"]);
    let (mut train_curve, mut val_curve) = (Vec::new(), Vec::new());
    let mut snapshots = Vec::new();
    let shown = [1, epochs / 10, epochs];
    for epoch in 1..=epochs {
        Optimizer::<B>::set_learning_rate(&mut adam, schedule.lr(epoch - 1, None));
        for batch in rng.permutation(TRAIN).chunks(BATCH) {
            let x: Vec<f32> = batch.iter().map(|&i| xs[i]).collect();
            let d: Vec<f32> = batch.iter().map(|&i| ds[i]).collect();
            // Nothing here can become non-finite; a step that did would leave the model as it was.
            let _ = train_step(&mut model, &mut adam, &column(&x), &column(&d), &settings);
        }
        let (train_e, val_e) =
            (squared_error(&mut model, &train_x, &train_d), squared_error(&mut model, &val_x, &val_d));
        csv.row(vec![epoch.to_string(), train_e.to_string(), val_e.to_string(), floor.to_string()]);
        train_curve.push((epoch as f64, f64::from(train_e)));
        val_curve.push((epoch as f64, f64::from(val_e)));
        if shown.contains(&epoch) {
            summary.row(vec![epoch.to_string(), sig(train_e, 3), sig(val_e, 3), sig(val_e / floor, 3)]);
            let predicted = predict(&mut model, &grid_x).to_vec();
            let points = grid.iter().zip(&predicted).map(|(&x, &y)| (f64::from(x), f64::from(y))).collect();
            snapshots.push(Series::line(format!("network after epoch {epoch}"), points));
        }
    }
    summary.print();

    let samples = xs[..TRAIN].iter().zip(&ds[..TRAIN]).map(|(&x, &d)| (f64::from(x), f64::from(d))).collect();
    let truth = grid.iter().map(|&x| (f64::from(x), f64::from(target(x)))).collect();
    let mut fit_series = vec![
        Series { name: "training samples".into(), points: samples, style: Style::Markers },
        Series::line("sin(2x)", truth),
    ];
    fit_series.extend(snapshots);
    let fit = Panel {
        title: "the network's curve as it learns".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        series: fit_series,
        y_range: Some((-1.6, 1.9)),
        ..Panel::default()
    };
    let floor_line = vec![(1.0, f64::from(floor)), (epochs as f64, f64::from(floor))];
    let losses = Panel {
        title: "E = 1/(2N)·Σ(y − d)² per epoch".into(),
        x_label: "epoch".into(),
        y_label: "E".into(),
        series: vec![
            Series::line("training samples", train_curve),
            Series::line("validation samples", val_curve),
            Series::line("noise floor ½σ²", floor_line),
        ],
        log_y: true,
        integer_x: true,
        ..Panel::default()
    };
    run.finish(&csv, &[fit, losses], 2, (640, 420))
}
