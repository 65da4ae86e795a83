//! Substructure search over the registry: the pattern-fingerprint index
//! screens, RDKit verifies each candidate, on every core, within a time
//! budget. Hits stream to the caller batch by batch, in index order: fewest
//! pattern-fingerprint bits first, which puts small molecules first.

use std::time::{Duration, Instant};

use chem::{ChemError, Molecule, Query};

use crate::{CompoundId, LibraryError, Registry};

/// How the query text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// SMARTS (most SMILES are valid SMARTS too).
    #[default]
    Smarts,
    /// SMILES, matched as a molecule (aromaticity and hydrogens as drawn).
    Smiles,
}

/// Limits of one search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchLimits {
    /// Stop after this many hits.
    pub limit: usize,
    /// Stop after this long and report what was found as partial.
    pub timeout: Duration,
}

impl Default for SearchLimits {
    fn default() -> SearchLimits {
        SearchLimits { limit: 1000, timeout: Duration::from_secs(10) }
    }
}

/// The answer to a substructure search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubstructureResult {
    /// Matching parents and their SMILES, in index order.
    pub hits: Vec<(CompoundId, String)>,
    /// Parents that passed the fingerprint screen.
    pub candidates: usize,
    /// Candidates checked with RDKit before the search stopped.
    pub verified: usize,
    /// The time budget ran out before every candidate was checked.
    pub partial: bool,
}

fn compile(text: &str, language: QueryLanguage) -> Result<Query, ChemError> {
    match language {
        QueryLanguage::Smarts => Query::from_smarts(text),
        QueryLanguage::Smiles => Molecule::from_smiles(text).map(Query::from_molecule),
    }
}

/// Candidates are fetched and verified this many at a time; the time budget
/// and the limit are checked between batches and between molecules.
const BATCH: usize = 512;

/// Finds parents containing `text` using the pattern index `index`. Each
/// hit goes to `on_hit` as soon as its batch is verified (the result holds
/// them all as well), so a caller can show hits while the search goes on.
pub async fn search(
    registry: &Registry,
    index: &fpindex::Segments,
    text: &str,
    language: QueryLanguage,
    limits: SearchLimits,
    mut on_hit: impl FnMut(CompoundId, &str),
) -> Result<SubstructureResult, LibraryError> {
    let deadline = Instant::now() + limits.timeout;
    let query = compile(text, language).map_err(LibraryError::BadQuery)?;
    let candidates = index.supersets(query.pattern_fingerprint().words());
    let mut result = SubstructureResult {
        hits: Vec::new(),
        candidates: candidates.len(),
        verified: 0,
        partial: false,
    };
    for batch in candidates.chunks(BATCH) {
        if result.hits.len() >= limits.limit {
            break;
        }
        if Instant::now() >= deadline {
            result.partial = true;
            break;
        }
        let ids: Vec<CompoundId> = batch.iter().map(|&id| CompoundId(id as i64)).collect();
        let smiles = registry.smiles_of(&ids).await?;
        let owned_text = text.to_owned();
        let (matched, smiles) = tokio::task::spawn_blocking(move || {
            (verify(&owned_text, language, &smiles, deadline), smiles)
        })
        .await
        .expect("verification thread");
        for ((id, smiles), verdict) in ids.into_iter().zip(smiles).zip(matched) {
            match verdict {
                Some(true) if result.hits.len() < limits.limit => {
                    on_hit(id, &smiles);
                    result.hits.push((id, smiles));
                }
                Some(true) => {}
                Some(false) => {}
                None => result.partial = true,
            }
            result.verified += usize::from(verdict.is_some());
        }
    }
    Ok(result)
}

/// Matches each SMILES against the query on all cores. `None` marks
/// molecules left unchecked when the deadline passed.
fn verify(
    text: &str,
    language: QueryLanguage,
    smiles: &[String],
    deadline: Instant,
) -> Vec<Option<bool>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let step = smiles.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = smiles
            .chunks(step)
            .map(|part| {
                s.spawn(move || {
                    // Each thread compiles its own query: RDKit may fill
                    // caches in a query molecule while matching.
                    let query = compile(text, language).expect("query compiled before");
                    part.iter()
                        .map(|smi| {
                            if Instant::now() >= deadline {
                                return None;
                            }
                            Some(
                                Molecule::from_smiles(smi)
                                    .is_ok_and(|m| m.has_substructure(&query)),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts.into_iter().flat_map(|p| p.join().expect("verification thread")).collect()
    })
}
