//! `soyaku models …` (the catalogue of prediction models and their cards)
//! and `soyaku predict …` (ADMET profiles and target predictions).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use library::catalog::Wanted;
use models::{Catalogue, Model};
use serde_json::{json, Map, Value};

use crate::output::{print_rows, OutputFormat};
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
}

#[derive(Subcommand)]
pub(crate) enum PredictCommand {
    /// ADMET-AI's 41 endpoints, each with its ensemble spread and its
    /// percentile among approved drugs. JSON keys are ADMET-AI's names.
    Admet {
        /// One structure as SMILES.
        #[arg(long, required_unless_present = "input", conflicts_with = "input")]
        smiles: Option<String>,
        /// A SMILES file (`SMILES [name]` per line): one JSON line per molecule.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Output format (a file's molecules are always JSON Lines).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
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
    }
    Ok(())
}

fn molecule(smiles: &str) -> Result<chem::Molecule> {
    chem::Molecule::from_smiles(smiles).with_context(|| format!("reading the SMILES {smiles:?}"))
}

pub(crate) async fn run_predict(ctx: &Context, command: PredictCommand) -> Result<()> {
    let catalogue = Catalogue::new();
    match command {
        PredictCommand::Admet { smiles: Some(smiles), format, .. } => {
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
        PredictCommand::Admet { input: Some(file), .. } => {
            let model = catalogue.admet()?;
            let (mut entries, mut molecules) = (Vec::new(), Vec::new());
            for entry in crate::smiles_file::read(&file)? {
                match chem::Molecule::from_smiles(&entry.smiles) {
                    Ok(m) => {
                        entries.push((entry.smiles, entry.name));
                        molecules.push(m);
                    }
                    Err(e) => eprintln!("{}:{}: skipped: {e}", file.display(), entry.line),
                }
            }
            let started = std::time::Instant::now();
            let predictions = model.admet(&molecules);
            let elapsed = started.elapsed();
            for ((smiles, name), profile) in entries.iter().zip(&predictions) {
                println!("{}", admet_json(smiles, name.as_deref(), profile));
            }
            eprintln!(
                "{} molecules in {:.2} s ({:.0} molecules/s)",
                molecules.len(),
                elapsed.as_secs_f64(),
                molecules.len() as f64 / elapsed.as_secs_f64().max(1e-9)
            );
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
