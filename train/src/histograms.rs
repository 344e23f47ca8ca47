//! What the hidden layers do while a network trains: after each epoch, a fixed probe batch goes
//! through the network layer by layer, and for every activation layer the recorder keeps the
//! distribution of its outputs, of the gradient of the loss with respect to them (the signal
//! backpropagation sends down), and the fraction of dead units (ReLU-family units that output 0
//! for every probe sample, so that no gradient reaches their weights).
//!
//! [`Recorder`] is what `neurite train --histograms` and the `training-histograms` experiment use:
//! [`Recorder::record`] after each epoch, [`Recorder::save`] for `histograms.png` and
//! [`Recorder::to_csv`] for the numbers.

use std::fmt::Write as _;
use std::path::Path;

use neurite_core::{Backend, Tensor};
use neurite_nn::{LayerSpec, Module, Sequential};

use crate::plot::{self, Panel, PlotError, Series};

/// Values kept per layer and epoch for the histograms (a strided sample of the outputs).
const KEPT: usize = 20_000;
/// Bins of each histogram.
const BINS: usize = 40;

/// One activation layer after one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRecord {
    /// The epoch (0 = before training).
    pub epoch: usize,
    /// Position of the activation among the network's activation layers (1 = first).
    pub layer: usize,
    /// The activation's name (`ReLU`, `Sigmoid`, …).
    pub name: String,
    /// Mean of the outputs.
    pub mean: f64,
    /// Standard deviation of the outputs.
    pub std: f64,
    /// Root mean square of ∂loss/∂output.
    pub grad_rms: f64,
    /// Fraction of units (output positions) that are 0 for every probe sample; `None` for
    /// activations that cannot die (sigmoid, tanh).
    pub dead: Option<f64>,
    /// A sample of the outputs.
    values: Vec<f32>,
    /// A sample of the gradients.
    grads: Vec<f32>,
}

/// Records the layers of a [`Sequential`] network on a probe batch, epoch after epoch.
pub struct Recorder<B: Backend> {
    inputs: Tensor<B>,
    targets: Tensor<B>,
    records: Vec<LayerRecord>,
}

/// Whether a layer is an activation, and whether its units can die.
fn activation(spec: &LayerSpec) -> Option<bool> {
    match spec {
        LayerSpec::ReLU | LayerSpec::LeakyReLU { .. } | LayerSpec::ELU { .. } | LayerSpec::GELU => Some(true),
        LayerSpec::Sigmoid | LayerSpec::Tanh => Some(false),
        _ => None,
    }
}

/// Every `step`-th value, at most [`KEPT`] of them.
fn sample(values: &[f32]) -> Vec<f32> {
    let step = values.len().div_ceil(KEPT).max(1);
    values.iter().step_by(step).copied().collect()
}

impl<B: Backend> Recorder<B> {
    /// A recorder for the probe batch `inputs` (as the network takes them) with one-hot
    /// `targets` for the softmax cross-entropy whose gradient is recorded.
    pub fn new(inputs: Tensor<B>, targets: Tensor<B>) -> Self {
        Recorder { inputs, targets, records: Vec::new() }
    }

    /// Runs the probe batch through `model` in evaluation mode (dropout off, batch norm on its
    /// running statistics) and records every activation layer as of `epoch`. The model is left in
    /// training mode.
    pub fn record(&mut self, model: &mut Sequential<B>, epoch: usize) {
        model.set_training(false);
        let mut outputs = Vec::new();
        let mut x = self.inputs.clone();
        for layer in model.layers() {
            x = layer.forward(&x);
            if let Some(can_die) = activation(&layer.spec()) {
                outputs.push((layer.spec().to_string(), can_die, x.clone()));
            }
        }
        let loss = x.softmax_cross_entropy(&self.targets);
        let grads = loss.backward_all(&Tensor::ones(loss.shape().clone()));
        model.set_training(true);
        for (k, (name, can_die, out)) in outputs.into_iter().enumerate() {
            let values = out.to_vec();
            let grad = grads.get(&out).map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; values.len()]);
            let n = values.len().max(1) as f64;
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
            let grad_rms = (grad.iter().map(|&g| f64::from(g).powi(2)).sum::<f64>() / n).sqrt();
            let dead = can_die.then(|| {
                let samples = out.dims()[0].max(1);
                let units = values.len() / samples;
                let dead = (0..units).filter(|&u| (0..samples).all(|s| values[s * units + u] <= 0.0)).count();
                dead as f64 / units.max(1) as f64
            });
            self.records.push(LayerRecord {
                epoch,
                layer: k + 1,
                name: name.split([' ', '{', '(']).next().unwrap_or(&name).to_string(),
                mean,
                std: var.sqrt(),
                grad_rms,
                dead,
                values: sample(&values),
                grads: sample(&grad),
            });
        }
    }

    /// Everything recorded so far, in order.
    pub fn records(&self) -> &[LayerRecord] {
        &self.records
    }

    /// The statistics as CSV: `epoch,layer,activation,mean,std,grad_rms,dead_fraction`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch,layer,activation,mean,std,grad_rms,dead_fraction\n");
        for r in &self.records {
            let dead = r.dead.map_or(String::new(), |d| d.to_string());
            let _ = writeln!(out, "{},{},{},{},{},{},{dead}", r.epoch, r.layer, r.name, r.mean, r.std, r.grad_rms);
        }
        out
    }

    /// The activation layers recorded (1 to this).
    pub fn layers(&self) -> usize {
        self.records.iter().map(|r| r.layer).max().unwrap_or(0)
    }

    /// At most `most` of the recorded epochs, evenly spread, the first and last included.
    fn shown_epochs(&self, most: usize) -> Vec<usize> {
        let mut epochs: Vec<usize> = self.records.iter().map(|r| r.epoch).collect();
        epochs.dedup();
        if epochs.len() <= most || most < 2 {
            return epochs;
        }
        (0..most).map(|k| epochs[k * (epochs.len() - 1) / (most - 1)]).collect()
    }

    /// The distribution of `layer`'s outputs, one line per epoch (at most `most`), over the range
    /// of every recorded epoch.
    pub fn value_panel(&self, layer: usize, title: &str, most: usize) -> Panel {
        self.distribution(layer, title, most, "output", |r| r.values.clone())
    }

    /// The distribution of log₁₀ |∂loss/∂output| at `layer` (zeros left out), one line per epoch.
    pub fn grad_panel(&self, layer: usize, title: &str, most: usize) -> Panel {
        let log = |r: &LayerRecord| r.grads.iter().filter(|g| **g != 0.0).map(|g| g.abs().log10()).collect();
        self.distribution(layer, title, most, "log₁₀ |∂L/∂output|", log)
    }

    fn distribution(
        &self,
        layer: usize,
        title: &str,
        most: usize,
        x_label: &str,
        values: impl Fn(&LayerRecord) -> Vec<f32>,
    ) -> Panel {
        let shown = self.shown_epochs(most);
        let of_layer: Vec<&LayerRecord> = self.records.iter().filter(|r| r.layer == layer).collect();
        let all: Vec<Vec<f32>> = of_layer.iter().map(|r| values(r)).collect();
        let bounds = range(all.iter().flatten().copied());
        let series = of_layer
            .iter()
            .zip(&all)
            .filter(|(r, _)| shown.contains(&r.epoch))
            .map(|(r, v)| Series::line(format!("epoch {}", r.epoch), histogram(v, bounds)))
            .collect();
        Panel { title: title.into(), x_label: x_label.into(), y_label: "fraction".into(), series, ..Panel::default() }
    }

    /// The fraction of dead units of each ReLU-family layer by epoch.
    pub fn dead_panel(&self, title: &str) -> Panel {
        let series = (1..=self.layers())
            .filter_map(|layer| {
                let points: Vec<(f64, f64)> =
                    self.by_layer(layer).filter_map(|r| Some((r.epoch as f64, r.dead?))).collect();
                (!points.is_empty()).then(|| Series::line(format!("layer {layer}"), points))
            })
            .collect();
        Panel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: "fraction of units".into(),
            series,
            y_range: Some((0.0, 1.0)),
            ..Panel::default()
        }
    }

    /// log₁₀ of the rms gradient at each layer by epoch: vanishing gradients fall layer by layer.
    pub fn rms_panel(&self, title: &str) -> Panel {
        let series = (1..=self.layers())
            .map(|layer| {
                let points = self.by_layer(layer).map(|r| (r.epoch as f64, r.grad_rms.max(1e-30).log10())).collect();
                Series::line(format!("layer {layer}"), points)
            })
            .collect();
        Panel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: "log₁₀ rms ∂L/∂output".into(),
            series,
            ..Panel::default()
        }
    }

    fn by_layer(&self, layer: usize) -> impl Iterator<Item = &LayerRecord> {
        self.records.iter().filter(move |r| r.layer == layer)
    }

    /// Two rows of panels, one column per activation layer (outputs, then gradients, up to five
    /// epochs each), and a last column with the dead units and the gradient sizes by epoch.
    /// Returns the panels and the number of columns.
    pub fn panels(&self, title: &str) -> (Vec<Panel>, usize) {
        let layers = self.layers();
        let name = |layer: usize| self.by_layer(layer).next().map_or(String::new(), |r| r.name.clone());
        let mut top: Vec<Panel> = (1..=layers)
            .map(|l| self.value_panel(l, &format!("{title}: layer {l} ({}) outputs", name(l)), 5))
            .collect();
        let mut bottom: Vec<Panel> =
            (1..=layers).map(|l| self.grad_panel(l, &format!("layer {l}: gradient of the loss"), 5)).collect();
        top.push(self.dead_panel("dead units (0 on every probe sample)"));
        bottom.push(self.rms_panel("gradient size by layer"));
        let columns = top.len();
        top.extend(bottom);
        (top, columns)
    }

    /// Draws [`Recorder::panels`] into a PNG at `path`.
    ///
    /// # Errors
    /// [`PlotError`] if it cannot be drawn or written.
    pub fn save(&self, path: &Path, title: &str) -> Result<(), PlotError> {
        let (panels, columns) = self.panels(title);
        plot::save(path, &panels, columns, (420, 320))
    }
}

/// The smallest and largest of `values` (a unit range around a single value).
fn range(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (lo, hi) = values.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        (0.0, 1.0)
    } else if hi - lo < 1e-6 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// The fraction of `values` in each of [`BINS`] equal bins of `range`, as (bin centre, fraction).
fn histogram(values: &[f32], (lo, hi): (f32, f32)) -> Vec<(f64, f64)> {
    let mut counts = [0usize; BINS];
    let width = (hi - lo) / BINS as f32;
    for &v in values {
        let bin = (((v - lo) / width) as usize).min(BINS - 1);
        counts[bin] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.iter().enumerate().map(|(i, &c)| (f64::from(lo + (i as f32 + 0.5) * width), c as f64 / n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use neurite_core::reference::ReferenceBackend as R;
    use neurite_nn::models::MlpConfig;

    #[test]
    fn a_layer_whose_weights_push_every_unit_negative_is_recorded_dead() {
        // 2 inputs → 3 ReLU units → 2 classes; unit 2's weights and bias make it negative for the
        // positive probe inputs, so it is dead: 1 of 3 units.
        let mut model = MlpConfig::new(2, &[3], 2).init::<R>(1);
        for (name, p) in model.params_mut() {
            let values = match name.as_str() {
                "layers.1.weight" => vec![1.0, 1.0, -1.0, -1.0, 0.5, 0.0],
                "layers.1.bias" => vec![0.0, -0.1, 0.0],
                _ => continue,
            };
            p.set_data(&Tensor::from_vec(values, p.dims().to_vec()));
        }
        let x = Tensor::<R>::from_vec(vec![1.0, 2.0, 0.5, 0.25], [2, 2]);
        let t = Tensor::<R>::from_vec(vec![1.0, 0.0, 0.0, 1.0], [2, 2]);
        let mut recorder = Recorder::new(x, t);
        recorder.record(&mut model, 0);
        let r = &recorder.records()[0];
        assert_eq!((r.layer, r.name.as_str(), r.dead), (1, "ReLU", Some(1.0 / 3.0)));
        // Outputs: sample 1 → (3, 0, 0.5), sample 2 → (0.75, 0, 0.25).
        assert!((r.mean - (3.0 + 0.5 + 0.75 + 0.25) / 6.0).abs() < 1e-6, "{}", r.mean);
        assert!(recorder.to_csv().lines().nth(1).is_some_and(|l| l.starts_with("0,1,ReLU,")));
    }
}
