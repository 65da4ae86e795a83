//! Several indexes searched as one. An index grows by adding a segment for
//! the new fingerprints instead of rewriting the whole file; segments are
//! merged when the caller chooses.

use crate::{rank, Hit, Index, Metric};

/// Indexes of equally long fingerprints, searched together; results are
/// those of one index holding every fingerprint.
#[derive(Debug)]
pub struct Segments {
    parts: Vec<Index>,
}

impl Segments {
    /// Searches `parts` as one.
    ///
    /// # Panics
    /// If the parts hold fingerprints of different lengths.
    pub fn new(parts: Vec<Index>) -> Segments {
        if let Some(first) = parts.first() {
            assert!(parts.iter().all(|p| p.words() == first.words()), "segments differ in length");
        }
        Segments { parts }
    }

    /// The segments, oldest first.
    pub fn parts(&self) -> &[Index] {
        &self.parts
    }

    /// The segments, to be reused elsewhere.
    pub fn into_parts(self) -> Vec<Index> {
        self.parts
    }

    /// Runs `work` on the segments as one index: the only segment itself,
    /// or a merged copy in memory.
    pub fn with_one<T>(&self, work: impl FnOnce(&Index) -> T) -> T {
        match self.parts.as_slice() {
            [one] => work(one),
            _ => work(&self.merged()),
        }
    }

    /// Number of fingerprints in all segments.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Index::len).sum()
    }

    /// Whether there is nothing to search.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of all segments' arrays.
    pub fn memory_bytes(&self) -> usize {
        self.parts.iter().map(Index::memory_bytes).sum()
    }

    /// The largest id held, if any.
    pub fn max_id(&self) -> Option<u64> {
        self.parts.iter().filter_map(|p| p.ids().iter().max()).max().copied()
    }

    /// One index holding every segment's fingerprints, in memory.
    pub fn merged(&self) -> Index {
        let words = self.parts.first().map_or(1, Index::words);
        let ids = self.parts.iter().flat_map(|p| p.ids().iter().copied()).collect();
        let flat = self.parts.iter().flat_map(|p| p.fingerprints().iter().copied()).collect();
        Index::from_flat(words, ids, flat)
    }

    /// [`Index::threshold`] over every segment.
    pub fn threshold(&self, query: &[u64], metric: Metric, threshold: f64) -> Vec<Hit> {
        self.merge(|p| p.threshold_unsorted(query, metric, threshold, true), usize::MAX)
    }

    /// How many fingerprints a [`Segments::threshold`] search reads: those
    /// whose popcount bound reaches the threshold.
    pub fn candidates(&self, query: &[u64], metric: Metric, threshold: f64) -> usize {
        self.parts.iter().map(|p| p.candidates(query, metric, threshold)).sum()
    }

    /// [`Index::top_k`] over every segment.
    pub fn top_k(&self, query: &[u64], metric: Metric, k: usize) -> Vec<Hit> {
        self.merge(|p| p.top_k(query, metric, k), k)
    }

    /// [`Segments::threshold`] for many queries (the N×M nearest-neighbour
    /// search), the queries shared among the threads, one thread per query.
    pub fn threshold_many(
        &self,
        queries: &[Vec<u64>],
        metric: Metric,
        threshold: f64,
    ) -> Vec<Vec<Hit>> {
        parallel::map(queries, parallel::cores(), |query| {
            self.merge(|p| p.threshold_unsorted(query, metric, threshold, false), usize::MAX)
        })
    }

    /// [`Segments::top_k`] for many queries, shared among the threads.
    pub fn top_k_many(&self, queries: &[Vec<u64>], metric: Metric, k: usize) -> Vec<Vec<Hit>> {
        parallel::map(queries, parallel::cores(), |query| {
            self.merge(|p| p.top_k_on(query, metric, k, false), k)
        })
    }

    /// [`Index::supersets`] over every segment, in one popcount order
    /// (fewest bits first; within a popcount, older segments first).
    pub fn supersets(&self, query: &[u64]) -> Vec<u64> {
        let mut hits: Vec<(u32, u64)> =
            self.parts.iter().flat_map(|p| p.supersets_counted(query)).collect();
        if self.parts.len() > 1 {
            hits.sort_by_key(|(c, _)| *c);
        }
        hits.into_iter().map(|(_, id)| id).collect()
    }

    fn merge(&self, search: impl Fn(&Index) -> Vec<Hit>, k: usize) -> Vec<Hit> {
        let mut hits: Vec<Hit> = self.parts.iter().flat_map(search).collect();
        hits.sort_by(rank);
        hits.truncate(k);
        hits
    }
}
