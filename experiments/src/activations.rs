//! `activations`: what the initial weight scale does to the activations of a deep network. As in
//! the book (ch. 6, "weight_init_activation_histogram"), 1,000 inputs drawn from N(0, 1) pass
//! through 5 layers of 100 units without biases, and each layer's activations are histogrammed:
//! sigmoid with σ = 1 (saturated at 0 and 1), σ = 0.01 (collapsed near 0.5) and Xavier (spread);
//! ReLU with σ = 0.01 (collapsed at 0), Xavier (shrinking with depth) and He (kept).
//!
//! Differences from the book: ReLU histograms count only the positive activations, over [0, 3]
//! (the book bins every activation over [0, 1], so its first bar holds the zeros and the tail is
//! cut); the share of flat units (sigmoid below 0.01 or above 0.99, ReLU at exactly 0) and each
//! layer's mean and standard deviation are reported instead. The quick form uses 500 inputs.
//!
//! A histogram's width mixes two things: how units differ from each other, and how one unit's
//! output changes from sample to sample. Only the second carries the input forward, so each
//! layer also reports its *sample spread*: each unit's standard deviation over the samples,
//! root-mean-squared over the units. With sigmoid and σ = 0.01 the histogram keeps its width
//! (every unit sits at its own fixed offset from 0.5) while the sample spread falls about
//! fortyfold per layer (0.01·√100·¼).

use neurite_core::{Backend, Tensor, no_grad};
use neurite_nn::{Activation, Init};

use crate::common::{Run, Table, input_rng, sig};
use crate::{ExperimentError, ExperimentOptions};
use neurite_train::plot::{Panel, Series};

const LAYERS: usize = 5;
const UNITS: usize = 100;
const BINS: usize = 30;

/// One network of the comparison.
struct Config {
    activation: Activation,
    init: Init,
    label: &'static str,
}

const CONFIGS: [Config; 6] = [
    Config { activation: Activation::Sigmoid, init: Init::Normal { std: 1.0 }, label: "σ = 1" },
    Config { activation: Activation::Sigmoid, init: Init::Normal { std: 0.01 }, label: "σ = 0.01" },
    Config { activation: Activation::Sigmoid, init: Init::Xavier, label: "Xavier" },
    Config { activation: Activation::Relu, init: Init::Normal { std: 0.01 }, label: "σ = 0.01" },
    Config { activation: Activation::Relu, init: Init::Xavier, label: "Xavier" },
    Config { activation: Activation::Relu, init: Init::He, label: "He" },
];

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::Sigmoid => "sigmoid",
        _ => "relu",
    }
}

/// Summary of one layer's activations.
struct LayerStats {
    mean: f32,
    std: f32,
    /// Each unit's standard deviation over the samples, root-mean-squared over the units.
    sample_spread: f32,
    flat: f32,
    /// (bin low, bin high, fraction of all activations in the bin).
    histogram: Vec<(f32, f32, f32)>,
}

/// The statistics of a `[samples, UNITS]` matrix of one layer's activations.
fn layer_stats(values: &[f32], activation: Activation) -> LayerStats {
    let n = values.len() as f64;
    let samples = values.len() / UNITS;
    let mut unit_sum = [0f64; UNITS];
    let mut unit_square = [0f64; UNITS];
    for row in values.chunks_exact(UNITS) {
        for (j, &v) in row.iter().enumerate() {
            unit_sum[j] += f64::from(v);
            unit_square[j] += f64::from(v) * f64::from(v);
        }
    }
    let unit_variance = |j: usize| {
        let m = unit_sum[j] / samples as f64;
        (unit_square[j] / samples as f64 - m * m).max(0.0)
    };
    let sample_spread = ((0..UNITS).map(unit_variance).sum::<f64>() / UNITS as f64).sqrt();
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    let sigmoid = matches!(activation, Activation::Sigmoid);
    let flat = values.iter().filter(|&&v| if sigmoid { !(0.01..=0.99).contains(&v) } else { v <= 0.0 }).count();
    let hi = if sigmoid { 1.0 } else { 3.0 };
    let width = hi / BINS as f32;
    let mut counts = [0usize; BINS];
    for &v in values {
        if (sigmoid || v > 0.0) && (0.0..=hi).contains(&v) {
            counts[((v / width) as usize).min(BINS - 1)] += 1;
        }
    }
    let histogram = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| (i as f32 * width, (i + 1) as f32 * width, c as f32 / n as f32))
        .collect();
    LayerStats {
        mean: mean as f32,
        std: var.sqrt() as f32,
        sample_spread: sample_spread as f32,
        flat: flat as f32 / n as f32,
        histogram,
    }
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("activations", options)?;
    let samples = if run.quick() { 500 } else { 1000 };
    say!("{samples} inputs from N(0, 1) through {LAYERS} layers of {UNITS} units, no biases");
    let x = Tensor::<B>::randn([samples, UNITS], 0.0, 1.0, &mut input_rng(run.seed()));

    let mut csv = Table::new(&[
        "activation",
        "init",
        "layer",
        "mean",
        "std",
        "sample_spread",
        "flat_fraction",
        "bin_low",
        "bin_high",
        "fraction",
    ]);
    let mut header = vec!["activation", "init"];
    let std_columns: Vec<String> = (1..=LAYERS).map(|l| format!("std L{l}")).collect();
    header.extend(std_columns.iter().map(String::as_str));
    let spread_columns: Vec<String> = (1..=LAYERS).map(|l| format!("spread L{l}")).collect();
    header.extend(spread_columns.iter().map(String::as_str));
    header.extend(["mean L5", "flat % L5"]);
    let mut summary = Table::new(&header);
    let mut panels = Vec::new();

    for (c, config) in CONFIGS.iter().enumerate() {
        // Each network draws its weights from its own stream, so adding one shifts no other.
        let mut rng = neurite_core::Rng::stream(run.seed(), neurite_core::Stream::Custom(c as u64));
        let name = activation_name(config.activation);
        let mut a = x.clone();
        let mut stats = Vec::new();
        no_grad(|| {
            for _ in 0..LAYERS {
                let w = config.init.tensor::<B>([UNITS, UNITS], UNITS, UNITS, &mut rng);
                a = config.activation.apply(&a.matmul(&w));
                stats.push(layer_stats(a.as_slice(), config.activation));
            }
        });
        let mut series = Vec::new();
        for (l, s) in stats.iter().enumerate() {
            for &(lo, hi, fraction) in &s.histogram {
                csv.row(vec![
                    name.into(),
                    config.label.into(),
                    (l + 1).to_string(),
                    s.mean.to_string(),
                    s.std.to_string(),
                    s.sample_spread.to_string(),
                    s.flat.to_string(),
                    lo.to_string(),
                    hi.to_string(),
                    fraction.to_string(),
                ]);
            }
            let points = s.histogram.iter().map(|&(lo, hi, f)| (f64::from(lo + hi) / 2.0, f64::from(f))).collect();
            series.push(Series::line(format!("layer {}", l + 1), points));
        }
        let last = stats.last().expect("at least one layer");
        let mut row = vec![name.to_string(), config.label.to_string()];
        row.extend(stats.iter().map(|s| sig(s.std, 3)));
        row.extend(stats.iter().map(|s| sig(s.sample_spread, 3)));
        row.extend([sig(last.mean, 3), format!("{:.1}", 100.0 * last.flat)]);
        summary.row(row);
        let what = if config.activation == Activation::Sigmoid { "" } else { " (positive values)" };
        panels.push(Panel {
            title: format!("{name}, {}: activations{what}", config.label),
            x_label: "activation".into(),
            y_label: "fraction of activations".into(),
            series,
            ..Panel::default()
        });
    }
    summary.print();
    run.finish(&csv, &panels, 3, (440, 320))
}
