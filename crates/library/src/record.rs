//! Compounds as JSON records: one shape for every front end (the `soyaku`
//! command's `--format json` and the web API), so they never drift apart.

use chem::{Alert, Descriptors, RuleFlags, Rules};
use serde_json::{json, Value};

use crate::Compound;

/// Adds the fields of `from` to `into` (both objects).
pub fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(a), Value::Object(b)) = (into, from) {
        a.extend(b);
    }
}

/// The registration descriptors.
pub fn descriptors(d: &Descriptors) -> Value {
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

/// Rule-of-thumb flags.
pub fn rules(r: &RuleFlags) -> Value {
    json!({
        "lipinski_violations": r.lipinski_violations,
        "lipinski": r.lipinski,
        "veber": r.veber,
        "pains_free": r.pains_free,
        "brenk_free": r.brenk_free,
    })
}

/// Structural alerts as `catalog: name` strings.
pub fn alerts(alerts: &[Alert]) -> Value {
    alerts.iter().map(|a| Value::String(format!("{}: {}", a.catalog, a.name))).collect()
}

/// A compound with every tier, its descriptors, rule flags and alerts.
/// Alerts are computed here (they are not stored; see the crate docs), so
/// this costs a few milliseconds.
pub fn compound(compound: &Compound) -> Value {
    let p = &compound.parent;
    let i = &p.identity;
    let alert_list = chem::Molecule::from_smiles(&i.smiles).map(|m| m.alerts()).unwrap_or_default();
    let mut record = json!({
        "id": p.id.to_string(),
        "smiles": i.smiles,
        "inchi": i.inchi,
        "inchikey": i.inchikey,
        "connectivity_key": i.connectivity_key,
        "tautomer_hash": i.tautomer_hash,
    });
    merge(&mut record, descriptors(&p.descriptors));
    merge(&mut record, rules(&Rules::evaluate(&p.descriptors, &alert_list)));
    record["alerts"] = alerts(&alert_list);
    record["batches"] = compound
        .batches
        .iter()
        .map(|b| {
            json!({"batch": b.id, "source": b.source, "external_id": b.external_id,
                   "submitted_smiles": b.submitted_smiles, "salt_form": b.salt_form,
                   "supplier": b.supplier, "purity": b.purity})
        })
        .collect::<Value>();
    record["samples"] = compound
        .samples
        .iter()
        .map(|s| {
            let c = &s.container;
            json!({"batch": s.batch_id, "container": c.container, "barcode": c.barcode,
                   "well": c.well, "concentration_mm": c.concentration_mm,
                   "volume_ul": c.volume_ul, "location": c.location})
        })
        .collect::<Value>();
    record["related"] = compound
        .related
        .iter()
        .map(|r| json!({"id": r.id.to_string(), "smiles": r.smiles, "relation": r.relation}))
        .collect::<Value>();
    record
}

/// How an import went, as a record (the error report's place is added by
/// whoever wrote it).
pub fn import_summary(s: &crate::import::ImportSummary) -> Value {
    let status = if s.already_complete {
        "already imported (use --recheck to go through it again)"
    } else if s.cancelled {
        "cancelled (run the same import again to resume)"
    } else {
        "complete"
    };
    json!({
        "status": status,
        "source": s.source,
        "records": s.tally.records,
        "parents_new": s.tally.parents_new,
        "batches_new": s.tally.batches_new,
        "samples_new": s.tally.samples_new,
        "unchanged": s.tally.unchanged,
        "errors": s.tally.errors,
        "resumed_after": s.resumed_after,
    })
}
