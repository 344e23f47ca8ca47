//! The `neurite` command: parse the flags, run, and turn an error into one line on stderr and an
//! exit code (2 for bad usage or input, 1 otherwise). Everything else is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use neurite_cli::args::{Cli, clap_error_line};
use neurite_cli::error::{exit_code, render};

fn main() -> ExitCode {
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
            eprintln!("error: {}", render(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}
