#!/usr/bin/env python3
"""A bounded load run against a soyaku serve on loopback (see bench/load.sh).

50 clients for 60 s mix what users and attackers send: similarity and
substructure searches, compound pages and depictions, small imports, and
hostile requests (the costliest structure within the limits, structures past
them, connections reset in the middle of a body). A separate prober asks
/healthz every 20 ms. Prints one JSON object: requests per second, latency
percentiles per kind, status counts, connection failures, and the server's
peak resident memory. Every request goes to 127.0.0.1 only; the run stops by
itself.
"""
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ADDR, TOKEN_RESEARCHER, TOKEN_STAFF, PID = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CLIENTS, SECONDS = int(sys.argv[5]), float(sys.argv[6])
QUERIES = [line.split()[0] for line in open(sys.argv[7]) if line.strip()][:200]
BASE = f"http://{ADDR}"
NESTED = "C(" * 998 + "C" + ")" * 998

lock = threading.Lock()
latencies = {}
statuses = {}
failures = {}


def record(kind, seconds, status):
    with lock:
        latencies.setdefault(kind, []).append(seconds)
        statuses.setdefault(kind, {}).setdefault(str(status), 0)
        statuses[kind][str(status)] += 1


def call(kind, method, path, token=None, body=None, headers=None):
    request = urllib.request.Request(BASE + path, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
            status = answer.status
    except urllib.error.HTTPError as e:
        e.read()
        status = e.code
    except OSError as e:
        with lock:
            failures[kind] = failures.get(kind, 0) + 1
        status = type(e).__name__
    record(kind, time.monotonic() - started, status)


def quote(text):
    return urllib.parse.quote(text, safe="")


def reset_mid_body():
    started = time.monotonic()
    try:
        host, port = ADDR.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        s.sendall(b"POST /api/v1/imports HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                  b"Content-Type: multipart/form-data; boundary=b\r\n\r\n" + b"x" * 100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        status = "reset"
    except OSError as e:
        with lock:
            failures["reset"] = failures.get("reset", 0) + 1
        status = type(e).__name__
    record("reset", time.monotonic() - started, status)


def upload():
    lines = "\n".join(f"{random.choice(QUERIES)} load-{random.randrange(10**9)}" for _ in range(20))
    body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"load.smi\"\r\n\r\n"
            + lines.encode() + b"\r\n--b--\r\n")
    call("upload", "POST", "/api/v1/imports", TOKEN_STAFF, body,
         {"Content-Type": "multipart/form-data; boundary=b"})


def client(deadline, seed):
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        r = rng.random()
        q = rng.choice(QUERIES)
        if r < 0.35:
            call("similar", "GET", f"/api/v1/search?query={quote(q)}&top=50", TOKEN_RESEARCHER)
        elif r < 0.50:
            call("substructure", "GET",
                 f"/api/v1/search?mode=substructure&query={quote(rng.choice(['c1ccncc1', 'C(=O)N', 'c1ccc2[nH]ccc2c1']))}&timeout_ms=3000",
                 TOKEN_RESEARCHER)
        elif r < 0.70:
            n = rng.randrange(1, 5000)
            call("compound", "GET", f"/api/v1/compounds/SY-{n:07d}", TOKEN_RESEARCHER)
            call("depiction", "GET", f"/api/v1/compounds/SY-{n:07d}/depiction.svg", TOKEN_RESEARCHER)
        elif r < 0.78:
            upload()
        elif r < 0.86:
            call("nested", "GET", f"/api/v1/search?query={quote(NESTED)}", TOKEN_RESEARCHER)
        elif r < 0.93:
            call("too_large", "GET", f"/api/v1/search?mode=substructure&query={'C' * 7000}", TOKEN_RESEARCHER)
        else:
            reset_mid_body()


def prober(deadline):
    while time.monotonic() < deadline:
        call("healthz", "GET", "/healthz")
        time.sleep(0.02)


def peak_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1) if values else None


deadline = time.monotonic() + SECONDS
threads = [threading.Thread(target=client, args=(deadline, i)) for i in range(CLIENTS)]
threads.append(threading.Thread(target=prober, args=(deadline,)))
started = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - started
total = sum(len(v) for k, v in latencies.items() if k != "healthz")
print(json.dumps({
    "clients": CLIENTS,
    "seconds": round(elapsed, 1),
    "requests": total,
    "requests_per_s": round(total / elapsed, 1),
    "connection_failures": failures,
    "peak_rss_mib": round(peak_kib(PID) / 1024, 1),
    "kinds": {k: {"n": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "p99_ms": pct(v, 0.99),
                  "max_ms": pct(v, 1.0), "statuses": statuses[k]} for k, v in sorted(latencies.items())},
}, indent=1))
