#!/usr/bin/env bash
# Screening benchmark, one command: Soyaku times 100 plates of 1536 wells
# (QC, normalisation, hit calling; 200 plates in duplicate pairs, reported
# per 100) in memory and as a run from its 200 reader files, and 10,000
# eight-point LL.4 fits on all cores; the peer, NumPy and SciPy's
# curve_fit, analyses the same plate files and fits the same series; prints
# both, the ratios and whether the hit counts agree, and appends them to
# bench/runs/screening.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test >/dev/null
if ! .venv/oracle/bin/python -c "import scipy" 2>/dev/null; then
  .venv/oracle/bin/pip install -q scipy
fi
cargo build --release --locked -p screenbench
out=bench/data/screening
mkdir -p "$out"
/usr/bin/time -v target/release/screenbench "$out" 2> "$out/time.txt"
.venv/oracle/bin/python bench/screening_peer.py "$out/curves.csv" "$out/scipy.json"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
python3 - "$out" "$rss_kb" <<'PY' | tee -a bench/runs/screening.md
import json, sys, datetime
out, rss = sys.argv[1], int(sys.argv[2])
s = json.load(open(f"{out}/soyaku.json")); p = json.load(open(f"{out}/scipy.json"))
print(f"\n## {datetime.date.today()} screening benchmark\n")
print("| measure | Soyaku | NumPy / SciPy | ratio |\n|---|---|---|---|")
print(f"| 100 plates × 1536 wells in memory: QC + normalisation + hits | {s['plate_seconds_per_100']:.3f} s | — | — |")
print(f"| 100 plates × 1536 wells from 200 grid files (parse, QC, normalisation, hits) | {s['run_seconds_per_100']:.3f} s ({s['hits']} hits) | {p['plate_seconds_per_100']:.3f} s ({p['plate_hits']} hits) | {p['plate_seconds_per_100'] / s['run_seconds_per_100']:.1f}× |")
print(f"| 10,000 LL.4 fits (8 points), all cores | {s['fit_seconds']:.2f} s ({s['fits']} fitted) | {p['fit_seconds']:.2f} s ({p['fits']} fitted) | {p['fit_seconds'] / s['fit_seconds']:.1f}× |")
print(f"- Soyaku peak RSS: {rss // 1024} MiB; {s['hits']} hits called for {s['planted']} planted (70 % inhibition, noise sd 4 % of the signal)")
PY
