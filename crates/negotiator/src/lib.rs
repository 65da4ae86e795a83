//! Biobank access requests, as BBMRI's Negotiator runs them: from a
//! cross-search result, a researcher asks the biobanks that hold matching
//! samples for access (project, purpose, ethics approval, what is wanted,
//! and the query itself). Each biobank decides for its own part:
//!
//! ```text
//! submitted ─► under_review ─► approved ─► transferred ─► closed
//!      │             └───────► rejected ─────────────────► closed
//!      └──────────┴─► withdrawn   (by the requester, before a decision)
//! ```
//!
//! Every step and every message is an event; requests and events are
//! append-only (database triggers refuse UPDATE and DELETE), so a part's
//! state is its last state event and the history cannot be rewritten.
//!
//! Who sees what: the requester their own requests; a biobank's curators
//! (assigned by an admin) the requests that name their biobank, and only
//! that biobank's thread; programme officers every request, read only.
//! Only a biobank's curators move its part; every view and step is audited.

#![warn(missing_docs)]

use accounts::{AccountError, Accounts, Actor, Permission};
use library::now;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyPool, Row};

/// A biobank's part of a request: where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Sent, not yet looked at.
    Submitted,
    /// The biobank is reviewing it.
    UnderReview,
    /// Access granted.
    Approved,
    /// Access refused (with a reason).
    Rejected,
    /// Samples or data handed over.
    Transferred,
    /// Finished.
    Closed,
    /// Taken back by the requester before a decision.
    Withdrawn,
}

impl State {
    /// Every state.
    pub const ALL: [State; 7] = [
        State::Submitted,
        State::UnderReview,
        State::Approved,
        State::Rejected,
        State::Transferred,
        State::Closed,
        State::Withdrawn,
    ];

    /// The name stored and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::UnderReview => "under_review",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Transferred => "transferred",
            State::Closed => "closed",
            State::Withdrawn => "withdrawn",
        }
    }

    fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The states a curator may move a part to from this one.
    pub fn curator_next(self) -> &'static [State] {
        match self {
            State::Submitted => &[State::UnderReview],
            State::UnderReview => &[State::Approved, State::Rejected],
            State::Approved => &[State::Transferred],
            State::Transferred | State::Rejected => &[State::Closed],
            State::Closed | State::Withdrawn => &[],
        }
    }

    /// Whether the requester may still withdraw.
    pub fn withdrawable(self) -> bool {
        matches!(self, State::Submitted | State::UnderReview)
    }
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum NegotiatorError {
    /// No such request, or one the caller may not see.
    #[error("no access request {0} that you may see")]
    NotFound(i64),
    /// Input that breaks a rule (the message says which and how to fix it).
    #[error("{0}")]
    Invalid(String),
    /// The caller's role does not allow this, or an account problem.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The database could not be queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A request as submitted.
#[derive(Debug, Clone, Deserialize)]
pub struct NewRequest {
    /// A title for people.
    pub title: String,
    /// The project it is for.
    pub project: String,
    /// What the samples or data will be used for.
    pub purpose: String,
    /// The ethics committee approval (committee and number).
    pub ethics: String,
    /// The cross-search query whose result is asked for.
    pub query: biobank::Query,
    /// Which biobanks are asked.
    pub biobanks: Vec<String>,
    /// What is wanted (samples, amounts, data types).
    pub wanted: String,
}

/// One event of a request's history.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// The biobank's thread.
    pub biobank: String,
    /// Who.
    pub by: String,
    /// The state moved to, if a step.
    pub state: Option<State>,
    /// The message (a step's reason, or a message).
    pub message: String,
    /// Seconds since the Unix epoch.
    pub at: i64,
}

/// One biobank's part.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// The biobank.
    pub biobank: String,
    /// Where it is.
    pub state: State,
    /// The states the caller may move it to.
    pub next: Vec<State>,
}

/// A request as the caller may see it.
#[derive(Debug, Clone, Serialize)]
pub struct AccessRequest {
    /// Its number.
    pub id: i64,
    /// Who asked.
    pub requester: String,
    /// Title.
    pub title: String,
    /// Project.
    pub project: String,
    /// Purpose.
    pub purpose: String,
    /// Ethics approval.
    pub ethics: String,
    /// The query.
    pub query: Value,
    /// What is wanted.
    pub wanted: String,
    /// Seconds since the Unix epoch.
    pub submitted_at: i64,
    /// The parts the caller may see.
    pub parts: Vec<Part>,
    /// Their history, oldest first.
    pub events: Vec<Event>,
}

/// The access desk.
#[derive(Clone)]
pub struct Negotiator {
    pool: AnyPool,
    accounts: Accounts,
}

impl Negotiator {
    /// Uses the platform database, applying the negotiator's migrations.
    pub async fn attach(pool: AnyPool, accounts: Accounts) -> Result<Negotiator, NegotiatorError> {
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Negotiator { pool, accounts })
    }

    /// Makes `username` a curator of `biobank` (admins).
    pub async fn assign_curator(
        &self,
        by: &Actor,
        username: &str,
        biobank: &str,
    ) -> Result<(), NegotiatorError> {
        by.require(Permission::ManageUsers)?;
        let row = sqlx::query("SELECT id, role FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| NegotiatorError::Invalid(format!("no user '{username}'")))?;
        let role: String = row.try_get("role")?;
        if role != accounts::Role::BiobankCurator.as_str() {
            return Err(NegotiatorError::Invalid(format!(
                "'{username}' is a {role}; only biobank_curator accounts curate biobanks"
            )));
        }
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO biobank_curators (user_id, biobank) VALUES ($1, $2) \
             ON CONFLICT (user_id, biobank) DO NOTHING",
        )
        .bind(id)
        .bind(biobank)
        .execute(&self.pool)
        .await?;
        self.accounts
            .audit(Some(by), "biobank.curator", biobank, json!({"user": username}))
            .await?;
        Ok(())
    }

    /// The biobanks `actor` curates.
    pub async fn curated_by(&self, actor: &Actor) -> Result<Vec<String>, NegotiatorError> {
        if !actor.can(Permission::CurateBiobanks) {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT biobank FROM biobank_curators WHERE user_id = $1 ORDER BY biobank",
        )
        .bind(actor.user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Submits a request to the biobanks it names, which must be among
    /// `known` (the cross-search's biobanks).
    pub async fn submit(
        &self,
        actor: &Actor,
        new: NewRequest,
        known: &[String],
    ) -> Result<AccessRequest, NegotiatorError> {
        actor.require(Permission::RequestBiobankAccess)?;
        let missing = |what: &str| NegotiatorError::Invalid(format!("say {what}"));
        for (text, what) in [
            (&new.title, "what the request is (a title)"),
            (&new.project, "which project it is for"),
            (&new.purpose, "what the samples or data will be used for"),
            (&new.ethics, "which ethics committee approved the study, and its number"),
            (&new.wanted, "what you want (samples, amounts, data)"),
        ] {
            if text.trim().is_empty() {
                return Err(missing(what));
            }
        }
        for (field, text) in [
            ("the title", &new.title),
            ("the project", &new.project),
            ("the purpose", &new.purpose),
            ("the ethics approval", &new.ethics),
            ("what is wanted", &new.wanted),
        ] {
            library::check_free_text(field, text).map_err(NegotiatorError::Invalid)?;
        }
        let mut banks = new.biobanks.clone();
        banks.sort();
        banks.dedup();
        if banks.is_empty() {
            return Err(missing("which biobanks you ask"));
        }
        if let Some(b) = banks.iter().find(|b| !known.contains(b)) {
            return Err(NegotiatorError::Invalid(format!(
                "no biobank '{b}' in the cross-search; it has {}",
                known.join(", ")
            )));
        }
        let query = serde_json::to_string(&new.query).expect("a query serialises");
        let at = now();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO biobank_access_requests \
             (requester_id, title, project, purpose, ethics, query, wanted, biobanks, submitted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(actor.user_id)
        .bind(new.title.trim())
        .bind(new.project.trim())
        .bind(new.purpose.trim())
        .bind(new.ethics.trim())
        .bind(&query)
        .bind(new.wanted.trim())
        .bind(serde_json::to_string(&banks).expect("names serialise"))
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        for b in &banks {
            insert_event(&mut tx, id, b, actor.user_id, Some(State::Submitted), "", at).await?;
        }
        tx.commit().await?;
        self.accounts
            .audit(
                Some(actor),
                "biobank.access.submit",
                &format!("access:{id}"),
                json!({"biobanks": banks}),
            )
            .await?;
        self.read(actor, id).await
    }

    /// The requests the caller may see, newest first.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<AccessRequest>, NegotiatorError> {
        let ids: Vec<i64> = if actor.can(Permission::SeeAllBiobankRequests) {
            sqlx::query_scalar("SELECT id FROM biobank_access_requests ORDER BY id DESC")
                .fetch_all(&self.pool)
                .await?
        } else if actor.can(Permission::CurateBiobanks) {
            sqlx::query_scalar(
                "SELECT DISTINCT e.request_id FROM biobank_access_events e \
                 JOIN biobank_curators c ON c.biobank = e.biobank AND c.user_id = $1 \
                 ORDER BY e.request_id DESC",
            )
            .bind(actor.user_id)
            .fetch_all(&self.pool)
            .await?
        } else {
            sqlx::query_scalar(
                "SELECT id FROM biobank_access_requests WHERE requester_id = $1 ORDER BY id DESC",
            )
            .bind(actor.user_id)
            .fetch_all(&self.pool)
            .await?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.read(actor, id).await?);
        }
        Ok(out)
    }

    /// One request, audited as seen.
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<AccessRequest, NegotiatorError> {
        let r = self.read(actor, id).await?;
        self.accounts
            .audit(Some(actor), "biobank.access.view", &format!("access:{id}"), json!({}))
            .await?;
        Ok(r)
    }

    /// Moves `biobank`'s part of request `id` to `to`, with `message`
    /// (required when rejecting). Curators of that biobank move it; the
    /// requester may only withdraw.
    pub async fn step(
        &self,
        actor: &Actor,
        id: i64,
        biobank: &str,
        to: State,
        message: &str,
    ) -> Result<AccessRequest, NegotiatorError> {
        let r = self.read(actor, id).await?;
        let part = r.parts.iter().find(|p| p.biobank == biobank).ok_or_else(|| {
            NegotiatorError::Invalid(format!("request {id} does not ask '{biobank}'"))
        })?;
        if !part.next.contains(&to) {
            let may: Vec<&str> = part.next.iter().map(|s| s.as_str()).collect();
            return Err(NegotiatorError::Invalid(if may.is_empty() {
                format!(
                    "you cannot move {biobank}'s part of request {id} from {}",
                    part.state.as_str()
                )
            } else {
                format!(
                    "{biobank}'s part of request {id} is {}; you may move it to {}, not {}",
                    part.state.as_str(),
                    may.join(" or "),
                    to.as_str()
                )
            }));
        }
        if to == State::Rejected && message.trim().is_empty() {
            return Err(NegotiatorError::Invalid("say why the request is rejected".into()));
        }
        library::check_free_text("the message", message).map_err(NegotiatorError::Invalid)?;
        let mut tx = self.pool.begin().await?;
        insert_event(&mut tx, id, biobank, actor.user_id, Some(to), message.trim(), now()).await?;
        tx.commit().await?;
        self.accounts
            .audit(
                Some(actor),
                "biobank.access.step",
                &format!("access:{id}"),
                json!({"biobank": biobank, "from": part.state, "to": to}),
            )
            .await?;
        self.read(actor, id).await
    }

    /// Posts a message in `biobank`'s thread of request `id` (the requester
    /// or that biobank's curators).
    pub async fn message(
        &self,
        actor: &Actor,
        id: i64,
        biobank: &str,
        text: &str,
    ) -> Result<AccessRequest, NegotiatorError> {
        let r = self.read(actor, id).await?;
        if text.trim().is_empty() {
            return Err(NegotiatorError::Invalid("the message is empty".into()));
        }
        library::check_free_text("the message", text).map_err(NegotiatorError::Invalid)?;
        let mine = r.requester == actor.username;
        let curates = self.curated_by(actor).await?.iter().any(|b| b == biobank);
        if !r.parts.iter().any(|p| p.biobank == biobank) || !(mine || curates) {
            return Err(NegotiatorError::Invalid(format!(
                "you cannot write in {biobank}'s thread of request {id}"
            )));
        }
        let mut tx = self.pool.begin().await?;
        insert_event(&mut tx, id, biobank, actor.user_id, None, text.trim(), now()).await?;
        tx.commit().await?;
        self.accounts
            .audit(
                Some(actor),
                "biobank.access.message",
                &format!("access:{id}"),
                json!({"biobank": biobank}),
            )
            .await?;
        self.read(actor, id).await
    }

    /// The query whose sample records `biobank` approved for `actor` in
    /// request `id`: only the requester, only once that biobank approved
    /// (or has transferred). Audited.
    pub async fn grant(
        &self,
        actor: &Actor,
        id: i64,
        biobank: &str,
    ) -> Result<biobank::Query, NegotiatorError> {
        let r = self.read(actor, id).await?;
        let state = r.parts.iter().find(|p| p.biobank == biobank).map(|p| p.state);
        if r.requester != actor.username
            || !matches!(state, Some(State::Approved | State::Transferred))
        {
            return Err(NegotiatorError::Invalid(format!(
                "records come only to the requester, once {biobank} has approved request {id}"
            )));
        }
        self.accounts
            .audit(
                Some(actor),
                "biobank.access.records",
                &format!("access:{id}"),
                json!({"biobank": biobank}),
            )
            .await?;
        serde_json::from_value(r.query)
            .map_err(|e| NegotiatorError::Invalid(format!("the request's stored query: {e}")))
    }

    /// Requests approved by at least one biobank, per biobank: the KPI of
    /// access granted.
    pub async fn approved_counts(&self) -> Result<Vec<(String, i64)>, NegotiatorError> {
        let rows = sqlx::query(
            "SELECT biobank, COUNT(DISTINCT request_id) AS n FROM biobank_access_events \
             WHERE state = 'approved' GROUP BY biobank ORDER BY biobank",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("biobank")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// The request as `actor` may see it, unaudited.
    async fn read(&self, actor: &Actor, id: i64) -> Result<AccessRequest, NegotiatorError> {
        let row = sqlx::query(
            "SELECT r.id, u.username, r.requester_id, r.title, r.project, r.purpose, r.ethics, \
             r.query, r.wanted, r.submitted_at FROM biobank_access_requests r \
             JOIN users u ON u.id = r.requester_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(NegotiatorError::NotFound(id))?;
        let requester_id: i64 = row.try_get("requester_id")?;
        let mine = requester_id == actor.user_id;
        let all = actor.can(Permission::SeeAllBiobankRequests);
        let curated = self.curated_by(actor).await?;
        let events = sqlx::query(
            "SELECT e.biobank, u.username, e.state, e.message, e.at FROM biobank_access_events e \
             JOIN users u ON u.id = e.actor_id WHERE e.request_id = $1 ORDER BY e.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut seen = Vec::new();
        for e in &events {
            let biobank: String = e.try_get("biobank")?;
            if !(mine || all || curated.contains(&biobank)) {
                continue;
            }
            let state: Option<String> = e.try_get("state")?;
            seen.push(Event {
                biobank,
                by: e.try_get("username")?,
                state: state.as_deref().and_then(State::parse),
                message: e.try_get("message")?,
                at: e.try_get("at")?,
            });
        }
        if seen.is_empty() {
            return Err(NegotiatorError::NotFound(id));
        }
        let mut parts: Vec<Part> = Vec::new();
        for e in &seen {
            let Some(state) = e.state else { continue };
            match parts.iter_mut().find(|p| p.biobank == e.biobank) {
                Some(p) => p.state = state,
                None => parts.push(Part { biobank: e.biobank.clone(), state, next: Vec::new() }),
            }
        }
        for p in &mut parts {
            if curated.contains(&p.biobank) {
                p.next.extend_from_slice(p.state.curator_next());
            }
            if mine && p.state.withdrawable() {
                p.next.push(State::Withdrawn);
            }
        }
        let query: String = row.try_get("query")?;
        Ok(AccessRequest {
            id,
            requester: row.try_get("username")?,
            title: row.try_get("title")?,
            project: row.try_get("project")?,
            purpose: row.try_get("purpose")?,
            ethics: row.try_get("ethics")?,
            query: serde_json::from_str(&query).unwrap_or(Value::Null),
            wanted: row.try_get("wanted")?,
            submitted_at: row.try_get("submitted_at")?,
            parts,
            events: seen,
        })
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    request: i64,
    biobank: &str,
    actor: i64,
    state: Option<State>,
    message: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO biobank_access_events (request_id, biobank, actor_id, state, message, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(request)
    .bind(biobank)
    .bind(actor)
    .bind(state.map(State::as_str))
    .bind(message)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
