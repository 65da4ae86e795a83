//! The append-only audit log: who signed in, searched, viewed a restricted
//! record, requested or changed what, and when.

use serde::Serialize;
use sqlx::Row;

use library::now;

use crate::{AccountError, Accounts, Actor, Permission};

/// The longest target kept, in characters.
pub const MAX_TARGET_CHARS: usize = 200;
/// The largest detail kept, in bytes of JSON; a larger one is recorded as
/// its size.
pub const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the log (rising).
    pub id: i64,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// The acting user, when there was one.
    pub user_id: Option<i64>,
    /// The acting user's name, `-` for the command line or an anonymous caller.
    pub username: String,
    /// What was done, dotted (`sign_in`, `search.similar`, `compound.view`).
    pub action: String,
    /// What it was done to (`compound:SY-0000001`, `request:3`).
    pub target: String,
    /// Further facts (the query, the outcome).
    pub detail: serde_json::Value,
}

/// Which part of the log to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this user's actions.
    pub user_id: Option<i64>,
    /// Only entries older than this id (for paging back).
    pub before_id: Option<i64>,
    /// At most this many (1–1000; 100 when 0).
    pub limit: u32,
}

impl Accounts {
    /// Appends one record. `actor` is `None` for the machine's operator at
    /// the command line and for callers not signed in.
    pub async fn audit(
        &self,
        actor: Option<&Actor>,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<(), AccountError> {
        // The log is append-only, so what a caller sends must not grow it
        // without bound: long targets are cut, large details summarised.
        let target: String = target.chars().take(MAX_TARGET_CHARS).collect();
        let mut detail = detail.to_string();
        if detail.len() > MAX_DETAIL_BYTES {
            detail = serde_json::json!({"truncated": true, "bytes": detail.len()}).to_string();
        }
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, username, action, target, detail) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now())
        .bind(actor.map(|a| a.user_id))
        .bind(actor.map_or("-", |a| a.username.as_str()))
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reads the log, newest first; only roles with
    /// [`Permission::ViewAuditLog`] may.
    pub async fn audit_log(
        &self,
        by: &Actor,
        query: &AuditQuery,
    ) -> Result<Vec<AuditEntry>, AccountError> {
        by.require(Permission::ViewAuditLog)?;
        let limit = if query.limit == 0 { 100 } else { query.limit.min(1000) };
        let rows = sqlx::query(
            "SELECT id, at, user_id, username, action, target, detail FROM audit_log \
             WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(query.user_id)
        .bind(query.before_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get(6)?;
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    username: r.try_get(3)?,
                    action: r.try_get(4)?,
                    target: r.try_get(5)?,
                    detail: serde_json::from_str(&detail)
                        .unwrap_or(serde_json::Value::String(detail)),
                })
            })
            .collect()
    }
}
