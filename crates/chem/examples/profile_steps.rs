//! Times each registration step over a SMILES file, one step at a time over a
//! chunk of molecules (as bulk import runs them), to see where import spends
//! its time: `cargo run --release -p chem --example profile_steps FILE`.

use std::time::Instant;

use chem::{Molecule, MorganParams, StandardizeOptions};

fn main() {
    let path = std::env::args().nth(1).expect("usage: profile_steps FILE.smi");
    let text = std::fs::read_to_string(path).expect("readable file");
    let smiles: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let n = smiles.len() as f64;
    let mut total = 0.0;
    let mut report = |name: &str, t: Instant| {
        let us = t.elapsed().as_secs_f64() * 1e6 / n;
        total += us;
        println!("{name:>14}: {us:8.1} µs/molecule");
    };
    let t = Instant::now();
    let mols: Vec<Molecule> = smiles.iter().filter_map(|s| Molecule::from_smiles(s).ok()).collect();
    report("parse", t);
    let t = Instant::now();
    let parents: Vec<Molecule> =
        mols.iter().map(|m| m.standardize(StandardizeOptions::default()).unwrap()).collect();
    report("standardize", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.canonical_smiles());
    });
    report("smiles", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.inchi());
    });
    report("inchi", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.morgan(MorganParams::default()));
    });
    report("morgan", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.pattern_fingerprint());
    });
    report("pattern", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.without_stereo().tautomer_hash());
    });
    report("tautomer_hash", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.descriptors());
    });
    report("descriptors", t);
    let t = Instant::now();
    parents.iter().for_each(|p| {
        let _ = std::hint::black_box(p.alerts());
    });
    report("alerts", t);
    println!("{:>14}: {total:8.1} µs/molecule", "total");
}
