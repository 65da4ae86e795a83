//! Reading a registry's canonical SMILES back with `from_trusted_smiles`,
//! or a molecule from its RDKit pickle, gives the molecule a full parse gives: the same canonical SMILES and the
//! same substructure matches, over real molecules with salts, charges,
//! metals and stereo.

use chem::{Molecule, Query};

const QUERIES: &[&str] = &[
    "c1ccccc1",
    "[#7;R]",
    "[r5]",
    "[R2]",
    "C(=O)[OH]",
    "[NX3;H2,H1;!$(NC=O)]",
    "[$([CX4;H0](C)(C)(C)C)]",
    "[#6]=,:[#7]",
    "[n;H1]",
    "[C@H]",
    "[+,-]",
    "[^2]",
    "[x3]",
    "[#6;v4;X4]",
    "S(=O)(=O)N",
];

#[test]
fn trusted_parse_and_pickles_match_like_a_full_parse() {
    let queries: Vec<Query> = QUERIES.iter().map(|q| Query::from_smarts(q).unwrap()).collect();
    let mut checked = 0;
    for file in ["nci-first-5k.smi", "moses-1000.smi", "stereo-drugs.smi"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let Some(smiles) = line.split_whitespace().next() else { continue };
            let Ok(full) = Molecule::from_smiles(smiles) else { continue };
            let canonical = full.canonical_smiles();
            let full = Molecule::from_smiles(&canonical).unwrap();
            let trusted = Molecule::from_trusted_smiles(&canonical)
                .unwrap_or_else(|e| panic!("{canonical}: {e}"));
            let unpickled = Molecule::from_pickle(&full.to_pickle()).unwrap();
            assert_eq!(trusted.canonical_smiles(), canonical);
            assert_eq!(unpickled.canonical_smiles(), canonical);
            for (text, q) in QUERIES.iter().zip(&queries) {
                let expected = full.has_substructure(q);
                assert_eq!(trusted.has_substructure(q), expected, "{text} in {canonical}");
                assert_eq!(
                    unpickled.has_substructure(q),
                    expected,
                    "{text} in {canonical} (pickle)"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 5_500, "{checked} molecules");
}
