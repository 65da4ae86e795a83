//! The registry's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the registry, grouped by kind of fault.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// An input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input file is not in the declared format as a whole (bad header,
    /// missing column); single bad records are reported as
    /// [`import::RowError`](crate::import::RowError) instead.
    #[error("{path}: {reason}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A search query that is not valid SMARTS or SMILES.
    #[error("invalid query: {0}")]
    BadQuery(chem::ChemError),
    /// A registry id that is malformed.
    #[error("'{0}' is not a registry id; ids look like SY-0000001")]
    BadId(String),
    /// A registry id that does not exist.
    #[error("no compound {0} in the registry")]
    NotFound(String),
    /// A file could not be read or written (the message names it).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The database could not be opened, migrated or queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The similarity index file could not be written or read.
    #[error(transparent)]
    Index(#[from] fpindex::IndexError),
    /// The search could not run in time: the pool was full, or the deadline
    /// passed.
    #[error(transparent)]
    Pool(#[from] parallel::PoolError),
    /// Stored data that cannot be decoded (a corrupted fingerprint blob).
    #[error("corrupt registry data: {0}")]
    Corrupt(String),
}
