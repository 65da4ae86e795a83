//! Soyaku's accounts: who a caller is and what their role lets them do.
//!
//! - **Users** have one [`Role`]; passwords are stored as argon2id hashes.
//!   The first admin is made from the command line, never by a default
//!   password.
//! - **Sessions** (for browsers) and **API tokens** (for scripts) are random
//!   secrets handed out once; only their SHA-256 is stored.
//! - The **audit log** is append-only (the database refuses updates and
//!   deletes) and records sign-ins, searches, views of records, requests and
//!   changes, with who did them.
//!
//! Every operation that needs a right takes the acting [`Actor`] and checks
//! it here, in the domain layer, so no front end can skip a check.

#![warn(missing_docs)]

mod audit;
mod error;
mod role;
mod secrets;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use library::now;
use serde::Serialize;
use sqlx::{AnyPool, Row};

pub use audit::{
    AuditEntry, AuditQuery, AuditVerification, ChainBreak,
    MAX_TARGET_CHARS as MAX_AUDIT_TARGET_CHARS,
};
pub use error::AccountError;
pub use role::{Permission, Role};

/// A fresh random secret (256 bits, URL-safe), such as a sign-in form's
/// anti-forgery token.
pub fn random_secret() -> String {
    secrets::random_token()
}

/// How long a browser session lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Who is acting: a signed-in user and their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The user's database id.
    pub user_id: i64,
    /// Their sign-in name.
    pub username: String,
    /// Their name as shown.
    pub display_name: String,
    /// Their role.
    pub role: Role,
}

impl Actor {
    /// Succeeds when the actor's role grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AccountError> {
        if self.role.grants(permission) {
            Ok(())
        } else {
            Err(AccountError::Forbidden { role: self.role, what: permission.describe().to_owned() })
        }
    }

    /// Whether the actor's role grants `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.grants(permission)
    }
}

/// A user account as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Name as shown.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// A disabled account cannot sign in.
    pub disabled: bool,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
}

/// What it takes to make an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name: 3–64 of `a-z 0-9 . _ -`.
    pub username: String,
    /// Name as shown; the username when empty.
    pub display_name: String,
    /// At least 10 characters.
    pub password: String,
    /// The account's role.
    pub role: Role,
}

/// A browser session just started. `token` goes into a cookie; `csrf` must
/// come back with every state-changing request made with that cookie.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session secret (shown once).
    pub token: String,
    /// The session's anti-forgery token.
    pub csrf: String,
    /// Seconds since the Unix epoch when it ends.
    pub expires_at: i64,
}

/// How long an API token lasts unless asked otherwise, in days.
pub const TOKEN_DAYS: u32 = 90;
/// The longest an API token may last, in days.
pub const MAX_TOKEN_DAYS: u32 = 366;

/// An API token as its owner sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    /// Its number, for revoking it.
    pub id: i64,
    /// What its owner called it.
    pub name: String,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// When it stops working (none for tokens made before tokens expired).
    pub expires_at: Option<i64>,
    /// Revoked by its owner or an admin.
    pub revoked: bool,
    /// Neither revoked nor expired.
    pub usable: bool,
}

/// The account store, kept in the platform database beside the registry.
#[derive(Clone)]
pub struct Accounts {
    pool: AnyPool,
    throttle: std::sync::Arc<throttle::Throttle>,
    /// argon2id takes ~19 MiB and tens of milliseconds per check: at most
    /// one per core at a time, off the async threads.
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
    /// Audit rows are chained one at a time.
    audit_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    postgres: bool,
}

impl Accounts {
    /// Uses the database behind `pool`, applying the accounts migrations.
    pub async fn attach(pool: AnyPool) -> Result<Accounts, AccountError> {
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        let postgres = pool.connect_options().database_url.scheme().starts_with("postgres");
        Ok(Accounts {
            postgres,
            audit_lock: Default::default(),
            pool,
            throttle: Default::default(),
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(parallel::cores())),
        })
    }

    /// Makes an account. `by` is the admin doing it, or `None` for the
    /// machine's operator at the command line (how the first admin is made).
    pub async fn create_user(
        &self,
        by: Option<&Actor>,
        new: NewUser,
    ) -> Result<User, AccountError> {
        if let Some(by) = by {
            by.require(Permission::ManageUsers)?;
        }
        check_username(&new.username)?;
        if new.password.chars().count() < 10 || new.password.len() > MAX_PASSWORD_BYTES {
            return Err(AccountError::Invalid(format!(
                "the password must have at least 10 characters and at most {MAX_PASSWORD_BYTES} bytes"
            )));
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&new.username)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Err(AccountError::Taken(new.username));
        }
        let hash = hash_password(&new.password)?;
        let display_name = if new.display_name.trim().is_empty() {
            new.username.clone()
        } else {
            new.display_name
        };
        let created_at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
        )
        .bind(&new.username)
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(&hash)
        .bind(created_at)
        .fetch_one(&self.pool)
        .await?;
        let user = User {
            id,
            username: new.username,
            display_name,
            role: new.role,
            disabled: false,
            created_at,
        };
        self.audit(
            by,
            "user.create",
            &format!("user:{}", user.username),
            serde_json::json!({"role": user.role}),
        )
        .await?;
        Ok(user)
    }

    /// Every account, for an admin.
    pub async fn users(&self, by: &Actor) -> Result<Vec<User>, AccountError> {
        by.require(Permission::ManageUsers)?;
        let rows = sqlx::query(
            "SELECT id, username, display_name, role, disabled, created_at FROM users ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(User {
                    id: r.try_get(0)?,
                    username: r.try_get(1)?,
                    display_name: r.try_get(2)?,
                    role: r.try_get::<String, _>(3)?.parse()?,
                    disabled: r.try_get::<i64, _>(4)? != 0,
                    created_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// Checks a password and starts a session. Failures and successes are
    /// both audited; every failure gives the same error and takes about the
    /// same time, so usernames cannot be probed.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Actor, Session), AccountError> {
        self.sign_in_from(username, password, None).await
    }

    /// [`Accounts::sign_in`] from a client `address`: failures are
    /// throttled per account and per address ([`throttle`]), and a caller
    /// that must wait is refused before the password is checked.
    pub async fn sign_in_from(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<(Actor, Session), AccountError> {
        // A name no account can have is refused before any lookup, and
        // never written to the audit log as sent (it may be megabytes).
        let target = match check_username(username) {
            Ok(()) => format!("user:{username}"),
            Err(_) => "user:(not a valid username)".to_owned(),
        };
        let keys: Vec<(String, u32)> = [
            Some((target.clone(), throttle::FREE_FAILURES_PER_ACCOUNT)),
            address.map(|a| (format!("addr:{a}"), throttle::FREE_FAILURES_PER_ADDRESS)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let clock = std::time::Instant::now();
        if let Some(wait) = keys.iter().filter_map(|(k, _)| self.throttle.wait(k, clock)).max() {
            let retry_after = wait.as_secs().max(1);
            self.audit(
                None,
                "sign_in.throttled",
                &target,
                serde_json::json!({"retry_after": retry_after}),
            )
            .await?;
            return Err(AccountError::Throttled { retry_after });
        }
        let row = if check_username(username).is_ok() {
            sqlx::query(
                "SELECT id, username, display_name, role, password_hash, disabled FROM users \
                 WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        } else {
            None
        };
        let (actor, hash, disabled) = match &row {
            Some(r) => {
                (Some(actor_from_row(r)?), r.try_get::<String, _>(4)?, r.try_get::<i64, _>(5)? != 0)
            }
            None => (None, secrets::UNKNOWN_USER_HASH.to_owned(), true),
        };
        let password_ok = self.verify_password(password, hash).await?;
        let actor = match actor {
            Some(actor) if password_ok && !disabled => actor,
            _ => {
                for (key, free) in &keys {
                    self.throttle.failed(key, *free, clock);
                }
                self.audit(None, "sign_in.failed", &target, serde_json::json!({})).await?;
                return Err(AccountError::BadCredentials);
            }
        };
        self.throttle.succeeded(&keys[0].0);
        let session = Session {
            token: secrets::random_token(),
            csrf: secrets::random_token(),
            expires_at: now() + SESSION_SECONDS,
        };
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(secrets::digest(&session.token))
        .bind(actor.user_id)
        .bind(&session.csrf)
        .bind(now())
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        self.audit(
            Some(&actor),
            "sign_in",
            &format!("user:{}", actor.username),
            serde_json::json!({}),
        )
        .await?;
        Ok((actor, session))
    }

    /// The actor and CSRF token of a live session.
    pub async fn session(&self, token: &str) -> Result<(Actor, String), AccountError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role, s.csrf FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(secrets::digest(token))
        .bind(now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AccountError::Unauthenticated)?;
        Ok((actor_from_row(&row)?, row.try_get(4)?))
    }

    /// Signs `actor` out: ends the session of `token` (a caller with an API
    /// token has none; unknown tokens are ignored) and audits it.
    pub async fn sign_out(&self, actor: &Actor, token: Option<&str>) -> Result<(), AccountError> {
        if let Some(token) = token {
            let ended = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(secrets::digest(token))
                .execute(&self.pool)
                .await?;
            if ended.rows_affected() > 0 {
                sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                    .bind(now())
                    .execute(&self.pool)
                    .await?;
            }
        }
        self.audit(
            Some(actor),
            "sign_out",
            &format!("user:{}", actor.username),
            serde_json::json!({}),
        )
        .await
    }

    /// Makes an API token for the actor's own account, valid for
    /// [`TOKEN_DAYS`] days; the secret is returned once and cannot be read
    /// back.
    pub async fn create_token(&self, actor: &Actor, name: &str) -> Result<String, AccountError> {
        self.create_token_for_days(actor, name, TOKEN_DAYS).await
    }

    /// [`Accounts::create_token`] valid for `days` days (1 to
    /// [`MAX_TOKEN_DAYS`]).
    pub async fn create_token_for_days(
        &self,
        actor: &Actor,
        name: &str,
        days: u32,
    ) -> Result<String, AccountError> {
        if name.trim().is_empty()
            || name.chars().count() > 100
            || name.chars().any(char::is_control)
        {
            return Err(AccountError::Invalid("a token needs a name of 1–100 characters".into()));
        }
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(AccountError::Invalid(format!("a token lasts 1 to {MAX_TOKEN_DAYS} days")));
        }
        let secret = format!("sy_{}", secrets::random_token());
        let expires_at = now() + i64::from(days) * 86_400;
        sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, revoked, expires_at) \
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(actor.user_id)
        .bind(name)
        .bind(secrets::digest(&secret))
        .bind(now())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        self.audit(
            Some(actor),
            "token.create",
            &format!("token:{name}"),
            serde_json::json!({"expires_at": expires_at}),
        )
        .await?;
        Ok(secret)
    }

    /// The actor's own API tokens (never their secrets), newest first.
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<TokenInfo>, AccountError> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, expires_at, revoked FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(actor.user_id)
        .fetch_all(&self.pool)
        .await?;
        let at = now();
        rows.iter()
            .map(|r| {
                let expires_at: Option<i64> = r.try_get(3)?;
                let revoked = r.try_get::<i64, _>(4)? != 0;
                Ok(TokenInfo {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    expires_at,
                    revoked,
                    usable: !revoked && expires_at.is_none_or(|e| e > at),
                })
            })
            .collect()
    }

    /// Revokes one of the actor's own tokens (an admin may revoke anyone's):
    /// it stops working at once. Audited.
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<(), AccountError> {
        let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        // Someone else's token is "not found", as if it did not exist.
        match owner {
            Some(o) if o == actor.user_id || actor.can(Permission::ManageUsers) => {}
            _ => return Err(AccountError::Invalid(format!("no token {id} of yours"))),
        }
        sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.audit(Some(actor), "token.revoke", &format!("token:{id}"), serde_json::json!({})).await
    }

    /// Disables or enables an account (admin; never one's own). A disabled
    /// account cannot sign in, and its sessions and tokens stop working at
    /// once. Audited.
    pub async fn set_disabled(
        &self,
        by: Option<&Actor>,
        username: &str,
        disabled: bool,
    ) -> Result<(), AccountError> {
        if let Some(by) = by {
            by.require(Permission::ManageUsers)?;
            if by.username == username {
                return Err(AccountError::Invalid("you cannot disable your own account".into()));
            }
        }
        let changed = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&self.pool)
            .await?;
        if changed.rows_affected() == 0 {
            return Err(AccountError::Invalid(format!("no account '{username}'")));
        }
        if disabled {
            sqlx::query(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)",
            )
            .bind(username)
            .execute(&self.pool)
            .await?;
        }
        let action = if disabled { "user.disable" } else { "user.enable" };
        self.audit(by, action, &format!("user:{username}"), serde_json::json!({})).await
    }

    /// The actor an API token acts for.
    pub async fn token(&self, secret: &str) -> Result<Actor, AccountError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.role FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked = 0 AND u.disabled = 0 \
             AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(secrets::digest(secret))
        .bind(now())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AccountError::Unauthenticated)?;
        actor_from_row(&row)
    }
}

fn actor_from_row(r: &sqlx::any::AnyRow) -> Result<Actor, AccountError> {
    Ok(Actor {
        user_id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        role: r.try_get::<String, _>(3)?.parse()?,
    })
}

fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "'{name}' is not a valid username: use 3–64 characters of a-z, 0-9, '.', '_' and '-'"
        )))
    }
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::encode_b64(&secrets::random_bytes::<16>())
        .map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl Accounts {
    /// Checks a password off the async threads, one per core at a time.
    async fn verify_password(&self, password: &str, hash: String) -> Result<bool, AccountError> {
        // Past this length argon2 only costs more; no real password is.
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let _permit = self.hashing.acquire().await.expect("hashing semaphore open");
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))
    }
}

/// The longest password accepted.
const MAX_PASSWORD_BYTES: usize = 1024;
