//! `modelbench SMILES_FILE OUT_DIR ROUNDS`: loads both models (timed), then
//! predicts every molecule of the file ROUNDS times with each (parsing and
//! featurisation included, as a user's call would), and writes
//! `soyaku.json` (times) and the predictions of the last round
//! (`admet.jsonl`, `targets.jsonl`) for the peers' agreement check.

use std::io::Write as _;
use std::time::Instant;

use anyhow::{Context as _, Result};
use models::admet::AdmetModel;
use models::targets::TargetModel;
use models::Model;
use serde_json::json;

/// The allocator the `soyaku` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, out, rounds] = &args[..] else {
        anyhow::bail!("usage: modelbench SMILES_FILE OUT_DIR ROUNDS");
    };
    let rounds: usize = rounds.parse().context("ROUNDS")?;
    let smiles: Vec<String> = std::fs::read_to_string(input)?
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();

    let started = Instant::now();
    let admet = AdmetModel::bundled()?;
    let admet_load = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let targets = TargetModel::bundled()?;
    let targets_load = started.elapsed().as_secs_f64();

    let parse = || -> Result<Vec<chem::Molecule>> {
        smiles.iter().map(|s| chem::Molecule::from_smiles(s).with_context(|| s.clone())).collect()
    };
    let (mut admet_times, mut target_times) = (Vec::new(), Vec::new());
    let (mut admet_out, mut target_out) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        admet_out = admet.admet(&parse()?);
        admet_times.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        target_out = targets.predict(&parse()?)?;
        target_times.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let n = smiles.len() as f64;
    let report = json!({
        "molecules": smiles.len(),
        "admet_load_s": admet_load,
        "targets_load_s": targets_load,
        "admet_mol_per_s": n / median(&mut admet_times),
        "targets_mol_per_s": n / median(&mut target_times),
    });
    std::fs::write(format!("{out}/soyaku.json"), report.to_string())?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{out}/admet.jsonl"))?);
    for (s, profile) in smiles.iter().zip(&admet_out) {
        let map: serde_json::Map<String, serde_json::Value> =
            profile.values.iter().map(|v| (v.endpoint.clone(), json!(v.value))).collect();
        writeln!(f, "{}", json!({"smiles": s, "predictions": map}))?;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{out}/targets.jsonl"))?);
    for (s, predictions) in smiles.iter().zip(&target_out) {
        let map: serde_json::Map<String, serde_json::Value> =
            predictions.iter().map(|p| (p.endpoint.to_owned(), json!(p.value))).collect();
        writeln!(f, "{}", json!({"smiles": s, "predictions": map}))?;
    }
    println!("{report}");
    Ok(())
}
