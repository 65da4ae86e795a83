//! Soyaku's compound registry, the shared library researchers draw on.
//!
//! Three tiers, as compound-management systems keep them:
//! - a **parent** is a standardised structure with a stable registry number
//!   (`SY-0000001`); its identity is the standard InChIKey, with two coarser
//!   layers (the InChIKey connectivity block, which ignores stereo and
//!   isotopes, and RDKit's heteroatom-tautomer hash of the stereo-free
//!   parent) so that stereo and tautomer variants are recognised as relatives;
//! - a **batch** is one submission of a parent from a source: the structure as
//!   supplied (salt form and stoichiometry), supplier, purity;
//! - a **sample** is a physical container holding a batch: a plate well or a
//!   tube, with concentration, volume and location.
//!
//! Structural alerts (PAINS, Brenk) are not stored: matching them costs more
//! than the rest of registration together, so they are computed where a
//! compound is shown.
//!
//! Bulk import ([`import`]) streams SMILES, CSV or SD files (gzip too), runs
//! the chemistry on every core, commits in chunks together with a checkpoint
//! so an interrupted import resumes, and reports each bad record with its
//! line and reason while the good ones land.

#![warn(missing_docs)]

pub mod catalog;
pub mod demo;
mod error;
mod id;
pub mod import;
pub mod kinds;
mod limited;
mod prepare;
pub mod record;
mod registry;
pub mod structures;
pub mod substructure;

pub use catalog::{Catalog, ScoredCompound, Wanted};
pub use error::LibraryError;
pub use id::CompoundId;
pub use prepare::{prepare, ParentIdentity, PrepareOptions, Prepared};
pub use registry::{
    migrate_beside, Batch, Compound, Counts, FingerprintKind, Float8, NewBatch, Parent, Registry,
    Related, Sample, SampleData,
};
pub use structures::Structures;

/// Runs `work` on `items` cut into one slice per core, on all cores; the
/// results keep the items' order, and the first error wins.
pub(crate) fn on_all_cores<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> Result<Vec<R>, LibraryError> + Sync,
) -> Result<Vec<R>, LibraryError> {
    let cores = parallel::cores();
    let parts: Vec<&[T]> = items.chunks(items.len().div_ceil(cores).max(1)).collect();
    let mut out = Vec::with_capacity(items.len());
    for part in parallel::map(&parts, cores, |part| work(part)) {
        out.extend(part?);
    }
    Ok(out)
}

/// The longest free text (a purpose, a note, a message) any table keeps,
/// in characters: far more than any form needs, far less than a request
/// body can carry.
pub const MAX_FREE_TEXT_CHARS: usize = 10_000;

/// Checks a free-text field against [`MAX_FREE_TEXT_CHARS`]; the error names
/// the field for the person who filled it in.
pub fn check_free_text(field: &str, text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if n > MAX_FREE_TEXT_CHARS {
        return Err(format!(
            "{field} has {n} characters; at most {MAX_FREE_TEXT_CHARS} are accepted"
        ));
    }
    Ok(())
}

/// Seconds since the Unix epoch, the timestamp unit of every table in the
/// platform database.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
