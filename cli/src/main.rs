//! The `neurite` command; everything it does is in the library (`lib.rs`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    neurite_cli::main()
}
