#!/usr/bin/env bash
# Biobank cross-search benchmark, one command: Soyaku answers 10 typical
# queries (bench/biobank-queries.json) on a synthetic catalogue of 5 million
# samples, 50 times each (plan + evaluate + protection: a request's cost);
# the peer, SQLite with indexes, answers the same resolved criteria on the
# same rows; the script prints per-query p50/p95, the ratio, whether the
# counts agree, Soyaku's peak memory, and appends to bench/runs/biobank.md.
#   bench/biobank.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-5000000}
cargo build --release --locked -p biobankbench
out=bench/data/biobank
mkdir -p "$out"
/usr/bin/time -v target/release/biobankbench "$out" "$samples" 2> "$out/time.txt"
grep catalogue: "$out/time.txt"
python3 bench/biobank_peer.py "$out"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
python3 - "$out" "$rss_kb" <<'PY' | tee -a bench/runs/biobank.md
import json, sys, datetime
out, rss = sys.argv[1], int(sys.argv[2])
s = json.load(open(f"{out}/soyaku.json")); p = json.load(open(f"{out}/peer.json"))
print(f"\n## {datetime.date.today()} biobank query benchmark: {s['samples']:,} samples, {s['participants']:,} participants\n")
print("| query | Soyaku p50 | Soyaku p95 | SQLite p50 | ratio (p50) | same counts |\n|---|---|---|---|---|---|")
for a, b in zip(s["queries"], p["queries"]):
    print(f"| {a['name']} | {a['p50_ms']:.1f} ms | {a['p95_ms']:.1f} ms | {b['p50_ms']:.0f} ms | {b['p50_ms'] / a['p50_ms']:.0f}× | {'yes' if b['same'] else 'NO'} |")
print(f"- p95 over all {len(s['queries']) * s['repeats']} Soyaku answers: {s['p95_ms_all']:.1f} ms (goal ≤ 50 ms)")
print(f"- Soyaku peak RSS (catalogue generation included): {rss // 1024} MiB; SQLite load {p['load_seconds']:.0f} s")
PY
