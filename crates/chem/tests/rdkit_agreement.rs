//! Every value the chemistry core computes must equal RDKit's Python API on
//! the same input. The oracle script runs RDKit itself (Debian's build of the
//! library we link, and PyPI's rdkit==2022.9.5 for InChI, which Debian's
//! build lacks) over ~6,300 real molecules: NCI's first 5,000 (salts,
//! charges, metals), 1,000 MOSES/ZINC compounds, 100 ChEMBL compounds,
//! 200 PubChem SD records and a set of stereo, tautomer and salt cases.
//!
//! The interpreters come from `SOYAKU_RDKIT_PYTHON` (default
//! `/usr/bin/python3`) and `SOYAKU_INCHI_PYTHON` (default
//! `.venv/oracle/bin/python` at the workspace root); `scripts/setup.sh test`
//! installs both. A missing oracle fails the test: it never passes vacuously.

use std::path::{Path, PathBuf};
use std::process::Command;

use chem::sdf::SdfReader;
use chem::{ChemError, Molecule, MorganParams, StandardizeOptions};
use serde_json::Value;

const FILES: &[&str] = &[
    "nci-first-5k.smi",
    "moses-1000.smi",
    "chembl24-sample-100.smi",
    "stereo-drugs.smi",
    "pubchem-200.sdf",
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn oracle(python_var: &str, default: &Path, file: &Path, inchi: bool) -> Vec<Value> {
    let python =
        std::env::var_os(python_var).map(PathBuf::from).unwrap_or_else(|| default.to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/rdkit_oracle.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script).arg(file);
    if inchi {
        cmd.arg("--inchi");
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run the RDKit oracle {} ({e}); run `scripts/setup.sh test` or set {python_var}",
            python.display()
        )
    });
    assert!(
        out.status.success(),
        "RDKit oracle {} failed: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("oracle prints UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle prints JSON lines"))
        .collect()
}

fn ours(file: &Path) -> Vec<Result<Molecule, ChemError>> {
    let text = std::fs::read_to_string(file).expect("test data readable");
    if file.extension().is_some_and(|e| e == "sdf") {
        SdfReader::new(text.as_bytes())
            .map(|r| Molecule::from_molblock(&r.expect("record").molblock))
            .collect()
    } else {
        text.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(Molecule::from_smiles)
            .collect()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[derive(Default)]
struct Disagreements {
    compared: usize,
    rows: Vec<String>,
}

impl Disagreements {
    fn check(&mut self, file: &str, i: usize, what: &str, ours: String, theirs: String) {
        if ours != theirs {
            self.rows.push(format!("{file}#{}: {what}: ours {ours} ≠ RDKit {theirs}", i + 1));
        }
    }
}

#[test]
fn chemistry_agrees_with_rdkit_python() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let inchi_python = workspace.join(".venv/oracle/bin/python");
    let mut d = Disagreements::default();
    let mut inchi_compared = 0;
    for file in FILES {
        let path = data(file);
        let reference = oracle("SOYAKU_RDKIT_PYTHON", Path::new("/usr/bin/python3"), &path, false);
        let reference_inchi = oracle("SOYAKU_INCHI_PYTHON", &inchi_python, &path, true);
        let mols = ours(&path);
        assert_eq!(mols.len(), reference.len(), "{file}: record counts differ");
        for (i, (mol, (r, ri))) in
            mols.iter().zip(reference.iter().zip(&reference_inchi)).enumerate()
        {
            d.compared += 1;
            let Ok(mol) = mol else {
                d.check(file, i, "parses", "false".into(), r["ok"].to_string());
                continue;
            };
            d.check(file, i, "parses", "true".into(), r["ok"].to_string());
            if r["ok"] != Value::Bool(true) {
                continue;
            }
            d.check(
                file,
                i,
                "canonical SMILES",
                mol.canonical_smiles(),
                r["smiles"].as_str().unwrap_or("").into(),
            );
            let parent = match mol.standardize(StandardizeOptions::default()) {
                Ok(p) => p,
                Err(e) => {
                    d.check(file, i, "standardises", e.to_string(), r["parent"].to_string());
                    continue;
                }
            };
            let Some(expected_parent) = r["parent"].as_str() else {
                d.check(
                    file,
                    i,
                    "standardises",
                    parent.canonical_smiles(),
                    r["parent_error"].to_string(),
                );
                continue;
            };
            d.check(file, i, "parent", parent.canonical_smiles(), expected_parent.into());
            let slow = mol
                .standardize_trivial_but_slow()
                .map(|m| m.canonical_smiles())
                .unwrap_or_default();
            d.check(file, i, "fast parent = RDKit chargeParent", parent.canonical_smiles(), slow);

            let desc = parent.descriptors();
            for (name, value) in [
                ("mol_wt", desc.mol_wt),
                ("exact_mol_wt", desc.exact_mol_wt),
                ("clogp", desc.clogp),
                ("tpsa", desc.tpsa),
                ("fraction_csp3", desc.fraction_csp3),
            ] {
                let expected = r[name].as_f64().expect("oracle float");
                if !close(value, expected) {
                    d.check(file, i, name, value.to_string(), expected.to_string());
                }
            }
            for (name, value) in [
                ("hbd", i64::from(desc.hbd)),
                ("hba", i64::from(desc.hba)),
                ("rotatable_bonds", i64::from(desc.rotatable_bonds)),
                ("rings", i64::from(desc.rings)),
                ("aromatic_rings", i64::from(desc.aromatic_rings)),
                ("heavy_atoms", i64::from(desc.heavy_atoms)),
                ("formal_charge", i64::from(desc.formal_charge)),
            ] {
                d.check(file, i, name, value.to_string(), r[name].to_string());
            }
            let bits = |fp: chem::Fingerprint| format!("{:?}", fp.on_bits().collect::<Vec<_>>());
            let expected_bits = |k: &str| {
                format!(
                    "{:?}",
                    r[k].as_array()
                        .expect("bits")
                        .iter()
                        .map(|v| v.as_u64().unwrap_or(0) as u32)
                        .collect::<Vec<_>>()
                )
            };
            d.check(
                file,
                i,
                "morgan",
                bits(parent.morgan(MorganParams::default())),
                expected_bits("morgan"),
            );
            d.check(
                file,
                i,
                "pattern",
                bits(parent.pattern_fingerprint()),
                expected_bits("pattern"),
            );
            d.check(
                file,
                i,
                "tautomer hash",
                parent.without_stereo().tautomer_hash(),
                r["tautomer_hash"].as_str().unwrap_or("").into(),
            );
            let mut alerts: Vec<String> =
                parent.alerts().iter().map(|a| format!("{}:{}", a.catalog, a.name)).collect();
            alerts.sort();
            d.check(
                file,
                i,
                "alerts",
                format!("{alerts:?}"),
                format!(
                    "{:?}",
                    r["alerts"]
                        .as_array()
                        .expect("alerts")
                        .iter()
                        .map(|v| v.as_str().unwrap_or("").to_owned())
                        .collect::<Vec<_>>()
                ),
            );

            // PyPI's wheel is a later patch release; compare InChI only where
            // it standardised to the same parent.
            if ri["parent"].as_str() == Some(expected_parent) {
                inchi_compared += 1;
                match parent.inchi() {
                    Ok(inchi) => {
                        d.check(
                            file,
                            i,
                            "InChI",
                            inchi.inchi,
                            ri["inchi"].as_str().unwrap_or("").into(),
                        );
                        d.check(
                            file,
                            i,
                            "InChIKey",
                            inchi.key,
                            ri["inchikey"].as_str().unwrap_or("").into(),
                        );
                    }
                    Err(e) => d.check(file, i, "InChI", e.to_string(), ri["inchi"].to_string()),
                }
            }
        }
    }
    eprintln!(
        "compared {} records ({inchi_compared} with InChI); {} disagreements",
        d.compared,
        d.rows.len()
    );
    assert!(d.compared > 6000, "too few molecules compared: {}", d.compared);
    assert!(d.rows.is_empty(), "{} disagreements with RDKit:\n{}", d.rows.len(), d.rows.join("\n"));
}
