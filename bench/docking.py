"""DOCKSTRING's 24 reference dockings (dockstring 0.3.4,
`dataset.random_dataset_tuples`), each run twice on one core:
  - Soyaku: `soyaku dock --target T --smiles S --cpus 1` (Open Babel
    protonation, RDKit ETKDGv3 + MMFF94, Open Babel PDBQT, Vina 1.2.3);
  - by hand: what a user does with the tools alone, `obabel -:S -p 7.4
    --gen3d -opdbqt` then `vina --cpu 1` with the same box and seed.
Prints each score against DOCKSTRING's, the wall and CPU seconds per
ligand, and ligands per hour per core. CPU seconds (of the child
processes, from getrusage) are the per-core cost, unaffected by whatever
else the machine runs; DRD2's phosphopeptide, the slowest by far, is last.
The JSON is rewritten after every example, so an interrupted run keeps
what it finished.

Usage: python3 docking.py SOYAKU_BINARY TARGETS_DIR OUT.json
"""
import json
import resource
import re
import subprocess
import sys
import tempfile
import time

# (target, SMILES, DOCKSTRING score), as published in dockstring 0.3.4.
REFERENCES = [
    ("PDE5A", "O(CCC)C(=O)C=1C=C(OC)C(O)=CC1", -6.9),
    ("HSD11B1", "C=1(C=CC(C[C@H](N)C(=O)N2CSCC2)=CC1)C3=C(C=C(C=C3)F)F", -9.1),
    ("PPARA", "O(C(=O)C(C(C1=CC=CC=C1)C2=CC=CC=C2)=CC(=O)O)CC", -7.9),
    ("SRC", "C1(=C(C(Cl)=CC(=C1)Cl)OCC(CC(CC(=O)O)O)O)C(C2=CC=C(C=C2)F)C3=CC=C(C=C3)F", -9.2),
    ("ESR1", "O=C1C(NC2=CC=C(N)C=C2)=C(NC(=O)CC)C(=O)C3=C1C=CC=C3", -8.6),
    ("ADORA2A", "IC1=CC(F)=C(NC2=C(C(OC3=CC=4NC(OC4C=C3)=O)=CC(F)=C2)C(=O)N)C=C1", -10.5),
    ("ADORA2A", "S(C1=CC(F)=C(C=C1)CCCO)(=O)(=O)N", -6.7),
    ("PDE5A", "C=12N(C(=O)N(C(C1N=C(N2)C3=CC(S(N4CCN(CC4)C)(=O)=O)=CC=C3OCCC)=O)C)CC(C)C", -10.1),
    ("HSP90AA1", "O=C(N1CCN(C2CCCCC2)CC1)C=3C=4C(C(=O)N(C3)CC)=CC(OC)=C(OC)C4", -10.0),
    ("AKT2", "N(C)(C(C1=CNC2=CC=C(C=C21)Br)C=3C=CC(=CC3)OC)C=4C=CC=CC4", -8.3),
    ("MMP13", "BrC12CC3(CC(C1)CC(C3)C2)CC(=O)NCC4=CC=CC=C4", -9.1),
    ("EGFR", "O(C[C@@H](O)/C=C/CC(OC)OC)CC1=CC=CC=C1", -6.9),
    ("NR3C1", "ClC=1C(OC(=O)CC2=CC(S(=O)(=O)N3CCOCC3)=C(OC)C=C2)=CC=CC1", -8.5),
    ("MAPK14", "S(NC=1N(N=CC1)C2=CC=CC=C2)(=O)(=O)C=3C=CC=CC3", -7.0),
    ("HSD11B1", "C1=CC(=C(C=C1C(C(CC)NC2CCCC2)O)O)O", -8.0),
    ("HMGCR", "S1C=C(NC(=O)NC=2C=CC(C=3C=4C(=NNC4N)N=CC3)=CC2)C=C1", -7.9),
    ("MMP13", "S(=O)(=O)(N(C)C)C=1C=C(NC(=O)COC(=O)CCC2CCCCC2)C(=CC1)C", -8.9),
    ("MMP13", "ClC1=CC=C(CO/N=C(/C=2SC(=CC2)CC#N)\\C)C=C1", -8.4),
    ("PGR", "C(C=1C=C(N2CCOCC2)C=C(C(NC=3C=C(NC(C=4C=CC(OCC=5N=CC=CC5)=CC4)=O)C(=CC3)C)=O)C1)(F)(F)F", -9.0),
    ("MET", "N1C2=C(C=CC(=C2)CN3CCN(CC3)C4=CC=C(C=C4)C)OCC1=O", -9.7),
    ("CDK2", "N1(C2=C(C(N)=NC(=N2)OCCC3=C(Cl)C=CC=C3)N=C1)C4[C@@H]([C@H](O)[C@H](O4)CO)O", -9.0),
    ("KDR", "ClC1=CC=C(COC=2C=CC(C=3OC(NCCCN4C=CN=C4)=C(N3)C#N)=CC2)C=C1", -9.9),
    ("MAOB", "O1C2=C(CN(C)C)C(O)=CC=C2C(=O)C(OC3=CC=C(OC)C=C3)=C1C", -7.1),
    ("DRD2", "N(C([C@H](CCC(=O)O)NC([C@H](CC(=O)O)NC([C@H](C)NC([C@H](CC(=O)O)N)=O)=O)=O)=O)[C@H](CC1=CC=CC(C(P(=O)(O)O)(F)F)=C1)C(N[C@H](C(N)=O)CC(C)C)=O", -8.9),
]
SEED = 974528263


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


binary, targets, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
for target, smiles, reference in REFERENCES:
    t, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [binary, "dock", "--target", target, "--smiles", smiles, "--cpus", "1", "--format", "json"],
        capture_output=True, text=True,
    )
    ours_s, ours_cpu = time.perf_counter() - t, children_cpu() - cpu
    ours = json.loads(done.stdout.splitlines()[0])["affinity_kcal_mol"] if done.returncode == 0 else None

    conf = open(f"{targets}/{target}_conf.txt").read()
    box = dict(re.findall(r"(\w+)\s*=\s*([-\d.]+)", conf))
    with tempfile.TemporaryDirectory() as d:
        t, cpu = time.perf_counter(), children_cpu()
        prep = subprocess.run(
            ["obabel", f"-:{smiles}", "-p", "7.4", "--gen3d", "-opdbqt", "-O", f"{d}/lig.pdbqt"],
            capture_output=True, text=True,
        )
        vina = subprocess.run(
            ["vina", "--receptor", f"{targets}/{target}_target.pdbqt", "--ligand", f"{d}/lig.pdbqt",
             "--out", f"{d}/out.pdbqt", "--cpu", "1", "--seed", str(SEED)]
            + [a for k in ("center_x", "center_y", "center_z", "size_x", "size_y", "size_z") for a in (f"--{k}", box[k])],
            capture_output=True, text=True,
        )
        hand_s, hand_cpu = time.perf_counter() - t, children_cpu() - cpu
        hand = None
        if prep.returncode == 0 and vina.returncode == 0:
            m = re.search(r"REMARK VINA RESULT:\s+([-\d.]+)", open(f"{d}/out.pdbqt").read())
            hand = float(m.group(1)) if m else None
    rows.append({"target": target, "smiles": smiles, "dockstring": reference,
                 "soyaku": ours, "soyaku_s": ours_s, "soyaku_cpu_s": ours_cpu,
                 "by_hand": hand, "by_hand_s": hand_s, "by_hand_cpu_s": hand_cpu})
    print(f"{target:9} DOCKSTRING {reference:6.1f}  Soyaku {ours}  ({ours_cpu:.0f} s CPU)  "
          f"by hand {hand}  ({hand_cpu:.0f} s CPU)", flush=True)
    json.dump(rows, open(out, "w"))
