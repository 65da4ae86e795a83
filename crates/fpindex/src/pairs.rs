//! Whole-library comparisons: the all-pairs similarity matrix at a
//! threshold, and Butina clustering on it.

use crate::{kernel, Index, Metric};

/// Two fingerprints at least as similar as the threshold; `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The smaller id.
    pub a: u64,
    /// The larger id.
    pub b: u64,
    /// Their Tanimoto similarity.
    pub score: f64,
}

/// One Butina cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The member with the most neighbours when the cluster was formed.
    pub centroid: u64,
    /// Every member, the centroid included, by id.
    pub members: Vec<u64>,
}

/// Queries compared together against one chunk of candidates: the chunk is
/// read from memory once per block instead of once per query.
const BLOCK: usize = 64;
/// Candidates per chunk: 2,048 fingerprints of 2,048 bits are 512 KiB, which
/// stays in a core's L2 cache while the block's queries pass over it.
const CHUNK: usize = 2048;

impl Index {
    /// Every pair scoring at least `threshold` under Tanimoto, by (a, b).
    ///
    /// Each fingerprint is compared only with those after it in popcount
    /// order that its bound can reach; blocks of queries go over the
    /// candidates in cache-sized chunks (tiles), and blocks are shared among
    /// the threads.
    pub fn similarity_matrix(&self, threshold: f64) -> Vec<Pair> {
        let mut pairs: Vec<Pair> = self
            .pairs_by_position(threshold)
            .into_iter()
            .map(|(i, j, score)| {
                let (x, y) = (self.ids()[i as usize], self.ids()[j as usize]);
                Pair { a: x.min(y), b: x.max(y), score }
            })
            .collect();
        pairs.sort_unstable_by_key(|p| (p.a, p.b));
        pairs
    }

    /// All pairs as positions `(i, j, score)` with `i < j`.
    fn pairs_by_position(&self, threshold: f64) -> Vec<(u32, u32, f64)> {
        let n = self.len();
        let popcount = self.popcounts();
        // For each popcount q, where the candidates its bound reaches end.
        let end: Vec<usize> = (0..self.buckets().len() - 1)
            .map(|q| self.reachable(q as u32, Metric::Tanimoto, threshold).map_or(0, |r| r.end))
            .collect();
        let kernel = kernel::intersection();
        let blocks: Vec<usize> = (0..n).step_by(BLOCK).collect();
        let per_block = parallel::map(&blocks, parallel::cores(), |&first| {
            let block = first..(first + BLOCK).min(n);
            let block_end = end[popcount[block.end - 1] as usize];
            let mut found = Vec::new();
            let mut chunk_start = first + 1;
            while chunk_start < block_end {
                let chunk = chunk_start..(chunk_start + CHUNK).min(block_end);
                for i in block.clone() {
                    let (q, fp) = (popcount[i], self.fingerprint(i));
                    let candidates = chunk.start.max(i + 1)..chunk.end.min(end[q as usize]);
                    for (j, &c) in
                        popcount.iter().enumerate().take(candidates.end).skip(candidates.start)
                    {
                        let score = Metric::Tanimoto.score(kernel(fp, self.fingerprint(j)), q, c);
                        if score >= threshold {
                            found.push((i as u32, j as u32, score));
                        }
                    }
                }
                chunk_start = chunk.end;
            }
            found
        });
        per_block.into_iter().flatten().collect()
    }

    /// Butina (Taylor–Butina) clustering at a Tanimoto `threshold`: the
    /// fingerprint with the most neighbours (ties: smaller id) becomes a
    /// centroid and takes every neighbour not yet in a cluster; repeat until
    /// every fingerprint is in one. Clusters come in the order they formed.
    pub fn butina(&self, threshold: f64) -> Vec<Cluster> {
        let n = self.len();
        let pairs = self.pairs_by_position(threshold);
        // Neighbour lists in compressed-row form.
        let mut offsets = vec![0usize; n + 1];
        for &(i, j, _) in &pairs {
            offsets[i as usize + 1] += 1;
            offsets[j as usize + 1] += 1;
        }
        for p in 1..=n {
            offsets[p] += offsets[p - 1];
        }
        let mut fill = offsets.clone();
        let mut neighbours = vec![0u32; offsets[n]];
        for &(i, j, _) in &pairs {
            neighbours[fill[i as usize]] = j;
            fill[i as usize] += 1;
            neighbours[fill[j as usize]] = i;
            fill[j as usize] += 1;
        }
        drop(pairs);
        let degree = |p: usize| offsets[p + 1] - offsets[p];
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by_key(|&p| (std::cmp::Reverse(degree(p)), self.ids()[p]));
        let mut taken = vec![false; n];
        let mut clusters = Vec::new();
        for centroid in order {
            if taken[centroid] {
                continue;
            }
            taken[centroid] = true;
            let mut members = vec![self.ids()[centroid]];
            for &m in &neighbours[offsets[centroid]..offsets[centroid + 1]] {
                if !std::mem::replace(&mut taken[m as usize], true) {
                    members.push(self.ids()[m as usize]);
                }
            }
            members.sort_unstable();
            clusters.push(Cluster { centroid: self.ids()[centroid], members });
        }
        clusters
    }
}
