//! Docking targets: DOCKSTRING's 58 prepared proteins (Apache-2.0), each a
//! receptor in PDBQT and the search box its authors chose, embedded in the
//! binary; or a user's own receptor (PDB or PDBQT) with a box.

use std::borrow::Cow;

use serde::Serialize;

use crate::{atom_records, DockingError, Engines};

/// A prepared receptor and its search box.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The gene name DOCKSTRING uses, e.g. `DRD2`, or the user's name for
    /// their receptor.
    pub name: Cow<'static, str>,
    /// Box centre, Å.
    pub center: [f64; 3],
    /// Box edge lengths, Å.
    pub size: [f64; 3],
    #[serde(skip)]
    pub(crate) receptor: Cow<'static, str>,
}

/// Longest box edge accepted, Å. Vina's search grows with the box volume,
/// and a box this size already spans a whole typical protein.
pub const MAX_BOX_EDGE: f64 = 126.0;

/// A receptor's format, as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceptorFormat {
    /// Protein Data Bank: prepared here (waters dropped, hydrogens added,
    /// Gasteiger charges, rigid PDBQT by Open Babel).
    Pdb,
    /// Already prepared for Vina.
    Pdbqt,
}

impl Target {
    /// The receptor as Vina reads it (PDBQT).
    pub fn receptor(&self) -> &str {
        &self.receptor
    }

    /// The user's receptor `text` with a search box. A PDB file is prepared
    /// for Vina here; a PDBQT file is used as given.
    pub fn custom(
        engines: &Engines,
        name: &str,
        text: &str,
        format: ReceptorFormat,
        center: [f64; 3],
        size: [f64; 3],
    ) -> Result<Target, DockingError> {
        let bad = |reason: String| DockingError::Target(format!("receptor {name}: {reason}"));
        if !center.iter().all(|c| c.is_finite()) {
            return Err(bad("the box centre must be three numbers".into()));
        }
        if !size.iter().all(|&s| s > 0.0 && s <= MAX_BOX_EDGE) {
            return Err(bad(format!("each box edge must be above 0 and at most {MAX_BOX_EDGE} Å")));
        }
        let receptor = match format {
            ReceptorFormat::Pdbqt => text.to_owned(),
            ReceptorFormat::Pdb => {
                // Crystal waters would be docked against as if protein.
                let dry: String = text
                    .lines()
                    .filter(|l| {
                        !(l.starts_with("HETATM")
                            && matches!(l.get(17..20).map(str::trim), Some("HOH" | "WAT")))
                    })
                    .flat_map(|l| [l, "\n"])
                    .collect();
                engines.obabel(
                    &["-ipdb", "-opdbqt", "-xr", "-h", "--partialcharge", "gasteiger"],
                    &dry,
                )?
            }
        };
        let atoms = atom_records(&receptor).count();
        if atoms == 0 {
            return Err(bad("no ATOM or HETATM records".into()));
        }
        let inside = atom_records(&receptor)
            .filter_map(|r| r.xyz)
            .filter(|xyz| (0..3).all(|k| (xyz[k] - center[k]).abs() <= size[k] / 2.0))
            .count();
        if inside == 0 {
            return Err(bad(format!(
                "none of its {atoms} atoms is inside the box: check the centre {center:?}"
            )));
        }
        Ok(Target {
            name: Cow::Owned(name.to_owned()),
            center,
            size,
            receptor: Cow::Owned(receptor),
        })
    }
}

macro_rules! targets {
    ($($name:literal),* $(,)?) => {
        const FILES: &[(&str, &str, &str)] = &[$((
            $name,
            include_str!(concat!("../../../data/docking/dockstring-0.3.4/targets/", $name, "_target.pdbqt")),
            include_str!(concat!("../../../data/docking/dockstring-0.3.4/targets/", $name, "_conf.txt")),
        )),*];
    };
}

targets!(
    "ABL1", "ACHE", "ADAM17", "ADORA2A", "ADRB1", "ADRB2", "AKT1", "AKT2", "AR", "BACE1", "CA2",
    "CASP3", "CDK2", "CSF1R", "CYP2C9", "CYP3A4", "DHFR", "DPP4", "DRD2", "DRD3", "EGFR", "ESR1",
    "ESR2", "F10", "F2", "FGFR1", "GBA", "HMGCR", "HSD11B1", "HSP90AA1", "IGF1R", "JAK2", "KDR",
    "KIT", "LCK", "MAOB", "MAP2K1", "MAPK1", "MAPK14", "MAPKAPK2", "MET", "MMP13", "NOS1", "NR3C1",
    "PARP1", "PDE5A", "PGR", "PLK1", "PPARA", "PPARD", "PPARG", "PTGS2", "PTK2", "PTPN1", "REN",
    "ROCK1", "SRC", "THRB",
);

/// Reads `center_x = 9.25`-style lines of a Vina configuration.
fn box_of(name: &str, conf: &str) -> Result<([f64; 3], [f64; 3]), DockingError> {
    let value = |key: &str| {
        conf.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
            .ok_or_else(|| DockingError::Target(format!("{name}: no {key} in its box")))
    };
    Ok((
        [value("center_x")?, value("center_y")?, value("center_z")?],
        [value("size_x")?, value("size_y")?, value("size_z")?],
    ))
}

/// Every built-in target, by name.
pub fn targets() -> Vec<Target> {
    FILES
        .iter()
        .map(|&(name, receptor, conf)| {
            let (center, size) =
                box_of(name, conf).expect("bundled boxes are well formed (tested)");
            Target { name: Cow::Borrowed(name), center, size, receptor: Cow::Borrowed(receptor) }
        })
        .collect()
}

/// A built-in target by name (case-insensitive).
pub fn target(name: &str) -> Result<Target, DockingError> {
    targets().into_iter().find(|t| t.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
        DockingError::Target(format!(
            "no target '{name}'; the built-in targets are {}",
            FILES.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_58_targets_have_a_receptor_and_a_box() {
        let all = targets();
        assert_eq!(all.len(), 58);
        for t in &all {
            assert!(t.receptor.lines().any(|l| l.starts_with("ATOM")), "{}", t.name);
            assert!(t.size.iter().all(|&s| s > 10.0 && s < 40.0), "{}: {:?}", t.name, t.size);
        }
        let drd2 = target("drd2").unwrap();
        assert_eq!((drd2.center, drd2.size), ([9.25, 6.167, -7.0], [30.0, 30.0, 32.0]));
        assert!(target("XYZ1").unwrap_err().to_string().contains("DRD2"));
    }
}
