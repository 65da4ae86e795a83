//! The persistent job queue: long work (imports, index builds, later
//! docking and model training) runs as jobs kept in the platform database,
//! so they show progress and logs, can be cancelled and retried, run at most
//! a set number at a time, and survive a restart of the server.
//!
//! - [`Jobs`] is the store: enqueue, look, cancel, retry — each checked
//!   against the acting user (owners see their own jobs; roles with
//!   [`Permission::SeeAllJobs`] see all).
//! - [`Runner`] claims queued jobs (one atomic status flip, so two runners
//!   never take the same job), runs the handler registered for the job's
//!   kind, and records progress, logs and the outcome. At start it puts jobs
//!   left `running` by a previous process back in the queue; handlers are
//!   written to resume (an import continues from its checkpoint). A job
//!   whose runs were cut short by a dying process [`MAX_INTERRUPTIONS`]
//!   times (a crash loop: something in the job kills the server) is failed
//!   with that reason instead of being started again; a clean stop does not
//!   count.
//!
//! The crate knows nothing of what jobs do: handlers are plain async
//! functions given a [`JobContext`].

#![warn(missing_docs)]

mod runner;

use accounts::{Accounts, Actor, Permission};
use library::now;
use serde::Serialize;
use sqlx::{AnyPool, Row};

pub use runner::{Handler, JobContext, Runner};

/// How many runs of one job may end with the process dying under it before
/// the job is failed instead of being started once more.
pub const MAX_INTERRUPTIONS: i64 = 3;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a free slot.
    Queued,
    /// Being worked on.
    Running,
    /// Done; `result` holds what it produced.
    Succeeded,
    /// Stopped by an error; `error` says which. Can be retried.
    Failed,
    /// Stopped on request. Can be retried.
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Status, JobError> {
        [Status::Queued, Status::Running, Status::Succeeded, Status::Failed, Status::Cancelled]
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| JobError::Corrupt(format!("unknown job status '{s}'")))
    }

    /// Whether the job has ended (successfully or not).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Its number.
    pub id: i64,
    /// What kind of work (`import`, `reindex`, …): picks the handler.
    pub kind: String,
    /// The handler's parameters.
    pub params: serde_json::Value,
    /// Who started it.
    pub owner_id: i64,
    /// Where it stands.
    pub status: Status,
    /// 0 to 1.
    pub progress: f64,
    /// What it is doing now, in words.
    pub message: String,
    /// What it produced, once succeeded.
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many times it has been started.
    pub attempts: i64,
    /// How many of its runs since it was queued or retried ended with the
    /// process dying under it.
    pub interruptions: i64,
    /// A cancel has been asked for and not yet acted on.
    pub cancel_requested: bool,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// When the latest attempt started.
    pub started_at: Option<i64>,
    /// When it ended.
    pub finished_at: Option<i64>,
}

/// One log line of a job.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// The line.
    pub line: String,
}

/// What can go wrong with jobs.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No such job, or one the caller may not see.
    #[error("no job {0} that you may see")]
    NotFound(i64),
    /// The move is not allowed from the job's current status.
    #[error("job {id} is {status}; it cannot be {verb}")]
    WrongState {
        /// The job.
        id: i64,
        /// Its status.
        status: Status,
        /// What was tried.
        verb: &'static str,
    },
    /// The caller's role does not allow this, or an account problem.
    #[error(transparent)]
    Account(#[from] accounts::AccountError),
    /// The database could not be queried.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data that cannot be read back.
    #[error("corrupt job data: {0}")]
    Corrupt(String),
}

/// The job store.
#[derive(Clone)]
pub struct Jobs {
    pool: AnyPool,
    accounts: Accounts,
    /// Wakes this process's runner when a job is queued.
    wake: std::sync::Arc<tokio::sync::Notify>,
}

const COLUMNS: &str = "id, kind, params, owner_id, status, progress, message, result, error, \
     attempts, cancel_requested, created_at, started_at, finished_at, interruptions";

impl Jobs {
    /// Uses the platform database, applying the jobs migrations.
    pub async fn attach(pool: AnyPool, accounts: Accounts) -> Result<Jobs, JobError> {
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Jobs { pool, accounts, wake: Default::default() })
    }

    /// Queues a job of `kind` for `owner`. The caller has checked that the
    /// owner may start this kind of work (the right depends on the kind).
    pub async fn enqueue(
        &self,
        owner: &Actor,
        kind: &str,
        params: serde_json::Value,
    ) -> Result<Job, JobError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (kind, params, owner_id, status, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(kind)
        .bind(params.to_string())
        .bind(owner.user_id)
        .bind(Status::Queued.as_str())
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        self.wake.notify_one();
        self.accounts
            .audit(
                Some(owner),
                "job.start",
                &format!("job:{id}"),
                serde_json::json!({"kind": kind}),
            )
            .await?;
        self.load(id).await
    }

    /// A job the actor may see.
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<Job, JobError> {
        let job = self.load(id).await.map_err(|e| match e {
            JobError::NotFound(_) => JobError::NotFound(id),
            other => other,
        })?;
        if job.owner_id != actor.user_id && !actor.can(Permission::SeeAllJobs) {
            return Err(JobError::NotFound(id));
        }
        Ok(job)
    }

    /// The jobs the actor may see, newest first (at most 200).
    pub async fn list(&self, actor: &Actor) -> Result<Vec<Job>, JobError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE ($1 = 1 OR owner_id = $2) ORDER BY id DESC LIMIT 200"
        ))
        .bind(i64::from(actor.can(Permission::SeeAllJobs)))
        .bind(actor.user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// A job's log, oldest first.
    pub async fn log(&self, actor: &Actor, id: i64) -> Result<Vec<LogLine>, JobError> {
        self.get(actor, id).await?;
        let rows = sqlx::query("SELECT at, line FROM job_logs WHERE job_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(LogLine { at: r.try_get(0)?, line: r.try_get(1)? })).collect()
    }

    /// Asks a job to stop. A queued job is cancelled at once; a running one
    /// stops at its handler's next check.
    pub async fn cancel(&self, actor: &Actor, id: i64) -> Result<Job, JobError> {
        let job = self.get(actor, id).await?;
        if job.status.is_final() {
            return Err(JobError::WrongState { id, status: job.status, verb: "cancelled" });
        }
        sqlx::query(
            "UPDATE jobs SET cancel_requested = 1, \
             status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, \
             finished_at = CASE WHEN status = 'queued' THEN $1 ELSE finished_at END \
             WHERE id = $2",
        )
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.accounts
            .audit(Some(actor), "job.cancel", &format!("job:{id}"), serde_json::json!({}))
            .await?;
        self.load(id).await
    }

    /// Queues a failed or cancelled job again (its handler resumes where it
    /// can).
    pub async fn retry(&self, actor: &Actor, id: i64) -> Result<Job, JobError> {
        let job = self.get(actor, id).await?;
        let moved = sqlx::query(
            "UPDATE jobs SET status = 'queued', cancel_requested = 0, error = NULL, \
             interruptions = 0, finished_at = NULL \
             WHERE id = $1 AND status IN ('failed', 'cancelled')",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(JobError::WrongState { id, status: job.status, verb: "retried" });
        }
        self.wake.notify_one();
        self.accounts
            .audit(Some(actor), "job.retry", &format!("job:{id}"), serde_json::json!({}))
            .await?;
        self.load(id).await
    }

    async fn load(&self, id: i64) -> Result<Job, JobError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(JobError::NotFound(id))?;
        job_from_row(&row)
    }

    /// Takes the oldest queued job, marking it running; `None` when the
    /// queue is empty.
    pub(crate) async fn claim(&self) -> Result<Option<Job>, JobError> {
        loop {
            let next: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            let Some(id) = next else { return Ok(None) };
            let taken = sqlx::query(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $1, \
                 message = '' WHERE id = $2 AND status = 'queued'",
            )
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await?;
            // Another runner may have taken it between the two statements.
            if taken.rows_affected() == 1 {
                return self.load(id).await.map(Some);
            }
        }
    }

    /// Puts jobs left running by a process that died back in the queue,
    /// counting the interruption; a job interrupted [`MAX_INTERRUPTIONS`]
    /// times fails instead. Returns how many were requeued.
    pub(crate) async fn requeue_running(&self) -> Result<u64, JobError> {
        let stuck: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, interruptions + 1 FROM jobs WHERE status = 'running' \
             AND cancel_requested = 0 AND interruptions + 1 >= $1",
        )
        .bind(MAX_INTERRUPTIONS)
        .fetch_all(&self.pool)
        .await?;
        for (id, times) in stuck {
            let why = format!(
                "interrupted: the server stopped {times} times while this job ran, so it was \
                 not started again; it may be what stops the server: check its input, then retry"
            );
            // One statement, so nobody sees the count without the verdict.
            sqlx::query(
                "UPDATE jobs SET status = 'failed', error = $1, finished_at = $2, \
                 interruptions = $3 WHERE id = $4 AND status = 'running'",
            )
            .bind(&why)
            .bind(now())
            .bind(times)
            .bind(id)
            .execute(&self.pool)
            .await?;
            self.append_log(id, &format!("failed: {why}")).await?;
        }
        let moved = sqlx::query(
            "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'cancelled' \
             ELSE 'queued' END, \
             interruptions = interruptions + (CASE WHEN cancel_requested = 1 THEN 0 ELSE 1 END) \
             WHERE status = 'running'",
        )
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected())
    }

    /// Puts a job this process was running back in the queue at a clean
    /// stop, so that the next start resumes it without counting an
    /// interruption.
    pub(crate) async fn release(&self, id: i64) -> Result<(), JobError> {
        sqlx::query("UPDATE jobs SET status = 'queued' WHERE id = $1 AND status = 'running'")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Fails a job that has not ended, for the operator at the machine
    /// (`soyaku jobs fail`): the way out of a job that stops the server
    /// before its limit is reached. Audited with no acting user.
    pub async fn fail_by_operator(&self, id: i64, why: &str) -> Result<Job, JobError> {
        let job = self.load(id).await?;
        if job.status.is_final() {
            return Err(JobError::WrongState { id, status: job.status, verb: "failed" });
        }
        let why = format!("failed by the operator: {why}");
        self.append_log(id, &why).await?;
        self.finish(id, Outcome::Failed(why.clone())).await?;
        self.accounts
            .audit(None, "job.fail", &format!("job:{id}"), serde_json::json!({"why": why}))
            .await?;
        self.load(id).await
    }

    pub(crate) async fn set_progress(
        &self,
        id: i64,
        progress: f64,
        message: &str,
    ) -> Result<(), JobError> {
        sqlx::query("UPDATE jobs SET progress = $1, message = $2 WHERE id = $3")
            .bind(progress.clamp(0.0, 1.0))
            .bind(message)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn append_log(&self, id: i64, line: &str) -> Result<(), JobError> {
        sqlx::query("INSERT INTO job_logs (job_id, at, line) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(now())
            .bind(line)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn cancel_requested(&self, id: i64) -> Result<bool, JobError> {
        let flag: i64 = sqlx::query_scalar("SELECT cancel_requested FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(flag != 0)
    }

    pub(crate) async fn finish(&self, id: i64, outcome: Outcome) -> Result<(), JobError> {
        let (status, result, error, progress) = match outcome {
            Outcome::Done(v) => (Status::Succeeded, Some(v.to_string()), None, 1.0),
            Outcome::Cancelled => (Status::Cancelled, None, None, -1.0),
            Outcome::Failed(e) => (Status::Failed, None, Some(e), -1.0),
        };
        sqlx::query(
            "UPDATE jobs SET status = $1, result = $2, error = $3, finished_at = $4, \
             progress = CASE WHEN $5 < 0 THEN progress ELSE $5 END WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(result)
        .bind(error)
        .bind(now())
        .bind(progress)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// How a handler's run ended.
pub(crate) enum Outcome {
    Done(serde_json::Value),
    Cancelled,
    Failed(String),
}

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job, JobError> {
    let json = |text: Option<String>| -> Result<Option<serde_json::Value>, JobError> {
        text.map(|t| serde_json::from_str(&t).map_err(|e| JobError::Corrupt(e.to_string())))
            .transpose()
    };
    Ok(Job {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        params: json(Some(r.try_get(2)?))?.unwrap_or_default(),
        owner_id: r.try_get(3)?,
        status: Status::parse(&r.try_get::<String, _>(4)?)?,
        progress: r.try_get(5)?,
        message: r.try_get(6)?,
        result: json(r.try_get(7)?)?,
        error: r.try_get(8)?,
        attempts: r.try_get(9)?,
        cancel_requested: r.try_get::<i64, _>(10)? != 0,
        created_at: r.try_get(11)?,
        started_at: r.try_get(12)?,
        finished_at: r.try_get(13)?,
        interruptions: r.try_get(14)?,
    })
}
