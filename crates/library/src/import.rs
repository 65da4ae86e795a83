//! Bulk import of SMILES, CSV and SD files (plain or gzip) into the registry.
//!
//! Three stages run at once: a reader thread cuts the file into chunks of
//! records, one worker per core prepares the chemistry, and the caller's
//! task writes chunks in file order, each in one transaction with the import's
//! checkpoint. Hence:
//! - a bad record becomes a [`RowError`] (line and reason) and the rest land;
//! - an interrupted or cancelled import resumes after the last committed
//!   chunk, and identity keys (InChIKey, source + id, barcode + well) make any
//!   replay register nothing twice;
//! - importing a file that was imported completely is a no-op unless
//!   [`ImportOptions::recheck`] asks to go through it again.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chem::sdf::SdfReader;
use chem::Molecule;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::limited::{self, Limited};
use crate::registry::{NewBatch, SampleData};
use crate::{now, prepare, LibraryError, PrepareOptions, Prepared, Registry};

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One `SMILES [id]` per line, whitespace-separated.
    Smiles,
    /// Comma- or tab-separated with a header row.
    Csv,
    /// MDL SD file, V2000 or V3000 mol blocks.
    Sdf,
}

impl Format {
    /// Guesses the format from the file name (`.smi`, `.csv`, `.tsv`, `.sdf`,
    /// `.mol`, optionally followed by `.gz`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "smi" | "smiles" | "ism" | "txt" => Some(Format::Smiles),
            "csv" | "tsv" => Some(Format::Csv),
            "sdf" | "sd" | "mol" => Some(Format::Sdf),
            _ => None,
        }
    }
}

/// How to read and register a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The format; guessed from the file name when `None`.
    pub format: Option<Format>,
    /// CSV column (or SD data item) holding the record id.
    pub id_column: Option<String>,
    /// CSV column holding the SMILES.
    pub smiles_column: Option<String>,
    /// Source (library) name for the batches; the file stem when `None`.
    pub source: Option<String>,
    /// Chemistry applied to each structure.
    pub prepare: PrepareOptions,
    /// Records per transaction.
    pub chunk_size: usize,
    /// Worker threads for the chemistry; all cores when 0.
    pub threads: usize,
    /// Go through a file again even though it was imported completely.
    pub recheck: bool,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            format: None,
            id_column: None,
            smiles_column: None,
            source: None,
            prepare: PrepareOptions::default(),
            chunk_size: 512,
            threads: 0,
            recheck: false,
        }
    }
}

/// A record that could not be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based record number (data rows for CSV, records for SDF).
    pub record: u64,
    /// 1-based line where the record starts.
    pub line: u64,
    /// The record's id, when it has one.
    pub id: Option<String>,
    /// What is wrong with it.
    pub reason: String,
    /// The structure text as given (SMILES, or the SD record's title).
    pub input: String,
}

/// Running counts of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Records read past the resume point.
    pub records: u64,
    /// New parent structures.
    pub parents_new: u64,
    /// New batches.
    pub batches_new: u64,
    /// New samples.
    pub samples_new: u64,
    /// Good records that were all already registered.
    pub unchanged: u64,
    /// Bad records.
    pub errors: u64,
}

/// Progress of a running import, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Records committed so far (including those before a resume).
    pub records_done: u64,
    /// Bad records so far.
    pub errors: u64,
    /// Bytes of the file read so far.
    pub bytes_read: u64,
    /// Size of the file.
    pub bytes_total: u64,
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The import's key in the registry.
    pub import_id: i64,
    /// Source name used for the batches.
    pub source: String,
    /// Counts over the whole import, resumed parts included.
    pub tally: Tally,
    /// The record number this run started after (0 for a fresh import).
    pub resumed_after: u64,
    /// The file had been imported completely before; nothing was done.
    pub already_complete: bool,
    /// Stopped by the cancel flag; run again to resume.
    pub cancelled: bool,
}

/// One prepared record on its way to the database.
pub(crate) struct ToWrite {
    pub prepared: Prepared,
    pub batch: NewBatch,
    pub sample: Option<SampleData>,
    pub record: u64,
    pub line: u64,
    pub input: String,
}

/// A record as read from the file, before any chemistry.
struct RawRecord {
    number: u64,
    line: u64,
    id: String,
    structure: Structure,
    batch: NewBatch,
    sample: Option<SampleData>,
}

enum Structure {
    Smiles(String),
    MolBlock { title: String, block: String },
}

impl Structure {
    fn display(&self) -> String {
        match self {
            Structure::Smiles(s) => s.clone(),
            Structure::MolBlock { title, .. } => format!("SD record '{title}'"),
        }
    }
}

type Chunk = (usize, Vec<Result<RawRecord, RowError>>);
type DoneChunk = (usize, u64, Vec<Result<ToWrite, RowError>>);

/// Imports `path` into `registry`. `progress` is called after each committed
/// chunk; setting `cancel` stops the import after the chunks in flight, and a
/// later call resumes it.
pub async fn import_file(
    registry: &Registry,
    path: &Path,
    options: &ImportOptions,
    progress: &(dyn Fn(Progress) + Send + Sync),
    cancel: &AtomicBool,
) -> Result<ImportSummary, LibraryError> {
    let format = options.format.or_else(|| Format::from_path(path)).ok_or_else(|| {
        LibraryError::BadInput {
            path: path.to_owned(),
            reason: "cannot tell the format from the file name; pass --format smi|csv|sdf".into(),
        }
    })?;
    let read_err = |source| LibraryError::Read { path: path.to_owned(), source };
    let bytes_total = fs_err::metadata(path).map_err(read_err)?.len();
    let digest = file_digest(path)?;
    let source = options.source.clone().unwrap_or_else(|| file_stem(path));

    let (import_id, resume_after, mut tally, already_complete) =
        begin_import(registry, &digest, &source, path, options.recheck).await?;
    if already_complete {
        return Ok(ImportSummary {
            import_id,
            source,
            tally,
            resumed_after: resume_after,
            already_complete: true,
            cancelled: false,
        });
    }

    let file = fs_err::File::open(path).map_err(read_err)?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let counted = CountingReader { inner: file, count: bytes_read.clone() };
    let max_total = (bytes_total.saturating_mul(limited::MAX_INFLATION))
        .max(limited::MIN_INFLATED_BYTES)
        .max(bytes_total);
    let input =
        Limited::new(decompressing(counted).map_err(read_err)?, limited::MAX_LINE_BYTES, max_total);
    let over_total = input.over_total();
    let input: Box<dyn BufRead + Send> = Box::new(input);
    let reader = records(input, format, options, &source, path)?;

    let threads = if options.threads == 0 { parallel::cores() } else { options.threads };
    let (chunk_tx, chunk_rx) = crossbeam_channel::bounded::<Chunk>(threads * 2);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<DoneChunk>(threads * 2);
    let stop = Arc::new(AtomicBool::new(false));
    let chunk_size = options.chunk_size.max(1);

    let reader_stop = stop.clone();
    let reader_thread = parallel::spawn("import-reader", move || {
        let mut chunk = Vec::with_capacity(chunk_size);
        let mut index = 0;
        for record in reader {
            if reader_stop.load(Ordering::Relaxed) {
                return;
            }
            let number = match &record {
                Ok(r) => r.number,
                Err(e) => e.record,
            };
            if number <= resume_after {
                continue;
            }
            chunk.push(record);
            if chunk.len() == chunk_size {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                if chunk_tx.send((index, full)).is_err() {
                    return;
                }
                index += 1;
            }
        }
        if !chunk.is_empty() {
            let _ = chunk_tx.send((index, chunk));
        }
    });

    let prepare_options = options.prepare;
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let rx = chunk_rx.clone();
            let tx = done_tx.clone();
            parallel::spawn("import-worker", move || {
                for (index, chunk) in rx {
                    let last = chunk
                        .iter()
                        .map(|r| match r {
                            Ok(r) => r.number,
                            Err(e) => e.record,
                        })
                        .max()
                        .unwrap_or(0);
                    let done = chunk
                        .into_iter()
                        .map(|r| r.and_then(|raw| prepare_record(raw, prepare_options)))
                        .collect();
                    if tx.blocking_send((index, last, done)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(chunk_rx);
    drop(done_tx);

    // Chunks finish out of order; commit them in order so the checkpoint is
    // always a prefix of the file.
    let mut pending: BTreeMap<usize, (u64, Vec<Result<ToWrite, RowError>>)> = BTreeMap::new();
    let mut next = 0;
    let mut records_done = resume_after;
    let mut cancelled = false;
    let mut failure = None;
    while let Some((index, last, items)) = done_rx.recv().await {
        if cancel.load(Ordering::Relaxed) && !cancelled {
            // Work in flight is dropped uncommitted; a resume redoes it.
            cancelled = true;
            stop.store(true, Ordering::Relaxed);
        }
        pending.insert(index, (last, items));
        while let Some((last, items)) = pending.remove(&next) {
            if failure.is_none() && !cancelled {
                records_done = records_done.max(last);
                if let Err(e) =
                    registry.write_chunk(import_id, items, records_done, &mut tally).await
                {
                    failure = Some(e);
                    stop.store(true, Ordering::Relaxed);
                }
                progress(Progress {
                    records_done,
                    errors: tally.errors,
                    bytes_read: bytes_read.load(Ordering::Relaxed),
                    bytes_total,
                });
            }
            next += 1;
        }
    }
    let _ = reader_thread.join();
    for w in workers {
        let _ = w.join();
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if over_total.load(Ordering::Relaxed) && !cancelled {
        // What came before the limit is registered; the import stays open.
        return Err(LibraryError::BadInput {
            path: path.to_owned(),
            reason: format!(
                "the file decompresses to more than {max_total} bytes ({}× its size, at least \
                 1 GiB); split it or send it uncompressed",
                limited::MAX_INFLATION
            ),
        });
    }
    let status = if cancelled { "cancelled" } else { "complete" };
    sqlx::query("UPDATE imports SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now())
        .bind(import_id)
        .execute(registry.pool())
        .await?;
    Ok(ImportSummary {
        import_id,
        source,
        tally,
        resumed_after: resume_after,
        already_complete: false,
        cancelled,
    })
}

/// All bad records of an import, in file order.
pub async fn import_errors(
    registry: &Registry,
    import_id: i64,
) -> Result<Vec<RowError>, LibraryError> {
    let rows = sqlx::query(
        "SELECT record, line, external_id, reason, input FROM import_errors \
         WHERE import_id = $1 ORDER BY record",
    )
    .bind(import_id)
    .fetch_all(registry.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RowError {
                record: r.try_get::<i64, _>(0)? as u64,
                line: r.try_get::<i64, _>(1)? as u64,
                id: r.try_get(2)?,
                reason: r.try_get(3)?,
                input: r.try_get(4)?,
            })
        })
        .collect()
}

/// Text for a CSV cell that a spreadsheet shows as text, never runs as a
/// formula: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return (what spreadsheets take for a formula) gets a leading `'`.
/// For cells holding what someone sent, such as a bad record's input.
pub fn spreadsheet_text(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Writes `errors` as a CSV report a user can open in a spreadsheet; cells
/// from the input cannot act as formulas ([`spreadsheet_text`]).
pub fn write_error_report(path: &Path, errors: &[RowError]) -> Result<(), LibraryError> {
    let io = |source| LibraryError::Write { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        fs_err::create_dir_all(dir).map_err(io)?;
    }
    let file = fs_err::File::create(path).map_err(io)?;
    let mut w = csv::Writer::from_writer(file);
    let to_io = |e: csv::Error| io(std::io::Error::other(e));
    w.write_record(["record", "line", "id", "reason", "input"]).map_err(to_io)?;
    for e in errors {
        w.write_record([
            e.record.to_string(),
            e.line.to_string(),
            spreadsheet_text(e.id.as_deref().unwrap_or_default()).into_owned(),
            spreadsheet_text(&e.reason).into_owned(),
            spreadsheet_text(&e.input).into_owned(),
        ])
        .map_err(to_io)?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// Finds or creates the import's bookkeeping row. Returns its id, the record
/// to resume after, the tally so far, and whether it is already complete.
async fn begin_import(
    registry: &Registry,
    digest: &str,
    source: &str,
    path: &Path,
    recheck: bool,
) -> Result<(i64, u64, Tally, bool), LibraryError> {
    let pool = registry.pool();
    let existing = sqlx::query(
        "SELECT id, status, records_done, parents_new, batches_new, samples_new, errors, \
         unchanged FROM imports WHERE digest = $1 AND source = $2",
    )
    .bind(digest)
    .bind(source)
    .fetch_optional(pool)
    .await?;
    let Some(row) = existing else {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO imports (digest, source, path, status, records_done, parents_new, \
             batches_new, samples_new, errors, unchanged, started_at, updated_at) \
             VALUES ($1, $2, $3, 'running', 0, 0, 0, 0, 0, 0, $4, $4) RETURNING id",
        )
        .bind(digest)
        .bind(source)
        .bind(path.display().to_string())
        .bind(now())
        .fetch_one(pool)
        .await?;
        return Ok((id, 0, Tally::default(), false));
    };
    let id: i64 = row.try_get(0)?;
    let status: String = row.try_get(1)?;
    let count = |i: usize| row.try_get::<i64, _>(i).map(|v| v as u64);
    let tally = Tally {
        records: count(2)?,
        parents_new: count(3)?,
        batches_new: count(4)?,
        samples_new: count(5)?,
        errors: count(6)?,
        unchanged: count(7)?,
    };
    if status == "complete" && !recheck {
        return Ok((id, tally.records, tally, true));
    }
    if status == "complete" {
        // A recheck goes through the whole file again and counts afresh.
        sqlx::query("DELETE FROM import_errors WHERE import_id = $1")
            .bind(id)
            .execute(pool)
            .await?;
        sqlx::query(
            "UPDATE imports SET status = 'running', records_done = 0, parents_new = 0, \
             batches_new = 0, samples_new = 0, errors = 0, unchanged = 0, updated_at = $1 \
             WHERE id = $2",
        )
        .bind(now())
        .bind(id)
        .execute(pool)
        .await?;
        return Ok((id, 0, Tally::default(), false));
    }
    sqlx::query("UPDATE imports SET status = 'running', updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(pool)
        .await?;
    Ok((id, tally.records, tally, false))
}

fn prepare_record(raw: RawRecord, options: PrepareOptions) -> Result<ToWrite, RowError> {
    let molecule = match &raw.structure {
        Structure::Smiles(s) => Molecule::from_smiles(s),
        Structure::MolBlock { block, .. } => Molecule::from_molblock(block),
    };
    let input = raw.structure.display();
    let fail = |reason: String| RowError {
        record: raw.number,
        line: raw.line,
        id: Some(raw.id.clone()),
        reason,
        input: input.clone(),
    };
    let molecule = molecule.map_err(|e| fail(e.to_string()))?;
    let prepared = prepare(&molecule, options).map_err(|e| fail(e.to_string()))?;
    Ok(ToWrite {
        prepared,
        batch: raw.batch,
        sample: raw.sample,
        record: raw.number,
        line: raw.line,
        input,
    })
}

fn file_digest(path: &Path) -> Result<String, LibraryError> {
    let mut file = fs_err::File::open(path)
        .map_err(|source| LibraryError::Read { path: path.to_owned(), source })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|source| LibraryError::Read { path: path.to_owned(), source })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn file_stem(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("import");
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem).to_owned()
}

struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Wraps `input` in a gzip decoder when it starts with the gzip magic bytes.
fn decompressing<R: Read + Send + 'static>(input: R) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let gz = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Box::new(buffered)
    })
}

/// Optional columns (or SD data items) recognised by name, case-insensitively.
struct ExtraColumns {
    supplier: Option<usize>,
    purity: Option<usize>,
    plate: Option<usize>,
    well: Option<usize>,
    tube: Option<usize>,
    concentration: Option<usize>,
    volume: Option<usize>,
    location: Option<usize>,
}

impl ExtraColumns {
    fn find(names: &[String]) -> ExtraColumns {
        let find = |options: &[&str]| {
            names.iter().position(|n| options.iter().any(|o| n.trim().eq_ignore_ascii_case(o)))
        };
        ExtraColumns {
            supplier: find(&["supplier", "vendor"]),
            purity: find(&["purity", "purity_pct"]),
            plate: find(&["plate", "plate_barcode", "barcode"]),
            well: find(&["well"]),
            tube: find(&["tube", "tube_barcode"]),
            concentration: find(&["concentration_mm", "conc_mm"]),
            volume: find(&["volume_ul", "vol_ul"]),
            location: find(&["location"]),
        }
    }

    /// Batch and sample facts from a record's fields, or the reason they are
    /// malformed.
    fn read(
        &self,
        get: &dyn Fn(usize) -> Option<String>,
        source: &str,
        id: &str,
    ) -> Result<(NewBatch, Option<SampleData>), String> {
        let text = |c: Option<usize>| c.and_then(get).filter(|v| !v.trim().is_empty());
        let number = |c: Option<usize>, what: &str| -> Result<Option<f64>, String> {
            text(c)
                .map(|v| {
                    v.trim().parse::<f64>().map_err(|_| format!("{what} '{v}' is not a number"))
                })
                .transpose()
        };
        let batch = NewBatch {
            source: source.to_owned(),
            external_id: id.to_owned(),
            supplier: text(self.supplier),
            purity: number(self.purity, "purity")?,
        };
        let concentration_mm = number(self.concentration, "concentration_mm")?;
        let volume_ul = number(self.volume, "volume_ul")?;
        let location = text(self.location);
        let sample = match (text(self.plate), text(self.well), text(self.tube)) {
            (Some(plate), Some(well), _) => Some(SampleData {
                container: "plate".into(),
                barcode: plate,
                well: normalize_well(&well)?,
                concentration_mm,
                volume_ul,
                location,
            }),
            (Some(_), None, _) => return Err("a plate barcode is given without a well".into()),
            (None, Some(_), None) => return Err("a well is given without a plate barcode".into()),
            (None, _, Some(tube)) => Some(SampleData {
                container: "tube".into(),
                barcode: tube,
                well: String::new(),
                concentration_mm,
                volume_ul,
                location,
            }),
            (None, None, None) => None,
        };
        Ok((batch, sample))
    }
}

/// `a1`, `A1` and `A01` all become `A01`; rows run A–AF (1536-well plates).
fn normalize_well(well: &str) -> Result<String, String> {
    let w = well.trim().to_ascii_uppercase();
    let split = w.find(|c: char| c.is_ascii_digit()).unwrap_or(w.len());
    let (row, col) = w.split_at(split);
    let row_ok = matches!(row.len(), 1 | 2)
        && row.bytes().all(|b| b.is_ascii_uppercase())
        && (row.len() == 1 || (row.as_bytes()[0] == b'A' && row.as_bytes()[1] <= b'F'));
    match col.parse::<u32>() {
        Ok(c) if row_ok && (1..=48).contains(&c) => Ok(format!("{row}{c:02}")),
        _ => Err(format!("'{well}' is not a well position like A01")),
    }
}

/// Records of any format as one stream.
fn records(
    input: Box<dyn BufRead + Send>,
    format: Format,
    options: &ImportOptions,
    source: &str,
    path: &Path,
) -> Result<Box<dyn Iterator<Item = Result<RawRecord, RowError>> + Send>, LibraryError> {
    let source = source.to_owned();
    Ok(match format {
        Format::Smiles => Box::new(smiles_records(input, source)),
        Format::Csv => Box::new(csv_records(input, options, source, path)?),
        Format::Sdf => Box::new(sdf_records(input, options.id_column.clone(), source)),
    })
}

fn io_row_error(record: u64, line: u64, e: impl std::fmt::Display) -> RowError {
    RowError {
        record,
        line,
        id: None,
        reason: format!("unreadable input: {e}"),
        input: String::new(),
    }
}

fn smiles_records(
    input: Box<dyn BufRead + Send>,
    source: String,
) -> impl Iterator<Item = Result<RawRecord, RowError>> + Send {
    let mut record = 0u64;
    input.lines().enumerate().filter_map(move |(i, line)| {
        let line_no = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                record += 1;
                return Some(Err(io_row_error(record, line_no, e)));
            }
        };
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            return None;
        }
        let mut parts = text.split_whitespace();
        let smiles = parts.next()?.to_owned();
        if line_no == 1 && smiles.eq_ignore_ascii_case("smiles") {
            return None;
        }
        record += 1;
        let id = parts.next().map(str::to_owned).unwrap_or_else(|| format!("line-{line_no}"));
        Some(Ok(RawRecord {
            number: record,
            line: line_no,
            batch: NewBatch {
                source: source.clone(),
                external_id: id.clone(),
                ..NewBatch::default()
            },
            id,
            structure: Structure::Smiles(smiles),
            sample: None,
        }))
    })
}

fn csv_records(
    mut input: Box<dyn BufRead + Send>,
    options: &ImportOptions,
    source: String,
    path: &Path,
) -> Result<impl Iterator<Item = Result<RawRecord, RowError>> + Send, LibraryError> {
    let bad = |reason: String| LibraryError::BadInput { path: path.to_owned(), reason };
    let head =
        input.fill_buf().map_err(|source| LibraryError::Read { path: path.to_owned(), source })?;
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let delimiter =
        if first_line.contains(&b'\t') && !first_line.contains(&b',') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("cannot read the header row: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let column = |wanted: &Option<String>,
                  defaults: &[&str],
                  what: &str|
     -> Result<Option<usize>, LibraryError> {
        match wanted {
            Some(name) => headers.iter().position(|h| h == name).map(Some).ok_or_else(|| {
                bad(format!("no {what} column '{name}'; the columns are: {}", headers.join(", ")))
            }),
            None => Ok(headers
                .iter()
                .position(|h| defaults.iter().any(|d| h.trim().eq_ignore_ascii_case(d)))),
        }
    };
    let smiles_col =
        column(&options.smiles_column, &["smiles", "canonical_smiles", "structure"], "SMILES")?
            .ok_or_else(|| {
                bad(format!(
                    "no SMILES column found; name it with --smiles-column (the columns are: {})",
                    headers.join(", ")
                ))
            })?;
    let id_col = column(&options.id_column, &["id", "compound_id", "name", "identifier"], "id")?;
    let extras = ExtraColumns::find(&headers);
    let width = headers.len();
    let mut number = 0u64;
    Ok(reader.into_records().map(move |row| {
        number += 1;
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            io_row_error(number, line, e)
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let get = |i: usize| row.get(i).map(str::to_owned);
        let id = id_col
            .and_then(get)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| format!("line-{line}"));
        let fail = |reason: String| RowError {
            record: number,
            line,
            id: Some(id.clone()),
            reason,
            input: row.get(smiles_col).unwrap_or("").to_owned(),
        };
        if row.len() != width {
            return Err(fail(format!("{} fields where the header has {width}", row.len())));
        }
        let smiles = row.get(smiles_col).unwrap_or("").to_owned();
        let (batch, sample) = extras.read(&get, &source, &id).map_err(fail)?;
        Ok(RawRecord { number, line, id, structure: Structure::Smiles(smiles), batch, sample })
    }))
}

fn sdf_records(
    input: Box<dyn BufRead + Send>,
    id_item: Option<String>,
    source: String,
) -> impl Iterator<Item = Result<RawRecord, RowError>> + Send {
    let mut reader = SdfReader::new(input);
    std::iter::from_fn(move || {
        let record = reader.next()?;
        Some(record.map_err(|e| io_row_error(reader.records_read(), reader.lines_read(), e)))
    })
    .map(move |record| {
        let record = record?;
        let id = id_item
            .as_deref()
            .and_then(|item| record.get(item))
            .map(str::to_owned)
            .or_else(|| Some(record.title().to_owned()).filter(|t| !t.is_empty()))
            .unwrap_or_else(|| format!("record-{}", record.number));
        let names: Vec<String> = record.data.iter().map(|(k, _)| k.clone()).collect();
        let extras = ExtraColumns::find(&names);
        let get = |i: usize| record.data.get(i).map(|(_, v)| v.clone());
        let (batch, sample) = extras.read(&get, &source, &id).map_err(|reason| RowError {
            record: record.number,
            line: record.line,
            id: Some(id.clone()),
            reason,
            input: format!("SD record '{}'", record.title()),
        })?;
        Ok(RawRecord {
            number: record.number,
            line: record.line,
            structure: Structure::MolBlock {
                title: record.title().to_owned(),
                block: record.molblock,
            },
            id,
            batch,
            sample,
        })
    })
}

/// Where an import's error report goes by default.
pub fn default_error_report(data_dir: &Path, import_id: i64) -> PathBuf {
    data_dir.join("imports").join(format!("import-{import_id}-errors.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_quoted() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_text(formula), format!("'{formula}"));
        }
        for text in ["CCO", "c1ccccc1", "line-3", "", "C(=O)O"] {
            assert_eq!(spreadsheet_text(text), text);
        }
    }

    #[test]
    fn wells_normalise() {
        assert_eq!(normalize_well("a1").unwrap(), "A01");
        assert_eq!(normalize_well("P24").unwrap(), "P24");
        assert_eq!(normalize_well("AF48").unwrap(), "AF48");
        assert!(normalize_well("AG1").is_err());
        assert!(normalize_well("A0").is_err());
        assert!(normalize_well("1A").is_err());
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(Format::from_path(Path::new("x.smi.gz")), Some(Format::Smiles));
        assert_eq!(Format::from_path(Path::new("lib.SDF")), Some(Format::Sdf));
        assert_eq!(Format::from_path(Path::new("a.tsv")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("noext")), None);
        assert_eq!(file_stem(Path::new("/d/moses-demo.smi.gz")), "moses-demo");
    }
}
