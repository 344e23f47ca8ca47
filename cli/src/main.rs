//! The `neurite` command. Today it has `neurite xor`, the course's two-layer network trained on
//! XOR with core tensors; issue #7 adds `train`, `eval`, `predict`, `export` and `preview`.
#![forbid(unsafe_code)]

use neurite_cli::backend::BackendKind;
use neurite_cli::{dispatch, xor};

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "neurite", version, about = "Train, evaluate and explore neural networks on the CPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the course's 2-layer sigmoid network on XOR with full-batch gradient descent.
    Xor {
        /// Hidden units.
        #[arg(long, default_value_t = 4)]
        hidden: usize,
        /// Gradient-descent steps.
        #[arg(long, default_value_t = 3000)]
        steps: usize,
        /// Learning rate.
        #[arg(long, default_value_t = 2.0)]
        lr: f32,
        /// Seed of the initial weights.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

fn run_xor<B: neurite_core::Backend>(config: &xor::XorConfig) -> usize {
    xor::run::<B>(config)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Xor { hidden, steps, lr, seed } => {
            if hidden == 0 || !lr.is_finite() || lr <= 0.0 {
                eprintln!("error: --hidden must be at least 1 and --lr a positive number");
                return ExitCode::from(2);
            }
            let config = xor::XorConfig { hidden, steps, lr, seed };
            let correct = dispatch!(BackendKind::default_kind(), run_xor::<_>(&config));
            if correct == 4 { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
    }
}
