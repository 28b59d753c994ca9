//! The crate's error type: every bad input becomes a typed [`Error`], never a panic.

use thiserror::Error as ThisError;

/// Everything that can go wrong before or outside training.
///
/// Training itself reports divergence through [`crate::solver::TrainError`], which wraps
/// this type for input errors.
#[derive(Debug, ThisError, Clone, PartialEq)]
pub enum Error {
    /// Two things that must agree in size do not.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// What was being checked.
        what: String,
        /// The size that was required.
        expected: String,
        /// The size that was given.
        got: String,
    },
    /// A NaN or infinite number where a finite one is required.
    #[error("non-finite value in {what} at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: String,
        /// Row (sample) index, 0-based.
        row: usize,
        /// Column index, 0-based.
        col: usize,
    },
    /// A class label outside `0..n_classes`.
    #[error("label {label} at row {row} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Its row.
        row: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// No samples, no features, or no classes.
    #[error("empty input: {0}")]
    Empty(String),
    /// A hyperparameter outside its valid range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// The parameter's name, as in the setter.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// What the valid range is.
        reason: String,
    },
    /// The data's task (regression or classification) does not match the model's head.
    #[error("task mismatch: {0}")]
    TaskMismatch(String),
    /// A text input (CSV) could not be parsed.
    #[error("{source_name}:{line}:{column}: {reason}")]
    Parse {
        /// File name or other label of the input.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (field index).
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A saved model or checkpoint is corrupt, of another version, or inconsistent.
    #[error("invalid model file: {0}")]
    Format(String),
    /// A training run inside a helper that reports plain [`Error`]s (the
    /// [`experiments`](crate::experiments)) diverged; the message says when and what.
    /// Training itself reports divergence as [`crate::solver::TrainError::Diverged`],
    /// which keeps the last finite state.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// An operating-system I/O failure (message kept as text so the error stays `Clone`).
    #[error("I/O error on {path}: {message}")]
    Io {
        /// The path involved.
        path: String,
        /// The OS message.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(
        name: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(
        what: impl Into<String>,
        expected: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        Error::Shape {
            what: what.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
