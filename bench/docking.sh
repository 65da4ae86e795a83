#!/usr/bin/env bash
# Docking benchmark, one command: DOCKSTRING's 24 reference (target, SMILES,
# score) examples docked by `soyaku dock` and by Open Babel + Vina run by
# hand, one core each (bench/docking.py); prints each score against the
# reference, the agreement, and ligands per hour per core; appends the table
# to bench/runs/docking.md. Takes about 40 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p cli
out=bench/data/docking
mkdir -p "$out"
python3 bench/docking.py target/release/soyaku data/docking/dockstring-0.3.4/targets "$out/docking.json"
python3 - "$out/docking.json" <<'PY' | tee -a bench/runs/docking.md
import datetime, json, statistics, sys
rows = json.load(open(sys.argv[1]))
print(f"\n## {datetime.date.today()} docking benchmark: DOCKSTRING's 24 reference dockings, one core each\n")
print("| target | DOCKSTRING | Soyaku | Δ | by hand (obabel --gen3d + vina) | Δ |\n|---|---|---|---|---|---|")
fmt = lambda v: "failed" if v is None else f"{v:.2f}"
delta = lambda v, r: "" if v is None else f"{v - r:+.2f}"
for r in rows:
    print(f"| {r['target']} | {r['dockstring']:.1f} | {fmt(r['soyaku'])} | {delta(r['soyaku'], r['dockstring'])} | "
          f"{fmt(r['by_hand'])} | {delta(r['by_hand'], r['dockstring'])} |")
ours = [abs(r["soyaku"] - r["dockstring"]) for r in rows if r["soyaku"] is not None]
hand = [abs(r["by_hand"] - r["dockstring"]) for r in rows if r["by_hand"] is not None]
t_ours = statistics.mean(r["soyaku_s"] for r in rows); t_hand = statistics.mean(r["by_hand_s"] for r in rows)
print(f"- Soyaku: {len(ours)}/24 docked, mean |Δ| {statistics.mean(ours):.2f} kcal/mol, max {max(ours):.2f}; "
      f"within 0.5: {sum(d <= 0.5 for d in ours)}/24; within 1.0: {sum(d <= 1.0 for d in ours)}/24")
print(f"- By hand: {len(hand)}/24 docked, mean |Δ| {statistics.mean(hand):.2f} kcal/mol, max {max(hand):.2f}")
print(f"- Time per ligand on one core: Soyaku {t_ours:.1f} s ({3600 / t_ours:.0f} ligands/hour/core), "
      f"by hand {t_hand:.1f} s ({3600 / t_hand:.0f} ligands/hour/core), ratio {t_hand / t_ours:.2f}")
PY
