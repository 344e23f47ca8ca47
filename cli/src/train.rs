//! `neurite train`: the settings resolved (defaults, then a resumed checkpoint's, then the recipe
//! file, then flags) into a `neurite_train::TrainConfig`, which reads the data, builds the
//! network and the learner and claims the output folder; this file shows the run: a header, the
//! `Progress` callback's bar and table, and what was written.

use std::rc::Rc;

use neurite_core::Backend;
use neurite_nn::Module;
use neurite_train::distributed::Communicator;
use neurite_train::{
    BEST_FILE, CHECKPOINT_FILE, CURVES_FILE, HISTOGRAMS_CSV, HISTOGRAMS_FILE, METRICS_FILE, RECIPE_FILE, Resumed,
    TIMING_FILE, TrainConfig, TrainError,
};

use crate::args::TrainArgs;
use crate::backend::BackendKind;
use crate::backend::dispatch;
use crate::error::{UsageExt, usage};

/// Runs `neurite train`.
///
/// # Errors
/// A usage error for anything wrong in the settings or data; another error if the run
/// diverges or its outputs cannot be written.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let ranks = crate::distributed::launch(args.distributed)?;
    let Some(comm) = ranks else {
        let (config, resumed, kind) = resolve(args)?;
        return dispatch!(kind, train::<_>(config, resumed, None));
    };
    // Rank 0 reports; the others print nothing unless they alone fail to start.
    let comm: Rc<dyn Communicator> = Rc::from(comm);
    crate::silence(comm.rank() != 0);
    let result = (|| {
        let (config, resumed, kind) = crate::distributed::agree(comm.as_ref(), resolve(args))?;
        dispatch!(kind, train::<_>(config, resumed, Some(Box::new(Rc::clone(&comm)))))
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

/// The run's settings, the checkpoint it continues (read once) and its backend.
type Resolved = (TrainConfig, Option<Resumed>, BackendKind);

/// The settings laid as `TrainConfig::layered` lays them (recipe file and flags over the defaults
/// or a resumed checkpoint's settings), and the backend: `--backend`, else the settings', else
/// the default.
///
/// # Errors
/// A usage error naming the first problem.
fn resolve(args: &TrainArgs) -> anyhow::Result<Resolved> {
    let (mut config, resumed) =
        TrainConfig::layered(args.recipe.as_deref(), |c| args.settings.apply(c)).map_err(cli_error)?;
    let kind = match (args.backend, config.backend.as_deref()) {
        (Some(kind), _) => kind,
        (None, Some(name)) => <BackendKind as clap::ValueEnum>::from_str(name, false)
            .map_err(|_| usage(format!("backend `{name}`: choose one of {}", BackendKind::available().join(", "))))?,
        (None, None) => BackendKind::default_kind(),
    };
    let kind = kind.check_compiled_in().usage()?;
    config.backend = Some(kind.name().to_string());
    Ok((config, resumed, kind))
}

/// A training error as the CLI reports it: settings, data and checkpoints that do not fit exit
/// with 2.
fn cli_error(err: TrainError) -> anyhow::Error {
    match err {
        TrainError::Invalid(_) | TrainError::Checkpoint(_) | TrainError::Data(_) => usage(err.to_string()),
        TrainError::Diverged(d) => anyhow::anyhow!("{d} (try a smaller --lr)"),
        TrainError::Write { .. } => anyhow::Error::new(err),
    }
}

/// Trains as `config` says, on backend `B`, showing the run.
///
/// # Errors
/// A usage error if the settings, data or checkpoint do not work; another error if the run
/// diverges or an output cannot be written.
pub fn train<B: Backend>(
    config: TrainConfig,
    resumed: Option<Resumed>,
    ranks: Option<Box<dyn Communicator>>,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut run = config.init_with::<B>(resumed, ranks).map_err(cli_error)?;
    let ready = started.elapsed().as_secs_f64();
    let c = &run.config;
    say!("backend: {} ({} threads)", B::name(), rayon::current_num_threads());
    if let Some(p) = run.learner.parallel() {
        say!("data-parallel: {} process(es), {} shards per batch", p.size(), p.shards());
    }
    let held_out = run.data.validation.as_ref().map_or(0, |v| v.len());
    say!(
        "data: {} training and {held_out} validation samples from {} (read in {ready:.1} s)",
        run.data.train.len(),
        run.data.origin
    );
    let d = &run.data;
    let colour = if d.input.channels == 1 { "grey".to_string() } else { format!("{} channels", d.input.channels) };
    let fitted = d.fit.map_or(String::new(), |f| format!(", other sizes brought to it by {f}"));
    let streamed = if d.train.streams() { ", read from disk as batches need them" } else { "" };
    say!(
        "images: {}×{} (height × width), {colour}{fitted}; {} classes; {} worker(s) prepare batches{streamed}",
        d.input.height,
        d.input.width,
        d.class_names.len(),
        c.data.workers
    );
    for note in &d.notes {
        say!("note: {note}");
    }
    let augment = if c.augment.trim().is_empty() { String::new() } else { format!(", augment {}", c.augment) };
    say!(
        "model: {}, {} parameters; {} with lr {}, batch size {}, {} epochs{augment}",
        c.model.name(),
        run.learner.model().num_params(),
        c.optimizer.kind,
        c.optimizer.lr,
        c.batch_size,
        c.epochs,
    );
    let shown = run.output_dir().map_or(String::new(), |o| o.display().to_string());
    match run.resumed_from() {
        Some(origin) => say!("resuming {origin} after epoch {}; writing to {shown}", run.learner.epoch()),
        None => say!("writing to {shown}"),
    }
    say!();
    let mut progress = run.config.progress();
    let fitted = run.fit(&mut progress);
    progress.clear();
    let report = fitted.map_err(cli_error)?;
    if let Some(reason) = &report.fit.stopped {
        say!("{reason}");
    }
    let (waited, trained) = (report.fit.data_wait.as_secs_f64(), report.fit.train_time.as_secs_f64());
    if trained > 0.0 {
        say!(
            "input pipeline: the step waited {waited:.2} s for data, {:.1} % of {trained:.2} s of training",
            100.0 * waited / trained
        );
    }
    if let Some(p) = run.learner.parallel() {
        let t = p.traffic();
        let total: f64 = run.learner.history().iter().filter_map(|m| m.seconds).sum();
        say!(
            "communication: {:.2} s of {total:.2} s, {:.0} KiB sent per step by each process",
            t.time.as_secs_f64(),
            t.bytes as f64 / t.steps.max(1) as f64 / 1024.0
        );
    }
    say!();
    if let (Some(e), Some(test)) = (&report.test, &run.data.test) {
        let accuracy = e.accuracy.unwrap_or_default();
        say!("test accuracy: {accuracy:.4} (loss {:.4}, {} samples of {})", e.loss, e.samples, test.origin);
        if let Some(line) = crate::commands::metrics_line(&e.metrics) {
            say!("test {line}");
        }
    }
    let c = &run.config;
    let best = if c.keep_best { format!(", {BEST_FILE}") } else { String::new() };
    let histograms = if c.histograms { format!(", {HISTOGRAMS_FILE}, {HISTOGRAMS_CSV}") } else { String::new() };
    say!(
        "wrote {CHECKPOINT_FILE}{best}, {METRICS_FILE}, {TIMING_FILE}{histograms}, {RECIPE_FILE} and {CURVES_FILE} to {shown}"
    );
    match run.learner.history().last().and_then(|m| m.val_acc) {
        Some(acc) => say!("validation accuracy: {acc:.4}"),
        None => say!("validation accuracy: none (no validation split)"),
    }
    Ok(())
}
