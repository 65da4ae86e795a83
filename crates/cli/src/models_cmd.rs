//! `soyaku models …` (the catalogue of prediction models, their cards, and
//! any model run through the one interface) and `soyaku predict …` (ADMET
//! profiles and target predictions).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use library::catalog::Wanted;
use models::{Catalogue, Model};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::output::{print_rows, OutputFormat};
use crate::smiles_file::Entry;
use crate::Context;

#[derive(Subcommand)]
pub(crate) enum ModelsCommand {
    /// Every model this build carries, with version and licence.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// A model's card: what it predicts, from what, trained on what, how well.
    Show {
        /// `id` (newest version) or `id@version`, e.g. `admet-ai@2.0.1`.
        model: String,
    },
    /// Any model through the one interface every model has: each endpoint's
    /// value, uncertainty, applicability domain and weak-endpoint flag.
    Predict {
        /// `id` (newest version) or `id@version`, e.g. `chembl-multitask`.
        model: String,
        #[command(flatten)]
        molecules: Molecules,
    },
}

/// One structure or a file of them, as the commands that predict take them.
#[derive(Args)]
pub(crate) struct Molecules {
    /// One structure as SMILES.
    #[arg(long, required_unless_present = "input", conflicts_with = "input")]
    smiles: Option<String>,
    /// A SMILES file (`SMILES [name]` per line): one JSON line per molecule.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output format (a file's molecules are always JSON Lines).
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Subcommand)]
pub(crate) enum PredictCommand {
    /// ADMET-AI's 41 endpoints, each with its ensemble spread and its
    /// percentile among approved drugs. JSON keys are ADMET-AI's names.
    Admet {
        #[command(flatten)]
        molecules: Molecules,
    },
    /// Likely protein targets (ChEMBL multitask model), with the nearest
    /// library compounds as a similarity-based explanation.
    Targets {
        /// The structure as SMILES.
        #[arg(long)]
        smiles: String,
        /// How many targets.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// How many nearest library compounds (0 for none).
        #[arg(long, default_value_t = 5)]
        neighbours: usize,
        /// Only targets of this NCBI taxon (9606 human, 10116 rat, 10090 mouse).
        #[arg(long)]
        taxon: Option<u32>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) fn run_models(command: ModelsCommand) -> Result<()> {
    let catalogue = Catalogue::new();
    match command {
        ModelsCommand::List { format } => {
            let rows: Vec<Value> = catalogue
                .all()?
                .iter()
                .map(|m| {
                    let card = m.card();
                    json!({
                        "id": card.id,
                        "version": card.version,
                        "name": card.name,
                        "endpoints": card.endpoints.len(),
                        "licence": card.licence,
                    })
                })
                .collect();
            print_rows(format, &["id", "version", "name", "endpoints", "licence"], &rows);
        }
        ModelsCommand::Show { model } => {
            let card = catalogue.get(&model)?.card();
            println!("{}", serde_json::to_string_pretty(card)?);
        }
        ModelsCommand::Predict {
            model,
            molecules: Molecules { smiles: Some(smiles), format, .. },
        } => {
            let model = catalogue.get(&model)?;
            let predictions = model.predict(std::slice::from_ref(&molecule(&smiles)?))?.remove(0);
            let card = model.card();
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    json!({
                        "smiles": smiles,
                        "model": format!("{}@{}", card.id, card.version),
                        "predictions": predictions,
                    })
                ),
                OutputFormat::Table => {
                    let rows: Vec<Value> = predictions
                        .iter()
                        .map(|p| {
                            json!({
                                "endpoint": p.endpoint,
                                "value": p.value,
                                "uncertainty": p.uncertainty,
                                "in domain": p.in_domain,
                                "note": if p.weak { "weak endpoint" } else { "" },
                            })
                        })
                        .collect();
                    print_rows(
                        format,
                        &["endpoint", "value", "uncertainty", "in domain", "note"],
                        &rows,
                    );
                }
            }
        }
        ModelsCommand::Predict { model, molecules: Molecules { input: Some(file), .. } } => {
            let model = catalogue.get(&model)?;
            predict_file(&file, |out, entries, molecules| {
                for (entry, predictions) in entries.iter().zip(model.predict(molecules)?) {
                    let line = Predicted {
                        smiles: &entry.smiles,
                        name: entry.name.as_deref(),
                        predictions: &predictions,
                    };
                    serde_json::to_writer(&mut *out, &line)?;
                    writeln!(out)?;
                }
                Ok(())
            })?;
        }
        ModelsCommand::Predict { .. } => bail!("give --smiles or --input"),
    }
    Ok(())
}

/// One molecule of a file, as `models predict --input` prints it.
#[derive(Serialize)]
struct Predicted<'a> {
    smiles: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    predictions: &'a [models::Prediction<'a>],
}

/// How many molecules of a file are predicted at a time: enough to keep every
/// core busy, few enough that a large file's predictions (798 per molecule
/// for the target model) are never all in memory at once.
const CHUNK: usize = 4096;

/// Hands a SMILES file's molecules to `predict` a chunk at a time, with their
/// entries and standard output; a line that does not parse is reported with
/// its line number and skipped. Ends with the throughput on stderr.
fn predict_file(
    file: &Path,
    mut predict: impl FnMut(&mut dyn Write, &[&Entry], &[chem::Molecule]) -> Result<()>,
) -> Result<()> {
    let entries = crate::smiles_file::read(file)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let started = Instant::now();
    let mut count = 0;
    for chunk in entries.chunks(CHUNK) {
        let (mut kept, mut molecules) = (Vec::new(), Vec::new());
        for entry in chunk {
            match chem::Molecule::from_smiles(&entry.smiles) {
                Ok(m) => {
                    kept.push(entry);
                    molecules.push(m);
                }
                Err(e) => eprintln!("{}:{}: skipped: {e}", file.display(), entry.line),
            }
        }
        predict(&mut out, &kept, &molecules)?;
        count += molecules.len();
    }
    out.flush()?;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{count} molecules in {elapsed:.2} s ({:.0} molecules/s, reading and writing included)",
        count as f64 / elapsed.max(1e-9)
    );
    Ok(())
}

fn molecule(smiles: &str) -> Result<chem::Molecule> {
    chem::Molecule::from_smiles(smiles).with_context(|| format!("reading the SMILES {smiles:?}"))
}

pub(crate) async fn run_predict(ctx: &Context, command: PredictCommand) -> Result<()> {
    let catalogue = Catalogue::new();
    match command {
        PredictCommand::Admet { molecules: Molecules { smiles: Some(smiles), format, .. } } => {
            let model = catalogue.admet()?;
            let mol = molecule(&smiles)?;
            let profile = model.admet(std::slice::from_ref(&mol)).remove(0);
            match format {
                OutputFormat::Json => println!("{}", admet_json(&smiles, None, &profile)),
                OutputFormat::Table => {
                    let rows: Vec<Value> = model
                        .card()
                        .endpoints
                        .iter()
                        .zip(&profile.values)
                        .map(|(e, v)| {
                            json!({
                                "endpoint": v.endpoint,
                                "value": v.value,
                                "spread": v.spread,
                                "units": e.units.clone().unwrap_or_default(),
                                "approved-drug percentile": v.drugbank_percentile,
                                "note": if e.weak { "weak endpoint" } else { "" },
                            })
                        })
                        .collect();
                    print_rows(
                        format,
                        &[
                            "endpoint",
                            "value",
                            "spread",
                            "units",
                            "approved-drug percentile",
                            "note",
                        ],
                        &rows,
                    );
                    if !profile.in_domain {
                        eprintln!("note: the molecule has atoms or bonds outside the models' featurisation (out of domain)");
                    }
                }
            }
        }
        PredictCommand::Admet { molecules: Molecules { input: Some(file), .. } } => {
            let model = catalogue.admet()?;
            predict_file(&file, |out, entries, molecules| {
                for (entry, profile) in entries.iter().zip(model.admet(molecules)) {
                    writeln!(
                        out,
                        "{}",
                        admet_json(&entry.smiles, entry.name.as_deref(), &profile)
                    )?;
                }
                Ok(())
            })?;
        }
        PredictCommand::Admet { .. } => bail!("give --smiles or --input"),
        PredictCommand::Targets { smiles, top, neighbours, taxon, format } => {
            let model = catalogue.targets()?;
            let ranked = model.rank(&molecule(&smiles)?, top, taxon)?;
            let nearest = if neighbours == 0 {
                Vec::new()
            } else {
                let catalog = ctx.catalog().await?;
                catalog
                    .similar(&smiles, fpindex::Metric::Tanimoto, Wanted::Top(neighbours))
                    .await
                    .context("finding the nearest library compounds (build the library first, or pass --neighbours 0)")?
            };
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    json!({
                        "smiles": smiles,
                        "model": format!("{}@{}", model.card().id, model.card().version),
                        "targets": ranked,
                        "nearest_library_compounds": nearest,
                    })
                ),
                OutputFormat::Table => {
                    let rows: Vec<Value> = ranked
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            json!({
                                "rank": i + 1,
                                "target": t.chembl_id,
                                "name": t.target.name,
                                "organism": t.target.organism_shown(),
                                "probability": t.probability,
                            })
                        })
                        .collect();
                    print_rows(
                        format,
                        &["rank", "target", "name", "organism", "probability"],
                        &rows,
                    );
                    if !nearest.is_empty() {
                        println!("\nnearest library compounds (Tanimoto, Morgan r2):");
                        let rows: Vec<Value> = nearest.iter().map(|h| json!(h)).collect();
                        print_rows(format, &["id", "smiles", "score"], &rows);
                    }
                    println!(
                        "\nPredictions from a model trained on ChEMBL 37 bioactivities; target names from \
                         ChEMBL 36 (both CC BY-SA 3.0)."
                    );
                }
            }
        }
    }
    Ok(())
}

/// ADMET-AI's output shape: each endpoint's value under its own name, the
/// percentile under `<name>_drugbank_approved_percentile`, and Soyaku's
/// additions (ensemble spread, applicability domain).
fn admet_json(smiles: &str, name: Option<&str>, profile: &models::admet::AdmetProfile) -> Value {
    let values = &profile.values;
    let mut row = Map::new();
    row.insert("smiles".into(), json!(smiles));
    if let Some(name) = name {
        row.insert("name".into(), json!(name));
    }
    row.insert("in_domain".into(), json!(profile.in_domain));
    for v in values {
        row.insert(v.endpoint.clone(), json!(v.value));
    }
    for v in values {
        row.insert(
            format!("{}_drugbank_approved_percentile", v.endpoint),
            json!(v.drugbank_percentile),
        );
    }
    for v in values {
        row.insert(format!("{}_spread", v.endpoint), json!(v.spread));
    }
    Value::Object(row)
}
