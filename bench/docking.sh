#!/usr/bin/env bash
# Docking benchmark, one command: DOCKSTRING's 24 reference (target, SMILES,
# score) examples docked by `soyaku dock` and by Open Babel + Vina run by
# hand, one core each (bench/docking.py); prints each score against the
# reference, the agreement, and ligands per hour per core (from CPU time);
# appends the table to bench/runs/docking.md. Takes one to two hours here.
#   bench/docking.sh            run and report
#   bench/docking.sh --report   report bench/data/docking/docking.json as it
#                               stands (e.g. of a run still going)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p cli
out=bench/data/docking
mkdir -p "$out"
if [ "${1:-}" != --report ]; then
  python3 bench/docking.py target/release/soyaku data/docking/dockstring-0.3.4/targets "$out/docking.json"
fi
python3 - "$out/docking.json" <<'PY' | tee -a bench/runs/docking.md
import datetime, json, statistics, sys
rows = json.load(open(sys.argv[1]))
n = len(rows)
print(f"\n## {datetime.date.today()} docking benchmark: {n} of DOCKSTRING's 24 reference dockings, one core each\n")
print("| target | DOCKSTRING | Soyaku | Δ | CPU s | by hand (obabel --gen3d + vina) | Δ | CPU s |\n"
      "|---|---|---|---|---|---|---|---|")
fmt = lambda v: "failed" if v is None else f"{v:.2f}"
delta = lambda v, r: "" if v is None else f"{v - r:+.2f}"
for r in rows:
    print(f"| {r['target']} | {r['dockstring']:.1f} | {fmt(r['soyaku'])} | {delta(r['soyaku'], r['dockstring'])} | "
          f"{r['soyaku_cpu_s']:.0f} | {fmt(r['by_hand'])} | {delta(r['by_hand'], r['dockstring'])} | {r['by_hand_cpu_s']:.0f} |")
ours = [abs(r["soyaku"] - r["dockstring"]) for r in rows if r["soyaku"] is not None]
hand = [abs(r["by_hand"] - r["dockstring"]) for r in rows if r["by_hand"] is not None]
t_ours = statistics.mean(r["soyaku_cpu_s"] for r in rows); t_hand = statistics.mean(r["by_hand_cpu_s"] for r in rows)
for who, d in (("Soyaku", ours), ("By hand", hand)):
    print(f"- {who}: {len(d)}/{n} docked, mean |Δ| {statistics.mean(d):.2f} kcal/mol, median {statistics.median(d):.2f}, "
          f"max {max(d):.2f}; within 0.5: {sum(x <= 0.5 for x in d)}/{n}; within 1.0: {sum(x <= 1.0 for x in d)}/{n}")
print(f"- CPU time per ligand: Soyaku {t_ours:.1f} s ({3600 / t_ours:.0f} ligands/hour/core), "
      f"by hand {t_hand:.1f} s ({3600 / t_hand:.0f} ligands/hour/core), ratio {t_hand / t_ours:.2f}")
PY
