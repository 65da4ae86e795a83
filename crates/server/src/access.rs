//! Biobank access requests over HTTP: thin handlers over the `negotiator`
//! crate, which checks every right and keeps the history. A request is
//! checked against the cross-search first: each biobank asked must hold at
//! least 10 donors matching the request's query.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use biobank::beacon::{Entry, Request};
use biobank::Granularity;
use negotiator::NewRequest;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{JsonBody, Path};
use crate::{ApiError, AppState};

/// Submits `new` for `caller` after asking the cross-search whether each
/// biobank named holds matching donors: the one path the API and the page
/// share.
pub(crate) async fn submit(
    state: &AppState,
    caller: &Caller,
    new: NewRequest,
) -> Result<negotiator::AccessRequest, ApiError> {
    caller.actor.require(accounts::Permission::RequestBiobankAccess)?;
    let check = Request::for_query(&new.query, Granularity::Boolean);
    let (_, gathered) = crate::beacon::protected(
        state,
        Some(caller),
        &crate::auth::ClientAddr::unknown(),
        Entry::Individuals,
        check,
        "access:check",
    )
    .await?;
    let known: Vec<String> = gathered.banks.iter().map(|b| b.biobank.clone()).collect();
    for asked in &new.biobanks {
        if let Some(b) = gathered.banks.iter().find(|b| &b.biobank == asked) {
            if !b.exists {
                return Err(ApiError::bad_request(format!(
                    "{} has fewer than 10 donors matching this query; widen it or leave {asked} out",
                    b.name
                )));
            }
        }
    }
    Ok(state.negotiator.submit(&caller.actor, new, &known).await?)
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(new): JsonBody<NewRequest>,
) -> Result<Response, ApiError> {
    let r = submit(&state, &caller, new).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let requests = state.negotiator.list(&caller.actor).await?;
    Ok(Json(json!({"requests": requests})).into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(Json(state.negotiator.get(&caller.actor, id).await?).into_response())
}

#[derive(Deserialize)]
pub struct Step {
    biobank: String,
    to: negotiator::State,
    #[serde(default)]
    message: String,
}

pub async fn step(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(s): JsonBody<Step>,
) -> Result<Response, ApiError> {
    let r = state.negotiator.step(&caller.actor, id, &s.biobank, s.to, &s.message).await?;
    Ok(Json(r).into_response())
}

#[derive(Deserialize)]
pub struct Message {
    biobank: String,
    text: String,
}

pub async fn message(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(m): JsonBody<Message>,
) -> Result<Response, ApiError> {
    let r = state.negotiator.message(&caller.actor, id, &m.biobank, &m.text).await?;
    Ok(Json(r).into_response())
}

#[derive(Deserialize)]
pub struct Which {
    biobank: String,
}

/// The sample records a biobank approved for the requester: asked of the
/// nodes with the grant, so only that biobank releases records (at most
/// 1,000 per answer).
pub async fn records(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    axum::extract::Query(w): axum::extract::Query<Which>,
) -> Result<Response, ApiError> {
    let query = state.negotiator.grant(&caller.actor, id, &w.biobank).await?;
    let request = Request::for_query(&query, Granularity::Record);
    let who = format!("user:{}", caller.actor.user_id);
    let grant = [w.biobank.clone()];
    let gathered =
        state.cross_search.federation.ask(Entry::Biosamples, &request, &who, &grant).await;
    let bank = gathered.banks.into_iter().find(|b| b.biobank == w.biobank && b.records.is_some());
    match bank {
        Some(b) => Ok(Json(json!({"biobank": b.biobank, "records": b.records})).into_response()),
        None => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{} did not answer: {:?}", w.biobank, gathered.nodes),
        )),
    }
}

#[derive(Deserialize)]
pub struct Curator {
    username: String,
    biobank: String,
}

pub async fn assign_curator(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(c): JsonBody<Curator>,
) -> Result<StatusCode, ApiError> {
    state.negotiator.assign_curator(&caller.actor, &c.username, &c.biobank).await?;
    Ok(StatusCode::NO_CONTENT)
}
