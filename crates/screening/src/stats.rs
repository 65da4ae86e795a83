//! Location and scale of a sample. Each returns `None` when there are too
//! few values for the statistic to mean anything.

/// Arithmetic mean.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Sample standard deviation (n − 1), as R's `sd`.
pub fn sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    Some((xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt())
}

/// Median (the mean of the middle two for an even count), as R's `median`.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// Median absolute deviation scaled by 1.4826, so that it estimates the
/// standard deviation of normal data, as R's `mad`.
pub fn mad(xs: &[f64]) -> Option<f64> {
    let m = median(xs)?;
    let deviations: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    median(&deviations).map(|d| 1.4826 * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agree_with_r() {
        // R: x <- c(2, 4, 4, 4, 5, 5, 7, 9); mean 5, sd 2.13809, median 4.5, mad 0.7413
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&x), Some(5.0));
        assert!((sd(&x).unwrap() - 2.138_089_935_299_395).abs() < 1e-12);
        assert_eq!(median(&x), Some(4.5));
        assert!((mad(&x).unwrap() - 0.7413).abs() < 1e-12);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!((mean(&[]), sd(&[1.0]), median(&[]), mad(&[])), (None, None, None, None));
    }
}
