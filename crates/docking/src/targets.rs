//! DOCKSTRING's 58 prepared protein targets (Apache-2.0): each a receptor in
//! PDBQT and the search box its authors chose, embedded in the binary.

use serde::Serialize;

use crate::DockingError;

/// A prepared receptor and its search box.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The gene name DOCKSTRING uses, e.g. `DRD2`.
    pub name: &'static str,
    /// Box centre, Å.
    pub center: [f64; 3],
    /// Box edge lengths, Å.
    pub size: [f64; 3],
    #[serde(skip)]
    pub(crate) receptor: &'static str,
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
            Target { name, center, size, receptor }
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
