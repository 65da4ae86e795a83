//! One plate from raw values to hits: QC from its controls, percent
//! inhibition, robust z-scores over the samples, the B-score, and hits by a
//! threshold on the score the protocol names. Replicate plates are combined
//! by the mean of their scores.

use crate::layout::Format;
use crate::normalize::{b_score, percent_inhibition, robust_z_scores};
use crate::protocol::{Protocol, QcLimits, Score};
use crate::qc::{Controls, PlateQc, Spatial};
use crate::stats::mean;

/// What a well holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A compound under test.
    Sample,
    /// Neutral control (no effect, e.g. DMSO).
    Neutral,
    /// Positive control (full effect).
    Positive,
    /// Empty or not used.
    Blank,
}

/// A plate's analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateResult {
    /// QC figures from the controls.
    pub qc: PlateQc,
    /// Position effects among the samples.
    pub spatial: Spatial,
    /// Each QC limit of the protocol the plate misses, said for people;
    /// the plate passes when there is none.
    pub failures: Vec<String>,
    /// Whether the plate passes the protocol's QC.
    pub passed: bool,
    /// Percent inhibition per well.
    pub percent_inhibition: Vec<Option<f64>>,
    /// Robust z per well.
    pub robust_z: Vec<Option<f64>>,
    /// B-score per well.
    pub b_score: Vec<Option<f64>>,
}

impl PlateResult {
    /// The protocol's score per well.
    pub fn score(&self, score: Score) -> &[Option<f64>] {
        match score {
            Score::PercentInhibition => &self.percent_inhibition,
            Score::RobustZ => &self.robust_z,
            Score::BScore => &self.b_score,
        }
    }
}

/// Analyses one plate: `values` and `roles` in well order.
pub fn analyse(
    format: Format,
    values: &[Option<f64>],
    roles: &[Role],
    protocol: &Protocol,
) -> PlateResult {
    assert_eq!(values.len(), format.wells(), "one value per well");
    assert_eq!(roles.len(), format.wells(), "one role per well");
    let of = |role: Role| -> Vec<f64> {
        values.iter().zip(roles).filter(|(_, r)| **r == role).filter_map(|(v, _)| *v).collect()
    };
    let controls = Controls { positive: of(Role::Positive), neutral: of(Role::Neutral) };
    let qc = controls.qc();
    let percent = match (mean(&controls.neutral), mean(&controls.positive)) {
        (Some(n), Some(p)) if n != p => percent_inhibition(values, n, p),
        _ => vec![None; values.len()],
    };
    let samples: Vec<bool> = roles.iter().map(|r| *r == Role::Sample).collect();
    let spatial = Spatial::of(values, &samples, format);
    let failures = failures(&protocol.qc, &qc, &spatial);
    PlateResult {
        passed: failures.is_empty(),
        failures,
        qc,
        spatial,
        percent_inhibition: percent,
        robust_z: robust_z_scores(values, &samples),
        b_score: b_score(values, format),
    }
}

fn failures(limits: &QcLimits, qc: &PlateQc, spatial: &Spatial) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, figure: Option<f64>, limit: Option<f64>, at_least: bool| {
        let Some(limit) = limit else { return };
        match figure {
            None => out.push(format!("{name} cannot be computed (controls missing or equal)")),
            Some(v) if at_least && v < limit => out.push(format!("{name} {v:.3} < {limit}")),
            Some(v) if !at_least && v > limit => out.push(format!("{name} {v:.3} > {limit}")),
            Some(_) => {}
        }
    };
    check("Z′", qc.z_prime, limits.min_z_prime, true);
    check("robust Z′", qc.robust_z_prime, limits.min_robust_z_prime, true);
    check("S/B", qc.signal_to_background, limits.min_signal_to_background, true);
    check("CV of neutral controls %", qc.cv_neutral, limits.max_cv_neutral, false);
    check("CV of positive controls %", qc.cv_positive, limits.max_cv_positive, false);
    check("edge effect", spatial.edge_effect.map(f64::abs), limits.max_edge_effect, false);
    check("row/column effect", spatial.row_col_effect, limits.max_row_col_effect, false);
    out
}

/// The score of each sample well over replicate plates of the same
/// layout: the mean of the replicates that passed QC; `None` for controls
/// and for wells with no score left.
pub fn combined_scores(
    replicates: &[PlateResult],
    roles: &[Role],
    score: Score,
) -> Vec<Option<f64>> {
    let kept: Vec<&PlateResult> = replicates.iter().filter(|r| r.passed).collect();
    roles
        .iter()
        .enumerate()
        .map(|(well, role)| {
            let scores: Vec<f64> = kept.iter().filter_map(|r| r.score(score)[well]).collect();
            if *role == Role::Sample {
                mean(&scores)
            } else {
                None
            }
        })
        .collect()
}

/// Hits over replicate plates of the same layout: a sample well is a hit
/// when its [`combined_scores`] passes the threshold.
pub fn call_hits(replicates: &[PlateResult], roles: &[Role], protocol: &Protocol) -> Vec<bool> {
    combined_scores(replicates, roles, protocol.score)
        .into_iter()
        .map(|m| m.is_some_and(|m| protocol.is_hit(m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns 1–2 neutral, 23–24 positive, the rest samples (384 wells).
    fn roles() -> Vec<Role> {
        Format::W384
            .all()
            .map(|w| match w.col {
                0 | 1 => Role::Neutral,
                22 | 23 => Role::Positive,
                _ => Role::Sample,
            })
            .collect()
    }

    fn plate(hit: usize, noise: f64) -> Vec<Option<f64>> {
        roles()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let jitter = noise * (((i * 7919) % 17) as f64 / 8.0 - 1.0);
                Some(match r {
                    Role::Positive => 100.0 + jitter,
                    _ if i == hit => 300.0 + jitter,
                    _ => 1000.0 + jitter,
                })
            })
            .collect()
    }

    #[test]
    fn a_clean_plate_passes_and_finds_its_hit() {
        let mut protocol = Protocol::new(Score::PercentInhibition, 50.0);
        protocol.qc.min_z_prime = Some(0.5);
        let hit = Format::W384.well("H12").unwrap().index(Format::W384);
        let results: Vec<PlateResult> =
            (0..2).map(|_| analyse(Format::W384, &plate(hit, 20.0), &roles(), &protocol)).collect();
        assert!(results[0].passed, "{:?}", results[0].qc);
        let hits = call_hits(&results, &roles(), &protocol);
        assert_eq!(hits.iter().filter(|h| **h).count(), 1);
        assert!(hits[hit]);
        let pi = results[0].percent_inhibition[hit].unwrap();
        assert!((pi - 700.0 / 9.0).abs() < 5.0, "{pi}");
    }

    #[test]
    fn a_noisy_plate_fails_qc_and_calls_nothing() {
        let mut protocol = Protocol::new(Score::RobustZ, 3.0);
        protocol.qc.min_z_prime = Some(0.5);
        let result = analyse(Format::W384, &plate(5, 400.0), &roles(), &protocol);
        assert!(!result.passed);
        assert!(result.failures[0].starts_with("Z′"), "{:?}", result.failures);
        assert!(call_hits(&[result], &roles(), &protocol).iter().all(|h| !h));
    }
}
