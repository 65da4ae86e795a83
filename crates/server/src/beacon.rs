//! The cross-search's GA4GH Beacon v2 API at `/beacon/v2/`: `info`,
//! `filtering_terms`, and the `individuals` and `biosamples` entry types
//! (GET with `filters=` and `requestedGranularity=`, or POST with a Beacon
//! request body). A thin layer over the `biobank` crate: filters become a
//! query, the query is answered per biobank, and `biobank::Guard` decides
//! what the caller may see — anonymous callers at most `boolean`, signed-in
//! roles that may search biobanks `count`. Every query is audited.

use std::sync::Arc;

use accounts::Permission;
use axum::extract::{Query as UrlQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use biobank::protect::Reported;
use biobank::{Catalogue, Granularity, Guard, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::MaybeCaller;
use crate::{ApiError, AppState};

const BEACON_ID: &str = "jp.soyaku.biobank-cross-search";
const API_VERSION: &str = "v2.0.0";

/// The catalogue searched and the guard answering for it.
pub struct CrossSearch {
    /// The catalogue (the imported one, or the synthetic demo).
    pub catalogue: Catalogue,
    /// Protection.
    pub guard: Guard,
    /// Whether the catalogue is the synthetic demo.
    pub synthetic: bool,
}

fn meta(entity: &str, granularity: Option<Granularity>, request: Value) -> Value {
    let mut m = json!({
        "beaconId": BEACON_ID,
        "apiVersion": API_VERSION,
        "returnedSchemas": [{"entityType": entity, "schema": format!("beacon-{entity}-{API_VERSION}")}],
    });
    if let Some(g) = granularity {
        m["returnedGranularity"] = json!(g);
        m["receivedRequestSummary"] = request;
    }
    m
}

pub async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    let search = &state.cross_search;
    let description = if search.synthetic {
        "Soyaku biobank cross-search over SYNTHETIC demo biobanks (no real participant data)"
    } else {
        "Soyaku biobank cross-search"
    };
    Json(json!({
        "meta": meta("info", None, Value::Null),
        "response": {
            "id": BEACON_ID,
            "name": "Soyaku biobank cross-search (バイオバンク横断検索)",
            "apiVersion": API_VERSION,
            "environment": if search.synthetic { "dev" } else { "prod" },
            "organization": {"id": "soyaku", "name": "Soyaku"},
            "description": description,
            "version": env!("CARGO_PKG_VERSION"),
        }
    }))
}

pub async fn filtering_terms() -> Json<Value> {
    let icd = biobank::terms::icd10();
    let mut terms: Vec<Value> = icd
        .codes
        .iter()
        .map(|d| {
            json!({"type": "ontologyTerm", "id": format!("ICD10:{}", d.code), "label": d.english,
                        "labels": {"ja": d.japanese}, "scopes": ["individual", "biosample"]})
        })
        .collect();
    terms.push(json!({"type": "ontologyTerm", "id": "NCIT:C16576", "label": "female", "scopes": ["individual"]}));
    terms.push(json!({"type": "ontologyTerm", "id": "NCIT:C20197", "label": "male", "scopes": ["individual"]}));
    for t in biobank::terms::SampleType::ALL {
        terms.push(json!({"type": "ontologyTerm", "id": t.ontology_id(), "label": t.label(), "scopes": ["biosample"]}));
    }
    for t in biobank::terms::DataType::ALL {
        terms.push(json!({"type": "ontologyTerm", "id": t.ontology_id(), "label": t.label(), "scopes": ["individual"]}));
    }
    terms.push(json!({"type": "alphanumeric", "id": "age", "label": "age at collection (years; operators >=, <=, =)", "scopes": ["biosample"]}));
    terms.push(json!({"type": "alphanumeric", "id": "consent", "label": "consent allows: commercial, health_medical, non_genetic, ancestry", "scopes": ["individual"]}));
    Json(json!({
        "meta": meta("filteringTerm", None, Value::Null),
        "response": {
            "filteringTerms": terms,
            "resources": [
                {"id": "ICD10", "name": "International Classification of Diseases, 10th revision", "url": "https://icd.who.int/browse10"},
                {"id": "NCIT", "name": "NCI Thesaurus", "url": "https://ncit.nci.nih.gov"},
                {"id": "UBERON", "name": "Uberon anatomy ontology", "url": "http://purl.obolibrary.org/obo/uberon.owl"},
                {"id": "OBI", "name": "Ontology for Biomedical Investigations", "url": "http://purl.obolibrary.org/obo/obi.owl"},
            ],
        }
    }))
}

/// A Beacon filter.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Filter {
    id: String,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

fn criterion(f: &Filter) -> Result<Query, ApiError> {
    let bad = |m: String| ApiError::bad_request(m);
    let id = f.id.trim();
    match (id, f.operator.as_deref(), f.value.as_deref()) {
        ("age", Some(op), Some(v)) => {
            let n: u8 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("age '{v}' is not a whole number of years")))?;
            Ok(match op {
                ">=" => Query::Age { min: n, max: u8::MAX },
                ">" => Query::Age { min: n.saturating_add(1), max: u8::MAX },
                "<=" => Query::Age { min: 0, max: n },
                "<" => Query::Age { min: 0, max: n.saturating_sub(1) },
                "=" => Query::Age { min: n, max: n },
                other => return Err(bad(format!("age takes >=, >, <=, < or =, not '{other}'"))),
            })
        }
        ("consent", _, Some(v)) => serde_json::from_value(json!({"consent": v})).map_err(|_| {
            bad(format!("consent '{v}' is not commercial, health_medical, non_genetic or ancestry"))
        }),
        ("NCIT:C16576", ..) => Ok(Query::Sex(biobank::Sex::Female)),
        ("NCIT:C20197", ..) => Ok(Query::Sex(biobank::Sex::Male)),
        (id, ..) => {
            let code = id.strip_prefix("ICD10:").unwrap_or(id);
            if biobank::terms::icd10().id(code).is_some() {
                Ok(Query::Disease(code.to_owned()))
            } else if biobank::terms::SampleType::parse(id).is_some() {
                Ok(Query::SampleType(id.to_owned()))
            } else if biobank::terms::DataType::parse(id).is_some() {
                Ok(Query::Data(id.to_owned()))
            } else {
                Err(bad(format!("unknown filter '{id}'; see /beacon/v2/filtering_terms")))
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct GetParams {
    filters: Option<String>,
    #[serde(rename = "requestedGranularity")]
    requested_granularity: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Request {
    #[serde(default)]
    query: RequestQuery,
}

#[derive(Deserialize, Default)]
pub struct RequestQuery {
    #[serde(default)]
    filters: Vec<Filter>,
    #[serde(default, rename = "requestedGranularity")]
    requested_granularity: Option<String>,
}

fn granularity(text: Option<&str>) -> Result<Granularity, ApiError> {
    match text.unwrap_or("boolean") {
        "boolean" => Ok(Granularity::Boolean),
        "count" => Ok(Granularity::Count),
        "record" => Ok(Granularity::Record),
        other => Err(ApiError::bad_request(format!(
            "requestedGranularity '{other}' is not boolean, count or record"
        ))),
    }
}

/// Which entry type is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Individuals,
    Biosamples,
}

/// Answers `query` for `caller` at the granularity they may have (at most
/// `requested`), auditing it as `target`: the one path the Beacon API and
/// the search page share.
pub(crate) async fn protected(
    state: &AppState,
    caller: Option<&crate::auth::Caller>,
    query: &Query,
    requested: Granularity,
    target: &str,
) -> Result<(Granularity, biobank::Answer), ApiError> {
    let search = &state.cross_search;
    let plan = query.plan(&search.catalogue).map_err(|e| ApiError::bad_request(e.0))?;
    // The most a caller may see: boolean for the public, count for roles
    // that search biobanks; records need an approved access request, which
    // nobody holds yet, so they are never given here.
    let allowed = match caller {
        Some(c) if c.actor.can(Permission::SearchBiobanks) => Granularity::Count,
        _ => Granularity::Boolean,
    };
    let given = requested.min(allowed);
    let who = caller.map_or("anon".to_owned(), |c| format!("user:{}", c.actor.user_id));
    let day = library::now().div_euclid(86_400);
    let matched = search.catalogue.evaluate(&plan);
    let result = search.guard.answer(&search.catalogue, &who, given, &[], &matched, day);
    state
        .accounts
        .audit(
            caller.map(|c| &c.actor),
            "biobank.query",
            target,
            json!({"plan": plan, "granularity": given, "refused": result.as_ref().err().map(ToString::to_string)}),
        )
        .await?;
    let answer = result.map_err(|e| {
        ApiError::new(axum::http::StatusCode::TOO_MANY_REQUESTS, "refused", e.to_string())
    })?;
    Ok((given, answer))
}

async fn answer(
    state: &AppState,
    caller: Option<crate::auth::Caller>,
    entry: Entry,
    filters: Vec<Filter>,
    requested: Granularity,
) -> Result<Response, ApiError> {
    let query = if filters.is_empty() {
        Query::Age { min: 0, max: u8::MAX }
    } else {
        Query::And(filters.iter().map(criterion).collect::<Result<_, _>>()?)
    };
    let entity = if entry == Entry::Individuals { "individual" } else { "biosample" };
    let (given, answer) =
        protected(state, caller.as_ref(), &query, requested, &format!("beacon:{entity}s")).await?;
    let count = |b: &biobank::protect::BankAnswer| match entry {
        Entry::Individuals => b.donors,
        Entry::Biosamples => b.samples,
    };
    let shown = |r: Option<Reported>| match r {
        Some(Reported::About(n)) => json!(n),
        // Beacon has no "fewer than"; such sets say they exist or not and
        // carry no count.
        _ => Value::Null,
    };
    let sets: Vec<Value> = answer
        .biobanks
        .iter()
        .map(|b| {
            let mut set = json!({"id": b.biobank, "setType": "dataset", "exists": b.exists});
            if given == Granularity::Count {
                set["resultsCount"] = shown(count(b));
                if let Some(Reported::FewerThan(k)) = count(b) {
                    set["info"] = json!({"countSuppressed": format!("fewer than {k}")});
                }
            }
            set
        })
        .collect();
    let total: u64 = answer
        .biobanks
        .iter()
        .filter_map(|b| match count(b) {
            Some(Reported::About(n)) => Some(n),
            _ => None,
        })
        .sum();
    let exists = answer.biobanks.iter().any(|b| b.exists);
    let request = json!({
        "apiVersion": API_VERSION, "requestedSchemas": [],
        "filters": filters.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
        "requestedGranularity": requested, "pagination": {"skip": 0, "limit": 0},
    });
    let mut summary = json!({"exists": exists});
    if given == Granularity::Count {
        summary["numTotalResults"] = json!(total);
    }
    Ok(Json(json!({
        "meta": meta(entity, Some(given), request),
        "responseSummary": summary,
        "response": {"resultSets": sets},
    }))
    .into_response())
}

pub async fn individuals_get(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    UrlQuery(p): UrlQuery<GetParams>,
) -> Result<Response, ApiError> {
    entry_get(&state, caller, Entry::Individuals, p).await
}

pub async fn biosamples_get(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    UrlQuery(p): UrlQuery<GetParams>,
) -> Result<Response, ApiError> {
    entry_get(&state, caller, Entry::Biosamples, p).await
}

async fn entry_get(
    state: &AppState,
    caller: Option<crate::auth::Caller>,
    entry: Entry,
    p: GetParams,
) -> Result<Response, ApiError> {
    let filters = p
        .filters
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| Filter { id: f.to_owned(), operator: None, value: None })
        .collect();
    answer(state, caller, entry, filters, granularity(p.requested_granularity.as_deref())?).await
}

pub async fn individuals_post(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    crate::error::JsonBody(r): crate::error::JsonBody<Request>,
) -> Result<Response, ApiError> {
    let g = granularity(r.query.requested_granularity.as_deref())?;
    answer(&state, caller, Entry::Individuals, r.query.filters, g).await
}

pub async fn biosamples_post(
    State(state): State<Arc<AppState>>,
    MaybeCaller(caller): MaybeCaller,
    crate::error::JsonBody(r): crate::error::JsonBody<Request>,
) -> Result<Response, ApiError> {
    let g = granularity(r.query.requested_granularity.as_deref())?;
    answer(&state, caller, Entry::Biosamples, r.query.filters, g).await
}
