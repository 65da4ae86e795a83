//! Target prediction with ChEMBL's multitask network (ChEMBL 37, 798 single
//! protein targets): a Morgan fingerprint (radius 2, 1,024 bits) in, for each
//! target the probability that the molecule is active on it out.

use std::collections::HashMap;

use chem::{Molecule, MorganParams};
use serde::{Deserialize, Serialize};

use crate::card::{Card, Endpoint, Favourable, Metric, Task};
use crate::onnx::Graph;
use crate::{Model, ModelError, Prediction};

/// The model's id in the catalogue.
pub const ID: &str = "chembl-multitask";

/// The fingerprint the network was trained on.
pub const FINGERPRINT: MorganParams = MorganParams { radius: 2, bits: 1024 };

const ONNX: &[u8] =
    include_bytes!("../../../data/models/chembl-multitask-37/chembl_37_multitask_q8.onnx");
const TARGETS: &str = include_str!("../../../data/models/chembl-multitask-37/targets_37_all.json");
const METRICS: &str =
    include_str!("../../../data/models/chembl-multitask-37/chembl_37_metrics.json");

/// One target's predicted probability of activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetScore {
    /// ChEMBL target id, e.g. `CHEMBL203`.
    pub chembl_id: String,
    /// ChEMBL's preferred name of the target, when known.
    pub name: Option<String>,
    /// Probability of activity (pChEMBL at or above the target family's threshold).
    pub probability: f32,
}

/// The loaded network with its target list and card.
pub struct TargetModel {
    graph: Graph,
    /// Output position of each target, in the card's endpoint order.
    order: Vec<usize>,
    card: Card,
}

/// Folds of the reported cross-validation, as the metrics file gives them.
#[derive(Deserialize)]
struct Folds {
    test_auc: Vec<f64>,
    test_acc: Vec<f64>,
    test_mcc: Vec<f64>,
    test_prec: Vec<f64>,
    test_sens: Vec<f64>,
    test_spec: Vec<f64>,
}

fn load_error(reason: impl Into<String>) -> ModelError {
    ModelError::Load { model: ID.into(), reason: reason.into() }
}

impl TargetModel {
    /// The ChEMBL 37 network bundled with this build.
    pub fn bundled() -> Result<TargetModel, ModelError> {
        TargetModel::from_parts(ONNX, TARGETS, METRICS)
    }

    fn from_parts(onnx: &[u8], targets: &str, metrics: &str) -> Result<TargetModel, ModelError> {
        let graph = Graph::from_bytes(onnx)?;
        if graph.input_len() != FINGERPRINT.bits as usize {
            return Err(load_error(format!(
                "input of {} values, expected {}",
                graph.input_len(),
                FINGERPRINT.bits
            )));
        }
        let targets: Vec<String> =
            serde_json::from_str(targets).map_err(|e| load_error(format!("target list: {e}")))?;
        let position: HashMap<&str, usize> =
            graph.output_names().enumerate().map(|(i, n)| (n, i)).collect();
        if position.len() != targets.len() {
            return Err(load_error(format!(
                "{} outputs for {} targets",
                position.len(),
                targets.len()
            )));
        }
        let order = targets
            .iter()
            .map(|t| {
                position
                    .get(t.as_str())
                    .copied()
                    .ok_or_else(|| load_error(format!("no output for {t}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let folds: Folds =
            serde_json::from_str(metrics).map_err(|e| load_error(format!("metrics: {e}")))?;
        let card = card(&targets, &folds);
        Ok(TargetModel { graph, order, card })
    }

    /// The fingerprint the network reads, as its float input.
    pub fn featurise(molecule: &Molecule) -> Vec<f32> {
        let fp = molecule.morgan(FINGERPRINT);
        (0..FINGERPRINT.bits).map(|i| if fp.get(i) { 1.0 } else { 0.0 }).collect()
    }

    /// Probability of activity on every target, in the card's endpoint order.
    pub fn probabilities(&self, molecule: &Molecule) -> Result<Vec<f32>, ModelError> {
        self.run(&Self::featurise(molecule))
    }

    fn run(&self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        let outputs = self.graph.run(input)?;
        self.order
            .iter()
            .map(|&i| {
                outputs[i]
                    .as_f32()
                    .and_then(|v| v.first().copied())
                    .ok_or_else(|| load_error(format!("output {i} is not a float")))
            })
            .collect()
    }

    /// Targets ranked by probability, most probable first; ties by id.
    pub fn rank(&self, molecule: &Molecule, top: usize) -> Result<Vec<TargetScore>, ModelError> {
        let probabilities = self.probabilities(molecule)?;
        let mut scored: Vec<TargetScore> = self
            .card
            .endpoints
            .iter()
            .zip(probabilities)
            .map(|(e, probability)| TargetScore {
                chembl_id: e.key.clone(),
                name: e.label.clone(),
                probability,
            })
            .collect();
        scored.sort_by(|a, b| {
            b.probability.total_cmp(&a.probability).then_with(|| a.chembl_id.cmp(&b.chembl_id))
        });
        scored.truncate(top);
        Ok(scored)
    }
}

impl Model for TargetModel {
    fn card(&self) -> &Card {
        &self.card
    }

    fn predict(&self, molecules: &[Molecule]) -> Result<Vec<Vec<Prediction>>, ModelError> {
        let features: Vec<Vec<f32>> = molecules.iter().map(TargetModel::featurise).collect();
        parallel::map(&features, parallel::cores(), |input| {
            let probabilities = self.run(input)?;
            Ok(self
                .card
                .endpoints
                .iter()
                .zip(probabilities)
                .map(|(e, p)| Prediction {
                    endpoint: e.key.clone(),
                    value: f64::from(p),
                    uncertainty: None,
                    in_domain: None,
                    weak: e.weak,
                })
                .collect())
        })
        .into_iter()
        .collect()
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn card(targets: &[String], folds: &Folds) -> Card {
    let how = format!(
        "mean of {} cross-validation test folds, over all targets (source metrics file)",
        folds.test_auc.len()
    );
    let metric = |name: &str, values: &[f64]| Metric {
        name: name.into(),
        value: mean(values),
        how: how.clone(),
    };
    Card {
        id: ID.into(),
        version: "37".into(),
        name: "ChEMBL multitask target prediction".into(),
        summary: "A multitask feed-forward network (1,024 → 2,000 → 100 → one sigmoid per target, \
                  dynamically quantised to int8) that gives, for 798 single-protein targets, the \
                  probability that a molecule is active on it."
            .into(),
        featurisation: "RDKit Morgan fingerprint, radius 2, 1,024 bits, of the molecule as parsed \
                        (no standardisation), fed as 0/1 floats."
            .into(),
        training_data: "ChEMBL 37 activities (IC50, Ki, Kd, EC50, XC50, AC50, potency in nM; assay \
                        confidence 8 or more; single protein targets with at least 100 active and 100 \
                        inactive molecules in two or more documents). Active means at or below the IDG \
                        family threshold: kinases 30 nM, GPCRs and nuclear receptors 100 nM, ion \
                        channels 10 µM, other targets 1 µM."
            .into(),
        licence: "Weights: MIT (Eloy Félix, ChEMBL). Training data: ChEMBL, CC BY-SA 3.0; attribute \
                  ChEMBL where predictions are shown."
            .into(),
        source: "github.com/chembl/chembl_multitask_model, trained_models/chembl_37".into(),
        metrics: vec![
            metric("AUROC", &folds.test_auc),
            metric("accuracy", &folds.test_acc),
            metric("MCC", &folds.test_mcc),
            metric("precision", &folds.test_prec),
            metric("sensitivity", &folds.test_sens),
            metric("specificity", &folds.test_spec),
        ],
        uncertainty: "None: one network, not an ensemble; the source reports no per-target spread.".into(),
        applicability_domain: "Not assessed by the model: its training structures are not distributed \
                               with it. The nearest library compounds shown with a prediction tell how \
                               familiar the chemistry is."
            .into(),
        endpoints: targets
            .iter()
            .map(|t| Endpoint {
                key: t.clone(),
                label: None,
                task: Task::Classification,
                units: None,
                favourable: Favourable::Neither,
                metric: None,
                weak: false,
            })
            .collect(),
    }
}
