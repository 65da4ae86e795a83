//! DOCKSTRING's published reference dockings reproduce: the same ligand
//! preparation and seed, Debian's Vina 1.2.3 where DOCKSTRING used 1.1.2.
//! CI docks two of the package's 24 reference (target, SMILES, score)
//! examples; `bench/docking.sh` docks all of them.

use std::sync::atomic::AtomicBool;

use docking::{dock, prepare_ligand, target, Engines, ReceptorFormat, Search};

/// Vina's scores are reported to 0.1 kcal/mol and vary by a few tenths
/// between Vina versions and platforms for the same seed.
const TOLERANCE: f64 = 0.5;

#[test]
fn reference_examples_reproduce_within_tolerance() {
    let engines = Engines::find().expect("vina and obabel (scripts/setup.sh installs them)");
    // From dockstring 0.3.4's `dataset.random_dataset_tuples`.
    let examples = [
        ("ADORA2A", "S(C1=CC(F)=C(C=C1)CCCO)(=O)(=O)N", -6.7),
        ("PDE5A", "O(CCC)C(=O)C=1C=C(OC)C(O)=CC1", -6.9),
    ];
    let never = AtomicBool::new(false);
    for (name, smiles, reference) in examples {
        let ligand = prepare_ligand(&engines, smiles, docking::DOCKSTRING_SEED).unwrap();
        assert!(ligand.pdbqt.contains("TORSDOF"), "{}", ligand.pdbqt);
        assert!(!ligand.stereo_chosen, "no stereo to choose in {}", ligand.docked);
        let progress = std::cell::Cell::new(0.0);
        let search = Search { cpus: 2, ..Search::default() };
        let result =
            dock(&engines, &target(name).unwrap(), &ligand, search, &|f| progress.set(f), &never)
                .unwrap();
        assert_eq!(progress.get(), 1.0);
        assert!(result.poses.windows(2).all(|w| w[0].affinity <= w[1].affinity));
        eprintln!("{name} {smiles}: {} kcal/mol (DOCKSTRING {reference})", result.score);
        poses_are_the_prepared_molecule_as_sdf(&ligand, &result);
        assert!(
            (result.score - reference).abs() <= TOLERANCE,
            "{name}: {} vs {reference}",
            result.score
        );
    }
}

/// Every pose, as SDF, is the protonated ligand (same canonical SMILES:
/// bonds, charges, hydrogens) at Vina's coordinates, with its score.
fn poses_are_the_prepared_molecule_as_sdf(ligand: &docking::Ligand, result: &docking::Docking) {
    let expected = chem::Molecule::from_smiles(&ligand.protonated).unwrap().canonical_smiles();
    for (i, pose) in result.poses.iter().enumerate() {
        let sdf = result.pose_sdf(i, "ligand").unwrap();
        let record = chem::sdf::SdfReader::new(sdf.as_bytes()).next().unwrap().unwrap();
        let posed = chem::Molecule::from_molblock(&record.molblock).unwrap();
        assert_eq!(posed.canonical_smiles(), expected, "pose {}", i + 1);
        assert_eq!(record.get("minimizedAffinity"), Some(pose.affinity.to_string().as_str()));
        // Vina's first atom, at its coordinates, is in the molfile.
        let first = pose.pdbqt.lines().find(|l| l.starts_with("ATOM")).unwrap();
        let xyz: Vec<f64> =
            [30..38, 38..46, 46..54].map(|r| first[r].trim().parse().unwrap()).to_vec();
        let found = record.molblock.lines().any(|l| {
            let v: Vec<f64> = l.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
            v.len() == 3 && (0..3).all(|k| (v[k] - xyz[k]).abs() < 1e-3)
        });
        assert!(found, "pose {}: {first} not in\n{}", i + 1, record.molblock);
    }
}

#[test]
fn stereo_the_input_leaves_open_is_chosen_by_the_embedding_and_said() {
    let engines = Engines::find().unwrap();
    // DOCKSTRING's PPARA example: its C=C is not specified.
    let open = "O(C(=O)C(C(C1=CC=CC=C1)C2=CC=CC=C2)=CC(=O)O)CC";
    let ligand = prepare_ligand(&engines, open, docking::DOCKSTRING_SEED).unwrap();
    assert!(ligand.stereo_chosen, "{} from {}", ligand.docked, ligand.protonated);
    assert!(ligand.docked.contains('/') || ligand.docked.contains('\\'), "{}", ligand.docked);
    // Given as E, it stays E and nothing was chosen.
    let e = "O(C(=O)/C(C(C1=CC=CC=C1)C2=CC=CC=C2)=C/C(=O)O)CC";
    let ligand = prepare_ligand(&engines, e, docking::DOCKSTRING_SEED).unwrap();
    assert!(!ligand.stereo_chosen, "{}", ligand.docked);
    // A stereocentre left open is chosen too.
    let ligand = prepare_ligand(&engines, "CC(N)C(=O)O", 7).unwrap();
    assert!(ligand.stereo_chosen && ligand.docked.contains('@'), "{}", ligand.docked);
}

#[test]
fn a_cancelled_docking_stops_vina() {
    let engines = Engines::find().unwrap();
    let ligand = prepare_ligand(&engines, "CCO", 1).unwrap();
    let cancel = AtomicBool::new(true);
    let err =
        dock(&engines, &target("DRD2").unwrap(), &ligand, Search::default(), &|_| {}, &cancel)
            .unwrap_err();
    assert!(matches!(err, docking::DockingError::Cancelled));
}

#[test]
fn bad_ligands_are_refused_with_a_reason() {
    let engines = Engines::find().unwrap();
    let err = prepare_ligand(&engines, "CC(=O)[O-].[Na+]", 1).unwrap_err().to_string();
    assert!(err.contains("fragments"), "{err}");
    assert!(prepare_ligand(&engines, "C1CC", 1).is_err());
}

/// A user's own receptor: DOCKSTRING's ADORA2A written out as plain PDB (no
/// charges, no atom types, no hydrogens on carbon), prepared again here,
/// still docks the reference ligand to DOCKSTRING's score.
#[test]
fn a_receptor_given_as_pdb_is_prepared_and_docks() {
    let engines = Engines::find().unwrap();
    let adora2a = target("ADORA2A").unwrap();
    let pdb = std::process::Command::new("obabel")
        .args(["-ipdbqt", "-opdb"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(adora2a.receptor().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    let pdb = String::from_utf8(pdb.stdout).unwrap();
    let with_water = format!(
        "{pdb}HETATM99999  O   HOH W   1    {:8.3}{:8.3}{:8.3}  1.00  0.00           O\n",
        adora2a.center[0], adora2a.center[1], adora2a.center[2]
    );
    let (center, size) = (adora2a.center, adora2a.size);
    let mine =
        docking::Target::custom(&engines, "my-a2a", &with_water, ReceptorFormat::Pdb, center, size)
            .unwrap();
    assert!(!mine.receptor().contains("HOH"), "crystal waters are dropped");
    assert!(mine.receptor().contains(" HD"), "polar hydrogens typed for Vina");
    let smiles = "S(C1=CC(F)=C(C=C1)CCCO)(=O)(=O)N";
    let ligand = prepare_ligand(&engines, smiles, docking::DOCKSTRING_SEED).unwrap();
    let never = AtomicBool::new(false);
    let search = Search { cpus: 2, ..Search::default() };
    let result = dock(&engines, &mine, &ligand, search, &|_| {}, &never).unwrap();
    eprintln!("ADORA2A from PDB: {} kcal/mol (DOCKSTRING -6.7)", result.score);
    assert_eq!(result.target, "my-a2a");
    assert!((result.score - -6.7).abs() <= 1.0, "{}", result.score);

    // A box away from every atom, or one too large, is refused up front.
    let far = [center[0] + 500.0, center[1], center[2]];
    let err = docking::Target::custom(&engines, "x", &pdb, ReceptorFormat::Pdb, far, size)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inside the box"), "{err}");
    let huge = [500.0, 20.0, 20.0];
    let err = docking::Target::custom(&engines, "x", &pdb, ReceptorFormat::Pdb, center, huge)
        .unwrap_err()
        .to_string();
    assert!(err.contains("box edge"), "{err}");
    let err = docking::Target::custom(&engines, "x", "hello", ReceptorFormat::Pdbqt, center, size)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no ATOM"), "{err}");
}
