//! How errors become exit codes: anything wrapped in [`UsageError`] (bad flags, unreadable or
//! malformed input, impossible settings) exits with 2; every other error exits with 1.

use std::fmt;

/// An error caused by the user's input rather than by the program or the machine: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code for an error: 2 if a [`UsageError`] is anywhere in its chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<UsageError>()) { 2 } else { 1 }
}
