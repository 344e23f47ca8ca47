//! `backprop-by-hand`: the lecture's backpropagation formulas for a 2-layer network, written out
//! as matrix arithmetic, against what autodiff computes for the same network built from
//! Neurite's layers. In the lecture's notation (one column per sample, m samples):
//!
//! ```text
//! forward:  Z1 = W1·X + b1   A1 = σ(Z1)   Z2 = W2·A1 + b2   A2 = softmax(Z2)
//!           L  = −(1/m)·Σ Y ∘ log A2
//! backward: dZ2 = A2 − Y
//!           dW2 = (1/m)·dZ2·A1ᵀ          db2 = (1/m)·Σ_columns dZ2
//!           dA1 = W2ᵀ·dZ2                dZ1 = dA1 ∘ A1 ∘ (1 − A1)
//!           dW1 = (1/m)·dZ1·Xᵀ           db1 = (1/m)·Σ_columns dZ1
//! ```
//!
//! The formulas run in f64 on plain arrays; autodiff runs the `MlpConfig` network (linear,
//! sigmoid, linear, softmax cross-entropy) in f32 and differentiates it with `backward`. Every
//! entry is printed side by side and must agree to 10⁻⁶. The quick form is the same (it takes
//! milliseconds).

use neurite_core::{Backend, Rng, Stream, Tensor};
use neurite_nn::models::MlpConfig;
use neurite_nn::{Activation, Module, loss};
use neurite_train::plot::{Panel, Series};

use crate::common::{Run, Table};
use crate::{ExperimentError, ExperimentOptions};

/// Samples, inputs, hidden units, classes.
const M: usize = 4;
const D: usize = 3;
const H: usize = 4;
const K: usize = 3;

/// A row-major matrix in f64.
#[derive(Clone, Debug)]
struct Mat {
    rows: usize,
    cols: usize,
    v: Vec<f64>,
}

impl Mat {
    fn new(rows: usize, cols: usize, f: impl Fn(usize, usize) -> f64) -> Mat {
        Mat { rows, cols, v: (0..rows * cols).map(|i| f(i / cols, i % cols)).collect() }
    }
    fn at(&self, r: usize, c: usize) -> f64 {
        self.v[r * self.cols + c]
    }
    fn t(&self) -> Mat {
        Mat::new(self.cols, self.rows, |r, c| self.at(c, r))
    }
    fn dot(&self, o: &Mat) -> Mat {
        Mat::new(self.rows, o.cols, |r, c| (0..self.cols).map(|k| self.at(r, k) * o.at(k, c)).sum())
    }
    fn map(&self, f: impl Fn(f64) -> f64) -> Mat {
        Mat { rows: self.rows, cols: self.cols, v: self.v.iter().map(|&x| f(x)).collect() }
    }
    fn zip(&self, o: &Mat, f: impl Fn(f64, f64) -> f64) -> Mat {
        Mat { rows: self.rows, cols: self.cols, v: self.v.iter().zip(&o.v).map(|(&a, &b)| f(a, b)).collect() }
    }
    /// Adds the column vector `b` (rows × 1) to every column.
    fn plus_column(&self, b: &[f64]) -> Mat {
        Mat::new(self.rows, self.cols, |r, c| self.at(r, c) + b[r])
    }
    /// The sum of each row (Σ over the columns, i.e. over the samples).
    fn row_sums(&self) -> Vec<f64> {
        (0..self.rows).map(|r| (0..self.cols).map(|c| self.at(r, c)).sum()).collect()
    }
}

/// The lecture's gradients (dW1, db1, dW2, db2) and loss, by the formulas above.
fn by_hand(x: &Mat, y: &Mat, w1: &Mat, b1: &[f64], w2: &Mat, b2: &[f64]) -> ([Vec<f64>; 4], f64) {
    let m = x.cols as f64;
    let z1 = w1.dot(x).plus_column(b1);
    let a1 = z1.map(|z| 1.0 / (1.0 + (-z).exp()));
    let z2 = w2.dot(&a1).plus_column(b2);
    // Softmax down each column.
    let a2 = Mat::new(z2.rows, z2.cols, |r, c| {
        let top = (0..z2.rows).map(|k| z2.at(k, c)).fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = (0..z2.rows).map(|k| (z2.at(k, c) - top).exp()).sum();
        (z2.at(r, c) - top).exp() / total
    });
    let loss = -y.zip(&a2, |t, a| t * a.ln()).v.iter().sum::<f64>() / m;
    let dz2 = a2.zip(y, |a, t| a - t);
    let dw2 = dz2.dot(&a1.t()).map(|v| v / m);
    let db2: Vec<f64> = dz2.row_sums().iter().map(|v| v / m).collect();
    let da1 = w2.t().dot(&dz2);
    let dz1 = da1.zip(&a1, |d, a| d * a * (1.0 - a));
    let dw1 = dz1.dot(&x.t()).map(|v| v / m);
    let db1: Vec<f64> = dz1.row_sums().iter().map(|v| v / m).collect();
    ([dw1.v, db1, dw2.v, db2], loss)
}

/// Runs the experiment on backend `B`.
pub(crate) fn run<B: Backend>(options: &ExperimentOptions) -> Result<(), ExperimentError> {
    let run = Run::start::<B>("backprop-by-hand", options)?;
    say!("a {D}-{H}-{K} network (sigmoid hidden layer, softmax cross-entropy) on {M} samples");
    // The network's own initial weights, and random inputs and labels.
    let mut model = MlpConfig::new(D, &[H], K).with_activation(Activation::Sigmoid).init::<B>(run.seed());
    model.set_training(true);
    let mut rng = Rng::stream(run.seed(), Stream::Custom(0x4250_4248)); // "BPBH"
    let inputs: Vec<f32> = rng.normal_vec(M * D, 0.0, 1.0);
    let labels: Vec<usize> = (0..M).map(|_| rng.below(K)).collect();

    let params = model.params();
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, t)| t.to_vec()).unwrap_or_default();
    let as_f64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
    let (w1, b1) = (as_f64(get("layers.1.weight")), as_f64(get("layers.1.bias")));
    let (w2, b2) = (as_f64(get("layers.3.weight")), as_f64(get("layers.3.bias")));
    // The lecture's layout: W is [units, inputs] (as Neurite's); X and Y hold one sample per column.
    let x = Mat::new(D, M, |r, c| f64::from(inputs[c * D + r]));
    let y = Mat::new(K, M, |r, c| if labels[c] == r { 1.0 } else { 0.0 });
    let (hand, hand_loss) =
        by_hand(&x, &y, &Mat { rows: H, cols: D, v: w1 }, &b1, &Mat { rows: K, cols: H, v: w2 }, &b2);

    // Autodiff on the network itself: samples as rows, class indices as targets.
    let xt = Tensor::<B>::from_vec(inputs, [M, D]);
    let yt = Tensor::<B>::from_vec(labels.iter().map(|&l| l as f32).collect(), [M]);
    let l = loss::cross_entropy(&model.forward(&xt), &yt);
    let grads = l.backward();
    let names = ["layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias"];
    let shown = ["dW1", "db1", "dW2", "db2"];
    let mut csv = Table::new(&["gradient", "index", "formula", "autodiff", "difference"]);
    let mut worst = 0.0f64;
    let (mut formula_bars, mut autodiff_bars) = (Vec::new(), Vec::new());
    let mut position = 0.0;
    say!("loss: formula {hand_loss:.7}, autodiff {:.7}", l.item());
    say!("{:<6} {:>5} {:>14} {:>14} {:>10}", "grad", "entry", "formula", "autodiff", "|diff|");
    for ((name, label), formula) in names.iter().zip(shown).zip(&hand) {
        let param = params.iter().find(|(n, _)| n == name).map(|(_, t)| *t).expect("the MLP has its layers");
        let auto = grads.get(param).map(|g| g.to_vec()).unwrap_or_default();
        for (i, (&f, &a)) in formula.iter().zip(&auto).enumerate() {
            let diff = (f - f64::from(a)).abs();
            worst = worst.max(diff);
            say!("{label:<6} {i:>5} {f:>14.8} {a:>14.8} {diff:>10.2e}");
            csv.row(vec![label.into(), i.to_string(), f.to_string(), a.to_string(), diff.to_string()]);
            position += 1.0;
            formula_bars.push((position - 0.2, f));
            autodiff_bars.push((position + 0.2, f64::from(a)));
        }
        position += 1.0;
    }
    say!("largest difference: {worst:.2e} (f32 autodiff against f64 formulas)");
    let panel = Panel {
        title: "dW1, db1, dW2, db2 entry by entry: the lecture's formulas and autodiff".into(),
        x_label: "gradient entry (dW1 | db1 | dW2 | db2)".into(),
        y_label: "∂L/∂θ".into(),
        series: vec![Series::bars("formula", formula_bars, 0.4), Series::bars("autodiff", autodiff_bars, 0.4)],
        ..Panel::default()
    };
    run.finish(&csv, &[panel], 1, (1000, 420))
}
