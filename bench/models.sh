#!/usr/bin/env bash
# Prediction-model benchmark, one command: the same 1,000 library molecules
# (bench/queries/similarity-1000.smi) through Soyaku's native ADMET-AI and
# ChEMBL target model (bench/modelbench) and through the peers, ADMET-AI
# 2.0.1 in Python (PyTorch) and onnxruntime with RDKit fingerprints
# (bench/models_peer.py), both cores each; medians of 3 rounds after
# loading; every prediction compared; peak memory; the table is appended to
# bench/runs/models.md. The peers' virtualenv (PyTorch, about 6 GB) is made
# on first use in .venv/bench-models.
#   bench/models.sh [SMILES_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:-bench/queries/similarity-1000.smi}
rounds=3
cargo build --release --locked -p modelbench
venv=.venv/bench-models
if ! "$venv/bin/python" -c "import admet_ai, onnxruntime" 2>/dev/null; then
  echo "models.sh: installing the peers (admet-ai 2.0.1 with PyTorch, onnxruntime) in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "admet-ai==2.0.1" "onnxruntime==1.20.1"
fi
out=bench/data/models
mkdir -p "$out"
/usr/bin/time -v target/release/modelbench "$input" "$out" "$rounds" 2> "$out/time.txt"
/usr/bin/time -v "$venv/bin/python" bench/models_peer.py "$input" "$out" "$rounds" \
  data/models/chembl-multitask-37/chembl_37_multitask_q8.onnx > "$out/peer.log" 2> "$out/peer_time.txt"
ours_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
peer_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/peer_time.txt")
python3 - "$out" "$ours_kb" "$peer_kb" "$input" <<'PY' | tee -a bench/runs/models.md
import datetime, json, sys
out, ours_kb, peer_kb, source = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = json.load(open(f"{out}/soyaku.json")); p = json.load(open(f"{out}/peer.json"))
print(f"\n## {datetime.date.today()} model benchmark: {s['molecules']:,} molecules ({source}), 2 cores\n")
print("| model | Soyaku | peer | ratio | largest difference |\n|---|---|---|---|---|")
print(f"| ADMET-AI 2.0.1, all 41 endpoints + approved-drug percentiles | {s['admet_mol_per_s']:.0f} molecules/s | "
      f"{p['admet_mol_per_s']:.0f} molecules/s (admet-ai, PyTorch) | {s['admet_mol_per_s'] / p['admet_mol_per_s']:.1f}× | "
      f"{p['worst_admet_difference']:.1e} |")
print(f"| ChEMBL 37 multitask, 798 targets | {s['targets_mol_per_s']:.0f} molecules/s | "
      f"{p['targets_mol_per_s']:.0f} molecules/s (onnxruntime + RDKit) | {s['targets_mol_per_s'] / p['targets_mol_per_s']:.1f}× | "
      f"{p['worst_target_difference']:.1e} |")
print(f"- Loading: Soyaku ADMET-AI {s['admet_load_s']:.2f} s, target model {s['targets_load_s']:.2f} s; "
      f"peers {p['admet_load_s']:.1f} s (import + checkpoints), {p['targets_load_s']:.2f} s")
print(f"- Peak memory: Soyaku {ours_kb // 1024} MiB (both models), peers {peer_kb // 1024} MiB")
print("- Times are medians of 3 rounds and include SMILES parsing and featurisation; differences are absolute "
      "for probabilities, relative to the value (above 1) for regression endpoints.")
PY
