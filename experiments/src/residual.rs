//! `residual`: He et al.'s degradation problem and its cure ("Deep Residual Learning", 2016,
//! Fig. 1 and 6). A plain network (the ResNet's layers without shortcuts) trains *worse* when it is
//! made deeper, although the deeper one could copy the shallower and set its extra layers to the
//! identity; with shortcuts, the deeper network trains at least as well. Four networks learn the
//! same images from the same seed: plain and residual at depths 8 and 20 (6n + 2; widths 16, 32,
//! 64; shortcut option A; batch norm and He initialization throughout), with SGD (momentum 0.9,
//! lr 0.05, batches of 64). The curves are the training loss, epoch by epoch, as the paper plots
//! training error; the table adds the final training and validation accuracy.
//!
//! Data: `--data PATH` (any image data `neurite train` reads; CIFAR-10 as the paper uses) gives
//! 5,000 training and 1,000 validation images, drawn by the seed; without it, the embedded digits
//! (4,000 and 1,000). The full run trains 6 epochs; the quick one trains depths 8 and 14 at width
//! 4 on 500 digits for 2 epochs. Short runs show the early part of the paper's curves, where the
//! gap between the plain networks opens.

use neurite_core::{Backend, Rng, Stream};
use neurite_data::LoadOptions;
use neurite_nn::Module;
use neurite_nn::data::{BatchLoader, Dataset, Layout, Preprocessing};
use neurite_nn::models::ResNetConfig;
use neurite_optim::{Momentum, MomentumConfig};
use neurite_train::plot::{Panel, Series, Style};

use crate::common::{Digits, Run, Table, evaluate, pct, sig, step};
use crate::{ExperimentError, ExperimentOptions};

/// `Stream::Custom` of the draw of the training and validation images from `--data`.
const DRAW_STREAM: u64 = 0x4558_5052; // "EXPR"

/// Training and validation images, and where they came from.
fn images(options: &ExperimentOptions, quick: bool) -> Result<(Dataset, Dataset, String), ExperimentError> {
    let (train_n, val_n) = if quick { (500, 200) } else { (5000, 1000) };
    match &options.data {
        Some(path) => {
            let data = neurite_data::load(path, &LoadOptions::training())?;
            let all = data.dataset;
            if all.len() < train_n + val_n {
                return Err(ExperimentError::Data(neurite_data::LoadError::Invalid(format!(
                    "{}: {} images; the experiment draws {train_n} for training and {val_n} for validation",
                    data.origin,
                    all.len()
                ))));
            }
            let order = Rng::stream(options.seed, Stream::Custom(DRAW_STREAM)).permutation(all.len());
            let source = format!(
                "{train_n} training and {val_n} validation images ({}×{}, {} channel(s)) drawn from {}",
                all.cols(),
                all.rows(),
                all.channels(),
                data.origin
            );
            Ok((all.subset(&order[..train_n]), all.subset(&order[train_n..train_n + val_n]), source))
        }
        None => {
            let digits = Digits::load(&ExperimentOptions { test_data: None, ..options.clone() }, val_n)?;
            let train = digits.train_subset(train_n, options.seed);
            let source = format!("{} embedded digits for training, {}", train.len(), digits.test_source);
            Ok((train, digits.test, source))
        }
    }
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("residual", options)?;
    let (depths, width, epochs) = if run.quick() { ([8, 14], 4, 2) } else { ([8, 20], 16, 6) };
    let (train, validation, source) = images(options, run.quick())?;
    say!("{source}");
    let input = [train.channels(), train.rows(), train.cols()];
    let classes = train.classes().max(validation.classes());
    let preprocessing = Preprocessing::unit(Layout::Nchw);
    let (lr, batch) = (0.05, 64);
    say!(
        "plain and residual networks of depth {} and {}, widths {width}/{}/{}, SGD momentum 0.9 lr {lr}, \
         batch {batch}, {epochs} epochs",
        depths[0],
        depths[1],
        2 * width,
        4 * width
    );
    let mut csv = Table::new(&["network", "depth", "epoch", "train_loss"]);
    let mut summary = Table::new(&["network", "parameters", "final train loss", "train acc %", "validation acc %"]);
    let mut panels = Vec::new();
    for residual in [false, true] {
        let kind = if residual { "residual" } else { "plain" };
        let mut series = Vec::new();
        for depth in depths {
            let mut config = ResNetConfig::new(input, classes, depth).with_widths(&[width, 2 * width, 4 * width]);
            if !residual {
                config = config.plain();
            }
            let mut model = config.init::<B>(run.seed()).map_err(ExperimentError::Output)?;
            let mut optimizer = Momentum::new(MomentumConfig { lr, momentum: 0.9, ..MomentumConfig::default() })?;
            let mut loader = BatchLoader::new(&train, batch).with_preprocessing(preprocessing).shuffled(run.seed());
            let mut curve = Vec::new();
            for epoch in 1..=epochs {
                let losses: Vec<f32> =
                    loader.epoch::<B>().map(|b| step(&mut model, &mut optimizer, &b.inputs, &b.labels, None)).collect();
                let loss = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
                curve.push((epoch as f64, f64::from(loss)));
                csv.row(vec![kind.into(), depth.to_string(), epoch.to_string(), loss.to_string()]);
            }
            let (_, train_acc) = evaluate(&mut model, &train, preprocessing);
            let (_, val_acc) = evaluate(&mut model, &validation, preprocessing);
            let last = curve.last().map_or(f64::NAN, |p| p.1);
            summary.row(vec![
                format!("{kind}-{depth}"),
                model.num_params().to_string(),
                sig(last as f32, 4),
                pct(train_acc),
                pct(val_acc),
            ]);
            series.push(Series { name: format!("{kind}-{depth}"), points: curve, style: Style::LineMarkers });
        }
        panels.push(Panel {
            title: format!("{kind} networks"),
            x_label: "epoch".into(),
            y_label: "training loss (mean over the epoch)".into(),
            series,
            ..Panel::default()
        });
    }
    summary.print();
    // The same range on both panels, fitted to the curves, so that the gaps read across them.
    let losses = || panels.iter().flat_map(|p| p.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let (low, high) = (losses().fold(f64::INFINITY, f64::min), losses().fold(0.0, f64::max));
    let margin = (high - low).max(0.01) * 0.08;
    for panel in &mut panels {
        panel.y_range = Some(((low - margin).max(0.0), high + margin));
    }
    run.finish(&csv, &panels, 2, (520, 380))
}
