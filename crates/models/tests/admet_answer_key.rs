//! ADMET-AI's own answer key: the predictions ADMET-AI 2.0.1 ships for 2,845
//! approved drugs (`drugbank_approved.csv`). Soyaku's native Chemprop must
//! reproduce every endpoint of every molecule within float32 noise, salts and
//! inorganics included, except the ten platinum, mercury and thallium
//! compounds (seven of which differ): RDKit 2022.09 (which Soyaku links) perceives those metals' and
//! their dative ligands' hybridisation differently from RDKit 2025.09 (which
//! made the key), so the networks are fed different features.

use models::admet::{AdmetModel, DRUGBANK};

/// Platinum, mercury, thallium.
const PERCEIVED_DIFFERENTLY: &[u32] = &[78, 80, 81];

fn comparable(molecule: &chem::Molecule) -> bool {
    molecule.atoms().iter().all(|a| !PERCEIVED_DIFFERENTLY.contains(&a.atomic_num))
}

#[test]
fn reproduces_admet_ai_predictions_for_approved_drugs() {
    let model = AdmetModel::bundled().unwrap();
    let mut reader = csv::Reader::from_reader(DRUGBANK.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (mut molecules, mut expected, mut skipped) = (Vec::new(), Vec::new(), 0);
    for record in reader.records() {
        let record = record.unwrap();
        let Ok(molecule) = chem::Molecule::from_smiles(&record[column("smiles")]) else {
            skipped += 1;
            continue;
        };
        if !comparable(&molecule) {
            skipped += 1;
            continue;
        }
        expected.push(record);
        molecules.push(molecule);
    }
    assert_eq!((molecules.len(), skipped), (2_835, 10), "every molecule parses; ten are set aside");

    let predictions = model.admet(&molecules);
    let mut worst = (0f64, String::new());
    let mut compared = 0usize;
    for ((profile, record), molecule) in predictions.iter().zip(&expected).zip(&molecules) {
        for v in &profile.values {
            let reference: f64 = record[column(&v.endpoint)].parse().unwrap();
            // Probabilities compare absolutely; regression values relative to
            // their size (float32 keeps about seven significant digits).
            let diff = (v.value - reference).abs() / reference.abs().max(1.0);
            compared += 1;
            if diff > worst.0 {
                worst = (
                    diff,
                    format!(
                        "{} of {}: ours {} ADMET-AI {reference}",
                        v.endpoint,
                        molecule.canonical_smiles(),
                        v.value
                    ),
                );
            }
        }
    }
    eprintln!(
        "{compared} predictions of {} molecules ({skipped} set aside); largest difference {:.2e}: {}",
        molecules.len(),
        worst.0,
        worst.1
    );
    assert!(worst.0 < 1e-4, "largest difference {:.2e}: {}", worst.0, worst.1);
}

#[test]
fn percentiles_of_the_reference_drugs_span_the_range() {
    let model = AdmetModel::bundled().unwrap();
    let aspirin = chem::Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O").unwrap();
    // Tin (element 50) has no slot of its own in Chemprop's atom features.
    let tetramethyltin = chem::Molecule::from_smiles("C[Sn](C)(C)C").unwrap();
    let profiles = model.admet(&[aspirin.clone(), tetramethyltin]);
    assert_eq!(profiles.iter().map(|p| p.in_domain).collect::<Vec<_>>(), [true, false]);
    let profile = model.admet(std::slice::from_ref(&aspirin)).remove(0);
    assert_eq!(profile, profiles[0]);
    let values = profile.values;
    assert_eq!(values.len(), 41);
    for v in &values {
        assert!((0.0..=100.0).contains(&v.drugbank_percentile), "{v:?}");
        assert!(v.spread >= 0.0 && v.spread.is_finite(), "{v:?}");
    }
    let keys: Vec<&str> = values.iter().map(|v| v.endpoint.as_str()).collect();
    for key in ["AMES", "hERG", "Caco2_Wang", "Solubility_AqSolDB", "LD50_Zhu"] {
        assert!(keys.contains(&key), "{key} missing");
    }
}
