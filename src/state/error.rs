//! The state store's error type, with the one conversion from redb's errors.

use std::path::PathBuf;

/// A state-store failure.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state folder could not be created.
    #[error("state folder {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another Thresher process (or thread) holds the database.
    #[error(
        "state store {path} is in use by another Thresher process; stop it or use another [state] dir"
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The database could not be opened.
    #[error("state store {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What redb reported.
        source: redb::DatabaseError,
    },
    /// A read or write failed.
    #[error("state store: {0}")]
    Store(#[from] redb::Error),
    /// A record could not be decoded (written by an incompatible version?).
    #[error("state store: record {table}/{key} is unreadable: {source}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Record key.
        key: String,
        /// Decoder error.
        source: serde_json::Error,
    },
    /// The blocking task running the operation died (a panic inside redb).
    #[error("state store: worker task failed (the file may be damaged): {0}")]
    Task(String),
    /// The database file is damaged or is not a state store.
    #[error(
        "state store {path} is damaged ({what}); move it aside to start with an empty store \
         (the links every feed lists now are fetched again) or restore it from a backup"
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
}

/// redb's per-operation errors (opening a transaction or a table, reading,
/// committing) become [`StateError::Store`] through [`redb::Error`], which
/// is where redb names the failures it cannot recover from (see `health`),
/// so `?` works on every redb call.
macro_rules! store_error_from {
    ($($error:ty),*) => {$(
        impl From<$error> for StateError {
            fn from(error: $error) -> Self {
                Self::Store(error.into())
            }
        }
    )*};
}

store_error_from!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
