//! The provision-request API: thin handlers over the `requests` crate,
//! which checks every right and state.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use library::CompoundId;
use requests::{Container, NewRequest, Status};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{JsonBody, Path, Query};
use crate::{ApiError, AppState};

type ApiResult = Result<Response, ApiError>;

/// Reads registry ids, naming the first bad one.
pub fn compound_ids<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<CompoundId>, ApiError> {
    texts
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<CompoundId>().map_err(ApiError::from))
        .collect()
}

#[derive(Deserialize)]
pub struct StatusFilter {
    status: Option<String>,
}

/// A status named in a query, or none for every status.
pub fn status_filter(text: Option<&str>) -> Result<Option<Status>, ApiError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => {
            Status::ALL.into_iter().find(|s| s.to_string() == t).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                "'{t}' is not a status; use submitted, approved, shipped, rejected or cancelled"
            ))
            })
        }
    }
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(f): Query<StatusFilter>,
) -> ApiResult {
    let status = status_filter(f.status.as_deref())?;
    let list = state.requests.list(&caller.actor, status).await?;
    Ok(Json(json!({"requests": list})).into_response())
}

#[derive(Deserialize)]
pub struct SubmitBody {
    compounds: Vec<String>,
    purpose: String,
    amount: String,
    plate_format: String,
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(b): JsonBody<SubmitBody>,
) -> ApiResult {
    let new = NewRequest {
        compounds: compound_ids(b.compounds.iter().map(String::as_str))?,
        purpose: b.purpose,
        amount: b.amount,
        plate_format: b.plate_format,
    };
    let request = state.requests.submit(&caller.actor, new).await?;
    Ok((StatusCode::CREATED, Json(json!({"request": request}))).into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(json!({"request": state.requests.get(&caller.actor, id).await?})).into_response())
}

#[derive(Deserialize, Default)]
pub struct NoteBody {
    #[serde(default)]
    note: String,
}

pub async fn approve(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<NoteBody>,
) -> ApiResult {
    Ok(Json(json!({"request": state.requests.approve(&caller.actor, id, &b.note).await?}))
        .into_response())
}

pub async fn reject(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<NoteBody>,
) -> ApiResult {
    Ok(Json(json!({"request": state.requests.reject(&caller.actor, id, &b.note).await?}))
        .into_response())
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(json!({"request": state.requests.cancel(&caller.actor, id).await?})).into_response())
}

#[derive(Deserialize)]
pub struct ContainerBody {
    compound: String,
    barcode: String,
    #[serde(default)]
    well: String,
}

#[derive(Deserialize)]
pub struct ShipmentBody {
    containers: Vec<ContainerBody>,
}

pub async fn ship(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ShipmentBody>,
) -> ApiResult {
    let containers = b
        .containers
        .into_iter()
        .map(|c| {
            Ok(Container { compound: c.compound.trim().parse()?, barcode: c.barcode, well: c.well })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(json!({"request": state.requests.ship(&caller.actor, id, &containers).await?}))
        .into_response())
}
