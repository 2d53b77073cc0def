//! The library's one error type.
//!
//! Every category carries the data a user needs to act on it: the file, the config field, the epoch.
//! The CLI prints these with `{:#}` and maps each category to a distinct exit code.

use std::path::PathBuf;

/// Errors returned by spikeflux-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid value for `{field}`: {message}")]
    Config {
        /// Dotted path of the field, e.g. `model.hidden[0].tau_mem`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// Two buffers or a buffer and a network disagree in shape.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    Shape {
        /// Which object had the wrong shape.
        what: String,
        /// The expected shape, in words.
        expected: String,
        /// The shape found.
        got: String,
    },
    /// A data file could not be read or has the wrong layout.
    #[error("data file {path}: {message}")]
    DataFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// An I/O operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A NaN or infinity appeared in training.
    #[error("non-finite {what} at epoch {epoch}, batch {batch}: {hint}")]
    NonFinite {
        /// Which quantity (loss, gradient, weight).
        what: String,
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// What to try.
        hint: String,
    },
    /// A weights file is missing tensors or has wrong shapes.
    #[error("weights file {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A config error for `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { field: field.into(), message: message.into() }
    }
    /// A data-file error for `path`.
    pub fn data_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::DataFile { path: path.into(), message: message.into() }
    }
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}
