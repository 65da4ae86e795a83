//! The append-only audit log: who signed in, searched, viewed a restricted
//! record, requested or changed what, was refused what, and when.
//!
//! The database refuses updates and deletes; beyond that, every row carries
//! a link of a hash chain (the SHA-256 of the previous row's link and this
//! row's content), so that a row deleted with the triggers dropped, changed,
//! or inserted by hand is found by [`Accounts::verify_audit`]. Links are
//! written one at a time (a lock in this process, and an advisory lock on
//! PostgreSQL for other servers on the same database). Someone who can
//! rewrite the whole table could recompute every link after a forgery: the
//! head link that verification prints is what to record elsewhere to rule
//! that out.

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

/// What [`Accounts::verify_audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AuditVerification {
    /// Rows read.
    pub rows: u64,
    /// Rows written before the chain began (no link, none before them).
    pub unchained: u64,
    /// The first row where the chain breaks, if any.
    pub first_break: Option<ChainBreak>,
    /// The last row's link: recorded elsewhere, it shows later that the
    /// log up to here was not rewritten.
    pub head: Option<String>,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainBreak {
    /// The row's id.
    pub id: i64,
    /// What it means.
    pub why: String,
}

/// One row's content, as its link hashes it.
struct Content {
    at: i64,
    user_id: Option<i64>,
    username: String,
    action: String,
    target: String,
    detail: String,
}

impl Content {
    /// The link: SHA-256 over the previous link and every field, each
    /// length-prefixed so that no two rows hash the same text.
    fn link(&self, previous: &str) -> String {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        let user = self.user_id.map_or(String::from("-"), |u| u.to_string());
        for field in [
            previous,
            &self.at.to_string(),
            &user,
            &self.username,
            &self.action,
            &self.target,
            &self.detail,
        ] {
            h.update((field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
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
        let row = Content {
            at: now(),
            user_id: actor.map(|a| a.user_id),
            username: actor.map_or("-", |a| a.username.as_str()).to_owned(),
            action: action.to_owned(),
            target,
            detail,
        };
        let _one_at_a_time = self.audit_lock.lock().await;
        // The link depends on the last row, so the read and the write must
        // not interleave with another writer: SQLite takes its write lock
        // at BEGIN IMMEDIATE (a deferred transaction that read first would
        // fail if another connection wrote meanwhile); PostgreSQL takes an
        // advisory lock held to the commit.
        let mut tx = if self.postgres {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock(7001)").execute(&mut *tx).await?;
            tx
        } else {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        };
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT chain FROM audit_log WHERE chain IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let chain = row.link(previous.as_deref().unwrap_or(""));
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, username, action, target, detail, chain) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(row.at)
        .bind(row.user_id)
        .bind(&row.username)
        .bind(&row.action)
        .bind(&row.target)
        .bind(&row.detail)
        .bind(chain)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Walks the whole log in order and checks every link of the chain;
    /// for the operator at the machine (`soyaku audit verify`).
    pub async fn verify_audit(&self) -> Result<AuditVerification, AccountError> {
        let mut found = AuditVerification::default();
        let mut previous: Option<String> = None;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(
                "SELECT id, at, user_id, username, action, target, detail, chain \
                 FROM audit_log WHERE id > $1 ORDER BY id LIMIT 10000",
            )
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for r in &rows {
                let id: i64 = r.try_get(0)?;
                let row = Content {
                    at: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    username: r.try_get(3)?,
                    action: r.try_get(4)?,
                    target: r.try_get(5)?,
                    detail: r.try_get(6)?,
                };
                let stored: Option<String> = r.try_get(7)?;
                found.rows += 1;
                let Some(stored) = stored else {
                    if previous.is_some() && found.first_break.is_none() {
                        found.first_break = Some(ChainBreak {
                            id,
                            why: "this row has no chain link, though rows before it do: it was \
                                  inserted by hand"
                                .into(),
                        });
                    }
                    found.unchained += u64::from(previous.is_none());
                    continue;
                };
                let expected = row.link(previous.as_deref().unwrap_or(""));
                if expected != stored && found.first_break.is_none() {
                    found.first_break = Some(ChainBreak {
                        id,
                        why: "this row does not follow the one before it: it was changed or \
                              inserted by hand, or a row before it was removed"
                            .into(),
                    });
                }
                previous = Some(stored);
            }
        }
        found.head = previous;
        Ok(found)
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
