#!/usr/bin/env bash
# Biobank cross-search benchmark, one command: Soyaku answers 10 typical
# queries (bench/biobank-queries.json) on a synthetic catalogue of 5 million
# samples, 50 times each (plan + evaluate + protection: a request's cost);
# the peer, SQLite with indexes, answers the same resolved criteria on the
# same rows; the script prints per-query p50/p95, the ratio, whether the
# counts agree, Soyaku's peak memory, and appends to bench/runs/biobank.md.
# Then the federated stage: the same catalogue split over three biobank
# nodes (separate processes), asked through the cross-search's Beacon API
# over HTTP, timed end to end.
#   bench/biobank.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-5000000}
cargo build --release --locked -p biobankbench -p cli
out=bench/data/biobank
mkdir -p "$out"
/usr/bin/time -v target/release/biobankbench "$out" "$samples" 2> "$out/time.txt"
grep catalogue: "$out/time.txt"
python3 bench/biobank_peer.py "$out"

# Federated: three nodes and the cross-search on loopback.
bin=target/release/soyaku
fed="$out/federation"
rm -rf "$fed" && mkdir -p "$fed"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
scale=$(python3 -c "print($samples / 1.4e6)")
printf '' > "$fed/federation.toml"
for bank in tmm bbj ncbn; do
  head -c 32 /dev/urandom | base64 > "$fed/$bank.token"
  "$bin" --data "$fed/$bank" biobank node --addr 127.0.0.1:0 --token-file "$fed/$bank.token" \
    --demo "$bank" --demo-scale "$scale" --daily-budget 1000000 > "$fed/$bank.out" 2> "$fed/$bank.err" &
  pids+=($!)
done
for bank in tmm bbj ncbn; do
  until grep -q listening "$fed/$bank.out" 2>/dev/null; do sleep 0.5; done
  printf '[[node]]\nname = "%s"\nurl = "%s"\ntoken_file = "%s.token"\n' \
    "$bank" "$(sed 's/listening on //' "$fed/$bank.out")" "$bank" >> "$fed/federation.toml"
done
node_rss=$(for p in "${pids[@]}"; do awk '/VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print s}')
hub_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SOYAKU_LOG=warn "$bin" --data "$fed/hub" serve --no-demo --addr "127.0.0.1:$hub_port" --federation "$fed/federation.toml" 2> "$fed/hub.err" &
pids+=($!)
until curl -sf "http://127.0.0.1:$hub_port/healthz" >/dev/null; do sleep 0.2; done
python3 bench/biobank_federated.py "127.0.0.1:$hub_port" bench/biobank-queries.json "$out/federated.json"
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
python3 - "$out" "$rss_kb" "$node_rss" <<'PY' | tee -a bench/runs/biobank.md
import json, sys, datetime
out, rss, node_rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = json.load(open(f"{out}/federated.json"))
s = json.load(open(f"{out}/soyaku.json")); p = json.load(open(f"{out}/peer.json"))
print(f"\n## {datetime.date.today()} biobank query benchmark: {s['samples']:,} samples, {s['participants']:,} participants\n")
print("| query | Soyaku p50 | Soyaku p95 | SQLite p50 | ratio (p50) | same counts |\n|---|---|---|---|---|---|")
for a, b in zip(s["queries"], p["queries"]):
    print(f"| {a['name']} | {a['p50_ms']:.1f} ms | {a['p95_ms']:.1f} ms | {b['p50_ms']:.0f} ms | {b['p50_ms'] / a['p50_ms']:.0f}× | {'yes' if b['same'] else 'NO'} |")
print(f"- p95 over all {len(s['queries']) * s['repeats']} Soyaku answers: {s['p95_ms_all']:.1f} ms (goal ≤ 50 ms)")
print(f"- Soyaku peak RSS (catalogue generation included): {rss // 1024} MiB; SQLite load {p['load_seconds']:.0f} s")
print(f"- Federated over HTTP (3 node processes + cross-search, anonymous boolean answers): p50 per query "
      + ", ".join(f"{q['p50_ms']:.1f}" for q in f["queries"]) + f" ms; p95 over all {f['answers']} answers {f['p95_ms_all']:.1f} ms (goal ≤ 50 ms)")
print(f"- The three nodes' resident memory after loading: {node_rss // 1024} MiB in all")
PY
