//! Every search equals a brute-force scan sorted the same way, for random
//! fingerprints of varied density, random queries, thresholds, k and metrics.

use fpindex::{Index, Metric};
use proptest::prelude::*;

mod support;

fn fingerprint(words: usize) -> impl Strategy<Value = Vec<u64>> {
    // Sparse, medium and dense fingerprints, like real ones of different size.
    prop_oneof![
        proptest::collection::vec(any::<u64>().prop_map(|w| w & (w >> 7) & (w >> 13)), words),
        proptest::collection::vec(any::<u64>().prop_map(|w| w & (w >> 3)), words),
        proptest::collection::vec(any::<u64>(), words),
    ]
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![
        Just(Metric::Tanimoto),
        (0.0f64..2.0, 0.0f64..2.0).prop_map(|(alpha, beta)| Metric::Tversky { alpha, beta }),
    ]
}

const WORDS: usize = 4;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn threshold_equals_brute_force(
        fps in proptest::collection::vec(fingerprint(WORDS), 0..300),
        query in fingerprint(WORDS),
        metric in metric(),
        threshold in 0.0f64..1.0,
    ) {
        let index = Index::build(WORDS, fps.into_iter().enumerate().map(|(i, f)| (i as u64 * 7 % 1000, f)));
        let expected: Vec<_> = index
            .scan_trivial_but_slow(&query, metric)
            .into_iter()
            .filter(|h| h.score >= threshold)
            .collect();
        prop_assert!(index.candidates(&query, metric, threshold) >= expected.len());
        prop_assert_eq!(index.threshold(&query, metric, threshold), expected);
    }

    #[test]
    fn top_k_equals_brute_force(
        fps in proptest::collection::vec(fingerprint(WORDS), 0..300),
        pick in any::<prop::sample::Index>(),
        random_query in fingerprint(WORDS),
        metric in metric(),
        k in 0usize..25,
    ) {
        // Half the queries are library members, as in real use (exact hits, ties).
        let query = if fps.is_empty() || pick.index(2) == 0 { random_query } else { fps[pick.index(fps.len())].clone() };
        let index = Index::build(WORDS, fps.into_iter().enumerate().map(|(i, f)| (i as u64, f)));
        let mut expected = index.scan_trivial_but_slow(&query, metric);
        expected.truncate(k);
        prop_assert_eq!(index.top_k(&query, metric, k), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn supersets_equal_brute_force(
        fps in proptest::collection::vec(fingerprint(WORDS), 0..300),
        pick in any::<prop::sample::Index>(),
        drop_bits in any::<u64>(),
    ) {
        let index = Index::build(WORDS, fps.iter().cloned().enumerate().map(|(i, f)| (i as u64, f)));
        // Queries are subsets of a member (as substructures are) or random.
        let query: Vec<u64> = if fps.is_empty() {
            vec![drop_bits; WORDS]
        } else {
            fps[pick.index(fps.len())].iter().map(|w| w & drop_bits).collect()
        };
        prop_assert_eq!(index.supersets(&query), index.supersets_trivial_but_slow(&query));
    }
}

#[test]
fn large_threshold_search_splits_across_threads_and_stays_exact() {
    let mut next = support::xorshift(0x9e3779b97f4a7c15u64);
    let fps: Vec<(u64, Vec<u64>)> =
        (0..40_000).map(|i| (i, (0..WORDS).map(|_| next() & next()).collect())).collect();
    let query = fps[123].1.clone();
    let index = Index::build(WORDS, fps);
    let expected: Vec<_> = index
        .scan_trivial_but_slow(&query, Metric::Tanimoto)
        .into_iter()
        .filter(|h| h.score >= 0.2)
        .collect();
    assert!(expected.len() > 100);
    assert_eq!(index.threshold(&query, Metric::Tanimoto, 0.2), expected);
}

/// Past a few thousand fingerprints top-k turns into a threshold search at
/// the k-th score of its first buckets; on a large index every k, metric
/// and kind of query still gives exactly the brute-force best k.
#[test]
fn large_top_k_through_a_threshold_floor_stays_exact() {
    let mut next = support::xorshift(0x2545f4914f6cdd1du64);
    let fps: Vec<(u64, Vec<u64>)> =
        (0..40_000).map(|i| (i, (0..WORDS).map(|_| next() & next()).collect())).collect();
    let queries = [fps[7].1.clone(), fps[31_000].1.clone(), (0..WORDS).map(|_| next()).collect()];
    let index = Index::build(WORDS, fps);
    let metrics = [Metric::Tanimoto, Metric::Tversky { alpha: 0.9, beta: 0.1 }];
    for (query, metric) in queries.iter().flat_map(|q| metrics.map(|m| (q, m))) {
        let all = index.scan_trivial_but_slow(query, metric);
        for k in [1, 10, 1000, 20_000] {
            assert_eq!(index.top_k(query, metric, k), all[..k], "k = {k}, {metric:?}");
        }
    }
}

/// Large k searches start from a floor guessed on a sample of the index;
/// when the sample misleads (here every sampled run is a copy of the query
/// and nothing else is like it), the guess finds fewer than k and the
/// search must start again without it.
#[test]
fn large_top_k_recovers_from_a_misleading_sample() {
    let query: Vec<u64> = (0..WORDS).map(|w| if w == 0 { 0xfffff } else { 0 }).collect();
    // One popcount for all, so positions follow ids; runs of 64 positions,
    // every 32nd run sampled, as `guess_floor` reads them.
    let fps: Vec<(u64, Vec<u64>)> = (0..40_000u64)
        .map(|id| {
            let sampled = (id / 64) % 32 == 0;
            let fp = if sampled {
                query.clone()
            } else {
                (0..WORDS).map(|w| if w == 1 { 0xfffff << (id % 44) } else { 0 }).collect()
            };
            (id, fp)
        })
        .collect();
    let index = Index::build(WORDS, fps);
    let all = index.scan_trivial_but_slow(&query, Metric::Tanimoto);
    for k in [100, 1000, 2000, 5000] {
        assert_eq!(index.top_k(&query, Metric::Tanimoto, k), all[..k], "k = {k}");
    }
}
