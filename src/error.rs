//! [`Error`]: every way weightlab can fail, and the exit code each one maps to.

use std::path::{Path, PathBuf};

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A weightlab error. Input errors name the file and the field; they exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the user wrote is wrong: a YAML field, a flag, a dataset folder, an image.
    #[error("{location}: {field}: {message}")]
    Input {
        /// `file` or `file:line` (or `--flag` for command-line input).
        location: String,
        /// Dotted path of the offending field, e.g. `train.lr`.
        field: String,
        /// What is wrong, ideally with a hint of what to write instead.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What weightlab was doing, e.g. "cannot create folder".
        action: &'static str,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// Training produced a NaN or an infinity; the job stops as failed.
    #[error("non-finite {what} at epoch {epoch}, step {step}")]
    NonFinite {
        /// Which quantity, e.g. `loss_fv`.
        what: String,
        /// 1-based epoch.
        epoch: usize,
        /// 1-based global step.
        step: usize,
    },
    /// A log file exists but cannot be parsed (parquet, JSON, YAML written by weightlab).
    #[error("{}: {message}", path.display())]
    Log {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A stop signal interrupted training after this step; a checkpoint was taken.
    #[error("interrupted at epoch {epoch}, step {step}")]
    Interrupted {
        /// 1-based epoch in progress.
        epoch: usize,
        /// 1-based global step just finished.
        step: usize,
    },
    /// A checkpoint cannot be resumed (another config, or a record that does not load): the job
    /// can restart from scratch instead.
    #[error("the checkpoint cannot be resumed: {0}")]
    Checkpoint(String),
    /// A job panicked; the panic's message.
    #[error("panic: {0}")]
    Panic(String),
    /// The compute backend could not start or answer (GPU adapter, compute threads, read-back).
    #[error("{0}")]
    Backend(String),
    /// The run folder is held by another live sweep.
    #[error("{}", .0)]
    Locked(String),
    /// Work ran but did not succeed (failed jobs, a diff beyond tolerance, a backend error).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    /// An input error at `location` (file or file:line) about `field`.
    pub fn input(
        location: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Input {
            location: location.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// An I/O error on `path` while doing `action`.
    pub fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    /// A log-format error on `path`.
    pub fn log(path: &Path, message: impl std::fmt::Display) -> Self {
        Error::Log {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// The process exit code for this error: 2 for bad input, 1 for work that failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Io { .. } | Error::Locked(_) => 2,
            Error::NonFinite { .. }
            | Error::Log { .. }
            | Error::Failed(_)
            | Error::Checkpoint(_)
            | Error::Panic(_)
            | Error::Backend(_)
            | Error::Interrupted { .. } => 1,
        }
    }
}
