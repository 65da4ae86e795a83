//! `soyaku library …` and `soyaku search …`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use chem::{Molecule, MorganParams, Rules};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use library::import::{self, Format, ImportOptions, ImportSummary};
use library::substructure::{self, QueryLanguage, SearchLimits};
use library::{CompoundId, FingerprintKind, Registry};
use serde_json::{json, Value};

use crate::chem_cmd::{alerts_json, descriptors_json, merge, rules_json};
use crate::output::{print_record, print_rows, OutputFormat};
use crate::Context;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum InputFormat {
    /// SMILES file: `SMILES [id]` per line.
    Smi,
    /// CSV or TSV with a header row.
    Csv,
    /// SD file (V2000 or V3000).
    Sdf,
}

#[derive(Subcommand)]
pub(crate) enum LibraryCommand {
    /// Registers every structure of a SMILES, CSV or SD file (gzip too).
    /// Bad records go to an error report; an interrupted import resumes.
    Import {
        /// The file to import.
        file: PathBuf,
        /// Input format; guessed from the file name when omitted.
        #[arg(long)]
        format: Option<InputFormat>,
        /// Column (CSV) or data item (SDF) holding the record id.
        #[arg(long)]
        id_column: Option<String>,
        /// Column holding the SMILES (CSV).
        #[arg(long)]
        smiles_column: Option<String>,
        /// Source library name recorded on each batch (default: the file name).
        #[arg(long)]
        source: Option<String>,
        /// Where to write the error report (CSV).
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Go through a completely imported file again.
        #[arg(long)]
        recheck: bool,
        /// Register canonical tautomers (slower).
        #[arg(long)]
        canonical_tautomer: bool,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Summary output format.
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// A compound with all registry tiers, descriptors and filters.
    Show {
        /// Registry id, e.g. SY-0000001.
        id: String,
        /// Write the 2D depiction to this SVG file.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Counts of parents, batches and samples.
    Stats {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum QueryArg {
    /// SMARTS pattern (most SMILES are valid SMARTS).
    Smarts,
    /// A SMILES molecule, matched as drawn.
    Smiles,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum MetricArg {
    /// Common bits over all bits set in either.
    Tanimoto,
    /// Common bits with query-only and library-only bits weighted by α and β.
    Tversky,
}

/// What a similarity search returns.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wanted {
    /// The k best.
    Top(usize),
    /// All at or above a score.
    Threshold(f64),
}

#[derive(Subcommand)]
pub(crate) enum SearchCommand {
    /// Compounds containing a substructure: pattern-fingerprint screen, then
    /// RDKit verification; hits come smallest molecules first.
    Substructure {
        /// The query, SMARTS by default.
        #[arg(long)]
        query: String,
        /// How to read the query.
        #[arg(long = "as", value_enum, default_value_t = QueryArg::Smarts)]
        language: QueryArg,
        /// Stop after this many hits.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Time budget; what was found by then is returned, marked partial.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Compounds most similar to a query (Tanimoto on Morgan r=2, 2048 bits).
    #[command(group = clap::ArgGroup::new("mode").args(["top", "threshold"]))]
    Similar {
        /// Query structure as SMILES.
        #[arg(long)]
        smiles: String,
        /// The K most similar compounds (the default, with K = 10).
        #[arg(long)]
        top: Option<usize>,
        /// Every compound scoring at least T.
        #[arg(long)]
        threshold: Option<f64>,
        /// Similarity measure.
        #[arg(long, value_enum, default_value_t = MetricArg::Tanimoto)]
        metric: MetricArg,
        /// Tversky weight of bits only in the query.
        #[arg(long, default_value_t = 0.5)]
        alpha: f64,
        /// Tversky weight of bits only in the library compound.
        #[arg(long, default_value_t = 0.5)]
        beta: f64,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) async fn run_library(ctx: &Context, command: LibraryCommand) -> Result<()> {
    let registry = ctx.registry().await?;
    match command {
        LibraryCommand::Import {
            file,
            format,
            id_column,
            smiles_column,
            source,
            errors,
            recheck,
            canonical_tautomer,
            threads,
            output,
        } => {
            let mut options = ImportOptions {
                format: format.map(|f| match f {
                    InputFormat::Smi => Format::Smiles,
                    InputFormat::Csv => Format::Csv,
                    InputFormat::Sdf => Format::Sdf,
                }),
                id_column,
                smiles_column,
                source,
                threads,
                recheck,
                ..ImportOptions::default()
            };
            options.prepare.standardize.canonical_tautomer = canonical_tautomer;
            let summary = import_with_progress(ctx, &registry, &file, &options, errors).await?;
            print_record(output, &summary);
            Ok(())
        }
        LibraryCommand::Show { id, svg, format } => {
            let id: CompoundId = id.parse()?;
            let compound = registry.compound(id).await?;
            let molecule = Molecule::from_smiles(&compound.parent.identity.smiles)
                .with_context(|| format!("re-reading the registered structure of {id}"))?;
            if let Some(path) = svg {
                std::fs::write(&path, molecule.svg(400, 300)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let alerts = molecule.alerts();
            let p = &compound.parent;
            let i = &p.identity;
            let mut record = json!({
                "id": p.id.to_string(),
                "smiles": i.smiles,
                "inchi": i.inchi,
                "inchikey": i.inchikey,
                "connectivity_key": i.connectivity_key,
                "tautomer_hash": i.tautomer_hash,
            });
            merge(&mut record, descriptors_json(&p.descriptors));
            merge(&mut record, rules_json(&Rules::evaluate(&p.descriptors, &alerts)));
            record["alerts"] = alerts_json(&alerts);
            record["batches"] = compound
                .batches
                .iter()
                .map(|b| {
                    json!({"batch": b.id, "source": b.source, "external_id": b.external_id,
                           "submitted_smiles": b.submitted_smiles, "salt_form": b.salt_form,
                           "supplier": b.supplier, "purity": b.purity})
                })
                .collect::<Value>();
            record["samples"] = compound
                .samples
                .iter()
                .map(|s| {
                    let c = &s.container;
                    json!({"batch": s.batch_id, "container": c.container, "barcode": c.barcode,
                           "well": c.well, "concentration_mm": c.concentration_mm,
                           "volume_ul": c.volume_ul, "location": c.location})
                })
                .collect::<Value>();
            record["related"] = compound
                .related
                .iter()
                .map(
                    |r| json!({"id": r.id.to_string(), "smiles": r.smiles, "relation": r.relation}),
                )
                .collect::<Value>();
            match format {
                OutputFormat::Json => print_record(format, &record),
                OutputFormat::Table => print_compound_table(&record),
            }
            Ok(())
        }
        LibraryCommand::Stats { format } => {
            let c = registry.counts().await?;
            print_record(
                format,
                &json!({"parents": c.parents, "batches": c.batches, "samples": c.samples}),
            );
            Ok(())
        }
    }
}

fn print_compound_table(record: &Value) {
    let mut head = record.clone();
    let obj = head.as_object_mut().expect("compound record is an object");
    let tiers: Vec<(String, Value)> = ["batches", "samples", "related"]
        .into_iter()
        .filter_map(|k| obj.remove(k).map(|v| (k.to_string(), v)))
        .collect();
    print_record(OutputFormat::Table, &head);
    for (name, rows) in tiers {
        let rows = rows.as_array().cloned().unwrap_or_default();
        println!("\n{name} ({})", rows.len());
        if let Some(first) = rows.first().and_then(Value::as_object) {
            let columns: Vec<&str> = first.keys().map(String::as_str).collect();
            print_rows(OutputFormat::Table, &columns, &rows);
        }
    }
}

/// Runs an import with a progress bar on stderr and Ctrl-C as cancel; writes
/// the error report and returns the summary as JSON.
pub(crate) async fn import_with_progress(
    ctx: &Context,
    registry: &Registry,
    file: &std::path::Path,
    options: &ImportOptions,
    errors: Option<PathBuf>,
) -> Result<Value> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
        )
        .expect("valid progress template"),
    );
    let cancel = Arc::new(AtomicBool::new(false));
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.store(true, Ordering::Relaxed);
        }
    });
    let progress_bar = bar.clone();
    let progress = move |p: import::Progress| {
        progress_bar.set_length(p.bytes_total);
        progress_bar.set_position(p.bytes_read);
        progress_bar.set_message(format!("{} records, {} bad", p.records_done, p.errors));
    };
    let summary = import::import_file(registry, file, options, &progress, &cancel)
        .await
        .with_context(|| format!("importing {}", file.display()))?;
    bar.finish_and_clear();
    let row_errors = import::import_errors(registry, summary.import_id).await?;
    let report = if row_errors.is_empty() {
        None
    } else {
        let path =
            errors.unwrap_or_else(|| import::default_error_report(&ctx.data, summary.import_id));
        import::write_error_report(&path, &row_errors)?;
        Some(path)
    };
    Ok(summary_json(&summary, report))
}

fn summary_json(s: &ImportSummary, report: Option<PathBuf>) -> Value {
    let status = if s.already_complete {
        "already imported (use --recheck to go through it again)"
    } else if s.cancelled {
        "cancelled (run the same command again to resume)"
    } else {
        "complete"
    };
    json!({
        "status": status,
        "source": s.source,
        "records": s.tally.records,
        "parents_new": s.tally.parents_new,
        "batches_new": s.tally.batches_new,
        "samples_new": s.tally.samples_new,
        "unchanged": s.tally.unchanged,
        "errors": s.tally.errors,
        "resumed_after": s.resumed_after,
        "error_report": report.map(|p| p.display().to_string()),
    })
}

pub(crate) async fn run_search(ctx: &Context, command: SearchCommand) -> Result<()> {
    let registry = ctx.registry().await?;
    match command {
        SearchCommand::Substructure { query, language, limit, timeout_ms, format } => {
            let index = fingerprint_index(ctx, &registry, FingerprintKind::Pattern).await?;
            let language = match language {
                QueryArg::Smarts => QueryLanguage::Smarts,
                QueryArg::Smiles => QueryLanguage::Smiles,
            };
            let limits =
                SearchLimits { limit, timeout: std::time::Duration::from_millis(timeout_ms) };
            let found = substructure::search(&registry, &index, &query, language, limits).await?;
            let rows: Vec<Value> = found
                .hits
                .iter()
                .map(|(id, smiles)| json!({"id": id.to_string(), "smiles": smiles, "score": 1.0}))
                .collect();
            print_rows(format, &["id", "smiles", "score"], &rows);
            eprintln!(
                "{} hits; {} candidates passed the screen, {} verified{}",
                rows.len(),
                found.candidates,
                found.verified,
                if found.partial { "; PARTIAL: the time budget ran out" } else { "" }
            );
            Ok(())
        }
        SearchCommand::Similar { smiles, top, threshold, metric, alpha, beta, format } => {
            if !(0.0..=1.0).contains(&threshold.unwrap_or(0.0)) {
                anyhow::bail!("--threshold must be between 0 and 1");
            }
            if alpha < 0.0 || beta < 0.0 {
                anyhow::bail!("--alpha and --beta must not be negative");
            }
            let metric = match metric {
                MetricArg::Tanimoto => fpindex::Metric::Tanimoto,
                MetricArg::Tversky => fpindex::Metric::Tversky { alpha, beta },
            };
            let wanted = threshold.map_or(Wanted::Top(top.unwrap_or(10)), Wanted::Threshold);
            let hits = similar(ctx, &registry, &smiles, metric, wanted).await?;
            print_rows(format, &["id", "smiles", "score"], &hits);
            Ok(())
        }
    }
}

/// The index of `kind` over the registry, kept in the data directory.
async fn fingerprint_index(
    ctx: &Context,
    registry: &Registry,
    kind: FingerprintKind,
) -> Result<fpindex::Index> {
    let path = ctx.data.join("index").join(kind.file_name());
    Ok(registry.fingerprint_index_at(kind, &path).await?)
}

pub(crate) async fn similar(
    ctx: &Context,
    registry: &Registry,
    smiles: &str,
    metric: fpindex::Metric,
    wanted: Wanted,
) -> Result<Vec<Value>> {
    let query = Molecule::from_smiles(smiles)
        .with_context(|| format!("'{smiles}' is not a structure Soyaku can read"))?;
    let fp = query.morgan(MorganParams::default());
    let index = fingerprint_index(ctx, registry, FingerprintKind::Morgan).await?;
    let hits = match wanted {
        Wanted::Top(k) => index.top_k(fp.words(), metric, k),
        Wanted::Threshold(t) => index.threshold(fp.words(), metric, t),
    };
    let ids: Vec<CompoundId> = hits.iter().map(|h| CompoundId(h.id as i64)).collect();
    let smiles = registry.smiles_of(&ids).await?;
    Ok(hits
        .iter()
        .zip(ids.iter().zip(smiles))
        .map(|(h, (id, s))| json!({"id": id.to_string(), "smiles": s, "score": h.score}))
        .collect())
}
