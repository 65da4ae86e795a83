//! `soyaku dock …`: AutoDock Vina on DOCKSTRING's targets — one ligand with
//! its poses, or a virtual screen of a SMILES file ranked by score.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use docking::{dock, prepare_ligand, target, Engines, Search};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::output::{print_rows, OutputFormat};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct DockArgs {
    #[command(subcommand)]
    command: Option<DockCommand>,
    /// The target, e.g. DRD2 (`soyaku dock targets` lists them).
    #[arg(long)]
    target: Option<String>,
    /// The ligand as SMILES.
    #[arg(long)]
    smiles: Option<String>,
    /// Random seed for embedding and search (DOCKSTRING's by default).
    #[arg(long, default_value_t = docking::DOCKSTRING_SEED)]
    seed: u32,
    /// Cores Vina may use.
    #[arg(long, default_value_t = cores())]
    cpus: usize,
    /// Write the best pose here, as PDBQT.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

#[derive(Subcommand)]
enum DockCommand {
    /// The built-in targets and their boxes.
    Targets {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Docks every molecule of a SMILES file, one Vina per core, and ranks
    /// them by score; molecules that fail are reported and skipped.
    Screen {
        /// The target.
        #[arg(long)]
        target: String,
        /// `SMILES [name]` per line.
        #[arg(long)]
        input: PathBuf,
        /// Parallel dockings (one core each).
        #[arg(long, default_value_t = cores())]
        jobs: usize,
        /// Random seed.
        #[arg(long, default_value_t = docking::DOCKSTRING_SEED)]
        seed: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(crate) fn run(args: DockArgs) -> Result<()> {
    match args.command {
        Some(DockCommand::Targets { format }) => {
            let rows: Vec<Value> = docking::targets()
                .iter()
                .map(|t| json!({"target": t.name, "center": t.center, "size": t.size}))
                .collect();
            print_rows(format, &["target", "center", "size"], &rows);
            Ok(())
        }
        Some(DockCommand::Screen { target: name, input, jobs, seed, format }) => {
            screen(&name, &input, jobs, seed, format)
        }
        None => {
            let (Some(name), Some(smiles)) = (args.target, args.smiles) else {
                anyhow::bail!("give --target and --smiles (or a subcommand: targets, screen)");
            };
            let engines = Engines::find()?;
            let target = target(&name)?;
            let ligand = prepare_ligand(&engines, &smiles, args.seed)?;
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent}% docking",
                )
                .expect("valid template"),
            );
            let never = AtomicBool::new(false);
            let search = Search { seed: args.seed, cpus: args.cpus, ..Search::default() };
            let result = dock(
                &engines,
                &target,
                &ligand,
                search,
                &|f| bar.set_position((f * 100.0) as u64),
                &never,
            )?;
            bar.finish_and_clear();
            if let Some(out) = &args.out {
                fs_err::write(out, &result.poses[0].pdbqt)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            let rows: Vec<Value> = result
                .poses
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"target": result.target, "smiles": smiles, "pose": i + 1, "affinity_kcal_mol": p.affinity}))
                .collect();
            print_rows(args.format, &["target", "smiles", "pose", "affinity_kcal_mol"], &rows);
            Ok(())
        }
    }
}

fn screen(name: &str, input: &PathBuf, jobs: usize, seed: u32, format: OutputFormat) -> Result<()> {
    let engines = Engines::find()?;
    let target = target(name)?;
    let text = fs_err::read_to_string(input)?;
    let ligands: Vec<(usize, String, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(n, l)| {
            let mut f = l.split_whitespace();
            let smiles = f.next()?.to_owned();
            Some((n + 1, smiles.clone(), f.next().map_or(smiles, str::to_owned)))
        })
        .collect();
    let bar = ProgressBar::new(ligands.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ligands ({eta})",
        )
        .expect("valid template"),
    );
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let never = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let Some((line, smiles, name)) = ligands.get(next.fetch_add(1, Ordering::Relaxed))
                else {
                    break;
                };
                let search = Search { seed, cpus: 1, ..Search::default() };
                let outcome = prepare_ligand(&engines, smiles, seed)
                    .and_then(|ligand| dock(&engines, &target, &ligand, search, &|_| {}, &never));
                match outcome {
                    Ok(d) => results
                        .lock()
                        .expect("results")
                        .push(json!({"name": name, "smiles": smiles, "score": d.score})),
                    Err(e) => bar.println(format!("{}:{line}: skipped: {e}", input.display())),
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    let mut rows = results.into_inner().expect("results");
    rows.sort_by(|a, b| {
        a["score"].as_f64().unwrap_or(0.0).total_cmp(&b["score"].as_f64().unwrap_or(0.0))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r["rank"] = json!(i + 1);
        r["target"] = json!(target.name);
    }
    print_rows(format, &["rank", "name", "smiles", "score", "target"], &rows);
    Ok(())
}
