//! How errors become exit codes and one line of text: anything wrapped in [`UsageError`] (bad
//! flags, unreadable or malformed input, impossible settings) exits with 2; every other error
//! exits with 1. [`render`] flattens an error chain into the single line `main` prints.

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

/// Marks the error of a result as the user's: `Checkpoint::load(path).usage()?` exits with 2.
pub trait UsageExt<T> {
    /// The error, as its message, wrapped in [`UsageError`].
    ///
    /// # Errors
    /// The original error as a [`UsageError`].
    fn usage(self) -> anyhow::Result<T>;

    /// Like [`UsageExt::usage`], with `prefix: ` before the message.
    ///
    /// # Errors
    /// The original error as a [`UsageError`].
    fn usage_with(self, prefix: impl fmt::Display) -> anyhow::Result<T>;
}

impl<T, E: fmt::Display> UsageExt<T> for Result<T, E> {
    fn usage(self) -> anyhow::Result<T> {
        self.map_err(|e| UsageError(e.to_string()).into())
    }

    fn usage_with(self, prefix: impl fmt::Display) -> anyhow::Result<T> {
        self.map_err(|e| UsageError(format!("{prefix}: {e}")).into())
    }
}

/// A [`UsageError`] with this message, as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// The exit code for an error: 2 if a [`UsageError`] is anywhere in its chain, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() || err.chain().any(|e| e.is::<UsageError>()) { 2 } else { 1 }
}

/// The error and its causes on one line (`what: why: deeper cause`), with any line breaks a
/// library put in its message folded into spaces.
pub fn render(err: &anyhow::Error) -> String {
    one_line(&format!("{err:#}"))
}

/// Folds the lines of `text` into one, dropping empty ones.
pub fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_with_two_even_under_context() {
        let err: anyhow::Error = usage("bad flag");
        assert_eq!(exit_code(&err), 2);
        assert_eq!(exit_code(&err.context("while parsing")), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("disk full")), 1);
        let wrapped: anyhow::Result<()> = Err::<(), _>("no such file").usage_with("data/x");
        assert_eq!(wrapped.unwrap_err().to_string(), "data/x: no such file");
    }

    #[test]
    fn rendered_errors_are_one_line() {
        let err = anyhow::anyhow!("first\n\n  second").context("outer");
        assert_eq!(render(&err), "outer: first second");
    }
}
