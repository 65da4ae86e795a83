//! The library as a searchable catalogue: the registry together with its
//! search files (the two fingerprint indexes and the structure store), kept
//! open between searches and brought in step when the registry grows. One
//! type serves the `soyaku` command (one search per process) and the web
//! portal (many searches against files opened once).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chem::{Molecule, MorganParams};
use fpindex::{Hit, Metric};

use crate::substructure::{self, QueryLanguage, SearchLimits, SubstructureResult};
use crate::{CompoundId, FingerprintKind, LibraryError, Registry, Structures};

/// What a similarity search returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wanted {
    /// The k best.
    Top(usize),
    /// All at or above a score.
    Threshold(f64),
}

/// A search hit with what is shown of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoredCompound {
    /// Registry number.
    pub id: CompoundId,
    /// Canonical SMILES.
    pub smiles: String,
    /// Similarity, or 1 for a substructure hit.
    pub score: f64,
}

/// One search file written by [`Catalog::rebuild`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rebuilt {
    /// Its file name.
    pub file: &'static str,
    /// Fingerprints or molecules it holds.
    pub entries: usize,
    /// Its size.
    pub bytes: usize,
    /// Time taken.
    pub seconds: f64,
}

/// The open search files of one registry state.
pub struct SearchFiles {
    /// Morgan radius 2, 2048 bits.
    pub morgan: fpindex::Segments,
    /// RDKit pattern fingerprints.
    pub pattern: fpindex::Segments,
    /// Every parent, packed for fast reading.
    pub structures: Structures,
    /// The highest parent id the files hold.
    newest: i64,
}

/// The registry and its search files.
pub struct Catalog {
    registry: Registry,
    index_dir: PathBuf,
    files: tokio::sync::Mutex<Option<Arc<SearchFiles>>>,
    /// Where searches parse their queries and scan: never the async
    /// threads, within a deadline.
    pool: Arc<parallel::Pool>,
}

/// How long a similarity search may take, query parsing included, with the
/// pool [`Catalog::new`] makes.
pub const SEARCH_DEADLINE: Duration = Duration::from_secs(15);

impl Catalog {
    /// The catalogue of `registry`, keeping its search files in
    /// `<data_dir>/index`, with a pool of its own (one thread per core).
    pub fn new(registry: Registry, data_dir: &Path) -> Catalog {
        let pool = parallel::Pool::new(parallel::cores(), 256, SEARCH_DEADLINE);
        Catalog::with_pool(registry, data_dir, Arc::new(pool))
    }

    /// The same, searching in `pool` (shared with the rest of a server's
    /// chemistry), whose deadline is a similarity search's.
    pub fn with_pool(registry: Registry, data_dir: &Path, pool: Arc<parallel::Pool>) -> Catalog {
        Catalog { registry, index_dir: data_dir.join("index"), files: Default::default(), pool }
    }

    /// The registry behind it.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The folder holding the search files.
    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    /// The search files, in step with the registry. Opened once and reused
    /// while no parent is added (parents are append-only with rising ids, so
    /// the highest id tells whether anything changed); otherwise brought in
    /// step by appending.
    pub async fn files(&self) -> Result<Arc<SearchFiles>, LibraryError> {
        let newest = self.registry.newest_parent().await?;
        let mut held = self.files.lock().await;
        if let Some(files) = held.as_ref().filter(|f| f.newest == newest) {
            return Ok(files.clone());
        }
        let files = Arc::new(SearchFiles {
            morgan: self
                .registry
                .fingerprint_index_in(FingerprintKind::Morgan, &self.index_dir)
                .await?,
            pattern: self
                .registry
                .fingerprint_index_in(FingerprintKind::Pattern, &self.index_dir)
                .await?,
            structures: self.registry.structures_in(&self.index_dir).await?,
            newest,
        });
        *held = Some(files.clone());
        Ok(files)
    }

    /// Rebuilds every search file from the registry (both fingerprint
    /// indexes and the structure store), telling `step` what it starts and
    /// how far along the whole rebuild is (0–1). Searches already running
    /// keep the files they opened; later ones get the new files.
    pub async fn rebuild(
        &self,
        step: &(dyn Fn(&str, f64) + Send + Sync),
    ) -> Result<Vec<Rebuilt>, LibraryError> {
        let mut done = Vec::new();
        for (n, kind) in [FingerprintKind::Morgan, FingerprintKind::Pattern].into_iter().enumerate()
        {
            step(kind.file_name(), n as f64 / 3.0);
            let started = std::time::Instant::now();
            let index = self.registry.rebuild_index(kind, &self.index_dir).await?;
            done.push(Rebuilt {
                file: kind.file_name(),
                entries: index.len(),
                bytes: index.memory_bytes(),
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        step(crate::structures::FILE_NAME, 2.0 / 3.0);
        let started = std::time::Instant::now();
        let store = self.index_dir.join(crate::structures::FILE_NAME);
        if store.exists() {
            fs_err::remove_file(&store)?;
        }
        let structures = self.registry.structures_in(&self.index_dir).await?;
        done.push(Rebuilt {
            file: crate::structures::FILE_NAME,
            entries: structures.len(),
            bytes: fs_err::metadata(&store).map(|m| m.len() as usize).unwrap_or(0),
            seconds: started.elapsed().as_secs_f64(),
        });
        *self.files.lock().await = None;
        step("done", 1.0);
        Ok(done)
    }

    /// The index of one fingerprint kind, in step with the registry.
    pub async fn index(&self, kind: FingerprintKind) -> Result<fpindex::Segments, LibraryError> {
        self.registry.fingerprint_index_in(kind, &self.index_dir).await
    }

    /// Compounds most similar to `smiles` by Morgan fingerprints. The query
    /// is parsed and the index scanned in the pool, within its deadline.
    pub async fn similar(
        &self,
        smiles: &str,
        metric: Metric,
        wanted: Wanted,
    ) -> Result<Vec<ScoredCompound>, LibraryError> {
        // What is refused anyway is refused before waiting for a thread.
        chem::limits::precheck(smiles, false).map_err(LibraryError::BadQuery)?;
        let files = self.files().await?;
        let smiles = smiles.to_owned();
        let hits = self
            .pool
            .run(move || -> Result<Vec<Hit>, LibraryError> {
                let fp = query_fingerprint(&smiles)?;
                Ok(search_one(&files.morgan, &fp, metric, wanted))
            })
            .await??;
        self.scored(&hits).await
    }

    /// Compounds containing `text`, within `limits`; hits in index order
    /// (small molecules first). Runs in the pool (verification on every
    /// core), answering within the time budget and a little more.
    pub async fn substructure(
        &self,
        text: &str,
        language: QueryLanguage,
        limits: SearchLimits,
    ) -> Result<(Vec<ScoredCompound>, SubstructureResult), LibraryError> {
        let smarts = matches!(language, QueryLanguage::Smarts);
        chem::limits::precheck(text, smarts).map_err(LibraryError::BadQuery)?;
        let files = self.files().await?;
        let text = text.to_owned();
        // The budget bounds verification; compiling the query and reading
        // the first batch come on top.
        let deadline = limits.timeout + Duration::from_secs(5);
        let found = self
            .pool
            .run_within(deadline, move || {
                substructure::search(
                    &files.pattern,
                    &files.structures,
                    &text,
                    language,
                    limits,
                    |_| {},
                )
            })
            .await??;
        let rows = self.rows(&found.hits).await?;
        let scored = rows
            .into_iter()
            .map(|(id, smiles)| ScoredCompound { id, smiles, score: 1.0 })
            .collect();
        Ok((scored, found))
    }

    /// Hits with their SMILES, in the same order.
    pub async fn scored(&self, hits: &[Hit]) -> Result<Vec<ScoredCompound>, LibraryError> {
        let ids: Vec<CompoundId> = hits.iter().map(|h| CompoundId(h.id as i64)).collect();
        let rows = self.rows(&ids).await?;
        Ok(rows
            .into_iter()
            .zip(hits)
            .map(|((id, smiles), hit)| ScoredCompound { id, smiles, score: hit.score })
            .collect())
    }

    /// Picks up to `n` diverse compounds by MaxMin on Morgan fingerprints,
    /// avoiding `seeds` (already chosen); each pick comes with its
    /// similarity to the nearest earlier pick or seed.
    pub async fn pick(
        &self,
        n: usize,
        seeds: &[CompoundId],
    ) -> Result<Vec<fpindex::Pick>, LibraryError> {
        let index = self.index(FingerprintKind::Morgan).await?;
        let seeds: Vec<u64> = seeds.iter().map(|s| s.0 as u64).collect();
        tokio::task::spawn_blocking(move || index.with_one(|one| one.maxmin(n, &seeds)))
            .await
            .expect("pick task")
            .map_err(|e| LibraryError::NotFound(CompoundId(e.0 as i64).to_string()))
    }

    /// Writes an all-pairs matrix with ids and SMILES: CSV
    /// (`a,a_smiles,b,b_smiles,similarity`, with a header) or JSON Lines.
    pub async fn write_matrix(
        &self,
        pairs: &[fpindex::Pair],
        out: &Path,
        json_lines: bool,
    ) -> Result<(), LibraryError> {
        use std::io::Write as _;
        let mut ids: Vec<CompoundId> =
            pairs.iter().flat_map(|p| [p.a, p.b]).map(|id| CompoundId(id as i64)).collect();
        ids.sort_unstable();
        ids.dedup();
        let smiles: std::collections::HashMap<i64, String> =
            ids.iter().map(|id| id.0).zip(self.registry.smiles_of(&ids).await?).collect();
        let mut w = std::io::BufWriter::new(fs_err::File::create(out)?);
        if !json_lines {
            writeln!(w, "a,a_smiles,b,b_smiles,similarity")?;
        }
        for p in pairs {
            let (a, b) = (CompoundId(p.a as i64), CompoundId(p.b as i64));
            let (sa, sb) = (&smiles[&a.0], &smiles[&b.0]);
            if json_lines {
                let row = serde_json::json!({"a": a, "a_smiles": sa, "b": b, "b_smiles": sb,
                                             "similarity": p.score});
                writeln!(w, "{row}")?;
            } else {
                // Canonical SMILES contain no commas or quotes, so fields
                // need no quoting.
                writeln!(w, "{a},{sa},{b},{sb},{:.6}", p.score)?;
            }
        }
        w.flush()?;
        Ok(())
    }

    /// Ids with their SMILES, in the same order.
    pub async fn rows(
        &self,
        ids: &[CompoundId],
    ) -> Result<Vec<(CompoundId, String)>, LibraryError> {
        let smiles = self.registry.smiles_of(ids).await?;
        Ok(ids.iter().copied().zip(smiles).collect())
    }
}

/// The Morgan fingerprint (radius 2, 2048 bits) of a query structure.
pub fn query_fingerprint(smiles: &str) -> Result<Vec<u64>, LibraryError> {
    let query = Molecule::from_smiles(smiles).map_err(LibraryError::BadQuery)?;
    Ok(query.morgan(MorganParams::default()).words().to_vec())
}

/// One similarity search over an index.
pub fn search_one(
    index: &fpindex::Segments,
    fp: &[u64],
    metric: Metric,
    wanted: Wanted,
) -> Vec<Hit> {
    match wanted {
        Wanted::Top(k) => index.top_k(fp, metric, k),
        Wanted::Threshold(t) => index.threshold(fp, metric, t),
    }
}
