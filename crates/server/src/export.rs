//! Search results as files: CSV (one row per hit, every shown column) and
//! SD files (a 2D mol block per hit with the same columns as data items).

use chem::{MolBlockVersion, Molecule};

use crate::hits::HitRow;
use crate::ApiError;

/// Column heads, in file order.
const COLUMNS: [&str; 12] = [
    "id",
    "smiles",
    "score",
    "mol_wt",
    "clogp",
    "tpsa",
    "hbd",
    "hba",
    "rotatable_bonds",
    "heavy_atoms",
    "lipinski",
    "veber",
];

fn values(h: &HitRow) -> [String; 12] {
    [
        h.id.to_string(),
        h.smiles.clone(),
        format!("{:.4}", h.score),
        format!("{:.3}", h.mol_wt),
        format!("{:.3}", h.clogp),
        format!("{:.2}", h.tpsa),
        h.hbd.to_string(),
        h.hba.to_string(),
        h.rotatable_bonds.to_string(),
        h.heavy_atoms.to_string(),
        h.lipinski.to_string(),
        h.veber.to_string(),
    ]
}

/// CSV with a header row. Canonical SMILES and the other fields contain no
/// commas, quotes or line breaks, so no field needs quoting.
pub fn csv(hits: &[HitRow]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for h in hits {
        out.push_str(&values(h).join(","));
        out.push('\n');
    }
    out
}

/// An SD file: each hit's registered structure with 2D coordinates, titled
/// with its registry id, the columns as data items.
pub fn sdf(hits: &[HitRow]) -> Result<String, ApiError> {
    let mut out = String::new();
    for h in hits {
        let molecule = Molecule::from_smiles(&h.smiles)?;
        let block = molecule.molblock(MolBlockVersion::V2000)?;
        let data: Vec<(&str, String)> = COLUMNS.iter().copied().zip(values(h)).skip(1).collect();
        chem::sdf::write_record(&mut out, &h.id.to_string(), &block, &data);
    }
    Ok(out)
}
