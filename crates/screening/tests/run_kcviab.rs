//! The KcViab screen (57 plates × 2 replicates, cellHTS2's own files and
//! plate list) run end to end through `analyse_run`: every file read,
//! replicates paired by the plate list, and robust z-scores that rank the
//! wells as the published (non-robust) scores do.

use std::path::Path;

use screening::{analyse_run, Format, RunFiles};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/KcViab").join(name),
    )
    .unwrap()
}

/// The screen's Plateconf.txt as a plate map: A01–A02 unused, B01
/// negative, B02 positive, the rest samples.
fn map() -> String {
    let mut map = String::from("well,role\n");
    for w in Format::W384.all() {
        let role = match w.to_string().as_str() {
            "A01" | "A02" => "blank",
            "B01" => "neutral",
            "B02" => "positive",
            _ => "sample",
        };
        map += &format!("{w},{role}\n");
    }
    map
}

fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    for (rank, i) in order.into_iter().enumerate() {
        r[i] = rank as f64;
    }
    r
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn the_whole_screen_runs_from_its_files() {
    let list = data("Platelist.txt");
    let plates: Vec<(String, String)> = list
        .lines()
        .skip(1)
        .map(|l| {
            let file = l.split('\t').next().unwrap().to_owned();
            let text = data(&file);
            (file, text)
        })
        .collect();
    let files = RunFiles {
        protocol: "name = \"KcViab\"\nscore = \"robust_z\"\nthreshold = 3\n".into(),
        map: map(),
        plates,
        plate_list: Some(list),
    };
    let run = analyse_run(&files).unwrap();
    assert_eq!(run.plates.len(), 114);
    assert!(run.plates.iter().all(|p| p.replicate <= 2 && p.result.passed));

    // Combined robust z of every hit and non-hit, against the published
    // score (sign flipped: the screen scores lower viability higher).
    let mut ours = Vec::new();
    let mut published = Vec::new();
    let format = Format::W384;
    for line in data("Analysis2003.txt").lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let Ok(score) = f[2].parse::<f64>() else { continue };
        let well = format.well(f[3]).unwrap().index(format);
        let replicates: Vec<f64> = run
            .plates
            .iter()
            .filter(|p| p.plate == f[0])
            .filter_map(|p| p.result.robust_z[well])
            .collect();
        if replicates.is_empty() || well == format.well("B01").unwrap().index(format) {
            continue;
        }
        ours.push(-replicates.iter().sum::<f64>() / replicates.len() as f64);
        published.push(score);
    }
    assert!(ours.len() > 20_000, "{}", ours.len());
    let rho = pearson(&ranks(&ours), &ranks(&published));
    eprintln!(
        "KcViab end to end: {} wells, Spearman ρ = {rho:.4}, {} hits at |robust z| ≥ 3",
        ours.len(),
        run.hits.len()
    );
    assert!(rho > 0.97, "rank correlation {rho}");
    // The published top-scoring wells are our hits.
    let strong: Vec<usize> = (0..published.len()).filter(|&i| published[i] >= 4.0).collect();
    let found = strong.iter().filter(|&&i| ours[i] >= 3.0).count();
    assert!(found as f64 >= 0.9 * strong.len() as f64, "{found} of {}", strong.len());
}
