//! Reading a registry's canonical SMILES back with `from_trusted_smiles`,
//! or a molecule from its packed form, gives the molecule a full parse
//! gives: the same atoms and bonds as RDKit perceives them, the same
//! canonical SMILES and the same substructure matches, over real molecules
//! with salts, charges, isotopes, radicals, metals and stereo.

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
fn trusted_parse_and_packed_molecules_match_like_a_full_parse() {
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
            let unpacked = Molecule::from_packed(&full.to_packed()).unwrap();
            assert_eq!(trusted.canonical_smiles(), canonical);
            assert_eq!(unpacked.canonical_smiles(), canonical);
            assert_eq!(unpacked.atoms(), full.atoms(), "{canonical}");
            assert_eq!(unpacked.bonds(), full.bonds(), "{canonical}");
            for (text, q) in QUERIES.iter().zip(&queries) {
                let expected = full.has_substructure(q);
                assert_eq!(trusted.has_substructure(q), expected, "{text} in {canonical}");
                assert_eq!(
                    unpacked.has_substructure(q),
                    expected,
                    "{text} in {canonical} (packed)"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 5_500, "{checked} molecules");
}

/// What the packed form cannot hold (atom map numbers, enhanced stereo) goes
/// through RDKit's pickle inside it and still comes back whole; damaged
/// bytes are an error, not a crash.
#[test]
fn packed_form_keeps_what_it_cannot_pack_and_refuses_damage() {
    for smiles in ["[CH3:1][CH2:2]O", "C[C@H](F)Cl |o1:1|", "[13CH3]c1ccccc1", "[CH2]C"] {
        let full = Molecule::from_smiles(smiles).unwrap();
        let packed = full.to_packed();
        let back = Molecule::from_packed(&packed).unwrap();
        assert_eq!(back.canonical_smiles(), full.canonical_smiles(), "{smiles}");
        assert_eq!(back.atoms(), full.atoms(), "{smiles}");
    }
    let packed = Molecule::from_smiles("c1ccccc1O").unwrap().to_packed();
    for len in 0..packed.len() {
        assert!(Molecule::from_packed(&packed[..len]).is_err(), "cut at {len}");
    }
    let mut longer = packed.clone();
    longer.push(0);
    assert!(Molecule::from_packed(&longer).is_err());
    let mut unknown = packed;
    unknown[0] = 9;
    assert!(Molecule::from_packed(&unknown).is_err());
}
