//! Long work as jobs: the handlers the job runner calls (a compound import
//! from an uploaded file) and the jobs API (list, look, cancel, retry,
//! upload, error report).

use std::path::PathBuf;
use std::sync::Arc;

use accounts::Permission;
use axum::extract::{Multipart, State};

use crate::error::Upload;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jobs::{JobContext, Runner};
use library::import::{self, Format, ImportOptions};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt as _;

use crate::auth::Caller;
use crate::error::{Path, Query};
use crate::{ApiError, AppState};

type ApiResult = Result<Response, ApiError>;

/// What an import job is given.
#[derive(Debug, Serialize, Deserialize)]
struct ImportParams {
    /// The uploaded file's name in `<data>/uploads/` (never a path: job
    /// records are shown to users). Jobs queued by older versions held the
    /// whole path under `file`; its last part is the same name.
    #[serde(alias = "file")]
    upload: String,
    /// The name it was uploaded under.
    name: String,
    /// `smi`, `csv` or `sdf`; from the name when absent.
    format: Option<String>,
    /// Source name recorded on the batches.
    source: Option<String>,
}

fn parse_format(text: Option<&str>) -> Result<Option<Format>, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some("smi") => Ok(Some(Format::Smiles)),
        Some("csv") => Ok(Some(Format::Csv)),
        Some("sdf") => Ok(Some(Format::Sdf)),
        Some(other) => Err(format!("'{other}' is not an import format; use smi, csv or sdf")),
    }
}

/// The runner with every kind of job this server knows.
pub fn runner(state: Arc<AppState>, slots: usize) -> Runner {
    let (for_reindex, for_matrix, for_dock) = (state.clone(), state.clone(), state.clone());
    Runner::new(state.jobs.clone(), slots)
        .handle("import", move |ctx| {
            let state = state.clone();
            async move { import_job(&state, ctx).await }
        })
        .handle("reindex", move |ctx| {
            let state = for_reindex.clone();
            async move { reindex_job(&state, ctx).await }
        })
        .handle("matrix", move |ctx| {
            let state = for_matrix.clone();
            async move { matrix_job(&state, ctx).await }
        })
        .handle("dock", move |ctx| {
            let state = for_dock.clone();
            async move { crate::docking::run(&state, ctx).await }
        })
}

/// The all-pairs similarity matrix at a threshold, written as CSV for
/// download. The tiled scan itself cannot be interrupted; a cancel takes
/// effect when it ends (seconds on the demo library, minutes at millions).
async fn matrix_job(state: &AppState, ctx: JobContext) -> Result<Value, String> {
    let threshold = ctx.job.params["threshold"].as_f64().ok_or("the job has no threshold")?;
    ctx.report(0.05, "opening the index");
    let index =
        state.catalog.index(library::FingerprintKind::Morgan).await.map_err(|e| e.to_string())?;
    ctx.report(0.1, format!("comparing every pair of {} compounds", index.len()));
    let started = std::time::Instant::now();
    let pairs =
        tokio::task::spawn_blocking(move || index.with_one(|one| one.similarity_matrix(threshold)))
            .await
            .map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.is_cancelled() {
        return Err("cancelled".into());
    }
    ctx.log(format!("{} pairs at Tanimoto >= {threshold} in {seconds:.1} s", pairs.len())).await;
    ctx.report(0.9, "writing the file");
    let name = format!("job-{}-matrix.csv", ctx.job.id);
    let dir = state.data_dir.join("exports");
    tokio::fs::create_dir_all(&dir).await.map_err(|e| e.to_string())?;
    state.catalog.write_matrix(&pairs, &dir.join(&name), false).await.map_err(|e| e.to_string())?;
    Ok(json!({"threshold": threshold, "pairs": pairs.len(), "seconds": seconds, "output": name}))
}

#[derive(Deserialize)]
pub struct MatrixRequest {
    threshold: f64,
}

/// `POST /api/v1/library/matrix`: the all-pairs matrix as a job.
pub async fn matrix(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    crate::error::JsonBody(m): crate::error::JsonBody<MatrixRequest>,
) -> ApiResult {
    let job = start_matrix(&state, &caller, m.threshold).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response())
}

/// Queues an all-pairs matrix run. Low thresholds are refused: the output
/// grows with the square of the library.
pub async fn start_matrix(
    state: &AppState,
    caller: &Caller,
    threshold: f64,
) -> Result<jobs::Job, ApiError> {
    caller.actor.require(Permission::SearchCompounds)?;
    if !(0.3..=1.0).contains(&threshold) {
        return Err(ApiError::bad_request("the matrix threshold must be between 0.3 and 1"));
    }
    // One library-wide matrix per person at a time: each takes every core.
    let mine = state.jobs.list(&caller.actor).await?;
    if let Some(open) = mine
        .iter()
        .find(|j| j.kind == "matrix" && j.owner_id == caller.actor.user_id && !j.status.is_final())
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("your matrix job {} has not finished; wait for it or cancel it", open.id),
        ));
    }
    Ok(state.jobs.enqueue(&caller.actor, "matrix", json!({"threshold": threshold})).await?)
}

/// `GET /api/v1/jobs/{id}/output[?format=F]`: the file a job produced.
pub async fn output(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    // One of the job's `outputs` (e.g. `sdf` of a docking); its main file
    // when absent.
    Query(crate::api::FormatParam { format }): Query<crate::api::FormatParam>,
) -> ApiResult {
    let job = state.jobs.get(&caller.actor, id).await?;
    let result = job.result.as_ref();
    let name = match &format {
        None => result.and_then(|r| r["output"].as_str()),
        Some(f) => result.and_then(|r| r["outputs"][f.as_str()].as_str()),
    };
    let Some(name) = name.map(safe_name) else {
        return Err(ApiError::not_found(match format {
            None => format!("job {id} has produced no file"),
            Some(f) => format!("job {id} has produced no {f} file"),
        }));
    };
    let bytes = crate::api::file_body(state.data_dir.join("exports").join(&name))
        .await
        .map_err(|_| ApiError::not_found(format!("job {id}'s file is gone; run the job again")))?;
    let content_type = match name.rsplit('.').next() {
        Some("pdbqt") => "chemical/x-pdbqt",
        Some("sdf") => "chemical/x-mdl-sdfile",
        _ => "text/csv; charset=utf-8",
    };
    Ok(crate::api::attachment(content_type, &name, bytes))
}

/// Rebuilds every search file from the registry.
async fn reindex_job(state: &AppState, ctx: JobContext) -> Result<Value, String> {
    let reporter = ctx.clone();
    let step =
        move |what: &str, fraction: f64| reporter.report(fraction, format!("building {what}"));
    let rebuilt = state.catalog.rebuild(&step).await.map_err(|e| e.to_string())?;
    for r in &rebuilt {
        ctx.log(format!("{}: {} entries in {:.1} s", r.file, r.entries, r.seconds)).await;
    }
    Ok(json!({"files": rebuilt}))
}

/// `POST /api/v1/library/reindex`: rebuild the search files as a job.
pub async fn reindex(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    let job = start_reindex(&state, &caller).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response())
}

/// Queues a rebuild of the search files.
pub async fn start_reindex(state: &AppState, caller: &Caller) -> Result<jobs::Job, ApiError> {
    caller.actor.require(Permission::ImportCompounds)?;
    Ok(state.jobs.enqueue(&caller.actor, "reindex", json!({})).await?)
}

/// Imports an uploaded file. Re-running the job (a retry, or a restart of
/// the server) resumes the import from its checkpoint.
async fn import_job(state: &AppState, ctx: JobContext) -> Result<Value, String> {
    let p: ImportParams = serde_json::from_value(ctx.job.params.clone())
        .map_err(|e| format!("bad job parameters: {e}"))?;
    let options = ImportOptions {
        format: parse_format(p.format.as_deref())?,
        source: Some(
            p.source.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| p.name.clone()),
        ),
        ..ImportOptions::default()
    };
    ctx.log(format!(
        "importing {} as source '{}'",
        p.name,
        options.source.as_deref().unwrap_or("")
    ))
    .await;
    let registry = state.catalog.registry();
    let reporter = ctx.clone();
    let progress = move |pr: import::Progress| {
        let fraction =
            if pr.bytes_total == 0 { 0.0 } else { pr.bytes_read as f64 / pr.bytes_total as f64 };
        reporter.report(fraction * 0.95, format!("{} records, {} bad", pr.records_done, pr.errors));
    };
    let file = uploads_dir(state).join(safe_name(&p.upload));
    let summary = import::import_file(registry, &file, &options, &progress, &ctx.cancel_flag())
        .await
        .map_err(|e| e.to_string().replace(&file.display().to_string(), &p.name))?;
    let mut result = library::record::import_summary(&summary);
    let errors =
        import::import_errors(registry, summary.import_id).await.map_err(|e| e.to_string())?;
    if !errors.is_empty() {
        let path = report_path(state, ctx.job.id);
        import::write_error_report(&path, &errors).map_err(|e| e.to_string())?;
        ctx.log(format!(
            "{} bad records; the error report lists each with its line and reason",
            errors.len()
        ))
        .await;
    }
    result["error_report"] = json!(!errors.is_empty());
    if summary.cancelled {
        ctx.log("cancelled; retry the job to resume where it stopped").await;
        return Err("cancelled".into());
    }
    // Imported whole: the upload is no longer needed (a failed or cancelled
    // import keeps it, to resume when retried).
    if let Err(e) = tokio::fs::remove_file(&file).await {
        tracing::warn!(job = ctx.job.id, error = %e, "could not remove an imported upload");
    }
    ctx.report(0.97, "updating the search indexes");
    state.catalog.files().await.map_err(|e| e.to_string())?;
    ctx.log(format!(
        "done: {} records, {} new parents, {} bad",
        summary.tally.records, summary.tally.parents_new, summary.tally.errors
    ))
    .await;
    Ok(result)
}

fn uploads_dir(state: &AppState) -> PathBuf {
    state.data_dir.join("uploads")
}

/// Bytes held in `dir` (not descending: uploads are flat).
async fn bytes_in(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            total += entry.metadata().await.map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

/// An uploaded file being written; removed unless [`Incoming::keep`] is
/// called, so a connection that breaks off, a file refused, or a quota
/// reached leaves nothing behind.
struct Incoming {
    path: Option<PathBuf>,
}

impl Incoming {
    fn keep(mut self) -> PathBuf {
        self.path.take().expect("an incoming file is kept once")
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn report_path(state: &AppState, job: i64) -> PathBuf {
    state.data_dir.join("imports").join(format!("job-{job}-errors.csv"))
}

/// Keeps a file name to letters, digits, `.`, `-` and `_`, so an upload
/// cannot name a path outside its folder.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".into()
    } else {
        cleaned
    }
}

/// `POST /api/v1/imports`: a multipart upload (`file`, optional `format`
/// and `source`) started as an import job.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Upload(multipart): Upload,
) -> ApiResult {
    let job = start_import(&state, &caller, multipart).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response())
}

/// Saves the upload and queues its import job.
pub async fn start_import(
    state: &AppState,
    caller: &Caller,
    mut multipart: Multipart,
) -> Result<jobs::Job, ApiError> {
    caller.actor.require(Permission::ImportCompounds)?;
    let dir = uploads_dir(state);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::from(library::LibraryError::Io(e)))?;
    let room = state.upload_quota.saturating_sub(bytes_in(&dir).await);
    let full = || {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "quota",
            format!(
                "the server's room for uploads ({} GiB) is full: wait for imports under way to \
                 finish, or ask an administrator",
                state.upload_quota >> 30
            ),
        )
    };
    if room == 0 {
        return Err(full());
    }
    let (mut saved, mut name, mut format, mut source) = (None, String::new(), None, None);
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("bad upload: {e}"))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "file" => {
                name = safe_name(field.file_name().unwrap_or("upload"));
                let unique = format!("{}-{}-{name}", now_nanos(), caller.actor.user_id);
                let path = dir.join(&unique);
                let mut out = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| ApiError::from(library::LibraryError::Io(e)))?;
                let incoming = Incoming { path: Some(path) };
                let mut bytes = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    bytes += chunk.len() as u64;
                    if bytes > room {
                        return Err(full());
                    }
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| ApiError::from(library::LibraryError::Io(e)))?;
                }
                out.flush().await.map_err(|e| ApiError::from(library::LibraryError::Io(e)))?;
                if bytes == 0 {
                    return Err(ApiError::bad_request("the uploaded file is empty"));
                }
                saved = Some((incoming, unique));
            }
            "format" => format = Some(field.text().await.map_err(bad)?),
            "source" => source = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    let (incoming, upload) = saved.ok_or_else(|| {
        ApiError::bad_request("no file: send it in a multipart field named 'file'")
    })?;
    parse_format(format.as_deref()).map_err(ApiError::bad_request)?;
    if format.as_deref().is_none_or(|f| f.trim().is_empty())
        && Format::from_path(std::path::Path::new(&upload)).is_none()
    {
        return Err(ApiError::bad_request(
            "cannot tell the format from the file name; name it .smi, .csv, .sdf (optionally .gz) or give format",
        ));
    }
    for (what, text) in [("format", &format), ("source", &source)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(ApiError::bad_request(format!("'{what}' may have at most 200 characters")));
        }
    }
    let params = ImportParams { upload, name, format, source };
    let params = serde_json::to_value(params).expect("import parameters serialise");
    let job = state.jobs.enqueue(&caller.actor, "import", params).await?;
    incoming.keep();
    Ok(job)
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    Ok(Json(json!({"jobs": state.jobs.list(&caller.actor).await?})).into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    let job = state.jobs.get(&caller.actor, id).await?;
    let log = state.jobs.log(&caller.actor, id).await?;
    Ok(Json(json!({"job": job, "log": log})).into_response())
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(json!({"job": state.jobs.cancel(&caller.actor, id).await?})).into_response())
}

pub async fn retry(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(json!({"job": state.jobs.retry(&caller.actor, id).await?})).into_response())
}

/// `GET /api/v1/jobs/{id}/report`: an import's bad records as CSV.
pub async fn report(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    state.jobs.get(&caller.actor, id).await?;
    match crate::api::file_body(report_path(&state, id)).await {
        Ok(bytes) => Ok(crate::api::attachment(
            "text/csv; charset=utf-8",
            &format!("job-{id}-errors.csv"),
            bytes,
        )),
        Err(_) => Err(ApiError::not_found(format!(
            "job {id} has no error report (no bad records, or not an import)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploaded_names_cannot_leave_their_folder() {
        assert_eq!(super::safe_name("../../etc/passwd"), "passwd");
        assert_eq!(super::safe_name("C:\\x\\lib rary.smi.gz"), "lib_rary.smi.gz");
        assert_eq!(super::safe_name(".."), "upload");
        assert_eq!(super::safe_name("化合物.csv"), "___.csv");
    }
}
