//! The screening API: thin handlers over the `campaigns` crate, which
//! checks every right and keeps every record.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use campaigns::NewRun;
use screening::RunFiles;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::{JsonBody, Path, Upload};
use crate::{ApiError, AppState};

type ApiResult = Result<Response, ApiError>;

/// Largest screening upload: 100 plates of 1536 wells in the most verbose
/// exports stay well under it.
pub(crate) const RUN_UPLOAD_LIMIT: usize = 256 << 20;

/// Reads a run from a multipart form: `project`, `title`, `requester`,
/// and the files `protocol`, `map`, `plates` (one field per file) and
/// optionally `platelist`.
pub(crate) async fn new_run(mut multipart: Multipart) -> Result<NewRun, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("bad upload: {e}"))
    };
    let mut files = RunFiles {
        protocol: String::new(),
        map: String::new(),
        plates: Vec::new(),
        plate_list: None,
    };
    let (mut project, mut title, mut requester) = (String::new(), String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("").to_owned();
        let text = screening::decode(&field.bytes().await.map_err(bad)?);
        match name.as_str() {
            "project" => project = text,
            "title" => title = text,
            "requester" => requester = Some(text).filter(|r| !r.trim().is_empty()),
            "protocol" => files.protocol = text,
            "map" => files.map = text,
            "platelist" if !text.trim().is_empty() => files.plate_list = Some(text),
            // A browser sends an empty part for a file input left empty.
            "plates" if !file_name.is_empty() || !text.is_empty() => {
                let n = files.plates.len() + 1;
                files.plates.push((
                    if file_name.is_empty() { format!("plate-{n}") } else { file_name },
                    text,
                ))
            }
            _ => {}
        }
    }
    if files.protocol.trim().is_empty() || files.map.trim().is_empty() || files.plates.is_empty() {
        return Err(ApiError::bad_request(
            "send the protocol, the plate map and at least one plate file (fields protocol, map, plates)",
        ));
    }
    Ok(NewRun { project, title, requester, files })
}

pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    Ok(Json(json!({"runs": state.campaigns.runs(&caller.actor).await?})).into_response())
}

pub async fn record(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Upload(multipart): Upload,
) -> ApiResult {
    state.campaigns.admit_run(&caller.actor)?;
    let run = state.campaigns.record_run(&caller.actor, new_run(multipart).await?).await?;
    Ok((StatusCode::CREATED, Json(json!({"run": run}))).into_response())
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    let (run, report) = state.campaigns.report(&caller.actor, id).await?;
    let hits = state.campaigns.hits(&caller.actor, id).await?;
    let curves = state.campaigns.curves(&caller.actor, Some(id), None).await?;
    let wells: Vec<_> = report
        .plates
        .iter()
        .map(|p| {
            json!({"file": p.file, "plate": p.plate, "replicate": p.replicate,
                   "values": p.values, "robust_z": p.result.robust_z,
                   "percent_inhibition": p.result.percent_inhibition, "b_score": p.result.b_score})
        })
        .collect();
    Ok(Json(json!({"run": run, "hits": hits, "curves": curves, "wells": wells})).into_response())
}

#[derive(Deserialize)]
pub struct ConfirmBody {
    compound: String,
    points: Vec<(f64, f64)>,
}

pub async fn confirm(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<ConfirmBody>,
) -> ApiResult {
    let (curve, seed) = state.campaigns.confirm(&caller.actor, id, &b.compound, &b.points).await?;
    Ok((StatusCode::CREATED, Json(json!({"curve": curve, "seed": seed}))).into_response())
}

pub async fn verify(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    Ok(Json(json!({"verification": state.campaigns.verify(&caller.actor, id).await?}))
        .into_response())
}

pub async fn seeds(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult {
    Ok(Json(json!({"seeds": state.campaigns.seeds(&caller.actor).await?})).into_response())
}
