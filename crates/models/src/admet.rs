//! ADMET-AI 2.0.1: two Chemprop v2 ensembles (five models each) predicting
//! 41 absorption, distribution, metabolism, excretion and toxicity
//! endpoints, with each prediction placed among the predictions for 2,845
//! approved drugs (DrugBank), as ADMET-AI reports them.

use std::collections::HashMap;
use std::sync::Mutex;

use chem::Molecule;
use serde::{Deserialize, Serialize};

use crate::card::{weak_metric, Card, Endpoint, Favourable, Metric, Task};
use crate::chemprop::{BatchGraph, Mpnn, Scratch};
use crate::{Model, ModelError, Prediction};

/// The model's id in the catalogue.
pub const ID: &str = "admet-ai";

macro_rules! ensemble {
    ($dir:literal) => {
        [
            include_bytes!(concat!("../../../data/models/admet-ai-2.0.1/", $dir, "/model_0.pt"))
                .as_slice(),
            include_bytes!(concat!("../../../data/models/admet-ai-2.0.1/", $dir, "/model_1.pt"))
                .as_slice(),
            include_bytes!(concat!("../../../data/models/admet-ai-2.0.1/", $dir, "/model_2.pt"))
                .as_slice(),
            include_bytes!(concat!("../../../data/models/admet-ai-2.0.1/", $dir, "/model_3.pt"))
                .as_slice(),
            include_bytes!(concat!("../../../data/models/admet-ai-2.0.1/", $dir, "/model_4.pt"))
                .as_slice(),
        ]
    };
}

const CLASSIFICATION: [&[u8]; 5] = ensemble!("admet_classification");
const REGRESSION: [&[u8]; 5] = ensemble!("admet_regression");
const ENDPOINTS: &str = include_str!("../../../data/models/admet-ai-2.0.1/admet.csv");
/// ADMET-AI's reference set: approved drugs with ADMET-AI's own predictions.
pub const DRUGBANK: &str =
    include_str!("../../../data/models/admet-ai-2.0.1/drugbank_approved.csv");

/// Molecules per batch graph. Sixteen keeps a batch's intermediate matrices
/// (a few hundred bonds × 300 floats each) in L2; 64 ran about 7 % slower
/// on `bench/models.sh`'s molecules.
const BATCH: usize = 16;

/// A molecule's ADMET-AI predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdmetProfile {
    /// One value per endpoint, in the card's order.
    pub values: Vec<AdmetValue>,
    /// Whether Chemprop's featurisation describes every atom and bond, i.e.
    /// none falls into an "other" slot (an element beyond krypton except
    /// iodine, a charge beyond ±2, more than five neighbours or four
    /// hydrogens, an unusual bond type). Outside that, the networks see a
    /// molecule unlike any they were trained on.
    pub in_domain: bool,
}

/// One endpoint's ADMET-AI prediction for a molecule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdmetValue {
    /// ADMET-AI's endpoint name, e.g. `AMES`, `hERG`, `Caco2_Wang`.
    pub endpoint: String,
    /// Ensemble mean: a probability or a value in the endpoint's units.
    pub value: f64,
    /// Standard deviation over the five ensemble members.
    pub spread: f64,
    /// Percentile among approved drugs' predictions (DrugBank), 0–100.
    pub drugbank_percentile: f64,
}

/// A row of ADMET-AI's endpoint table.
#[derive(Deserialize)]
struct EndpointRow {
    category: String,
    id: String,
    name: String,
    task_type: String,
    units: String,
    #[serde(rename = "AUROC")]
    auroc: Option<f64>,
    #[serde(rename = "R^2")]
    r2: Option<f64>,
}

struct Ensemble {
    members: Vec<Mpnn>,
}

/// ADMET-AI's models and reference set.
pub struct AdmetModel {
    ensembles: Vec<Ensemble>,
    /// For each card endpoint, (ensemble, task) that predicts it.
    source: Vec<(usize, usize)>,
    /// Approved drugs' predictions per card endpoint, sorted.
    reference: Vec<Vec<f64>>,
    card: Card,
    /// Working memory of the batches in flight, kept between calls (one per
    /// batch that ran at the same time, a few MB each): the workers are new
    /// threads each call, and fresh buffers would be faulted in, and zeroed
    /// by the kernel, every time.
    scratch: Mutex<Vec<Scratch>>,
}

fn load_error(reason: impl Into<String>) -> ModelError {
    ModelError::Load { model: ID.into(), reason: reason.into() }
}

/// Which way is good for a drug candidate. ADMET-AI does not say; this is
/// the usual reading, shown as a hint beside the value.
fn favourable(id: &str, category: &str) -> Favourable {
    match id {
        "HIA_Hou" | "Bioavailability_Ma" | "Solubility_AqSolDB" | "Caco2_Wang" | "PAMPA_NCATS" => {
            Favourable::Higher
        }
        "Pgp_Broccatelli" | "CYP1A2_Veith" | "CYP2C19_Veith" | "CYP2C9_Veith" | "CYP2D6_Veith"
        | "CYP3A4_Veith" => Favourable::Lower,
        _ if category == "Toxicity" => Favourable::Lower,
        _ => Favourable::Neither,
    }
}

impl AdmetModel {
    /// The ADMET-AI 2.0.1 weights and reference set bundled with this build.
    pub fn bundled() -> Result<AdmetModel, ModelError> {
        let load = |files: &[&[u8]]| -> Result<Ensemble, ModelError> {
            let members = files
                .iter()
                .map(|bytes| Mpnn::from_checkpoint(bytes).map_err(|e| load_error(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            if members.windows(2).any(|w| w[0].tasks() != w[1].tasks()) {
                return Err(load_error("ensemble members predict different tasks"));
            }
            Ok(Ensemble { members })
        };
        let ensembles = vec![load(&CLASSIFICATION)?, load(&REGRESSION)?];
        let mut task_of: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, ensemble) in ensembles.iter().enumerate() {
            for (t, task) in ensemble.members[0].tasks().iter().enumerate() {
                task_of.insert(task, (i, t));
            }
        }

        let mut rows = csv::Reader::from_reader(ENDPOINTS.as_bytes());
        let mut endpoints = Vec::new();
        let mut source = Vec::new();
        for row in rows.deserialize::<EndpointRow>() {
            let row = row.map_err(|e| load_error(format!("endpoint table: {e}")))?;
            // The table also lists RDKit physicochemical properties, which are
            // not model outputs.
            let Some(&at) = task_of.get(row.id.as_str()) else { continue };
            let (task, metric) = match row.task_type.as_str() {
                "classification" => (Task::Classification, row.auroc.map(|v| ("AUROC", v))),
                _ => (Task::Regression, row.r2.map(|v| ("R2", v))),
            };
            let metric = metric.map(|(name, value)| Metric {
                name: name.into(),
                value,
                how: "TDC benchmark test split, as reported by ADMET-AI".into(),
            });
            endpoints.push(Endpoint {
                favourable: favourable(&row.id, &row.category),
                key: row.id,
                label: Some(format!("{} ({})", row.name, row.category)),
                task,
                units: (row.units != "-").then_some(row.units),
                weak: metric.as_ref().is_some_and(weak_metric),
                metric,
            });
            source.push(at);
        }
        if endpoints.len() != task_of.len() {
            return Err(load_error(format!(
                "{} endpoints described for {} outputs",
                endpoints.len(),
                task_of.len()
            )));
        }
        let reference = drugbank_reference(&endpoints)?;
        let scratch = Mutex::default();
        Ok(AdmetModel { ensembles, source, reference, card: card(endpoints), scratch })
    }

    /// Each molecule's profile. RDKit perceives the molecules on this thread
    /// (molecules are not `Sync`); the networks then run on every core.
    pub fn admet(&self, molecules: &[Molecule]) -> Vec<AdmetProfile> {
        let graphs: Vec<BatchGraph> = molecules.chunks(BATCH).map(BatchGraph::new).collect();
        parallel::map(&graphs, parallel::cores(), |graph| self.batch(graph))
            .into_iter()
            .flatten()
            .collect()
    }

    fn batch(&self, graph: &BatchGraph) -> Vec<AdmetProfile> {
        let pool = || self.scratch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut scratch = pool().pop().unwrap_or_default();
        // [ensemble][member] → [molecule × task]
        let outputs: Vec<Vec<Vec<f32>>> = self
            .ensembles
            .iter()
            .map(|e| e.members.iter().map(|m| m.forward(graph, &mut scratch)).collect())
            .collect();
        pool().push(scratch);
        (0..graph.molecules())
            .map(|m| AdmetProfile {
                in_domain: graph.described(m),
                values: self
                    .card
                    .endpoints
                    .iter()
                    .zip(&self.source)
                    .zip(&self.reference)
                    .map(|((endpoint, &(e, t)), reference)| {
                        let tasks = self.ensembles[e].members[0].tasks().len();
                        let member_values: Vec<f64> =
                            outputs[e].iter().map(|o| f64::from(o[m * tasks + t])).collect();
                        let (value, spread) = mean_and_spread(&member_values);
                        AdmetValue {
                            endpoint: endpoint.key.clone(),
                            value,
                            spread,
                            drugbank_percentile: percentile_of(reference, value),
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}

impl Model for AdmetModel {
    fn card(&self) -> &Card {
        &self.card
    }

    fn predict(&self, molecules: &[Molecule]) -> Result<Vec<Vec<Prediction<'_>>>, ModelError> {
        Ok(self
            .admet(molecules)
            .into_iter()
            .map(|profile| {
                let in_domain = Some(profile.in_domain);
                profile
                    .values
                    .into_iter()
                    .zip(&self.card.endpoints)
                    .map(|(v, e)| Prediction {
                        endpoint: &e.key,
                        value: v.value,
                        uncertainty: Some(v.spread),
                        in_domain,
                        weak: e.weak,
                    })
                    .collect()
            })
            .collect())
    }
}

fn mean_and_spread(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// SciPy's `percentileofscore(reference, value)` with its default kind
/// "rank", which ADMET-AI uses, on a sorted reference.
pub fn percentile_of(sorted: &[f64], value: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let below = sorted.partition_point(|&x| x < value);
    let at_or_below = sorted.partition_point(|&x| x <= value);
    let plus_one = usize::from(at_or_below > below);
    (below + at_or_below + plus_one) as f64 * 50.0 / sorted.len() as f64
}

/// The approved drugs' predictions per endpoint, sorted, from ADMET-AI's
/// reference file.
fn drugbank_reference(endpoints: &[Endpoint]) -> Result<Vec<Vec<f64>>, ModelError> {
    let mut reader = csv::Reader::from_reader(DRUGBANK.as_bytes());
    let headers =
        reader.headers().map_err(|e| load_error(format!("DrugBank reference: {e}")))?.clone();
    let columns = endpoints
        .iter()
        .map(|e| {
            headers
                .iter()
                .position(|h| h == e.key)
                .ok_or_else(|| load_error(format!("no {} in the reference", e.key)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut reference = vec![Vec::new(); endpoints.len()];
    for record in reader.records() {
        let record = record.map_err(|e| load_error(format!("DrugBank reference: {e}")))?;
        for (values, &c) in reference.iter_mut().zip(&columns) {
            if let Some(v) = record.get(c).and_then(|s| s.parse::<f64>().ok()) {
                values.push(v);
            }
        }
    }
    for values in &mut reference {
        values.sort_by(f64::total_cmp);
    }
    Ok(reference)
}

fn card(endpoints: Vec<Endpoint>) -> Card {
    Card {
        id: ID.into(),
        version: "2.0.1".into(),
        name: "ADMET-AI".into(),
        summary: "Chemprop v2 message-passing networks predicting 41 ADMET endpoints of the Therapeutics \
                  Data Commons (absorption, distribution, metabolism, excretion, toxicity), each placed \
                  among approved drugs. Run natively in Rust from the published weights."
            .into(),
        featurisation: "Chemprop v2 molecular graph of the molecule as parsed by RDKit (no added hydrogens): \
                        72 atom features (element, degree, formal charge, chirality, hydrogens, hybridisation, \
                        aromaticity, mass) and 14 bond features (type, conjugation, ring, stereo)."
            .into(),
        training_data: "Therapeutics Data Commons ADMET data sets (41 sets, 278 to 13,130 molecules each), \
                        classification and regression trained as two multitask ensembles."
            .into(),
        licence: "MIT (ADMET-AI 2.0.1, Swanson et al., Bioinformatics 2024). The approved-drug reference \
                  set is derived from DrugBank, as shipped in ADMET-AI."
            .into(),
        source: "PyPI admet-ai 2.0.1 (sha256 fef3527f637abb00d272cf824e8eef0136fe31ebde6c56881f1a8c02c0417806), \
                 resources/models and resources/data"
            .into(),
        metrics: Vec::new(),
        uncertainty: "Standard deviation of the five ensemble members' predictions.".into(),
        applicability_domain: "Out of domain when any atom or bond of the molecule falls outside what the \
                               featurisation describes (elements beyond krypton except iodine, charges beyond \
                               ±2, more than five neighbours or four hydrogens, unusual bond types)."
            .into(),
        endpoints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_scipy_rank_kind() {
        // The examples of scipy.stats.percentileofscore's documentation.
        let r = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_of(&r, 3.0), 75.0);
        assert_eq!(percentile_of(&r, 0.0), 0.0);
        assert_eq!(percentile_of(&r, 5.0), 100.0);
        assert_eq!(percentile_of(&[1.0, 2.0, 3.0, 3.0, 4.0], 3.0), 70.0);
    }
}
