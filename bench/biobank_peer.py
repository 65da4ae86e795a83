"""SQLite peer of bench/biobank.sh: the same synthetic catalogue
(individuals.tsv, diseases.tsv, samples.tsv) in an indexed SQLite database,
and each benchmark query, translated from the plan Soyaku resolved (so both
answer exactly the same criteria), as one GROUP BY query counting donors,
samples and aliquots per biobank. Checks the counts against Soyaku's and
times 5 runs of each."""
import json, os, sqlite3, sys, time

NCU, NPUNCU = 1 << 5, 1 << 6  # DUO bits, as crates/biobank/src/terms.rs numbers them


def cond(plan):
    if isinstance(plan, str):
        return {"Recontact": "i.recontact = 1", "Available": "s.aliquots > 0"}[plan]
    (kind, arg), = plan.items()
    if kind in ("And", "Or"):
        return "(" + f" {kind.upper()} ".join(cond(p) for p in arg) + ")"
    if kind == "Not":
        return f"NOT {cond(arg)}"
    if kind == "Sex":
        return f"i.sex = {arg}"
    if kind == "Age":
        return f"s.age BETWEEN {arg[0]} AND {arg[1]}"
    if kind == "Disease":
        return f"s.ind IN (SELECT ind FROM diseases WHERE code IN ({','.join(map(str, arg))}))"
    if kind == "SampleType":
        return f"s.type IN ({','.join(map(str, arg))})"
    if kind == "Data":
        return f"(i.data >> {arg}) & 1 = 1"
    if kind == "Consent" and arg[0] == 0:
        return f"(i.consent & {NCU | NPUNCU}) = 0"
    if kind == "Biobank":
        return f"i.biobank = {arg}"
    raise NotImplementedError(kind)


def load(db, out):
    db.executescript("""
        CREATE TABLE individuals (row INTEGER PRIMARY KEY, biobank INT, sex INT, consent INT,
                                  ds INT, recontact INT, data INT);
        CREATE TABLE diseases (ind INT, code INT);
        CREATE TABLE samples (row INTEGER PRIMARY KEY, ind INT, type INT, age INT, aliquots INT);
    """)
    for table, cols in (("individuals", 7), ("diseases", 2), ("samples", 5)):
        with open(os.path.join(out, f"{table}.tsv")) as f:
            rows = (line.rstrip("\n").split("\t") for line in f)
            db.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * cols)})", rows)
    db.executescript("""
        CREATE INDEX diseases_code ON diseases (code, ind);
        CREATE INDEX samples_ind ON samples (ind);
        CREATE INDEX samples_type_age ON samples (type, age);
        ANALYZE;
    """)
    db.commit()


def main():
    out = sys.argv[1]
    ours = json.load(open(os.path.join(out, "soyaku.json")))
    path = os.path.join(out, "peer.sqlite")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    started = time.perf_counter()
    load(db, out)
    load_seconds = time.perf_counter() - started
    results = []
    for q in ours["queries"]:
        sql = ("SELECT i.biobank, COUNT(DISTINCT s.ind), COUNT(*), SUM(s.aliquots) "
               "FROM samples s JOIN individuals i ON i.row = s.ind "
               f"WHERE {cond(q['plan'])} GROUP BY i.biobank")
        times, got = [], None
        for _ in range(5):
            t = time.perf_counter()
            got = db.execute(sql).fetchall()
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        counts = {b: (d, s, a) for b, d, s, a in got}
        expected = {b: (c["donors"], c["samples"], c["aliquots"]) for b, c in enumerate(q["counts"]) if c["samples"]}
        results.append({"name": q["name"], "p50_ms": times[2], "p95_ms": times[-1], "same": counts == expected})
    json.dump({"load_seconds": load_seconds, "queries": results}, open(os.path.join(out, "peer.json"), "w"))


if __name__ == "__main__":
    main()
