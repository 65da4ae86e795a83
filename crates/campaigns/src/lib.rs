//! Screening campaigns as the platform records them, from raw plate data to
//! the seeds the programme counts:
//!
//! ```text
//! reader files + map + protocol ──record_run──► run (files kept, QC, hits)
//! hit + concentration–response ──confirm──► curve (fit, class, decision)
//!                                              └─ accepted ─► seed found
//! ```
//!
//! Every record is append-only (database triggers refuse UPDATE and
//! DELETE), and a run keeps the exact files it was computed from with their
//! SHA-256, so [`Campaigns::verify`] can recompute it — QC, hits and every
//! curve — and show that the stored results are what the files give.
//!
//! Who sees what: support staff record runs and confirmations; a run's
//! requester (a researcher) sees that run; staff and programme officers see
//! all. Every record and every view is in the audit log.

#![warn(missing_docs)]

use accounts::{Accounts, Actor, Permission};
use library::{now, CompoundId, Registry};
use screening::{analyse_run, fit_ll4, FitOptions, RunFiles, RunReport};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sqlx::{AnyPool, Row};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// No such run (or curve), or one the caller may not see.
    #[error("no screening run {0} that you may see")]
    NotFound(i64),
    /// The files do not make a run; each line says what and where.
    #[error("the run cannot be analysed:\n{0}")]
    Run(#[from] screening::RunError),
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
    /// A stored record that does not parse.
    #[error("stored record is damaged: {0}")]
    Damaged(#[from] serde_json::Error),
}

/// A run to record.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The project the screen is for (as the programme names it).
    pub project: String,
    /// A title for people.
    pub title: String,
    /// The researcher who asked for the screen (username), who may then
    /// see it.
    pub requester: Option<String>,
    /// Everything it is computed from.
    pub files: RunFiles,
}

/// A recorded run, without its files.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Its number.
    pub id: i64,
    /// The project.
    pub project: String,
    /// Title.
    pub title: String,
    /// Who asked for the screen.
    pub requester: Option<String>,
    /// The protocol's name.
    pub protocol: String,
    /// SHA-256 of the files, in a fixed order (see [`files_digest`]).
    pub files_sha256: String,
    /// Version of the screening engine that computed it.
    pub engine: String,
    /// One object per plate: QC and verdict.
    pub plates: Value,
    /// Counts: plates, passed, hits, hit rate, mean Z′.
    pub summary: Value,
    /// Who recorded it.
    pub recorded_by: String,
    /// Seconds since the Unix epoch.
    pub recorded_at: i64,
}

/// A hit as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HitRecord {
    /// The map's plate.
    pub plate: String,
    /// The well, `A01` style.
    pub well: String,
    /// The compound the map names there.
    pub compound: Option<String>,
    /// Concentration, mol/L.
    pub concentration: Option<f64>,
    /// Combined score.
    pub score: f64,
}

/// A confirmation curve as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// Its number.
    pub id: i64,
    /// The run whose hit it confirms.
    pub run_id: i64,
    /// The compound.
    pub compound: String,
    /// (concentration mol/L, response) points.
    pub points: Vec<(f64, f64)>,
    /// The fit: bottom, top, ic50, hill, intervals, r², class (null
    /// fields where the data do not determine them), or the fit error.
    pub fit: Value,
    /// NCGC class, or `error`.
    pub class: String,
    /// `seed`, or why not.
    pub decision: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// Seconds since the Unix epoch.
    pub recorded_at: i64,
}

/// A seed found.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// Its number.
    pub id: i64,
    /// The compound.
    pub compound: CompoundId,
    /// The project.
    pub project: String,
    /// The primary screen.
    pub run_id: i64,
    /// The confirming curve.
    pub curve_id: i64,
    /// Seconds since the Unix epoch.
    pub recorded_at: i64,
}

/// What recomputing a run from its files found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The files still have the digest recorded.
    pub files_intact: bool,
    /// Plate QC, hits and curves as recorded.
    pub results_match: bool,
    /// Each difference, for people.
    pub differences: Vec<String>,
}

/// SHA-256 over the run's files, each length-prefixed in a fixed order
/// (protocol, map, plate list, then each plate file's name and text), so no
/// two different sets of files share a digest by concatenation.
pub fn files_digest(files: &RunFiles) -> String {
    let mut hash = Sha256::new();
    let mut put = |s: &str| {
        hash.update((s.len() as u64).to_le_bytes());
        hash.update(s.as_bytes());
    };
    put(&files.protocol);
    put(&files.map);
    put(files.plate_list.as_deref().unwrap_or(""));
    for (name, text) in &files.plates {
        put(name);
        put(text);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn files_json(files: &RunFiles) -> Value {
    json!({
        "protocol": files.protocol, "map": files.map, "plate_list": files.plate_list,
        "plates": files.plates.iter().map(|(n, t)| json!({"name": n, "text": t})).collect::<Vec<_>>(),
    })
}

fn files_of(v: &Value) -> Result<RunFiles, CampaignError> {
    let text = |k: &str| v[k].as_str().map(str::to_owned);
    let damaged = || CampaignError::Invalid("stored run files are damaged".into());
    Ok(RunFiles {
        protocol: text("protocol").ok_or_else(damaged)?,
        map: text("map").ok_or_else(damaged)?,
        plate_list: text("plate_list"),
        plates: v["plates"]
            .as_array()
            .ok_or_else(damaged)?
            .iter()
            .map(|p| Some((p["name"].as_str()?.to_owned(), p["text"].as_str()?.to_owned())))
            .collect::<Option<_>>()
            .ok_or_else(damaged)?,
    })
}

fn hits_of(report: &RunReport) -> Vec<HitRecord> {
    report
        .hits
        .iter()
        .map(|h| HitRecord {
            plate: h.plate.clone(),
            well: h.well.to_string(),
            compound: h.compound.clone(),
            concentration: h.concentration,
            score: h.score,
        })
        .collect()
}

/// The fit of a curve as stored, and its class.
fn fit_json(points: &[(f64, f64)]) -> (Value, String, Option<screening::Fit>) {
    let (x, y): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    let interval = |i: Option<screening::Interval>| {
        i.map_or(Value::Null, |i| json!({"low": i.low, "high": i.high}))
    };
    match fit_ll4(&x, &y, FitOptions::default()) {
        Ok(f) => (
            json!({
                "bottom": f.bottom, "top": f.top, "ic50": f.ec50, "hill": f.hill,
                "bottom_ci": interval(f.bottom_ci), "top_ci": interval(f.top_ci),
                "ic50_ci": interval(f.ec50_ci), "hill_ci": interval(f.hill_ci),
                "r_squared": f.r_squared, "n": f.n, "class": f.class.as_str(),
            }),
            f.class.as_str().to_owned(),
            Some(f),
        ),
        Err(e) => (json!({"error": e.to_string()}), "error".into(), None),
    }
}

/// Floats from JSON compare within this relative tolerance: the stored
/// numbers went through text.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The screening desk.
#[derive(Clone)]
pub struct Campaigns {
    pool: AnyPool,
    accounts: Accounts,
    registry: Registry,
}

impl Campaigns {
    /// Uses the platform database, applying the campaigns migrations.
    pub async fn attach(
        registry: Registry,
        accounts: Accounts,
    ) -> Result<Campaigns, CampaignError> {
        let pool = registry.pool().clone();
        library::migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Campaigns { pool, accounts, registry })
    }

    /// Refuses an actor who may not record runs: asked before a run's
    /// files are received, so that nobody else can make the server read
    /// hundreds of megabytes.
    pub fn admit_run(&self, actor: &Actor) -> Result<(), CampaignError> {
        Ok(actor.require(Permission::RecordScreens)?)
    }

    /// Analyses and records a run. Nothing is recorded when any file has a
    /// problem; the error lists them all. The analysis runs on a blocking
    /// thread, not the async ones.
    pub async fn record_run(&self, actor: &Actor, new: NewRun) -> Result<Run, CampaignError> {
        actor.require(Permission::RecordScreens)?;
        if new.project.trim().is_empty() {
            return Err(CampaignError::Invalid("say which project the screen is for".into()));
        }
        let requester_id = match new.requester.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(name) => Some(
                sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE username = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| CampaignError::Invalid(format!("no user '{name}'")))?,
            ),
            None => None,
        };
        let (report, new) = tokio::task::spawn_blocking(move || (analyse_run(&new.files), new))
            .await
            .map_err(|e| CampaignError::Invalid(format!("the analysis failed: {e}")))?;
        let report = report?;
        let digest = files_digest(&new.files);
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO screen_runs (project, title, requester_id, protocol_name, files, \
             files_sha256, engine, plates, summary, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(new.project.trim())
        .bind(new.title.trim())
        .bind(requester_id)
        .bind(&report.protocol.name)
        .bind(files_json(&new.files).to_string())
        .bind(&digest)
        .bind(screening::VERSION)
        .bind(Value::from(report.plate_rows()).to_string())
        .bind(report.summary().to_string())
        .bind(actor.user_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        for hit in hits_of(&report) {
            sqlx::query(
                "INSERT INTO screen_hits (run_id, plate, well, compound, concentration, score) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(&hit.plate)
            .bind(&hit.well)
            .bind(&hit.compound)
            .bind(library::Float8(hit.concentration))
            .bind(hit.score)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.accounts
            .audit(
                Some(actor),
                "screen.record",
                &format!("screen:{id}"),
                json!({"project": new.project, "files_sha256": digest, "hits": report.hits.len()}),
            )
            .await?;
        self.get(actor, id).await
    }

    fn visible(actor: &Actor) -> Result<Option<i64>, CampaignError> {
        actor.require(Permission::ViewScreens)?;
        Ok((!actor.can(Permission::SeeAllScreens)).then_some(actor.user_id))
    }

    const RUN_COLUMNS: &'static str = "r.id, r.project, r.title, q.username, r.protocol_name, \
         r.files_sha256, r.engine, r.plates, r.summary, u.username, r.recorded_at \
         FROM screen_runs r JOIN users u ON u.id = r.recorded_by \
         LEFT JOIN users q ON q.id = r.requester_id";

    fn run_of(row: &sqlx::any::AnyRow) -> Result<Run, CampaignError> {
        Ok(Run {
            id: row.try_get(0)?,
            project: row.try_get(1)?,
            title: row.try_get(2)?,
            requester: row.try_get(3)?,
            protocol: row.try_get(4)?,
            files_sha256: row.try_get(5)?,
            engine: row.try_get(6)?,
            plates: serde_json::from_str(&row.try_get::<String, _>(7)?)?,
            summary: serde_json::from_str(&row.try_get::<String, _>(8)?)?,
            recorded_by: row.try_get(9)?,
            recorded_at: row.try_get(10)?,
        })
    }

    /// One run, if the actor may see it.
    pub async fn get(&self, actor: &Actor, id: i64) -> Result<Run, CampaignError> {
        let only = Self::visible(actor)?;
        let row = sqlx::query(&format!(
            "SELECT {} WHERE r.id = $1 AND ($2 IS NULL OR r.requester_id = $2)",
            Self::RUN_COLUMNS
        ))
        .bind(id)
        .bind(only)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(CampaignError::NotFound(id))?;
        Self::run_of(&row)
    }

    /// The runs the actor may see, newest first.
    pub async fn runs(&self, actor: &Actor) -> Result<Vec<Run>, CampaignError> {
        let only = Self::visible(actor)?;
        let rows = sqlx::query(&format!(
            "SELECT {} WHERE ($1 IS NULL OR r.requester_id = $1) ORDER BY r.id DESC LIMIT 500",
            Self::RUN_COLUMNS
        ))
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::run_of).collect()
    }

    /// A run's full analysis, recomputed from its stored files (for plate
    /// heat maps and per-well scores), with the view audited.
    pub async fn report(&self, actor: &Actor, id: i64) -> Result<(Run, RunReport), CampaignError> {
        let run = self.get(actor, id).await?;
        let report = analyse_run(&self.files(id).await?)?;
        self.accounts.audit(Some(actor), "screen.view", &format!("screen:{id}"), json!({})).await?;
        Ok((run, report))
    }

    async fn files(&self, id: i64) -> Result<RunFiles, CampaignError> {
        let text: String = sqlx::query_scalar("SELECT files FROM screen_runs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        files_of(&serde_json::from_str(&text)?)
    }

    /// A run's hits as recorded.
    pub async fn hits(&self, actor: &Actor, id: i64) -> Result<Vec<HitRecord>, CampaignError> {
        self.get(actor, id).await?;
        let rows = sqlx::query(
            "SELECT plate, well, compound, concentration, score FROM screen_hits \
             WHERE run_id = $1 ORDER BY score DESC, plate, well",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HitRecord {
                    plate: r.try_get(0)?,
                    well: r.try_get(1)?,
                    compound: r.try_get(2)?,
                    concentration: r.try_get(3)?,
                    score: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Records a concentration–response measured for a hit of run `run_id`,
    /// fits it, and applies the run protocol's confirmation rule: when the
    /// curve passes, the compound becomes a seed of the run's project (once
    /// per compound and project).
    pub async fn confirm(
        &self,
        actor: &Actor,
        run_id: i64,
        compound: &str,
        points: &[(f64, f64)],
    ) -> Result<(Curve, Option<Seed>), CampaignError> {
        actor.require(Permission::RecordScreens)?;
        let run = self.get(actor, run_id).await?;
        let id: CompoundId = compound.parse()?;
        let is_hit: Option<i64> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM screen_hits WHERE run_id = $1 AND compound = $2",
        )
        .bind(run_id)
        .bind(compound)
        .fetch_optional(&self.pool)
        .await?;
        if is_hit.unwrap_or(0) == 0 {
            return Err(CampaignError::Invalid(format!(
                "{compound} is not a hit of run {run_id}; only hits are confirmed"
            )));
        }
        self.registry.smiles_of(&[id]).await?;
        if points.iter().any(|(x, y)| !(x.is_finite() && *x > 0.0 && y.is_finite())) {
            return Err(CampaignError::Invalid(
                "each point needs a positive concentration (mol/L) and a finite response".into(),
            ));
        }
        let protocol = screening::Protocol::from_toml(&self.files(run_id).await?.protocol)
            .map_err(|e| CampaignError::Invalid(e.to_string()))?;
        let (fit, class, fitted) = fit_json(points);
        let decision = match &fitted {
            Some(f) => protocol.confirm.rejects(f).unwrap_or_else(|| "seed".to_owned()),
            None => "no fit".to_owned(),
        };
        let mut tx = self.pool.begin().await?;
        let curve_id: i64 = sqlx::query_scalar(
            "INSERT INTO dose_curves (run_id, compound, points, fit, class, ic50, decision, \
             recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(run_id)
        .bind(compound)
        .bind(json!(points).to_string())
        .bind(fit.to_string())
        .bind(&class)
        .bind(library::Float8(fitted.as_ref().map(|f| f.ec50)))
        .bind(&decision)
        .bind(actor.user_id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let mut seed = None;
        if decision == "seed" {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM seed_events WHERE compound_id = $1 AND project = $2",
            )
            .bind(id.0)
            .bind(&run.project)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                let at = now();
                let seed_id: i64 = sqlx::query_scalar(
                    "INSERT INTO seed_events (compound_id, project, run_id, curve_id, recorded_by, \
                     recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(id.0)
                .bind(&run.project)
                .bind(run_id)
                .bind(curve_id)
                .bind(actor.user_id)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
                seed = Some(Seed {
                    id: seed_id,
                    compound: id,
                    project: run.project.clone(),
                    run_id,
                    curve_id,
                    recorded_at: at,
                });
            }
        }
        tx.commit().await?;
        self.accounts
            .audit(
                Some(actor),
                "screen.confirm",
                &format!("compound:{id}"),
                json!({"run": run_id, "curve": curve_id, "class": class, "decision": decision,
                       "seed": seed.as_ref().map(|s| s.id)}),
            )
            .await?;
        let curve = self.curve(curve_id).await?;
        Ok((curve, seed))
    }

    const CURVE_COLUMNS: &'static str = "c.id, c.run_id, c.compound, c.points, c.fit, c.class, \
         c.decision, u.username, c.recorded_at FROM dose_curves c \
         JOIN users u ON u.id = c.recorded_by";

    fn curve_of(row: &sqlx::any::AnyRow) -> Result<Curve, CampaignError> {
        Ok(Curve {
            id: row.try_get(0)?,
            run_id: row.try_get(1)?,
            compound: row.try_get(2)?,
            points: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
            fit: serde_json::from_str(&row.try_get::<String, _>(4)?)?,
            class: row.try_get(5)?,
            decision: row.try_get(6)?,
            recorded_by: row.try_get(7)?,
            recorded_at: row.try_get(8)?,
        })
    }

    async fn curve(&self, id: i64) -> Result<Curve, CampaignError> {
        let row = sqlx::query(&format!("SELECT {} WHERE c.id = $1", Self::CURVE_COLUMNS))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Self::curve_of(&row)
    }

    /// The confirmation curves of a run, or of a compound across the runs
    /// the actor may see.
    pub async fn curves(
        &self,
        actor: &Actor,
        run_id: Option<i64>,
        compound: Option<&str>,
    ) -> Result<Vec<Curve>, CampaignError> {
        let only = Self::visible(actor)?;
        let rows = sqlx::query(&format!(
            "SELECT {} JOIN screen_runs r ON r.id = c.run_id \
             WHERE ($1 IS NULL OR c.run_id = $1) AND ($2 IS NULL OR c.compound = $2) \
             AND ($3 IS NULL OR r.requester_id = $3) ORDER BY c.id",
            Self::CURVE_COLUMNS
        ))
        .bind(run_id)
        .bind(compound)
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::curve_of).collect()
    }

    /// The seeds found, oldest first (all, for those who see all screens;
    /// else those of the actor's own runs).
    pub async fn seeds(&self, actor: &Actor) -> Result<Vec<Seed>, CampaignError> {
        let only = Self::visible(actor)?;
        let rows = sqlx::query(
            "SELECT s.id, s.compound_id, s.project, s.run_id, s.curve_id, s.recorded_at \
             FROM seed_events s JOIN screen_runs r ON r.id = s.run_id \
             WHERE ($1 IS NULL OR r.requester_id = $1) ORDER BY s.id",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Seed {
                    id: r.try_get(0)?,
                    compound: CompoundId(r.try_get(1)?),
                    project: r.try_get(2)?,
                    run_id: r.try_get(3)?,
                    curve_id: r.try_get(4)?,
                    recorded_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// The KPI "new drug-discovery seeds found": seed events recorded in
    /// `[from, to)` (seconds since the epoch).
    pub async fn seeds_found(&self, from: i64, to: i64) -> Result<i64, CampaignError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM seed_events WHERE recorded_at >= $1 AND recorded_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Recomputes a run from its stored files — the digest, plate QC, hits
    /// and every confirmation curve's fit and class — and compares.
    pub async fn verify(&self, actor: &Actor, id: i64) -> Result<Verification, CampaignError> {
        let run = self.get(actor, id).await?;
        let files = self.files(id).await?;
        let mut differences = Vec::new();
        let files_intact = files_digest(&files) == run.files_sha256;
        if !files_intact {
            differences.push("the stored files no longer have the recorded digest".to_owned());
        }
        let report = analyse_run(&files)?;
        if !same(&Value::from(report.plate_rows()), &run.plates) {
            differences.push("plate QC differs from the record".to_owned());
        }
        let by_well = |mut hits: Vec<HitRecord>| {
            hits.sort_by(|a, b| (&a.plate, &a.well).cmp(&(&b.plate, &b.well)));
            hits
        };
        let (stored, again) = (by_well(self.hits(actor, id).await?), by_well(hits_of(&report)));
        let agree = stored.len() == again.len()
            && stored.iter().zip(&again).all(|(a, b)| {
                (&a.plate, &a.well, &a.compound) == (&b.plate, &b.well, &b.compound)
                    && same(&json!(a.score), &json!(b.score))
            });
        if !agree {
            differences.push(format!(
                "hits differ: {} recorded, {} recomputed",
                stored.len(),
                again.len()
            ));
        }
        for curve in self.curves(actor, Some(id), None).await? {
            let (fit, class, _) = fit_json(&curve.points);
            if class != curve.class || !same(&fit, &curve.fit) {
                differences
                    .push(format!("curve {} of {} refits differently", curve.id, curve.compound));
            }
        }
        self.accounts
            .audit(
                Some(actor),
                "screen.verify",
                &format!("screen:{id}"),
                json!({"differences": differences.len()}),
            )
            .await?;
        Ok(Verification { files_intact, results_match: differences.is_empty(), differences })
    }
}
