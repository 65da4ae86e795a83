//! Docking as jobs: a ligand or a library selection against one of the
//! built-in targets, one Vina per core, progress per ligand, cancellable;
//! the ranking is the job's result and the best poses its file.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::JobContext;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::JsonBody as Body;
use crate::{ApiError, AppState};

/// Most ligands one docking job takes.
pub(crate) const MAX_LIGANDS: usize = 500;

#[derive(Deserialize)]
pub(crate) struct DockRequest {
    /// A built-in target, e.g. `DRD2`.
    pub target: String,
    /// Ligands as SMILES.
    #[serde(default)]
    pub smiles: Vec<String>,
    /// Library compounds by registry id (a virtual screen of a selection).
    #[serde(default)]
    pub compounds: Vec<String>,
    /// Vina's exhaustiveness, 1–32 (8 by default).
    pub exhaustiveness: Option<u32>,
}

/// Checks a docking request, resolves library compounds to their
/// structures, and queues the job.
pub(crate) async fn start(
    state: &AppState,
    caller: &Caller,
    r: DockRequest,
) -> Result<jobs::Job, ApiError> {
    caller.actor.require(accounts::Permission::RunModels)?;
    let target = docking::target(&r.target).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let exhaustiveness = r.exhaustiveness.unwrap_or(8);
    if !(1..=32).contains(&exhaustiveness) {
        return Err(ApiError::bad_request("exhaustiveness must be between 1 and 32"));
    }
    let mut ligands: Vec<Value> =
        r.smiles.iter().map(|s| json!({"name": s, "smiles": s})).collect();
    for id in &r.compounds {
        let compound = state.catalog.registry().compound(id.parse()?).await?;
        ligands.push(json!({"name": id, "smiles": compound.parent.identity.smiles}));
    }
    if ligands.is_empty() || ligands.len() > MAX_LIGANDS {
        return Err(ApiError::bad_request(format!(
            "send 1 to {MAX_LIGANDS} ligands (smiles or compounds)"
        )));
    }
    let params = json!({
        "target": target.name,
        "ligands": ligands,
        "exhaustiveness": exhaustiveness,
        "seed": docking::DOCKSTRING_SEED,
    });
    Ok(state.jobs.enqueue(&caller.actor, "dock", params).await?)
}

/// `POST /api/v1/docking`: queues a docking job.
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(r): Body<DockRequest>,
) -> Result<Response, ApiError> {
    let job = start(&state, &caller, r).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response())
}

/// `GET /api/v1/docking/targets`: the built-in targets and their boxes.
pub(crate) async fn targets() -> Response {
    Json(json!({"targets": docking::targets(), "source": "DOCKSTRING 0.3.4 (Apache-2.0)"}))
        .into_response()
}

/// Runs a docking job: every ligand prepared and docked on a core of its
/// own; failures are logged with their reason and the rest go on.
pub(crate) async fn run(state: &AppState, ctx: JobContext) -> Result<Value, String> {
    let params = ctx.job.params.clone();
    let target = docking::target(params["target"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let search = docking::Search {
        seed: params["seed"].as_u64().unwrap_or(u64::from(docking::DOCKSTRING_SEED)) as u32,
        cpus: 1,
        exhaustiveness: params["exhaustiveness"].as_u64().unwrap_or(8) as u32,
    };
    let entries: Vec<docking::Entry> = params["ligands"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| docking::Entry {
            name: l["name"].as_str().unwrap_or("").to_owned(),
            smiles: l["smiles"].as_str().unwrap_or("").to_owned(),
        })
        .collect();
    let engines = docking::Engines::find().map_err(|e| e.to_string())?;
    let target_name = target.name;
    let total = entries.len();
    let ctx = Arc::new(ctx);
    let worker = ctx.clone();
    ctx.report(0.0, format!("docking {total} ligands into {target_name}"));
    let screen = tokio::task::spawn_blocking(move || {
        let cores = parallel::cores();
        let done = |n: usize| {
            worker.report(n as f64 / total as f64, format!("{n} of {total} ligands docked"))
        };
        docking::screen(&engines, &target, &entries, search, cores, &done, &worker.cancel_flag())
    })
    .await
    .map_err(|e| e.to_string())?;
    if ctx.is_cancelled() {
        return Err("cancelled".into());
    }
    for (entry, reason) in &screen.failed {
        ctx.log(format!("skipped {}: {reason}", entry.name)).await;
    }
    let name = format!("job-{}-poses.pdbqt", ctx.job.id);
    let sdf_name = format!("job-{}-poses.sdf", ctx.job.id);
    let dir = state.data_dir.join("exports");
    let poses: String = screen
        .ranked
        .iter()
        .map(|(e, d)| format!("REMARK SOYAKU LIGAND {} {}\n{}", e.name, e.smiles, d.poses[0].pdbqt))
        .collect();
    let mut sdf = String::new();
    for (e, d) in &screen.ranked {
        match d.pose_sdf(0, &e.name) {
            Ok(record) => sdf.push_str(&record),
            Err(err) => ctx.log(format!("no SDF pose for {}: {err}", e.name)).await,
        }
    }
    tokio::fs::create_dir_all(&dir).await.map_err(|e| e.to_string())?;
    tokio::fs::write(dir.join(&name), poses).await.map_err(|e| e.to_string())?;
    tokio::fs::write(dir.join(&sdf_name), sdf).await.map_err(|e| e.to_string())?;
    let ranking: Vec<Value> = screen
        .ranked
        .iter()
        .enumerate()
        .map(|(i, (e, d))| {
            json!({
                "rank": i + 1, "name": e.name, "smiles": e.smiles, "score": d.score,
                "docked": d.docked, "stereo_chosen": d.stereo_chosen,
            })
        })
        .collect();
    Ok(json!({
        "target": target_name,
        "docked": screen.ranked.len(),
        "failed": screen.failed.len(),
        "best_score": screen.ranked.first().map(|d| d.1.score),
        "ranking": ranking,
        "output": name,
        "outputs": {"pdbqt": name, "sdf": sdf_name},
    }))
}
