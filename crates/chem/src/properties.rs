//! Rule-based flags computed from RDKit descriptors and alert catalogues.

use crate::{Alert, Descriptors};

/// Pass/fail of the drug-likeness rules a medicinal chemist checks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleFlags {
    /// Number of Lipinski rule-of-five criteria violated (MW > 500,
    /// cLogP > 5, HBD > 5, HBA > 10).
    pub lipinski_violations: u8,
    /// Lipinski passes with at most one violation, as the rule was stated.
    pub lipinski: bool,
    /// Veber: at most 10 rotatable bonds and TPSA at most 140 Å².
    pub veber: bool,
    /// No PAINS alert matched.
    pub pains_free: bool,
    /// No Brenk alert matched.
    pub brenk_free: bool,
}

/// Computes [`RuleFlags`]; a plain function over already-computed values so
/// that stored descriptors and alerts can be re-judged without RDKit.
pub struct Rules;

impl Rules {
    /// Judges the rules from descriptors and alert matches.
    pub fn evaluate(d: &Descriptors, alerts: &[Alert]) -> RuleFlags {
        let lipinski_violations = [d.mol_wt > 500.0, d.clogp > 5.0, d.hbd > 5, d.hba > 10]
            .into_iter()
            .filter(|&v| v)
            .count() as u8;
        RuleFlags {
            lipinski_violations,
            lipinski: lipinski_violations <= 1,
            veber: d.rotatable_bonds <= 10 && d.tpsa <= 140.0,
            pains_free: !alerts.iter().any(|a| a.catalog == "PAINS"),
            brenk_free: !alerts.iter().any(|a| a.catalog == "Brenk"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Molecule;

    #[test]
    fn aspirin_passes_lipinski_and_veber() {
        let m = Molecule::from_smiles("CC(=O)Oc1ccccc1C(=O)O").unwrap();
        let flags = Rules::evaluate(&m.descriptors(), &m.alerts());
        assert_eq!(flags.lipinski_violations, 0);
        assert!(flags.lipinski && flags.veber && flags.pains_free);
    }

    #[test]
    fn catechol_azo_dye_raises_alerts() {
        // An azo-phenol (PAINS azo_A) that Brenk also flags.
        let m = Molecule::from_smiles("Oc1ccc(cc1)N=Nc1ccc(cc1)N(C)C").unwrap();
        let alerts = m.alerts();
        let flags = Rules::evaluate(&m.descriptors(), &alerts);
        assert!(!flags.pains_free || !flags.brenk_free, "{alerts:?}");
    }
}
