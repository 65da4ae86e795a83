//! LL.4 fits on real concentration–response data (186 ToxCast series of
//! tcplfit2's mc3) against SciPy's `curve_fit` on the same model and data
//! (`tests/data/tcplfit2/scipy-ll4.csv`).

use std::collections::HashMap;
use std::path::Path;

use screening::{fit_ll4, FitOptions};

fn read(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tcplfit2").join(name),
    )
    .unwrap()
}

#[test]
fn fits_match_or_beat_scipy_on_real_series() {
    let mut series: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for line in read("mc3.csv").lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if series.last().is_none_or(|s| s.0 != f[0]) {
            series.push((f[0].to_owned(), Vec::new(), Vec::new()));
        }
        let s = series.last_mut().unwrap();
        s.1.push(f[1].parse().unwrap());
        s.2.push(f[2].parse().unwrap());
    }
    let reference: HashMap<String, Vec<f64>> = read("scipy-ll4.csv")
        .lines()
        .skip(1)
        .filter(|l| l.ends_with("true"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1..6].iter().map(|v| v.parse().unwrap()).collect())
        })
        .collect();
    assert_eq!(series.len(), 186);
    let (mut compared, mut as_good, mut determined, mut same_params) = (0, 0, 0, 0);
    for (name, conc, resp) in &series {
        let fit = fit_ll4(conc, resp, FitOptions::default()).unwrap();
        let Some(r) = reference.get(name) else { continue };
        let (mut bottom, mut top, ec50, mut hill, sse) = (r[0], r[1], r[2], r[3], r[4]);
        // The same curve written with bottom <= top, as our fits are.
        if bottom > top {
            (bottom, top, hill) = (top, bottom, -hill);
        }
        assert!(fit.bottom <= fit.top);
        compared += 1;
        // Least squares: our optimum must be at least as good as SciPy's.
        if fit.sse <= sse * (1.0 + 1e-6) + 1e-9 {
            as_good += 1;
        }
        // Where the data pin the curve down (EC50 inside the range with a
        // finite interval, a moderate slope), the parameters must agree.
        let (lo, hi) = conc.iter().fold((f64::MAX, f64::MIN), |(a, b), &c| (a.min(c), b.max(c)));
        let pinned = fit.ec50_ci.is_some_and(|ci| ci.high / ci.low < 10.0)
            && (lo..=hi).contains(&fit.ec50)
            && hill.abs() < 10.0;
        if pinned {
            determined += 1;
            let span = (top - bottom).abs().max(1e-12);
            if (fit.ec50 / ec50 - 1.0).abs() < 1e-3
                && (fit.top - top).abs() < 1e-3 * span
                && (fit.bottom - bottom).abs() < 1e-3 * span
                && (fit.hill - hill).abs() < 1e-3 * hill.abs().max(1.0)
            {
                same_params += 1;
            }
        }
    }
    eprintln!(
        "LL.4 vs SciPy: {as_good}/{compared} fits at least as good (SSE); parameters equal in {same_params}/{determined} well-determined series"
    );
    assert!(compared >= 180);
    assert_eq!(as_good, compared, "every fit reaches SciPy's optimum or a better one");
    assert!(determined >= 20, "the data set has well-determined curves to compare");
    assert_eq!(same_params, determined);
}
