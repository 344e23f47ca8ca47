//! `cargo xtask`: developer tasks that are not part of the build.
//!
//! `cargo xtask bench` will run the criterion benchmarks of every backend and print a comparison
//! table; issue #3 ("backend-simd and `cargo xtask bench`") builds it. Until then the task says so
//! and exits with status 2 instead of pretending to measure anything.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("bench") => {
            eprintln!("error: `cargo xtask bench` is not built yet (issue #3: backend-simd and cargo xtask bench)");
            ExitCode::from(2)
        }
        Some(other) => {
            eprintln!("error: unknown task `{other}`; tasks: bench");
            ExitCode::from(2)
        }
        None => {
            eprintln!("usage: cargo xtask <task>\ntasks:\n  bench   benchmark every backend (issue #3)");
            ExitCode::from(2)
        }
    }
}
