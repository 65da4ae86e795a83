//! Job pages: the import form (an upload that becomes a job), the job list
//! and a job's page, whose progress, message and log update live.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use super::{error_page, lang_of, layout, sign_in_first, timestamp, Lang};
use crate::auth::{Caller, MaybeCaller};
use crate::error::Upload;
use crate::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/import",
            get(import_page)
                .post(import)
                .layer(DefaultBodyLimit::max(crate::UPLOAD_LIMIT))
                .layer(axum::middleware::from_fn(crate::deadline::long_upload)),
        )
        .route("/jobs", get(list_page))
        .route("/jobs/{id}", get(job_page))
        .route("/jobs/{id}/{action}", post(act))
        .route("/jobs/reindex", post(reindex))
        .route("/jobs/matrix", post(matrix))
}

async fn import_page(MaybeCaller(caller): MaybeCaller, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/import") };
    if let Err(e) = caller.actor.require(accounts::Permission::ImportCompounds) {
        return error_page(lang, Some(&caller), &e.into());
    }
    let t = lang.texts();
    let csrf = caller.csrf.clone().unwrap_or_default();
    let body = html! {
        h1 { (t.import_title) }
        p { (t.import_hint) }
        form #import-form.search method="post" enctype="multipart/form-data" action={ "/import?csrf=" (csrf) } {
            label { (t.file) input #import-file type="file" name="file" required; }
            label { (t.format_auto)
                select #import-format name="format" {
                    option value="" { "—" }
                    option value="smi" { "SMILES" }
                    option value="csv" { "CSV / TSV" }
                    option value="sdf" { "SDF" }
                }
            }
            label { (t.source) input #import-source name="source"; }
            button #start-import type="submit" { (t.start_import) }
        }
    };
    layout(lang, Some(&caller), "/import", t.import_title, body).into_response()
}

async fn import(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    upload: Result<Upload, ApiError>,
) -> Response {
    let lang = lang_of(&headers);
    let started = match upload {
        Ok(Upload(multipart)) => crate::work::start_import(&state, &caller, multipart).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(job) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

fn progress_bar(job: &jobs::Job) -> Markup {
    html! { progress.job-progress max="1" value=(format!("{:.3}", job.progress)) {} " " span.percent { (format!("{:.0}%", job.progress * 100.0)) } }
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    let Some(caller) = caller else { return sign_in_first("/jobs") };
    let t = lang.texts();
    let list = match state.jobs.list(&caller.actor).await {
        Ok(l) => l,
        Err(e) => return error_page(lang, Some(&caller), &e.into()),
    };
    let csrf = caller.csrf.clone().unwrap_or_default();
    let body = html! {
        h1 { (t.nav_jobs) }
        div.actions {
            form.inline #matrix-form method="post" action={ "/jobs/matrix?csrf=" (csrf) } {
                label { (t.matrix_threshold) input #matrix-threshold type="number" name="threshold" min="0.3" max="1" step="0.05" value="0.7"; }
                button #start-matrix type="submit" { (t.start_matrix) }
            }
            @if caller.actor.can(accounts::Permission::ImportCompounds) {
                form.inline method="post" action={ "/jobs/reindex?csrf=" (csrf) } {
                    button #start-reindex type="submit" { (t.rebuild_indexes) }
                }
            }
        }
        @if list.is_empty() { p #no-jobs { (t.no_jobs) } } @else {
            table.grid #jobs {
                thead { tr { th { "#" } th { (t.kind) } th { (t.status) } th { (t.progress) } th { (t.created) } } }
                tbody { @for j in &list { tr {
                    td { a.job-link href={ "/jobs/" (j.id) } { "#" (j.id) } }
                    td { (j.kind) }
                    td { span class={ "status " (j.status) } { (lang.job_status(j.status)) } }
                    td { (progress_bar(j)) " " (j.message) }
                    td { (timestamp(j.created_at)) }
                } } }
            }
        }
    };
    layout(lang, Some(&caller), "/jobs", t.nav_jobs, body).into_response()
}

/// How many of a virtual screen's best library compounds the job page
/// offers to request.
const RANKED_TO_REQUEST: usize = 50;

fn job_body(lang: Lang, caller: &Caller, job: &jobs::Job, log: &[jobs::LogLine]) -> Markup {
    let t = lang.texts();
    let csrf = caller.csrf.clone().unwrap_or_default();
    let action = |what: &str| format!("/jobs/{}/{what}?csrf={csrf}", job.id);
    html! {
        h1 { (t.job) " #" (job.id) " · " (job.kind) " " span #job-status class={ "status " (job.status) } data-final=(job.status.is_final()) { (lang.job_status(job.status)) } }
        section #job data-id=(job.id) data-final=(job.status.is_final()) {
            p { (progress_bar(job)) " " span #job-message { (job.message) } }
            @if let Some(e) = &job.error { p.error #job-error { (e) } }
            @if let Some(result) = &job.result {
                h2 { (t.result) }
                table.kv #job-result { @for (k, v) in result.as_object().into_iter().flatten().filter(|(k, _)| *k != "ranking") {
                    tr { th { (k) } td { (super::shown(v)) } }
                } }
                @if let Some(ranking) = result["ranking"].as_array() {
                    table.grid #ranking {
                        thead { tr { th { "#" } th { (t.ligand) } th { "SMILES" } th { (t.dock_score) } } }
                        tbody { @for r in ranking { tr {
                            td.num { (super::shown(&r["rank"])) }
                            td { @let name = r["name"].as_str().unwrap_or("");
                                @if name.starts_with("SY-") { a href={ "/compounds/" (name) } { (name) } } @else { (name) } }
                            td {
                                code { (r["smiles"].as_str().unwrap_or("")) }
                                @if r["stereo_chosen"] == serde_json::Value::Bool(true) {
                                    br; span.note.stereo-chosen { (t.stereo_chosen) " " code { (r["docked"].as_str().unwrap_or("")) } }
                                }
                            }
                            td.num.score { (super::shown(&r["score"])) }
                        } } }
                    }
                    @let ranked_ids: Vec<&str> = ranking.iter().filter_map(|r| r["name"].as_str()).filter(|n| n.starts_with("SY-")).take(RANKED_TO_REQUEST).collect();
                    @if !ranked_ids.is_empty() && caller.actor.can(accounts::Permission::RequestCompounds) {
                        p { a #request-ranked href={ "/requests/new?" (ranked_ids.iter().map(|id| format!("ids={id}")).collect::<Vec<_>>().join("&")) } { (t.request_ranked) } }
                    }
                }
                @if result["output"].is_string() {
                    p { a #job-output href={ "/api/v1/jobs/" (job.id) "/output" } { (t.download) } }
                    @if result["outputs"]["sdf"].is_string() {
                        p { a #job-output-sdf href={ "/api/v1/jobs/" (job.id) "/output?format=sdf" } { (t.download_sdf) } }
                    }
                }
                @if result["error_report"].as_bool() == Some(true) {
                    p { a #error-report href={ "/api/v1/jobs/" (job.id) "/report" } { (t.error_report) } }
                }
            }
            div.actions {
                @if !job.status.is_final() {
                    form.inline method="post" action=(action("cancel")) { button #cancel-job type="submit" { (t.cancel_job) } }
                }
                @if matches!(job.status, jobs::Status::Failed | jobs::Status::Cancelled) {
                    form.inline method="post" action=(action("retry")) { button #retry-job type="submit" { (t.retry_job) } }
                }
            }
            h2 { (t.log) }
            ol #job-log { @for l in log { li { span.when { (timestamp(l.at)) } " " (l.line) } } }
        }
    }
}

async fn job_page(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let lang = lang_of(&headers);
    let here = format!("/jobs/{id}");
    let Some(caller) = caller else { return sign_in_first(&here) };
    let loaded = async {
        let job = state.jobs.get(&caller.actor, id).await?;
        let log = state.jobs.log(&caller.actor, id).await?;
        Ok::<_, ApiError>((job, log))
    };
    match loaded.await {
        Ok((job, log)) => {
            let title = format!("{} #{id}", lang.texts().job);
            layout(lang, Some(&caller), &here, &title, job_body(lang, &caller, &job, &log))
                .into_response()
        }
        Err(e) => error_page(lang, Some(&caller), &e),
    }
}

async fn act(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
) -> Response {
    let lang = lang_of(&headers);
    let done = match action.as_str() {
        "cancel" => state.jobs.cancel(&caller.actor, id).await,
        "retry" => state.jobs.retry(&caller.actor, id).await,
        other => {
            return error_page(
                lang,
                Some(&caller),
                &ApiError::not_found(format!("no action '{other}' on jobs")),
            )
        }
    };
    match done {
        Ok(_) => Redirect::to(&format!("/jobs/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&caller), &e.into()),
    }
}

async fn reindex(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    match crate::work::start_reindex(&state, &caller).await {
        Ok(job) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(e) => error_page(lang_of(&headers), Some(&caller), &e),
    }
}

#[derive(serde::Deserialize)]
struct MatrixForm {
    threshold: f64,
}

async fn matrix(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    axum::Form(f): axum::Form<MatrixForm>,
) -> Response {
    match crate::work::start_matrix(&state, &caller, f.threshold).await {
        Ok(job) => Redirect::to(&format!("/jobs/{}", job.id)).into_response(),
        Err(e) => error_page(lang_of(&headers), Some(&caller), &e),
    }
}
