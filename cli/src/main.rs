//! The `neurite` command: parse the flags, run, and turn an error into one line on stderr and an
//! exit code (2 for bad usage or input, 1 otherwise). Everything else is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use neurite_cli::args::{Cli, clap_error_line};
use neurite_cli::error::{exit_code, render};

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
        let text = neurite_cli::error::one_line(message.unwrap_or("a panic without a message"));
        eprintln!("error: internal error: {text}{place}; please report it");
        std::process::exit(1);
    }));
}

fn main() -> ExitCode {
    exit_on_panic();
    // The contract above is tested end to end by making a worker thread panic on purpose.
    if std::env::var_os("NEURITE_TEST_PANIC").is_some() {
        let worker = std::thread::spawn(|| panic!("a deliberate panic\non two lines"));
        let _ = worker.join();
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and exit 0; a bare `neurite` prints the help and exits 2.
        Err(e) if !e.use_stderr() || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            eprintln!("{}", clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    match neurite_cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !neurite_cli::silenced() {
                eprintln!("error: {}", render(&err));
            }
            ExitCode::from(exit_code(&err))
        }
    }
}
