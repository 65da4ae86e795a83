//! Validation on real data: the cellHTS2 KcViab screen (57 × 384 wells in
//! duplicate) against the per-well scores published with it
//! (`Analysis2003.txt`, rounded to two decimals). The published method, as
//! this test establishes: per plate and replicate, z-scores with the mean and
//! standard deviation of every unflagged well, sign flipped (lower viability
//! scores higher), averaged over the replicates.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use screening::{z_scores, Format};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/KcViab").join(name),
    )
    .unwrap()
}

#[test]
fn published_kcviab_scores_are_reproduced() {
    let format = Format::W384;
    // Wells the screen log flags (contamination and the like) are missing.
    let flagged: HashSet<(u32, u32, usize)> = data("Screenlog.txt")
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), format.well(f[2]).unwrap().index(format))
        })
        .collect();
    let mut scores: HashMap<(u32, usize), Vec<f64>> = HashMap::new();
    for line in data("Platelist.txt").lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (plate, replicate): (u32, u32) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        let mut values = vec![None; format.wells()];
        for row in data(f[0]).lines().filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = row.split('\t').collect();
            let well = format.well(cells[1]).unwrap().index(format);
            let value = cells.get(2).and_then(|v| v.trim().parse::<f64>().ok());
            values[well] = value.filter(|_| !flagged.contains(&(plate, replicate, well)));
        }
        let every = vec![true; values.len()];
        for (well, z) in z_scores(&values, &every).into_iter().enumerate() {
            if let Some(z) = z {
                scores.entry((plate, well)).or_default().push(-z);
            }
        }
    }
    let mut differences = Vec::new();
    for line in data("Analysis2003.txt").lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let Ok(published) = f[2].parse::<f64>() else { continue };
        let key = (f[0].parse().unwrap(), format.well(f[3]).unwrap().index(format));
        let ours = &scores[&key];
        let mean = ours.iter().sum::<f64>() / ours.len() as f64;
        differences.push((mean - published).abs());
    }
    assert_eq!(differences.len(), 21_060, "every published well has a score");
    // Two-decimal rounding allows 0.005; a little float slack on top.
    let within =
        differences.iter().filter(|d| **d < 0.0051).count() as f64 / differences.len() as f64;
    differences.sort_by(f64::total_cmp);
    let median = differences[differences.len() / 2];
    eprintln!(
        "KcViab: {:.2} % of {} wells within rounding of the published score; median |diff| {median:.4}; max {:.3}",
        within * 100.0,
        differences.len(),
        differences[differences.len() - 1]
    );
    assert!(within > 0.98, "only {:.2} % of wells agree within rounding", within * 100.0);
    assert!(median < 0.003, "median difference {median}");
}
