//! 3D structures for docking: an RDKit embedding, then the same molecule
//! moved to a pose that placed only some of its atoms.

use chem::{place_pose, Molecule, PlacedAtom};

/// (element, x, y, z) of each atom of a V2000 molfile.
fn atoms(molblock: &str) -> Vec<(String, [f64; 3])> {
    let lines: Vec<&str> = molblock.lines().collect();
    let count: usize = lines[3][..3].trim().parse().unwrap();
    lines[4..4 + count]
        .iter()
        .map(|l| {
            let xyz = [0, 1, 2].map(|i| l[i * 10..i * 10 + 10].trim().parse().unwrap());
            (l[31..34].trim().to_owned(), xyz)
        })
        .collect()
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn a_pose_keeps_the_molecule_and_puts_back_the_hydrogens_on_carbon() {
    let aspirin = Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O").unwrap();
    let embedded = aspirin.embed_3d(42).unwrap();
    let before = atoms(&embedded);
    assert_eq!(before.len(), 21, "13 heavy atoms and 8 hydrogens");
    // As a docking engine returns it: heavy atoms and the polar hydrogen
    // moved 10 Å along x, hydrogens on carbon left out.
    let polar_h = |i: usize| before[i].0 == "H" && embedded_neighbour_is_oxygen(&embedded, i);
    let placed: Vec<PlacedAtom> = (0..before.len())
        .filter(|&i| before[i].0 != "H" || polar_h(i))
        .map(|i| {
            let [x, y, z] = before[i].1;
            PlacedAtom { index: i as u32, x: x + 10.0, y, z }
        })
        .collect();
    assert_eq!(placed.len(), 14);
    let posed = place_pose(&embedded, &placed).unwrap();
    let after = atoms(&posed);
    assert_eq!(after.len(), before.len());
    for (i, ((element, old), (element_after, new))) in before.iter().zip(&after).enumerate() {
        assert_eq!(element, element_after);
        let moved = [old[0] + 10.0, old[1], old[2]];
        if placed.iter().any(|p| p.index as usize == i) {
            assert!(distance(moved, *new) < 1e-3, "atom {i} placed where the pose said");
        } else {
            // A re-placed hydrogen sits a C–H bond length from its carbon.
            let carbon = bonded_to(&posed, i);
            let d = distance(after[carbon].1, *new);
            assert!((1.0..1.2).contains(&d), "hydrogen {i} is {d:.2} Å from its carbon");
        }
    }
    let back = Molecule::from_molblock(&posed).unwrap();
    assert_eq!(back.canonical_smiles(), aspirin.canonical_smiles());
}

#[test]
fn a_pose_that_leaves_out_a_heavy_atom_or_names_a_missing_one_is_refused() {
    let embedded = Molecule::from_smiles("CCO").unwrap().embed_3d(1).unwrap();
    let at = |index| PlacedAtom { index, x: 0.0, y: 0.0, z: 0.0 };
    let err = place_pose(&embedded, &[at(0), at(1)]).unwrap_err().to_string();
    assert!(err.contains("atom 3 has no position"), "{err}");
    let err = place_pose(&embedded, &[at(0), at(1), at(2), at(40)]).unwrap_err().to_string();
    assert!(err.contains("names atom 41"), "{err}");
}

/// The index of the atom bonded to atom `i` (a hydrogen) in a V2000 molfile.
fn bonded_to(molblock: &str, i: usize) -> usize {
    let lines: Vec<&str> = molblock.lines().collect();
    let atoms: usize = lines[3][..3].trim().parse().unwrap();
    let bonds: usize = lines[3][3..6].trim().parse().unwrap();
    lines[4 + atoms..4 + atoms + bonds]
        .iter()
        .find_map(|l| {
            let a: usize = l[..3].trim().parse::<usize>().unwrap() - 1;
            let b: usize = l[3..6].trim().parse::<usize>().unwrap() - 1;
            (a == i).then_some(b).or((b == i).then_some(a))
        })
        .unwrap()
}

fn embedded_neighbour_is_oxygen(molblock: &str, i: usize) -> bool {
    atoms(molblock)[bonded_to(molblock, i)].0 == "O"
}

#[test]
fn stereo_is_read_from_the_3d_structure() {
    let from_3d = |smiles: &str| {
        let molecule = Molecule::from_smiles(smiles).unwrap();
        chem::smiles_from_3d(&molecule.embed_3d(7).unwrap()).unwrap()
    };
    // Specified stereo survives the embedding.
    for smiles in ["C[C@H](N)C(=O)O", "C/C=C\\C", "C/C=C/C(=O)O"] {
        let canonical = Molecule::from_smiles(smiles).unwrap().canonical_smiles();
        assert_eq!(from_3d(smiles), canonical);
    }
    // Open stereo comes out as whatever the embedding made.
    assert!(from_3d("CC(N)C(=O)O").contains('@'));
    let alkene = from_3d("CC=CC(=O)O");
    assert!(alkene.contains('/') || alkene.contains('\\'), "{alkene}");
}
