//! `biobankbench OUT_DIR [SAMPLES]`: builds the synthetic catalogue at the
//! scale that gives SAMPLES samples (default 5,000,000), times the typical
//! queries of `bench/biobank-queries.json` (plan, evaluate, protect: what a
//! request costs) 50 times each, and writes the catalogue as TSV and each
//! query's resolved plan and true counts for the SQLite peer
//! (`bench/biobank_peer.py`), and the timings to `OUT_DIR/soyaku.json`.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Result;
use biobank::{Catalogue, Granularity, Guard, Policy, Query};

const REPEATS: usize = 50;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench/data/biobank".into()));
    let want: f64 = args.next().map_or(Ok(5_000_000.0), |a| a.parse())?;
    std::fs::create_dir_all(&out)?;
    // Scale 1.0 gives about 1.4 million samples.
    let scale = want / 1.4e6;
    let started = Instant::now();
    let (banks, people, samples) = biobank::synth::generate(scale, 20261122);
    let generated = started.elapsed().as_secs_f64();
    write_tsv(&out, &people, &samples)?;
    let started = Instant::now();
    let catalogue = Catalogue::build(banks, people, samples)?;
    let built = started.elapsed().as_secs_f64();
    eprintln!(
        "catalogue: {} participants, {} samples (generated {generated:.1} s, columns built {built:.1} s)",
        catalogue.individuals(),
        catalogue.samples()
    );
    let queries: Vec<(String, Query)> = serde_json::from_str(&std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../biobank-queries.json"
    ))?)?;
    // The differencing check keeps every query's donor set; a benchmark
    // caller repeating queries is what it allows, so the history is on.
    let guard = Guard::new(Policy { daily_budget: u32::MAX, ..Policy::default() }, [9; 32]);
    let mut rows = Vec::new();
    let mut all = Vec::new();
    for (name, query) in &queries {
        let mut times = Vec::with_capacity(REPEATS);
        let mut truth = Vec::new();
        let mut plan_json = serde_json::Value::Null;
        for _ in 0..REPEATS {
            let t = Instant::now();
            let plan = query.plan(&catalogue)?;
            let matched = catalogue.evaluate(&plan);
            let answer = guard
                .answer(&catalogue, "bench", Granularity::Count, &[], &plan, &matched, 0)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(answer);
            truth = matched.per_biobank.clone();
            plan_json = serde_json::to_value(&plan)?;
        }
        times.sort_by(f64::total_cmp);
        all.extend(&times);
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        rows.push(serde_json::json!({
            "name": name, "p50_ms": p(0.5), "p95_ms": p(0.95), "plan": plan_json,
            "counts": truth,
        }));
    }
    all.sort_by(f64::total_cmp);
    let p95 = all[((all.len() - 1) as f64 * 0.95).round() as usize];
    let report = serde_json::json!({
        "participants": catalogue.individuals(), "samples": catalogue.samples(),
        "queries": rows, "p95_ms_all": p95, "repeats": REPEATS,
    });
    std::fs::write(out.join("soyaku.json"), report.to_string())?;
    println!("{}", serde_json::json!({"samples": catalogue.samples(), "p95_ms_all": p95}));
    Ok(())
}

/// The catalogue as the peer loads it: participants, their diagnoses and
/// samples, by row number (the order the catalogue uses).
fn write_tsv(
    out: &std::path::Path,
    people: &[biobank::Individual],
    samples: &[biobank::Sample],
) -> Result<()> {
    let banks = ["tmm", "bbj", "ncbn"];
    let mut ind = std::io::BufWriter::new(std::fs::File::create(out.join("individuals.tsv"))?);
    let mut dis = std::io::BufWriter::new(std::fs::File::create(out.join("diseases.tsv"))?);
    let mut row_of = std::collections::HashMap::with_capacity(people.len());
    // The catalogue orders participants by biobank; so does this file.
    let mut order: Vec<usize> = (0..people.len()).collect();
    order.sort_by_key(|&i| banks.iter().position(|b| *b == people[i].biobank));
    for (row, &i) in order.iter().enumerate() {
        let p = &people[i];
        row_of.insert(p.id.as_str(), row);
        let bank = banks.iter().position(|b| *b == p.biobank).unwrap_or(0);
        writeln!(
            ind,
            "{row}\t{bank}\t{}\t{}\t{}\t{}\t{}",
            p.sex as u8,
            p.consent,
            p.consent_disease.map_or(-1, i64::from),
            p.recontact as u8,
            p.data
        )?;
        for d in &p.diseases {
            writeln!(dis, "{row}\t{d}")?;
        }
    }
    let mut smp = std::io::BufWriter::new(std::fs::File::create(out.join("samples.tsv"))?);
    for (k, s) in samples.iter().enumerate() {
        writeln!(
            smp,
            "{k}\t{}\t{}\t{}\t{}",
            row_of[s.individual.as_str()],
            s.sample_type as u8,
            s.age,
            s.aliquots
        )?;
    }
    Ok(())
}
