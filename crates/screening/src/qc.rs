//! Plate quality from its controls: Z′ (Zhang et al. 1999), robust Z′
//! (median and MAD), signal to background, and the controls' CV.

use crate::layout::Format;
use crate::normalize::median_polish;
use crate::stats::{mad, mean, median, sd};

/// The control wells' values of one plate.
#[derive(Debug, Clone, Default)]
pub struct Controls {
    /// Positive controls (full effect).
    pub positive: Vec<f64>,
    /// Neutral controls (no effect).
    pub neutral: Vec<f64>,
}

/// QC figures of one plate; `None` where the controls cannot give one
/// (too few values, or no separation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateQc {
    /// 1 − 3(σp + σn)/|μp − μn|.
    pub z_prime: Option<f64>,
    /// The same with medians and MADs, robust to outlying control wells.
    pub robust_z_prime: Option<f64>,
    /// The higher control mean over the lower.
    pub signal_to_background: Option<f64>,
    /// Coefficient of variation of the positive controls, in percent.
    pub cv_positive: Option<f64>,
    /// Coefficient of variation of the neutral controls, in percent.
    pub cv_neutral: Option<f64>,
}

fn z_prime_of(sp: f64, sn: f64, mp: f64, mn: f64) -> Option<f64> {
    let band = (mp - mn).abs();
    (band > 0.0).then(|| 1.0 - 3.0 * (sp + sn) / band)
}

fn cv(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    (m != 0.0).then_some(sd(xs)? / m.abs() * 100.0)
}

impl Controls {
    /// The plate's QC figures.
    pub fn qc(&self) -> PlateQc {
        let (p, n) = (&self.positive, &self.neutral);
        let z_prime = (|| z_prime_of(sd(p)?, sd(n)?, mean(p)?, mean(n)?))();
        // One control of each kind has a MAD of 0, which would read as a
        // perfect plate; a spread needs at least two values, as `sd` does.
        let robust_z_prime = (|| {
            if p.len() < 2 || n.len() < 2 {
                return None;
            }
            z_prime_of(mad(p)?, mad(n)?, median(p)?, median(n)?)
        })();
        let signal_to_background = (|| {
            let (a, b) = (mean(p)?, mean(n)?);
            let (hi, lo) = if a.abs() >= b.abs() { (a, b) } else { (b, a) };
            (lo != 0.0).then(|| (hi / lo).abs())
        })();
        PlateQc {
            z_prime,
            robust_z_prime,
            signal_to_background,
            cv_positive: cv(p),
            cv_neutral: cv(n),
        }
    }
}

/// Position effects among a plate's sample wells, in units of the
/// samples' robust spread (MAD), so 1.0 means a shift as large as the
/// typical sample-to-sample difference. Most samples are inactive, so a
/// shift common to a region is the plate's, not the compounds'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spatial {
    /// Median of the outer ring of sample wells minus the median of the
    /// inner ones (evaporation and heat at the plate's edge).
    pub edge_effect: Option<f64>,
    /// The largest row or column effect of a median polish, from the
    /// median effect (a dispenser's bad tip, a reader's drift).
    pub row_col_effect: Option<f64>,
}

impl Spatial {
    /// Position effects of the wells `samples` marks.
    pub fn of(values: &[Option<f64>], samples: &[bool], format: Format) -> Spatial {
        let (rows, cols) = format.shape();
        let kept: Vec<Option<f64>> =
            values.iter().zip(samples).map(|(v, &s)| v.filter(|_| s)).collect();
        let all: Vec<f64> = kept.iter().flatten().copied().collect();
        let Some(spread) = mad(&all).filter(|m| *m > 0.0) else {
            return Spatial { edge_effect: None, row_col_effect: None };
        };
        let (mut edge, mut inner) = (Vec::new(), Vec::new());
        for (well, value) in format.all().zip(&kept) {
            if let Some(v) = value {
                let on_edge =
                    well.row == 0 || well.col == 0 || well.row == rows - 1 || well.col == cols - 1;
                if on_edge {
                    edge.push(*v)
                } else {
                    inner.push(*v)
                }
            }
        }
        let edge_effect = (|| Some((median(&edge)? - median(&inner)?) / spread))();
        let polish = median_polish(&kept, format);
        let largest = |effects: &[f64]| -> Option<f64> {
            let centre = median(effects)?;
            effects.iter().map(|e| (e - centre).abs()).max_by(f64::total_cmp)
        };
        let row_col_effect = match (largest(&polish.row_effects), largest(&polish.col_effects)) {
            (Some(r), Some(c)) => Some(r.max(c) / spread),
            _ => None,
        };
        Spatial { edge_effect, row_col_effect }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Z′ is a property of the assay window, not of the units: any
        /// affine change of the readings (gain, offset, even inverted
        /// signal) leaves it, and its robust form, unchanged; and it never
        /// exceeds 1.
        #[test]
        fn z_prime_ignores_units_and_is_at_most_one(
            pos in prop::collection::vec(0.0f64..100.0, 2..40),
            neg in prop::collection::vec(500.0f64..1000.0, 2..40),
            gain in prop::sample::select(vec![-7.5, -1.0, 0.01, 3.0, 1e4]),
            offset in -1e4f64..1e4,
        ) {
            let before = Controls { positive: pos.clone(), neutral: neg.clone() }.qc();
            let shift = |v: &[f64]| v.iter().map(|x| gain * x + offset).collect::<Vec<_>>();
            let after = Controls { positive: shift(&pos), neutral: shift(&neg) }.qc();
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * (1.0 + a.abs()),
                (None, None) => true,
                _ => false,
            };
            prop_assert!(close(before.z_prime, after.z_prime), "{before:?} vs {after:?}");
            prop_assert!(close(before.robust_z_prime, after.robust_z_prime));
            prop_assert!(before.z_prime.is_some_and(|z| z <= 1.0));
        }
    }

    fn noisy(format: Format, shift: impl Fn(usize, usize) -> f64) -> Vec<Option<f64>> {
        format
            .all()
            .map(|w| {
                let mut x = (w.index(format) as u64 + 1) * 6_364_136_223_846_793_005;
                x ^= x >> 29;
                Some(100.0 + (x % 1000) as f64 / 100.0 + shift(w.row, w.col))
            })
            .collect()
    }

    #[test]
    fn position_effects_are_found_and_a_flat_plate_has_none() {
        let f = Format::W384;
        let samples = vec![true; f.wells()];
        let flat = Spatial::of(&noisy(f, |_, _| 0.0), &samples, f);
        assert!(flat.edge_effect.unwrap().abs() < 0.3, "{flat:?}");
        // A row effect is the median of 24 noisy wells: on a flat plate the
        // largest of 40 comes to about 0.7 of the spread.
        assert!(flat.row_col_effect.unwrap() < 1.0, "{flat:?}");
        let dried =
            noisy(f, |r, c| if r == 0 || c == 0 || r == 15 || c == 23 { 10.0 } else { 0.0 });
        assert!(Spatial::of(&dried, &samples, f).edge_effect.unwrap() > 2.0);
        let bad_tip = noisy(f, |r, _| if r == 6 { -8.0 } else { 0.0 });
        let tip = Spatial::of(&bad_tip, &samples, f);
        assert!(tip.row_col_effect.unwrap() > 1.8, "{tip:?}");
    }

    #[test]
    fn z_prime_by_hand() {
        // μp = 10, σp = 1; μn = 100, σn = 2 (n − 1): Z′ = 1 − 9/90 = 0.9.
        let c = Controls { positive: vec![9.0, 10.0, 11.0], neutral: vec![98.0, 100.0, 102.0] };
        let q = c.qc();
        assert!((q.z_prime.unwrap() - 0.9).abs() < 1e-12);
        assert!((q.signal_to_background.unwrap() - 10.0).abs() < 1e-12);
        assert!((q.cv_positive.unwrap() - 10.0).abs() < 1e-12);
        // Robust: MADs 1.4826 and 2.9652 over the same band.
        assert!((q.robust_z_prime.unwrap() - (1.0 - 3.0 * (1.4826 + 2.9652) / 90.0)).abs() < 1e-12);
    }

    #[test]
    fn no_separation_gives_no_z_prime() {
        let c = Controls { positive: vec![1.0, 2.0], neutral: vec![2.0, 1.0] };
        assert_eq!(c.qc().z_prime, None);
        assert_eq!(Controls::default().qc().z_prime, None);
        let single = Controls { positive: vec![1.0], neutral: vec![100.0] }.qc();
        assert_eq!((single.z_prime, single.robust_z_prime), (None, None));
    }
}
