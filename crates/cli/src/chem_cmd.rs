//! `soyaku chem …`: chemistry on one structure, no registry needed.

use anyhow::{Context as _, Result};
use chem::{Molecule, MorganParams, Rules, StandardizeOptions};
use clap::Subcommand;
use serde_json::{json, Value};

use crate::output::{print_record, OutputFormat};

#[derive(Subcommand)]
pub(crate) enum ChemCommand {
    /// Canonical SMILES, standardised parent, InChI/InChIKey, descriptors and
    /// rule flags of one structure.
    Describe {
        /// The structure as SMILES.
        smiles: String,
        /// Also replace the parent by its canonical tautomer.
        #[arg(long)]
        canonical_tautomer: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

pub(crate) fn run(command: ChemCommand) -> Result<()> {
    match command {
        ChemCommand::Describe { smiles, canonical_tautomer, format } => {
            let molecule = Molecule::from_smiles(&smiles)
                .with_context(|| format!("'{smiles}' is not a structure Soyaku can read"))?;
            let parent = molecule.standardize(StandardizeOptions { canonical_tautomer })?;
            let inchi = molecule.inchi()?;
            let descriptors = molecule.descriptors();
            let alerts = molecule.alerts();
            let mut record = json!({
                "smiles": molecule.canonical_smiles(),
                "parent_smiles": parent.canonical_smiles(),
                "inchi": inchi.inchi,
                "inchikey": inchi.key,
                "morgan_bits_on": molecule.morgan(MorganParams::default()).popcount(),
            });
            merge(&mut record, descriptors_json(&descriptors));
            merge(&mut record, rules_json(&Rules::evaluate(&descriptors, &alerts)));
            record["alerts"] = alerts_json(&alerts);
            print_record(format, &record);
            Ok(())
        }
    }
}

pub(crate) fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

pub(crate) fn descriptors_json(d: &chem::Descriptors) -> Value {
    json!({
        "mol_wt": d.mol_wt,
        "exact_mol_wt": d.exact_mol_wt,
        "clogp": d.clogp,
        "tpsa": d.tpsa,
        "hbd": d.hbd,
        "hba": d.hba,
        "rotatable_bonds": d.rotatable_bonds,
        "rings": d.rings,
        "aromatic_rings": d.aromatic_rings,
        "heavy_atoms": d.heavy_atoms,
        "formal_charge": d.formal_charge,
        "fraction_csp3": d.fraction_csp3,
    })
}

pub(crate) fn rules_json(r: &chem::RuleFlags) -> Value {
    json!({
        "lipinski_violations": r.lipinski_violations,
        "lipinski": r.lipinski,
        "veber": r.veber,
        "pains_free": r.pains_free,
        "brenk_free": r.brenk_free,
    })
}

pub(crate) fn alerts_json(alerts: &[chem::Alert]) -> Value {
    alerts.iter().map(|a| Value::String(format!("{}: {}", a.catalog, a.name))).collect()
}
