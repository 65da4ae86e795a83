//! A biobank node's Beacon v2 API (`soyaku biobank node --addr`): the same
//! binary, holding only its own catalogue, under `/api/`. The descriptive
//! endpoints (`info`, `filtering_terms`, `configuration`, `map`,
//! `entry_types`) and the collections (`datasets`: its biobanks; `cohorts`:
//! its sample collections, sizes under 10 withheld) are open; the entry endpoints (`individuals`,
//! `biosamples`) answer only the cross-search, which presents the node's
//! token as a bearer token and names its caller in `x-soyaku-caller`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use biobank::beacon::{filters_from_list, Entry, Request};
use biobank::node::Node;
use federation::{most_for, Token, CALLER_HEADER, GRANT_HEADER};
use serde::Deserialize;

#[derive(Clone)]
struct NodeState {
    node: Arc<Node>,
    token: Token,
    root: String,
}

/// The node's routes.
pub fn node_router(node: Arc<Node>, token: Token, root: String) -> Router {
    Router::new()
        .route("/api", get(info))
        .route("/api/info", get(info))
        .route("/api/filtering_terms", get(filtering_terms))
        .route("/api/configuration", get(configuration))
        .route("/api/map", get(map))
        .route("/api/entry_types", get(entry_types))
        .route("/api/datasets", get(datasets))
        .route("/api/cohorts", get(cohorts))
        .route(
            "/api/individuals",
            get(|s, h, q| entry_get(Entry::Individuals, s, h, q))
                .post(|s, h, b| post(s, h, Entry::Individuals, b)),
        )
        .route(
            "/api/biosamples",
            get(|s, h, q| entry_get(Entry::Biosamples, s, h, q))
                .post(|s, h, b| post(s, h, Entry::Biosamples, b)),
        )
        .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
        .with_state(NodeState { node, token, root })
}

/// Serves `node` on `listener` until `stop` resolves.
pub async fn serve_node(
    listener: tokio::net::TcpListener,
    node: Arc<Node>,
    token: Token,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: SocketAddr = listener.local_addr()?;
    let app = node_router(node, token, format!("http://{addr}/api"));
    axum::serve(listener, app).with_graceful_shutdown(stop).await
}

async fn info(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.identity.info())
}

async fn filtering_terms(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.identity.filtering_terms())
}

async fn configuration(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.identity.configuration())
}

async fn map(State(s): State<NodeState>) -> Json<serde_json::Value> {
    let mut doc = s.node.identity.map(&s.root);
    for (entity, path) in [("dataset", "datasets"), ("cohort", "cohorts")] {
        doc["response"]["endpointSets"][entity] =
            serde_json::json!({"entryType": entity, "rootUrl": format!("{}/{path}", s.root)});
    }
    Json(doc)
}

async fn datasets(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.datasets())
}

async fn cohorts(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.cohorts())
}

async fn entry_types(State(s): State<NodeState>) -> Json<serde_json::Value> {
    Json(s.node.identity.entry_types())
}

#[derive(Deserialize)]
struct GetParams {
    filters: Option<String>,
    #[serde(rename = "requestedGranularity")]
    requested_granularity: Option<String>,
}

async fn entry_get(
    entry_type: Entry,
    State(s): State<NodeState>,
    headers: HeaderMap,
    UrlQuery(p): UrlQuery<GetParams>,
) -> Response {
    let request = Request::from_filters(
        filters_from_list(p.filters.as_deref().unwrap_or("")),
        p.requested_granularity,
    );
    entry(&s, &headers, entry_type, request).await
}

async fn post(
    State(s): State<NodeState>,
    headers: HeaderMap,
    entry_type: Entry,
    body: axum::body::Bytes,
) -> Response {
    match serde_json::from_slice::<Request>(&body) {
        Ok(request) => entry(&s, &headers, entry_type, request).await,
        Err(e) => {
            let message = format!("the request body is not a Beacon request: {e}");
            (StatusCode::BAD_REQUEST, Json(s.node.identity.error(400, &message, None)))
                .into_response()
        }
    }
}

async fn entry(s: &NodeState, headers: &HeaderMap, entry: Entry, request: Request) -> Response {
    let presented = crate::auth::bearer(headers);
    if !presented.is_some_and(|t| s.token.matches(t)) {
        let message = "this node answers only its cross-search, which presents the node's token";
        return (StatusCode::UNAUTHORIZED, Json(s.node.identity.error(401, message, None)))
            .into_response();
    }
    let caller = headers
        .get(CALLER_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("cross-search")
        .to_owned();
    // The cross-search names the biobanks that approved the caller's
    // access request; it is trusted to, as the holder of the node's token
    // and the place where the biobank's curators decide.
    let grant: Vec<String> = headers
        .get(GRANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let node = s.node.clone();
    let day = library::now().div_euclid(86_400);
    let reply = tokio::task::spawn_blocking(move || {
        node.reply(entry, &request, &caller, (most_for(&grant), &grant), day)
    })
    .await
    .expect("answering does not panic");
    if let Some(problem) = &reply.problem {
        tracing::info!(status = reply.status, problem, "query not answered");
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(reply.body)).into_response()
}
