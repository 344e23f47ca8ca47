//! `adversarial`: the fast gradient sign method (Goodfellow et al., 2015) against a trained
//! network. A 784-100-100-10 ReLU network (He init) is trained with Adam (lr 0.001, batches of
//! 100, 10 epochs), then every test digit x is moved to clamp(x + ε·sign(∇ₓ loss), 0, 1) — no
//! pixel changes by more than ε — and classified again, for ε from 0 to 0.3. The figure shows
//! accuracy against ε, and one digit, its perturbation and the new prediction at ε = 0.1.
//!
//! Not a book experiment (the book mentions adversarial examples in ch. 8); Neurite's own setup,
//! with `neurite_augment::adversarial`. The quick form trains for 2 epochs and attacks 500 digits.
//!
//! The figure puts digit images beside a chart, which the plot module's panels cannot show: the
//! chart is rendered by `plot::render`, and the images and their captions are drawn here with
//! plotters into the same buffer.

use neurite_augment::{accuracy_under_attack, fgsm};
use neurite_core::{Backend, Tensor, no_grad};
use neurite_nn::data::BatchLoader;
use neurite_nn::{Activation, Init, Module};
use neurite_optim::{Adam, AdamConfig};
use plotters::prelude::*;

use crate::common::{Digits, Run, Table, describe, evaluate, flat, mlp, output, pct, step};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{self, Panel, Series, Style};

const EPSILONS: [f32; 9] = [0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3];

/// The ε of the pictured example.
const SHOWN_EPSILON: f32 = 0.1;

/// Chart size and digit-tile width of the figure, in pixels.
const CHART: (u32, u32) = (560, 420);
const TILE_WIDTH: u32 = 240;

/// The size of the figure `adversarial.png`.
const FIGURE: (u32, u32) = (CHART.0 + 3 * TILE_WIDTH, CHART.1);

/// One image of the figure: a caption and 28×28 RGB pixels.
struct Tile {
    caption: String,
    pixels: Vec<RGBColor>,
}

/// A grey image: 0 white, 1 black (ink).
fn ink(values: &[f32]) -> Vec<RGBColor> {
    values
        .iter()
        .map(|&v| {
            let c = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
            RGBColor(c, c, c)
        })
        .collect()
}

/// A signed image in [−1, 1]: red positive, blue negative, white zero.
fn signed(values: &[f32]) -> Vec<RGBColor> {
    values
        .iter()
        .map(|&v| {
            let fade = (255.0 * (1.0 - v.abs().clamp(0.0, 1.0))).round() as u8;
            if v >= 0.0 { RGBColor(255, fade, fade) } else { RGBColor(fade, fade, 255) }
        })
        .collect()
}

/// The chart beside the tiles, written atomically as a PNG.
fn save_figure(path: &std::path::Path, chart: &Panel, tiles: &[Tile]) -> Result<(), ExperimentError> {
    // `plot::render` also registers the embedded font under "sans-serif", which the captions use.
    let chart = plot::render(std::slice::from_ref(chart), 1, CHART)?;
    let (w, h) = FIGURE;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    for (y, row) in chart.rows().enumerate() {
        for (x, pixel) in row.enumerate() {
            let at = 3 * (y * w as usize + x);
            buffer[at..at + 3].copy_from_slice(&pixel.0);
        }
    }
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        let (_, right) = root.split_horizontally(CHART.0);
        let draw_error = |e: DrawingAreaErrorKind<_>| output(path, format!("drawing the digits: {e}"));
        for (tile, area) in tiles.iter().zip(right.split_evenly((1, tiles.len()))) {
            let area = area.titled(&tile.caption, ("sans-serif", 15)).map_err(draw_error)?;
            let (aw, ah) = area.dim_in_pixel();
            let cell = ((aw.min(ah) - 20) / 28) as i32;
            let (x0, y0) = ((aw as i32 - 28 * cell) / 2, (ah as i32 - 28 * cell) / 2);
            for (i, &color) in tile.pixels.iter().enumerate() {
                let (r, c) = ((i / 28) as i32, (i % 28) as i32);
                let top_left = (x0 + c * cell, y0 + r * cell);
                let rect = Rectangle::new([top_left, (top_left.0 + cell, top_left.1 + cell)], color.filled());
                area.draw(&rect).map_err(draw_error)?;
            }
            let frame = [(x0 - 1, y0 - 1), (x0 + 28 * cell, y0 + 28 * cell)];
            area.draw(&Rectangle::new(frame, BLACK.stroke_width(1))).map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    let image = image::RgbImage::from_raw(w, h, buffer).expect("the buffer holds w·h RGB pixels");
    Ok(plot::save_image(path, &image)?)
}

/// The predicted class and its softmax probability for each row of `[n, 10]` logits.
fn predictions<B: Backend>(logits: &Tensor<B>) -> Vec<(usize, f32)> {
    let p = no_grad(|| logits.softmax(1));
    p.as_slice()
        .chunks(10)
        .map(|row| {
            let (class, &prob) = row.iter().enumerate().fold((0, &f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
            (class, prob)
        })
        .collect()
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("adversarial", options)?;
    let epochs = if run.quick() { 2 } else { 10 };
    let digits = Digits::load(options, if run.quick() { 500 } else { usize::MAX })?;
    describe(&digits.train, &digits);
    say!("784-100-100-10 ReLU network, He init, Adam lr 0.001, batch 100, {epochs} epochs; FGSM on every test digit");

    let mut model = mlp(2, 100, Activation::Relu, Init::He).init::<B>(run.seed());
    let mut adam = Adam::new(AdamConfig { lr: 0.001, ..Default::default() })?;
    let mut loader = BatchLoader::new(&digits.train, 100).with_preprocessing(flat()).shuffled(run.seed());
    for _ in 0..epochs {
        for b in loader.epoch::<B>() {
            step(&mut model, &mut adam, &b.inputs, &b.labels, None);
        }
    }
    let (_, clean) = evaluate(&mut model, &digits.test, flat());
    say!("clean test accuracy {}%", pct(clean));
    model.set_training(false);

    let (x, labels) = digits.test.to_tensors::<B>(&flat());
    let forward = |x: &Tensor<B>| model.forward(x);
    let points = accuracy_under_attack(forward, &x, &labels, &EPSILONS, 500);
    let mut csv = Table::new(&["epsilon", "correct", "total", "accuracy"]);
    let mut summary = Table::new(&["ε", "accuracy %", "fooled % of clean-correct"]);
    for p in &points {
        csv.row(vec![p.epsilon.to_string(), p.correct.to_string(), p.total.to_string(), p.accuracy().to_string()]);
        let fooled = 1.0 - p.accuracy() / points[0].accuracy().max(f32::MIN_POSITIVE);
        summary.row(vec![p.epsilon.to_string(), pct(p.accuracy()), pct(fooled.max(0.0))]);
    }
    summary.print();

    // The pictured digit: the first test digit that is right when clean and wrong at ε = 0.1.
    let n = labels.len();
    let adversarial = fgsm(forward, &x, &labels, SHOWN_EPSILON);
    let clean_pred = predictions(&no_grad(|| forward(&x)));
    let adv_pred = predictions(&no_grad(|| forward(&adversarial)));
    let i = (0..n).find(|&i| clean_pred[i].0 == labels[i] && adv_pred[i].0 != labels[i]).unwrap_or(0);
    let original = x.narrow(0, i, 1).to_vec();
    let attacked = adversarial.narrow(0, i, 1).to_vec();
    let delta: Vec<f32> = attacked.iter().zip(&original).map(|(a, o)| (a - o) / SHOWN_EPSILON).collect();
    say!(
        "test digit {i} (a {}): clean prediction {} ({:.0} %), at ε = {SHOWN_EPSILON}: {} ({:.0} %)",
        labels[i],
        clean_pred[i].0,
        100.0 * clean_pred[i].1,
        adv_pred[i].0,
        100.0 * adv_pred[i].1
    );
    let tiles = [
        Tile {
            caption: format!("digit {}: predicted {} ({:.0} %)", labels[i], clean_pred[i].0, 100.0 * clean_pred[i].1),
            pixels: ink(&original),
        },
        Tile { caption: format!("+ ε·sign(∇ₓ loss), ε = {SHOWN_EPSILON}"), pixels: signed(&delta) },
        Tile {
            caption: format!("= predicted {} ({:.0} %)", adv_pred[i].0, 100.0 * adv_pred[i].1),
            pixels: ink(&attacked),
        },
    ];
    let chart = Panel {
        title: format!("FGSM on {} test digits", n),
        x_label: "ε (largest change of a pixel in [0, 1])".into(),
        y_label: "accuracy".into(),
        series: vec![Series {
            name: "MLP 784-100-100-10".into(),
            points: points.iter().map(|p| (f64::from(p.epsilon), f64::from(p.accuracy()))).collect(),
            style: Style::LineMarkers,
        }],
        y_range: Some((0.0, 1.0)),
        ..Panel::default()
    };
    csv.write_csv(&run.csv_path())?;
    save_figure(&run.png_path(), &chart, &tiles)?;
    run.done();
    Ok(())
}
