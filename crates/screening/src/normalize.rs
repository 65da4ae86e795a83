//! Normalisations of one plate's values, in well order (`None` for a
//! missing well stays `None`). `reference` marks the wells whose values
//! define the centre and scale (usually the samples, or every well); a
//! plate with too few reference values comes back all `None`.

use crate::layout::Format;
use crate::stats::{mad, mean, median, sd};

fn referenced(values: &[Option<f64>], reference: &[bool]) -> Vec<f64> {
    values.iter().zip(reference).filter_map(|(v, &r)| v.filter(|_| r)).collect()
}

fn scaled(values: &[Option<f64>], centre: Option<f64>, scale: Option<f64>) -> Vec<Option<f64>> {
    match (centre, scale.filter(|s| *s > 0.0)) {
        (Some(c), Some(s)) => values.iter().map(|v| v.map(|x| (x - c) / s)).collect(),
        _ => vec![None; values.len()],
    }
}

/// (x − mean) / sd over the reference wells.
pub fn z_scores(values: &[Option<f64>], reference: &[bool]) -> Vec<Option<f64>> {
    let r = referenced(values, reference);
    scaled(values, mean(&r), sd(&r))
}

/// (x − median) / MAD over the reference wells: robust to the hits
/// themselves.
pub fn robust_z_scores(values: &[Option<f64>], reference: &[bool]) -> Vec<Option<f64>> {
    let r = referenced(values, reference);
    scaled(values, median(&r), mad(&r))
}

/// Percent of control: 100 · x / mean(neutral controls).
pub fn percent_of_control(values: &[Option<f64>], neutral_mean: f64) -> Vec<Option<f64>> {
    values.iter().map(|v| v.map(|x| 100.0 * x / neutral_mean)).collect()
}

/// Percent inhibition: 100 · (neutral − x) / (neutral − positive), so the
/// neutral controls sit at 0 and the positive controls at 100.
pub fn percent_inhibition(
    values: &[Option<f64>],
    neutral_mean: f64,
    positive_mean: f64,
) -> Vec<Option<f64>> {
    let span = neutral_mean - positive_mean;
    values.iter().map(|v| v.map(|x| 100.0 * (neutral_mean - x) / span)).collect()
}

/// Tukey's median polish of a plate: the residuals once row and column
/// medians are swept out, and the row and column effects removed (R's
/// `medpolish`: at most 10 rounds, until the effects stop moving).
pub(crate) struct Polish {
    /// Per well, `None` where the value is missing.
    pub residual: Vec<Option<f64>>,
    /// Per row.
    pub row_effects: Vec<f64>,
    /// Per column.
    pub col_effects: Vec<f64>,
}

pub(crate) fn median_polish(values: &[Option<f64>], format: Format) -> Polish {
    let (rows, cols) = format.shape();
    assert_eq!(values.len(), rows * cols, "one value per well");
    let mut residual: Vec<Option<f64>> = values.to_vec();
    let mut row_effects = vec![0.0; rows];
    let mut col_effects = vec![0.0; cols];
    for _ in 0..10 {
        let mut moved = 0.0;
        for (r, effect) in row_effects.iter_mut().enumerate() {
            let line: Vec<f64> = (0..cols).filter_map(|c| residual[r * cols + c]).collect();
            if let Some(m) = median(&line) {
                for c in 0..cols {
                    if let Some(v) = residual[r * cols + c].as_mut() {
                        *v -= m;
                    }
                }
                *effect += m;
                moved += m.abs();
            }
        }
        for (c, effect) in col_effects.iter_mut().enumerate() {
            let line: Vec<f64> = (0..rows).filter_map(|r| residual[r * cols + c]).collect();
            if let Some(m) = median(&line) {
                for r in 0..rows {
                    if let Some(v) = residual[r * cols + c].as_mut() {
                        *v -= m;
                    }
                }
                *effect += m;
                moved += m.abs();
            }
        }
        if moved < 1e-10 {
            break;
        }
    }
    Polish { residual, row_effects, col_effects }
}

/// B-score (Brideau et al. 2003): the residuals of a two-way median polish
/// of the plate (removing row and column effects such as edge evaporation
/// or a dispenser's bad tip), divided by their MAD.
pub fn b_score(values: &[Option<f64>], format: Format) -> Vec<Option<f64>> {
    let residual = median_polish(values, format).residual;
    let all: Vec<f64> = residual.iter().flatten().copied().collect();
    scaled(&residual, Some(0.0), mad(&all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plate(f: impl Fn(usize, usize) -> f64) -> Vec<Option<f64>> {
        Format::W96.all().map(|w| Some(f(w.row, w.col))).collect()
    }

    #[test]
    fn controls_land_at_0_and_100() {
        let v = [Some(100.0), Some(10.0), Some(55.0), None];
        assert_eq!(percent_inhibition(&v, 100.0, 10.0), [Some(0.0), Some(100.0), Some(50.0), None]);
        assert_eq!(percent_of_control(&v, 100.0)[2], Some(55.0));
    }

    #[test]
    fn b_score_removes_row_and_column_effects() {
        // Strong row and column effects, uniform noise of ±5 and one hit:
        // after the polish only the hit stands out.
        let noise = |r: usize, c: usize| {
            let mut x = (r * 12 + c) as u64 * 6_364_136_223_846_793_005 + 1_442_695_040_888_963_407;
            x ^= x >> 33;
            (x % 10_001) as f64 / 1000.0 - 5.0
        };
        let mut v = plate(|r, c| 1000.0 + 50.0 * r as f64 - 7.0 * c as f64 + noise(r, c));
        v[Format::W96.well("D05").unwrap().index(Format::W96)] = Some(10.0);
        let b = b_score(&v, Format::W96);
        let hit = b[Format::W96.well("D05").unwrap().index(Format::W96)].unwrap();
        let others: Vec<f64> = b.iter().flatten().copied().filter(|x| *x != hit).collect();
        assert!(hit < -50.0, "{hit}");
        assert!(others.iter().all(|x| x.abs() < 4.0), "{others:?}");
    }

    proptest! {
        #[test]
        fn z_scores_are_centred_and_unit(values in prop::collection::vec(-1e6f64..1e6, 3..200)) {
            let v: Vec<Option<f64>> = values.iter().map(|x| Some(*x)).collect();
            let all = vec![true; v.len()];
            let z: Vec<f64> = z_scores(&v, &all).into_iter().flatten().collect();
            prop_assume!(!z.is_empty());
            prop_assert!(mean(&z).unwrap().abs() < 1e-9);
            prop_assert!((sd(&z).unwrap() - 1.0).abs() < 1e-9);
        }

        #[test]
        fn normalisations_ignore_scale_and_offset(
            values in prop::collection::vec(0.0f64..1e4, 5..100),
            a in 0.1f64..100.0,
            b in -1e3f64..1e3,
        ) {
            let v: Vec<Option<f64>> = values.iter().map(|x| Some(*x)).collect();
            let w: Vec<Option<f64>> = values.iter().map(|x| Some(a * x + b)).collect();
            let all = vec![true; v.len()];
            for (x, y) in robust_z_scores(&v, &all).iter().zip(robust_z_scores(&w, &all)) {
                match (x, y) {
                    (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-6 * (1.0 + x.abs())),
                    (None, None) => {}
                    _ => prop_assert!(false, "missing in one only"),
                }
            }
        }
    }
}
