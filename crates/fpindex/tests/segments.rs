//! An index split into segments answers every search as one index holding
//! all the fingerprints (itself checked against brute force).

use fpindex::{Index, Metric, Segments};
use proptest::prelude::*;

const WORDS: usize = 2;

fn fingerprints() -> impl Strategy<Value = Vec<Vec<u64>>> {
    let word = any::<u64>().prop_map(|w| w & (w >> 3) & 0x0f0f_0f0f_0f0f_0f0f);
    proptest::collection::vec(proptest::collection::vec(word, WORDS), 0..150)
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![
        Just(Metric::Tanimoto),
        (0.0f64..2.0, 0.0f64..2.0).prop_map(|(alpha, beta)| Metric::Tversky { alpha, beta }),
    ]
}

fn popcount(fp: &[u64]) -> u32 {
    fp.iter().map(|w| w.count_ones()).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn segments_search_as_one_index(
        fps in fingerprints(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        metric in metric(),
        threshold in 0.0f64..1.0,
        k in 0usize..10,
    ) {
        let items: Vec<(u64, Vec<u64>)> = fps.iter().cloned().enumerate().map(|(i, f)| (i as u64, f)).collect();
        let whole = Index::build(WORDS, items.clone());
        // Cut the items, in id order as the registry appends them, into segments.
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c.index(items.len() + 1)).collect();
        bounds.extend([0, items.len()]);
        bounds.sort_unstable();
        let parts = bounds.windows(2).map(|w| Index::build(WORDS, items[w[0]..w[1]].to_vec())).collect();
        let segments = Segments::new(parts);
        prop_assert_eq!(segments.len(), whole.len());
        prop_assert_eq!(segments.max_id(), items.last().map(|(id, _)| *id));

        let queries: Vec<Vec<u64>> = fps.iter().take(12).cloned().chain([vec![0x0101; WORDS]]).collect();
        let expected: Vec<_> = queries.iter().map(|q| whole.threshold(q, metric, threshold)).collect();
        prop_assert_eq!(segments.threshold_many(&queries, metric, threshold), expected.clone());
        let single: Vec<_> = queries.iter().map(|q| segments.threshold(q, metric, threshold)).collect();
        prop_assert_eq!(single, expected);
        let expected: Vec<_> = queries.iter().map(|q| whole.top_k(q, metric, k)).collect();
        prop_assert_eq!(segments.top_k_many(&queries, metric, k), expected);

        let merged = segments.merged();
        for query in &queries {
            prop_assert_eq!(merged.threshold(query, metric, threshold), whole.threshold(query, metric, threshold));
            // Supersets: the same ids, fewest bits first.
            let found = segments.supersets(query);
            let mut sorted = found.clone();
            sorted.sort_unstable();
            let mut expected = whole.supersets(query);
            expected.sort_unstable();
            prop_assert_eq!(sorted, expected);
            let counts: Vec<u32> = found.iter().map(|&id| popcount(&fps[id as usize])).collect();
            prop_assert!(counts.windows(2).all(|w| w[0] <= w[1]), "not in popcount order: {:?}", counts);
        }
    }
}
