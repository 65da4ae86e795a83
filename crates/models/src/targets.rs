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
const NAMES: &str = include_str!("../../../data/models/chembl-multitask-37/targets_37_names.tsv");

/// What ChEMBL's target dictionary says of a target (the bundled table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetDescription {
    /// ChEMBL's preferred name of the target.
    pub name: String,
    /// Scientific name of the target's organism, when the bundled table has it.
    pub organism: Option<String>,
    /// NCBI taxon of the target's organism.
    pub ncbi_taxon: u32,
}

impl TargetDescription {
    /// The organism as shown to a user: its name, or its taxon when the
    /// table has no name for it.
    pub fn organism_shown(&self) -> String {
        self.organism.clone().unwrap_or_else(|| format!("NCBI taxon {}", self.ncbi_taxon))
    }
}

/// One target's predicted probability of activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetScore {
    /// ChEMBL target id, e.g. `CHEMBL203`.
    pub chembl_id: String,
    /// Its name and organism.
    #[serde(flatten)]
    pub target: TargetDescription,
    /// Probability of activity (pChEMBL at or above the target family's threshold).
    pub probability: f32,
}

/// The loaded network with its target list and card.
pub struct TargetModel {
    graph: Graph,
    /// Output position of each target, in the card's endpoint order.
    order: Vec<usize>,
    /// ChEMBL's description of each target, in the card's endpoint order.
    names: Vec<TargetDescription>,
    card: Card,
}

/// Looks every target up in `table`, in the target list's order; a target
/// the table lacks stops the load.
fn per_target<T: Clone>(
    targets: &[String],
    table: &HashMap<&str, T>,
    what: &str,
) -> Result<Vec<T>, ModelError> {
    targets
        .iter()
        .map(|t| {
            table.get(t.as_str()).cloned().ok_or_else(|| load_error(format!("no {what} for {t}")))
        })
        .collect()
}

/// Parses the names table (`chembl_id`, `pref_name`, `organism`, `ncbi_taxon`,
/// tab-separated, one header line); an id listed twice is an error.
fn parse_names(tsv: &str) -> Result<HashMap<&str, TargetDescription>, ModelError> {
    let mut lines = tsv.lines().enumerate();
    match lines.next() {
        Some((_, "chembl_id\tpref_name\torganism\tncbi_taxon")) => {}
        other => {
            return Err(load_error(format!(
                "target names: header {:?}, expected chembl_id, pref_name, organism, ncbi_taxon",
                other.map(|(_, l)| l).unwrap_or("")
            )))
        }
    }
    let mut names = HashMap::new();
    for (i, line) in lines {
        let bad = |why: &str| load_error(format!("target names line {}: {why}", i + 1));
        let fields: Vec<&str> = line.split('\t').collect();
        let [id, name, organism, taxon] = fields[..] else {
            return Err(bad(&format!("{} fields, expected 4", fields.len())));
        };
        if name.trim().is_empty() {
            return Err(bad(&format!("{id} has no name")));
        }
        let ncbi_taxon =
            taxon.parse().map_err(|_| bad(&format!("taxon {taxon:?} is not a number")))?;
        let organism = (!organism.is_empty()).then(|| organism.to_owned());
        if names
            .insert(id, TargetDescription { name: name.to_owned(), organism, ncbi_taxon })
            .is_some()
        {
            return Err(bad(&format!("{id} is listed twice")));
        }
    }
    Ok(names)
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
        TargetModel::from_parts(ONNX, TARGETS, METRICS, NAMES)
    }

    fn from_parts(
        onnx: &[u8],
        targets: &str,
        metrics: &str,
        names: &str,
    ) -> Result<TargetModel, ModelError> {
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
        let order = per_target(&targets, &position, "output")?;
        let names = per_target(&targets, &parse_names(names)?, "name")?;
        let folds: Folds =
            serde_json::from_str(metrics).map_err(|e| load_error(format!("metrics: {e}")))?;
        let card = card(&targets, &names, &folds);
        Ok(TargetModel { graph, order, names, card })
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
                outputs
                    .f32(i)
                    .and_then(|v| v.first().copied())
                    .ok_or_else(|| load_error(format!("output {i} is not a float")))
            })
            .collect()
    }

    /// Targets ranked by probability, most probable first; ties by id. With
    /// `taxon`, only the targets of that NCBI taxon (the network predicts each
    /// species' ortholog as its own target, e.g. 9606 keeps the human ones).
    pub fn rank(
        &self,
        molecule: &Molecule,
        top: usize,
        taxon: Option<u32>,
    ) -> Result<Vec<TargetScore>, ModelError> {
        let probabilities = self.probabilities(molecule)?;
        let mut scored: Vec<TargetScore> = self
            .card
            .endpoints
            .iter()
            .zip(&self.names)
            .zip(probabilities)
            .filter(|((_, n), _)| taxon.is_none_or(|t| t == n.ncbi_taxon))
            .map(|((e, n), probability)| TargetScore {
                chembl_id: e.key.clone(),
                target: n.clone(),
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

    fn predict(&self, molecules: &[Molecule]) -> Result<Vec<Vec<Prediction<'_>>>, ModelError> {
        let features: Vec<Vec<f32>> = molecules.iter().map(TargetModel::featurise).collect();
        parallel::map(&features, parallel::cores(), |input| {
            let probabilities = self.run(input)?;
            Ok(self
                .card
                .endpoints
                .iter()
                .zip(probabilities)
                .map(|(e, p)| Prediction {
                    endpoint: &e.key,
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

fn card(targets: &[String], names: &[TargetDescription], folds: &Folds) -> Card {
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
        licence: "Weights: MIT (Eloy Félix, ChEMBL). Training data and target names: ChEMBL, CC BY-SA \
                  3.0; attribute ChEMBL where predictions are shown."
            .into(),
        source: "github.com/chembl/chembl_multitask_model, trained_models/chembl_37; target names and \
                 organisms from the ChEMBL 36 target dictionary (Biopragmatics export)"
            .into(),
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
            .zip(names)
            .map(|(t, n)| Endpoint {
                key: t.clone(),
                label: Some(format!("{} ({})", n.name, n.organism_shown())),
                task: Task::Classification,
                units: None,
                favourable: Favourable::Neither,
                metric: None,
                weak: false,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_chembls_name_and_organism() {
        let model = TargetModel::bundled().unwrap();
        assert_eq!(model.names.len(), 798);
        let named = |id: &str| {
            let at = model.card.endpoints.iter().position(|e| e.key == id).unwrap();
            (&model.names[at], model.card.endpoints[at].label.as_deref().unwrap())
        };
        let (egfr, label) = named("CHEMBL203");
        assert_eq!(egfr.name, "Epidermal growth factor receptor");
        assert_eq!((egfr.organism.as_deref(), egfr.ncbi_taxon), (Some("Homo sapiens"), 9606));
        assert_eq!(label, "Epidermal growth factor receptor (Homo sapiens)");
        assert_eq!(
            named("CHEMBL1075104").0.name,
            "Leucine-rich repeat serine/threonine-protein kinase 2"
        );
        // A guinea-pig receptor is told apart from the human one by its organism.
        assert_eq!(named("CHEMBL5471").0.organism.as_deref(), Some("Cavia porcellus"));
        // A taxon whose name the table leaves blank still says which taxon.
        assert_eq!(named("CHEMBL6135").1, "Neuraminidase (NCBI taxon 382835)");
    }

    #[test]
    fn a_target_missing_from_the_names_table_stops_the_load() {
        let without_egfr: String = NAMES
            .lines()
            .filter(|l| !l.starts_with("CHEMBL203\t"))
            .map(|l| format!("{l}\n"))
            .collect();
        let error = TargetModel::from_parts(ONNX, TARGETS, METRICS, &without_egfr).err().unwrap();
        assert!(error.to_string().contains("no name for CHEMBL203"), "{error}");
    }

    #[test]
    fn malformed_name_rows_are_reported_with_their_line() {
        let header = "chembl_id\tpref_name\torganism\tncbi_taxon\n";
        let error = |body: &str| parse_names(&format!("{header}{body}")).err().unwrap().to_string();
        assert!(error("CHEMBL1\tA\t\t9606\nCHEMBL1\tB\t\t9606\n")
            .contains("line 3: CHEMBL1 is listed twice"));
        assert!(error("CHEMBL1\tA\t\thuman\n").contains("line 2: taxon \"human\" is not a number"));
        assert!(error("CHEMBL1\tA\n").contains("line 2: 2 fields, expected 4"));
        assert!(error("CHEMBL1\t \t\t9606\n").contains("line 2: CHEMBL1 has no name"));
        assert!(parse_names("id\tname\n").is_err(), "a wrong header is refused");
        let table = format!("{header}CHEMBL1\tA\t\t9606\n");
        assert_eq!(parse_names(&table).unwrap()["CHEMBL1"].organism, None);
    }
}
