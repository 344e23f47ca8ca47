//! The library behind the `neurite` command: everything worth testing lives here, and
//! `main.rs` only parses flags and turns errors into exit codes.
//!
//! [`run`] dispatches a parsed [`args::Cli`] to the commands: `train` (`train.rs`), `eval`,
//! `predict`, `export`, `info` and `augment` (`commands.rs`), `experiment` (`experiment/`) and
//! `xor` (`xor.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod backend;
pub mod commands;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod experiment;
pub mod fsutil;
pub mod model;
pub mod plot;
pub mod recipe;
pub mod report;
pub mod train;
pub mod trainstate;
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
        Command::Augment(args) => commands::augment(&args),
        Command::Experiment(args) => run_experiment(&args),
        Command::Xor(args) => run_xor(&args),
    }
}

/// Sizes rayon's global pool (once per process; absent = one thread per core).
///
/// # Errors
/// A usage error for 0 threads; another if the pool was already built.
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    match threads {
        Some(0) => Err(usage("--threads must be at least 1")),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| anyhow::anyhow!("--threads {n}: {e}")),
        None => Ok(()),
    }
}

fn run_experiment(args: &ExperimentArgs) -> anyhow::Result<()> {
    if args.name == "list" {
        for e in experiment::list() {
            println!("{:<24} {}", e.name, e.summary);
        }
        return Ok(());
    }
    let backend = match &args.backend {
        Some(name) => BackendKind::parse(name).usage()?,
        None => BackendKind::default_kind(),
    };
    let options = experiment::ExperimentOptions {
        out: args.out.clone().unwrap_or_else(|| "runs/experiments".into()),
        quick: args.quick,
        seed: args.seed,
        backend,
        test_data: args.test_data.clone(),
    };
    experiment::run(&args.name, &options)
}

fn xor_on<B: neurite_core::Backend>(config: &xor::XorConfig) -> usize {
    xor::run::<B>(config)
}

fn run_xor(args: &XorArgs) -> anyhow::Result<()> {
    if args.hidden == 0 || !args.lr.is_finite() || args.lr <= 0.0 {
        return Err(usage("--hidden must be at least 1 and --lr a positive number"));
    }
    let config = xor::XorConfig { hidden: args.hidden, steps: args.steps, lr: args.lr, seed: args.seed };
    let correct = dispatch!(BackendKind::default_kind(), xor_on::<_>(&config));
    if correct == 4 { Ok(()) } else { Err(anyhow::anyhow!("xor: {correct} of 4 inputs classified correctly")) }
}
