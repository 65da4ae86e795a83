//! Soyaku's chemistry core: a small, safe Rust API over RDKit.
//!
//! Everything that perceives chemistry (parsing, sanitisation, aromaticity,
//! canonical SMILES, stereo, standardisation, fingerprints, descriptors,
//! structural alerts, depiction) is RDKit's; standard InChI comes from the
//! IUPAC library fed with the same data a MolBlock carries. This crate only
//! adapts types and errors. Values agree with RDKit's Python API on the same
//! input; `tests/rdkit_agreement.rs` checks that on real molecules.

#![warn(missing_docs)]

mod ffi;
mod fingerprint;
pub mod limits;
mod properties;
pub mod sdf;

use cxx::UniquePtr;

pub use ffi::bridge::{AtomInfo, BondInfo, Descriptors, FilterHit as Alert, PlacedAtom};
pub use fingerprint::{Fingerprint, MorganParams, PATTERN_BITS};
pub use properties::{RuleFlags, Rules};

/// What went wrong in a chemistry operation. Messages carry RDKit's own reason
/// so that a user can see which atom or token is at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ChemError {
    /// The text is not a valid structure in the named format.
    #[error("invalid {format}: {reason}")]
    Parse {
        /// "SMILES", "SMARTS" or "mol block".
        format: &'static str,
        /// RDKit's explanation, e.g. an over-valent atom.
        reason: String,
    },
    /// The structure is larger than the process's [`limits`] allow.
    #[error("{format} too large: {reason}")]
    TooLarge {
        /// "SMILES", "SMARTS" or "mol block".
        format: &'static str,
        /// What is too large, and the limit.
        reason: String,
    },
    /// The structure parsed but an operation on it failed.
    #[error("{operation} failed: {reason}")]
    Operation {
        /// What was being done: "standardisation", "InChI", "depiction", …
        operation: &'static str,
        /// The underlying library's explanation.
        reason: String,
    },
}

/// A sanitised molecule, owned by RDKit.
pub struct Molecule {
    raw: UniquePtr<ffi::bridge::ROMol>,
}

/// A substructure query compiled from SMARTS or SMILES.
pub struct Query {
    raw: UniquePtr<ffi::bridge::ROMol>,
    /// Chirality is honoured when the query states it.
    use_chirality: bool,
}

/// Which molfile dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MolBlockVersion {
    /// The classic fixed-column format, the default for up to 999 atoms.
    #[default]
    V2000,
    /// The extended format.
    V3000,
}

/// How to reduce a submitted structure to its registered parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StandardizeOptions {
    /// Replace the structure by RDKit's canonical tautomer. Off by default:
    /// tautomer enumeration costs more than the rest of registration, and the
    /// registry already recognises tautomers through [`Molecule::tautomer_hash`].
    pub canonical_tautomer: bool,
}

/// Standard InChI and InChIKey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inchi {
    /// The standard InChI string (`InChI=1S/...`).
    pub inchi: String,
    /// The 27-character standard InChIKey.
    pub key: String,
}

fn operation_error(operation: &'static str) -> impl Fn(cxx::Exception) -> ChemError {
    move |e| ChemError::Operation { operation, reason: e.what().to_owned() }
}

impl Molecule {
    /// Parses and sanitises SMILES as `Chem.MolFromSmiles` does, after
    /// checking it against the process's [`limits`].
    pub fn from_smiles(smiles: &str) -> Result<Molecule, ChemError> {
        let smiles = smiles.trim();
        if smiles.is_empty() {
            return Err(ChemError::Parse { format: "SMILES", reason: "empty SMILES".into() });
        }
        limits::check_line_notation("SMILES", smiles, limits::get())?;
        ffi::bridge::mol_from_smiles(smiles)
            .map(|raw| Molecule { raw })
            .map_err(|e| ChemError::Parse { format: "SMILES", reason: e.what().to_owned() })
    }

    /// Parses SMILES that RDKit itself wrote from a sanitised molecule, such
    /// as a registry's canonical SMILES, skipping the sanitisation steps
    /// whose result the text already records (kekulisation, aromaticity,
    /// cleanup): about twice as fast, for reading stored structures back
    /// to match them. Other SMILES must go through [`Molecule::from_smiles`].
    pub fn from_trusted_smiles(smiles: &str) -> Result<Molecule, ChemError> {
        ffi::bridge::mol_from_trusted_smiles(smiles)
            .map(|raw| Molecule { raw })
            .map_err(|e| ChemError::Parse { format: "SMILES", reason: e.what().to_owned() })
    }

    /// The molecule in Soyaku's packed binary form: what RDKit perceived
    /// (flags, hybridisation, stereo, rings) stored as it is, so that
    /// [`Molecule::from_packed`] rebuilds the molecule without perceiving
    /// anything again; it is the read path of every substructure candidate,
    /// so it avoids the per-field stream reads of RDKit's pickle. Molecules
    /// the packed form cannot hold (query features, atom properties,
    /// stereo groups) are stored as RDKit pickles inside it.
    pub fn to_packed(&self) -> Vec<u8> {
        ffi::bridge::mol_to_packed(&self.raw)
    }

    /// Reads a molecule written by [`Molecule::to_packed`].
    pub fn from_packed(bytes: &[u8]) -> Result<Molecule, ChemError> {
        ffi::bridge::mol_from_packed(bytes).map(|raw| Molecule { raw }).map_err(|e| {
            ChemError::Parse { format: "packed molecule", reason: e.what().to_owned() }
        })
    }

    /// Parses a V2000 or V3000 mol block as `Chem.MolFromMolBlock` does.
    pub fn from_molblock(block: &str) -> Result<Molecule, ChemError> {
        limits::check_molblock(block, limits::get())?;
        ffi::bridge::mol_from_molblock(block)
            .map(|raw| Molecule { raw })
            .map_err(|e| ChemError::Parse { format: "mol block", reason: e.what().to_owned() })
    }

    /// RDKit's canonical isomeric SMILES.
    pub fn canonical_smiles(&self) -> String {
        ffi::bridge::mol_to_smiles(&self.raw)
    }

    /// A mol block, with 2D coordinates computed when the molecule has none.
    pub fn molblock(&self, version: MolBlockVersion) -> Result<String, ChemError> {
        ffi::bridge::mol_to_molblock(&self.raw, version == MolBlockVersion::V3000)
            .map_err(operation_error("mol block writing"))
    }

    /// A 2D depiction as a standalone SVG document.
    pub fn svg(&self, width: u32, height: u32) -> Result<String, ChemError> {
        ffi::bridge::mol_to_svg(&self.raw, width, height).map_err(operation_error("depiction"))
    }

    /// The registrable parent: RDKit's charge parent (cleanup, largest organic
    /// fragment so salts and solvents go, neutralisation), optionally followed
    /// by the canonical tautomer. Same as `rdMolStandardize.ChargeParent`.
    pub fn standardize(&self, options: StandardizeOptions) -> Result<Molecule, ChemError> {
        ffi::bridge::standardize(&self.raw, options.canonical_tautomer)
            .map(|raw| Molecule { raw })
            .map_err(operation_error("standardisation"))
    }

    /// The slow twin of [`Molecule::standardize`]: RDKit's own
    /// `chargeParent`, which rebuilds its catalogues on every call. Tests
    /// check that both give the same parent.
    pub fn standardize_trivial_but_slow(&self) -> Result<Molecule, ChemError> {
        ffi::bridge::standardize_reference(&self.raw)
            .map(|raw| Molecule { raw })
            .map_err(operation_error("standardisation"))
    }

    /// The same molecule with all stereochemistry removed.
    pub fn without_stereo(&self) -> Molecule {
        Molecule { raw: ffi::bridge::strip_stereo(&self.raw) }
    }

    /// RDKit's `HetAtomTautomer` molecule hash: equal for tautomers that move
    /// hydrogens between heteroatoms (keto/enol pairs need
    /// [`StandardizeOptions::canonical_tautomer`]).
    pub fn tautomer_hash(&self) -> String {
        ffi::bridge::tautomer_hash(&self.raw)
    }

    /// Standard InChI and InChIKey.
    pub fn inchi(&self) -> Result<Inchi, ChemError> {
        let r = ffi::bridge::inchi(&self.raw).map_err(operation_error("InChI"))?;
        Ok(Inchi { inchi: r.inchi, key: r.key })
    }

    /// A Morgan (ECFP-like) bit fingerprint, as `GetMorganFingerprintAsBitVect`.
    pub fn morgan(&self, params: MorganParams) -> Fingerprint {
        let mut fp = Fingerprint::zeroed(params.bits);
        ffi::bridge::morgan_fingerprint(&self.raw, params.radius, fp.words_mut());
        fp
    }

    /// RDKit's pattern fingerprint ([`PATTERN_BITS`] bits) for substructure
    /// screening: every bit of a query's fingerprint is set in the fingerprint
    /// of any molecule that contains it.
    pub fn pattern_fingerprint(&self) -> Fingerprint {
        let mut fp = Fingerprint::zeroed(PATTERN_BITS);
        ffi::bridge::pattern_fingerprint(&self.raw, fp.words_mut());
        fp
    }

    /// The descriptors a medicinal chemist expects.
    pub fn descriptors(&self) -> Descriptors {
        ffi::bridge::descriptors(&self.raw)
    }

    /// Matches of RDKit's PAINS (A, B, C) and Brenk catalogues.
    pub fn alerts(&self) -> Vec<Alert> {
        ffi::bridge::structural_alerts(&self.raw)
    }

    /// Number of atoms in the graph (hydrogens only where explicit).
    pub fn num_atoms(&self) -> u32 {
        ffi::bridge::num_atoms(&self.raw)
    }

    /// RDKit's perception of each atom, in atom-index order.
    pub fn atoms(&self) -> Vec<AtomInfo> {
        ffi::bridge::atom_infos(&self.raw)
    }

    /// RDKit's perception of each bond, in bond-index order.
    pub fn bonds(&self) -> Vec<BondInfo> {
        ffi::bridge::bond_infos(&self.raw)
    }

    /// A 3D structure with hydrogens, as a molfile: one ETKDGv3 conformer
    /// from `seed`, refined with MMFF94 (UFF where MMFF94 lacks parameters).
    pub fn embed_3d(&self, seed: u32) -> Result<String, ChemError> {
        ffi::bridge::embed_3d(&self.raw, seed).map_err(operation_error("3D embedding"))
    }

    /// Whether `query` matches a substructure of this molecule.
    pub fn has_substructure(&self, query: &Query) -> bool {
        ffi::bridge::has_substruct_match(&self.raw, &query.raw, query.use_chirality)
    }

    /// The kind of each atom, in atom order: a key holding every atom
    /// property that the query atoms [`Query::kind_screenable`] accepts can
    /// read, so that atoms of one kind answer those queries alike.
    pub fn atom_kind_keys(&self) -> Result<Vec<Vec<u8>>, ChemError> {
        let flat = ffi::bridge::atom_kind_keys(&self.raw)
            .map_err(operation_error("describing atom kinds"))?;
        let mut keys = Vec::with_capacity(self.num_atoms() as usize);
        let mut rest = flat.as_slice();
        while let Some((&len, tail)) = rest.split_first() {
            let (key, tail) = tail.split_at(len as usize);
            keys.push(key.to_vec());
            rest = tail;
        }
        Ok(keys)
    }
}

/// Canonical isomeric SMILES of the 3D molfile `molblock`, with the stereo
/// its coordinates have (every stereocentre and double bond the structure
/// fixes, whether or not the molfile flags them).
pub fn smiles_from_3d(molblock: &str) -> Result<String, ChemError> {
    ffi::bridge::smiles_from_3d(molblock).map_err(operation_error("reading stereo from 3D"))
}

/// The molfile `molblock` (a 3D structure with hydrogens, as
/// [`Molecule::embed_3d`] writes it) moved to a pose: `placed` gives new
/// positions by atom index; each hydrogen the pose leaves out is put back by
/// RDKit on its placed neighbour. Every other atom must be placed. Bonds,
/// charges and stereo stay those of the molfile, so the result is the same
/// molecule, posed.
pub fn place_pose(molblock: &str, placed: &[PlacedAtom]) -> Result<String, ChemError> {
    ffi::bridge::place_pose(molblock, placed).map_err(operation_error("placing a pose"))
}

impl Clone for Molecule {
    fn clone(&self) -> Molecule {
        Molecule { raw: ffi::bridge::clone_mol(&self.raw) }
    }
}

impl std::fmt::Debug for Molecule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Molecule({})", self.canonical_smiles())
    }
}

impl Query {
    /// Compiles a SMARTS pattern.
    pub fn from_smarts(smarts: &str) -> Result<Query, ChemError> {
        let smarts = smarts.trim();
        if smarts.is_empty() {
            return Err(ChemError::Parse { format: "SMARTS", reason: "empty SMARTS".into() });
        }
        limits::check_line_notation("SMARTS", smarts, limits::get())?;
        ffi::bridge::mol_from_smarts(smarts)
            .map(|raw| Query {
                raw,
                use_chirality: smarts.contains("@@")
                    || smarts.contains("@H")
                    || smarts.contains("@]"),
            })
            .map_err(|e| ChemError::Parse { format: "SMARTS", reason: e.what().to_owned() })
    }

    /// Uses a whole molecule (parsed from SMILES) as the query.
    pub fn from_molecule(molecule: Molecule) -> Query {
        let use_chirality = molecule.canonical_smiles().contains('@');
        Query { raw: molecule.raw, use_chirality }
    }

    /// For each query atom, whether matching it against one atom of each
    /// kind ([`Molecule::atom_kind_keys`]) decides it for every atom of that
    /// kind. Recursive SMARTS and queries on atom properties are not.
    pub fn kind_screenable(&self) -> Vec<bool> {
        ffi::bridge::query_atoms_screenable(&self.raw).into_iter().map(|b| b != 0).collect()
    }

    /// For each query atom, whether it matches atom `atom` of `molecule`.
    ///
    /// # Panics
    /// If `molecule` has no atom `atom`.
    pub fn atoms_matching(&self, molecule: &Molecule, atom: u32) -> Vec<bool> {
        assert!(atom < molecule.num_atoms(), "atom {atom} out of range");
        let mut out = vec![0u8; ffi::bridge::num_atoms(&self.raw) as usize];
        ffi::bridge::query_atoms_match(&self.raw, &molecule.raw, atom, &mut out);
        out.into_iter().map(|b| b != 0).collect()
    }

    /// Whether matching respects the query's stereo (it names some).
    pub fn uses_chirality(&self) -> bool {
        self.use_chirality
    }

    /// The query written back as SMARTS.
    pub fn smarts(&self) -> String {
        ffi::bridge::mol_to_smarts(&self.raw)
    }

    /// The query's pattern fingerprint, for screening before matching:
    /// RDKit's, except that atoms whose SMARTS does not start with an
    /// element count as wildcards, because RDKit's bits for them are not
    /// all set in the molecules they match.
    pub fn pattern_fingerprint(&self) -> Fingerprint {
        let mut fp = Fingerprint::zeroed(PATTERN_BITS);
        ffi::bridge::query_pattern_fingerprint(&self.raw, fp.words_mut());
        fp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_say_why() {
        let err = Molecule::from_smiles("C(C)(C)(C)(C)C").unwrap_err();
        assert!(err.to_string().contains("valence"), "{err}");
        let err = Molecule::from_smiles("c1ccc").unwrap_err();
        assert!(err.to_string().starts_with("invalid SMILES"), "{err}");
        assert!(Molecule::from_smiles("  ").is_err());
        assert!(Query::from_smarts("[C;").is_err());
    }

    #[test]
    fn canonical_smiles_is_order_independent() {
        let a = Molecule::from_smiles("OCC").unwrap();
        let b = Molecule::from_smiles("C(O)C").unwrap();
        assert_eq!(a.canonical_smiles(), "CCO");
        assert_eq!(a.canonical_smiles(), b.canonical_smiles());
    }

    #[test]
    fn standardize_strips_salts_and_neutralises() {
        let m = Molecule::from_smiles("CC(=O)[O-].[Na+]").unwrap();
        let parent = m.standardize(StandardizeOptions::default()).unwrap();
        assert_eq!(parent.canonical_smiles(), "CC(=O)O");
        let m = Molecule::from_smiles("C[NH3+].[Cl-]").unwrap();
        assert_eq!(m.standardize(StandardizeOptions::default()).unwrap().canonical_smiles(), "CN");
    }

    #[test]
    fn inchikey_of_ethanol() {
        let m = Molecule::from_smiles("CCO").unwrap();
        let i = m.inchi().unwrap();
        assert_eq!(i.inchi, "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
        assert_eq!(i.key, "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
    }

    #[test]
    fn inchi_keeps_defined_stereo_and_ignores_drawn_geometry() {
        let l_ala = Molecule::from_smiles("C[C@@H](C(=O)O)N").unwrap().inchi().unwrap();
        assert_eq!(l_ala.key, "QNAYBMKLOCPYGJ-REOHCLBHSA-N");
        let trans = Molecule::from_smiles("C/C=C/C").unwrap().inchi().unwrap();
        assert_eq!(trans.inchi, "InChI=1S/C4H8/c1-3-4-2/h3-4H,1-2H3/b4-3+");
        let unspecified = Molecule::from_smiles("CC=CC").unwrap().inchi().unwrap();
        assert_eq!(unspecified.inchi, "InChI=1S/C4H8/c1-3-4-2/h3-4H,1-2H3");
    }

    #[test]
    fn substructure_and_screen_agree() {
        let m = Molecule::from_smiles("c1ccccc1CC(=O)O").unwrap();
        let q = Query::from_smarts("C(=O)[OH]").unwrap();
        assert!(m.has_substructure(&q));
        let (query_bits, mol_bits) = (q.pattern_fingerprint(), m.pattern_fingerprint());
        assert!(query_bits.words().iter().zip(mol_bits.words()).all(|(q, m)| q & !m == 0));
        let q = Query::from_smarts("c1ccncc1").unwrap();
        assert!(!m.has_substructure(&q));
    }

    #[test]
    fn svg_and_molblocks_render() {
        let m = Molecule::from_smiles("c1ccccc1O").unwrap();
        assert!(m.svg(200, 150).unwrap().contains("<svg"));
        let v2 = m.molblock(MolBlockVersion::V2000).unwrap();
        assert!(v2.contains("V2000"));
        let v3 = m.molblock(MolBlockVersion::V3000).unwrap();
        assert!(v3.contains("V3000"));
        let back = Molecule::from_molblock(&v3).unwrap();
        assert_eq!(back.canonical_smiles(), m.canonical_smiles());
    }
}
