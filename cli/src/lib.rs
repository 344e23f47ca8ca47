//! The library behind the `neurite` command: everything worth testing lives here, and
//! `main.rs` only parses flags and turns errors into exit codes.
//!
//! [`run`] dispatches a parsed [`args::Cli`] to the commands: `train` (`train.rs`), `eval`,
//! `predict`, `export`, `info` and `augment` (`commands.rs`), `experiment` (the
//! `neurite-experiments` crate) and `xor` (`xor.rs`). Training, evaluation, data sets and plots
//! are library code (`neurite-train`, `neurite-data`); this crate turns flags and recipes into
//! calls and results into text.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// `println!` that ignores a closed standard output: a reader that has gone (`| head -1`) must
/// not cut a run short, so the run goes on and writes its files (errors still go to stderr).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if !$crate::silenced() {
            let _ = writeln!(std::io::stdout(), $($arg)*);
        }
    }};
}

/// Whether this process prints nothing: the ranks of a distributed run other than the one that
/// reports (rank 0, or the first rank that failed to start).
static SILENCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether output is silenced (see [`silence`]).
pub fn silenced() -> bool {
    SILENCED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Silences (`true`) or restores (`false`) this process's output and error line.
pub fn silence(on: bool) {
    SILENCED.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub mod args;
pub mod backend;
pub mod commands;
pub mod distributed;
pub mod error;
pub mod graph;
pub mod import;
pub mod recipe;
pub mod report;
pub mod train;
pub mod xor;

use args::{Cli, Command, ExperimentArgs, XorArgs};
use backend::BackendKind;
use error::{UsageExt, usage};

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command reports; [`error::exit_code`] tells the exit code.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => commands::eval(&args),
        Command::Predict(args) => commands::predict(&args),
        Command::Export(args) => commands::export(&args),
        Command::Info(args) => commands::info(&args),
        Command::Import(args) => import::run(&args),
        Command::Augment(args) => commands::augment(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Experiment(args) => run_experiment(&args),
        Command::Xor(args) => run_xor(&args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "neurite", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// The most worker threads a command starts (far more than any CPU this runs on has cores).
pub const MAX_THREADS: usize = 256;

/// Sizes rayon's global pool (once per process; absent = one thread per core).
///
/// # Errors
/// A usage error for 0 threads or more than [`MAX_THREADS`]; another if the pool was already
/// built.
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    match threads {
        Some(0) => Err(usage("--threads must be at least 1")),
        Some(n) if n > MAX_THREADS => Err(usage(format!("--threads {n}: at most {MAX_THREADS} are supported"))),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads {n}: {e}")),
        None => Ok(()),
    }
}

/// The memory budget of this command: `NEURITE_MEMORY_BUDGET`, else 4 GiB.
///
/// # Errors
/// A usage error if the variable is set but is not a size.
pub fn budget() -> anyhow::Result<neurite_nn::Budget> {
    neurite_nn::Budget::from_env().map_err(usage)
}

fn run_experiment(args: &ExperimentArgs) -> anyhow::Result<()> {
    if args.name == "list" {
        for e in neurite_experiments::list() {
            println!("{:<24} {}", e.name, e.summary);
        }
        return Ok(());
    }
    let backend = args.backend.unwrap_or_else(BackendKind::default_kind).check_compiled_in().usage()?;
    let options = neurite_experiments::ExperimentOptions {
        out: args.out.clone().unwrap_or_else(|| "runs/experiments".into()),
        quick: args.quick,
        seed: args.seed,
        test_data: args.test_data.clone(),
    };
    let result = dispatch!(backend, experiment_on::<_>(&args.name, &options));
    result.map_err(|e| if e.is_usage() { usage(e.to_string()) } else { anyhow::Error::new(e) })
}

fn experiment_on<B: neurite_core::Backend>(
    name: &str,
    options: &neurite_experiments::ExperimentOptions,
) -> Result<(), neurite_experiments::ExperimentError> {
    neurite_experiments::run::<B>(name, options)
}

fn xor_on<B: neurite_core::Backend>(config: &xor::XorConfig) -> Result<usize, String> {
    xor::run::<B>(config)
}

fn run_xor(args: &XorArgs) -> anyhow::Result<()> {
    if args.hidden == 0 || !args.lr.is_finite() || args.lr <= 0.0 {
        return Err(usage("--hidden must be at least 1 and --lr a positive number"));
    }
    let config = xor::XorConfig { hidden: args.hidden, steps: args.steps, lr: args.lr, seed: args.seed };
    let correct = dispatch!(BackendKind::default_kind(), xor_on::<_>(&config)).map_err(anyhow::Error::msg)?;
    if correct == 4 { Ok(()) } else { Err(anyhow::anyhow!("xor: {correct} of 4 inputs classified correctly")) }
}
