//! What the experiments share: the digits (the embedded 5,000 for training, the official test set
//! or a held-out split for testing), the course's fully connected networks, one training step,
//! evaluation, endless mini-batches, tables printed to stdout and written as CSV, and the output
//! files. The experiments themselves live one per file beside this one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use neurite_core::{Backend, Rng, Stream, Tensor, no_grad};
use neurite_nn::data::{Batch, BatchLoader, Batches, Dataset, Layout, Preprocessing};
use neurite_nn::{Activation, BatchNormConfig, Dropout, Init, LinearConfig, Module, Sequential, loss, metrics};
use neurite_optim::Optimizer;

use super::ExperimentOptions;
use crate::data::Role;
use crate::error::usage;
use crate::plot::{self, Panel};

/// Where the official test set is looked for when `--test-data` is not given: relative to the
/// working directory, which is the repository root when run as documented.
pub(crate) const DEFAULT_TEST_DIR: &str = "../shared/data/mnist";

/// Test digits held out of the embedded 5,000 when no official test set is found.
pub(crate) const HELD_OUT: usize = 1000;

/// `Stream::Custom` numbers of the experiments' own streams (the standard ones cover init, data
/// order, dropout and augmentation).
const SUBSET_STREAM: u64 = 0x4558_5053; // "EXPS"
const INPUT_STREAM: u64 = 0x4558_5049; // "EXPI"

/// Training and test digits.
pub(crate) struct Digits {
    /// The embedded digits (all 5,000, or 4,000 when 1,000 are held out for testing).
    pub train: Dataset,
    /// The test digits.
    pub test: Dataset,
    /// Where the test digits came from, for the printed header.
    pub test_source: String,
}

impl Digits {
    /// The embedded training digits and the test set that `options` selects: `--test-data PATH`
    /// (any data path `neurite eval` reads, holding 28×28 digits), else the `t10k` files of
    /// [`DEFAULT_TEST_DIR`] when they are there, else [`HELD_OUT`] digits split off the embedded
    /// ones with the run's seed. At most `test_cap` test digits are kept (the first ones).
    ///
    /// # Errors
    /// A usage error if `--test-data` names missing, unreadable or unsuitable data.
    pub fn load(options: &ExperimentOptions, test_cap: usize) -> anyhow::Result<Digits> {
        let embedded = crate::data::embedded()?.dataset;
        let official = match &options.test_data {
            Some(path) => Some(read_test_set(path)?),
            None => {
                let dir = Path::new(DEFAULT_TEST_DIR);
                let present =
                    ["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"].iter().any(|f| dir.join(f).is_file());
                if present { read_test_set(dir).ok() } else { None }
            }
        };
        let (train, test, test_source) = match official {
            Some((test, source)) => (embedded, test, source),
            None => {
                let (train, test) = embedded.split(HELD_OUT, options.seed).context("holding out test digits")?;
                (train, test, format!("{HELD_OUT} digits held out of the embedded 5,000"))
            }
        };
        if test.len() <= test_cap {
            return Ok(Digits { train, test, test_source });
        }
        let test_source = format!("the first {test_cap} of {test_source}");
        let test = test.range(0..test_cap).context("capping the test set")?;
        Ok(Digits { train, test, test_source })
    }

    /// `n` training digits drawn without replacement by a seeded permutation (all of them if `n`
    /// is larger than the set).
    pub fn train_subset(&self, n: usize, seed: u64) -> Dataset {
        let order = Rng::stream(seed, Stream::Custom(SUBSET_STREAM)).permutation(self.train.len());
        self.train.subset(&order[..n.min(order.len())])
    }
}

/// Reads test digits from a data path (for a folder, its `t10k`/`test` pair of IDX files).
///
/// # Errors
/// A usage error if the data cannot be read or is not 28×28 images of 10 classes.
fn read_test_set(path: &Path) -> anyhow::Result<(Dataset, String)> {
    let data = crate::data::load(path, Role::Test, crate::data::MNIST_SIZE)?;
    let test = data.dataset;
    if test.rows() != 28 || test.cols() != 28 || test.classes() > 10 {
        return Err(usage(format!(
            "{}: the experiments test on 28×28 digits of 10 classes, not {}×{} images of {} classes",
            data.origin,
            test.cols(),
            test.rows(),
            test.classes()
        )));
    }
    let source = format!("{} test digits from {}", test.len(), data.origin);
    Ok((test, source))
}

/// Pixels scaled to [0, 1] and flattened to `[n, 784]`, as the book feeds its dense networks.
pub(crate) fn flat() -> Preprocessing {
    Preprocessing::unit(Layout::Flat)
}

/// Pixels scaled to [0, 1] as `[n, 1, 28, 28]`, for convolutions and augmentation.
pub(crate) fn images() -> Preprocessing {
    Preprocessing::unit(Layout::Nchw)
}

/// A fully connected classifier 784 → hidden… → 10: each hidden layer is Linear, then batch norm
/// (if asked), then the activation, then dropout (if asked), as in the book's
/// `MultiLayerNetExtend`. Every linear layer, the last included, draws its weight from `init` and
/// starts with a zero bias.
#[derive(Clone, Debug)]
pub(crate) struct Mlp {
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub activation: Activation,
    /// The weight initializer of every linear layer.
    pub init: Init,
    /// Batch norm between each hidden linear layer and its activation.
    pub batch_norm: bool,
    /// Dropout probability after each hidden activation (0 = none).
    pub dropout: f32,
}

impl Mlp {
    /// `layers` hidden layers of `width` units with `activation` and `init`, nothing else.
    pub fn new(layers: usize, width: usize, activation: Activation, init: Init) -> Self {
        Mlp { hidden: vec![width; layers], activation, init, batch_norm: false, dropout: 0.0 }
    }

    /// Draws the network's weights from stream `Init` of `seed` and its dropout masks from stream
    /// `Dropout`.
    pub fn build<B: Backend>(&self, seed: u64) -> Sequential<B> {
        let mut rng = Rng::stream(seed, Stream::Init);
        let mut dropout_rng = Rng::stream(seed, Stream::Dropout);
        let mut model = Sequential::new();
        let mut width = 28 * 28;
        for &h in &self.hidden {
            model.push(Box::new(LinearConfig::new(width, h).with_init(self.init).init::<B>(&mut rng)));
            if self.batch_norm {
                model.push(Box::new(BatchNormConfig::new(h).init_1d::<B>()));
            }
            model.push(Box::new(self.activation));
            if self.dropout > 0.0 {
                model.push(Box::new(Dropout::with_rng(self.dropout, dropout_rng.fork())));
            }
            width = h;
        }
        model.push(Box::new(LinearConfig::new(width, 10).with_init(self.init).init::<B>(&mut rng)));
        model
    }
}

/// One optimizer step on a batch: mean cross-entropy (plus λ/2·Σ‖W‖² over the weights when
/// `l2` is given), backward, update. Returns the loss before the update (the penalty included,
/// as the book records it). The loss and its graph are dropped before the step, so the optimizer
/// updates the parameters in place.
pub(crate) fn train_step<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    x: &Tensor<B>,
    labels: &Tensor<B>,
    l2: Option<f32>,
) -> f32 {
    let (value, grads) = {
        let data_loss = loss::cross_entropy(&model.forward(x), labels);
        let total = match l2 {
            Some(lambda) => neurite_nn::regularization::with_l2(&data_loss, &*model, lambda),
            None => data_loss,
        };
        (total.item(), total.backward())
    };
    optimizer.step(&mut model.params_mut(), &grads);
    value
}

/// Evaluates `model` on `data` in evaluation mode (no dropout, running batch-norm statistics),
/// without a graph: (mean cross-entropy, accuracy). Restores training mode afterwards.
pub(crate) fn evaluate<B: Backend>(
    model: &mut dyn Module<B>,
    data: &Dataset,
    preprocessing: Preprocessing,
) -> (f32, f32) {
    model.set_training(false);
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let mut loader = BatchLoader::new(data, 1000).with_preprocessing(preprocessing);
    for batch in loader.epoch::<B>() {
        let n = batch.label_indices.len();
        no_grad(|| {
            let logits = model.forward(&batch.inputs);
            loss_sum += f64::from(loss::cross_entropy(&logits, &batch.labels).item()) * n as f64;
            correct += metrics::correct(&logits, &batch.label_indices);
        });
    }
    model.set_training(true);
    let n = data.len().max(1) as f64;
    ((loss_sum / n) as f32, (correct as f64 / n) as f32)
}

/// Mini-batches without end: epoch after epoch of a shuffled loader, all of the same size.
pub(crate) struct Endless<'a, B: Backend> {
    loader: BatchLoader<'a>,
    current: Batches<'a, B>,
}

impl<'a, B: Backend> Endless<'a, B> {
    /// Batches of `batch_size` (at most the data set's size) of `data`, reshuffled every epoch
    /// with stream `DataOrder` of `seed`; a last, smaller batch of an epoch is skipped.
    pub fn new(data: &'a Dataset, batch_size: usize, preprocessing: Preprocessing, seed: u64) -> Self {
        let batch_size = batch_size.clamp(1, data.len().max(1));
        let mut loader =
            BatchLoader::new(data, batch_size).with_preprocessing(preprocessing).shuffled(seed).drop_last(true);
        let current = loader.epoch();
        Endless { loader, current }
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> Batch<B> {
        match self.current.next() {
            Some(batch) => batch,
            None => {
                self.current = self.loader.epoch();
                self.current.next().expect("a data set with at least one full batch")
            }
        }
    }
}

/// The running mean of the last `window` values at each position (the first ones average what
/// there is), as the book smooths its loss curves.
pub(crate) fn smooth(values: &[f32], window: usize) -> Vec<f32> {
    let window = window.max(1);
    let mut out = Vec::with_capacity(values.len());
    let mut sum = 0.0f64;
    for (i, &v) in values.iter().enumerate() {
        sum += f64::from(v);
        if i >= window {
            sum -= f64::from(values[i - window]);
        }
        out.push((sum / (i + 1).min(window) as f64) as f32);
    }
    out
}

/// The mean of a slice (NaN if empty).
pub(crate) fn mean(values: &[f32]) -> f32 {
    (values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64) as f32
}

/// A number with `digits` significant digits, in scientific notation when very small or large.
pub(crate) fn sig(v: f32, digits: usize) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{:.*e}", digits.saturating_sub(1), v)
    } else {
        let decimals =
            if a == 0.0 { digits - 1 } else { (digits as i32 - 1 - a.log10().floor() as i32).max(0) as usize };
        format!("{v:.decimals$}")
    }
}

/// A percentage with one decimal: 0.9734 → `97.3`.
pub(crate) fn pct(v: f32) -> String {
    format!("{:.1}", 100.0 * v)
}

/// A table of strings: printed aligned to stdout, or written as CSV.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Table { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() }
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If it does not have one cell per column (a bug in the experiment).
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.header.len(), "table row {cells:?} vs header {:?}", self.header);
        self.rows.push(cells);
    }

    /// The table with columns padded to a common width, numbers right-aligned.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| self.rows.iter().map(|r| r[c].chars().count()).chain([self.header[c].chars().count()]).max())
            .map(|w| w.unwrap_or(0))
            .collect();
        let numeric = |s: &str| s.parse::<f64>().is_ok() || s == "NaN" || s == "inf";
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| if numeric(cell) { format!("{cell:>w$}") } else { format!("{cell:<w$}") })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        print!("{}", self.render());
    }

    /// Writes the table as CSV, atomically.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.header)?;
        for row in &self.rows {
            writer.write_record(row)?;
        }
        let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("csv: {}", e.error()))?;
        crate::fsutil::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
    }
}

/// One run's output folder, name and clock.
pub(crate) struct Run<'a> {
    /// The run's options.
    pub options: &'a ExperimentOptions,
    name: &'static str,
    started: Instant,
}

impl<'a> Run<'a> {
    /// Starts experiment `name`: creates the output folder and prints a header line.
    ///
    /// # Errors
    /// If the output folder cannot be created.
    pub fn start<B: Backend>(name: &'static str, options: &'a ExperimentOptions) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&options.out)
            .with_context(|| format!("creating the output folder {}", options.out.display()))?;
        let form = if options.quick { "quick" } else { "full" };
        println!("experiment {name} ({form}) — backend {}, seed {}", B::name(), options.seed);
        Ok(Run { options, name, started: Instant::now() })
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.options.seed
    }

    /// Whether this is the quick form.
    pub fn quick(&self) -> bool {
        self.options.quick
    }

    /// Writes `NAME.csv` and `NAME.png` (a grid of `columns` panels of `size` pixels each) and
    /// prints where they went and how long the run took.
    ///
    /// # Errors
    /// If a file cannot be written or the figure cannot be drawn.
    pub fn finish(&self, csv: &Table, panels: &[Panel], columns: usize, size: (u32, u32)) -> anyhow::Result<()> {
        let csv_path = self.csv_path();
        csv.write_csv(&csv_path)?;
        let png_path = self.png_path();
        plot::save(&png_path, panels, columns, size)?;
        self.done();
        Ok(())
    }

    /// `DIR/NAME.csv`.
    pub fn csv_path(&self) -> PathBuf {
        self.options.out.join(format!("{}.csv", self.name))
    }

    /// `DIR/NAME.png`.
    pub fn png_path(&self) -> PathBuf {
        self.options.out.join(format!("{}.png", self.name))
    }

    /// Prints the written files and the elapsed time.
    pub fn done(&self) {
        println!(
            "wrote {} and {} in {:.1} s",
            self.csv_path().display(),
            self.png_path().display(),
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Prints the data sets in use.
pub(crate) fn describe(train: &Dataset, digits: &Digits) {
    println!("training on {} embedded digits; testing on {}", train.len(), digits.test_source);
}

/// A seeded generator for a named purpose of an experiment (inputs drawn at random).
pub(crate) fn input_rng(seed: u64) -> Rng {
    Rng::stream(seed, Stream::Custom(INPUT_STREAM))
}

/// A curve's points with y clamped into `range`: plotters does not clip, so a value outside a
/// fixed axis range would be drawn over the axes. Non-finite values are dropped.
pub(crate) fn clamp_y(points: impl IntoIterator<Item = (f64, f64)>, range: (f64, f64)) -> Vec<(f64, f64)> {
    points.into_iter().filter(|p| p.1.is_finite()).map(|(x, y)| (x, y.clamp(range.0, range.1))).collect()
}

/// The points (1, v₁), (2, v₂), … of a per-iteration curve.
pub(crate) fn indexed(values: &[f32]) -> impl Iterator<Item = (f64, f64)> + '_ {
    values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, f64::from(v)))
}
