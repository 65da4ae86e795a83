"""The peer side of bench/import.sh: RDKit's Python API doing Soyaku's
per-molecule registration work, in N worker processes. Prints molecules/s."""
import multiprocessing
import sys
import time

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, Crippen, Descriptors, Lipinski, rdMolDescriptors, rdMolHash
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")


def register(line):
    mol = Chem.MolFromSmiles(line.split()[0])
    if mol is None:
        return 0
    parent = rdMolStandardize.ChargeParent(mol)
    Chem.MolToSmiles(parent)
    Chem.MolToInchiKey(parent)
    AllChem.GetMorganFingerprintAsBitVect(parent, 2, nBits=2048)
    Chem.PatternFingerprint(parent, 2048)
    flat = Chem.Mol(parent)
    Chem.RemoveStereochemistry(flat)
    rdMolHash.MolHash(flat, rdMolHash.HashFunction.HetAtomTautomer)
    (Descriptors.MolWt(parent), Descriptors.ExactMolWt(parent), Crippen.MolLogP(parent),
     Descriptors.TPSA(parent), Lipinski.NumHDonors(parent), Lipinski.NumHAcceptors(parent),
     Descriptors.NumRotatableBonds(parent), rdMolDescriptors.CalcNumRings(parent),
     rdMolDescriptors.CalcNumAromaticRings(parent), rdMolDescriptors.CalcFractionCSP3(parent))
    return 1


def main():
    lines = open(sys.argv[1]).read().splitlines()
    workers = int(sys.argv[2])
    start = time.time()
    with multiprocessing.Pool(workers) as pool:
        done = sum(pool.imap_unordered(register, lines, chunksize=256))
    print(f"{done / (time.time() - start):.0f}")


if __name__ == "__main__":
    main()
