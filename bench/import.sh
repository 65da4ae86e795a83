#!/usr/bin/env bash
# Import benchmark: registers N molecules of the full MOSES set (default
# 1,000,000) into a fresh SQLite registry with `soyaku library import`, and
# runs RDKit's Python API doing the same per-molecule registration work
# (parse, charge parent, canonical SMILES, InChIKey, Morgan and pattern
# fingerprints, tautomer hash, descriptors) with 2 worker processes on the
# first PEER_N molecules (default 50,000) of the same file, without a
# database. Prints both rates, the ratio, and Soyaku's peak memory; appends
# the result to bench/runs/import.tsv.
#   bench/import.sh [N] [PEER_N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
peer_n=${2:-50000}
scripts/setup.sh test >/dev/null
scripts/fetch-full-library.sh >/dev/null
cargo build --release --locked -p cli 2>/dev/null
input=bench/data/import-$n.smi
[ -s "$input" ] || { zcat bench/data/moses-full.smi.gz || true; } | head -n "$n" > "$input"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/time -v target/release/soyaku --data "$work/data" library import "$input" \
  --output json > "$work/summary.json" 2> "$work/time.txt"
secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/time.txt")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
records=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['records'])" "$work/summary.json")
ours=$(python3 -c "print(f'{$records/$secs:.0f}')")

head -n "$peer_n" "$input" > "$work/peer.smi"
peer=$(.venv/oracle/bin/python bench/rdkit_register.py "$work/peer.smi" 2)

ratio=$(python3 -c "print(f'{$ours/$peer:.2f}')")
printf '%-34s %12s\n' "molecules imported" "$records" "wall time (s)" "$secs" \
  "soyaku (molecules/s, incl. SQLite)" "$ours" "RDKit Python, 2 procs (mol/s)" "$peer" \
  "ratio soyaku / RDKit Python" "$ratio" "soyaku peak RSS (MiB)" "$((rss_kb / 1024))"
mkdir -p bench/runs
[ -s bench/runs/import.tsv ] || printf 'date\tcpu\tn\tseconds\tsoyaku_per_s\trdkit_py_per_s\tratio\tpeak_rss_mib\n' > bench/runs/import.tsv
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$cpu" "$records" "$secs" "$ours" "$peer" "$ratio" "$((rss_kb / 1024))" >> bench/runs/import.tsv
