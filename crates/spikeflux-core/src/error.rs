//! The library's one error type.
//!
//! Every category carries the data a user needs to act on it, as typed fields: the file, the field
//! and what it must be against what was found, the epoch. Field names are the library's own (the
//! path of the field within the value checked: `hidden[0].tau_mem` of a [`NetworkSpec`], `lr` of
//! the training options); [`Error::within`] prefixes them, and a front end maps them to its own
//! vocabulary (the CLI: TOML keys). The CLI prints errors with `{:#}` and maps each category to a
//! distinct exit code.
//!
//! [`NetworkSpec`]: crate::network::NetworkSpec

use std::path::PathBuf;

/// Errors returned by spikeflux-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid value for `{field}`: {expected}{}", found.as_ref().map(|f| format!(", got {f}")).unwrap_or_default())]
    Config {
        /// Dotted path of the field within the value checked, e.g. `hidden[0].tau_mem`.
        field: String,
        /// What the value must be (or what is wrong, and what to do).
        expected: String,
        /// The value found, where showing it helps.
        found: Option<String>,
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
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A NaN or infinity (an f32 overflow included) appeared in training.
    #[error("non-finite {what} at epoch {epoch}, batch {batch} (most likely cause: `{field}`): {hint}")]
    NonFinite {
        /// Which quantity (readout output, loss, gradient, weight).
        what: String,
        /// The setting most likely responsible, as a field path like those of [`Error::Config`]
        /// (`lr`, `surrogate.beta`, or `init` before the first update).
        field: String,
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// What to try.
        hint: String,
    },
    /// Training produced a loss that cannot be right: exactly zero while predictions are wrong
    /// (the readout's scores tied at a value too large for the loss).
    #[error("saturated readout at epoch {epoch}, batch {batch}: {hint}")]
    Saturated {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// What happened and what to try.
        hint: String,
    },
    /// A NIR graph that spikeflux cannot express, or a network NIR cannot express without changing
    /// what it computes.
    #[error("NIR node `{node}`: {message}")]
    Nir {
        /// The node (or layer) concerned, by its name in the graph (`lif0`, `lif0.w_rec`).
        node: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A weights file is missing tensors or has wrong shapes.
    #[error("weights file {path}: {message}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A data-parallel run lost a rank or was interrupted while the ranks were exchanging sums
    /// ([`train::group`](crate::train::group)).
    #[error("data-parallel run: {what}; {hint}")]
    Distributed {
        /// What failed (which rank, which exchange).
        what: String,
        /// What to do.
        hint: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A config error for `field`: what it must be.
    pub fn config(field: impl Into<String>, expected: impl Into<String>) -> Self {
        Error::Config { field: field.into(), expected: expected.into(), found: None }
    }
    /// A config error for `field`: what it must be, and the value found.
    pub fn config_found(field: impl Into<String>, expected: impl Into<String>, found: impl std::fmt::Display) -> Self {
        Error::Config { field: field.into(), expected: expected.into(), found: Some(found.to_string()) }
    }
    /// The same error with a config field seen from one level up: `prefix.field` (`prefix[i]` for
    /// an index, `prefix` for an empty field). Other categories are returned unchanged.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Error::Config { field, expected, found } => {
                let field = if field.is_empty() {
                    prefix.to_string()
                } else if field.starts_with('[') {
                    format!("{prefix}{field}")
                } else {
                    format!("{prefix}.{field}")
                };
                Error::Config { field, expected, found }
            }
            e => e,
        }
    }
    /// A data-file error for `path`.
    pub fn data_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::DataFile { path: path.into(), message: message.into() }
    }
    /// An error about NIR node `node`.
    pub fn nir(node: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Nir { node: node.into(), message: message.into() }
    }
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// Returns an [`Error::Config`](crate::Error::Config) for `field` unless `cond` holds:
/// `ensure!(cond, field, expected)` or `ensure!(cond, field, expected, found)`, where `expected`
/// says what the value must be and `found` is the value (any `Display`). The one validation helper
/// of the library.
macro_rules! ensure {
    ($cond:expr, $field:expr, $expected:expr) => {
        if !($cond) {
            return Err($crate::error::Error::config($field, $expected));
        }
    };
    ($cond:expr, $field:expr, $expected:expr, $found:expr) => {
        if !($cond) {
            return Err($crate::error::Error::config_found($field, $expected, $found));
        }
    };
}
pub(crate) use ensure;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f64) -> Result<()> {
        ensure!(x > 0.0, "tau_mem", "must be a positive number of seconds", x);
        Ok(())
    }

    #[test]
    fn ensure_names_field_expectation_and_value_and_within_prefixes() {
        assert!(check(1.0).is_ok());
        let e = check(-2.0).unwrap_err();
        assert!(matches!(&e, Error::Config { field, found: Some(f), .. } if field == "tau_mem" && f == "-2"));
        assert_eq!(e.to_string(), "invalid value for `tau_mem`: must be a positive number of seconds, got -2");
        let e = check(-2.0).unwrap_err().within("[0]").within("hidden").within("model");
        assert!(e.to_string().starts_with("invalid value for `model.hidden[0].tau_mem`"), "{e}");
        assert!(Error::config("", "x").within("init").to_string().starts_with("invalid value for `init`"));
    }
}
