#!/usr/bin/env bash
# Robustness under load, one command: a fresh `soyaku serve` (no demo; the
# first 5,000 demo compounds imported) takes 50 clients for 60 seconds
# mixing searches, compound pages, depictions, small imports and hostile
# requests (bench/load.py), while /healthz is probed every 20 ms. Prints the
# run as JSON, checks that the server is still up and answering, and appends
# the run to bench/runs/load.md. Loopback only; it stops by itself.
#   bench/load.sh [CLIENTS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-50}
seconds=${2:-60}
cargo build --release --locked -p cli
bin=target/release/soyaku
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
password="load-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
for account in rita:researcher sam:support_staff; do
  echo "$password" | "$bin" --data "$work/d" admin create-user "${account%%:*}" --role "${account##*:}" >/dev/null
done
python3 -c "import gzip,sys; sys.stdout.writelines(list(gzip.open('data/demo/moses-demo.smi.gz','rt'))[:5000])" > "$work/lib.smi"
"$bin" --data "$work/d" library import "$work/lib.smi" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --data "$work/d" serve --no-demo --addr "127.0.0.1:$port" 2>"$work/serve.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
token() {
  python3 - "$port" "$1" "$password" <<'PY'
import json, sys, urllib.request
port, user, password = sys.argv[1:]
base = f"http://127.0.0.1:{port}"
req = urllib.request.Request(f"{base}/api/v1/session", json.dumps({"username": user, "password": password}).encode(),
                             {"Content-Type": "application/json"})
with urllib.request.urlopen(req) as r:
    cookie = r.headers["Set-Cookie"].split(";")[0]
    csrf = json.load(r)["csrf"]
req = urllib.request.Request(f"{base}/api/v1/tokens", json.dumps({"name": "load"}).encode(),
                             {"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf})
with urllib.request.urlopen(req) as r:
    print(json.load(r)["token"])
PY
}
rita=$(token rita)
sam=$(token sam)
result=$(python3 bench/load.py "127.0.0.1:$port" "$rita" "$sam" "$server" "$clients" "$seconds" bench/queries/similarity-1000.smi)
echo "$result"
alive=no
kill -0 "$server" 2>/dev/null && curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && alive=yes
echo "server alive after the run: $alive"
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — $(git rev-parse --short HEAD), $clients clients, $seconds s, $(nproc) cores"
  echo
  echo "server alive after the run: $alive"
  echo
  echo '```json'
  echo "$result"
  echo '```'
} >> bench/runs/load.md
[ "$alive" = yes ]
