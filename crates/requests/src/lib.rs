//! Compound provision requests, as the BINDS support units run them: a
//! researcher picks compounds from the shared library and asks for them
//! (purpose, amount, plate format); support staff review the queue, approve
//! or reject, and record the shipment (which container and well holds each
//! compound). Every shipped compound becomes a row in `provisions`, the
//! event the programme's KPI "compounds provided" counts.
//!
//! The state machine, and who may move it, live here, not in any front end:
//!
//! ```text
//! submitted ──approve──► approved ──ship──► shipped
//!     │ └──reject──► rejected
//!     └──cancel (requester)──► cancelled
//! ```
//!
//! Researchers see only their own requests; reviewers see all. Every change
//! is written to the audit log together with who made it.

#![warn(missing_docs)]

use accounts::{Accounts, Actor, Permission};
use library::now;
use library::{CompoundId, Registry};
use serde::Serialize;
use sqlx::{AnyPool, Row};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for review.
    Submitted,
    /// Approved; waiting to be shipped.
    Approved,
    /// Turned down (the note says why).
    Rejected,
    /// Withdrawn by the requester before review.
    Cancelled,
    /// Shipped; its provisions are recorded.
    Shipped,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
            Status::Shipped => "shipped",
        }
    }

    /// Every status, in the order of the workflow.
    pub const ALL: [Status; 5] =
        [Status::Submitted, Status::Approved, Status::Shipped, Status::Rejected, Status::Cancelled];

    fn parse(s: &str) -> Result<Status, RequestError> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| RequestError::Invalid(format!("'{s}' is not a request status")))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Plate formats a request can ask for.
pub const PLATE_FORMATS: [&str; 4] = ["96-well", "384-well", "1536-well", "tubes"];

/// What a researcher asks for.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The compounds, in the order wanted (no repeats).
    pub compounds: Vec<CompoundId>,
    /// What they are for (the project, the assay).
    pub purpose: String,
    /// How much of each, in words (e.g. "10 µL of 10 mM in DMSO").
    pub amount: String,
    /// One of [`PLATE_FORMATS`].
    pub plate_format: String,
}

/// Where one compound was shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// The compound.
    pub compound: CompoundId,
    /// The plate or tube barcode.
    pub barcode: String,
    /// The well (`A01`), empty for a tube.
    pub well: String,
}

/// A request as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// Its number.
    pub id: i64,
    /// Who asked.
    pub requester_id: i64,
    /// Their username.
    pub requester: String,
    /// What for.
    pub purpose: String,
    /// How much.
    pub amount: String,
    /// Plate format.
    pub plate_format: String,
    /// Where it stands.
    pub status: Status,
    /// Who reviewed it, when someone has.
    pub reviewer: Option<String>,
    /// The reviewer's note.
    pub review_note: String,
    /// The compounds asked for, in order.
    pub compounds: Vec<CompoundId>,
    /// Where each was shipped (once shipped).
    pub shipment: Vec<Container>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Seconds since the Unix epoch.
    pub updated_at: i64,
}

/// What can go wrong with requests.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No such request, or one the caller may not see (the two are not told
    /// apart, so nobody learns what others asked for).
    #[error("no request {0} that you may see")]
    NotFound(i64),
    /// The move is not allowed from the request's current status.
    #[error("request {id} is {status}; it cannot be {verb}")]
    WrongState {
        /// The request.
        id: i64,
        /// Its status.
        status: Status,
        /// What was tried, as a past participle.
        verb: &'static str,
    },
    /// Input that breaks a rule (the message says which and how to fix it).
    #[error("{0}")]
    Invalid(String),
    /// The caller's role does not allow this, or an account problem.
    #[error(transparent)]
    Account(#[from] accounts::AccountError),
    /// A compound id that is not in the registry, or a registry fault.
    #[error(transparent)]
    Library(#[from] library::LibraryError),
    /// The database could not be queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Most compounds one request may ask for.
pub const MAX_COMPOUNDS: usize = 1536;

/// The request desk.
#[derive(Clone)]
pub struct Requests {
    pool: AnyPool,
    accounts: Accounts,
    registry: Registry,
}

impl Requests {
    /// Uses the platform database, applying the requests migrations.
    pub async fn attach(registry: Registry, accounts: Accounts) -> Result<Requests, RequestError> {
        let pool = registry.pool().clone();
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Requests { pool, accounts, registry })
    }

    /// Submits a request for the actor (a researcher).
    pub async fn submit(&self, actor: &Actor, new: NewRequest) -> Result<Request, RequestError> {
        actor.require(Permission::RequestCompounds)?;
        if new.compounds.is_empty() || new.compounds.len() > MAX_COMPOUNDS {
            return Err(RequestError::Invalid(format!(
                "a request asks for 1 to {MAX_COMPOUNDS} compounds; select some first"
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = new.compounds.iter().find(|c| !seen.insert(**c)) {
            return Err(RequestError::Invalid(format!("{twice} is listed twice")));
        }
        if new.purpose.trim().is_empty() || new.amount.trim().is_empty() {
            return Err(RequestError::Invalid(
                "say what the compounds are for and how much of each".into(),
            ));
        }
        for (field, text) in [("the purpose", &new.purpose), ("the amount", &new.amount)] {
            library::check_free_text(field, text).map_err(RequestError::Invalid)?;
        }
        if !PLATE_FORMATS.contains(&new.plate_format.as_str()) {
            return Err(RequestError::Invalid(format!(
                "'{}' is not a plate format; use one of {}",
                new.plate_format,
                PLATE_FORMATS.join(", ")
            )));
        }
        // Unknown ids fail here, naming the first one.
        self.registry.smiles_of(&new.compounds).await?;
        let now = now();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO provision_requests (requester_id, purpose, amount, plate_format, status, \
             review_note, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, '', $6, $6) \
             RETURNING id",
        )
        .bind(actor.user_id)
        .bind(new.purpose.trim())
        .bind(new.amount.trim())
        .bind(&new.plate_format)
        .bind(Status::Submitted.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (position, compound) in new.compounds.iter().enumerate() {
            sqlx::query(
                "INSERT INTO provision_request_items (request_id, position, compound_id) \
                 VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(compound.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.audit(
            actor,
            "request.submit",
            id,
            serde_json::json!({"compounds": new.compounds.len()}),
        )
        .await?;
        self.get(actor, id).await
    }

    /// One request, if the actor may see it (their own, or any for a reviewer).
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<Request, RequestError> {
        let row = sqlx::query(
            "SELECT r.id, r.requester_id, u.username, r.purpose, r.amount, r.plate_format, \
             r.status, v.username, r.review_note, r.created_at, r.updated_at \
             FROM provision_requests r JOIN users u ON u.id = r.requester_id \
             LEFT JOIN users v ON v.id = r.reviewer_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(RequestError::NotFound(id))?;
        let requester_id: i64 = row.try_get(1)?;
        if requester_id != actor.user_id && !actor.can(Permission::ReviewRequests) {
            return Err(RequestError::NotFound(id));
        }
        let compounds = sqlx::query_scalar::<_, i64>(
            "SELECT compound_id FROM provision_request_items WHERE request_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CompoundId)
        .collect();
        let shipment = sqlx::query(
            "SELECT compound_id, barcode, well FROM provisions WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Container {
                compound: CompoundId(r.try_get(0)?),
                barcode: r.try_get(1)?,
                well: r.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Request {
            id: row.try_get(0)?,
            requester_id,
            requester: row.try_get(2)?,
            purpose: row.try_get(3)?,
            amount: row.try_get(4)?,
            plate_format: row.try_get(5)?,
            status: Status::parse(&row.try_get::<String, _>(6)?)?,
            reviewer: row.try_get(7)?,
            review_note: row.try_get(8)?,
            compounds,
            shipment,
            created_at: row.try_get(9)?,
            updated_at: row.try_get(10)?,
        })
    }

    /// The requests the actor may see, newest first: their own, or for a
    /// reviewer every request (the queue), optionally of one status.
    pub async fn list(
        &self,
        actor: &Actor,
        status: Option<Status>,
    ) -> Result<Vec<Request>, RequestError> {
        let everyone = actor.can(Permission::ReviewRequests);
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM provision_requests WHERE ($1 = 1 OR requester_id = $2) \
             AND ($3 = '' OR status = $3) ORDER BY id DESC LIMIT 500",
        )
        .bind(i64::from(everyone))
        .bind(actor.user_id)
        .bind(status.map_or("", Status::as_str))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.get(actor, id).await?);
        }
        Ok(out)
    }

    /// A reviewer approves a submitted request.
    pub async fn approve(
        &self,
        actor: &Actor,
        id: i64,
        note: &str,
    ) -> Result<Request, RequestError> {
        self.review(actor, id, Status::Approved, note, "approved").await
    }

    /// A reviewer rejects a submitted request; the note says why.
    pub async fn reject(
        &self,
        actor: &Actor,
        id: i64,
        note: &str,
    ) -> Result<Request, RequestError> {
        if note.trim().is_empty() {
            return Err(RequestError::Invalid("say why the request is rejected".into()));
        }
        self.review(actor, id, Status::Rejected, note, "rejected").await
    }

    async fn review(
        &self,
        actor: &Actor,
        id: i64,
        to: Status,
        note: &str,
        verb: &'static str,
    ) -> Result<Request, RequestError> {
        actor.require(Permission::ReviewRequests)?;
        library::check_free_text("the note", note).map_err(RequestError::Invalid)?;
        let request = self.get(actor, id).await?;
        if request.requester_id == actor.user_id {
            return Err(RequestError::Invalid("nobody may review their own request".into()));
        }
        self.move_state(id, Status::Submitted, to, Some((actor.user_id, note.trim())), verb)
            .await?;
        self.audit(
            actor,
            &format!("request.{}", to.as_str()),
            id,
            serde_json::json!({"note": note}),
        )
        .await?;
        self.get(actor, id).await
    }

    /// The requester withdraws a request not yet reviewed.
    pub async fn cancel(&self, actor: &Actor, id: i64) -> Result<Request, RequestError> {
        let request = self.get(actor, id).await?;
        if request.requester_id != actor.user_id {
            return Err(RequestError::Invalid("only the requester may cancel a request".into()));
        }
        self.move_state(id, Status::Submitted, Status::Cancelled, None, "cancelled").await?;
        self.audit(actor, "request.cancel", id, serde_json::json!({})).await?;
        self.get(actor, id).await
    }

    /// A reviewer records the shipment of an approved request: one container
    /// (and well) for every compound asked for. Each becomes a provision.
    pub async fn ship(
        &self,
        actor: &Actor,
        id: i64,
        containers: &[Container],
    ) -> Result<Request, RequestError> {
        actor.require(Permission::ReviewRequests)?;
        let request = self.get(actor, id).await?;
        if request.status != Status::Approved {
            return Err(RequestError::WrongState { id, status: request.status, verb: "shipped" });
        }
        check_shipment(&request.compounds, containers)?;
        let now = now();
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE provision_requests SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(Status::Shipped.as_str())
        .bind(now)
        .bind(id)
        .bind(Status::Approved.as_str())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            // Someone else shipped it between our read and our write.
            return Err(RequestError::WrongState { id, status: Status::Shipped, verb: "shipped" });
        }
        for c in containers {
            sqlx::query(
                "INSERT INTO provisions (request_id, compound_id, requester_id, shipped_by, barcode, \
                 well, shipped_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(c.compound.0)
            .bind(request.requester_id)
            .bind(actor.user_id)
            .bind(c.barcode.trim())
            .bind(c.well.trim())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.audit(actor, "request.ship", id, serde_json::json!({"containers": containers.len()}))
            .await?;
        self.get(actor, id).await
    }

    /// How many distinct compounds have been provided (shipped) in all.
    pub async fn compounds_provided(&self) -> Result<i64, RequestError> {
        Ok(sqlx::query_scalar("SELECT COUNT(DISTINCT compound_id) FROM provisions")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn move_state(
        &self,
        id: i64,
        from: Status,
        to: Status,
        review: Option<(i64, &str)>,
        verb: &'static str,
    ) -> Result<(), RequestError> {
        // The status test in the WHERE clause makes the move atomic: of two
        // reviewers acting at once, one wins and the other is told.
        let moved = sqlx::query(
            "UPDATE provision_requests SET status = $1, updated_at = $2, \
             reviewer_id = COALESCE($3, reviewer_id), review_note = COALESCE($4, review_note) \
             WHERE id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(now())
        .bind(review.map(|r| r.0))
        .bind(review.map(|r| r.1.to_owned()))
        .bind(id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() == 1 {
            return Ok(());
        }
        let status: String =
            sqlx::query_scalar("SELECT status FROM provision_requests WHERE id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        Err(RequestError::WrongState { id, status: Status::parse(&status)?, verb })
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        id: i64,
        detail: serde_json::Value,
    ) -> Result<(), RequestError> {
        Ok(self.accounts.audit(Some(actor), action, &format!("request:{id}"), detail).await?)
    }
}

/// A shipment must place every compound asked for, each once, in distinct
/// named containers and wells.
fn check_shipment(asked: &[CompoundId], containers: &[Container]) -> Result<(), RequestError> {
    let mut placed = std::collections::HashSet::new();
    let mut spots = std::collections::HashSet::new();
    for c in containers {
        if !asked.contains(&c.compound) {
            return Err(RequestError::Invalid(format!("{} was not requested", c.compound)));
        }
        if !placed.insert(c.compound) {
            return Err(RequestError::Invalid(format!("{} is shipped twice", c.compound)));
        }
        if c.barcode.trim().is_empty() {
            return Err(RequestError::Invalid(format!("{} has no container barcode", c.compound)));
        }
        if !spots.insert((c.barcode.trim().to_owned(), c.well.trim().to_owned())) {
            return Err(RequestError::Invalid(format!(
                "{} {} holds two compounds",
                c.barcode.trim(),
                c.well.trim()
            )));
        }
    }
    if let Some(missing) = asked.iter().find(|c| !placed.contains(c)) {
        return Err(RequestError::Invalid(format!(
            "{missing} is requested but not in the shipment"
        )));
    }
    Ok(())
}
