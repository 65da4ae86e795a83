//! Searches as the API and the pages run them: parameters, permission
//! check, audit record, and hit rows with key descriptors and flags.

use std::time::{Duration, Instant};

use accounts::Permission;
use fpindex::Metric;
use library::substructure::{QueryLanguage, SearchLimits};
use library::{CompoundId, ScoredCompound, Wanted};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::{ApiError, AppState, Stage};

/// Most hits a similarity or substructure search returns.
pub const MAX_HITS: usize = 10_000;
/// Most compounds a diversity pick may take while a request waits (each
/// pick scans the whole library once).
pub const MAX_PICK: usize = 1_000;
/// Longest time budget a substructure search may ask for.
const MAX_SUBSTRUCTURE_MS: u64 = 30_000;

/// Which search, with its parameters (query string or JSON).
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct SearchParams {
    /// `similar` (default), `substructure`, or `pick` (MaxMin diversity
    /// pick of `top` compounds; no query).
    #[serde(default)]
    pub mode: Mode,
    /// The query: SMILES for similarity; SMARTS or SMILES for substructure.
    #[serde(default)]
    pub query: String,
    /// Similarity: the k best (default 50 when no threshold is given).
    #[serde(default, deserialize_with = "blank_is_none")]
    pub top: Option<usize>,
    /// Similarity: every compound at or above this score.
    #[serde(default, deserialize_with = "blank_is_none")]
    pub threshold: Option<f64>,
    /// Similarity: `tanimoto` (default) or `tversky`.
    #[serde(default)]
    pub metric: MetricName,
    /// Tversky weights.
    #[serde(default, deserialize_with = "blank_is_none")]
    pub alpha: Option<f64>,
    #[serde(default, deserialize_with = "blank_is_none")]
    pub beta: Option<f64>,
    /// Substructure: read the query as `smarts` (default) or `smiles`.
    #[serde(default)]
    pub language: Language,
    /// Substructure: at most this many hits (default 1000).
    #[serde(default, deserialize_with = "blank_is_none")]
    pub limit: Option<usize>,
    /// Substructure: time budget in milliseconds (default 10,000).
    #[serde(default, deserialize_with = "blank_is_none")]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Similar,
    Substructure,
    /// A MaxMin diversity pick of `top` compounds (no query).
    Pick,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    #[default]
    Tanimoto,
    Tversky,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Smarts,
    Smiles,
}

/// An empty form field means "not given", as a missing one does.
fn blank_is_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Number(serde_json::Number),
    }
    let text = match Option::<Given>::deserialize(d)? {
        None => return Ok(None),
        Some(Given::Text(t)) => t,
        Some(Given::Number(n)) => n.to_string(),
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|e| serde::de::Error::custom(format!("'{text}': {e}")))
}

/// One hit as shown: identity, score, key descriptors and rule flags.
#[derive(Debug, Clone, Serialize)]
pub struct HitRow {
    pub id: CompoundId,
    pub smiles: String,
    pub score: f64,
    pub mol_wt: f64,
    pub clogp: f64,
    pub tpsa: f64,
    pub hbd: u32,
    pub hba: u32,
    pub rotatable_bonds: u32,
    pub heavy_atoms: u32,
    pub lipinski: bool,
    pub veber: bool,
}

/// A search's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub hits: Vec<HitRow>,
    /// Substructure only: the time budget or limit cut the search short.
    pub partial: bool,
    /// Substructure only: how many compounds passed the fingerprint screen.
    pub candidates: Option<usize>,
    /// Time spent searching, in milliseconds.
    pub elapsed_ms: f64,
}

impl SearchParams {
    fn check(&self) -> Result<(), ApiError> {
        if self.query.trim().is_empty() && self.mode != Mode::Pick {
            return Err(ApiError::bad_request("give a query structure in 'query'"));
        }
        if self.threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return Err(ApiError::bad_request("'threshold' must be between 0 and 1"));
        }
        let weight_ok =
            |w: Option<f64>| w.is_none_or(|w| w.is_finite() && (0.0..=100.0).contains(&w));
        if !weight_ok(self.alpha) || !weight_ok(self.beta) {
            return Err(ApiError::bad_request("'alpha' and 'beta' must be numbers from 0 to 100"));
        }
        if self.mode == Mode::Pick && self.top.is_some_and(|k| k > MAX_PICK) {
            return Err(ApiError::bad_request(format!(
                "a diversity pick in a search takes at most {MAX_PICK} compounds"
            )));
        }
        if self.top.is_some_and(|k| k == 0 || k > MAX_HITS)
            || self.limit.is_some_and(|k| k == 0 || k > MAX_HITS)
        {
            return Err(ApiError::bad_request(format!(
                "'top' and 'limit' must be between 1 and {MAX_HITS}"
            )));
        }
        Ok(())
    }

    fn metric(&self) -> Metric {
        match self.metric {
            MetricName::Tanimoto => Metric::Tanimoto,
            MetricName::Tversky => {
                Metric::Tversky { alpha: self.alpha.unwrap_or(0.5), beta: self.beta.unwrap_or(0.5) }
            }
        }
    }
}

/// Refuses searches until start-up has finished.
pub fn require_ready(state: &AppState) -> Result<(), ApiError> {
    match state.stage() {
        Stage::Ready => Ok(()),
        Stage::Starting { doing, percent } => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "starting",
            format!("the server is still starting ({doing}, {percent}%); try again shortly"),
        )),
        Stage::Failed(why) => Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "start_failed",
            format!("the server could not start its search service: {why}"),
        )),
    }
}

/// Runs a search for `caller`, audits it, and returns hit rows.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    params: &SearchParams,
) -> Result<Outcome, ApiError> {
    caller.actor.require(Permission::SearchCompounds)?;
    params.check()?;
    require_ready(state)?;
    let started = Instant::now();
    let (found, partial, candidates) = match params.mode {
        Mode::Similar => {
            let wanted = match (params.threshold, params.top) {
                (Some(t), _) => Wanted::Threshold(t),
                (None, k) => Wanted::Top(k.unwrap_or(50)),
            };
            let mut hits = state.catalog.similar(&params.query, params.metric(), wanted).await?;
            let partial = hits.len() > MAX_HITS;
            hits.truncate(MAX_HITS);
            (hits, partial, None)
        }
        Mode::Substructure => {
            let limits = SearchLimits {
                limit: params.limit.unwrap_or(1000),
                timeout: Duration::from_millis(
                    params.timeout_ms.unwrap_or(10_000).min(MAX_SUBSTRUCTURE_MS),
                ),
            };
            let language = match params.language {
                Language::Smarts => QueryLanguage::Smarts,
                Language::Smiles => QueryLanguage::Smiles,
            };
            let (hits, result) =
                state.catalog.substructure(&params.query, language, limits).await?;
            let cut = result.partial || result.verified < result.candidates;
            (hits, cut, Some(result.candidates))
        }
        Mode::Pick => {
            let picks = state.catalog.pick(params.top.unwrap_or(96), &[]).await?;
            // The score of a pick is its similarity to the nearest earlier pick.
            let as_hits: Vec<fpindex::Hit> = picks
                .iter()
                .map(|p| fpindex::Hit { id: p.id, score: p.nearest.unwrap_or(0.0) })
                .collect();
            (state.catalog.scored(&as_hits).await?, false, None)
        }
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    state
        .accounts
        .audit(
            Some(&caller.actor),
            match params.mode {
                Mode::Similar => "search.similar",
                Mode::Substructure => "search.substructure",
                Mode::Pick => "search.pick",
            },
            "library",
            serde_json::json!({"params": params, "hits": found.len(), "partial": partial}),
        )
        .await?;
    Ok(Outcome { hits: rows(state, &found).await?, partial, candidates, elapsed_ms })
}

/// Hit rows for scored compounds, descriptors read from the registry.
pub async fn rows(state: &AppState, found: &[ScoredCompound]) -> Result<Vec<HitRow>, ApiError> {
    let ids: Vec<CompoundId> = found.iter().map(|h| h.id).collect();
    let parents = state.catalog.registry().parents(&ids).await?;
    Ok(found
        .iter()
        .zip(parents)
        .map(|(hit, parent)| {
            let d = &parent.descriptors;
            let flags = chem::Rules::evaluate(d, &[]);
            HitRow {
                id: hit.id,
                smiles: hit.smiles.clone(),
                score: hit.score,
                mol_wt: d.mol_wt,
                clogp: d.clogp,
                tpsa: d.tpsa,
                hbd: d.hbd,
                hba: d.hba,
                rotatable_bonds: d.rotatable_bonds,
                heavy_atoms: d.heavy_atoms,
                lipinski: flags.lipinski,
                veber: flags.veber,
            }
        })
        .collect())
}
