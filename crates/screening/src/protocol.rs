//! How a screen is analysed, written once per assay as a TOML file:
//!
//! ```toml
//! name = "Kinase-Glo primary, 10 µM"
//! score = "percent_inhibition"   # or "robust_z", "b_score"
//! threshold = 50                 # hit at ≥ 50 % (z and B: |score| ≥ threshold)
//! channel = "Results for"        # which reader channel, when a file has several
//!
//! [qc]                           # a plate passes when every limit set holds
//! min_z_prime = 0.5
//! min_robust_z_prime = 0.5
//! min_signal_to_background = 3
//! max_cv_neutral = 15            # percent
//! max_cv_positive = 15
//! max_edge_effect = 1.0          # sample-noise units (see `qc::Spatial`)
//! max_row_col_effect = 1.5         # flat plates show 0.5–1 (medians of few wells)
//!
//! [confirm]                      # a dose–response that makes a hit a seed
//! max_ic50 = 1e-5                # mol/L
//! classes = ["1.1", "1.2", "2.1", "2.2"]
//! ```

use serde::Deserialize;

use crate::dose::{CurveClass, Fit};

/// The score hits are called on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    /// Percent inhibition (neutral = 0, positive = 100).
    PercentInhibition,
    /// Robust z-score over the plate's samples.
    RobustZ,
    /// B-score (row and column effects removed).
    BScore,
}

impl Score {
    /// The name used in protocol files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Score::PercentInhibition => "percent_inhibition",
            Score::RobustZ => "robust_z",
            Score::BScore => "b_score",
        }
    }
}

/// Plate QC limits; a limit left out is not checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcLimits {
    /// Lowest Z′.
    pub min_z_prime: Option<f64>,
    /// Lowest robust Z′.
    pub min_robust_z_prime: Option<f64>,
    /// Lowest signal to background.
    pub min_signal_to_background: Option<f64>,
    /// Highest CV of the neutral controls, percent.
    pub max_cv_neutral: Option<f64>,
    /// Highest CV of the positive controls, percent.
    pub max_cv_positive: Option<f64>,
    /// Highest edge effect, in units of the samples' robust spread.
    pub max_edge_effect: Option<f64>,
    /// Highest row or column effect, in the same units.
    pub max_row_col_effect: Option<f64>,
}

/// What a concentration–response must show for a hit to become a seed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// Highest IC50/EC50, mol/L.
    pub max_ic50: Option<f64>,
    /// Curve classes accepted (NCGC names such as `"1.1"`); empty means
    /// classes 1.1, 1.2, 2.1 and 2.2: complete or partial curves with a
    /// good fit and full efficacy.
    #[serde(default)]
    pub classes: Vec<String>,
}

impl Confirmation {
    /// Why `fit` does not confirm a hit, or `None` when it does.
    pub fn rejects(&self, fit: &Fit) -> Option<String> {
        let class = fit.class.as_str();
        let accepted = if self.classes.is_empty() {
            matches!(
                fit.class,
                CurveClass::Complete { good_fit: true, .. }
                    | CurveClass::Partial { good_fit: true, .. }
            )
        } else {
            self.classes.iter().any(|c| c == class)
        };
        if !accepted {
            return Some(format!("curve class {class} is not accepted"));
        }
        match self.max_ic50 {
            Some(max) if fit.ec50.is_nan() || fit.ec50 > max => {
                Some(format!("IC50 {:.3e} M is above the limit {max:.1e} M", fit.ec50))
            }
            _ => None,
        }
    }
}

/// How a screen is analysed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// A name for reports.
    #[serde(default)]
    pub name: String,
    /// The score hits are called on.
    pub score: Score,
    /// A sample is a hit when its score is at least this (for z and B:
    /// `|score|`).
    pub threshold: f64,
    /// Part of the reader's channel label to analyse, for files with
    /// several channels.
    #[serde(default)]
    pub channel: Option<String>,
    /// Plate QC limits.
    #[serde(default)]
    pub qc: QcLimits,
    /// What confirms a hit as a seed.
    #[serde(default)]
    pub confirm: Confirmation,
}

/// A protocol file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("protocol: {0}")]
pub struct ProtocolError(String);

impl Protocol {
    /// A protocol calling hits on `score` at `threshold`, with no QC limits.
    pub fn new(score: Score, threshold: f64) -> Protocol {
        Protocol {
            name: String::new(),
            score,
            threshold,
            channel: None,
            qc: QcLimits::default(),
            confirm: Confirmation::default(),
        }
    }

    /// Whether a (combined) score is a hit.
    pub fn is_hit(&self, score: f64) -> bool {
        match self.score {
            Score::PercentInhibition => score >= self.threshold,
            Score::RobustZ | Score::BScore => score.abs() >= self.threshold,
        }
    }

    /// Reads a protocol file (TOML).
    pub fn from_toml(text: &str) -> Result<Protocol, ProtocolError> {
        let p: Protocol = toml::from_str(text).map_err(|e| ProtocolError(e.to_string()))?;
        if !p.threshold.is_finite() {
            return Err(ProtocolError("threshold must be a number".into()));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_reads() {
        let doc: String = include_str!("protocol.rs")
            .lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").trim_start().to_owned() + "\n")
            .collect();
        let p = Protocol::from_toml(&doc).unwrap();
        assert_eq!(p.score, Score::PercentInhibition);
        assert_eq!(p.qc.min_z_prime, Some(0.5));
        assert_eq!(p.confirm.max_ic50, Some(1e-5));
    }

    #[test]
    fn mistakes_are_named() {
        let e = Protocol::from_toml("score = \"zscore\"\nthreshold = 3\n").unwrap_err();
        assert!(e.to_string().contains("zscore"), "{e}");
        let e = Protocol::from_toml("score = \"robust_z\"\nthreshold = 3\nmin_z_prime = 1\n")
            .unwrap_err();
        assert!(e.to_string().contains("min_z_prime"), "{e}");
    }
}
