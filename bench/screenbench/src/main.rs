//! `screenbench OUT_DIR`: times Soyaku's screening analysis on generated
//! data with fixed seeds — 100 plates of 1536 wells in duplicate (QC,
//! percent inhibition, robust z, B-score, hit calling), both in memory and
//! as a whole run from its 200 reader files (`analyse_run`: parsing too),
//! and 10,000 eight-point dose-response series (LL.4 fits on all cores) —
//! and writes the plates (`OUT_DIR/plates/`) and series
//! (`OUT_DIR/curves.csv`) for the NumPy/SciPy peer and the timings to
//! `OUT_DIR/soyaku.json`.

use std::io::Write as _;
use std::time::Instant;

use anyhow::Result;
use screening::{
    analyse, analyse_run, call_hits, fit_ll4, FitOptions, Format, Protocol, Role, RunFiles, Score,
};

/// A small fixed-seed generator (SplitMix64), so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal noise (sum of uniforms).
    fn noise(&mut self, sd: f64) -> f64 {
        ((0..6).map(|_| self.next()).sum::<f64>() - 3.0) * sd * std::f64::consts::SQRT_2
    }
}

fn main() -> Result<()> {
    let out = std::path::PathBuf::from(
        std::env::args().nth(1).unwrap_or_else(|| "bench/data/screening".into()),
    );
    std::fs::create_dir_all(&out)?;
    let mut rng = Rng(20261122);
    let format = Format::W1536;
    let roles: Vec<Role> = format
        .all()
        .map(|w| match w.col {
            0 | 1 => Role::Neutral,
            46 | 47 => Role::Positive,
            _ => Role::Sample,
        })
        .collect();
    // 100 plate layouts, each read twice (replicates share their hits).
    let mut plates: Vec<Vec<Option<f64>>> = Vec::new();
    let mut planted = 0usize;
    for _ in 0..100 {
        let hit: Vec<bool> =
            roles.iter().map(|r| *r == Role::Sample && rng.next() < 0.005).collect();
        planted += hit.iter().filter(|h| **h).count();
        for _ in 0..2 {
            plates.push(
                roles
                    .iter()
                    .zip(&hit)
                    .map(|(r, h)| {
                        let base = match r {
                            Role::Positive => 100.0,
                            _ if *h => 300.0,
                            _ => 1000.0,
                        };
                        Some(base + rng.noise(40.0))
                    })
                    .collect(),
            );
        }
    }
    let mut protocol = Protocol::new(Score::PercentInhibition, 50.0);
    protocol.qc.min_z_prime = Some(0.5);
    let started = Instant::now();
    let mut hits = 0usize;
    for pair in plates.chunks(2) {
        let results: Vec<_> = pair.iter().map(|p| analyse(format, p, &roles, &protocol)).collect();
        hits += call_hits(&results, &roles, &protocol).iter().filter(|h| **h).count();
    }
    let plates_seconds = started.elapsed().as_secs_f64();

    // The same plates as a run's files: one grid CSV per plate read, a
    // plate list pairing the replicates, a map and a protocol.
    let dir = out.join("plates");
    std::fs::create_dir_all(&dir)?;
    let mut files = RunFiles {
        protocol: "score = \"percent_inhibition\"\nthreshold = 50\n[qc]\nmin_z_prime = 0.5\n"
            .into(),
        map: std::iter::once("well,role".to_owned())
            .chain(format.all().zip(&roles).map(|(w, r)| {
                let role = match r {
                    Role::Neutral => "neutral",
                    Role::Positive => "positive",
                    _ => "sample",
                };
                format!("{w},{role}")
            }))
            .collect::<Vec<_>>()
            .join("\n"),
        plates: Vec::new(),
        plate_list: Some(String::from("Filename,Plate,Replicate\n")),
    };
    let (rows, cols) = format.shape();
    for (i, plate) in plates.iter().enumerate() {
        let name = format!("L{:03}-{}.csv", i / 2 + 1, i % 2 + 1);
        let mut text = (1..=cols).fold(String::new(), |t, c| t + "," + &c.to_string()) + "\n";
        for r in 0..rows {
            text += &screening::Well::row_name(r);
            for c in 0..cols {
                text += &format!(",{:.3}", plate[r * cols + c].unwrap_or(f64::NAN));
            }
            text += "\n";
        }
        std::fs::write(dir.join(&name), &text)?;
        if let Some(list) = files.plate_list.as_mut() {
            *list += &format!("{name},L{:03},{}\n", i / 2 + 1, i % 2 + 1);
        }
        files.plates.push((name, text));
    }
    std::fs::write(dir.join("platelist.csv"), files.plate_list.as_deref().unwrap_or(""))?;
    std::fs::write(out.join("map.csv"), &files.map)?;
    let started = Instant::now();
    let run = analyse_run(&files)?;
    let run_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(run.hits.len() == hits, "the run from files calls the hits the plates do");

    let conc: Vec<f64> = (0..8).map(|i| 1e-9 * 3f64.powi(i)).collect();
    let mut curves = Vec::new();
    let mut csv = std::io::BufWriter::new(std::fs::File::create(out.join("curves.csv"))?);
    writeln!(csv, "compound,concentration,response")?;
    for n in 0..10_000 {
        let (ec50, hill, top) =
            (1e-8 * 10f64.powf(3.0 * rng.next()), 0.5 + 2.0 * rng.next(), 60.0 + 40.0 * rng.next());
        let resp: Vec<f64> = conc
            .iter()
            .map(|c| top / (1.0 + (hill * (c.ln() - ec50.ln())).exp()) + rng.noise(5.0))
            .collect();
        for (c, r) in conc.iter().zip(&resp) {
            writeln!(csv, "c{n},{c:e},{r}")?;
        }
        curves.push(resp);
    }
    csv.flush()?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    let fitted: usize = std::thread::scope(|s| {
        let parts: Vec<_> = curves
            .chunks(curves.len().div_ceil(threads))
            .map(|part| {
                let conc = &conc;
                s.spawn(move || {
                    part.iter().filter(|r| fit_ll4(conc, r, FitOptions::default()).is_ok()).count()
                })
            })
            .collect();
        parts.into_iter().map(|p| p.join().expect("fit thread")).sum()
    });
    let fits_seconds = started.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "plates": 200, "wells_per_plate": 1536, "plate_seconds_per_100": plates_seconds / 2.0,
        "run_seconds_per_100": run_seconds / 2.0,
        "hits": hits, "planted": planted, "fits": fitted, "fit_seconds": fits_seconds, "threads": threads,
    });
    std::fs::write(out.join("soyaku.json"), report.to_string())?;
    println!("{report}");
    Ok(())
}
