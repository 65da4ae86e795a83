//! The search index follows the registry: new parents are appended as a
//! delta segment without rereading the old ones, the delta folds into the
//! base when it grows, and a damaged or foreign file is rebuilt. After every
//! step the index answers exactly as one rebuilt from scratch, and the
//! structure store (appended the same way) holds every parent. Runs on
//! SQLite and PostgreSQL.

mod support;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use fpindex::{Metric, Segments};
use library::import::{import_file, ImportOptions};
use library::{CompoundId, FingerprintKind, Registry};
use support::{demo_slice, Ctx, Registries as _};
use testdb::on_both_backends;

on_both_backends!(index_follows_appends_and_rebuilds);

async fn import_lines(registry: &Registry, dir: &Path, name: &str, lines: &[&str]) {
    let file = dir.join(name);
    std::fs::write(&file, lines.join("\n")).unwrap();
    import_file(registry, &file, &ImportOptions::default(), &|_| {}, &AtomicBool::new(false))
        .await
        .unwrap();
}

/// The index answers like one rebuilt from every parent, and holds them all;
/// the structure store beside it holds every parent's molecule.
async fn assert_current(registry: &Registry, index: &Segments, dir: &Path, scratch: &Path) {
    let parents = registry.counts().await.unwrap().parents as usize;
    assert_eq!(index.len(), parents);
    let structures = registry.structures_in(dir).await.unwrap();
    assert_eq!(structures.len(), parents);
    let ids: Vec<CompoundId> = (1..=parents as i64).map(CompoundId).collect();
    for (id, smiles) in ids.iter().zip(registry.smiles_of(&ids).await.unwrap()) {
        assert_eq!(structures.molecule(*id).unwrap().canonical_smiles(), smiles);
    }
    let fresh = registry.rebuild_index(FingerprintKind::Morgan, scratch).await.unwrap();
    let queries: Vec<Vec<u64>> = (0..fresh.parts()[0].len())
        .step_by(37)
        .map(|_| vec![0u64; 32])
        .zip(0u64..)
        .map(|(mut q, i)| {
            // Sparse queries built from varied bit positions.
            for b in 0..40 {
                let bit = (i * 131 + b * 97) % 2048;
                q[(bit / 64) as usize] |= 1 << (bit % 64);
            }
            q
        })
        .collect();
    for q in &queries {
        assert_eq!(index.top_k(q, Metric::Tanimoto, 10), fresh.top_k(q, Metric::Tanimoto, 10));
        assert_eq!(
            index.threshold(q, Metric::Tanimoto, 0.1),
            fresh.threshold(q, Metric::Tanimoto, 0.1)
        );
    }
}

async fn index_follows_appends_and_rebuilds(ctx: &Ctx) {
    let registry = ctx.registry().await;
    let text = demo_slice(400);
    let lines: Vec<&str> = text.lines().collect();
    let dir = ctx.dir().join("index");
    let scratch = ctx.dir().join("scratch");
    let kind = FingerprintKind::Morgan;
    let delta = dir.join("morgan-r2-2048.delta.sfp");

    import_lines(&registry, ctx.dir(), "a.smi", &lines[..320]).await;
    let index = registry.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_eq!(index.parts().len(), 1);
    assert_current(&registry, &index, &dir, &scratch).await;

    // A small import: appended as a delta, the base file untouched.
    let base_written = std::fs::metadata(dir.join(kind.file_name())).unwrap().modified().unwrap();
    import_lines(&registry, ctx.dir(), "b.smi", &lines[320..350]).await;
    let index = registry.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_eq!(index.parts().len(), 2);
    assert!(delta.exists());
    let base_now = std::fs::metadata(dir.join(kind.file_name())).unwrap().modified().unwrap();
    assert_eq!(base_written, base_now, "an append must not rewrite the base");
    assert_current(&registry, &index, &dir, &scratch).await;
    // Reopening with nothing new reads no rows and changes nothing.
    let again = registry.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_eq!((again.parts().len(), again.len()), (2, index.len()));

    // The delta passes an eighth of the base: folded into one file.
    import_lines(&registry, ctx.dir(), "c.smi", &lines[350..]).await;
    let index = registry.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_eq!(index.parts().len(), 1);
    assert!(!delta.exists());
    assert_current(&registry, &index, &dir, &scratch).await;

    // A damaged base is rebuilt, not trusted.
    std::fs::write(dir.join(kind.file_name()), b"not an index").unwrap();
    let index = registry.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_current(&registry, &index, &dir, &scratch).await;

    // A structure store of another format version is rebuilt, and the
    // version-1 file of an older Soyaku is removed.
    let store = dir.join(library::structures::FILE_NAME);
    let mut bytes = std::fs::read(&store).unwrap();
    bytes[8] = 1;
    std::fs::write(&store, bytes).unwrap();
    let old_store = dir.join("structures-v1.sst");
    std::fs::write(&old_store, b"an RDKit pickle store").unwrap();
    assert_current(&registry, &index, &dir, &scratch).await;
    assert!(!old_store.exists());

    // The index of another registry (fewer parents than it holds) is rebuilt.
    let other = ctx.registry().await;
    import_lines(&other, ctx.dir(), "d.smi", &lines[..100]).await;
    let index = other.fingerprint_index_in(kind, &dir).await.unwrap();
    assert_current(&other, &index, &dir, &scratch).await;
}
