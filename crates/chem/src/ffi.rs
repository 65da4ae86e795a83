//! The raw cxx bridge to `cpp/shim.cc`. Nothing outside this crate sees it:
//! `lib.rs` wraps each call in a safe, typed API.

#[cxx::bridge(namespace = "soyaku")]
pub(crate) mod bridge {
    /// RDKit's descriptor values for one molecule.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Descriptors {
        /// Average molecular weight (`Descriptors.MolWt`).
        mol_wt: f64,
        /// Monoisotopic mass (`Descriptors.ExactMolWt`).
        exact_mol_wt: f64,
        /// Wildman–Crippen logP (`Crippen.MolLogP`).
        clogp: f64,
        /// Topological polar surface area, N and O only (`Descriptors.TPSA`).
        tpsa: f64,
        /// Hydrogen-bond donors (`Lipinski.NumHDonors`).
        hbd: u32,
        /// Hydrogen-bond acceptors (`Lipinski.NumHAcceptors`).
        hba: u32,
        /// Rotatable bonds (`Descriptors.NumRotatableBonds`).
        rotatable_bonds: u32,
        /// SSSR ring count (`Descriptors.RingCount`).
        rings: u32,
        /// Aromatic rings (`Descriptors.NumAromaticRings`).
        aromatic_rings: u32,
        /// Heavy (non-hydrogen) atoms.
        heavy_atoms: u32,
        /// Net formal charge.
        formal_charge: i32,
        /// Fraction of sp3 carbons (`Descriptors.FractionCSP3`).
        fraction_csp3: f64,
    }

    /// One match of a structural-alert catalogue entry.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct FilterHit {
        /// `PAINS` or `Brenk`.
        catalog: String,
        /// The catalogue entry's description.
        name: String,
    }

    /// Standard InChI, its key, and InChI's own warning text (often empty).
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct InchiResult {
        /// The standard InChI.
        inchi: String,
        /// The standard InChIKey.
        key: String,
        /// InChI's warning text, empty when none.
        warning: String,
    }

    /// What RDKit perceives of one atom, as graph neural networks read it.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct AtomInfo {
        /// Atomic number.
        atomic_num: u32,
        /// Neighbours including implicit hydrogens (`GetTotalDegree`).
        total_degree: u32,
        /// Formal charge.
        formal_charge: i32,
        /// RDKit's `ChiralType` value.
        chiral_tag: u32,
        /// Hydrogens, implicit and explicit (`GetTotalNumHs`).
        total_hs: u32,
        /// RDKit's `HybridizationType` value.
        hybridization: u32,
        /// Aromatic flag.
        aromatic: bool,
        /// Average atomic mass, or the isotope's mass (`GetMass`).
        mass: f64,
    }

    /// What RDKit perceives of one bond.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct BondInfo {
        /// Index of the first atom.
        begin: u32,
        /// Index of the second atom.
        end: u32,
        /// RDKit's `BondType` value (1 single, 2 double, 3 triple, 12 aromatic, …).
        bond_type: u32,
        /// Conjugation flag.
        conjugated: bool,
        /// Whether the bond is in a ring.
        in_ring: bool,
        /// RDKit's `BondStereo` value.
        stereo: u32,
    }

    /// An atom's position in a pose: its index in the molfile it came from.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct PlacedAtom {
        /// Atom index (0-based) in the molfile.
        index: u32,
        /// x, Å.
        x: f64,
        /// y, Å.
        y: f64,
        /// z, Å.
        z: f64,
    }

    unsafe extern "C++" {
        include!("chem/cpp/shim.h");

        #[namespace = "RDKit"]
        type ROMol;

        fn mol_from_smiles(smiles: &str) -> Result<UniquePtr<ROMol>>;
        fn mol_from_trusted_smiles(smiles: &str) -> Result<UniquePtr<ROMol>>;
        fn mol_to_packed(mol: &ROMol) -> Vec<u8>;
        fn mol_from_packed(bytes: &[u8]) -> Result<UniquePtr<ROMol>>;
        fn mol_from_smarts(smarts: &str) -> Result<UniquePtr<ROMol>>;
        fn mol_from_molblock(block: &str) -> Result<UniquePtr<ROMol>>;
        fn atoms_as_written(text: &str, smarts: bool) -> i64;
        fn clone_mol(mol: &ROMol) -> UniquePtr<ROMol>;

        fn mol_to_smiles(mol: &ROMol) -> String;
        fn mol_to_smarts(mol: &ROMol) -> String;
        fn mol_to_molblock(mol: &ROMol, v3000: bool) -> Result<String>;
        fn mol_to_svg(mol: &ROMol, width: u32, height: u32) -> Result<String>;

        fn standardize(mol: &ROMol, canonical_tautomer: bool) -> Result<UniquePtr<ROMol>>;
        fn standardize_reference(mol: &ROMol) -> Result<UniquePtr<ROMol>>;
        fn strip_stereo(mol: &ROMol) -> UniquePtr<ROMol>;
        fn tautomer_hash(mol: &ROMol) -> String;
        fn inchi(mol: &ROMol) -> Result<InchiResult>;

        fn morgan_fingerprint(mol: &ROMol, radius: u32, words: &mut [u64]);
        fn pattern_fingerprint(mol: &ROMol, words: &mut [u64]);
        fn query_pattern_fingerprint(query: &ROMol, words: &mut [u64]);

        fn descriptors(mol: &ROMol) -> Descriptors;
        fn structural_alerts(mol: &ROMol) -> Vec<FilterHit>;

        fn num_atoms(mol: &ROMol) -> u32;
        fn atom_infos(mol: &ROMol) -> Vec<AtomInfo>;
        fn bond_infos(mol: &ROMol) -> Vec<BondInfo>;
        fn embed_3d(mol: &ROMol, seed: u32) -> Result<String>;
        fn place_pose(molblock: &str, placed: &[PlacedAtom]) -> Result<String>;
        fn smiles_from_3d(molblock: &str) -> Result<String>;
        fn has_substruct_match(mol: &ROMol, query: &ROMol, use_chirality: bool) -> bool;
        fn atom_kind_keys(mol: &ROMol) -> Result<Vec<u8>>;
        fn query_atoms_screenable(query: &ROMol) -> Vec<u8>;
        fn query_atoms_match(query: &ROMol, mol: &ROMol, atom: u32, out: &mut [u8]);
    }
}

// SAFETY: an RDKit molecule owns all its data and has no thread affinity, so
// moving it to another thread is sound. It is not `Sync`: RDKit fills some
// caches (ring info, properties) lazily through `const` methods.
unsafe impl Send for bridge::ROMol {}
