//! MaxMin diversity picking.

use crate::{kernel, Index, Metric};

/// One MaxMin pick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// The id picked.
    pub id: u64,
    /// Its Tanimoto similarity to the most similar earlier pick or seed;
    /// `None` for the first pick of an unseeded run.
    pub nearest: Option<f64>,
}

/// A seed id that is not in the index.
#[derive(Debug, thiserror::Error)]
#[error("seed {0} is not in the index")]
pub struct UnknownSeed(pub u64);

impl Index {
    /// Picks up to `n` fingerprints by MaxMin: each pick is the one whose
    /// highest Tanimoto similarity to everything picked so far (the `seeds`,
    /// already chosen, count as picked) is lowest; ties go to the smaller
    /// id, so an unseeded run starts with the smallest id. Exact: each pick
    /// updates every fingerprint's nearest-pick similarity, on all threads.
    pub fn maxmin(&self, n: usize, seeds: &[u64]) -> Result<Vec<Pick>, UnknownSeed> {
        let mut seed_positions = Vec::with_capacity(seeds.len());
        for &seed in seeds {
            let position = self.ids().iter().position(|&id| id == seed).ok_or(UnknownSeed(seed))?;
            seed_positions.push(position);
        }
        // nearest[p]: highest similarity of p to a pick; picked ones get +inf
        // so that they are never chosen again.
        let mut nearest = vec![f64::NEG_INFINITY; self.len()];
        let popcounts = self.popcounts();
        let mut next = self.update_nearest(&mut nearest, &popcounts, None);
        for position in seed_positions {
            next = self.update_nearest(&mut nearest, &popcounts, Some(position));
        }
        let mut picks = Vec::with_capacity(n.min(self.len()));
        while picks.len() < n {
            let Some(position) = next else { break };
            let similarity = nearest[position];
            picks.push(Pick {
                id: self.ids()[position],
                nearest: similarity.is_finite().then_some(similarity),
            });
            next = self.update_nearest(&mut nearest, &popcounts, Some(position));
        }
        Ok(picks)
    }

    /// Marks `picked` (if any) and raises every fingerprint's nearest-pick
    /// similarity to its similarity with `picked`; returns the next pick,
    /// the unpicked position with the lowest value (ties: smaller id).
    fn update_nearest(
        &self,
        nearest: &mut [f64],
        popcounts: &[u32],
        picked: Option<usize>,
    ) -> Option<usize> {
        let query = picked.map(|p| (self.fingerprint(p), popcounts[p]));
        if let Some(p) = picked {
            nearest[p] = f64::INFINITY;
        }
        let kernel = kernel::intersection();
        let step = nearest.len().div_ceil(parallel::cores()).max(1);
        let best = std::thread::scope(|s| {
            let parts: Vec<_> = nearest
                .chunks_mut(step)
                .enumerate()
                .map(|(t, part)| {
                    let query = &query;
                    s.spawn(move || {
                        let mut best: Option<(f64, u64, usize)> = None;
                        for (k, value) in part.iter_mut().enumerate() {
                            let position = t * step + k;
                            if let Some((fp, q)) = query {
                                let other = self.fingerprint(position);
                                let common = kernel(fp, other);
                                let score = Metric::Tanimoto.score(common, *q, popcounts[position]);
                                if score > *value {
                                    *value = score;
                                }
                            }
                            let key = (*value, self.ids()[position], position);
                            let unpicked = *value != f64::INFINITY;
                            if unpicked && best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                                best = Some(key);
                            }
                        }
                        best
                    })
                })
                .collect();
            parts
                .into_iter()
                .filter_map(|p| p.join().expect("maxmin thread"))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        });
        best.map(|(_, _, position)| position)
    }
}
