//! `augmentation`: a small CNN trained on 500, 1,000 and all of the embedded digits, each once
//! on the plain images and once on randomly zoomed and shifted ones (a `neurite-augment`
//! pipeline: a random resized crop keeping 75–100 % of the area at an aspect ratio within
//! 0.85–1.18, then a shift of up to 2 pixels, drawn afresh for every batch). Every run gets the
//! same number of optimizer steps, so the small sets are seen many more times: that is where the
//! network memorises, and where augmentation's new variants of the same digits help most.
//!
//! The CNN: conv 5×5 (8 filters) → ReLU → max-pool 2 → conv 5×5 (16) → ReLU → max-pool 2 →
//! linear 256 → 10, He init, Adam (lr 0.001), batches of 50, 1,500 steps. Not a book experiment
//! (the book mentions augmentation in ch. 8 without measuring it); Neurite's own setup. The
//! quick form trains on 200 digits only (where the gain is clearest in so short a run), for
//! 200 steps of 32, and tests on 500 digits.

use neurite_augment::{Fill, Pipeline, RandomResizedCrop, TransformExt, Translate};
use neurite_core::{Backend, Rng, Stream};
use neurite_nn::data::Dataset;
use neurite_nn::{Activation, Conv2dConfig, Flatten, Init, LinearConfig, MaxPool2d, Sequential};
use neurite_optim::{Adam, AdamConfig};

use crate::common::{Digits, Endless, Run, Table, describe, evaluate, images, pct, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series, Style};

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

/// The augmentation: zoom in a little, then shift by up to 2 pixels.
fn pipeline() -> Pipeline {
    let zoom = RandomResizedCrop { ratio: (0.85, 1.18), ..RandomResizedCrop::new((0.75, 1.0)) };
    Pipeline::new().then(zoom).then(Translate::new(2, Fill::Constant(0.0)))
}

/// Trains a fresh CNN on `train` for `steps` steps, augmenting each batch if asked; returns
/// (training accuracy, test accuracy).
fn train_cnn<B: Backend>(
    train: &Dataset,
    test: &Dataset,
    augment: bool,
    steps: usize,
    batch: usize,
    seed: u64,
) -> Result<(f32, f32), ExperimentError> {
    let mut model = cnn::<B>(seed);
    let mut adam = Adam::new(AdamConfig { lr: 0.001, ..Default::default() })?;
    let mut batches = Endless::<B>::new(train, batch, images(), seed);
    let mut rng = Rng::stream(seed, Stream::Augment);
    let pipeline = pipeline();
    for _ in 0..steps {
        let b = batches.next_batch();
        let x = if augment { pipeline.apply(&b.inputs, &mut rng) } else { b.inputs };
        step(&mut model, &mut adam, &x, &b.labels, None);
    }
    Ok((evaluate(&mut model, train, images()).1, evaluate(&mut model, test, images()).1))
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("augmentation", options)?;
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    let all = digits.train.len();
    let (sizes, steps, batch) = if run.quick() { (vec![200], 200, 32) } else { (vec![500, 1000, all], 1500, 50) };
    describe(&digits.train, &digits);
    say!(
        "CNN conv8-pool-conv16-pool-linear, Adam lr 0.001, batch {batch}, {steps} steps; augmentation: {}",
        pipeline().names()
    );

    let mut csv = Table::new(&["train_size", "augmented", "steps", "train_acc", "test_acc"]);
    let mut summary = Table::new(&[
        "train size",
        "test acc % (plain)",
        "test acc % (augmented)",
        "gain (points)",
        "train acc % (plain)",
    ]);
    let (mut plain_points, mut aug_points, mut gains) = (Vec::new(), Vec::new(), Vec::new());
    for &size in &sizes {
        let train = digits.train_subset(size, run.seed());
        let mut results = Vec::new();
        for augment in [false, true] {
            let (train_acc, test_acc) = train_cnn::<B>(&train, &digits.test, augment, steps, batch, run.seed())?;
            csv.row(vec![
                size.to_string(),
                augment.to_string(),
                steps.to_string(),
                train_acc.to_string(),
                test_acc.to_string(),
            ]);
            results.push((train_acc, test_acc));
        }
        let (plain, augmented) = (results[0], results[1]);
        let gain = augmented.1 - plain.1;
        summary.row(vec![
            size.to_string(),
            pct(plain.1),
            pct(augmented.1),
            format!("{:+.1}", 100.0 * gain),
            pct(plain.0),
        ]);
        let x = size as f64 / 1000.0;
        plain_points.push((x, f64::from(plain.1)));
        aug_points.push((x, f64::from(augmented.1)));
        gains.push((x, 100.0 * f64::from(gain)));
    }
    summary.print();
    let panels = [
        Panel {
            title: format!("CNN test accuracy after {steps} steps"),
            x_label: "training digits (thousands)".into(),
            y_label: "test accuracy".into(),
            series: vec![
                Series { name: "plain".into(), points: plain_points, style: Style::LineMarkers },
                Series { name: "augmented".into(), points: aug_points, style: Style::LineMarkers },
            ],
            ..Panel::default()
        },
        Panel {
            title: "gain from augmentation".into(),
            x_label: "training digits (thousands)".into(),
            y_label: "test accuracy gain (points)".into(),
            series: vec![Series::bars("augmented − plain", gains, 0.3)],
            ..Panel::default()
        },
    ];
    run.finish(&csv, &panels, 2, (520, 380))
}
