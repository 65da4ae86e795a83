//! The registry database: opening and migrating it, writing prepared
//! structures tier by tier, and reading compounds back.
//!
//! SQL is written once, in the dialect SQLite and PostgreSQL share (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`); only the migrations differ.

use std::path::{Path, PathBuf};

use chem::{Descriptors, Fingerprint, MorganParams};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::import::{RowError, Tally, ToWrite};
use crate::{now, CompoundId, LibraryError, ParentIdentity};

/// A handle on the registry database.
#[derive(Clone)]
pub struct Registry {
    pool: AnyPool,
}

/// How many rows each tier holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Distinct standardised structures.
    pub parents: i64,
    /// Submissions (source + external id).
    pub batches: i64,
    /// Physical containers.
    pub samples: i64,
}

/// The parent tier of a compound.
#[derive(Debug, Clone)]
pub struct Parent {
    /// Registry number.
    pub id: CompoundId,
    /// Structure and identity layers.
    pub identity: ParentIdentity,
    /// Descriptors, as computed at registration.
    pub descriptors: Descriptors,
}

/// One batch (lot) of a parent.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Database key.
    pub id: i64,
    /// Where the batch came from (library or file name).
    pub source: String,
    /// The supplier's or source's own id.
    pub external_id: String,
    /// Canonical SMILES as submitted.
    pub submitted_smiles: String,
    /// Salt form and stoichiometry; empty for the parent alone.
    pub salt_form: String,
    /// Supplier, when given.
    pub supplier: Option<String>,
    /// Purity in percent, when given.
    pub purity: Option<f64>,
}

/// One physical sample of a batch, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The batch it holds.
    pub batch_id: i64,
    /// Where and how much.
    pub container: SampleData,
}

/// A parent that shares an identity layer with another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Its registry number.
    pub id: CompoundId,
    /// Its SMILES.
    pub smiles: String,
    /// `stereo/isotope variant` or `tautomer`.
    pub relation: &'static str,
}

/// A compound with all its tiers.
#[derive(Debug, Clone)]
pub struct Compound {
    /// The parent.
    pub parent: Parent,
    /// Its batches.
    pub batches: Vec<Batch>,
    /// Samples of those batches.
    pub samples: Vec<Sample>,
    /// Stereo, isotope and tautomer relatives.
    pub related: Vec<Related>,
}

/// The fingerprints stored with every parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintKind {
    /// Morgan radius 2, 2048 bits: similarity search.
    Morgan,
    /// RDKit pattern fingerprint, 2048 bits: substructure screening.
    Pattern,
}

impl FingerprintKind {
    fn column(self) -> &'static str {
        match self {
            FingerprintKind::Morgan => "morgan",
            FingerprintKind::Pattern => "pattern",
        }
    }

    fn default_bits(self) -> usize {
        match self {
            FingerprintKind::Morgan => MorganParams::default().bits as usize,
            FingerprintKind::Pattern => chem::PATTERN_BITS as usize,
        }
    }

    /// The index file name in a data directory's `index/` folder.
    pub fn file_name(self) -> &'static str {
        match self {
            FingerprintKind::Morgan => "morgan-r2-2048.sfp",
            FingerprintKind::Pattern => "pattern-2048.sfp",
        }
    }
}

/// A physical container holding a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampleData {
    /// `plate` or `tube`.
    pub container: String,
    /// Barcode.
    pub barcode: String,
    /// Well, empty for tubes.
    pub well: String,
    /// Concentration in mM.
    pub concentration_mm: Option<f64>,
    /// Volume in µL.
    pub volume_ul: Option<f64>,
    /// Location.
    pub location: Option<String>,
}

/// Batch facts supplied with a record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewBatch {
    /// Source (library) name.
    pub source: String,
    /// The source's id for the record.
    pub external_id: String,
    /// Supplier.
    pub supplier: Option<String>,
    /// Purity in percent.
    pub purity: Option<f64>,
}

impl Registry {
    /// Opens (creating if needed) the SQLite registry in `dir`.
    pub async fn open_dir(dir: &Path) -> Result<Registry, LibraryError> {
        fs_err::create_dir_all(dir)
            .map_err(|source| LibraryError::Write { path: dir.to_owned(), source })?;
        let url = format!("sqlite://{}?mode=rwc", dir.join("soyaku.db").display());
        Registry::open(&url).await
    }

    /// Opens a registry by URL (`sqlite://…` or `postgres://…`) and applies
    /// pending migrations.
    pub async fn open(url: &str) -> Result<Registry, LibraryError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        let options = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers (the web portal) run during an import.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                        // Identity keys are random, so index inserts touch pages all
                        // over a large registry; SQLite's 2 MiB default cache makes
                        // bulk import read them back from the OS again and again.
                        sqlx::query("PRAGMA cache_size = -131072").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        migrate_beside(
            &pool,
            sqlx::migrate!("migrations/sqlite"),
            sqlx::migrate!("migrations/postgres"),
        )
        .await?;
        Ok(Registry { pool })
    }

    /// The underlying pool, for crates that keep their own tables beside it.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Row counts of the three tiers.
    pub async fn counts(&self) -> Result<Counts, LibraryError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM parents), (SELECT COUNT(*) FROM batches), \
             (SELECT COUNT(*) FROM samples)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts { parents: row.try_get(0)?, batches: row.try_get(1)?, samples: row.try_get(2)? })
    }

    /// The highest parent id, 0 when there is none. Parents are append-only
    /// with rising ids, so this changes exactly when parents are added (and
    /// costs one index lookup, unlike counting).
    pub async fn newest_parent(&self) -> Result<i64, LibraryError> {
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM parents").fetch_one(&self.pool).await?;
        Ok(newest.unwrap_or(0))
    }

    /// Writes one chunk of an import in a single transaction: the good
    /// records tier by tier, the bad ones into the import's error list, and
    /// the checkpoint, so that a crash keeps all of the chunk or none of it.
    /// Updates `tally` and returns the chunk's bad records.
    pub(crate) async fn write_chunk(
        &self,
        import_id: i64,
        items: Vec<Result<ToWrite, RowError>>,
        records_done: u64,
        tally: &mut Tally,
    ) -> Result<Vec<RowError>, LibraryError> {
        let mut tx = self.pool.begin().await?;
        let mut errors = Vec::new();
        let created = now();
        for item in items {
            tally.records += 1;
            let w = match item {
                Ok(w) => w,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let p = &w.prepared;
            // Look before inserting: PostgreSQL spends an identity value on
            // every conflicting insert, and registry numbers should not skip.
            let known: Option<i64> =
                sqlx::query_scalar("SELECT id FROM parents WHERE inchikey = $1")
                    .bind(&p.identity.inchikey)
                    .fetch_optional(&mut *tx)
                    .await?;
            let inserted: Option<i64> = match known {
                Some(_) => None,
                None => sqlx::query_scalar(
                    "INSERT INTO parents (inchikey, connectivity_key, tautomer_hash, smiles, inchi, \
                     mol_wt, exact_mol_wt, clogp, tpsa, hbd, hba, rotatable_bonds, rings, \
                     aromatic_rings, heavy_atoms, formal_charge, fraction_csp3, morgan, pattern, \
                     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                     $15, $16, $17, $18, $19, $20) ON CONFLICT (inchikey) DO NOTHING RETURNING id",
                )
                .bind(&p.identity.inchikey)
                .bind(&p.identity.connectivity_key)
                .bind(&p.identity.tautomer_hash)
                .bind(&p.identity.smiles)
                .bind(&p.identity.inchi)
                .bind(p.descriptors.mol_wt)
                .bind(p.descriptors.exact_mol_wt)
                .bind(p.descriptors.clogp)
                .bind(p.descriptors.tpsa)
                .bind(i64::from(p.descriptors.hbd))
                .bind(i64::from(p.descriptors.hba))
                .bind(i64::from(p.descriptors.rotatable_bonds))
                .bind(i64::from(p.descriptors.rings))
                .bind(i64::from(p.descriptors.aromatic_rings))
                .bind(i64::from(p.descriptors.heavy_atoms))
                .bind(i64::from(p.descriptors.formal_charge))
                .bind(p.descriptors.fraction_csp3)
                .bind(p.morgan.to_bytes())
                .bind(p.pattern.to_bytes())
                .bind(created)
                .fetch_optional(&mut *tx)
                .await?,
            };
            let parent_id = match (known, inserted) {
                (Some(id), _) | (None, Some(id)) => id,
                // Another writer registered it between our look and our insert.
                (None, None) => {
                    sqlx::query_scalar("SELECT id FROM parents WHERE inchikey = $1")
                        .bind(&p.identity.inchikey)
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            let batch_id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO batches (parent_id, source, external_id, submitted_smiles, \
                 salt_form, supplier, purity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (source, external_id) DO NOTHING RETURNING id",
            )
            .bind(parent_id)
            .bind(&w.batch.source)
            .bind(&w.batch.external_id)
            .bind(&p.submitted_smiles)
            .bind(&p.salt_form)
            .bind(w.batch.supplier.as_deref())
            .bind(Float8(w.batch.purity))
            .bind(created)
            .fetch_optional(&mut *tx)
            .await?;
            let batch_new = batch_id.is_some();
            let batch_id = match batch_id {
                Some(id) => id,
                None => {
                    let row = sqlx::query(
                        "SELECT id, parent_id FROM batches WHERE source = $1 AND external_id = $2",
                    )
                    .bind(&w.batch.source)
                    .bind(&w.batch.external_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let existing_parent: i64 = row.try_get(1)?;
                    if existing_parent != parent_id {
                        errors.push(RowError {
                            record: w.record,
                            line: w.line,
                            id: Some(w.batch.external_id.clone()),
                            reason: format!(
                                "id '{}' of source '{}' is already registered as {} with a \
                                 different structure; give this record another id",
                                w.batch.external_id,
                                w.batch.source,
                                CompoundId(existing_parent)
                            ),
                            input: w.input,
                        });
                        continue;
                    }
                    row.try_get(0)?
                }
            };
            let mut sample_new = false;
            if let Some(s) = &w.sample {
                let done = sqlx::query(
                    "INSERT INTO samples (batch_id, container, barcode, well, concentration_mm, \
                     volume_ul, location, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (barcode, well) DO NOTHING",
                )
                .bind(batch_id)
                .bind(&s.container)
                .bind(&s.barcode)
                .bind(&s.well)
                .bind(Float8(s.concentration_mm))
                .bind(Float8(s.volume_ul))
                .bind(s.location.as_deref())
                .bind(created)
                .execute(&mut *tx)
                .await?;
                sample_new = done.rows_affected() == 1;
            }
            tally.parents_new += u64::from(inserted.is_some());
            tally.batches_new += u64::from(batch_new);
            tally.samples_new += u64::from(sample_new);
            if inserted.is_none() && !batch_new && !sample_new {
                tally.unchanged += 1;
            }
        }
        tally.errors += errors.len() as u64;
        for e in &errors {
            sqlx::query(
                "INSERT INTO import_errors (import_id, record, line, external_id, reason, input) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (import_id, record) DO NOTHING",
            )
            .bind(import_id)
            .bind(e.record as i64)
            .bind(e.line as i64)
            .bind(e.id.as_deref().map(|id| clip(id, MAX_KEPT_CHARS)))
            .bind(&e.reason)
            .bind(clip(&e.input, MAX_KEPT_CHARS))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE imports SET records_done = $1, parents_new = $2, batches_new = $3, \
             samples_new = $4, errors = $5, unchanged = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(records_done as i64)
        .bind(tally.parents_new as i64)
        .bind(tally.batches_new as i64)
        .bind(tally.samples_new as i64)
        .bind(tally.errors as i64)
        .bind(tally.unchanged as i64)
        .bind(now())
        .bind(import_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(errors)
    }

    /// A compound with all its tiers and relatives.
    pub async fn compound(&self, id: CompoundId) -> Result<Compound, LibraryError> {
        let row = sqlx::query(&format!("SELECT {PARENT_COLUMNS} FROM parents WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LibraryError::NotFound(id.to_string()))?;
        let parent = parent_from_row(&row)?;
        let batches = sqlx::query(
            "SELECT id, source, external_id, submitted_smiles, salt_form, supplier, purity \
             FROM batches WHERE parent_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Batch {
                id: r.try_get(0)?,
                source: r.try_get(1)?,
                external_id: r.try_get(2)?,
                submitted_smiles: r.try_get(3)?,
                salt_form: r.try_get(4)?,
                supplier: r.try_get(5)?,
                purity: r.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let samples = sqlx::query(
            "SELECT s.batch_id, s.container, s.barcode, s.well, s.concentration_mm, s.volume_ul, \
             s.location FROM samples s JOIN batches b ON b.id = s.batch_id \
             WHERE b.parent_id = $1 ORDER BY s.id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Sample {
                batch_id: r.try_get(0)?,
                container: SampleData {
                    container: r.try_get(1)?,
                    barcode: r.try_get(2)?,
                    well: r.try_get(3)?,
                    concentration_mm: r.try_get(4)?,
                    volume_ul: r.try_get(5)?,
                    location: r.try_get(6)?,
                },
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let related = sqlx::query(
            "SELECT id, smiles, connectivity_key FROM parents \
             WHERE id <> $1 AND (connectivity_key = $2 OR tautomer_hash = $3) ORDER BY id LIMIT 50",
        )
        .bind(id.0)
        .bind(&parent.identity.connectivity_key)
        .bind(&parent.identity.tautomer_hash)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let same_skeleton = r.try_get::<String, _>(2)? == parent.identity.connectivity_key;
            Ok(Related {
                id: CompoundId(r.try_get(0)?),
                smiles: r.try_get(1)?,
                relation: if same_skeleton { "stereo/isotope variant" } else { "tautomer" },
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Compound { parent, batches, samples, related })
    }

    /// One kind of stored fingerprint of the parents with ids above
    /// `after`, as a search index.
    async fn fingerprints_after(
        &self,
        kind: FingerprintKind,
        after: i64,
    ) -> Result<fpindex::Index, LibraryError> {
        use futures_util::TryStreamExt;
        let words = kind.default_bits() / 64;
        let sql = format!("SELECT id, {} FROM parents WHERE id > $1", kind.column());
        // Rows stream straight into two flat arrays; a million parents
        // would otherwise hold every row object and blob at once.
        let mut rows = sqlx::query(&sql).bind(after).fetch(&self.pool);
        let (mut ids, mut flat) = (Vec::new(), Vec::new());
        while let Some(r) = rows.try_next().await? {
            let id: i64 = r.try_get(0)?;
            let bytes: &[u8] = r.try_get(1)?;
            let fp = Fingerprint::from_bytes(bytes)
                .filter(|fp| fp.words().len() == words)
                .ok_or_else(|| {
                    LibraryError::Corrupt(format!(
                        "fingerprint of {} has {} bytes, not {}",
                        CompoundId(id),
                        bytes.len(),
                        words * 8
                    ))
                })?;
            ids.push(id as u64);
            flat.extend_from_slice(fp.words());
        }
        Ok(fpindex::Index::from_flat(words, ids, flat))
    }

    /// The search index of `kind` kept in the folder `dir`, brought in step
    /// with the registry first.
    ///
    /// The index is a base file and a delta file of later parents. Parents
    /// are append-only with rising ids, so the parents above the highest id
    /// held are exactly the missing ones: they are read alone and added to
    /// the delta; the delta is folded into the base once it holds more than
    /// an eighth of it, so appends stay small and searches see at most two
    /// segments. Any other mismatch (a damaged file, a registry replaced
    /// under the index, ids committed out of order) rebuilds from scratch.
    pub async fn fingerprint_index_in(
        &self,
        kind: FingerprintKind,
        dir: &Path,
    ) -> Result<fpindex::Segments, LibraryError> {
        let (base_path, delta_path) = index_paths(kind, dir);
        let parents = usize::try_from(self.counts().await?.parents).unwrap_or(0);
        let Ok(base) = fpindex::Index::open(&base_path) else {
            return self.rebuild_index(kind, dir).await;
        };
        let delta = delta_path.exists().then(|| fpindex::Index::open(&delta_path).ok()).flatten();
        let held = fpindex::Segments::new(std::iter::once(base).chain(delta).collect());
        if held.len() == parents {
            return Ok(held);
        }
        let after = held.max_id().map_or(0, |id| id as i64);
        let new = self.fingerprints_after(kind, after).await?;
        if held.len() > parents || held.len() + new.len() != parents {
            return self.rebuild_index(kind, dir).await;
        }
        let mut parts: Vec<fpindex::Index> = held.into_parts();
        let base = parts.remove(0);
        parts.push(new);
        let delta = fpindex::Segments::new(parts).merged();
        if delta.len() * 8 > base.len() {
            fpindex::Segments::new(vec![base, delta]).merged().write(&base_path)?;
            remove_if_present(&delta_path)?;
            return Ok(fpindex::Segments::new(vec![fpindex::Index::open(&base_path)?]));
        }
        delta.write(&delta_path)?;
        Ok(fpindex::Segments::new(vec![base, fpindex::Index::open(&delta_path)?]))
    }

    /// Rebuilds the search index of `kind` in `dir` from every parent.
    pub async fn rebuild_index(
        &self,
        kind: FingerprintKind,
        dir: &Path,
    ) -> Result<fpindex::Segments, LibraryError> {
        let (base_path, delta_path) = index_paths(kind, dir);
        fs_err::create_dir_all(dir)
            .map_err(|source| LibraryError::Write { path: dir.to_owned(), source })?;
        self.fingerprints_after(kind, 0).await?.write(&base_path)?;
        remove_if_present(&delta_path)?;
        Ok(fpindex::Segments::new(vec![fpindex::Index::open(&base_path)?]))
    }

    /// The structure store in the folder `dir`, brought in step with the
    /// registry first: parents above the highest id held are packed and
    /// appended (the file is rewritten from the old one, not from the
    /// database); any other mismatch rebuilds it.
    pub async fn structures_in(&self, dir: &Path) -> Result<crate::Structures, LibraryError> {
        use futures_util::TryStreamExt;
        let path = crate::structures::path_in(dir);
        let parents = usize::try_from(self.counts().await?.parents).unwrap_or(0);
        let mut held = crate::Structures::open(&path).ok().filter(|s| s.len() <= parents);
        if let Some(current) = held.take_if(|s| s.len() == parents) {
            return with_kinds(dir, current).await;
        }
        let after = held.as_ref().and_then(|s| s.max_id()).unwrap_or(0);
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, smiles FROM parents WHERE id > $1 ORDER BY id")
                .bind(after)
                .fetch(&self.pool)
                .try_collect()
                .await?;
        let held = held.filter(|s| s.len() + rows.len() == parents);
        let rows = if held.is_none() && after > 0 {
            sqlx::query_as("SELECT id, smiles FROM parents ORDER BY id")
                .fetch_all(&self.pool)
                .await?
        } else {
            rows
        };
        fs_err::create_dir_all(dir)?;
        remove_if_present(&dir.join(crate::structures::OLD_FILE_NAME))?;
        let packed = tokio::task::spawn_blocking(move || crate::structures::pack_all(&rows))
            .await
            .expect("packing task")?;
        let store = crate::Structures::extend_to(held.as_ref(), &packed, &path)?;
        with_kinds(dir, store).await
    }

    /// Canonical SMILES of each parent in `ids`, in the same order.
    pub async fn smiles_of(&self, ids: &[CompoundId]) -> Result<Vec<String>, LibraryError> {
        let found = self.parent_rows(ids, "id, smiles").await?;
        in_order(ids, &found, |r| Ok(r.try_get(1)?))
    }

    /// The parent tier of each of `ids`, in the same order.
    pub async fn parents(&self, ids: &[CompoundId]) -> Result<Vec<Parent>, LibraryError> {
        let found = self.parent_rows(ids, PARENT_COLUMNS).await?;
        in_order(ids, &found, parent_from_row)
    }

    /// The rows of `ids` (`columns` must start with `id`), by id.
    async fn parent_rows(
        &self,
        ids: &[CompoundId],
        columns: &str,
    ) -> Result<std::collections::HashMap<i64, AnyRow>, LibraryError> {
        // A few hundred ids per statement: one round trip each, and well
        // inside every backend's limit on bound parameters.
        const PER_QUERY: usize = 500;
        let mut found = std::collections::HashMap::with_capacity(ids.len());
        let mut conn = self.pool.acquire().await?;
        for part in ids.chunks(PER_QUERY) {
            let marks: Vec<String> = (1..=part.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {columns} FROM parents WHERE id IN ({})", marks.join(","));
            let mut query = sqlx::query(&sql);
            for id in part {
                query = query.bind(id.0);
            }
            for r in query.fetch_all(&mut *conn).await? {
                found.insert(r.try_get::<i64, _>(0)?, r);
            }
        }
        Ok(found)
    }
}

/// `read` of each of `ids`' rows, in the order of `ids`.
fn in_order<T>(
    ids: &[CompoundId],
    rows: &std::collections::HashMap<i64, AnyRow>,
    read: impl Fn(&AnyRow) -> Result<T, LibraryError>,
) -> Result<Vec<T>, LibraryError> {
    ids.iter()
        .map(|id| {
            rows.get(&id.0).ok_or_else(|| LibraryError::NotFound(id.to_string())).and_then(&read)
        })
        .collect()
}

/// Applies one crate's migrations to the platform database, picking the
/// SQLite or PostgreSQL set by the pool's URL. Several crates (library,
/// accounts, requests, jobs) keep tables in the one database, each with
/// migrations numbered apart, so each run leaves the others' alone.
pub async fn migrate_beside(
    pool: &AnyPool,
    sqlite: sqlx::migrate::Migrator,
    postgres: sqlx::migrate::Migrator,
) -> Result<(), sqlx::migrate::MigrateError> {
    let is_sqlite = pool.connect_options().database_url.scheme().starts_with("sqlite");
    let mut migrator = if is_sqlite { sqlite } else { postgres };
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

/// The base and delta files of the index of `kind` in `dir`.
fn index_paths(kind: FingerprintKind, dir: &Path) -> (PathBuf, PathBuf) {
    let base = dir.join(kind.file_name());
    let delta = base.with_extension("delta.sfp");
    (base, delta)
}

fn remove_if_present(path: &Path) -> Result<(), LibraryError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(LibraryError::Write { path: path.to_owned(), source: e })
        }
        _ => Ok(()),
    }
}

/// An optional float bound so that PostgreSQL always sees `float8`: every
/// crate binds nullable floats through it.
/// sqlx 0.8's Any driver sends a NULL `f64` as `float4` (its Real and Double
/// cases are swapped), and a statement first prepared with such a NULL then
/// rejects a real value ("incorrect binary data format"). A NULL `f32` goes
/// out as `float8`, so that is what a missing value is bound as.
pub struct Float8(pub Option<f64>);

impl sqlx::Type<sqlx::Any> for Float8 {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Any> for Float8 {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(v) => <f64 as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&v, buf),
            None => <Option<f32> as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&None, buf),
        }
    }
}

const PARENT_COLUMNS: &str = "id, smiles, inchi, inchikey, connectivity_key, tautomer_hash, \
     mol_wt, exact_mol_wt, clogp, tpsa, hbd, hba, rotatable_bonds, rings, aromatic_rings, \
     heavy_atoms, formal_charge, fraction_csp3";

fn parent_from_row(r: &AnyRow) -> Result<Parent, LibraryError> {
    Ok(Parent {
        id: CompoundId(r.try_get(0)?),
        identity: ParentIdentity {
            smiles: r.try_get(1)?,
            inchi: r.try_get(2)?,
            inchikey: r.try_get(3)?,
            connectivity_key: r.try_get(4)?,
            tautomer_hash: r.try_get(5)?,
        },
        descriptors: Descriptors {
            mol_wt: r.try_get(6)?,
            exact_mol_wt: r.try_get(7)?,
            clogp: r.try_get(8)?,
            tpsa: r.try_get(9)?,
            hbd: count(r, 10)?,
            hba: count(r, 11)?,
            rotatable_bonds: count(r, 12)?,
            rings: count(r, 13)?,
            aromatic_rings: count(r, 14)?,
            heavy_atoms: count(r, 15)?,
            formal_charge: r.try_get::<i64, _>(16)? as i32,
            fraction_csp3: r.try_get(17)?,
        },
    })
}

fn count(r: &AnyRow, i: usize) -> Result<u32, LibraryError> {
    let v: i64 = r.try_get(i)?;
    u32::try_from(v).map_err(|_| LibraryError::Corrupt(format!("negative count {v} in column {i}")))
}

/// `store` with its atom kinds: those in `dir` when they describe it,
/// otherwise derived afresh (on all cores) and written there.
async fn with_kinds(
    dir: &Path,
    store: crate::Structures,
) -> Result<crate::Structures, LibraryError> {
    use crate::kinds::AtomKinds;
    let path = crate::kinds::path_in(dir);
    if let Ok(kinds) = AtomKinds::open(&path) {
        if kinds.describes(&store) {
            return Ok(store.with_kinds(kinds));
        }
    }
    let (store, kinds) = tokio::task::spawn_blocking(move || {
        let kinds = AtomKinds::build(&store);
        (store, kinds)
    })
    .await
    .expect("atom kinds task");
    let kinds = kinds?;
    kinds.write(&path)?;
    Ok(store.with_kinds(kinds))
}

/// How much of a bad record's input and id is kept for its report: enough
/// to find it in the file, never the megabytes a hostile line may hold.
const MAX_KEPT_CHARS: usize = 500;

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
