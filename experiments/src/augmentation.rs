//! `augmentation`: an ablation. A small CNN trains on 1,000 of the embedded digits eight times:
//! on the plain images, with each of six augmentations alone (shift, pad-and-crop, rotation,
//! elastic distortion, random erasing, Gaussian noise), and with all of them together (each
//! applied to a sample with probability ½, erasing and noise ¼), drawn afresh for every batch. Every run gets the same number of optimizer steps, so the 1,000
//! digits are seen many times over: without augmentation the network memorises them (training
//! accuracy near 100 %, test accuracy well below), and each augmentation shows it new variants of
//! the same digits instead. The geometric ones (shift, crop, rotation, elastic) model how
//! handwriting actually varies and help most; erasing and noise help less on digits.
//!
//! The CNN: conv 5×5 (8 filters) → ReLU → max-pool 2 → conv 5×5 (16) → ReLU → max-pool 2 →
//! linear 256 → 10, He init, Adam (lr 0.001), batches of 50, 1,500 steps. Not a book experiment
//! (the book mentions augmentation in ch. 8 without measuring it); Neurite's own setup. The
//! quick form trains on 200 digits for 400 steps of 32 and tests on 500 digits.

use neurite_augment::spec::parse_pipeline;
use neurite_augment::{Pipeline, TransformExt};
use neurite_core::{Backend, Rng, Stream};
use neurite_nn::data::Dataset;
use neurite_nn::{Activation, Conv2dConfig, Flatten, Init, LinearConfig, MaxPool2d, Sequential};
use neurite_optim::{Adam, AdamConfig};

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, images, pct, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series};

/// The experiment's CNN, its weights from stream `Init` of `seed`.
fn cnn<B: Backend>(seed: u64) -> Sequential<B> {
    let mut rng = Rng::stream(seed, Stream::Init);
    Sequential::new()
        .with(Conv2dConfig::new(1, 8, (5, 5)).with_init(Init::He).init::<B>(&mut rng))
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Conv2dConfig::new(8, 16, (5, 5)).with_init(Init::He).init::<B>(&mut rng))
        .with(Activation::Relu)
        .with(MaxPool2d::new((2, 2)))
        .with(Flatten)
        .with(LinearConfig::new(16 * 4 * 4, 10).with_init(Init::He).init::<B>(&mut rng))
}

/// The ablation: a name and an augmentation spec (empty = none), each op alone, then together.
const CONFIGS: [(&str, &str); 8] = [
    ("none", ""),
    ("translate", "translate:2"),
    ("crop", "crop:pad=2"),
    ("rotate", "rotate:15"),
    ("elastic", "elastic:34,4"),
    ("erase", "erase:0.5"),
    ("noise", "noise:0.1"),
    ("all", "translate:2@0.5,crop:pad=2@0.5,rotate:15@0.5,elastic:34,4@0.5,erase:0.25,noise:0.1@0.25"),
];

/// Trains a fresh CNN on `train` for `steps` steps, augmenting each batch if asked; returns
/// (training accuracy, test accuracy).
fn train_cnn<B: Backend>(
    train: &Dataset,
    test: &Dataset,
    pipeline: Option<&Pipeline>,
    steps: usize,
    batch: usize,
    seed: u64,
) -> Result<(f32, f32), ExperimentError> {
    let mut model = cnn::<B>(seed);
    let mut adam = Adam::new(AdamConfig { lr: 0.001, ..Default::default() })?;
    let mut batches = Endless::<B>::new(train, batch, images(), seed);
    let mut rng = Rng::stream(seed, Stream::Augment);
    for _ in 0..steps {
        let b = batches.next_batch();
        let x = match pipeline {
            Some(p) => p.apply(&b.inputs, &mut rng),
            None => b.inputs,
        };
        step(&mut model, &mut adam, &x, &b.labels, None);
    }
    Ok((evaluate(&mut model, train, images()).1, evaluate(&mut model, test, images()).1))
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("augmentation", options)?;
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    let (size, steps, batch) = if run.quick() { (200, 400, 32) } else { (1000, 1500, 50) };
    let train = digits.train_subset(size, run.seed());
    describe(&train, &digits);
    say!("CNN conv8-pool-conv16-pool-linear, Adam lr 0.001, batch {batch}, {steps} steps");

    let mut csv = Table::new(&["augmentation", "spec", "train_acc", "test_acc"]);
    let mut summary = Table::new(&["augmentation", "train acc %", "test acc %", "gap (points)", "test gain (points)"]);
    let (mut train_bars, mut test_bars) = (Vec::new(), Vec::new());
    let mut baseline = None;
    for (k, (name, spec)) in CONFIGS.iter().enumerate() {
        let pipeline = if spec.is_empty() {
            None
        } else {
            Some(parse_pipeline(spec).map_err(|e| ExperimentError::Output(format!("augmentation `{spec}`: {e}")))?)
        };
        let (train_acc, test_acc) = train_cnn::<B>(&train, &digits.test, pipeline.as_ref(), steps, batch, run.seed())?;
        let base = *baseline.get_or_insert(test_acc);
        csv.row(vec![(*name).into(), (*spec).into(), train_acc.to_string(), test_acc.to_string()]);
        summary.row(vec![
            (*name).into(),
            pct(train_acc),
            pct(test_acc),
            format!("{:.1}", 100.0 * (train_acc - test_acc)),
            format!("{:+.1}", 100.0 * (test_acc - base)),
        ]);
        let x = k as f64 + 1.0;
        train_bars.push((x - 0.2, f64::from(train_acc)));
        test_bars.push((x + 0.2, f64::from(test_acc)));
    }
    summary.print();
    let panel = Panel {
        title: format!("CNN on {size} digits, {steps} steps: one augmentation at a time, then all"),
        x_label: "augmentation".into(),
        y_label: "accuracy".into(),
        y_range: Some(zoomed_range(train_bars.iter().chain(&test_bars).map(|p| p.1))),
        series: vec![Series::bars("train", train_bars, 0.4), Series::bars("test", test_bars, 0.4)],
        x_ticks: CONFIGS.iter().enumerate().map(|(k, (n, _))| (k as f64 + 1.0, (*n).to_string())).collect(),
        ..Panel::default()
    };
    run.finish(&csv, &[panel], 1, (1040, 420))
}

/// A y range for accuracies close together: from a little under the lowest, rounded down to a
/// multiple of 0.05, to a quarter of the span above the highest, which leaves the top of the
/// chart free for the legend.
fn zoomed_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let bottom = ((lo - 0.02) / 0.05).floor().max(0.0) * 0.05;
    (bottom, hi + 0.25 * (hi - bottom).max(0.01))
}
