//! The cross-search's GA4GH Beacon v2 API at `/beacon/v2/`: `info`,
//! `filtering_terms`, `configuration`, `map`, `entry_types`, and the
//! `individuals` and `biosamples` entry types (GET with `filters=` and
//! `requestedGranularity=`, or POST with a Beacon request body); and the
//! two endpoints pull-mode nodes poll (`/federation/v1/`). A thin layer
//! over the `federation` crate: the caller's role caps the granularity —
//! anonymous callers at most `boolean`, signed-in roles that may search
//! biobanks `count` — the query goes to every node, and the answer names
//! each node's status. Every query is audited.

use std::sync::Arc;
use std::time::Duration;

use accounts::Permission;
use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use biobank::beacon::{filters_from_list, Entry, Identity, Request};
use biobank::Granularity;
use federation::{Federation, Gathered, PostedReply};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{ClientAddr, MaybeCaller};
use crate::{ApiError, AppState};

/// The cross-search: who it is and the nodes it asks.
pub struct CrossSearch {
    /// Its Beacon identity.
    pub identity: Identity,
    /// The nodes.
    pub federation: Federation,
    /// Keys the pseudonyms of anonymous callers' addresses (a fresh key per
    /// process: nodes never learn an address).
    pub anon_key: std::hash::RandomState,
}

pub async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.cross_search.identity.info())
}

pub async fn filtering_terms(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.cross_search.identity.filtering_terms())
}

pub async fn configuration(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.cross_search.identity.configuration())
}

pub async fn map(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.cross_search.identity.map("/beacon/v2"))
}

pub async fn entry_types(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(state.cross_search.identity.entry_types())
}

#[derive(Deserialize, Default)]
pub struct GetParams {
    filters: Option<String>,
    #[serde(rename = "requestedGranularity")]
    requested_granularity: Option<String>,
}

/// Asks every node `request` (whose query and granularity are already
/// checked) for `caller`, capping the granularity by the caller's role and
/// auditing it as `target`: the one path the Beacon API and the search page
/// share. Returns the granularity given and what the nodes said.
pub(crate) async fn protected(
    state: &AppState,
    caller: Option<&crate::auth::Caller>,
    client: &ClientAddr,
    entry: Entry,
    mut request: Request,
    target: &str,
) -> Result<(Granularity, Gathered), ApiError> {
    let bad = |e: biobank::QueryError| ApiError::bad_request(e.0);
    let query = request.query().map_err(bad)?;
    let requested = request.granularity().map_err(bad)?;
    // Records need an approved access request and come from the biobank
    // itself, so the cross-search gives at most counts, and those only to
    // roles that search biobanks.
    let allowed = match caller {
        Some(c) if c.actor.can(Permission::SearchBiobanks) => Granularity::Count,
        _ => Granularity::Boolean,
    };
    let given = requested.min(allowed);
    request.query.requested_granularity =
        Some(serde_json::to_value(given).expect("a name").as_str().unwrap_or("boolean").to_owned());
    // Nodes keep budgets and query histories per caller: signed-in users by
    // account, anonymous callers by a keyed pseudonym of their address.
    let who = match (caller, client.0) {
        (Some(c), _) => format!("user:{}", c.actor.user_id),
        (None, Some(ip)) => {
            use std::hash::BuildHasher as _;
            format!("anon:{:016x}", state.cross_search.anon_key.hash_one(ip))
        }
        (None, None) => "anon".to_owned(),
    };
    let gathered = state.cross_search.federation.ask(entry, &request, &who, &[]).await;
    state
        .accounts
        .audit(
            caller.map(|c| &c.actor),
            "biobank.query",
            target,
            json!({"query": query, "granularity": given, "nodes": gathered.nodes}),
        )
        .await?;
    if let Some(m) = gathered.bad_request() {
        return Err(ApiError::bad_request(m));
    }
    // Each node matches nothing for a biobank it does not hold; when every
    // node answered, a name none holds is a mistake to report.
    if gathered.nodes.iter().all(|n| n.status == federation::Status::Ok) {
        if let Some(unknown) =
            query.biobanks().into_iter().find(|b| !gathered.banks.iter().any(|x| x.biobank == *b))
        {
            let known: Vec<&str> = gathered.banks.iter().map(|b| b.biobank.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "no biobank '{unknown}'; the cross-search has {}",
                known.join(", ")
            )));
        }
    }
    if let Some(m) = gathered.refused() {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "refused", m));
    }
    Ok((given, gathered))
}

/// Answers a Beacon entry request; failures too are Beacon error documents.
async fn answer(
    state: &AppState,
    caller: Option<crate::auth::Caller>,
    client: ClientAddr,
    entry: Entry,
    request: Result<Request, String>,
) -> Response {
    let identity = &state.cross_search.identity;
    let request = match request {
        Ok(r) => r,
        Err(message) => {
            let doc = identity.error(400, &message, None);
            return (StatusCode::BAD_REQUEST, Json(doc)).into_response();
        }
    };
    let answered = async {
        let requested = request.granularity().map_err(|e| ApiError::bad_request(e.0))?;
        let target = format!("beacon:{}", entry.path());
        let (given, gathered) =
            protected(state, caller.as_ref(), &client, entry, request.clone(), &target).await?;
        let nodes = Some(json!({"nodes": gathered.nodes}));
        Ok::<_, ApiError>(identity.results(
            entry,
            &request,
            requested,
            given,
            &gathered.banks,
            nodes,
        ))
    };
    match answered.await {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => {
            let doc = identity.error(e.status.as_u16(), &e.message, Some(&request));
            (e.status, Json(doc)).into_response()
        }
    }
}

fn from_get(p: GetParams) -> Result<Request, String> {
    let filters = filters_from_list(p.filters.as_deref().unwrap_or(""));
    Ok(Request::from_filters(filters, p.requested_granularity))
}

fn from_body(body: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not a Beacon request: {e}"))
}

pub async fn entry_get(
    entry: Entry,
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    client: ClientAddr,
    UrlQuery(p): UrlQuery<GetParams>,
) -> Response {
    answer(&state, caller, client, entry, from_get(p)).await
}

pub async fn entry_post(
    entry: Entry,
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    client: ClientAddr,
    body: axum::body::Bytes,
) -> Response {
    answer(&state, caller, client, entry, from_body(&body)).await
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    crate::auth::bearer(headers).ok_or_else(ApiError::unauthenticated)
}

fn not_a_node(e: federation::NotANode) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
}

#[derive(Deserialize)]
pub struct Wait {
    wait_ms: Option<u64>,
}

/// A pull node collects its next query (waiting up to `wait_ms`, at most
/// 25 s): 200 with the job, or 204 when none came.
pub async fn next_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    UrlQuery(w): UrlQuery<Wait>,
) -> Result<Response, ApiError> {
    let wait = Duration::from_millis(w.wait_ms.unwrap_or(20_000).min(25_000));
    match state.cross_search.federation.next_job(bearer(&headers)?, wait).await {
        Ok(Some(job)) => Ok(Json(job).into_response()),
        Ok(None) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e) => Err(not_a_node(e)),
    }
}

/// A pull node posts its reply to query `id`.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    crate::error::Path(id): crate::error::Path<u64>,
    crate::error::JsonBody(posted): crate::error::JsonBody<PostedReply>,
) -> Result<StatusCode, ApiError> {
    state.cross_search.federation.deliver(bearer(&headers)?, id, posted).map_err(not_a_node)?;
    Ok(StatusCode::NO_CONTENT)
}
