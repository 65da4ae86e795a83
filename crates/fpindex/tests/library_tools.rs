//! The whole-library tools (all-pairs matrix, MaxMin, Butina)
//! equal their definitions computed by brute force.

use fpindex::{Index, Metric, Segments};
use proptest::prelude::*;

mod support;

const WORDS: usize = 2;

/// Few distinct bit patterns, so that ties and duplicates are common.
fn fingerprints() -> impl Strategy<Value = Vec<Vec<u64>>> {
    let word = any::<u64>().prop_map(|w| w & (w >> 5) & 0x00ff_00ff_00ff_00ff);
    proptest::collection::vec(proptest::collection::vec(word, WORDS), 0..120)
}

/// Ids out of order and sparse, as registry ids after a filter are.
fn index_of(fps: &[Vec<u64>]) -> Index {
    Index::build(WORDS, fps.iter().cloned().enumerate().map(|(i, f)| ((i as u64 * 37) % 1009, f)))
}

fn similarity(index: &Index, a: u64, b: u64, fps: &[Vec<u64>]) -> f64 {
    let fp = |id: u64| &fps[(0..fps.len()).find(|&i| (i as u64 * 37) % 1009 == id).unwrap()];
    index.scan_trivial_but_slow(fp(a), Metric::Tanimoto).iter().find(|h| h.id == b).unwrap().score
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn matrix_equals_every_pair_scored(fps in fingerprints(), threshold in 0.0f64..1.0) {
        let index = index_of(&fps);
        let mut expected = Vec::new();
        for (i, fp) in fps.iter().enumerate() {
            let a = (i as u64 * 37) % 1009;
            for hit in index.scan_trivial_but_slow(fp, Metric::Tanimoto) {
                if a < hit.id && hit.score >= threshold {
                    expected.push((a, hit.id, hit.score));
                }
            }
        }
        expected.sort_by_key(|p| (p.0, p.1));
        let got: Vec<_> = index.similarity_matrix(threshold).iter().map(|p| (p.a, p.b, p.score)).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn maxmin_picks_the_least_similar_each_time(fps in fingerprints(), n in 0usize..15, seeded in any::<bool>()) {
        let index = index_of(&fps);
        let ids: Vec<u64> = (0..fps.len()).map(|i| (i as u64 * 37) % 1009).collect();
        let seeds: Vec<u64> = if seeded { ids.iter().take(2).copied().collect() } else { Vec::new() };
        let picks = index.maxmin(n, &seeds).unwrap();
        // Definition, by brute force: the unpicked id with the lowest highest
        // similarity to the chosen ones, ties to the smaller id.
        let mut chosen = seeds.clone();
        let mut expected = Vec::new();
        while expected.len() < n && chosen.len() < ids.len() {
            let (nearest, id) = ids
                .iter()
                .filter(|id| !chosen.contains(id))
                .map(|&id| {
                    let nearest = chosen.iter().map(|&c| similarity(&index, c, id, &fps)).fold(f64::NEG_INFINITY, f64::max);
                    (nearest, id)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .unwrap();
            expected.push((id, nearest.is_finite().then_some(nearest)));
            chosen.push(id);
        }
        let got: Vec<_> = picks.iter().map(|p| (p.id, p.nearest)).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn butina_clusters_partition_around_centroids(fps in fingerprints(), threshold in 0.2f64..1.0) {
        let index = index_of(&fps);
        let clusters = index.butina(threshold);
        let pairs = index.similarity_matrix(threshold);
        let neighbours = |id: u64| pairs.iter().filter(|p| p.a == id || p.b == id).count();
        let linked = |x: u64, y: u64| pairs.iter().any(|p| (p.a, p.b) == (x.min(y), x.max(y)));
        let mut all: Vec<u64> = clusters.iter().flat_map(|c| c.members.clone()).collect();
        all.sort_unstable();
        let mut ids: Vec<u64> = (0..fps.len()).map(|i| (i as u64 * 37) % 1009).collect();
        ids.sort_unstable();
        prop_assert_eq!(all, ids, "every id in exactly one cluster");
        for (n, c) in clusters.iter().enumerate() {
            prop_assert!(c.members.contains(&c.centroid));
            for &m in &c.members {
                prop_assert!(m == c.centroid || linked(m, c.centroid), "member {} not near centroid {}", m, c.centroid);
            }
            for earlier in &clusters[..n] {
                prop_assert!(!linked(earlier.centroid, c.centroid), "a centroid next to an earlier one would have been taken");
                prop_assert!(neighbours(earlier.centroid) >= neighbours(c.centroid));
            }
        }
    }
}

#[test]
fn maxmin_rejects_an_unknown_seed() {
    let index = Index::build(1, [(5, vec![1]), (6, vec![3])]);
    assert_eq!(index.maxmin(1, &[7]).unwrap_err().to_string(), "seed 7 is not in the index");
}

#[test]
fn matrix_tiles_span_many_blocks_and_chunks() {
    let mut next = support::xorshift(0x2545f4914f6cdd1du64);
    // 6,000 fingerprints: ~94 blocks, candidate ranges over several chunks.
    let fps: Vec<Vec<u64>> =
        (0..6_000).map(|_| vec![next() & next(), next() & next() & next()]).collect();
    let index = Index::build(WORDS, fps.iter().cloned().enumerate().map(|(i, f)| (i as u64, f)));
    let mut expected = Vec::new();
    let segments = Segments::new(vec![index]);
    for (a, hits) in segments.threshold_many(&fps, Metric::Tanimoto, 0.3).into_iter().enumerate() {
        expected.extend(
            hits.into_iter().filter(|h| (a as u64) < h.id).map(|h| (a as u64, h.id, h.score)),
        );
    }
    expected.sort_by_key(|p| (p.0, p.1));
    assert!(expected.len() > 10_000, "{} pairs", expected.len());
    let got: Vec<_> =
        segments.merged().similarity_matrix(0.3).iter().map(|p| (p.a, p.b, p.score)).collect();
    assert_eq!(got, expected);
}
