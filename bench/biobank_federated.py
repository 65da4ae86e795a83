"""Federated stage of bench/biobank.sh: the same 10 queries through the
cross-search's Beacon API (HTTP) to three biobank nodes, each its own
process holding its share of the synthetic catalogue. Times each answer end
to end (client → cross-search → three nodes → back), 50 times per query,
anonymous (boolean granularity: the nodes do the same plan, evaluation and
protection work), and checks every node answered every time.
    python3 bench/biobank_federated.py HUB_ADDR QUERIES.json OUT.json"""
import http.client, json, statistics, sys, time

addr, queries_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = addr.split(":")
queries = json.load(open(queries_file))
conn = http.client.HTTPConnection(host, int(port))


def ask(q):
    body = json.dumps({"meta": {"apiVersion": "v2.0.0"},
                       "query": {"requestParameters": {"soyakuQuery": q}, "requestedGranularity": "boolean"}})
    start = time.perf_counter()
    conn.request("POST", "/beacon/v2/individuals", body, {"content-type": "application/json"})
    r = conn.getresponse()
    doc = json.loads(r.read())
    took = (time.perf_counter() - start) * 1e3
    if r.status != 200 or any(n["status"] != "ok" for n in doc["info"]["nodes"]):
        sys.exit(f"a node did not answer: {r.status} {json.dumps(doc)[:400]}")
    return took


rows, every = [], []
for name, q in queries:
    ask(q)  # warm
    times = sorted(ask(q) for _ in range(50))
    every += times
    rows.append({"name": name, "p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1]})
every.sort()
json.dump({"queries": rows, "p95_ms_all": every[int(0.95 * len(every)) - 1], "answers": len(every)}, open(out, "w"))
