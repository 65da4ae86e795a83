//! The bundled demo library: 99,042 compounds of the MOSES benchmark set
//! (ZINC Clean Leads), MIT licence; see `data/demo/README.md`. The `soyaku`
//! command and the web portal both load it through [`load`].

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::import::{self, ImportOptions, ImportSummary, Progress};
use crate::{LibraryError, Registry};

/// The gzipped SMILES file, embedded in the binary.
pub const LIBRARY: &[u8] = include_bytes!("../../../data/demo/moses-demo.smi.gz");

/// The source name its batches carry.
pub const SOURCE: &str = "moses-demo";

/// Imports the demo library into `registry` unless it is there already:
/// the file is written to `<data_dir>/demo/` once, and importing it again
/// finds it complete (an interrupted load resumes).
pub async fn load(
    registry: &Registry,
    data_dir: &Path,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<ImportSummary, LibraryError> {
    let file = data_dir.join("demo").join("moses-demo.smi.gz");
    if !file.exists() {
        // Written whole or not at all: a crash mid-write must not leave a
        // shorter file, which would be a different import.
        let dir = file.parent().expect("demo file has a parent");
        fs_err::create_dir_all(dir)?;
        let partial = file.with_extension("gz.partial");
        fs_err::write(&partial, LIBRARY)?;
        fs_err::rename(&partial, &file)?;
    }
    let options = ImportOptions { source: Some(SOURCE.into()), ..ImportOptions::default() };
    import::import_file(registry, &file, &options, progress, cancel).await
}

/// Whether a load of the demo library began and has not finished (the
/// process stopped or died during it): start-up must resume it, even though
/// the registry is no longer empty.
pub async fn unfinished(registry: &Registry) -> Result<bool, LibraryError> {
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM imports WHERE source = $1 AND status <> 'complete'",
    )
    .bind(SOURCE)
    .fetch_one(registry.pool())
    .await?;
    Ok(open > 0)
}
