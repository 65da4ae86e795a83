//! Model cards: what a model predicts, from what, trained on what, under
//! which licence, and how well it is reported to do. Every model in the
//! catalogue has one, and the CLI, API and pages show it beside predictions.

use serde::Serialize;

/// Classification models give a probability; regression models a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// The value is the probability of the positive class.
    Classification,
    /// The value is a quantity in the endpoint's units.
    Regression,
}

/// Which way a value is good news for a drug candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Favourable {
    /// Higher is better (e.g. solubility, bioavailability).
    Higher,
    /// Lower is better (e.g. toxicity).
    Lower,
    /// Neither: context decides (e.g. activity on a predicted target).
    Neither,
}

/// A reported performance figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Short name: `AUROC`, `MAE`, `Spearman`, `accuracy`, …
    pub name: String,
    /// The figure.
    pub value: f64,
    /// How it was obtained (split, folds).
    pub how: String,
}

/// One predicted quantity of a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    /// The key predictions carry (e.g. `AMES`, `CHEMBL203`).
    pub key: String,
    /// A human name, when known.
    pub label: Option<String>,
    /// Classification or regression.
    pub task: Task,
    /// Units of regression values.
    pub units: Option<String>,
    /// Which way is favourable.
    pub favourable: Favourable,
    /// The endpoint's own reported metric, when the source gives one.
    pub metric: Option<Metric>,
    /// Whether the reported metric is below the bar of [`weak_metric`].
    pub weak: bool,
}

/// A model's card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// Stable identifier, e.g. `chembl-multitask`.
    pub id: String,
    /// Version of the weights; `id@version` names one exactly.
    pub version: String,
    /// Display name.
    pub name: String,
    /// One paragraph on what it does.
    pub summary: String,
    /// What the model is fed, exactly.
    pub featurisation: String,
    /// What it was trained on.
    pub training_data: String,
    /// Licence of the weights (and of the training data, where it binds).
    pub licence: String,
    /// Where the weights come from.
    pub source: String,
    /// Model-wide reported metrics.
    pub metrics: Vec<Metric>,
    /// How predictions' uncertainty is obtained, or why there is none.
    pub uncertainty: String,
    /// How the applicability-domain flag is decided, or why there is none.
    pub applicability_domain: String,
    /// Every predicted quantity.
    pub endpoints: Vec<Endpoint>,
}

/// Whether a reported metric is too low to act on: AUROC below 0.75 for
/// classifiers, Spearman or R² below 0.5 for regressors. The bars follow common
/// practice in ADMET benchmarking; a weak endpoint is still shown, marked.
pub fn weak_metric(metric: &Metric) -> bool {
    match metric.name.as_str() {
        "AUROC" => metric.value < 0.75,
        "Spearman" | "R2" => metric.value < 0.5,
        _ => false,
    }
}
