#!/usr/bin/env bash
# Search benchmark, one command: Soyaku and its peers on the same registry
# (the full 1.9M MOSES set by default), the same 1,000 similarity queries and
# 100 SMARTS (bench/queries/), in one run; prints the table of figures,
# ratios and hit-set checks and appends it to bench/runs/search.md.
#   bench/search.sh [DATA_DIR] [PEER_N]
# DATA_DIR is a Soyaku data directory; when it holds no registry yet, the
# full set is fetched and imported into it (about 20 minutes, once; an
# interrupted import resumes). PEER_N (default 100) is how many similarity
# queries the slow peers (RDKit BulkTanimoto, the PostgreSQL cartridge) run.
# Peer files (FPSim2's HDF5, the cartridge's cluster) are kept in
# bench/data/peers and rebuilt when the registry's size changes.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-bench/data/full}
peer_n=${2:-100}
scripts/setup.sh test >/dev/null
if ! dpkg -s postgresql-15-rdkit >/dev/null 2>&1; then
  apt-get install -y -q postgresql-15-rdkit >/dev/null
fi
if [ ! -x .venv/bench/bin/python ]; then
  python3 -m venv .venv/bench
  .venv/bench/bin/pip install -q "rdkit==2022.9.5" "numpy<2" fpsim2==0.7.4 psycopg2-binary
fi
cargo build --release --locked -p cli -p searchbench
if [ "$data" = bench/data/full ]; then
  scripts/fetch-full-library.sh >/dev/null
  target/release/soyaku --data "$data" library import bench/data/moses-full.smi.gz \
    --output json >/dev/null
fi
out=bench/data/search-out
rm -rf "$out" && mkdir -p "$out"
/usr/bin/time -v target/release/searchbench "$data" bench/queries/similarity-1000.smi \
  bench/queries/substructure-100.smarts "$out" 2> "$out/time.txt"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
.venv/bench/bin/python bench/peers.py "$data/soyaku.db" bench/queries/similarity-1000.smi \
  bench/queries/substructure-100.smarts "$out" "$peer_n" bench/data/peers 54329
{
  echo
  echo "## $(date -u +%F) on $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
  echo
  .venv/bench/bin/python bench/report.py "$out"
  echo "- Soyaku harness peak RSS (index + structure store mapped, 1 GiB bandwidth buffer): $((rss_kb / 1024)) MiB"
} | tee -a bench/runs/search.md
