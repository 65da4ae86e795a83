//! The index file: mapped and in-memory indexes answer identically, damage
//! is detected, and the committed file of every format version still opens
//! and answers as it did when it was written.

use std::path::{Path, PathBuf};

use fpindex::{Index, IndexError, Metric};

const WORDS: usize = 4;

/// Deterministic fingerprints of mixed density (xorshift), ids not in order.
fn sample(n: usize) -> Vec<(u64, Vec<u64>)> {
    let mut state = 0x2545f4914f6cdd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|i| {
            let dense = i % 3 == 0;
            let fp =
                (0..WORDS).map(|_| if dense { next() } else { next() & next() & next() }).collect();
            ((i as u64 * 7919) % 100_003, fp)
        })
        .collect()
}

fn golden(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/format-v{version}.sfp"))
}

fn assert_same_answers(a: &Index, b: &Index, queries: &[Vec<u64>]) {
    for q in queries {
        for metric in [Metric::Tanimoto, Metric::Tversky { alpha: 0.7, beta: 0.3 }] {
            assert_eq!(a.threshold(q, metric, 0.35), b.threshold(q, metric, 0.35));
            assert_eq!(a.top_k(q, metric, 7), b.top_k(q, metric, 7));
        }
    }
}

#[test]
fn mapped_index_answers_like_the_one_it_was_written_from() {
    let items = sample(3000);
    let queries: Vec<Vec<u64>> = items.iter().step_by(301).map(|(_, f)| f.clone()).collect();
    let built = Index::build(WORDS, items);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("morgan.sfp");
    built.write(&path).unwrap();
    let mapped = Index::open(&path).unwrap();
    assert_eq!(mapped.len(), 3000);
    assert_eq!(mapped.memory_bytes(), built.memory_bytes());
    assert_same_answers(&built, &mapped, &queries);
    assert!(!dir.path().join("morgan.tmp").exists());

    let empty = Index::build(WORDS, Vec::new());
    empty.write(&path).unwrap();
    assert!(Index::open(&path).unwrap().is_empty());
}

#[test]
fn damage_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sfp");
    Index::build(WORDS, sample(500)).write(&path).unwrap();
    let good = std::fs::read(&path).unwrap();

    let check = |bytes: &[u8], expect: &str| {
        std::fs::write(&path, bytes).unwrap();
        let err = Index::open(&path).unwrap_err();
        assert!(err.to_string().contains(expect), "{err}");
    };
    let mut flipped = good.clone();
    flipped[good.len() - 100] ^= 1;
    check(&flipped, "checksum");
    check(&good[..good.len() - 1], "cut short");
    let mut foreign = good.clone();
    foreign[0] = b'X';
    check(&foreign, "not a file of this kind");
    // A whole file, as a later Soyaku would write it.
    let mut newer = checkfile::Writer::create(&path, fpindex::MAGIC, 99).unwrap();
    newer.put(&good[checkfile::PREAMBLE..good.len() - checkfile::FOOTER]).unwrap();
    newer.finish().unwrap();
    assert!(matches!(Index::open(&path), Err(IndexError::NewerVersion { found: 99, .. })));
}

#[test]
fn committed_files_of_every_version_still_open() {
    let items = sample(1000);
    let queries: Vec<Vec<u64>> = items.iter().step_by(97).map(|(_, f)| f.clone()).collect();
    let built = Index::build(WORDS, items);
    if std::env::var_os("SOYAKU_BLESS").is_some() {
        built.write(&golden(fpindex::FORMAT_VERSION)).unwrap();
    }
    for version in 1..=fpindex::FORMAT_VERSION {
        let old = Index::open(&golden(version))
            .unwrap_or_else(|e| panic!("format v{version} file no longer opens: {e}"));
        assert_same_answers(&built, &old, &queries);
    }
    // Writing today's format reproduces today's committed file byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("now.sfp");
    built.write(&fresh).unwrap();
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        std::fs::read(golden(fpindex::FORMAT_VERSION)).unwrap(),
        "the v{} format changed: bump FORMAT_VERSION and commit a new golden file",
        fpindex::FORMAT_VERSION
    );
}
