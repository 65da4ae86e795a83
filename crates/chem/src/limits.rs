//! Size limits on structures, checked before RDKit perceives anything.
//!
//! Why: RDKit's perception is not linear in the size of what it is given.
//! Its canonical SMILES writer and pattern fingerprints recurse once per
//! atom (a chain of ~3,000 atoms overflows a 2 MiB stack and kills the
//! process), and its CIP ranking is cubic on nested branches (a 15 KB SMILES
//! took over two minutes). Text is checked first (length, NUL and control
//! characters, which RDKit would silently cut at), then the atoms as the
//! parser alone reads them, before sanitisation. The limits are one policy
//! for the whole process, set once at start-up ([`set`]); the defaults
//! suit a small-molecule and mid-size (peptide, macrocycle) registry.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ChemError;

/// The largest structures accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters of a SMILES or SMARTS.
    pub max_chars: usize,
    /// Atoms as written (explicit hydrogens count).
    pub max_atoms: usize,
}

impl Default for Limits {
    /// 4,000 characters and 1,000 atoms: a 60-residue peptide or the
    /// largest macrocycle drug has under 600 heavy atoms; the largest
    /// molecule in ChEMBL's small-molecule set has ~ 900.
    fn default() -> Limits {
        Limits { max_chars: 4_000, max_atoms: 1_000 }
    }
}

static MAX_CHARS: AtomicUsize = AtomicUsize::new(4_000);
static MAX_ATOMS: AtomicUsize = AtomicUsize::new(1_000);

/// Sets the process's limits (at start-up, from configuration).
pub fn set(limits: Limits) {
    MAX_CHARS.store(limits.max_chars, Ordering::Relaxed);
    MAX_ATOMS.store(limits.max_atoms, Ordering::Relaxed);
}

/// The process's limits.
pub fn get() -> Limits {
    Limits {
        max_chars: MAX_CHARS.load(Ordering::Relaxed),
        max_atoms: MAX_ATOMS.load(Ordering::Relaxed),
    }
}

fn too_large(format: &'static str, reason: String) -> ChemError {
    ChemError::TooLarge { format, reason }
}

/// Refuses NUL and other control characters (tab, line feed and carriage
/// return are allowed where `lines` is true, as in a mol block).
pub(crate) fn check_characters(
    format: &'static str,
    text: &str,
    lines: bool,
) -> Result<(), ChemError> {
    let bad = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t')));
    match bad {
        None => Ok(()),
        Some((at, c)) => Err(ChemError::Parse {
            format,
            reason: format!("control character U+{:04X} at position {}", c as u32, at + 1),
        }),
    }
}

/// Checks SMILES or SMARTS text against the limits: characters, then the
/// atoms as the parser reads them (only when the text is long enough to
/// hold more atoms than allowed: every atom takes at least one character).
pub(crate) fn check_line_notation(
    format: &'static str,
    text: &str,
    limits: Limits,
) -> Result<(), ChemError> {
    let chars = check_text(format, text, limits)?;
    if chars > limits.max_atoms {
        let atoms = crate::ffi::bridge::atoms_as_written(text, format == "SMARTS");
        check_atoms(format, atoms, limits)?;
    }
    Ok(())
}

/// The checks of SMILES or SMARTS text that need no parser (control
/// characters, length), cheap enough to run anywhere: a server runs them
/// before a request waits for a chemistry thread, so that what is refused
/// anyway is refused at once. Returns the length in characters.
fn check_text(format: &'static str, text: &str, limits: Limits) -> Result<usize, ChemError> {
    check_characters(format, text, false)?;
    let chars = text.chars().count();
    if chars > limits.max_chars {
        return Err(too_large(
            format,
            format!("{chars} characters; at most {} are accepted", limits.max_chars),
        ));
    }
    Ok(chars)
}

/// [`check_text`] for a SMILES (`smarts` false) or SMARTS query under the
/// process's limits, without RDKit.
pub fn precheck(text: &str, smarts: bool) -> Result<(), ChemError> {
    let format = if smarts { "SMARTS" } else { "SMILES" };
    check_text(format, text.trim(), get()).map(|_| ())
}

/// Checks a mol block's atom count as its counts line states it (V2000
/// line 4, or V3000's `COUNTS`), before RDKit reads the block.
pub(crate) fn check_molblock(block: &str, limits: Limits) -> Result<(), ChemError> {
    check_characters("mol block", block, true)?;
    let stated = block.lines().find_map(|line| {
        let rest = line.strip_prefix("M  V30 COUNTS ")?;
        rest.split_whitespace().next()?.parse::<i64>().ok()
    });
    let atoms = stated.or_else(|| {
        let counts = block.lines().nth(3)?;
        counts.get(..3)?.trim().parse::<i64>().ok()
    });
    match atoms {
        Some(atoms) => check_atoms("mol block", atoms, limits),
        // RDKit's own parse says what is wrong with the block.
        None => Ok(()),
    }
}

fn check_atoms(format: &'static str, atoms: i64, limits: Limits) -> Result<(), ChemError> {
    if atoms > limits.max_atoms as i64 {
        return Err(too_large(
            format,
            format!("{atoms} atoms; at most {} are accepted", limits.max_atoms),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits { max_chars: 40, max_atoms: 10 };

    #[test]
    fn long_text_and_many_atoms_are_refused_before_perception() {
        assert!(check_line_notation("SMILES", "CCO", SMALL).is_ok());
        let err = check_line_notation("SMILES", &"C".repeat(41), SMALL).unwrap_err();
        assert_eq!(err.to_string(), "SMILES too large: 41 characters; at most 40 are accepted");
        // Unparseable text is left to the full parse, which says why.
        assert!(check_line_notation("SMILES", "C(C(C(C(C(C(", SMALL).is_ok());
        let err = check_line_notation("SMILES", &"C".repeat(11), SMALL).unwrap_err();
        assert_eq!(err.to_string(), "SMILES too large: 11 atoms; at most 10 are accepted");
        // Bracket atoms and two-letter elements are one atom each.
        assert!(check_line_notation("SMILES", "[Na+].[Cl-].BrCCBr.ClCCCl", SMALL).is_ok());
        // 8 bracket atoms and 3 plain ones in 35 characters.
        let err = check_line_notation("SMARTS", &format!("{}CCC", "[#6]".repeat(8)), SMALL);
        assert_eq!(
            err.unwrap_err().to_string(),
            "SMARTS too large: 11 atoms; at most 10 are accepted"
        );
    }

    #[test]
    fn control_characters_are_refused_with_their_place() {
        let err = check_line_notation("SMILES", "C\0CO", SMALL).unwrap_err();
        assert_eq!(err.to_string(), "invalid SMILES: control character U+0000 at position 2");
        assert!(check_line_notation("SMILES", "C\tC", SMALL).is_err());
        assert!(check_molblock("\n  x\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n", SMALL).is_ok());
        assert!(check_molblock("a\u{7}b", SMALL).is_err());
    }

    #[test]
    fn a_mol_block_is_judged_by_its_counts_line() {
        let v2000 = "t\n  x\n\n 11  0  0  0  0  0  0  0  0  0999 V2000\n";
        assert!(check_molblock(v2000, SMALL).unwrap_err().to_string().contains("11 atoms"));
        let v3000 = "t\n\n\n  0  0  0  0  0  0  0  0  0  0999 V3000\nM  V30 BEGIN CTAB\nM  V30 COUNTS 12 0 0 0 0\n";
        assert!(check_molblock(v3000, SMALL).unwrap_err().to_string().contains("12 atoms"));
        assert!(check_molblock("not a mol block", SMALL).is_ok());
    }
}
