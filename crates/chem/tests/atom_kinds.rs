//! Atoms of one kind answer every query atom the kind screen judges alike,
//! over real molecules read back from their packed form (as the structure
//! store holds them): the kind key leaves out nothing those queries read.

use std::collections::HashMap;

use chem::{Molecule, Query};

/// One primitive or more of every kind the screen accepts, plain SMILES
/// atoms, and ones it must leave alone.
const QUERIES: &[&str] = &[
    "c1ccccc1",
    "[#7;R]",
    "[r5]",
    "[r6,r7;!r5]",
    "[R2]",
    "[x3]",
    "[C;D3;H1]",
    "[#6;X4;h3]",
    "[N;v3;!H0]",
    "[^2;#6]",
    "[^3;R]",
    "[+,-]",
    "[-2]",
    "[13C,2H]",
    "[z2]",
    "[Z1]",
    "[#6;!R;D2]",
    "[O;H1,-1]",
    "[C@H]",
    "[S;X4]",
    "[n;H1]",
    "[a;!c]",
    "[A;!C;!N;!O]",
    "[#6;D{2-3}]",
    "[*;H0;X3]",
    "*",
    "[Cl,Br,I]",
    "Nc1ccccc1",
    "C(=O)[O-]",
    "[$(C=O)]",
    "[C;$(C(F)(F)F)]",
];

fn molecules() -> Vec<Molecule> {
    let mut out = Vec::new();
    for (file, take) in
        [("moses-1000.smi", 1000), ("stereo-drugs.smi", 1000), ("nci-first-5k.smi", 2000)]
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
        for line in std::fs::read_to_string(path).unwrap().lines().take(take) {
            let Some(smiles) = line.split_whitespace().next() else { continue };
            let Ok(m) = Molecule::from_smiles(smiles) else { continue };
            out.push(Molecule::from_packed(&m.to_packed()).unwrap());
        }
    }
    out
}

#[test]
fn atoms_of_one_kind_answer_every_screenable_query_atom_alike() {
    let queries: Vec<Query> = QUERIES.iter().map(|q| Query::from_smarts(q).unwrap()).collect();
    let screenable: Vec<Vec<bool>> = queries.iter().map(Query::kind_screenable).collect();
    let mut first: HashMap<Vec<u8>, Vec<Vec<bool>>> = HashMap::new();
    let (mut atoms, mut compared) = (0, 0);
    for m in molecules() {
        for (atom, key) in m.atom_kind_keys().unwrap().into_iter().enumerate() {
            atoms += 1;
            let answers: Vec<Vec<bool>> =
                queries.iter().map(|q| q.atoms_matching(&m, atom as u32)).collect();
            let Some(seen) = first.get(&key) else {
                first.insert(key, answers);
                continue;
            };
            for (q, text) in QUERIES.iter().enumerate() {
                for (a, _) in screenable[q].iter().enumerate().filter(|(_, &judged)| judged) {
                    assert_eq!(
                        seen[q][a],
                        answers[q][a],
                        "query {text}, query atom {a}, atom {atom} of {}",
                        m.canonical_smiles()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(atoms > 50_000 && first.len() > 300, "{atoms} atoms, {} kinds", first.len());
    assert!(compared > 1_000_000, "{compared} comparisons");
}

#[test]
fn recursive_and_property_queries_are_left_to_verification() {
    let judged = |q: &str| Query::from_smarts(q).unwrap().kind_screenable();
    assert_eq!(judged("[$(C=O)]"), [false]);
    assert_eq!(judged("C[C;$(C(F)(F)F)]"), [true, false]);
    assert!(judged("[C;R2;H1;X3;+0]c1ccccn1").iter().all(|&ok| ok));
    let plain = Query::from_molecule(Molecule::from_smiles("OC(=O)c1ccccc1").unwrap());
    assert!(plain.kind_screenable().iter().all(|&ok| ok));
}
