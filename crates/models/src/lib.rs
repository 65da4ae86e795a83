//! Prediction models behind one interface.
//!
//! A model is a [`Card`] plus [`Model::predict`]: molecules in, one
//! [`Prediction`] per endpoint out, each with an uncertainty and an
//! applicability-domain flag where the model can give them. The
//! [`Catalogue`] lists the models this build carries, by `id` and
//! `id@version`. Models run in-process, in Rust: the ONNX interpreter in
//! [`onnx`] runs exported networks without a native runtime.

#![warn(missing_docs)]

pub mod admet;
pub mod card;
mod chemprop;
mod gemm;
pub mod onnx;
mod proto;
pub mod targets;
mod torch;

use std::sync::OnceLock;

pub use card::{Card, Endpoint, Favourable, Metric, Task};
use chem::Molecule;
use serde::Serialize;

/// What went wrong with a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model's files could not be used.
    #[error("model {model}: {reason}")]
    Load {
        /// The model's id.
        model: String,
        /// What was wrong.
        reason: String,
    },
    /// Running the network failed.
    #[error(transparent)]
    Onnx(#[from] onnx::OnnxError),
    /// No model has that name.
    #[error("no model '{0}'; `soyaku models list` shows the ones available")]
    Unknown(String),
}

/// One endpoint's prediction for one molecule. The endpoint's key is
/// borrowed from the model's card: a target model answers for hundreds of
/// endpoints per molecule, and a copy of each key per answer was most of the
/// cost of building them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction<'m> {
    /// The endpoint's key (see the card).
    pub endpoint: &'m str,
    /// Probability (classification) or value in the endpoint's units.
    pub value: f64,
    /// Spread of an ensemble's members (standard deviation), when the model
    /// is an ensemble.
    pub uncertainty: Option<f64>,
    /// Whether the molecule is within the model's applicability domain, when
    /// the model can tell.
    pub in_domain: Option<bool>,
    /// Whether the endpoint's reported metric is below the bar.
    pub weak: bool,
}

/// A prediction model.
pub trait Model: Send + Sync {
    /// The model's card.
    fn card(&self) -> &Card;
    /// Predictions for each molecule, in the card's endpoint order.
    fn predict(&self, molecules: &[Molecule]) -> Result<Vec<Vec<Prediction<'_>>>, ModelError>;
}

/// The models this build carries. Each loads on first use.
#[derive(Default)]
pub struct Catalogue {
    chembl: OnceLock<Result<targets::TargetModel, String>>,
    admet: OnceLock<Result<admet::AdmetModel, String>>,
}

impl Catalogue {
    /// An empty catalogue; models load when first asked for.
    pub fn new() -> Catalogue {
        Catalogue::default()
    }

    /// The ChEMBL multitask target-prediction model.
    pub fn targets(&self) -> Result<&targets::TargetModel, ModelError> {
        loaded(&self.chembl, targets::ID, targets::TargetModel::bundled)
    }

    /// ADMET-AI.
    pub fn admet(&self) -> Result<&admet::AdmetModel, ModelError> {
        loaded(&self.admet, admet::ID, admet::AdmetModel::bundled)
    }

    /// Every model, loaded.
    pub fn all(&self) -> Result<Vec<&dyn Model>, ModelError> {
        Ok(vec![self.admet()?, self.targets()?])
    }

    /// A model by `id` (its newest version) or `id@version`.
    pub fn get(&self, name: &str) -> Result<&dyn Model, ModelError> {
        let (id, version) = match name.split_once('@') {
            Some((id, version)) => (id, Some(version)),
            None => (name, None),
        };
        self.all()?
            .into_iter()
            .filter(|m| m.card().id == id && version.is_none_or(|v| m.card().version == v))
            .max_by_key(|m| version_key(&m.card().version))
            .ok_or_else(|| ModelError::Unknown(name.to_owned()))
    }
}

/// The model in `cell`, loaded by `load` on first use; a failed load is
/// kept, so every later call reports the same reason without retrying.
fn loaded<'a, M>(
    cell: &'a OnceLock<Result<M, String>>,
    id: &str,
    load: fn() -> Result<M, ModelError>,
) -> Result<&'a M, ModelError> {
    cell.get_or_init(|| load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|reason| ModelError::Load { model: id.into(), reason: reason.clone() })
}

/// Orders versions numerically by dotted parts (`2.0.10` after `2.0.9`).
fn version_key(version: &str) -> Vec<(u64, String)> {
    version.split('.').map(|part| (part.parse().unwrap_or(0), part.to_owned())).collect()
}
