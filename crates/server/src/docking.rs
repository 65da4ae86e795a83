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

/// Largest docking request: room for a large receptor in PDB.
pub(crate) const RECEPTOR_LIMIT: usize = 16 << 20;

#[derive(Deserialize)]
pub(crate) struct DockRequest {
    /// A built-in target, e.g. `DRD2`.
    #[serde(default)]
    pub target: Option<String>,
    /// Or the user's own receptor.
    #[serde(default)]
    pub receptor: Option<ReceptorRequest>,
    /// Ligands as SMILES.
    #[serde(default)]
    pub smiles: Vec<String>,
    /// Library compounds by registry id (a virtual screen of a selection).
    #[serde(default)]
    pub compounds: Vec<String>,
    /// Vina's exhaustiveness, 1–32 (8 by default).
    pub exhaustiveness: Option<u32>,
}

#[derive(Deserialize)]
pub(crate) struct ReceptorRequest {
    /// What to call it in results.
    pub name: String,
    /// The receptor in PDB format (prepared here: waters dropped, hydrogens
    /// and charges added) …
    #[serde(default)]
    pub pdb: Option<String>,
    /// … or already in PDBQT.
    #[serde(default)]
    pub pdbqt: Option<String>,
    /// Search box centre, Å.
    pub center: [f64; 3],
    /// Search box edges, Å.
    pub size: [f64; 3],
}

/// The target a request names, and what the job needs to find it again: a
/// built-in target's name, or the prepared receptor itself.
async fn resolve_target(r: &mut DockRequest) -> Result<Value, ApiError> {
    match (r.target.take(), r.receptor.take()) {
        (Some(name), None) => {
            let target =
                docking::target(&name).map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok(json!({"target": target.name}))
        }
        (None, Some(rec)) => {
            let (text, format) = match (rec.pdb, rec.pdbqt) {
                (Some(pdb), None) => (pdb, docking::ReceptorFormat::Pdb),
                (None, Some(pdbqt)) => (pdbqt, docking::ReceptorFormat::Pdbqt),
                _ => return Err(ApiError::bad_request("give the receptor as pdb or as pdbqt")),
            };
            let name = rec.name.trim().to_owned();
            if name.is_empty() || name.len() > 80 {
                return Err(ApiError::bad_request("name the receptor (1 to 80 characters)"));
            }
            let target = tokio::task::spawn_blocking(move || {
                let engines = docking::Engines::find()?;
                docking::Target::custom(&engines, &name, &text, format, rec.center, rec.size)
            })
            .await
            .expect("receptor preparation task")
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
            Ok(json!({
                "target": target.name,
                "receptor": {"pdbqt": target.receptor(), "center": target.center, "size": target.size},
            }))
        }
        _ => Err(ApiError::bad_request("give either a built-in target or your own receptor")),
    }
}

/// The target of a queued job (see [`resolve_target`]).
fn job_target(engines: &docking::Engines, params: &Value) -> Result<docking::Target, String> {
    let name = params["target"].as_str().unwrap_or_default();
    let receptor = &params["receptor"];
    if receptor.is_null() {
        return docking::target(name).map_err(|e| e.to_string());
    }
    let xyz = |v: &Value| -> Option<[f64; 3]> {
        let v: Vec<f64> = v.as_array()?.iter().filter_map(Value::as_f64).collect();
        v.try_into().ok()
    };
    let (Some(center), Some(size)) = (xyz(&receptor["center"]), xyz(&receptor["size"])) else {
        return Err("the job's receptor box is damaged".into());
    };
    let pdbqt = receptor["pdbqt"].as_str().unwrap_or_default();
    docking::Target::custom(engines, name, pdbqt, docking::ReceptorFormat::Pdbqt, center, size)
        .map_err(|e| e.to_string())
}

/// Checks a docking request, resolves library compounds to their
/// structures, and queues the job.
pub(crate) async fn start(
    state: &AppState,
    caller: &Caller,
    mut r: DockRequest,
) -> Result<jobs::Job, ApiError> {
    caller.actor.require(accounts::Permission::RunModels)?;
    let target = resolve_target(&mut r).await?;
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
    let mut params = json!({
        "ligands": ligands,
        "exhaustiveness": exhaustiveness,
        "seed": docking::DOCKSTRING_SEED,
    });
    params
        .as_object_mut()
        .expect("an object")
        .extend(target.as_object().cloned().unwrap_or_default());
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
    let engines = docking::Engines::find().map_err(|e| e.to_string())?;
    let target = job_target(&engines, &params)?;
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
    let target_name = target.name.to_string();
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
                "docked": d.ligand.docked, "stereo_chosen": d.ligand.stereo_chosen,
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
