//! The HTTP API under `/api/v1`, plus `/healthz` and `/readyz`. Each route
//! is declared once, with its documentation, so the OpenAPI document cannot
//! list a route that does not exist or miss one that does.

use std::sync::Arc;

use accounts::{AuditQuery, NewUser, Role};
use axum::extract::State;
use axum::handler::Handler;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::{Json, Router};
use biobank::beacon::Entry;

use crate::error::{JsonBody as Body, Path, Query};
use library::CompoundId;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{cleared_session_cookie, session_cookie, Caller};
use crate::hits::{self, SearchParams};
use crate::openapi::{Doc, Param};
use crate::{
    access, beacon, docking, export, predict, provision, screens, work, ApiError, AppState, Stage,
};

type ApiResult = Result<Response, ApiError>;

/// Routes and their documentation, built together.
pub struct Routes {
    router: Router<Arc<AppState>>,
    docs: Vec<Doc>,
}

impl Routes {
    fn add<H, T>(mut self, doc: Doc, handler: H) -> Routes
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        let filter = match doc.method {
            Method::GET => MethodFilter::GET,
            Method::POST => MethodFilter::POST,
            Method::DELETE => MethodFilter::DELETE,
            ref other => unreachable!("no API route uses {other}"),
        };
        let route = on(filter, handler);
        let route = match doc.body_limit {
            Some(limit) => route
                .layer(axum::extract::DefaultBodyLimit::max(limit))
                .layer(axum::middleware::from_fn(crate::deadline::long_upload)),
            None => route,
        };
        self.router = self.router.route(doc.path, route);
        self.docs.push(doc);
        self
    }
}

const SEARCH_PARAMS: &[Param] = &[
    Param::query("mode", "`similar` (default) or `substructure`"),
    Param::query("query", "SMILES (similarity) or SMARTS/SMILES (substructure)"),
    Param::query("top", "similarity: the k best (default 50)"),
    Param::query("threshold", "similarity: every compound scoring at least this (0–1)"),
    Param::query("metric", "`tanimoto` (default) or `tversky`"),
    Param::query("alpha", "Tversky weight of query-only bits (default 0.5)"),
    Param::query("beta", "Tversky weight of library-only bits (default 0.5)"),
    Param::query("language", "substructure: `smarts` (default) or `smiles`"),
    Param::query("limit", "substructure: at most this many hits (default 1000)"),
    Param::query("timeout_ms", "substructure: time budget (default 10000, at most 30000)"),
    Param::query("format", "`json` (default), `csv` or `sdf`"),
];

const AUDIT_PARAMS: &[Param] = &[
    Param::query("user_id", "only this user's actions"),
    Param::query("before", "only entries with a smaller id (paging)"),
    Param::query("limit", "at most this many (default 100, at most 1000)"),
];

const MODEL_PARAMS: &[Param] =
    &[Param::path("model", "`id` (newest version) or `id@version`, e.g. admet-ai@2.0.1")];

const COMPOUND_PARAMS: &[Param] = &[Param::path("id", "registry id, e.g. SY-0000001")];

const DEPICTION_PARAMS: &[Param] = &[
    Param::path("id", "registry id"),
    Param::query("size", "width in pixels (100–800, default 240)"),
];

const STATUS_PARAMS: &[Param] = &[Param::query(
    "status",
    "only requests in this status (submitted, approved, shipped, rejected, cancelled)",
)];

const REQUEST_PARAMS: &[Param] = &[Param::path("id", "request number")];

const JOB_PARAMS: &[Param] = &[Param::path("id", "job number")];

const TOKEN_PARAMS: &[Param] = &[Param::path("id", "token number (from GET /api/v1/tokens)")];

const USER_PARAMS: &[Param] = &[Param::path("username", "the account's username")];

const OUTPUT_PARAMS: &[Param] = &[
    Param::path("id", "job number"),
    Param::query("format", "one of the job's `outputs`, e.g. `sdf` for a docking's poses"),
];

const SCREEN_PARAMS: &[Param] = &[Param::path("id", "screening run number")];

const BEACON_PARAMS: &[Param] = &[
    Param::query("filters", "comma-separated filter ids, e.g. ICD10:E11,NCIT:C16576,OBI:0001051"),
    Param::query("requestedGranularity", "boolean (default) or count"),
];

const ACCESS_PARAMS: &[Param] = &[Param::path("id", "the request's number")];
const RECORDS_PARAMS: &[Param] =
    &[Param::path("id", "the request's number"), Param::query("biobank", "the approving biobank")];
const ACCESS_BODY: &str = "{\"title\": text, \"project\": text, \"purpose\": text, \"ethics\": committee and approval number, \"query\": {\"and\": [{\"disease\": \"E11\"}, {\"sample_type\": \"dna\"}]}, \"biobanks\": [\"tmm\"], \"wanted\": text}";
const WAIT_PARAMS: &[Param] = &[Param::query("wait_ms", "how long to wait for a query, ms")];
const REPLY_PARAMS: &[Param] = &[Param::path("id", "the query's number")];
const BEACON_BODY: &str = "{\"meta\": {\"apiVersion\": \"v2.0\"}, \"query\": {\"filters\": [{\"id\": \"ICD10:E11\"}, {\"id\": \"age\", \"operator\": \">=\", \"value\": \"40\"}], \"requestedGranularity\": \"count\"}}";

/// Every API route, with its documentation.
pub fn routes() -> (Router<Arc<AppState>>, Vec<Doc>) {
    let r = Routes { router: Router::new(), docs: Vec::new() }
        .add(Doc::public(Method::GET, "/healthz", "Liveness: the process answers"), healthz)
        .add(
            Doc::public(Method::GET, "/readyz", "Readiness: 200 once searches can be served, 503 with progress before"),
            readyz,
        )
        .add(Doc::public(Method::GET, "/api/v1/openapi.json", "This document"), openapi_json)
        .add(
            Doc::public(Method::POST, "/api/v1/session", "Sign in with username and password; sets the session cookie and returns the anti-forgery token")
                .body("{\"username\": string, \"password\": string}"),
            sign_in,
        )
        .add(Doc::signed_in(Method::DELETE, "/api/v1/session", "Sign out"), sign_out)
        .add(Doc::signed_in(Method::GET, "/api/v1/me", "The caller's account and, for sessions, the anti-forgery token"), me)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/tokens", "Make an API token for the caller's own account (shown once; lasts `days`, default 90, at most 366)")
                .body("{\"name\": string, \"days\": number}"),
            create_token,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/tokens", "The caller's own API tokens (never their secrets): name, made, expires, revoked"), list_tokens)
        .add(
            Doc::signed_in(Method::DELETE, "/api/v1/tokens/{id}", "Revoke one of the caller's tokens (an admin: anyone's); it stops working at once")
                .params(TOKEN_PARAMS),
            revoke_token,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/users/{username}/disable", "Disable an account: no sign-in, its sessions and tokens stop at once (admin)")
                .params(USER_PARAMS),
            disable_user,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/users/{username}/enable", "Enable a disabled account (admin)")
                .params(USER_PARAMS),
            enable_user,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/users", "Every account (admin)"), list_users)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/users", "Make an account (admin)")
                .body("{\"username\": string, \"display_name\": string, \"password\": string, \"role\": researcher|support_staff|biobank_curator|programme_officer|admin}"),
            create_user,
        )
        .add(
            Doc::signed_in(Method::GET, "/api/v1/audit", "The audit log, newest first (admin)").params(AUDIT_PARAMS),
            audit_log,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/library/stats", "How many parents, batches and samples the registry holds"), stats)
        .add(Doc::public(Method::GET, "/api/v1/models", "Every prediction model: id, version, name, licence"), predict::list)
        .add(
            Doc::public(Method::GET, "/api/v1/models/{model}", "A model's card: task, units, favourable direction, training data, licence, metrics, featurisation, uncertainty and applicability domain, per endpoint")
                .params(MODEL_PARAMS),
            predict::card,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/models/{model}/predict", "Any model through the one interface: for up to 1,000 structures, every endpoint's value, uncertainty (ensemble spread, where the model is an ensemble), applicability domain (where the model can tell) and weak-endpoint flag, in the card's order")
                .params(MODEL_PARAMS)
                .body("{\"smiles\": string or [string]}"),
            predict::predict,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/predict/admet", "ADMET-AI's 41 endpoints for up to 1,000 structures: value, ensemble spread, percentile among approved drugs, weak-endpoint flag, applicability domain")
                .body("{\"smiles\": string or [string]}"),
            predict::admet,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/predict/targets", "Likely protein targets (ChEMBL 37 multitask model), ranked, with ChEMBL names and organisms and the nearest library compounds; taxon keeps one species' targets (9606 human)")
                .body("{\"smiles\": string, \"top\": 10, \"neighbours\": 5, \"taxon\": 9606 (optional)}"),
            predict::targets,
        )
        .add(
            Doc::signed_in(Method::GET, "/api/v1/compounds/{id}", "A compound with every registry tier, descriptors, rule flags and alerts")
                .params(COMPOUND_PARAMS),
            compound,
        )
        .add(
            Doc::signed_in(Method::GET, "/api/v1/compounds/{id}/depiction.svg", "The compound's 2D depiction (SVG)")
                .params(DEPICTION_PARAMS),
            depiction,
        )
        .add(
            Doc::signed_in(Method::GET, "/api/v1/search", "Similarity or substructure search over the library; hits with key descriptors, or the hits as a CSV or SD file")
                .params(SEARCH_PARAMS),
            search,
        )
        .add(
            Doc::signed_in(Method::GET, "/api/v1/requests", "Provision requests the caller may see, newest first: their own, or every request for support staff")
                .params(STATUS_PARAMS),
            provision::list,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/requests", "Submit a provision request (researcher)")
                .body("{\"compounds\": [registry id], \"purpose\": string, \"amount\": string, \"plate_format\": 96-well|384-well|1536-well|tubes}"),
            provision::submit,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/requests/{id}", "One provision request").params(REQUEST_PARAMS), provision::get)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/requests/{id}/approve", "Approve a submitted request (support staff)")
                .params(REQUEST_PARAMS)
                .body("{\"note\": string}"),
            provision::approve,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/requests/{id}/reject", "Reject a submitted request with a reason (support staff)")
                .params(REQUEST_PARAMS)
                .body("{\"note\": string}"),
            provision::reject,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/requests/{id}/cancel", "Withdraw one's own request before review")
                .params(REQUEST_PARAMS),
            provision::cancel,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/requests/{id}/shipment", "Record the shipment of an approved request: a container (and well) per compound (support staff)")
                .params(REQUEST_PARAMS)
                .body("{\"containers\": [{\"compound\": registry id, \"barcode\": string, \"well\": string}]}"),
            provision::ship,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/imports", "Upload a SMILES, CSV or SD file (gzip too) and import it as a job (support staff, admin); 202 with the job")
                .upload("file: the file; format: smi|csv|sdf (default: from the name); source: name recorded on the batches", crate::UPLOAD_LIMIT),
            work::upload,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/library/reindex", "Rebuild the search indexes and structure store from the registry, as a job (support staff, admin); 202 with the job"),
            work::reindex,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/library/matrix", "Every pair of library compounds with Tanimoto >= threshold (0.3–1), as a job whose output is a CSV; 202 with the job")
                .body("{\"threshold\": number}"),
            work::matrix,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/jobs", "Jobs the caller may see, newest first"), work::list)
        .add(Doc::signed_in(Method::GET, "/api/v1/jobs/{id}", "A job with its progress, result and log").params(JOB_PARAMS), work::get)
        .add(Doc::signed_in(Method::POST, "/api/v1/jobs/{id}/cancel", "Stop a queued or running job").params(JOB_PARAMS), work::cancel)
        .add(Doc::signed_in(Method::POST, "/api/v1/jobs/{id}/retry", "Run a failed or cancelled job again (an import resumes)").params(JOB_PARAMS), work::retry)
        .add(Doc::signed_in(Method::GET, "/api/v1/jobs/{id}/report", "An import job's bad records (CSV: record, line, id, reason, input)").params(JOB_PARAMS), work::report)
        .add(Doc::signed_in(Method::GET, "/api/v1/jobs/{id}/output", "The file a job produced (a matrix run's CSV, a docking's best poses as PDBQT, or with format=sdf as SDF)").params(OUTPUT_PARAMS), work::output)
        .add(Doc::public(Method::GET, "/api/v1/docking/targets", "The built-in docking targets (DOCKSTRING's 58) and their boxes"), docking::targets)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/docking", "Dock ligands (SMILES or library compounds, up to 500) into a built-in target, or into your own receptor (PDB, prepared here, or PDBQT) with a box, with AutoDock Vina, as a job; the result ranks them by score")
                .large_body("{\"target\": \"DRD2\" | \"receptor\": {\"name\": string, \"pdb\" | \"pdbqt\": string, \"center\": [x, y, z], \"size\": [x, y, z]}, \"smiles\": [string], \"compounds\": [\"SY-0000001\"], \"exhaustiveness\": 8}", docking::RECEPTOR_LIMIT),
            docking::create,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/screens", "Screening runs the caller may see, newest first: the runs they requested, or all for staff and programme officers"), screens::list)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/screens", "Analyse and record a screening run with its files (support staff); 400 lists every problem with file and line, and nothing is recorded")
                .upload("project, title, requester (username); files: protocol (TOML), map (CSV), plates (one field per reader file), platelist (optional)", screens::RUN_UPLOAD_LIMIT),
            screens::record,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/screens/{id}", "A run: plate QC, summary, hits, confirmation curves and every well's value and scores (recomputed from the kept files)").params(SCREEN_PARAMS), screens::get)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/screens/{id}/confirm", "Record a concentration-response for a hit; the protocol's rule decides whether the compound becomes a seed of the run's project (support staff)")
                .params(SCREEN_PARAMS)
                .body("{\"compound\": registry id, \"points\": [[concentration mol/L, response]]}"),
            screens::confirm,
        )
        .add(Doc::signed_in(Method::POST, "/api/v1/screens/{id}/verify", "Recompute the run from its kept files (digest, QC, hits, curves) and compare with the record").params(SCREEN_PARAMS), screens::verify)
        .add(Doc::signed_in(Method::GET, "/api/v1/seeds", "Seeds found (confirmed hits) the caller may see"), screens::seeds)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/biobank-requests", "Ask biobanks for access (researchers): each biobank named must hold at least 10 donors matching the query; 201 with the request")
                .body(ACCESS_BODY),
            access::create,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/biobank-requests", "Access requests the caller may see: their own, their biobanks' (curators), or all (programme officers)"), access::list)
        .add(Doc::signed_in(Method::GET, "/api/v1/biobank-requests/{id}", "One access request: each biobank's state, the steps the caller may take, and the history").params(ACCESS_PARAMS), access::get)
        .add(
            Doc::signed_in(Method::POST, "/api/v1/biobank-requests/{id}/steps", "Move a biobank's part (its curators: under_review, approved, rejected with a reason, transferred, closed; the requester: withdrawn)")
                .params(ACCESS_PARAMS)
                .body("{\"biobank\": id, \"to\": state, \"message\": text}"),
            access::step,
        )
        .add(
            Doc::signed_in(Method::POST, "/api/v1/biobank-requests/{id}/messages", "Write in a biobank's thread of a request (the requester or that biobank's curators)")
                .params(ACCESS_PARAMS)
                .body("{\"biobank\": id, \"text\": text}"),
            access::message,
        )
        .add(Doc::signed_in(Method::GET, "/api/v1/biobank-requests/{id}/records", "The sample records a biobank approved (the requester, once `biobank` approved): record-level answer from that biobank's node, at most 1,000").params(RECORDS_PARAMS), access::records)
        .add(Doc::signed_in(Method::POST, "/api/v1/biobank-curators", "Make a biobank_curator account a curator of a biobank (admins)").body("{\"username\": name, \"biobank\": id}"), access::assign_curator)
        .add(Doc::public(Method::GET, "/beacon/v2/info", "Beacon v2: this beacon (the biobank cross-search)"), beacon::info)
        .add(Doc::public(Method::GET, "/beacon/v2/filtering_terms", "Beacon v2: the filters the cross-search understands (ICD-10, sex, sample and data types, age, consent)"), beacon::filtering_terms)
        .add(Doc::public(Method::GET, "/beacon/v2/individuals", "Beacon v2: participants matching `filters` (comma-separated ids), per biobank; boolean for the public, counts for signed-in roles that search biobanks").params(BEACON_PARAMS), |s, c, a, q| beacon::entry_get(Entry::Individuals, s, c, a, q))
        .add(Doc::public(Method::POST, "/beacon/v2/individuals", "Beacon v2 request body form of the above").body(BEACON_BODY), |s, c, a, b| beacon::entry_post(Entry::Individuals, s, c, a, b))
        .add(Doc::public(Method::GET, "/beacon/v2/biosamples", "Beacon v2: samples matching `filters`, per biobank").params(BEACON_PARAMS), |s, c, a, q| beacon::entry_get(Entry::Biosamples, s, c, a, q))
        .add(Doc::public(Method::POST, "/beacon/v2/biosamples", "Beacon v2 request body form of the above").body(BEACON_BODY), |s, c, a, b| beacon::entry_post(Entry::Biosamples, s, c, a, b))
        .add(Doc::public(Method::GET, "/beacon/v2/configuration", "Beacon v2: this beacon's configuration (entry types, default granularity)"), beacon::configuration)
        .add(Doc::public(Method::GET, "/beacon/v2/map", "Beacon v2: where each entry type is served"), beacon::map)
        .add(Doc::public(Method::GET, "/beacon/v2/entry_types", "Beacon v2: the entry types served (individual, biosample)"), beacon::entry_types)
        .add(Doc::public(Method::GET, "/federation/v1/next", "For pull-mode biobank nodes (bearer: the node's token): the next query, waiting up to `wait_ms` (≤ 25,000); 204 when none came").params(WAIT_PARAMS), beacon::next_job)
        .add(Doc::public(Method::POST, "/federation/v1/reply/{id}", "For pull-mode biobank nodes (bearer: the node's token): the reply to query `id`").params(REPLY_PARAMS).body("{\"status\": 200|400|429, \"body\": Beacon response}"), beacon::reply);
    (r.router, r.docs)
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.stage() {
        Stage::Ready => Json(json!({"status": "ready"})).into_response(),
        Stage::Starting { doing, percent } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "starting", "doing": doing, "percent": percent})),
        )
            .into_response(),
        Stage::Failed(why) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "failed", "error": why})))
                .into_response()
        }
    }
}

async fn openapi_json() -> Json<Value> {
    Json(crate::openapi::document(&routes().1))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn sign_in(
    State(state): State<Arc<AppState>>,
    client: crate::auth::ClientAddr,
    Body(c): Body<Credentials>,
) -> ApiResult {
    let address = client.ip().map(|ip| ip.to_string());
    let (actor, session) =
        state.accounts.sign_in_from(&c.username, &c.password, address.as_deref()).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&session.token, state.secure_cookies))],
        Json(json!({"user": actor, "csrf": session.csrf, "expires_at": session.expires_at})),
    )
        .into_response())
}

async fn sign_out(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> ApiResult {
    let token = crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE);
    state.accounts.sign_out(&caller.actor, token.as_deref()).await?;
    Ok(([(header::SET_COOKIE, cleared_session_cookie())], StatusCode::NO_CONTENT).into_response())
}

async fn me(caller: Caller) -> Json<Value> {
    Json(json!({"user": caller.actor, "csrf": caller.csrf}))
}

#[derive(Deserialize)]
struct TokenRequest {
    name: String,
    days: Option<u32>,
}

async fn create_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(t): Body<TokenRequest>,
) -> ApiResult {
    let days = t.days.unwrap_or(accounts::TOKEN_DAYS);
    let token = state.accounts.create_token_for_days(&caller.actor, &t.name, days).await?;
    Ok((StatusCode::CREATED, Json(json!({"name": t.name, "token": token}))).into_response())
}

async fn list_tokens(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    Ok(Json(json!({"tokens": state.accounts.tokens(&caller.actor).await?})).into_response())
}

async fn revoke_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    state.accounts.revoke_token(&caller.actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn disable_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult {
    state.accounts.set_disabled(Some(&caller.actor), &username, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn enable_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult {
    state.accounts.set_disabled(Some(&caller.actor), &username, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_users(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    Ok(Json(json!({"users": state.accounts.users(&caller.actor).await?})).into_response())
}

#[derive(Deserialize)]
struct UserRequest {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: String,
}

async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(u): Body<UserRequest>,
) -> ApiResult {
    let role: Role = u.role.parse()?;
    let new =
        NewUser { username: u.username, display_name: u.display_name, password: u.password, role };
    let user = state.accounts.create_user(Some(&caller.actor), new).await?;
    Ok((StatusCode::CREATED, Json(json!({"user": user}))).into_response())
}

#[derive(Deserialize)]
struct AuditParams {
    user_id: Option<i64>,
    before: Option<i64>,
    limit: Option<u32>,
}

async fn audit_log(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> ApiResult {
    let query = AuditQuery { user_id: p.user_id, before_id: p.before, limit: p.limit.unwrap_or(0) };
    let entries = state.accounts.audit_log(&caller.actor, &query).await?;
    Ok(Json(json!({"entries": entries})).into_response())
}

async fn stats(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    caller.actor.require(accounts::Permission::SearchCompounds)?;
    let c = state.catalog.registry().counts().await?;
    Ok(Json(json!({"parents": c.parents, "batches": c.batches, "samples": c.samples}))
        .into_response())
}

/// A compound's full record, audited as a view.
pub async fn compound_record(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Value, ApiError> {
    caller.actor.require(accounts::Permission::SearchCompounds)?;
    let id: CompoundId = id.parse()?;
    let compound = state.catalog.registry().compound(id).await?;
    state
        .accounts
        .audit(Some(&caller.actor), "compound.view", &format!("compound:{id}"), json!({}))
        .await?;
    state.chemistry(move || library::record::compound(&compound)).await
}

async fn compound(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(Json(compound_record(&state, &caller, &id).await?).into_response())
}

#[derive(Deserialize)]
struct DepictionParams {
    size: Option<u32>,
}

async fn depiction(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<DepictionParams>,
) -> ApiResult {
    caller.actor.require(accounts::Permission::SearchCompounds)?;
    let id: CompoundId = id.trim_end_matches(".svg").parse()?;
    let width = p.size.unwrap_or(240).clamp(100, 800);
    let smiles = state.catalog.registry().smiles_of(&[id]).await?.remove(0);
    let svg = state
        .chemistry(move || chem::Molecule::from_smiles(&smiles)?.svg(width, width * 3 / 4))
        .await??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            // Registered structures never change, so depictions may be kept.
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

/// `?format=…`: a search's export format, or which of a job's files.
#[derive(Deserialize)]
pub(crate) struct FormatParam {
    #[serde(default)]
    pub format: Option<String>,
}

async fn search(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(params): Query<SearchParams>,
    Query(format): Query<FormatParam>,
) -> ApiResult {
    let outcome = hits::run(&state, &caller, &params).await?;
    match format.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(outcome).into_response()),
        "csv" => {
            Ok(attachment("text/csv; charset=utf-8", "soyaku-hits.csv", export::csv(&outcome.hits)))
        }
        "sdf" => {
            let hits = outcome.hits;
            let text = state.chemistry(move || export::sdf(&hits)).await??;
            Ok(attachment("chemical/x-mdl-sdfile", "soyaku-hits.sdf", text))
        }
        other => {
            Err(ApiError::bad_request(format!("unknown format '{other}': use json, csv or sdf")))
        }
    }
}

/// A file download: its type, the name it is saved under, and its bytes.
/// A file on disk as a body read 64 KiB at a time: a job's output can be
/// gigabytes (an all-pairs matrix), which must never be held in memory.
pub(crate) async fn file_body(path: std::path::PathBuf) -> std::io::Result<axum::body::Body> {
    use tokio::io::AsyncReadExt as _;
    let file = tokio::fs::File::open(path).await?;
    let chunks = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut chunk = vec![0u8; 64 << 10];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(chunk), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(axum::body::Body::from_stream(chunks))
}

pub(crate) fn attachment(
    content_type: &'static str,
    name: &str,
    body: impl Into<axum::body::Body>,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body.into(),
    )
        .into_response()
}
