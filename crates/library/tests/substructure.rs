//! Substructure search equals matching every registered parent with RDKit
//! (the fingerprint screen loses nothing), honours its limit, and returns
//! partial results when its time budget runs out.

use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chem::{Molecule, Query};
use library::import::{import_file, ImportOptions};
use library::substructure::{search, QueryLanguage, SearchLimits};
use library::{CompoundId, FingerprintKind, Registry};

const QUERIES: &[&str] = &[
    "c1ccccc1",
    "C(=O)N",
    "[#7;R]",
    "S(=O)(=O)N",
    "c1ccncc1",
    "[Cl,Br,I]",
    "C(F)(F)F",
    "[OX2H]",
    "c1ccc2[nH]ccc2c1",
    "[$([NX3;H2,H1;!$(NC=O)])]",
];

async fn demo_registry(dir: &Path, n: usize) -> Registry {
    let gz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/demo/moses-demo.smi.gz"),
    )
    .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
    let file = dir.join("lib.smi");
    std::fs::write(&file, text.lines().take(n).collect::<Vec<_>>().join("\n")).unwrap();
    let registry = Registry::open_dir(&dir.join("data")).await.unwrap();
    import_file(&registry, &file, &ImportOptions::default(), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    registry
}

#[tokio::test]
async fn screen_and_verify_equal_matching_everything() {
    let dir = tempfile::tempdir().unwrap();
    let registry = demo_registry(dir.path(), 600).await;
    let index = registry.fingerprint_index(FingerprintKind::Pattern).await.unwrap();
    let n = registry.counts().await.unwrap().parents;
    let ids: Vec<CompoundId> = (1..=n).map(CompoundId).collect();
    let all: Vec<(CompoundId, Molecule)> = ids
        .iter()
        .copied()
        .zip(registry.smiles_of(&ids).await.unwrap())
        .map(|(id, s)| (id, Molecule::from_smiles(&s).unwrap()))
        .collect();
    let unlimited = SearchLimits { limit: usize::MAX, timeout: Duration::from_secs(600) };
    for q in QUERIES {
        let query = Query::from_smarts(q).unwrap();
        let mut expected: Vec<CompoundId> =
            all.iter().filter(|(_, m)| m.has_substructure(&query)).map(|(id, _)| *id).collect();
        let found = search(&registry, &index, q, QueryLanguage::Smarts, unlimited).await.unwrap();
        assert!(!found.partial);
        assert!(found.candidates <= all.len());
        let mut got: Vec<CompoundId> = found.hits.iter().map(|(id, _)| *id).collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "query {q}");
    }
}

#[tokio::test]
async fn limit_budget_and_bad_queries() {
    let dir = tempfile::tempdir().unwrap();
    let registry = demo_registry(dir.path(), 200).await;
    let index = registry.fingerprint_index(FingerprintKind::Pattern).await.unwrap();
    let some = SearchLimits { limit: 5, timeout: Duration::from_secs(60) };
    let found = search(&registry, &index, "c1ccccc1", QueryLanguage::Smarts, some).await.unwrap();
    assert_eq!(found.hits.len(), 5);
    let none = SearchLimits { limit: 100, timeout: Duration::ZERO };
    let found = search(&registry, &index, "C", QueryLanguage::Smarts, none).await.unwrap();
    assert!(found.partial && found.hits.is_empty() && found.candidates > 0);
    let as_smiles =
        search(&registry, &index, "c1ccccc1", QueryLanguage::Smiles, some).await.unwrap();
    assert_eq!(as_smiles.hits.len(), 5);
    let err = search(&registry, &index, "[C;", QueryLanguage::Smarts, some).await.unwrap_err();
    assert!(err.to_string().starts_with("invalid query: invalid SMARTS"), "{err}");
}
