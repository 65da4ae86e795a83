//! `soyaku library …` and `soyaku search …`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use chem::Molecule;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use library::import::{self, Format, ImportOptions, ImportSummary};
use library::{CompoundId, FingerprintKind, Registry};
use serde_json::{json, Value};

use crate::output::{print_record, print_rows, OutputFormat, RowStream};
use crate::search_cmd::compound_rows;
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
    /// Picks N diverse compounds by MaxMin on Morgan fingerprints: each pick
    /// is the compound least similar to everything picked before it.
    Pick {
        /// How many to pick.
        #[arg(long)]
        n: usize,
        /// Compounds already chosen (registry ids); picks avoid them.
        #[arg(long = "seed", value_name = "ID")]
        seeds: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Butina clustering: every compound joins the cluster of a centroid
    /// with Tanimoto similarity at least T (Morgan fingerprints).
    Cluster {
        /// Similarity threshold for cluster membership.
        #[arg(long)]
        threshold: f64,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Rebuilds the search indexes from the registry (they are otherwise
    /// kept in step by appending at the next search).
    Reindex,
    /// Counts of parents, batches and samples.
    Stats {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) async fn run_library(ctx: &Context, command: LibraryCommand) -> Result<()> {
    let catalog = ctx.catalog().await?;
    let registry = catalog.registry();
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
            let summary =
                import_with_progress(ctx, registry, ImportInput::File(&file, &options), errors)
                    .await?;
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
            let record = library::record::compound(&compound);
            match format {
                OutputFormat::Json => print_record(format, &record),
                OutputFormat::Table => print_compound_table(&record),
            }
            Ok(())
        }
        LibraryCommand::Pick { n, seeds, format } => {
            let seeds =
                seeds.iter().map(|s| s.parse::<CompoundId>()).collect::<Result<Vec<_>, _>>()?;
            let started = std::time::Instant::now();
            let picks =
                catalog.pick(n, &seeds).await.context("--seed must name library compounds")?;
            eprintln!(
                "{} picked from {} compounds in {:.1} s",
                picks.len(),
                registry.counts().await?.parents,
                started.elapsed().as_secs_f64()
            );
            let ids: Vec<u64> = picks.iter().map(|p| p.id).collect();
            let mut rows = compound_rows(&catalog, &ids).await?;
            for (rank, (row, pick)) in rows.iter_mut().zip(&picks).enumerate() {
                row["rank"] = json!(rank + 1);
                // Similarity to the nearest earlier pick (none for the first).
                row["score"] = json!(pick.nearest);
            }
            print_rows(format, &["rank", "id", "smiles", "score"], &rows);
            Ok(())
        }
        LibraryCommand::Cluster { threshold, format } => {
            if !(0.0..=1.0).contains(&threshold) {
                anyhow::bail!("--threshold must be between 0 and 1");
            }
            let index = catalog.index(FingerprintKind::Morgan).await?;
            let started = std::time::Instant::now();
            let clusters = index.with_one(|one| one.butina(threshold));
            eprintln!(
                "{} clusters of {} compounds at Tanimoto >= {threshold} in {:.1} s",
                clusters.len(),
                index.len(),
                started.elapsed().as_secs_f64()
            );
            // Every member's SMILES in one lookup, not a round trip per cluster.
            let members: Vec<(usize, &fpindex::Cluster, u64)> = clusters
                .iter()
                .enumerate()
                .flat_map(|(n, c)| c.members.iter().map(move |&id| (n + 1, c, id)))
                .collect();
            let ids: Vec<u64> = members.iter().map(|&(_, _, id)| id).collect();
            let mut rows = RowStream::new(format, &["cluster", "size", "centroid", "id", "smiles"]);
            for ((n, cluster, id), mut row) in
                members.into_iter().zip(compound_rows(&catalog, &ids).await?)
            {
                row["cluster"] = json!(n);
                row["size"] = json!(cluster.members.len());
                row["centroid"] = json!(id == cluster.centroid);
                rows.push(&row);
            }
            Ok(())
        }
        LibraryCommand::Reindex => {
            for r in catalog.rebuild(&|_, _| {}).await? {
                eprintln!(
                    "{}: {} entries, {:.1} MiB, built in {:.1} s",
                    r.file,
                    r.entries,
                    r.bytes as f64 / (1 << 20) as f64,
                    r.seconds
                );
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

/// What an import reads.
pub(crate) enum ImportInput<'a> {
    /// A file, with its options.
    File(&'a std::path::Path, &'a ImportOptions),
    /// The bundled demo library.
    Demo,
}

/// Runs an import with a progress bar on stderr and Ctrl-C as cancel; writes
/// the error report and returns the summary as JSON.
pub(crate) async fn import_with_progress(
    ctx: &Context,
    registry: &Registry,
    input: ImportInput<'_>,
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
    let summary = match input {
        ImportInput::File(file, options) => {
            import::import_file(registry, file, options, &progress, &cancel)
                .await
                .with_context(|| format!("importing {}", file.display()))?
        }
        ImportInput::Demo => library::demo::load(registry, &ctx.data, &progress, &cancel)
            .await
            .context("loading the bundled demo library")?,
    };
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
    let mut summary = library::record::import_summary(s);
    summary["error_report"] = json!(report.map(|p| p.display().to_string()));
    summary
}
