//! Structure-based docking with AutoDock Vina as the engine.
//!
//! A ligand is prepared from SMILES the way DOCKSTRING prepares it, so its
//! published scores are the reference: protonation at pH 7.4 by Open Babel,
//! one ETKDGv3 conformer refined with MMFF94 by RDKit (`chem`), PDBQT with
//! Gasteiger charges by Open Babel. Vina (Debian's `autodock-vina`) then
//! searches the target's box. Both engines run as child processes: a
//! docking reports progress as Vina prints it and stops when cancelled.

#![warn(missing_docs)]

mod targets;

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
pub use targets::{target, targets, ReceptorFormat, Target, MAX_BOX_EDGE};

/// The seed DOCKSTRING uses for embedding and docking.
pub const DOCKSTRING_SEED: u32 = 974_528_263;

/// What went wrong preparing or docking a ligand.
#[derive(Debug, thiserror::Error)]
pub enum DockingError {
    /// No such target, or a target file is unusable.
    #[error("{0}")]
    Target(String),
    /// An engine is not installed.
    #[error("{program} not found: install it with `apt-get install {package}` (scripts/setup.sh does this)")]
    Missing {
        /// The program looked for.
        program: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
    /// The ligand cannot be prepared.
    #[error("ligand {smiles}: {reason}")]
    Ligand {
        /// The SMILES given.
        smiles: String,
        /// Why.
        reason: String,
    },
    /// An engine failed.
    #[error("{program} failed: {reason}")]
    Engine {
        /// Which.
        program: &'static str,
        /// Its own words.
        reason: String,
    },
    /// A pose could not be put back onto the prepared ligand.
    #[error("pose {pose}: {reason}")]
    Pose {
        /// 1-based pose number.
        pose: usize,
        /// Why.
        reason: String,
    },
    /// The caller cancelled the docking.
    #[error("cancelled")]
    Cancelled,
    /// Files in the working directory.
    #[error("docking files: {0}")]
    Io(#[from] std::io::Error),
}

/// The external programs a docking runs.
#[derive(Debug, Clone)]
pub struct Engines {
    vina: PathBuf,
    obabel: PathBuf,
}

fn on_path(program: &'static str, package: &'static str) -> Result<PathBuf, DockingError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or(DockingError::Missing { program, package })
}

impl Engines {
    /// Finds `vina` and `obabel` on `PATH`.
    pub fn find() -> Result<Engines, DockingError> {
        Ok(Engines {
            vina: on_path("vina", "autodock-vina")?,
            obabel: on_path("obabel", "openbabel")?,
        })
    }

    /// Runs Open Babel on `input` given on stdin; returns its stdout.
    fn obabel(&self, args: &[&str], input: &str) -> Result<String, DockingError> {
        let mut child = Command::new(&self.obabel)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child.stdin.take().expect("piped stdin").write_all(input.as_bytes())?;
        let out = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || stdout.trim().is_empty() {
            return Err(DockingError::Engine {
                program: "obabel",
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(stdout)
    }
}

/// A ligand ready for Vina.
#[derive(Debug, Clone, Serialize)]
pub struct Ligand {
    /// The SMILES given.
    pub smiles: String,
    /// After protonation at pH 7.4.
    pub protonated: String,
    /// The refined 3D structure with hydrogens (molfile).
    pub molblock: String,
    /// Vina's input.
    pub pdbqt: String,
    /// What is docked, as SMILES with the stereo of the 3D structure.
    pub docked: String,
    /// Whether the input left stereo open (a stereocentre or double bond)
    /// that the embedding then fixed: `docked` says which isomer it was.
    pub stereo_chosen: bool,
}

/// Prepares `smiles` for docking as DOCKSTRING does (see the crate docs).
pub fn prepare_ligand(engines: &Engines, smiles: &str, seed: u32) -> Result<Ligand, DockingError> {
    let bad = |reason: String| DockingError::Ligand { smiles: smiles.to_owned(), reason };
    let molecule = chem::Molecule::from_smiles(smiles).map_err(|e| bad(e.to_string()))?;
    let canonical = molecule.canonical_smiles();
    if canonical.contains('.') {
        return Err(bad("several fragments; dock one molecule (strip salts first)".into()));
    }
    let protonated = engines.obabel(&["-ismi", "-ocan", "-p7.4"], &format!("{canonical}\n"))?;
    let protonated = protonated.split_whitespace().next().unwrap_or_default().to_owned();
    let charged = chem::Molecule::from_smiles(&protonated)
        .map_err(|e| bad(format!("after protonation: {e}")))?;
    let molblock = charged.embed_3d(seed).map_err(|e| bad(e.to_string()))?;
    // -xp numbers the PDBQT atoms as in the molfile; Vina keeps the numbers
    // in its poses, which is how a pose finds its way back to the molfile.
    let pdbqt =
        engines.obabel(&["-imol", "-opdbqt", "-xp", "--partialcharge", "gasteiger"], &molblock)?;
    // Read back from 3D, RDKit assigns the stereo the conformer has; where
    // the input left it open, that is the embedding's choice (one isomer is
    // docked, as DOCKSTRING does), and the user should know which.
    let docked = chem::smiles_from_3d(&molblock).map_err(|e| bad(e.to_string()))?;
    let stereo_chosen = docked != charged.canonical_smiles();
    Ok(Ligand { smiles: smiles.to_owned(), protonated, molblock, pdbqt, docked, stereo_chosen })
}

/// How thoroughly and where Vina searches.
#[derive(Debug, Clone, Copy)]
pub struct Search {
    /// Random seed (DOCKSTRING's by default).
    pub seed: u32,
    /// Cores Vina may use.
    pub cpus: usize,
    /// Vina's exhaustiveness (8, its default and DOCKSTRING's).
    pub exhaustiveness: u32,
}

impl Default for Search {
    fn default() -> Search {
        Search { seed: DOCKSTRING_SEED, cpus: 1, exhaustiveness: 8 }
    }
}

/// One docked pose.
#[derive(Debug, Clone, Serialize)]
pub struct Pose {
    /// Vina's predicted binding affinity, kcal/mol.
    pub affinity: f64,
    /// The pose in PDBQT (one MODEL of Vina's output).
    pub pdbqt: String,
}

/// The outcome of docking one ligand into one target.
#[derive(Debug, Clone, Serialize)]
pub struct Docking {
    /// The target's name.
    pub target: String,
    /// The best (lowest) affinity, kcal/mol.
    pub score: f64,
    /// Every pose Vina kept, best first.
    pub poses: Vec<Pose>,
    /// The prepared ligand the poses place, with the isomer docked.
    pub ligand: Ligand,
}

impl Docking {
    /// Pose `i` (0-based) as an SD record titled `title`: the prepared
    /// ligand, with its bond orders, charges and every hydrogen, at the
    /// pose's coordinates (RDKit re-places the hydrogens on carbon that Vina
    /// leaves out), with Vina's score as `minimizedAffinity` and the target.
    pub fn pose_sdf(&self, i: usize, title: &str) -> Result<String, DockingError> {
        let pose = &self.poses[i];
        let bad = |reason: String| DockingError::Pose { pose: i + 1, reason };
        let placed = atom_records(&pose.pdbqt)
            .map(|AtomRecord { line, serial, xyz }| {
                let serial = serial.ok_or_else(|| bad(format!("atom line {line:?}")))?;
                let [x, y, z] = xyz.ok_or_else(|| bad(format!("coordinates in {line:?}")))?;
                Ok(chem::PlacedAtom { index: serial.saturating_sub(1), x, y, z })
            })
            .collect::<Result<Vec<_>, DockingError>>()?;
        let posed =
            chem::place_pose(&self.ligand.molblock, &placed).map_err(|e| bad(e.to_string()))?;
        let mut out = String::new();
        let data = [
            ("minimizedAffinity", format!("{}", pose.affinity)),
            ("target", self.target.clone()),
            ("pose", format!("{}", i + 1)),
        ];
        chem::sdf::write_record(&mut out, title, &posed, &data);
        Ok(out)
    }
}

/// One ATOM or HETATM record of a PDB or PDBQT text; a field that does not
/// parse is `None`.
pub(crate) struct AtomRecord<'a> {
    line: &'a str,
    serial: Option<u32>,
    xyz: Option<[f64; 3]>,
}

/// The atom records of `text`, read by their fixed columns.
pub(crate) fn atom_records(text: &str) -> impl Iterator<Item = AtomRecord<'_>> {
    text.lines().filter(|l| l.starts_with("ATOM") || l.starts_with("HETATM")).map(|line| {
        let field = |r: std::ops::Range<usize>| line.get(r).map(str::trim);
        let number = |r| field(r).and_then(|v| v.parse::<f64>().ok());
        let xyz = match (number(30..38), number(38..46), number(46..54)) {
            (Some(x), Some(y), Some(z)) => Some([x, y, z]),
            _ => None,
        };
        AtomRecord { line, serial: field(6..11).and_then(|v| v.parse().ok()), xyz }
    })
}

/// Docks a prepared ligand into `target`. `progress` gets the fraction of
/// Vina's search done (from its progress bar); setting `cancel` stops Vina
/// and returns [`DockingError::Cancelled`].
pub fn dock(
    engines: &Engines,
    target: &Target,
    ligand: &Ligand,
    search: Search,
    progress: &dyn Fn(f64),
    cancel: &AtomicBool,
) -> Result<Docking, DockingError> {
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name);
    std::fs::write(path("receptor.pdbqt"), target.receptor.as_bytes())?;
    std::fs::write(path("ligand.pdbqt"), &ligand.pdbqt)?;
    let number = |x: f64| format!("{x}");
    let mut child = Command::new(&engines.vina)
        .arg("--receptor")
        .arg(path("receptor.pdbqt"))
        .arg("--ligand")
        .arg(path("ligand.pdbqt"))
        .arg("--out")
        .arg(path("out.pdbqt"))
        .args(["--center_x", &number(target.center[0]), "--center_y", &number(target.center[1])])
        .args(["--center_z", &number(target.center[2]), "--size_x", &number(target.size[0])])
        .args(["--size_y", &number(target.size[1]), "--size_z", &number(target.size[2])])
        .args(["--seed", &search.seed.to_string(), "--cpu", &search.cpus.to_string()])
        .args(["--exhaustiveness", &search.exhaustiveness.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    // Vina draws its progress as 51 stars under a ruler; count them as they come.
    let stars = Arc::new(AtomicUsize::new(0));
    let counted = stars.clone();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            counted.fetch_add(buf[..n].iter().filter(|&&b| b == b'*').count(), Ordering::Relaxed);
            text.extend_from_slice(&buf[..n]);
        }
        text
    });
    loop {
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DockingError::Cancelled);
        }
        if let Some(status) = child.try_wait()? {
            let text = reader.join().unwrap_or_default();
            if !status.success() {
                let mut err = String::new();
                child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                return Err(DockingError::Engine {
                    program: "vina",
                    reason: format!("{} {}", err.trim(), String::from_utf8_lossy(&text).trim()),
                });
            }
            progress(1.0);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        progress((stars.load(Ordering::Relaxed) as f64 / VINA_STARS).min(0.99));
    }
    let out = std::fs::read_to_string(path("out.pdbqt"))?;
    let poses = parse_poses(&out);
    let score = poses.first().map(|p| p.affinity).ok_or_else(|| DockingError::Engine {
        program: "vina",
        reason: "no pose found in the box".into(),
    })?;
    Ok(Docking { target: target.name.to_string(), score, poses, ligand: ligand.clone() })
}

/// The stars of Vina's full progress bar.
const VINA_STARS: f64 = 51.0;

/// Splits Vina's output into poses with their affinities.
pub fn parse_poses(out: &str) -> Vec<Pose> {
    let mut poses = Vec::new();
    let mut current = String::new();
    for line in out.lines() {
        current.push_str(line);
        current.push('\n');
        if line.starts_with("ENDMDL") {
            let affinity = current
                .lines()
                .find_map(|l| l.strip_prefix("REMARK VINA RESULT:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok());
            if let Some(affinity) = affinity {
                poses.push(Pose { affinity, pdbqt: std::mem::take(&mut current) });
            }
            current.clear();
        }
    }
    poses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_are_read_from_vina_output() {
        let out = "MODEL 1\nREMARK VINA RESULT:    -9.1      0.000      0.000\nATOM      1  C   UNL     1\nENDMDL\n\
                   MODEL 2\nREMARK VINA RESULT:    -8.4      1.9      3.2\nATOM      1  C   UNL     1\nENDMDL\n";
        let poses = parse_poses(out);
        assert_eq!(poses.iter().map(|p| p.affinity).collect::<Vec<_>>(), [-9.1, -8.4]);
        assert!(poses[1].pdbqt.starts_with("MODEL 2"));
    }
}

/// One ligand of a screen: a name and its SMILES.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Registry id, file name or the SMILES itself.
    pub name: String,
    /// The structure.
    pub smiles: String,
}

/// A virtual screen's outcome.
#[derive(Debug, Default)]
pub struct Screen {
    /// Docked ligands, best (lowest) score first.
    pub ranked: Vec<(Entry, Docking)>,
    /// Ligands that could not be prepared or docked, with the reason.
    pub failed: Vec<(Entry, String)>,
}

/// Docks every entry into `target`, `at_once` dockings at a time (one core
/// each: separate ligands scale better than Vina's own threads). `done` is
/// told after each ligand how many are done; setting `cancel` stops the
/// running dockings and returns what finished, with [`Screen::ranked`] still
/// ranked (ties in the entries' order).
pub fn screen(
    engines: &Engines,
    target: &Target,
    entries: &[Entry],
    search: Search,
    at_once: usize,
    done: &(dyn Fn(usize) + Sync),
    cancel: &AtomicBool,
) -> Screen {
    let finished = AtomicUsize::new(0);
    let search = Search { cpus: 1, ..search };
    let results = parallel::map(entries, at_once.max(1), |entry| {
        if cancel.load(Ordering::Relaxed) {
            return Err(DockingError::Cancelled);
        }
        let result = prepare_ligand(engines, &entry.smiles, search.seed)
            .and_then(|ligand| dock(engines, target, &ligand, search, &|_| {}, cancel));
        if !matches!(result, Err(DockingError::Cancelled)) {
            done(finished.fetch_add(1, Ordering::Relaxed) + 1);
        }
        result
    });
    let mut outcome = Screen::default();
    for (entry, result) in entries.iter().zip(results) {
        match result {
            Ok(d) => outcome.ranked.push((entry.clone(), d)),
            Err(DockingError::Cancelled) => {}
            Err(e) => outcome.failed.push((entry.clone(), e.to_string())),
        }
    }
    outcome.ranked.sort_by(|a, b| a.1.score.total_cmp(&b.1.score));
    outcome
}
