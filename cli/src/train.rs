//! `neurite train`: resolve the recipe (defaults, then a resumed checkpoint's recipe, then the
//! recipe file, then flags), read and split the data, build the network and a
//! `neurite_train::Learner` from it, and show the run: a progress bar per epoch and a table row
//! per epoch, drawn from the learner's events. The learner writes `model.ckpt`, `metrics.csv`,
//! `timing.csv` and `curves.png` after every epoch; this file adds `recipe.toml`. Everything but
//! `timing.csv` (wall times) and `curves.png` is the same bytes for the same recipe, at any
//! thread count, and `--resume` continues bit-exactly.
//!
//! Everything the user can get wrong is checked in [`plan`], before the output folder is touched;
//! a folder holding another run's checkpoint is refused, so a run only ever replaces the
//! checkpoint it continues.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use neurite_augment::{ImageSize, Pipeline, Transform};
use neurite_core::{Backend, Tensor};
use neurite_data::{LabelledData, LoadOptions};
use neurite_nn::data::{Dataset, Layout, Preprocessing};
use neurite_nn::models::{CnnConfig, MlpConfig};
use neurite_nn::regularization::Penalty;
use neurite_nn::{Activation, Checkpoint, Footprint, Init, Module, Sequential};
use neurite_optim::{
    AdaGradConfig, AdamConfig, AdamWConfig, GradClip, MomentumConfig, Optimizer, RmsPropConfig, ScheduleSpec, SgdConfig,
};
use neurite_train::distributed::{Communicator, DEFAULT_SHARDS, DataParallel, SingleProcess};
use neurite_train::histograms::Recorder;
use neurite_train::{
    BEST_FILE, CHECKPOINT_FILE, CURVES_FILE, EVAL_BATCH, EarlyStopping, Learner, METRICS_FILE, Monitor, OutputDir,
    TIMING_FILE, TrainError, TrainState, evaluate,
};

use crate::args::TrainArgs;
use crate::dispatch;
use crate::error::{UsageExt, usage};
use crate::recipe::{ActivationKind, BatchSize, InitChoice, ModelKind, MonitorKind, OptimizerKind, Recipe};
use crate::report::EpochView;

/// Metadata key of a checkpoint: the run's resolved recipe, as TOML.
pub const RECIPE_KEY: &str = "recipe";
/// The resolved recipe, beside the learner's files.
pub const RECIPE_FILE: &str = "recipe.toml";
/// The layers' distributions by epoch, with `--histograms`.
pub const HISTOGRAMS_FILE: &str = "histograms.png";
/// Their numbers.
pub const HISTOGRAMS_CSV: &str = "histograms.csv";
/// What a run writes beside the learner's files.
const RUN_FILES: &[&str] = &[RECIPE_FILE, HISTOGRAMS_FILE, HISTOGRAMS_CSV];
/// Samples of the probe batch of `--histograms`.
const HISTOGRAM_PROBE: usize = 500;

/// Everything a run needs, checked: settings, data, output folder, and the checkpoint to resume.
pub struct Plan {
    /// The resolved, validated settings.
    pub recipe: Recipe,
    /// Where the training data came from.
    pub data_origin: String,
    /// Training samples.
    pub train: Dataset,
    /// Validation samples (none with `val-split = 0`).
    pub validation: Option<Dataset>,
    /// Test data, evaluated after training.
    pub test: Option<LabelledData>,
    /// Class names, one per output.
    pub class_names: Vec<String>,
    /// The size of one input image.
    pub input: ImageSize,
    /// The augmentation pipeline (none when `augment` is empty).
    pub pipeline: Option<Pipeline>,
    /// The output folder, claimed for this run (by rank 0 alone in a distributed run: `None` on
    /// the other ranks).
    pub out: Option<OutputDir>,
    /// The checkpoint to continue from, with its path as given.
    pub resume: Option<(String, Checkpoint, TrainState)>,
    /// The network to build, checked against the input and the memory budget.
    pub network: Network,
    /// How pixels become inputs: scaled to [0, 1], and for colour images standardised per
    /// channel with the training set's statistics.
    pub preprocessing: Preprocessing,
}

/// Runs `neurite train`.
///
/// # Errors
/// A usage error for anything wrong in the settings or data; another error if the run
/// diverges or its outputs cannot be written.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let ranks = crate::distributed::launch(args.distributed)?;
    let Some(comm) = ranks else {
        let plan = plan(args, true)?;
        let kind = plan.recipe.backend.check_compiled_in().usage()?;
        crate::set_threads(plan.recipe.threads)?;
        return dispatch!(kind, train::<_>(plan, None));
    };
    // Rank 0 reports; the others print nothing unless they alone fail to start.
    let comm: Rc<dyn Communicator> = Rc::from(comm);
    let rank = comm.rank();
    crate::silence(rank != 0);
    let result = (|| {
        // A number of shards the ranks cannot share is refused by the learner, on every rank alike.
        let planned = plan(args, rank == 0);
        let plan = crate::distributed::agree(comm.as_ref(), planned)?;
        let kind = plan.recipe.backend.check_compiled_in().usage()?;
        crate::set_threads(plan.recipe.threads.or_else(neurite_train::distributed::threads_per_rank))?;
        dispatch!(kind, train::<_>(plan, Some(Box::new(Rc::clone(&comm)))))
    })();
    // The rank that reports prints its error before any rank exits: `mpirun` ends the job as
    // soon as one process exits with an error, and would cut the line short.
    if let Err(err) = &result {
        if !crate::silenced() {
            eprintln!("error: {}", crate::error::render(err));
        }
        crate::silence(true);
    }
    comm.barrier();
    result
}

/// Resolves the settings and checks them, the data and the output folder (which is claimed only
/// if `writer`: every rank of a distributed run plans, rank 0 alone writes).
///
/// # Errors
/// A usage error naming the first problem.
pub fn plan(args: &TrainArgs, writer: bool) -> anyhow::Result<Plan> {
    let resume_path = match (&args.resume, &args.recipe) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => Recipe::load(file).usage()?.resume,
        (None, None) => None,
    };
    let (mut recipe, resume) = match &resume_path {
        Some(path) => {
            let origin = path.display().to_string();
            let checkpoint = Checkpoint::load(path).usage()?;
            let text = checkpoint.metadata(RECIPE_KEY).ok_or_else(|| {
                usage(format!("{origin}: not a checkpoint of `neurite train` (metadata `{RECIPE_KEY}` is missing)"))
            })?;
            let recipe = Recipe::parse(text).map_err(|e| usage(format!("{origin}: recorded recipe: {e}")))?;
            let state = TrainState::read_from(&checkpoint, &origin).map_err(usage)?;
            (recipe, Some((origin, checkpoint, state)))
        }
        None => (Recipe::default(), None),
    };
    if let Some(file) = &args.recipe {
        recipe = Recipe::load_over(&recipe, file).usage()?;
    }
    args.apply(&mut recipe)?;
    recipe.resume = resume_path;
    recipe.validate().usage()?;
    if let Some((origin, _, state)) = &resume {
        if state.epoch >= recipe.epochs {
            return Err(usage(format!(
                "{origin} has already trained {} epochs; pass --epochs N with N > {} to continue",
                state.epoch, state.epoch
            )));
        }
    }

    // Nothing the run reads may be a file it writes (the checkpoint it continues aside).
    if let Some(dir) = out_folder(&recipe) {
        let inputs = [
            ("--recipe", args.recipe.as_ref()),
            ("--train-data", recipe.train_data.as_ref()),
            ("--test-data", recipe.test_data.as_ref()),
        ];
        for (flag, path) in inputs {
            if let Some(path) =
                path.filter(|p| OutputDir::would_overwrite(&dir, RUN_FILES, p, recipe.resume.as_deref()))
            {
                return Err(usage(format!(
                    "{flag} {} is a file this run writes into {}; use a copy of it",
                    path.display(),
                    dir.display()
                )));
            }
        }
    }
    let all = match &recipe.train_data {
        Some(path) => neurite_data::load(path, &LoadOptions::training(28, 28, recipe.grey)).usage()?,
        None => neurite_data::embedded()?,
    };
    let input = ImageSize::new(all.dataset.channels(), all.dataset.rows(), all.dataset.cols());
    let classes = all.class_names.len();
    let n = all.dataset.len();
    let held_out =
        if recipe.val_split > 0.0 { ((n as f64 * recipe.val_split as f64).round() as usize).max(1) } else { 0 };
    if held_out >= n {
        return Err(usage(format!(
            "{}: {n} samples leave none for training after a validation split of {}",
            all.origin, recipe.val_split
        )));
    }
    let (train, validation) = all.dataset.split(held_out, recipe.seed).usage()?;
    let validation = (held_out > 0).then_some(validation);
    let preprocessing = match input.channels {
        1 => Preprocessing::unit(Layout::Nchw),
        _ => Preprocessing::standardized_for(&train, Layout::Nchw),
    };
    let test = match &recipe.test_data {
        Some(path) => {
            let test = neurite_data::load(path, &LoadOptions::for_model(input, &all.class_names)).usage()?;
            neurite_data::check_fits(&test, input, classes).usage()?;
            Some(test)
        }
        None => None,
    };
    let pipeline = if recipe.augment.trim().is_empty() {
        None
    } else {
        let pipeline = neurite_augment::spec::parse_pipeline(&recipe.augment).usage()?;
        let after = pipeline.output_size(input);
        if after != input {
            return Err(usage(format!(
                "--augment `{}` turns {}×{} images into {}×{}; training images must keep their size",
                recipe.augment, input.width, input.height, after.width, after.height
            )));
        }
        Some(pipeline)
    };
    let network = Network::of(&recipe, input, classes)?;
    let batch = match recipe.batch_size {
        BatchSize::Full => train.len(),
        BatchSize::Samples(k) => k.min(train.len()),
    };
    let largest_eval = validation.as_ref().map_or(0, Dataset::len).max(test.as_ref().map_or(0, |t| t.dataset.len()));
    check_footprint(&network, &recipe, input, batch, EVAL_BATCH.min(largest_eval.max(1)))?;
    // Recorded paths are absolute, so that the written recipe works from any folder.
    for path in [&mut recipe.train_data, &mut recipe.test_data].into_iter().flatten() {
        if let Ok(absolute) = std::fs::canonicalize(&*path) {
            *path = absolute;
        }
    }
    let out = match (&recipe.out, &recipe.resume) {
        _ if !writer => None,
        (Some(out), _) => Some(OutputDir::claim(out, recipe.resume.as_deref(), RUN_FILES)),
        (None, Some(ckpt)) => {
            let folder = ckpt.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            Some(OutputDir::claim(folder, Some(ckpt), RUN_FILES))
        }
        (None, None) => {
            Some(OutputDir::claim_new(Path::new("runs"), &utc_stamp(std::time::SystemTime::now()), RUN_FILES))
        }
    }
    .transpose()
    .map_err(cli_error)?;
    Ok(Plan {
        data_origin: all.origin,
        class_names: all.class_names,
        recipe,
        train,
        validation,
        test,
        input,
        pipeline,
        out,
        resume,
        network,
        preprocessing,
    })
}

/// The output folder the recipe names: `--out`, else the folder of the checkpoint it resumes;
/// `None` for a new folder under `runs/`.
fn out_folder(recipe: &Recipe) -> Option<PathBuf> {
    match (&recipe.out, &recipe.resume) {
        (Some(out), _) => Some(out.clone()),
        (None, Some(ckpt)) => {
            Some(ckpt.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf())
        }
        (None, None) => None,
    }
}

/// `YYYYMMDD-HHMMSS` in UTC.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

fn optimizer<B: Backend>(recipe: &Recipe) -> anyhow::Result<Box<dyn Optimizer<B>>> {
    let Recipe { lr, momentum, beta1, beta2, .. } = *recipe;
    let wd = recipe.weight_decay;
    let decay = wd.unwrap_or(0.0);
    Ok(match recipe.optimizer {
        OptimizerKind::Sgd => Box::new(SgdConfig { lr, weight_decay: decay }.init().usage()?),
        OptimizerKind::Momentum | OptimizerKind::Nesterov => {
            let nesterov = recipe.optimizer == OptimizerKind::Nesterov;
            Box::new(MomentumConfig { lr, momentum, nesterov, weight_decay: decay }.init().usage()?)
        }
        OptimizerKind::Adagrad => {
            Box::new(AdaGradConfig { lr, weight_decay: decay, ..AdaGradConfig::default() }.init().usage()?)
        }
        OptimizerKind::Rmsprop => {
            Box::new(RmsPropConfig { lr, weight_decay: decay, ..RmsPropConfig::default() }.init().usage()?)
        }
        OptimizerKind::Adam => {
            Box::new(AdamConfig { lr, beta1, beta2, weight_decay: decay, ..AdamConfig::default() }.init().usage()?)
        }
        OptimizerKind::Adamw => {
            let weight_decay = wd.unwrap_or(AdamWConfig::default().weight_decay);
            Box::new(AdamWConfig { lr, beta1, beta2, weight_decay, ..AdamWConfig::default() }.init().usage()?)
        }
    })
}

/// The network a recipe asks for: the MLP or the CNN of `neurite_nn::models`.
pub enum Network {
    /// `--model mlp`.
    Mlp(MlpConfig),
    /// `--model cnn`.
    Cnn(CnnConfig),
}

impl Network {
    /// The recipe's network for `input` images and `classes` outputs.
    ///
    /// # Errors
    /// A usage error for an unknown activation or init, or a CNN that cannot be built.
    pub fn of(recipe: &Recipe, input: ImageSize, classes: usize) -> anyhow::Result<Network> {
        let init = match recipe.init {
            InitChoice::He => Init::He,
            InitChoice::Xavier => Init::Xavier,
            InitChoice::Zeros => Init::Zeros,
            InitChoice::Normal(std) => Init::Normal { std },
        };
        let activation = match recipe.activation {
            ActivationKind::Relu => Activation::Relu,
            ActivationKind::Sigmoid => Activation::Sigmoid,
            ActivationKind::Tanh => Activation::Tanh,
            ActivationKind::LeakyRelu => Activation::LeakyRelu(0.01),
        };
        Ok(match recipe.model {
            ModelKind::Mlp => Network::Mlp(MlpConfig {
                inputs: input.len(),
                hidden: recipe.hidden.clone(),
                classes,
                activation,
                init,
                batch_norm: recipe.batch_norm,
                dropout: recipe.dropout,
                input_dropout: recipe.input_dropout,
                output: None,
            }),
            ModelKind::Cnn => {
                let cnn = CnnConfig::new([input.channels, input.height, input.width], classes)
                    .with_filters(&recipe.filters, recipe.convs, recipe.kernel)
                    .with_dense(&recipe.dense)
                    .with_activation(activation)
                    .with_init(init)
                    .with_batch_norm(recipe.batch_norm)
                    .with_dropout(recipe.dropout);
                cnn.check().map_err(|e| usage(format!("--model cnn: {e}")))?;
                Network::Cnn(cnn)
            }
        })
    }

    /// Its layers, as data.
    pub fn architecture(&self) -> Vec<neurite_nn::LayerSpec> {
        match self {
            Network::Mlp(c) => c.architecture(),
            Network::Cnn(c) => c.architecture(),
        }
    }

    /// Builds it, its parameters drawn from `seed`.
    ///
    /// # Errors
    /// A usage error for a CNN on images smaller than 4×4.
    pub fn init<B: Backend>(&self, seed: u64) -> anyhow::Result<Sequential<B>> {
        match self {
            Network::Mlp(c) => Ok(c.init::<B>(seed)),
            Network::Cnn(c) => c.init::<B>(seed).map_err(|e| usage(format!("--model cnn: {e}"))),
        }
    }
}

/// Checks, before anything is allocated, that the network fits its input and that training on
/// batches of `batch` and evaluating on batches of up to `eval` fit the memory budget.
fn check_footprint(
    network: &Network,
    recipe: &Recipe,
    input: ImageSize,
    batch: usize,
    eval: usize,
) -> anyhow::Result<()> {
    let dims = [1, input.channels, input.height, input.width];
    let footprint =
        Footprint::of(&network.architecture(), &dims).map_err(|e| usage(format!("--model {}: {e}", recipe.model)))?;
    let budget = crate::budget()?;
    budget
        .check(format!("training the {} on batches of {batch}", recipe.model), footprint.training_bytes(batch))
        .usage()?;
    budget.check(format!("evaluating it on batches of {eval}"), footprint.inference_bytes(eval)).usage()?;
    Ok(())
}

/// A training error as the CLI reports it: settings and checkpoints that do not fit exit with 2.
fn cli_error(err: TrainError) -> anyhow::Error {
    match err {
        TrainError::Invalid(_) | TrainError::Checkpoint(_) => usage(err.to_string()),
        TrainError::Diverged(d) => anyhow::anyhow!("{d} (try a smaller --lr)"),
        TrainError::Write { .. } => anyhow::Error::new(err),
    }
}

/// Trains as `plan` says, on backend `B`.
///
/// # Errors
/// A usage error if a resumed checkpoint does not fit the network; another error if the run
/// diverges or an output cannot be written.
pub fn train<B: Backend>(mut plan: Plan, ranks: Option<Box<dyn Communicator>>) -> anyhow::Result<()> {
    let augment = plan.pipeline.as_ref().map(|_| format!(", augment {}", plan.recipe.augment));
    let recipe = &plan.recipe;
    let model = plan.network.init::<B>(recipe.seed)?;
    let params = model.num_params();
    let mut learner = Learner::new(model, optimizer::<B>(recipe)?)
        .batch_size(recipe.batch_size)
        .epochs(recipe.epochs)
        .seed(recipe.seed)
        .preprocessing(plan.preprocessing)
        .class_names(plan.class_names.clone())
        .metadata(RECIPE_KEY, recipe.for_output())
        .output_file(RECIPE_FILE, recipe.for_output())
        .title(format!("{}, {} lr {}", recipe.model, recipe.optimizer, recipe.lr));
    if let Some(out) = &plan.out {
        learner = learner.output_dir(out.path());
    }
    let sharding = match (ranks, recipe.shards) {
        (Some(comm), shards) => Some((comm, shards.unwrap_or(DEFAULT_SHARDS))),
        (None, Some(shards)) => Some((Box::new(SingleProcess) as Box<dyn Communicator>, shards)),
        (None, None) => None,
    };
    let shards_line = sharding
        .as_ref()
        .map(|(comm, shards)| format!("data-parallel: {} process(es), {shards} shards per batch", comm.size()));
    if let Some((comm, shards)) = sharding {
        learner = learner.data_parallel(DataParallel::new(comm, shards));
    }
    let l1 = if recipe.l1_proximal { Penalty::L1Proximal(recipe.l1) } else { Penalty::L1(recipe.l1) };
    for penalty in [l1, Penalty::L2(recipe.l2)] {
        learner = learner.penalty(penalty);
    }
    if recipe.schedule != ScheduleSpec::Constant || recipe.warmup > 0 {
        learner = learner.schedule(recipe.schedule.build(recipe.lr, recipe.epochs, recipe.warmup).usage()?);
    }
    if let Some(max) = recipe.clip_norm {
        learner = learner.clip(GradClip::by_norm(max).usage()?);
    }
    if let Some(max) = recipe.clip_value {
        learner = learner.clip(GradClip::by_value(max).usage()?);
    }
    let monitor = match recipe.monitor {
        MonitorKind::ValLoss => Monitor::ValLoss,
        MonitorKind::ValAcc => Monitor::ValAccuracy,
    };
    if let Some(patience) = recipe.early_stopping {
        learner = learner.early_stopping(EarlyStopping::new(monitor, patience));
    }
    if recipe.keep_best {
        learner = learner.keep_best(monitor);
    }
    if let Some(pipeline) = plan.pipeline.take() {
        learner = learner.augment(pipeline);
    }
    if let Some((origin, checkpoint, _)) = &plan.resume {
        learner = learner.resume(checkpoint, origin).map_err(cli_error)?;
    }
    if recipe.histograms {
        let probe = plan.validation.as_ref().unwrap_or(&plan.train);
        let probe = probe.range(0..probe.len().min(HISTOGRAM_PROBE)).map_err(|e| usage(e.to_string()))?;
        let (x, labels) = probe.to_tensors::<B>(&plan.preprocessing);
        let targets = Tensor::<B>::from_vec(labels.iter().map(|&l| l as f32).collect(), [labels.len()]);
        let mut recorder = Recorder::new(x, targets.one_hot(plan.class_names.len()));
        let epoch = learner.epoch();
        recorder.record(learner.model_mut(), epoch);
        let title = recipe.model.to_string();
        learner = learner.after_epoch(move |model, epoch, dir| {
            recorder.record(model, epoch);
            let Some(dir) = dir else { return Ok(()) };
            let failed = |path: &Path, e: &dyn std::fmt::Display| TrainError::Write {
                path: path.display().to_string(),
                message: e.to_string(),
            };
            let png = dir.join(HISTOGRAMS_FILE);
            recorder.save(&png, &title).map_err(|e| failed(&png, &e))?;
            let csv = dir.join(HISTOGRAMS_CSV);
            neurite_core::fs::write_atomic(&csv, recorder.to_csv().as_bytes()).map_err(|e| failed(&csv, &e))
        });
    }

    say!("backend: {} ({} threads)", B::name(), rayon::current_num_threads());
    if let Some(line) = shards_line {
        say!("{line}");
    }
    let held_out = plan.validation.as_ref().map_or(0, Dataset::len);
    say!("data: {} training and {held_out} validation samples from {}", plan.train.len(), plan.data_origin);
    say!(
        "model: {}, {params} parameters; {} with lr {}, batch size {}, {} epochs{}",
        recipe.model,
        recipe.optimizer,
        recipe.lr,
        recipe.batch_size,
        recipe.epochs,
        augment.unwrap_or_default()
    );
    let shown = plan.out.as_ref().map_or(String::new(), |o| o.path().display().to_string());
    match &plan.resume {
        Some((origin, ..)) => say!("resuming {origin} after epoch {}; writing to {shown}", learner.epoch()),
        None => say!("writing to {shown}"),
    }
    say!();
    let mut view = EpochView::new(recipe.quiet, learner.history());
    let fitted = learner.fit(&plan.train, plan.validation.as_ref(), &mut view);
    view.clear();
    let report = fitted.map_err(cli_error)?;
    if report.stopped_early {
        let best = report.best_epoch.map(|e| format!(" (best: epoch {e})")).unwrap_or_default();
        let patience = recipe.early_stopping.unwrap_or(0);
        say!(
            "early stopping: {} did not improve for {patience} epochs; stopped after epoch {}{best}",
            recipe.monitor,
            report.epochs
        );
    }

    if let Some(p) = learner.parallel() {
        let t = p.traffic();
        let total: f64 = learner.history().iter().filter_map(|m| m.seconds).sum();
        say!(
            "communication: {:.2} s of {total:.2} s, {:.0} KiB sent per step by each process",
            t.time.as_secs_f64(),
            t.bytes as f64 / t.steps.max(1) as f64 / 1024.0
        );
    }
    say!();
    let mut model = learner.into_model();
    if let Some(test) = &plan.test {
        let e = evaluate(&mut model, &test.dataset, plan.preprocessing, Default::default());
        say!("test accuracy: {:.4} (loss {:.4}, {} samples of {})", e.accuracy, e.loss, e.samples, test.origin);
    }
    let best = if recipe.keep_best { format!(", {BEST_FILE}") } else { String::new() };
    let histograms = if recipe.histograms { format!(", {HISTOGRAMS_FILE}, {HISTOGRAMS_CSV}") } else { String::new() };
    say!(
        "wrote {CHECKPOINT_FILE}{best}, {METRICS_FILE}, {TIMING_FILE}{histograms}, {RECIPE_FILE} and {CURVES_FILE} to {}",
        shown
    );
    match view.last_val_acc() {
        Some(acc) => say!("validation accuracy: {acc:.4}"),
        None => say!("validation accuracy: none (no validation split)"),
    }
    if let Some(out) = plan.out {
        out.finish();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_dates() {
        let t = |s: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s);
        assert_eq!(utc_stamp(t(0)), "19700101-000000");
        // 2024-02-29 12:34:56 UTC
        assert_eq!(utc_stamp(t(1_709_210_096)), "20240229-123456");
    }
}
