//! Turning a submitted structure into everything the registry stores about
//! it. Pure and CPU-bound, so bulk import runs it on every core.

use chem::{ChemError, Descriptors, Fingerprint, Molecule, MorganParams, StandardizeOptions};

/// How structures are standardised and fingerprinted at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrepareOptions {
    /// Standardisation applied to the submitted structure.
    pub standardize: StandardizeOptions,
    /// Morgan fingerprint stored for similarity search.
    pub morgan: MorganParams,
}

/// What identifies a parent structure, from strict to loose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentIdentity {
    /// Canonical SMILES of the standardised parent.
    pub smiles: String,
    /// Standard InChI of the parent.
    pub inchi: String,
    /// Standard InChIKey of the parent: the parent's identity.
    pub inchikey: String,
    /// First InChIKey block: equal for stereoisomers and isotopologues.
    pub connectivity_key: String,
    /// RDKit tautomer hash of the stereo-free parent: equal for tautomers
    /// that move hydrogens between heteroatoms.
    pub tautomer_hash: String,
}

/// A structure ready to register: the parent's identity and computed
/// properties, and what the batch records about the submitted form.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The parent's identity layers.
    pub identity: ParentIdentity,
    /// RDKit descriptors of the parent.
    pub descriptors: Descriptors,
    /// Morgan fingerprint of the parent.
    pub morgan: Fingerprint,
    /// Pattern fingerprint of the parent, for substructure screening.
    pub pattern: Fingerprint,
    /// Canonical SMILES of the structure as submitted (with counter-ions).
    pub submitted_smiles: String,
    /// Salt form and stoichiometry, e.g. `parent×1 · [Cl-]×2`; empty when the
    /// submitted structure is the parent alone.
    pub salt_form: String,
}

/// Standardises `submitted` and computes every registered property.
pub fn prepare(submitted: &Molecule, options: PrepareOptions) -> Result<Prepared, ChemError> {
    let parent = submitted.standardize(options.standardize)?;
    if parent.num_atoms() == 0 {
        return Err(ChemError::Operation {
            operation: "standardisation",
            reason: "nothing remains after removing salts and solvents".into(),
        });
    }
    let smiles = parent.canonical_smiles();
    let inchi = parent.inchi()?;
    let connectivity_key = inchi.key.split('-').next().unwrap_or_default().to_owned();
    let submitted_smiles = submitted.canonical_smiles();
    let salt_form = salt_form(&submitted_smiles, &smiles, options.standardize)?;
    let descriptors = parent.descriptors();
    Ok(Prepared {
        identity: ParentIdentity {
            tautomer_hash: parent.without_stereo().tautomer_hash(),
            inchi: inchi.inchi,
            inchikey: inchi.key,
            connectivity_key,
            smiles,
        },
        morgan: parent.morgan(options.morgan),
        pattern: parent.pattern_fingerprint(),
        descriptors,
        submitted_smiles,
        salt_form,
    })
}

/// Counts the submitted fragments, naming the ones that are not the parent.
/// Which fragment is the parent is decided by RDKit's standardiser, run on
/// each distinct fragment; this only tallies.
fn salt_form(
    submitted: &str,
    parent: &str,
    options: StandardizeOptions,
) -> Result<String, ChemError> {
    if !submitted.contains('.') {
        return Ok(String::new());
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for fragment in submitted.split('.') {
        match counts.iter_mut().find(|(f, _)| f == fragment) {
            Some((_, n)) => *n += 1,
            None => counts.push((fragment.to_owned(), 1)),
        }
    }
    let mut parent_count = 0;
    let mut others = Vec::new();
    for (fragment, n) in counts {
        let standardized = Molecule::from_smiles(&fragment)?.standardize(options)?;
        if parent_count == 0 && standardized.canonical_smiles() == parent {
            parent_count = n;
        } else {
            others.push(format!("{fragment}×{n}"));
        }
    }
    let mut parts = vec![format!("parent×{}", parent_count.max(1))];
    parts.extend(others);
    Ok(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(smiles: &str) -> Prepared {
        prepare(&Molecule::from_smiles(smiles).unwrap(), PrepareOptions::default()).unwrap()
    }

    #[test]
    fn salts_share_the_parent_and_record_the_form() {
        let free = prep("CN1CCC[C@H]1c1cccnc1");
        let salt = prep("CN1CCC[C@H]1c1cccnc1.Cl.Cl");
        assert_eq!(free.identity.inchikey, salt.identity.inchikey);
        assert_eq!(free.salt_form, "");
        assert_eq!(salt.salt_form, "parent×1 · Cl×2");
    }

    #[test]
    fn stereoisomers_share_connectivity_only() {
        let r = prep("C[C@@H](N)C(=O)O");
        let s = prep("C[C@H](N)C(=O)O");
        assert_ne!(r.identity.inchikey, s.identity.inchikey);
        assert_eq!(r.identity.connectivity_key, s.identity.connectivity_key);
        assert_eq!(r.identity.tautomer_hash, s.identity.tautomer_hash);
    }

    #[test]
    fn heteroatom_tautomers_share_the_tautomer_layer() {
        let hydroxy = prep("Oc1ccccn1");
        let pyridone = prep("O=c1cccc[nH]1");
        assert_eq!(hydroxy.identity.tautomer_hash, pyridone.identity.tautomer_hash);
    }

    #[test]
    fn canonical_tautomer_option_merges_keto_and_enol() {
        let options = PrepareOptions {
            standardize: StandardizeOptions { canonical_tautomer: true },
            ..PrepareOptions::default()
        };
        let keto = prepare(&Molecule::from_smiles("CC(=O)CC(C)=O").unwrap(), options).unwrap();
        let enol = prepare(&Molecule::from_smiles("CC(O)=CC(C)=O").unwrap(), options).unwrap();
        assert_eq!(keto.identity.inchikey, enol.identity.inchikey);
        // Without it they stay two parents; the hash covers heteroatom moves only.
        assert_ne!(
            prep("CC(=O)CC(C)=O").identity.inchikey,
            prep("CC(O)=CC(C)=O").identity.inchikey
        );
    }
}
