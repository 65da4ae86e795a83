//! `soyaku search …`: similarity (one query or a whole file of them),
//! substructure (hits printed as they are found) and the all-pairs matrix.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Subcommand, ValueEnum};
use fpindex::{Hit, Metric};
use library::catalog::{query_fingerprint, Wanted};
use library::substructure::{self, QueryLanguage, SearchLimits};
use library::{Catalog, CompoundId, FingerprintKind, ScoredCompound};
use serde_json::{json, Value};

use crate::output::{print_rows, OutputFormat, RowStream};
use crate::Context;
use library::record::merge;

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

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub(crate) enum MatrixFormat {
    /// `a,a_smiles,b,b_smiles,similarity` with a header row.
    #[default]
    Csv,
    /// One JSON object per pair.
    Json,
}

#[derive(Subcommand)]
pub(crate) enum SearchCommand {
    /// Compounds containing a substructure: pattern-fingerprint screen, then
    /// RDKit verification on every core. Hits are printed as they are found,
    /// fewest pattern bits (small molecules) first.
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
    /// Compounds most similar to a query, or to every query of a file (N×M),
    /// by Morgan fingerprints (radius 2, 2048 bits).
    #[command(group = clap::ArgGroup::new("mode").args(["top", "threshold"]))]
    #[command(group = clap::ArgGroup::new("input").args(["smiles", "queries"]).required(true))]
    Similar {
        /// Query structure as SMILES.
        #[arg(long)]
        smiles: Option<String>,
        /// A SMILES file of queries (`SMILES [name]` per line): each is
        /// searched, on all cores, and its rows carry its name.
        #[arg(long)]
        queries: Option<PathBuf>,
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
    /// Every pair of library compounds with Tanimoto similarity at least T
    /// (a sparse all-pairs matrix), written to a file.
    Matrix {
        /// Lowest similarity written.
        #[arg(long)]
        threshold: f64,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// File format.
        #[arg(long = "out-format", value_enum, default_value_t)]
        out_format: MatrixFormat,
    },
}

pub(crate) async fn run(ctx: &Context, command: SearchCommand) -> Result<()> {
    let catalog = ctx.catalog().await?;
    match command {
        SearchCommand::Substructure { query, language, limit, timeout_ms, format } => {
            let language = match language {
                QueryArg::Smarts => QueryLanguage::Smarts,
                QueryArg::Smiles => QueryLanguage::Smiles,
            };
            let limits =
                SearchLimits { limit, timeout: std::time::Duration::from_millis(timeout_ms) };
            let files = catalog
                .files()
                .await
                .context("bringing the search files in step with the registry")?;
            let mut rows = RowStream::new(format, &["id", "smiles", "score"]);
            let found = substructure::search(
                &files.pattern,
                &files.structures,
                &query,
                language,
                limits,
                |id| {
                    let smiles = files.structures.molecule(id).map(|m| m.canonical_smiles());
                    rows.push(&json!({"id": id.to_string(), "smiles": smiles, "score": 1.0}));
                },
            )?;
            eprintln!(
                "{} hits; {} candidates passed the screen, {} verified{}",
                found.hits.len(),
                found.candidates,
                found.verified,
                if found.partial { "; PARTIAL: the time budget ran out" } else { "" }
            );
            Ok(())
        }
        SearchCommand::Similar { smiles, queries, top, threshold, metric, alpha, beta, format } => {
            if !(0.0..=1.0).contains(&threshold.unwrap_or(0.0)) {
                anyhow::bail!("--threshold must be between 0 and 1");
            }
            if alpha < 0.0 || beta < 0.0 {
                anyhow::bail!("--alpha and --beta must not be negative");
            }
            let metric = match metric {
                MetricArg::Tanimoto => Metric::Tanimoto,
                MetricArg::Tversky => Metric::Tversky { alpha, beta },
            };
            let wanted = threshold.map_or(Wanted::Top(top.unwrap_or(10)), Wanted::Threshold);
            match (smiles, queries) {
                (Some(smiles), _) => {
                    let hits = catalog.similar(&smiles, metric, wanted).await?;
                    print_rows(format, &["id", "smiles", "score"], &to_rows(&hits));
                }
                (None, Some(file)) => {
                    similar_file(&catalog, &file, metric, wanted, format).await?;
                }
                (None, None) => unreachable!("clap requires --smiles or --queries"),
            }
            Ok(())
        }
        SearchCommand::Matrix { threshold, out, out_format } => {
            if !(0.0..=1.0).contains(&threshold) {
                anyhow::bail!("--threshold must be between 0 and 1");
            }
            let index = catalog.index(FingerprintKind::Morgan).await?;
            let started = std::time::Instant::now();
            let pairs = index.with_one(|one| one.similarity_matrix(threshold));
            let elapsed = started.elapsed();
            catalog
                .write_matrix(&pairs, &out, matches!(out_format, MatrixFormat::Json))
                .await
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{} pairs at Tanimoto >= {threshold} among {} compounds in {:.1} s; written to {}",
                pairs.len(),
                index.len(),
                elapsed.as_secs_f64(),
                out.display()
            );
            Ok(())
        }
    }
}

/// Rows with the registry id and canonical SMILES of each of `ids`.
pub(crate) async fn compound_rows(catalog: &Catalog, ids: &[u64]) -> Result<Vec<Value>> {
    let ids: Vec<CompoundId> = ids.iter().map(|&id| CompoundId(id as i64)).collect();
    let rows = catalog.rows(&ids).await?;
    Ok(rows.into_iter().map(|(id, s)| json!({"id": id.to_string(), "smiles": s})).collect())
}

/// Scored compounds as printable rows.
pub(crate) fn to_rows(hits: &[ScoredCompound]) -> Vec<Value> {
    hits.iter().map(|h| serde_json::to_value(h).expect("hit serialises")).collect()
}

/// The N×M search: every query of a SMILES file against the library, the
/// queries spread over the cores. Unreadable queries are reported with their
/// line and skipped.
async fn similar_file(
    catalog: &Catalog,
    file: &Path,
    metric: Metric,
    wanted: Wanted,
    format: OutputFormat,
) -> Result<()> {
    let (mut names, mut fps) = (Vec::new(), Vec::new());
    for entry in crate::smiles_file::read(file)? {
        match query_fingerprint(&entry.smiles) {
            Ok(fp) => {
                names.push(entry.label());
                fps.push(fp);
            }
            Err(e) => eprintln!("{}:{}: skipped: {e:#}", file.display(), entry.line),
        }
    }
    let index = catalog.index(FingerprintKind::Morgan).await?;
    let started = std::time::Instant::now();
    let results = match wanted {
        Wanted::Top(k) => index.top_k_many(&fps, metric, k),
        Wanted::Threshold(t) => index.threshold_many(&fps, metric, t),
    };
    let elapsed = started.elapsed();
    // Every query's hits in one SMILES lookup, not a round trip per query.
    let named: Vec<(&String, Hit)> = names
        .iter()
        .zip(&results)
        .flat_map(|(name, hits)| hits.iter().map(move |h| (name, *h)))
        .collect();
    let hits: Vec<Hit> = named.iter().map(|(_, h)| *h).collect();
    let mut rows = RowStream::new(format, &["query", "id", "smiles", "score"]);
    for ((name, _), hit) in named.iter().zip(to_rows(&catalog.scored(&hits).await?)) {
        let mut row = json!({ "query": name });
        merge(&mut row, hit);
        rows.push(&row);
    }
    eprintln!(
        "{} queries x {} compounds searched in {:.3} s",
        fps.len(),
        index.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
