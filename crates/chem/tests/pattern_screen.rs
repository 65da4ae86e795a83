//! A query's pattern fingerprint screens without loss: every molecule that
//! matches a query holds every bit of the query's fingerprint, over real
//! molecules and SMARTS whose atoms start with something other than an
//! element, where RDKit's own query fingerprint sets bits the matches lack.

use chem::{Molecule, Query};

const QUERIES: &[&str] = &[
    "[R;c]",
    "[H1;c]",
    "[R;C]",
    "[X3;C]",
    "[r5;#7]",
    "[x3;c]",
    "[^2;C]=[O]",
    "[z2;c]",
    "[R2;#6]",
    "[D3;#6]~*",
    "c1ccccc1[H0;#6]",
    "[+0;#6]",
    "[$(C=O);#6]",
    "[c;R]",
    "[CH3]",
    "[NX3;H2,H1;!$(NC=O)]",
    "C(=O)N",
    "c1ccncc1",
];

#[test]
fn every_match_holds_every_bit_of_the_query_fingerprint() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/moses-1000.smi");
    let molecules: Vec<Molecule> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| Molecule::from_smiles(l.split_whitespace().next()?).ok())
        .collect();
    let fps: Vec<_> = molecules.iter().map(Molecule::pattern_fingerprint).collect();
    for text in QUERIES {
        let query = Query::from_smarts(text).unwrap();
        let qfp = query.pattern_fingerprint();
        let mut matched = 0;
        for (m, fp) in molecules.iter().zip(&fps) {
            if m.has_substructure(&query) {
                matched += 1;
                let lost = qfp.words().iter().zip(fp.words()).any(|(q, f)| q & !f != 0);
                assert!(!lost, "{text}: {} matches but fails the screen", m.canonical_smiles());
            }
        }
        assert!(matched > 0, "{text} matches nothing, so it tests nothing");
    }
}
