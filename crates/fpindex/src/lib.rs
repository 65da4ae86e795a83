//! Exact similarity search over bit fingerprints.
//!
//! Fingerprints are stored contiguously and sorted by popcount, with the
//! start of each popcount bucket recorded. A similarity of two fingerprints
//! with popcounts `q` and `c` can never exceed a bound that depends on `q`
//! and `c` alone (Swamidass and Baldi's bound for Tanimoto, and its analogue
//! for Tversky), so a search reads only the buckets whose bound reaches the
//! threshold, or, for top-k, the buckets in order of falling bound until the
//! bound drops below the k-th best score found.
//!
//! Results are exact and ordered by score (highest first), then by id: the
//! same list a brute-force scan sorted the same way gives, which the property
//! tests check for every search kind.
//!
//! The crate knows nothing of chemistry, databases or HTTP: fingerprints are
//! `u64` words, ids are `u64`.

#![warn(missing_docs)]

mod arena;
mod diversity;
pub mod kernel;
mod pairs;
mod segments;

use arena::Storage;
pub use arena::{IndexError, FORMAT_VERSION, MAGIC};
pub use diversity::{Pick, UnknownSeed};
pub use pairs::{Cluster, Pair};
pub use segments::Segments;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

/// How similarity is scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// `a / (q + c - a)`, with `a` the common bits; 0 when both are empty.
    Tanimoto,
    /// `a / (a + α(q - a) + β(c - a))`; α weights bits only in the query,
    /// β bits only in the candidate. α = β = 1 is Tanimoto.
    Tversky {
        /// Weight of query-only bits.
        alpha: f64,
        /// Weight of candidate-only bits.
        beta: f64,
    },
}

impl Metric {
    /// The score for `common` shared bits between a query with `q` bits and
    /// a candidate with `c` bits.
    pub fn score(self, common: u32, q: u32, c: u32) -> f64 {
        let a = f64::from(common);
        let denominator = match self {
            Metric::Tanimoto => f64::from(q + c - common),
            Metric::Tversky { alpha, beta } => {
                a + alpha * f64::from(q - common) + beta * f64::from(c - common)
            }
        };
        if denominator == 0.0 {
            0.0
        } else {
            a / denominator
        }
    }

    /// The fewest common bits with which a candidate of `c` bits scores at
    /// least `threshold` against a query of `q` bits, if any does. The score
    /// never falls as common bits rise (the denominator grows by at most
    /// what the numerator does), so a binary search over the exact score
    /// finds it, and comparing common bits with it loses no hit.
    fn min_common(self, q: u32, c: u32, threshold: f64) -> Option<u32> {
        let (mut lo, mut hi) = (0, q.min(c) + 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.score(mid, q, c) >= threshold {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        (lo <= q.min(c)).then_some(lo)
    }

    /// The highest score any candidate with `c` bits can reach: the score
    /// when every bit of the smaller fingerprint is shared.
    fn bound(self, q: u32, c: u32) -> f64 {
        self.score(q.min(c), q, c)
    }
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The id the fingerprint was added with.
    pub id: u64,
    /// Its similarity to the query.
    pub score: f64,
}

/// Best first: higher score, then smaller id.
fn rank(a: &Hit, b: &Hit) -> Ordering {
    b.score.total_cmp(&a.score).then(a.id.cmp(&b.id))
}

/// Heap entry ordered so that the heap's top is the worst of the best k.
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        rank(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        rank(&self.0, &other.0)
    }
}

/// Positions a top-k walk scans between raisings of its floor: small
/// enough that the floor rises often, large enough to keep the scan's loop
/// long.
const WALK_CHUNK: usize = 2048;

/// Positions apart in the sample that guesses a top-k floor for large k.
const SAMPLE_STRIDE: usize = 32;

/// The highest k-th score any top-k thread has found, shared between them;
/// none until one has found k.
#[derive(Default)]
struct Floor(AtomicU64);

impl Floor {
    /// Stored as the score's bits plus one, so that 0 means none yet: the
    /// bits of non-negative floats order as the floats do.
    fn get(&self) -> Option<f64> {
        let bits = self.0.load(AtomicOrdering::Relaxed);
        (bits != 0).then(|| f64::from_bits(bits - 1))
    }

    fn raise(&self, score: f64) {
        self.0.fetch_max(score.to_bits() + 1, AtomicOrdering::Relaxed);
    }
}

/// Runs `scan` over `range`, split across all threads when the range is
/// large enough to repay starting them; results keep the range's order.
fn in_parallel<T: Send>(
    range: Range<usize>,
    scan: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let threads = parallel::cores();
    if threads == 1 || range.len() < 16_384 {
        return scan(range);
    }
    let step = range.len().div_ceil(threads);
    let scan = &scan;
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let start = range.start + t * step;
                let end = (start + step).min(range.end);
                s.spawn(move || scan(start..end))
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("scan thread")).collect()
    })
}

/// An index of equally long fingerprints, in memory or memory-mapped from
/// a file written by [`Index::write`].
#[derive(Debug)]
pub struct Index {
    words: usize,
    storage: Storage,
    /// The byte masks of every position, tiled by [`kernel::tile_blocks`]:
    /// derived when the index is built or opened (not stored in the file),
    /// they let a scan pass over most candidates without reading them.
    blocks: Vec<u8>,
}

impl Index {
    /// Builds an index of fingerprints `words` 64-bit words long.
    ///
    /// # Panics
    /// If a fingerprint has a different length.
    pub fn build(words: usize, items: impl IntoIterator<Item = (u64, Vec<u64>)>) -> Index {
        let mut ids = Vec::new();
        let mut flat = Vec::new();
        for (id, fp) in items {
            assert_eq!(fp.len(), words, "fingerprint of id {id} has the wrong length");
            ids.push(id);
            flat.extend_from_slice(&fp);
        }
        Index::from_flat(words, ids, flat)
    }

    /// Builds an index from ids and their fingerprints laid end to end
    /// (`fingerprints.len() == ids.len() * words`), without a per-item
    /// allocation: the arrays are reordered by popcount in one pass.
    ///
    /// # Panics
    /// If the lengths do not match.
    pub fn from_flat(words: usize, ids: Vec<u64>, fingerprints: Vec<u64>) -> Index {
        assert!(words > 0, "fingerprints need at least one word");
        assert_eq!(fingerprints.len(), ids.len() * words, "fingerprint array length");
        let count = |i: usize| -> u32 {
            fingerprints[i * words..(i + 1) * words].iter().map(|w| w.count_ones()).sum()
        };
        let mut order: Vec<(u32, u64, u32)> =
            (0..ids.len()).map(|i| (count(i), ids[i], i as u32)).collect();
        order.sort_unstable();
        // `buckets[c]..buckets[c + 1]` are the positions with popcount `c`.
        let mut buckets = vec![0u64; words * 64 + 2];
        for (c, _, _) in &order {
            buckets[*c as usize + 1] += 1;
        }
        for c in 1..buckets.len() {
            buckets[c] += buckets[c - 1];
        }
        let mut sorted = Vec::with_capacity(fingerprints.len());
        for (_, _, i) in &order {
            let i = *i as usize;
            sorted.extend_from_slice(&fingerprints[i * words..(i + 1) * words]);
        }
        drop(fingerprints);
        let ids = order.iter().map(|(_, id, _)| *id).collect();
        Index::with_blocks(words, Storage::Owned { ids, fingerprints: sorted, buckets })
    }

    /// An index over `storage` with its byte masks derived.
    pub(crate) fn with_blocks(words: usize, storage: Storage) -> Index {
        let fingerprints = storage.fingerprints();
        let tiles = (fingerprints.len() / words).div_ceil(kernel::TILE);
        let blocks = in_parallel(0..tiles, |tiles| kernel::tile_blocks(words, fingerprints, tiles));
        Index { words, storage, blocks }
    }

    /// Number of fingerprints.
    pub fn len(&self) -> usize {
        self.ids().len()
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.ids().is_empty()
    }

    /// Fingerprint length in 64-bit words.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Bytes of fingerprints, ids, buckets (in memory or mapped) and byte
    /// masks.
    pub fn memory_bytes(&self) -> usize {
        8 * (self.fingerprints().len() + self.ids().len() + self.buckets().len())
            + self.blocks.len()
    }

    pub(crate) fn ids(&self) -> &[u64] {
        self.storage.ids()
    }

    pub(crate) fn fingerprints(&self) -> &[u64] {
        self.storage.fingerprints()
    }

    /// What the scan reads: the fingerprints and their byte masks.
    fn arena(&self) -> kernel::Arena<'_> {
        kernel::Arena { fingerprints: self.fingerprints(), tiles: &self.blocks }
    }

    fn buckets(&self) -> &[u64] {
        self.storage.buckets()
    }

    /// Positions holding fingerprints with popcount `c`.
    fn bucket(&self, c: usize) -> Range<usize> {
        self.buckets()[c] as usize..self.buckets()[c + 1] as usize
    }

    fn fingerprint(&self, position: usize) -> &[u64] {
        &self.fingerprints()[position * self.words..(position + 1) * self.words]
    }

    /// The popcount of every position, read off the bucket table.
    fn popcounts(&self) -> Vec<u32> {
        (0..self.buckets().len() - 1)
            .flat_map(|c| std::iter::repeat_n(c as u32, self.bucket(c).len()))
            .collect()
    }

    /// The popcount buckets that overlap `range`, each cut to it, as
    /// (popcount, positions): a scan over them knows every candidate's
    /// popcount without counting it.
    fn buckets_in(&self, range: Range<usize>) -> impl Iterator<Item = (u32, Range<usize>)> + '_ {
        let first =
            self.buckets().partition_point(|&b| b as usize <= range.start).saturating_sub(1);
        (first..self.buckets().len() - 1)
            .map(|c| (c, self.bucket(c)))
            .take_while(move |(_, bucket)| bucket.start < range.end)
            .map(move |(c, bucket)| {
                (c as u32, bucket.start.max(range.start)..bucket.end.min(range.end))
            })
            .filter(|(_, positions)| !positions.is_empty())
    }

    fn check_query(&self, query: &[u64]) -> u32 {
        assert_eq!(query.len(), self.words, "query fingerprint has the wrong length");
        query.iter().map(|w| w.count_ones()).sum()
    }

    /// Every fingerprint scoring at least `threshold`, best first. Both cores
    /// (all threads) share the scan when the candidate range is large.
    pub fn threshold(&self, query: &[u64], metric: Metric, threshold: f64) -> Vec<Hit> {
        let mut hits = self.threshold_unsorted(query, metric, threshold, true);
        hits.sort_by(rank);
        hits
    }

    /// How many fingerprints [`Index::threshold`] reads for this query: those
    /// whose popcount bound reaches the threshold.
    pub fn candidates(&self, query: &[u64], metric: Metric, threshold: f64) -> usize {
        let q = self.check_query(query);
        self.reachable(q, metric, threshold).map_or(0, |range| range.len())
    }

    /// The hits of [`Index::threshold`] in scan order, found on all threads
    /// or, for callers that spread many queries over the threads themselves,
    /// on the calling thread alone.
    fn threshold_unsorted(
        &self,
        query: &[u64],
        metric: Metric,
        threshold: f64,
        all_threads: bool,
    ) -> Vec<Hit> {
        let q = self.check_query(query);
        let Some(range) = self.reachable(q, metric, threshold) else {
            return Vec::new();
        };
        let query = kernel::Query::new(query);
        let scan = |range| self.scan_range(&query, q, metric, threshold, range);
        if all_threads {
            in_parallel(range, scan)
        } else {
            scan(range)
        }
    }

    /// Positions of the popcounts whose bound reaches `threshold`. The bound
    /// rises to c = q and falls after it, so they form one run of buckets
    /// and one range of positions.
    fn reachable(&self, q: u32, metric: Metric, threshold: f64) -> Option<Range<usize>> {
        let max_c = self.buckets().len() - 2;
        let mut reachable = (0..=max_c).filter(|&c| metric.bound(q, c as u32) >= threshold);
        let lo = reachable.next()?;
        let hi = reachable.next_back().unwrap_or(lo);
        Some(self.bucket(lo).start..self.bucket(hi).end)
    }

    fn scan_range(
        &self,
        query: &kernel::Query,
        q: u32,
        metric: Metric,
        threshold: f64,
        range: Range<usize>,
    ) -> Vec<Hit> {
        let scan = kernel::scan();
        let (mut hits, mut found) = (Vec::new(), Vec::new());
        for (c, positions) in self.buckets_in(range) {
            let Some(need) = metric.min_common(q, c, threshold) else { continue };
            found.clear();
            scan(query, self.arena(), positions.clone(), need, &mut found);
            for &(i, common) in &found {
                let score = metric.score(common, q, c);
                if score >= threshold {
                    hits.push(Hit { id: self.ids()[positions.start + i as usize], score });
                }
            }
        }
        hits
    }

    /// The `k` best fingerprints, best first. The walk visits the popcount
    /// buckets in order of falling bound (the query's own popcount first)
    /// and stops once no bucket left can beat or tie the k-th best score.
    /// Once k are found, their worst score is a floor: each chunk of a
    /// bucket is scanned for candidates that can reach it, so the block
    /// bound passes over most fingerprints unread, and the floor rises as
    /// better ones come.
    pub fn top_k(&self, query: &[u64], metric: Metric, k: usize) -> Vec<Hit> {
        self.top_k_on(query, metric, k, true)
    }

    /// [`Index::top_k`] on all threads or, for callers that spread many
    /// queries over the threads themselves, on the calling thread alone.
    /// Threads take turns at the chunks of each bucket and share the higher
    /// of their floors; each keeps its own best k, and the best k of their
    /// union are the index's: a fingerprint of the true best k scores at
    /// least any floor (a floor is the k-th score of k real fingerprints),
    /// so its thread reads it, and only k better ones could push it out.
    ///
    /// For large k the floor starts at a guess (see `guess_floor`) instead
    /// of at nothing. Every fingerprint reaching the guess is still read, so
    /// when the walk ends with k of them the answer is exact; with fewer,
    /// the guess was too high and the walk runs again without it.
    pub(crate) fn top_k_on(
        &self,
        query: &[u64],
        metric: Metric,
        k: usize,
        all_threads: bool,
    ) -> Vec<Hit> {
        let q = self.check_query(query);
        if k == 0 || self.is_empty() {
            return Vec::new();
        }
        let guess = self.guess_floor(query, q, metric, k);
        let query = kernel::Query::new(query);
        let walk = |guess: Option<f64>| {
            let floor = Floor::default();
            if let Some(guess) = guess {
                floor.raise(guess);
            }
            let threads = if all_threads && self.len() >= 16_384 { parallel::cores() } else { 1 };
            if threads == 1 {
                self.top_k_walk(&query, q, metric, k, (0, 1), &floor)
            } else {
                let (query, floor) = (&query, &floor);
                std::thread::scope(|s| {
                    let walks: Vec<_> = (0..threads)
                        .map(|t| {
                            s.spawn(move || {
                                self.top_k_walk(query, q, metric, k, (t, threads), floor)
                            })
                        })
                        .collect();
                    walks.into_iter().flat_map(|w| w.join().expect("top-k thread")).collect()
                })
            }
        };
        let mut hits: Vec<Hit> = walk(guess);
        if guess.is_some() && hits.len() < k {
            hits = walk(None);
        }
        hits.sort_by(rank);
        hits.truncate(k);
        hits
    }

    /// For a k large enough to estimate from a sample (every
    /// [`SAMPLE_STRIDE`]-th run of 64 positions, read in order), a score
    /// that about 2k fingerprints likely reach. A walk from it skips the
    /// first buckets' scans at floors far below the true k-th score, which
    /// a walk from no floor makes until k good hits have come in.
    fn guess_floor(&self, query: &[u64], q: u32, metric: Metric, k: usize) -> Option<f64> {
        const RUN: usize = 64;
        let runs = self.len() / RUN;
        let sampled = runs.div_ceil(SAMPLE_STRIDE) * RUN;
        let rank = 2 * k * sampled / self.len().max(1);
        if rank < 4 || rank >= sampled || sampled >= self.len() / 4 {
            return None;
        }
        let kernel = kernel::intersection();
        let mut scores: Vec<f64> = (0..runs)
            .step_by(SAMPLE_STRIDE)
            .flat_map(|run| run * RUN..(run + 1) * RUN)
            .map(|position| {
                let fp = self.fingerprint(position);
                let c = fp.iter().map(|w| w.count_ones()).sum();
                metric.score(kernel(fp, query), q, c)
            })
            .collect();
        let (_, guess, _) = scores.select_nth_unstable_by(rank, |a, b| b.total_cmp(a));
        Some(*guess)
    }

    /// One thread's share of [`Index::top_k_on`]: the chunks `turn`,
    /// `turn + threads`, … of each bucket, visited in order of falling
    /// bound, until no bucket left can beat or tie the shared floor.
    fn top_k_walk(
        &self,
        query: &kernel::Query,
        q: u32,
        metric: Metric,
        k: usize,
        (turn, threads): (usize, usize),
        floor: &Floor,
    ) -> Vec<Hit> {
        let max_c = self.buckets().len() - 2;
        let scan = kernel::scan();
        let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(k + 1);
        let mut found = Vec::new();
        // Two cursors walk away from c = q: `down` over c < q, `up` over c >= q.
        let mut down = (q as usize).min(max_c + 1);
        let mut up = q as usize;
        loop {
            let below = (down > 0).then(|| metric.bound(q, (down - 1) as u32));
            let above = (up <= max_c).then(|| metric.bound(q, up as u32));
            let (c, bound) = match (below, above) {
                (None, None) => break,
                (Some(b), Some(a)) if b > a => (down - 1, b),
                (_, Some(a)) => (up, a),
                (Some(b), None) => (down - 1, b),
            };
            if floor.get().is_some_and(|floor| bound < floor) {
                break;
            }
            if c < q as usize {
                down -= 1;
            } else {
                up += 1;
            }
            let bucket = self.bucket(c);
            for start in bucket.clone().step_by(WALK_CHUNK).skip(turn).step_by(threads) {
                let need = match floor.get() {
                    None => 0,
                    Some(floor) => match metric.min_common(q, c as u32, floor) {
                        Some(need) => need,
                        None => break,
                    },
                };
                let chunk = start..(start + WALK_CHUNK).min(bucket.end);
                found.clear();
                scan(query, self.arena(), chunk.clone(), need, &mut found);
                for &(i, common) in &found {
                    let score = metric.score(common, q, c as u32);
                    let hit = Hit { id: self.ids()[chunk.start + i as usize], score };
                    if heap.len() < k {
                        heap.push(Worst(hit));
                    } else if rank(&hit, &heap.peek().expect("heap is full").0) == Ordering::Less {
                        heap.pop();
                        heap.push(Worst(hit));
                    }
                }
                if heap.len() == k {
                    floor.raise(heap.peek().expect("heap is full").0.score);
                }
            }
        }
        heap.into_iter().map(|w| w.0).collect()
    }

    /// Ids of the fingerprints that have every bit of `query` set (the
    /// screen of a substructure search), in index order: fewest bits, which
    /// for pattern fingerprints means smallest molecules, first. Only buckets
    /// with at least as many bits as the query are read.
    pub fn supersets(&self, query: &[u64]) -> Vec<u64> {
        self.supersets_counted(query).into_iter().map(|(_, id)| id).collect()
    }

    /// [`Index::supersets`] with each fingerprint's popcount, so that the
    /// hits of several segments can be put in one popcount order.
    fn supersets_counted(&self, query: &[u64]) -> Vec<(u32, u64)> {
        let q = self.check_query(query);
        let start = self.bucket(q as usize).start;
        let scan_bucket = kernel::scan();
        let query = kernel::Query::new(query);
        // A fingerprint shares at most q bits with the query, so sharing at
        // least q means holding all of them.
        let scan = |range: Range<usize>| -> Vec<(u32, u64)> {
            let (mut out, mut found) = (Vec::new(), Vec::new());
            for (c, positions) in self.buckets_in(range) {
                found.clear();
                scan_bucket(&query, self.arena(), positions.clone(), q, &mut found);
                out.extend(
                    found.iter().map(|&(i, _)| (c, self.ids()[positions.start + i as usize])),
                );
            }
            out
        };
        in_parallel(start..self.len(), scan)
    }

    /// Ids with every query bit set, found by testing each bit of every
    /// fingerprint, in index order; the reference for [`Index::supersets`].
    pub fn supersets_trivial_but_slow(&self, query: &[u64]) -> Vec<u64> {
        (0..self.len())
            .filter(|&position| {
                let fp = self.fingerprint(position);
                (0..self.words * 64).all(|bit| {
                    query[bit / 64] >> (bit % 64) & 1 == 0 || fp[bit / 64] >> (bit % 64) & 1 == 1
                })
            })
            .map(|position| self.ids()[position])
            .collect()
    }

    /// Scores every fingerprint; the reference the fast searches must equal.
    pub fn scan_trivial_but_slow(&self, query: &[u64], metric: Metric) -> Vec<Hit> {
        let q = self.check_query(query);
        let mut hits: Vec<Hit> = (0..self.len())
            .map(|position| {
                let fp = self.fingerprint(position);
                let c = fp.iter().map(|w| w.count_ones()).sum();
                let common = kernel::intersection_trivial_but_slow(query, fp);
                Hit { id: self.ids()[position], score: metric.score(common, q, c) }
            })
            .collect();
        hits.sort_by(rank);
        hits
    }
}
