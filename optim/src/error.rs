//! `OptimError`, the one error type of this crate, and the checks that configs of optimizers,
//! schedules and clipping run at construction. The checks are public so that an optimizer written
//! in another crate can validate its settings the same way and report the same errors.

/// A setting or a saved state that an optimizer, a schedule or a clipper cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptimError {
    /// A hyperparameter is out of its range (`adam: beta1 = 1, expected a number in [0, 1)`).
    #[error("{owner}: {setting} = {value}, expected {expected}")]
    InvalidSetting {
        /// Who rejected it (`"adam"`, `"cosine"`).
        owner: &'static str,
        /// The setting's name (`"lr"`, `"beta1"`).
        setting: &'static str,
        /// The rejected value, as written by `Display`.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A saved state was written by another optimizer.
    #[error("optimizer state was saved by `{found}`, expected `{expected}`")]
    WrongOptimizer {
        /// The optimizer asked to load the state.
        expected: String,
        /// The optimizer named in the state.
        found: String,
    },
    /// A parameter's saved state lacks a buffer the optimizer needs.
    #[error("{optimizer}: state of `{param}` lacks buffer `{buffer}`")]
    MissingBuffer {
        /// The optimizer loading the state.
        optimizer: String,
        /// The parameter's path.
        param: String,
        /// The missing buffer (`"m"`).
        buffer: String,
    },
    /// A parameter's saved state holds a buffer the optimizer does not know.
    #[error("{optimizer}: state of `{param}` has unknown buffer `{buffer}`")]
    UnknownBuffer {
        /// The optimizer loading the state.
        optimizer: String,
        /// The parameter's path.
        param: String,
        /// The unexpected buffer.
        buffer: String,
    },
    /// A buffer's length differs from the parameter's (or from its sibling buffers').
    #[error("state of `{param}`: buffer `{buffer}` holds {found} values, expected {expected}")]
    BufferLength {
        /// The parameter's path.
        param: String,
        /// The buffer's name.
        buffer: String,
        /// Values expected (the parameter's element count).
        expected: usize,
        /// Values present.
        found: usize,
    },
    /// The state names a parameter the model does not have.
    #[error("optimizer state names parameter `{param}`, which the model does not have")]
    UnknownParameter {
        /// The parameter's path.
        param: String,
    },
}

fn invalid(owner: &'static str, setting: &'static str, value: impl ToString, expected: &'static str) -> OptimError {
    OptimError::InvalidSetting { owner, setting, value: value.to_string(), expected }
}

/// Checks a learning rate: finite and ≥ 0 (0 freezes the parameters, which a schedule may want).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` otherwise.
pub fn check_learning_rate(owner: &'static str, lr: f32) -> Result<(), OptimError> {
    check_non_negative(owner, "lr", lr)
}

/// Checks a decay rate such as β₁, β₂ or γ: in [0, 1).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_unit_interval(owner: &'static str, setting: &'static str, value: f32) -> Result<(), OptimError> {
    if (0.0..1.0).contains(&value) { Ok(()) } else { Err(invalid(owner, setting, value, "a number in [0, 1)")) }
}

/// Checks a setting that must be finite and > 0 (ε, a clipping bound).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_positive(owner: &'static str, setting: &'static str, value: f32) -> Result<(), OptimError> {
    if value.is_finite() && value > 0.0 { Ok(()) } else { Err(invalid(owner, setting, value, "a finite number > 0")) }
}

/// Checks a setting that must be finite and ≥ 0 (a learning rate, a weight decay).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_non_negative(owner: &'static str, setting: &'static str, value: f32) -> Result<(), OptimError> {
    if value.is_finite() && value >= 0.0 { Ok(()) } else { Err(invalid(owner, setting, value, "a finite number >= 0")) }
}

/// Checks a count that must be ≥ 1 (a step size, a period).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_count(owner: &'static str, setting: &'static str, value: usize) -> Result<(), OptimError> {
    if value >= 1 { Ok(()) } else { Err(invalid(owner, setting, value, "a count >= 1")) }
}

/// Checks a multiplicative factor that must lie in (0, 1) (a decay that shrinks without reaching 0).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_shrink_factor(owner: &'static str, setting: &'static str, value: f32) -> Result<(), OptimError> {
    if value > 0.0 && value < 1.0 { Ok(()) } else { Err(invalid(owner, setting, value, "a number in (0, 1)")) }
}

/// Checks a multiplicative factor that must lie in (0, 1] (1 keeps the rate constant).
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` otherwise.
pub fn check_decay_factor(owner: &'static str, setting: &'static str, value: f32) -> Result<(), OptimError> {
    if value > 0.0 && value <= 1.0 { Ok(()) } else { Err(invalid(owner, setting, value, "a number in (0, 1]")) }
}

/// Checks that `low ≤ high` for two settings already known to be finite.
///
/// # Errors
/// [`OptimError::InvalidSetting`] naming `owner` and `setting` (the lower one) otherwise.
pub fn check_at_most(owner: &'static str, setting: &'static str, low: f32, high: f32) -> Result<(), OptimError> {
    if low <= high { Ok(()) } else { Err(invalid(owner, setting, low, "a number <= the initial learning rate")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_who_what_and_what_was_expected() {
        let err = check_unit_interval("adam", "beta1", 1.0).unwrap_err();
        assert_eq!(err.to_string(), "adam: beta1 = 1, expected a number in [0, 1)");
        let err = check_learning_rate("sgd", f32::NAN).unwrap_err();
        assert_eq!(err.to_string(), "sgd: lr = NaN, expected a finite number >= 0");
        let err = check_positive("rmsprop", "eps", 0.0).unwrap_err();
        assert_eq!(err.to_string(), "rmsprop: eps = 0, expected a finite number > 0");
    }

    #[test]
    fn boundaries_are_where_the_docs_say() {
        assert!(check_unit_interval("x", "beta", 0.0).is_ok());
        assert!(check_unit_interval("x", "beta", 0.999).is_ok());
        assert!(check_unit_interval("x", "beta", -0.0001).is_err());
        assert!(check_unit_interval("x", "beta", f32::NAN).is_err());
        assert!(check_learning_rate("x", 0.0).is_ok());
        assert!(check_learning_rate("x", -1e-9).is_err());
        assert!(check_learning_rate("x", f32::INFINITY).is_err());
        assert!(check_positive("x", "eps", 1e-30).is_ok());
        assert!(check_count("x", "step_size", 0).is_err());
        assert!(check_shrink_factor("x", "factor", 1.0).is_err());
        assert!(check_decay_factor("x", "gamma", 1.0).is_ok());
        assert!(check_decay_factor("x", "gamma", 0.0).is_err());
    }
}
