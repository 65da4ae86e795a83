//! Substructure search equals matching every registered parent with RDKit
//! (the fingerprint screen loses nothing), honours its limit, and returns
//! partial results when its time budget runs out. On SQLite and PostgreSQL.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

mod support;

use chem::{Molecule, Query};
use fpindex::Segments;
use library::import::{import_file, ImportOptions};
use library::substructure::{search, QueryLanguage, SearchLimits};
use library::{CompoundId, FingerprintKind, Registry, Structures};
use support::{demo_slice, Ctx, Registries as _};
use testdb::on_both_backends;

on_both_backends!(screen_and_verify_equal_matching_everything, limit_budget_and_bad_queries);

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
    // Primitives the atom-kind screen judges, and mixes with ones it leaves
    // to verification.
    "[r5;#7]",
    "[C;R2]",
    "[x3;c]",
    "[#6;X4;H2][#7;!R]",
    "[N+](=O)[O-]",
    "[^2;C]=[O]",
    "[z2;c]",
    "[C;!$(C=O)]O",
    "*~*~*~[#9,#17]",
    // One atom: the kinds settle the match (unless it names stereo).
    "c",
    "[N+]",
    "[C@@H]",
];

/// SMILES queries, matched as molecules.
const SMILES_QUERIES: &[&str] = &["c1ccccc1O", "C(=O)N", "c1ccncc1", "CC(C)C", "N", "[O-]"];

async fn demo_registry(ctx: &Ctx, n: usize) -> (Registry, Segments, Structures) {
    let file = ctx.dir().join("lib.smi");
    std::fs::write(&file, demo_slice(n)).unwrap();
    let registry = ctx.registry().await;
    import_file(&registry, &file, &ImportOptions::default(), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
    let index = registry
        .fingerprint_index_in(FingerprintKind::Pattern, &ctx.dir().join("index"))
        .await
        .unwrap();
    let structures = registry.structures_in(&ctx.dir().join("index")).await.unwrap();
    (registry, index, structures)
}

async fn screen_and_verify_equal_matching_everything(ctx: &Ctx) {
    let (registry, index, structures) = demo_registry(ctx, 600).await;
    let n = registry.counts().await.unwrap().parents;
    let ids: Vec<CompoundId> = (1..=n).map(CompoundId).collect();
    let all: Vec<(CompoundId, Molecule)> = ids
        .iter()
        .copied()
        .zip(registry.smiles_of(&ids).await.unwrap())
        .map(|(id, s)| (id, Molecule::from_smiles(&s).unwrap()))
        .collect();
    let unlimited = SearchLimits { limit: usize::MAX, timeout: Duration::from_secs(600) };
    assert!(structures.kinds().is_some_and(|k| k.kinds() > 20), "the registry derives atom kinds");
    let mut screened_out = 0;
    for q in QUERIES {
        let query = Query::from_smarts(q).unwrap();
        let mut expected: Vec<CompoundId> =
            all.iter().filter(|(_, m)| m.has_substructure(&query)).map(|(id, _)| *id).collect();
        let mut streamed = Vec::new();
        let found = search(&index, &structures, q, QueryLanguage::Smarts, unlimited, |id| {
            streamed.push(id)
        })
        .unwrap();
        assert!(!found.partial);
        assert!(found.candidates <= all.len());
        let mut got: Vec<CompoundId> = found.hits.clone();
        assert_eq!(streamed, got, "every hit streamed, in result order");
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "query {q}");
        let pattern_only = index.supersets(query.pattern_fingerprint().words()).len();
        assert!(found.candidates <= pattern_only);
        screened_out += pattern_only - found.candidates;
    }
    assert!(screened_out > 0, "the atom-kind screen never took out a candidate");
    let kinds = structures.kinds().unwrap();
    for (q, decides) in [
        ("c", true),
        ("[Cl,Br,I]", true),
        ("[r5;#7]", true),
        ("cc", false),
        ("[$([NX3;H2,H1;!$(NC=O)])]", false),
        ("[C@@H]", false),
    ] {
        let screen = kinds.screen(&Query::from_smarts(q).unwrap(), &structures).unwrap();
        assert_eq!(screen.decides(), decides, "whether the kinds settle {q}");
    }
    for q in SMILES_QUERIES {
        let query = Query::from_molecule(Molecule::from_smiles(q).unwrap());
        let mut expected: Vec<CompoundId> =
            all.iter().filter(|(_, m)| m.has_substructure(&query)).map(|(id, _)| *id).collect();
        let found =
            search(&index, &structures, q, QueryLanguage::Smiles, unlimited, |_| {}).unwrap();
        let mut got = found.hits;
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "SMILES query {q}");
    }
}

async fn limit_budget_and_bad_queries(ctx: &Ctx) {
    let (_registry, index, structures) = demo_registry(ctx, 200).await;
    let some = SearchLimits { limit: 5, timeout: Duration::from_secs(60) };
    let found =
        search(&index, &structures, "c1ccccc1", QueryLanguage::Smarts, some, |_| {}).unwrap();
    assert_eq!(found.hits.len(), 5);
    let none = SearchLimits { limit: 100, timeout: Duration::ZERO };
    let found = search(&index, &structures, "C", QueryLanguage::Smarts, none, |_| {}).unwrap();
    assert!(found.partial && found.hits.is_empty() && found.candidates > 0);
    let as_smiles =
        search(&index, &structures, "c1ccccc1", QueryLanguage::Smiles, some, |_| {}).unwrap();
    assert_eq!(as_smiles.hits.len(), 5);
    let err = search(&index, &structures, "[C;", QueryLanguage::Smarts, some, |_| {}).unwrap_err();
    assert!(err.to_string().starts_with("invalid query: invalid SMARTS"), "{err}");
}
