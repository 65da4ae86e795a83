//! Prediction models over HTTP: the catalogue with its cards (public), and
//! ADMET profiles and target predictions for signed-in users whose role may
//! run models. Networks run on blocking threads, never on the async workers.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use library::catalog::Wanted;
use models::Model;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::{JsonBody as Body, Path};
use crate::{ApiError, AppState};

/// Most molecules one API call may send; files go through the CLI.
pub(crate) const MAX_MOLECULES: usize = 1000;

/// Most nearest library compounds one call may ask for.
const MAX_NEIGHBOURS: usize = 50;

type ApiResult = Result<axum::response::Response, ApiError>;

/// A model's listing: who it is, without its endpoints.
fn summary(model: &dyn Model) -> Value {
    let card = model.card();
    json!({
        "id": card.id,
        "version": card.version,
        "name": card.name,
        "summary": card.summary,
        "endpoints": card.endpoints.len(),
        "licence": card.licence,
    })
}

pub(crate) async fn list(State(state): State<Arc<AppState>>) -> ApiResult {
    let catalogue = state.models.clone();
    let models = tokio::task::spawn_blocking(move || {
        catalogue.all().map(|all| all.into_iter().map(summary).collect::<Vec<_>>())
    })
    .await
    .expect("model loading task")?;
    Ok(Json(json!({ "models": models })).into_response())
}

pub(crate) async fn card(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> ApiResult {
    let catalogue = state.models.clone();
    let card = tokio::task::spawn_blocking(move || catalogue.get(&name).map(|m| m.card().clone()))
        .await
        .expect("model loading task")?;
    Ok(Json(card).into_response())
}

/// One SMILES or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Smiles {
    One(String),
    Many(Vec<String>),
}

impl Smiles {
    fn into_vec(self) -> Vec<String> {
        match self {
            Smiles::One(s) => vec![s],
            Smiles::Many(v) => v,
        }
    }
}

/// The body of every call that predicts for a list of structures.
#[derive(Deserialize)]
pub(crate) struct MoleculesRequest {
    smiles: Smiles,
}

/// Refuses a caller whose role may not run models and a call with no
/// structures or too many, before any work is done.
fn admit(caller: &Caller, smiles: &[String]) -> Result<(), ApiError> {
    caller.actor.require(accounts::Permission::RunModels)?;
    if smiles.is_empty() || smiles.len() > MAX_MOLECULES {
        return Err(ApiError::bad_request(format!("send 1 to {MAX_MOLECULES} SMILES")));
    }
    Ok(())
}

/// The structures of `smiles`; the first that does not parse is the error,
/// named with its reason.
fn parse(smiles: &[String]) -> Result<Vec<chem::Molecule>, ApiError> {
    smiles
        .iter()
        .map(|s| {
            chem::Molecule::from_smiles(s).map_err(|e| ApiError::bad_request(format!("{s}: {e}")))
        })
        .collect()
}

/// ADMET profiles of `smiles`, each endpoint with its card's label, units,
/// direction and weakness beside the value, spread and percentile.
pub(crate) async fn admet_profiles(
    state: &AppState,
    caller: &Caller,
    smiles: Vec<String>,
) -> Result<Vec<Value>, ApiError> {
    admit(caller, &smiles)?;
    let catalogue = state.models.clone();
    let count = smiles.len();
    let profiles = state
        .chemistry(move || {
            let model = catalogue.admet()?;
            let profiles = model.admet(&parse(&smiles)?);
            Ok::<_, ApiError>(
                smiles
                    .iter()
                    .zip(profiles)
                    .map(|(s, profile)| {
                        let predictions: Vec<Value> = model
                            .card()
                            .endpoints
                            .iter()
                            .zip(profile.values)
                            .map(|(e, v)| {
                                json!({
                                    "endpoint": v.endpoint,
                                    "label": e.label,
                                    "value": v.value,
                                    "spread": v.spread,
                                    "units": e.units,
                                    "drugbank_percentile": v.drugbank_percentile,
                                    "favourable": e.favourable,
                                    "weak": e.weak,
                                })
                            })
                            .collect();
                        json!({
                            "smiles": s,
                            "in_domain": profile.in_domain,
                            "predictions": predictions,
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await??;
    state
        .accounts
        .audit(Some(&caller.actor), "model.predict", models::admet::ID, json!({"molecules": count}))
        .await?;
    Ok(profiles)
}

pub(crate) async fn admet(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(r): Body<MoleculesRequest>,
) -> ApiResult {
    let results = admet_profiles(&state, &caller, r.smiles.into_vec()).await?;
    let model = format!("{}@{}", models::admet::ID, state.models.admet()?.card().version);
    Ok(Json(json!({ "model": model, "results": results })).into_response())
}

/// Any model through the one interface every model has: per structure, each
/// endpoint's value with its uncertainty, applicability domain and
/// weak-endpoint flag, in the card's endpoint order.
pub(crate) async fn predict(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(r): Body<MoleculesRequest>,
) -> ApiResult {
    let smiles = r.smiles.into_vec();
    admit(&caller, &smiles)?;
    let catalogue = state.models.clone();
    let count = smiles.len();
    // Written out as bytes on the blocking thread, straight from the typed
    // predictions: a target model's answer for a thousand structures holds
    // most of a million of them, too many to build as a JSON tree first.
    let (id, body) = state
        .chemistry(move || {
            let model = catalogue.get(&name)?;
            let predictions = model.predict(&parse(&smiles)?)?;
            let card = model.card();
            let answer = Answer {
                model: format!("{}@{}", card.id, card.version),
                results: smiles
                    .iter()
                    .zip(&predictions)
                    .map(|(smiles, predictions)| Predicted { smiles, predictions })
                    .collect(),
            };
            let body = serde_json::to_vec(&answer).expect("predictions serialise");
            Ok::<_, ApiError>((card.id.clone(), body))
        })
        .await??;
    state
        .accounts
        .audit(Some(&caller.actor), "model.predict", &id, json!({"molecules": count}))
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Serialize)]
struct Answer<'a> {
    /// `id@version`.
    model: String,
    results: Vec<Predicted<'a>>,
}

#[derive(Serialize)]
struct Predicted<'a> {
    smiles: &'a str,
    predictions: &'a [models::Prediction<'a>],
}

#[derive(Deserialize)]
pub(crate) struct TargetRequest {
    smiles: String,
    top: Option<usize>,
    neighbours: Option<usize>,
    /// Only targets of this NCBI taxon (e.g. 9606, human).
    taxon: Option<u32>,
}

/// Ranked targets for `smiles` and, as the explanation, its nearest library
/// compounds (none when the library has no search files yet).
pub(crate) async fn target_prediction(
    state: &AppState,
    caller: &Caller,
    smiles: &str,
    top: usize,
    neighbours: usize,
    taxon: Option<u32>,
) -> Result<Value, ApiError> {
    caller.actor.require(accounts::Permission::RunModels)?;
    let neighbours = neighbours.min(MAX_NEIGHBOURS);
    let catalogue = state.models.clone();
    let owned = smiles.to_owned();
    let ranked = state
        .chemistry(move || {
            let model = catalogue.targets()?;
            let molecule = chem::Molecule::from_smiles(&owned)?;
            Ok::<_, ApiError>((
                model.rank(&molecule, top, taxon)?,
                format!("{}@{}", model.card().id, model.card().version),
            ))
        })
        .await??;
    state
        .accounts
        .audit(Some(&caller.actor), "model.predict", models::targets::ID, json!({"molecules": 1}))
        .await?;
    let nearest = if neighbours == 0 {
        Vec::new()
    } else {
        state
            .catalog
            .similar(smiles, fpindex::Metric::Tanimoto, Wanted::Top(neighbours))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("no nearest library compounds for a target prediction: {e}");
                Vec::new()
            })
    };
    Ok(json!({
        "smiles": smiles,
        "model": ranked.1,
        "targets": ranked.0,
        "nearest_library_compounds": nearest,
        "attribution": "Trained on ChEMBL 37 bioactivities (CC BY-SA 3.0, EMBL-EBI).",
    }))
}

pub(crate) async fn targets(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Body(r): Body<TargetRequest>,
) -> ApiResult {
    let result = target_prediction(
        &state,
        &caller,
        &r.smiles,
        r.top.unwrap_or(10),
        r.neighbours.unwrap_or(5),
        r.taxon,
    )
    .await?;
    Ok(Json(result).into_response())
}
