//! `soyaku chem …`: chemistry on one structure, no registry needed.

use anyhow::{Context as _, Result};
use chem::{Molecule, MorganParams, Rules, StandardizeOptions};
use clap::Subcommand;
use library::record::{alerts, descriptors, merge, rules};
use serde_json::json;

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
            let computed = molecule.descriptors();
            let found = molecule.alerts();
            let mut record = json!({
                "smiles": molecule.canonical_smiles(),
                "parent_smiles": parent.canonical_smiles(),
                "inchi": inchi.inchi,
                "inchikey": inchi.key,
                "morgan_bits_on": molecule.morgan(MorganParams::default()).popcount(),
            });
            merge(&mut record, descriptors(&computed));
            merge(&mut record, rules(&Rules::evaluate(&computed, &found)));
            record["alerts"] = alerts(&found);
            print_record(format, &record);
            Ok(())
        }
    }
}
