//! The `neurite` command, a thin shell over the libraries: [`main`] parses the flags, dispatches
//! to the commands — `train` (`train.rs`), `eval`, `predict`, `export`, `info` and `augment`
//! (`commands.rs`), `import`, `graph`, `experiment` (the `neurite-experiments` crate) and `xor`
//! (`xor.rs`) — and turns an error into one line and an exit code. Training, evaluation, data
//! sets, settings and plots are library code (`neurite-train`, `neurite-data`); this crate turns
//! flags into calls and results into text. Nothing depends on it.
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
fn silenced() -> bool {
    SILENCED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Silences (`true`) or restores (`false`) this process's output and error line.
fn silence(on: bool) {
    SILENCED.store(on, std::sync::atomic::Ordering::Relaxed);
}

mod args;
mod backend;
mod commands;
mod distributed;
mod error;
mod graph;
mod import;
mod train;
mod xor;

use std::process::ExitCode;

use args::{Cli, Command, ExperimentArgs, XorArgs, clap_error_line};
use backend::{BackendKind, dispatch};
use clap::FromArgMatches;
use clap::error::ErrorKind;
use error::{UsageExt, exit_code, render, usage};

/// Keeps the exit-code contract (0, 1 or 2, one line on stderr) even when something panics.
///
/// - `println!` panics when standard output is a pipe whose reader has gone
///   (`neurite experiment list | head -1`). Nobody is left to read, so stop quietly with exit 0,
///   as other command-line tools do.
/// - Any other panic is a bug: one line `error: internal error: …` and exit 1, from whichever
///   thread it happened on. With `RUST_BACKTRACE` set, the standard report with its backtrace is
///   printed first.
fn exit_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.starts_with("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(0);
        }
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
        }
        let place = info.location().map(|l| format!(" (at {}:{})", l.file(), l.line())).unwrap_or_default();
        let text = error::one_line(message.unwrap_or("a panic without a message"));
        eprintln!("error: internal error: {text}{place}; please report it");
        std::process::exit(1);
    }));
}

/// The `neurite` command: parses the process's arguments, runs the command, and turns an error
/// into one line on stderr and exit code 2 (bad usage or input) or 1 (anything else).
pub fn main() -> ExitCode {
    exit_on_panic();
    backend::register_layers();
    // The contract above is tested end to end by making a worker thread panic on purpose.
    if std::env::var_os("NEURITE_TEST_PANIC").is_some() {
        let worker = std::thread::spawn(|| panic!("a deliberate panic\non two lines"));
        let _ = worker.join();
    }
    let cli = match args::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        // --help and --version print and exit 0; a bare `neurite` prints the help and exits 2.
        Err(e) if !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            eprintln!("{}", clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !silenced() {
                eprintln!("error: {}", render(&err));
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command reports; [`error::exit_code`] tells the exit code.
fn run(cli: Cli) -> anyhow::Result<()> {
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
            clap_complete::generate(shell, &mut args::command(), "neurite", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// Sizes rayon's global pool (once per process; absent = one thread per core).
///
/// # Errors
/// A usage error for 0 threads, too many, or a pool already built at another size.
fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    neurite_train::set_threads(threads).map_err(|e| usage(format!("--{e}")))
}

/// The memory budget of this command: `NEURITE_MEMORY_BUDGET`, else 4 GiB.
///
/// # Errors
/// A usage error if the variable is set but is not a size.
fn budget() -> anyhow::Result<neurite_nn::Budget> {
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
        data: args.data.clone(),
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
