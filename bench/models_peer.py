"""The peers of bench/models.sh, on the same molecules as modelbench:
ADMET-AI 2.0.1 in Python (PyTorch, Chemprop) and the ChEMBL target model in
onnxruntime with RDKit fingerprints (the model's own README recipe). Times
the median of ROUNDS rounds after loading, and compares every prediction
with Soyaku's (OUT_DIR/admet.jsonl, targets.jsonl).

Usage: python models_peer.py SMILES_FILE OUT_DIR ROUNDS ONNX_MODEL
"""
import json
import statistics
import sys
import time

smiles_file, out, rounds, onnx_model = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
smiles = [line.split()[0] for line in open(smiles_file) if line.strip()]

t = time.perf_counter()
from admet_ai import ADMETModel  # noqa: E402

admet = ADMETModel(include_physchem=False)
admet_load = time.perf_counter() - t
admet_times = []
for _ in range(rounds):
    t = time.perf_counter()
    admet_preds = admet.predict(smiles=smiles)
    admet_times.append(time.perf_counter() - t)

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
from rdkit import Chem, DataStructs  # noqa: E402
from rdkit.Chem import rdMolDescriptors  # noqa: E402

t = time.perf_counter()
session = onnxruntime.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
targets_load = time.perf_counter() - t
input_name = session.get_inputs()[0].name
names = [o.name for o in session.get_outputs()]
target_times = []
for _ in range(rounds):
    t = time.perf_counter()
    target_preds = []
    for s in smiles:
        fp = rdMolDescriptors.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=1024)
        bits = np.zeros((0,), dtype=np.float32)
        DataStructs.ConvertToNumpyArray(fp, bits)
        target_preds.append(session.run(None, {input_name: bits.astype(np.float32)}))
    target_times.append(time.perf_counter() - t)

# Agreement with Soyaku's predictions of the same molecules.
ours = [json.loads(line)["predictions"] for line in open(f"{out}/admet.jsonl")]
worst_admet = 0.0
for i in range(len(smiles)):
    for endpoint, value in ours[i].items():
        theirs = float(admet_preds.iloc[i][endpoint])
        worst_admet = max(worst_admet, abs(value - theirs) / max(1.0, abs(theirs)))
ours = [json.loads(line)["predictions"] for line in open(f"{out}/targets.jsonl")]
worst_targets = max(
    abs(ours[i][name] - float(v.ravel()[0]))
    for i, outputs in enumerate(target_preds)
    for name, v in zip(names, outputs)
)
json.dump(
    {
        "admet_load_s": admet_load,
        "admet_mol_per_s": len(smiles) / statistics.median(admet_times),
        "targets_load_s": targets_load,
        "targets_mol_per_s": len(smiles) / statistics.median(target_times),
        "worst_admet_difference": worst_admet,
        "worst_target_difference": worst_targets,
    },
    open(f"{out}/peer.json", "w"),
)
