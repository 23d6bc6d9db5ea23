//! The error for bad history input: it always names the source, and the line when there is one.

use thiserror::Error;

/// A history that could not be read or is not well formed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HistoryError {
    /// A problem at one line of the input.
    #[error("{file}:{line}: {message}")]
    Line {
        /// The file (or label) the history came from.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong, in words.
        message: String,
    },
    /// A problem with the input as a whole (cannot read it, cannot tell its format).
    #[error("{file}: {message}")]
    Whole {
        /// The file (or label) the history came from.
        file: String,
        /// What is wrong, in words.
        message: String,
    },
}

impl HistoryError {
    /// An error at a given 1-based line.
    pub fn at(source: &str, line: usize, message: impl Into<String>) -> Self {
        HistoryError::Line {
            file: source.to_string(),
            line,
            message: message.into(),
        }
    }

    /// An error about the whole input.
    pub fn whole(source: &str, message: impl Into<String>) -> Self {
        HistoryError::Whole {
            file: source.to_string(),
            message: message.into(),
        }
    }

    /// An I/O error while reading the input.
    pub fn io(source: &str, err: std::io::Error) -> Self {
        HistoryError::whole(source, format!("cannot read: {err}"))
    }

    /// The line the error is at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            HistoryError::Line { line, .. } => Some(*line),
            HistoryError::Whole { .. } => None,
        }
    }
}
