//! `soyaku dock …`: AutoDock Vina on DOCKSTRING's targets or the user's own
//! receptor — one ligand with its poses, or a virtual screen of a SMILES file
//! ranked by score.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use docking::{dock, prepare_ligand, Engines, ReceptorFormat, Search, Target};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::output::{print_rows, OutputFormat};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct DockArgs {
    #[command(subcommand)]
    command: Option<DockCommand>,
    #[command(flatten)]
    target: TargetArgs,
    /// The ligand as SMILES.
    #[arg(long)]
    smiles: Option<String>,
    /// Random seed for embedding and search (DOCKSTRING's by default).
    #[arg(long, default_value_t = docking::DOCKSTRING_SEED)]
    seed: u32,
    /// Cores Vina may use.
    #[arg(long, default_value_t = parallel::cores())]
    cpus: usize,
    /// Vina's exhaustiveness (search effort), 1–32.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=32))]
    exhaustiveness: u32,
    /// Write the best pose here: SDF when the name ends in `.sdf` (the
    /// protonated ligand with all hydrogens, bond orders and its score),
    /// else Vina's PDBQT.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    format: OutputFormat,
}

/// Where to dock: a built-in target, or a receptor file and a box.
#[derive(Args)]
struct TargetArgs {
    /// A built-in target, e.g. DRD2 (`soyaku dock targets` lists them).
    #[arg(long, conflicts_with = "receptor")]
    target: Option<String>,
    /// Your own receptor instead: a .pdb file (waters are dropped, hydrogens
    /// and Gasteiger charges added) or a prepared .pdbqt.
    #[arg(long, requires_all = ["center", "size"])]
    receptor: Option<PathBuf>,
    /// The search box's centre for --receptor, Å: X,Y,Z.
    #[arg(long, value_parser = xyz, allow_hyphen_values = true)]
    center: Option<[f64; 3]>,
    /// The search box's edge lengths for --receptor, Å: X,Y,Z.
    #[arg(long, value_parser = xyz)]
    size: Option<[f64; 3]>,
}

impl TargetArgs {
    fn resolve(&self, engines: &Engines) -> Result<Target> {
        match (&self.target, &self.receptor, self.center, self.size) {
            (Some(name), _, _, _) => Ok(docking::target(name)?),
            (None, Some(path), Some(center), Some(size)) => {
                let format = match path.extension().and_then(|e| e.to_str()) {
                    Some(e) if e.eq_ignore_ascii_case("pdbqt") => ReceptorFormat::Pdbqt,
                    Some(e) if e.eq_ignore_ascii_case("pdb") || e.eq_ignore_ascii_case("ent") => {
                        ReceptorFormat::Pdb
                    }
                    _ => anyhow::bail!("{}: give a .pdb or .pdbqt receptor", path.display()),
                };
                let text = fs_err::read_to_string(path)?;
                let name = path.file_stem().map_or("receptor".into(), |s| s.to_string_lossy());
                Ok(Target::custom(engines, &name, &text, format, center, size)?)
            }
            _ => anyhow::bail!("give --target NAME, or --receptor FILE with --center and --size"),
        }
    }
}

/// Parses `X,Y,Z`.
fn xyz(text: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    v.try_into().map_err(|_| format!("{text:?}: give three numbers, X,Y,Z"))
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
    /// them by score; molecules that fail are reported with their reason and
    /// skipped.
    Screen {
        #[command(flatten)]
        target: TargetArgs,
        /// `SMILES [name]` per line.
        #[arg(long)]
        input: PathBuf,
        /// Parallel dockings (one core each).
        #[arg(long, default_value_t = parallel::cores())]
        jobs: usize,
        /// Random seed.
        #[arg(long, default_value_t = docking::DOCKSTRING_SEED)]
        seed: u32,
        /// Vina's exhaustiveness (search effort), 1–32.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=32))]
        exhaustiveness: u32,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
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
        Some(DockCommand::Screen { target, input, jobs, seed, exhaustiveness, format }) => screen(
            &target,
            &input,
            jobs,
            Search { seed, exhaustiveness, ..Search::default() },
            format,
        ),
        None => {
            let Some(smiles) = args.smiles else {
                anyhow::bail!("give --smiles and a target (or a subcommand: targets, screen)");
            };
            let engines = Engines::find()?;
            let target = args.target.resolve(&engines)?;
            let ligand = prepare_ligand(&engines, &smiles, args.seed)?;
            let bar = ProgressBar::new(100);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent}% docking",
                )
                .expect("valid template"),
            );
            let never = AtomicBool::new(false);
            let search =
                Search { seed: args.seed, cpus: args.cpus, exhaustiveness: args.exhaustiveness };
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
                let text = if out.extension().is_some_and(|e| e.eq_ignore_ascii_case("sdf")) {
                    result.pose_sdf(0, &smiles)?
                } else {
                    result.poses[0].pdbqt.clone()
                };
                fs_err::write(out, text).with_context(|| format!("writing {}", out.display()))?;
            }
            let rows: Vec<Value> = result
                .poses
                .iter()
                .enumerate()
                .map(|(i, p)| json!({"target": result.target, "smiles": smiles, "pose": i + 1, "affinity_kcal_mol": p.affinity, "docked": result.ligand.docked}))
                .collect();
            if result.ligand.stereo_chosen {
                eprintln!(
                    "note: the SMILES leaves stereo open; the embedding chose {}",
                    result.ligand.docked
                );
            }
            print_rows(args.format, &["target", "smiles", "pose", "affinity_kcal_mol"], &rows);
            Ok(())
        }
    }
}

fn screen(
    target: &TargetArgs,
    input: &std::path::Path,
    jobs: usize,
    search: Search,
    format: OutputFormat,
) -> Result<()> {
    let engines = Engines::find()?;
    let target = target.resolve(&engines)?;
    // Unnamed ligands are named by their line, so a failure points at it.
    let entries: Vec<docking::Entry> = crate::smiles_file::read(input)?
        .into_iter()
        .map(|e| docking::Entry { name: e.label(), smiles: e.smiles })
        .collect();
    let bar = ProgressBar::new(entries.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ligands ({eta})",
        )
        .expect("valid template"),
    );
    let never = AtomicBool::new(false);
    let screen = docking::screen(
        &engines,
        &target,
        &entries,
        search,
        jobs,
        &|n| bar.set_position(n as u64),
        &never,
    );
    bar.finish_and_clear();
    for (entry, reason) in &screen.failed {
        eprintln!("{}: skipped {}: {reason}", input.display(), entry.name);
    }
    let rows: Vec<Value> = screen
        .ranked
        .iter()
        .enumerate()
        .map(|(i, (e, d))| json!({"rank": i + 1, "name": e.name, "smiles": e.smiles, "score": d.score, "target": target.name, "docked": d.ligand.docked, "stereo_chosen": d.ligand.stereo_chosen}))
        .collect();
    let chosen = screen.ranked.iter().filter(|(_, d)| d.ligand.stereo_chosen).count();
    if chosen > 0 {
        eprintln!("note: {chosen} ligands left stereo open; the embedding chose one isomer each (column docked)");
    }
    print_rows(format, &["rank", "name", "smiles", "score", "target", "docked"], &rows);
    Ok(())
}
