"""Reference predictions of the ChEMBL multitask model from onnxruntime, the
runtime its authors use, and from the ONNX project's reference evaluator
(`onnx.reference`, the operators' specification written in numpy). Reads
`SMILES<TAB>ID` lines, writes one JSON object per molecule: the Morgan
fingerprint's on bits (radius 2, 1024 bits, as the model's README computes
it) and every output's probability from each.

Why both: onnxruntime's kernels differ by CPU. On an x86 CPU without VNNI
its u8 x s8 MatMulInteger kernel can saturate 16-bit sums (onnxruntime's
documentation warns of it) and departs from the specification for some
inputs (seen: 0.105 in one probability), while the reference evaluator is
the specification itself.

Usage: python chembl_onnxruntime.py MODEL.onnx INPUT.smi > OUT.jsonl
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime
from onnx.reference import ReferenceEvaluator
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdMolDescriptors

RDLogger.DisableLog("rdApp.*")

model_path, input_path = sys.argv[1], sys.argv[2]
session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
output_names = [o.name for o in session.get_outputs()]
spec = ReferenceEvaluator(onnx.load(model_path))

for line in open(input_path):
    smiles, ident = line.rstrip("\n").split("\t")[:2]
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        continue
    fp = rdMolDescriptors.GetMorganFingerprintAsBitVect(mol, 2, nBits=1024)
    bits = np.zeros((0,), dtype=np.float32)
    DataStructs.ConvertToNumpyArray(fp, bits)
    outputs = session.run(None, {input_name: bits.astype(np.float32)})
    specified = spec.run(output_names, {input_name: bits.astype(np.float32)})
    print(json.dumps({
        "id": ident,
        "smiles": smiles,
        "on_bits": list(fp.GetOnBits()),
        "probabilities": {name: float(v.ravel()[0]) for name, v in zip(output_names, outputs)},
        "specification": {name: float(v.ravel()[0]) for name, v in zip(output_names, specified)},
    }))
