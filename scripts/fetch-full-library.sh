#!/usr/bin/env bash
# Reproduces the full real compound set used by benchmarks (1,936,962 molecules):
# the MOSES benchmark's ZINC Clean Leads-derived SMILES, as shipped inside the
# PyPI package molsets 0.3.1 (MIT licence). Writes bench/data/moses-full.smi.gz,
# one "SMILES<TAB>ID" per line, IDs naming the MOSES split and the line in it.
# The bundled demo library (data/demo/) is every 16th molecule of the train split.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/data/moses-full.smi.gz
if [ -s "$out" ]; then echo "$out already present"; exit 0; fi
mkdir -p bench/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps -d "$tmp" molsets==0.3.1
python3 - "$tmp"/molsets-0.3.1-py3-none-any.whl "$out" <<'PY'
import gzip, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z, gzip.open(out, "wt") as w:
    for split in ("train", "test", "test_scaffolds"):
        with gzip.open(z.open(f"moses/dataset/data/{split}.csv.gz"), "rt") as f:
            next(f)  # header
            for n, line in enumerate(f, 1):
                w.write(f"{line.strip()}\tMOSES-{split.upper().replace('_', '-')}-{n:07d}\n")
PY
echo "wrote $out ($(zcat "$out" | wc -l) molecules)"
