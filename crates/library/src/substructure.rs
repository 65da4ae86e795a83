//! Substructure search over the registry: the pattern-fingerprint index
//! screens, then the parents' atom kinds (`kinds.rs`); RDKit verifies each
//! candidate (read from the structure store), on every core, within a time
//! budget. A one-atom query the kinds judge needs no verification: the
//! kinds' verdict is the match's. Hits stream to the caller batch by batch,
//! in index order: fewest pattern-fingerprint bits first, which puts small
//! molecules first.

use std::time::{Duration, Instant};

use chem::{ChemError, Molecule, Query};

use crate::{CompoundId, LibraryError, Structures};

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
    /// Matching parents, in index order.
    pub hits: Vec<CompoundId>,
    /// Parents that passed the screens: the pattern fingerprint, then the
    /// atom kinds (see [`crate::kinds`]).
    pub candidates: usize,
    /// Candidates checked (by RDKit, or settled by the atom kinds) before
    /// the search stopped.
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

/// Candidates are verified in batches that start small (the first hits come
/// quickly) and double up to a size that keeps the cores busy; the time
/// budget and the limit are checked between batches and between molecules.
const FIRST_BATCH: usize = 256;
const LARGEST_BATCH: usize = 16_384;

/// Finds parents containing `text`: `index` is the pattern-fingerprint
/// index, `structures` the structure store, both in step with the registry.
/// Each hit goes to `on_hit` as soon as its batch is verified (the result
/// holds them all as well), so a caller can show hits while the search goes
/// on. Blocks the calling thread while all cores verify.
pub fn search(
    index: &fpindex::Segments,
    structures: &Structures,
    text: &str,
    language: QueryLanguage,
    limits: SearchLimits,
    mut on_hit: impl FnMut(CompoundId),
) -> Result<SubstructureResult, LibraryError> {
    let deadline = Instant::now() + limits.timeout;
    let query = compile(text, language).map_err(LibraryError::BadQuery)?;
    let ids = index.supersets(query.pattern_fingerprint().words());
    // Each candidate with whether the atom kinds settle it as a hit. The
    // kind screen costs a match per kind and query atom; below about one
    // candidate per kind, verifying them all is as quick.
    let candidates: Vec<(CompoundId, bool)> =
        match structures.kinds().filter(|k| ids.len() >= k.kinds()) {
            Some(kinds) => {
                let screen = kinds.screen(&query, structures)?;
                crate::on_all_cores(&ids, |part| {
                    Ok(part
                        .iter()
                        .map(|&id| CompoundId(id as i64))
                        .filter_map(|id| Some((id, kinds.judge(&screen, id)?)))
                        .collect())
                })?
            }
            None => ids.into_iter().map(|id| (CompoundId(id as i64), false)).collect(),
        };
    let mut result = SubstructureResult {
        hits: Vec::new(),
        candidates: candidates.len(),
        verified: 0,
        partial: false,
    };
    for batch in batches(candidates.len()).map(|range| &candidates[range]) {
        if result.hits.len() >= limits.limit {
            break;
        }
        if Instant::now() >= deadline {
            result.partial = true;
            break;
        }
        let verdicts = verify(text, language, structures, batch, deadline)?;
        for (&(id, _), verdict) in batch.iter().zip(verdicts) {
            match verdict {
                Some(true) if result.hits.len() < limits.limit => {
                    on_hit(id);
                    result.hits.push(id);
                }
                Some(_) => {}
                None => result.partial = true,
            }
            result.verified += usize::from(verdict.is_some());
        }
    }
    Ok(result)
}

/// Ranges of `len` candidates, doubling from the first batch size.
fn batches(len: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = 0;
    let mut size = FIRST_BATCH;
    std::iter::from_fn(move || {
        (start < len).then(|| {
            let range = start..(start + size).min(len);
            start = range.end;
            size = (size * 2).min(LARGEST_BATCH);
            range
        })
    })
}

/// Matches each candidate the kinds did not settle against the query on
/// all cores. `None` marks molecules left unchecked when the deadline
/// passed.
fn verify(
    text: &str,
    language: QueryLanguage,
    structures: &Structures,
    candidates: &[(CompoundId, bool)],
    deadline: Instant,
) -> Result<Vec<Option<bool>>, LibraryError> {
    crate::on_all_cores(candidates, |part| {
        // Each thread compiles its own query: RDKit may fill caches in a
        // query molecule while matching.
        let query = compile(text, language).expect("query compiled before");
        part.iter()
            .map(|&(id, settled)| {
                if settled {
                    return Ok(Some(true));
                }
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                let molecule = structures.require(id)?;
                Ok(Some(molecule.has_substructure(&query)))
            })
            .collect()
    })
}
