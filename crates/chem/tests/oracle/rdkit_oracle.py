"""The reference values Soyaku's chemistry must reproduce, from RDKit's own
Python API. Reads a SMILES file or SD file, writes one JSON object per
record. Run with Debian's python3 (RDKit 2022.09, the library we link) for
everything but InChI, and with PyPI rdkit==2022.9.5 (built with InChI) and
--inchi for the InChI fields.
"""
import json
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, Crippen, Descriptors, Lipinski, rdMolDescriptors, rdMolHash
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")


def catalog(which):
    p = FilterCatalogParams()
    p.AddCatalog(which)
    return FilterCatalog(p)


PAINS = catalog(FilterCatalogParams.FilterCatalogs.PAINS)
BRENK = catalog(FilterCatalogParams.FilterCatalogs.BRENK)


def records(path):
    if path.endswith(".sdf"):
        for mol in Chem.ForwardSDMolSupplier(path):
            yield mol
    else:
        for line in open(path):
            parts = line.split()
            if parts:
                yield Chem.MolFromSmiles(parts[0])


def tautomer_hash(mol):
    flat = Chem.Mol(mol)
    Chem.RemoveStereochemistry(flat)
    return rdMolHash.MolHash(flat, rdMolHash.HashFunction.HetAtomTautomer)


def describe(mol, inchi_only):
    if mol is None:
        return {"ok": False}
    try:
        parent = rdMolStandardize.ChargeParent(mol)
    except Exception as e:  # the standardiser can refuse odd inputs
        return {"ok": True, "smiles": Chem.MolToSmiles(mol), "parent_error": str(e)}
    out = {"ok": True, "smiles": Chem.MolToSmiles(mol), "parent": Chem.MolToSmiles(parent)}
    if inchi_only:
        out["inchi"] = Chem.MolToInchi(parent)
        out["inchikey"] = Chem.MolToInchiKey(parent)
        return out
    out.update(
        mol_wt=Descriptors.MolWt(parent),
        exact_mol_wt=Descriptors.ExactMolWt(parent),
        clogp=Crippen.MolLogP(parent),
        tpsa=Descriptors.TPSA(parent),
        hbd=Lipinski.NumHDonors(parent),
        hba=Lipinski.NumHAcceptors(parent),
        rotatable_bonds=Descriptors.NumRotatableBonds(parent),
        rings=rdMolDescriptors.CalcNumRings(parent),
        aromatic_rings=rdMolDescriptors.CalcNumAromaticRings(parent),
        heavy_atoms=parent.GetNumHeavyAtoms(),
        formal_charge=Chem.GetFormalCharge(parent),
        fraction_csp3=rdMolDescriptors.CalcFractionCSP3(parent),
        morgan=list(AllChem.GetMorganFingerprintAsBitVect(parent, 2, nBits=2048).GetOnBits()),
        pattern=list(Chem.PatternFingerprint(parent, 2048).GetOnBits()),
        tautomer_hash=tautomer_hash(parent),
        alerts=sorted(
            ["PAINS:" + e.GetDescription() for e in PAINS.GetMatches(parent)]
            + ["Brenk:" + e.GetDescription() for e in BRENK.GetMatches(parent)]
        ),
    )
    return out


def main():
    inchi_only = "--inchi" in sys.argv
    path = [a for a in sys.argv[1:] if not a.startswith("--")][0]
    for mol in records(path):
        print(json.dumps(describe(mol, inchi_only)))


if __name__ == "__main__":
    main()
