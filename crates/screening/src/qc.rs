//! Plate quality from its controls: Z′ (Zhang et al. 1999), robust Z′
//! (median and MAD), signal to background, and the controls' CV.

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
        let robust_z_prime = (|| z_prime_of(mad(p)?, mad(n)?, median(p)?, median(n)?))();
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
