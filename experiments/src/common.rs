//! What the experiments share: the digits (the embedded 5,000 for training, the official test set
//! or a held-out split for testing), the course's fully connected networks, one training step,
//! evaluation, endless mini-batches, tables printed to stdout and written as CSV, and the output
//! files. The experiments themselves live one per file beside this one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use neurite_core::{Backend, Rng, Stream, Tensor};
use neurite_data::{LoadError, LoadOptions, Role};
use neurite_nn::data::{Batch, BatchLoader, Batches, Dataset, Layout, Preprocessing};
use neurite_nn::models::MlpConfig;
use neurite_nn::regularization::Penalty;
use neurite_nn::{Activation, Init, Module};
use neurite_optim::Optimizer;
use neurite_train::plot::{self, Panel};
use neurite_train::{CrossEntropy, StepSettings, train_step};

use crate::{ExperimentError, ExperimentOptions};

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
    /// [`ExperimentError::Data`] if `--test-data` names missing, unreadable or unsuitable data.
    pub fn load(options: &ExperimentOptions, test_cap: usize) -> Result<Digits, ExperimentError> {
        let embedded = neurite_data::embedded().map_err(|e| ExperimentError::Output(e.to_string()))?.dataset;
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
                let (train, test) = embedded.split(HELD_OUT, options.seed)?;
                (train, test, format!("{HELD_OUT} digits held out of the embedded 5,000"))
            }
        };
        if test.len() <= test_cap {
            return Ok(Digits { train, test, test_source });
        }
        let test_source = format!("the first {test_cap} of {test_source}");
        let test = test.range(0..test_cap)?;
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
/// [`LoadError`] if the data cannot be read or is not 28×28 images of 10 classes.
fn read_test_set(path: &Path) -> Result<(Dataset, String), LoadError> {
    let options = LoadOptions {
        role: Role::Test,
        size: Some((28, 28)),
        fit: Some(neurite_data::Fit::Stretch),
        colour: neurite_data::Colour::Grey,
        ..LoadOptions::training()
    };
    let data = neurite_data::load(path, &options)?;
    let test = data.dataset;
    if test.rows() != 28 || test.cols() != 28 || test.classes() > 10 {
        return Err(LoadError::Invalid(format!(
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

/// The book's fully connected classifier 784 → `layers` × `width` → 10 (its
/// `MultiLayerNetExtend`: linear, batch norm if asked, activation, dropout if asked), as
/// `neurite_nn::models` builds it; set `batch_norm` and `dropout` on the result.
pub(crate) fn mlp(layers: usize, width: usize, activation: Activation, init: Init) -> MlpConfig {
    MlpConfig::new(28 * 28, &vec![width; layers], 10).with_activation(activation).with_init(init)
}

/// One step of `neurite_train::train_step` on a batch with softmax cross-entropy (plus
/// λ/2·Σ‖W‖² over the weights when `l2` is given). Returns the minimised loss, the penalty
/// included, as the book records it; a step whose loss or gradients are not finite returns NaN
/// and leaves the model as it was.
pub(crate) fn step<B: Backend>(
    model: &mut dyn Module<B>,
    optimizer: &mut dyn Optimizer<B>,
    x: &Tensor<B>,
    labels: &Tensor<B>,
    l2: Option<f32>,
) -> f32 {
    let mut settings = StepSettings::new(CrossEntropy);
    if let Some(lambda) = l2 {
        settings = settings.penalize(Penalty::L2(lambda), &*model);
    }
    match train_step(model, optimizer, x, labels, &settings) {
        Ok(step) => step.loss,
        Err(_) => f32::NAN,
    }
}

/// `neurite_train::evaluate` on `data` (evaluation mode, no graph): (mean cross-entropy,
/// accuracy). Leaves the model in training mode.
pub(crate) fn evaluate<B: Backend>(
    model: &mut dyn Module<B>,
    data: &Dataset,
    preprocessing: Preprocessing,
) -> (f32, f32) {
    let e = neurite_train::evaluate(model, data, preprocessing, &CrossEntropy)
        .expect("an experiment's network fits its digits, which are in memory");
    model.set_training(true);
    (e.loss as f32, e.accuracy.unwrap_or_default() as f32)
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
        say_raw!("{}", self.render());
    }

    /// Writes the table as CSV, atomically.
    ///
    /// # Errors
    /// If the file cannot be written.
    pub fn write_csv(&self, path: &Path) -> Result<(), ExperimentError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.header).map_err(|e| output(path, e))?;
        for row in &self.rows {
            writer.write_record(row).map_err(|e| output(path, e))?;
        }
        let bytes = writer.into_inner().map_err(|e| output(path, e.error()))?;
        neurite_core::fs::write_atomic(path, &bytes).map_err(|e| output(path, e))
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
    pub fn start<B: Backend>(name: &'static str, options: &'a ExperimentOptions) -> Result<Self, ExperimentError> {
        std::fs::create_dir_all(&options.out).map_err(|e| {
            ExperimentError::Output(format!("creating the output folder {}: {e}", options.out.display()))
        })?;
        let form = if options.quick { "quick" } else { "full" };
        say!("experiment {name} ({form}) — backend {}, seed {}", B::name(), options.seed);
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
    pub fn finish(
        &self,
        csv: &Table,
        panels: &[Panel],
        columns: usize,
        size: (u32, u32),
    ) -> Result<(), ExperimentError> {
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
        say!(
            "wrote {} and {} in {:.1} s",
            self.csv_path().display(),
            self.png_path().display(),
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// An output file that could not be written.
pub(crate) fn output(path: &Path, e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::Output(format!("writing {}: {e}", path.display()))
}

/// Prints the data sets in use.
pub(crate) fn describe(train: &Dataset, digits: &Digits) {
    say!("training on {} embedded digits; testing on {}", train.len(), digits.test_source);
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
