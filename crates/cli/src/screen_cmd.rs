//! `soyaku screen …`: screening analysis. `run` takes a run's plate files
//! to QC and hits (and with `--record`, keeps it on the platform); `fit`
//! fits a four-parameter log-logistic curve to each compound of a
//! concentration–response file; `confirm` records such a curve for a hit,
//! which may make it a seed; `verify` recomputes a recorded run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use screening::{fit_ll4, FitOptions, Interval, RunFiles};
use serde_json::{json, Value};

use crate::output::{print_rows, OutputFormat, RowStream};
use crate::Context;

#[derive(Args)]
pub(crate) struct RunArgs {
    /// The protocol (TOML: score, threshold, QC limits, confirmation rule).
    #[arg(long)]
    protocol: PathBuf,
    /// Directory of reader files (grid or long CSV/TSV, EnVision, BMG
    /// MARS, SoftMax Pro, ASM JSON); a `platelist.*` file there assigns
    /// plates and replicates.
    #[arg(long)]
    plates: PathBuf,
    /// The plate map (CSV: plate, well, role, compound, concentration).
    #[arg(long)]
    map: PathBuf,
    /// Keep the run on the platform, with its files, as the user whose API
    /// token is in SOYAKU_TOKEN.
    #[arg(long, requires = "project")]
    record: bool,
    /// The project the screen is for (with --record).
    #[arg(long)]
    project: Option<String>,
    /// A title (with --record).
    #[arg(long, default_value = "")]
    title: String,
    /// The researcher who asked for the screen, who may then see it.
    #[arg(long)]
    requester: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Subcommand)]
pub(crate) enum ScreenCommand {
    /// Analyses a run: QC per plate (Z′, robust Z′, S/B, CVs, edge and
    /// row/column effects) and hits over replicates.
    Run(RunArgs),
    /// Records a concentration–response for a hit of a recorded run; when
    /// the protocol's confirmation rule accepts the curve, the compound
    /// becomes a seed of the run's project. Acts as SOYAKU_TOKEN's user.
    Confirm {
        /// The recorded run.
        #[arg(long)]
        run: i64,
        /// The compound (registry id, as in the plate map).
        #[arg(long)]
        compound: String,
        /// CSV with `compound,concentration,response` (mol/L); the rows
        /// of this compound are used.
        file: PathBuf,
    },
    /// Recomputes a recorded run from its kept files and compares.
    Verify {
        /// The recorded run.
        #[arg(long)]
        run: i64,
    },
    /// Fits LL.4 (IC50/EC50, Hill slope, top, bottom, 95 % intervals) to
    /// each compound of a CSV with the header
    /// `compound,concentration,response` (concentration in mol/L).
    Fit {
        /// The CSV file.
        file: PathBuf,
        /// Hold the bottom asymptote at this value.
        #[arg(long)]
        bottom: Option<f64>,
        /// Hold the top asymptote at this value.
        #[arg(long)]
        top: Option<f64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

fn interval(ci: Option<Interval>) -> Value {
    ci.map_or(Value::Null, |c| json!({"low": c.low, "high": c.high}))
}

/// Concentrations in a table: molar values need scientific notation.
fn for_people(mut row: Value) -> Value {
    if let Some(x) = row["ic50"].as_f64() {
        row["ic50"] = json!(format!("{x:.3e}"));
    }
    if let (Some(lo), Some(hi)) = (row["ic50_ci"]["low"].as_f64(), row["ic50_ci"]["high"].as_f64())
    {
        row["ic50_ci"] = json!(format!("{lo:.2e}–{hi:.2e}"));
    }
    row
}

/// The platform's screening desk, acting as the holder of SOYAKU_TOKEN.
async fn desk(ctx: &Context) -> Result<(campaigns::Campaigns, accounts::Actor)> {
    let Ok(token) = std::env::var("SOYAKU_TOKEN") else {
        bail!("set SOYAKU_TOKEN to an API token of your account (make one in the portal or with POST /api/v1/tokens)");
    };
    let registry = ctx.registry().await?;
    let accounts = accounts::Accounts::attach(registry.pool().clone()).await?;
    let actor = accounts.token(&token).await.context("SOYAKU_TOKEN is not a valid API token")?;
    Ok((campaigns::Campaigns::attach(registry, accounts).await?, actor))
}

fn print_run(report: &screening::RunReport, format: OutputFormat) {
    let plate_columns = [
        "file",
        "plate",
        "replicate",
        "z_prime",
        "robust_z_prime",
        "signal_to_background",
        "cv_neutral",
        "edge_effect",
        "row_col_effect",
        "passed",
        "failures",
    ];
    let hit_columns = ["plate", "well", "compound", "concentration", "score", "replicates"];
    let round = |mut row: Value| {
        if format == OutputFormat::Table {
            for v in row.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                if let Some(x) = v.as_f64().filter(|_| v.is_f64()) {
                    *v = json!(format!("{x:.3}"));
                }
            }
            if let Some(f) = row.get("failures").and_then(|f| f.as_array()) {
                row["failures"] =
                    json!(f.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("; "));
            }
        }
        row
    };
    print_rows(
        format,
        &plate_columns,
        &report.plate_rows().into_iter().map(round).collect::<Vec<_>>(),
    );
    if format == OutputFormat::Table {
        println!();
    }
    print_rows(format, &hit_columns, &report.hit_rows().into_iter().map(round).collect::<Vec<_>>());
    match format {
        OutputFormat::Json => println!("{}", report.summary()),
        OutputFormat::Table => {
            let s = report.summary();
            eprintln!(
                "{} plates ({} passed QC), {} of {} samples are hits",
                s["plates"], s["passed"], s["hits"], s["scored"]
            );
        }
    }
}

fn read_files(args: &RunArgs) -> Result<RunFiles> {
    let named = |p: &Path, what: &str| format!("reading the {what} {}", p.display());
    if !args.plates.is_dir() {
        bail!("--plates {} is not a directory of reader files", args.plates.display());
    }
    RunFiles::read(&args.protocol, &args.map, &args.plates).with_context(|| {
        format!(
            "{}, {} or {}",
            named(&args.protocol, "protocol"),
            named(&args.map, "map"),
            named(&args.plates, "plates in")
        )
    })
}

pub(crate) async fn run(ctx: &Context, command: ScreenCommand) -> Result<()> {
    match command {
        ScreenCommand::Run(args) => {
            let files = read_files(&args)?;
            let report = screening::analyse_run(&files)?;
            print_run(&report, args.format);
            if args.record {
                let (campaigns, actor) = desk(ctx).await?;
                let run = campaigns
                    .record_run(
                        &actor,
                        campaigns::NewRun {
                            project: args.project.unwrap_or_default(),
                            title: args.title,
                            requester: args.requester,
                            files,
                        },
                    )
                    .await?;
                eprintln!("recorded as run {} (files sha256 {})", run.id, run.files_sha256);
            }
            Ok(())
        }
        ScreenCommand::Confirm { run, compound, file } => {
            let input = fs_err::File::open(&file)?;
            let (series, _) = screening::read_dose_response(input)
                .with_context(|| format!("reading {}", file.display()))?;
            let Some(s) = series.iter().find(|s| s.compound == compound) else {
                bail!("{} has no rows for {compound}", file.display());
            };
            let points: Vec<(f64, f64)> =
                s.concentration.iter().copied().zip(s.response.iter().copied()).collect();
            let (campaigns, actor) = desk(ctx).await?;
            let (curve, seed) = campaigns.confirm(&actor, run, &compound, &points).await?;
            println!("{}", json!({"curve": curve, "seed": seed}));
            Ok(())
        }
        ScreenCommand::Verify { run } => {
            let (campaigns, actor) = desk(ctx).await?;
            let check = campaigns.verify(&actor, run).await?;
            println!("{}", json!(check));
            if !check.results_match {
                bail!("run {run} does not recompute to its record");
            }
            Ok(())
        }
        ScreenCommand::Fit { file, bottom, top, format } => {
            let input = fs_err::File::open(&file)?;
            let (series, bad) = screening::read_dose_response(input)
                .with_context(|| format!("reading {}", file.display()))?;
            for b in &bad {
                eprintln!("{}:{}: skipped: {}", file.display(), b.line, b.reason);
            }
            let options = FitOptions { fixed_bottom: bottom, fixed_top: top };
            let columns = [
                "compound",
                "n",
                "ic50",
                "hill",
                "top",
                "bottom",
                "r_squared",
                "class",
                "ic50_ci",
                "error",
            ];
            let mut rows = RowStream::new(format, &columns);
            for s in &series {
                let row = match fit_ll4(&s.concentration, &s.response, options) {
                    Ok(f) => json!({
                        "compound": s.compound, "n": f.n, "ic50": f.ec50, "hill": f.hill,
                        "top": f.top, "bottom": f.bottom, "r_squared": f.r_squared,
                        "class": f.class.as_str(), "ic50_ci": interval(f.ec50_ci),
                        "hill_ci": interval(f.hill_ci), "top_ci": interval(f.top_ci),
                        "bottom_ci": interval(f.bottom_ci), "error": Value::Null,
                    }),
                    // A compound that cannot be fitted is reported, not dropped.
                    Err(e) => {
                        json!({"compound": s.compound, "n": s.response.len(), "error": e.to_string()})
                    }
                };
                rows.push(&if format == OutputFormat::Table { for_people(row) } else { row });
            }
            eprintln!("{} compounds fitted, {} bad rows skipped", series.len(), bad.len());
            Ok(())
        }
    }
}
