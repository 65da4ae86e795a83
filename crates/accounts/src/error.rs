//! The accounts error type.

/// What can go wrong with accounts, sessions, tokens and the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Unknown user, wrong password or disabled account: one message for all
    /// three, so a caller cannot learn which usernames exist.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed sign-ins for this account or from this address: the
    /// next attempt must wait.
    #[error("too many failed sign-ins; try again in {retry_after} seconds")]
    Throttled {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The session or token is unknown, expired or revoked.
    #[error("not signed in, or the session has expired; sign in again")]
    Unauthenticated,
    /// The caller's role does not allow this.
    #[error("your role ({role}) may not {what}")]
    Forbidden {
        /// The caller's role.
        role: crate::Role,
        /// What was refused, in words.
        what: String,
    },
    /// Input that breaks a rule (the message says which and how to fix it).
    #[error("{0}")]
    Invalid(String),
    /// A username that is taken.
    #[error("the username '{0}' is already taken")]
    Taken(String),
    /// The database could not be queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Password hashing failed (not a wrong password).
    #[error("password hashing failed: {0}")]
    Hash(String),
}
