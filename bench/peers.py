"""The peers' side of bench/search.sh, on the same registry and queries.

Reads the parents (id, canonical SMILES, Morgan and pattern fingerprints)
straight from Soyaku's SQLite registry, so every peer searches the same
molecules with the same fingerprints, and runs:

  rdkit-bulk   RDKit BulkTanimotoSimilarity over all fingerprints (threshold)
  fpsim2       FPSim2 (PyPI), 2 workers, its own HDF5 file (threshold, top-10)
  cartridge    the RDKit PostgreSQL cartridge, GiST index, `%` operator
  substruct    RDKit SubstructLibrary with pattern fingerprints, 2 threads

Query fingerprints are computed by RDKit itself from the query SMILES; the
library fingerprints stored by Soyaku are first checked against RDKit's on a
sample. Writes per-query times and hits under OUT as <peer>-*.tsv / .json.

    python bench/peers.py DB SIMILARITY.smi SMARTS OUT PEER_N WORK_DIR PG_PORT
"""

import hashlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time

import numpy as np
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import AllChem, rdSubstructLibrary

RDLogger.DisableLog("rdApp.*")

THRESHOLD = 0.7
TOP_K = 10
PG_BIN = "/usr/lib/postgresql/15/bin"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def read_queries(path):
    out = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        out.append(line.split()[0])
    return out


def morgan(smiles):
    return AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(smiles), 2, nBits=2048)


def load_parents(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    ids, smiles, mfps, pfps = [], [], [], []
    for pid, smi, m, p in con.execute("SELECT id, smiles, morgan, pattern FROM parents ORDER BY id"):
        ids.append(pid)
        smiles.append(smi)
        mfps.append(DataStructs.CreateFromFPSText(m.hex()))
        pfps.append(DataStructs.CreateFromFPSText(p.hex()))
    return ids, smiles, mfps, pfps


def check_fingerprints(smiles, mfps, pfps):
    """Soyaku's stored fingerprints equal RDKit's on every 500th parent."""
    checked = 0
    for i in range(0, len(smiles), 500):
        mol = Chem.MolFromSmiles(smiles[i])
        assert AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048) == mfps[i], smiles[i]
        assert Chem.PatternFingerprint(mol, 2048) == pfps[i], smiles[i]
        checked += 1
    return checked


def write_hits(path, rows, sep=" "):
    with open(path, "w") as f:
        for i, cells in enumerate(rows):
            f.write(f"{i}\t{sep.join(cells)}\n")


def rdkit_bulk(ids, mfps, queries, peer_n, out):
    times, rows, tops = [], [], []
    for q in queries[:peer_n]:
        fp = morgan(q)
        t = time.perf_counter()
        scores = DataStructs.BulkTanimotoSimilarity(fp, mfps)
        hits = [ids[i] for i, s in enumerate(scores) if s >= THRESHOLD]
        times.append((time.perf_counter() - t) * 1e3)
        rows.append(sorted(str(h) for h in hits))
        a = np.asarray(scores)
        kth = np.partition(a, len(a) - TOP_K)[len(a) - TOP_K]
        best = sorted(np.nonzero(a >= kth)[0], key=lambda i: (-a[i], ids[i]))[:TOP_K]
        tops.append([f"{ids[i]}:{scores[i]:.9f}" for i in best])
    write_hits(f"{out}/rdkit-bulk-threshold.tsv", rows)
    write_hits(f"{out}/rdkit-bulk-top10.tsv", tops)
    return {"threshold_ms": times}


def fpsim2(ids, smiles, queries, out, work):
    from FPSim2 import FPSim2Engine
    from FPSim2.io import create_db_file

    path = f"{work}/fpsim2-{len(ids)}.h5"
    if not os.path.exists(path):
        log(f"  building the FPSim2 file for {len(ids)} molecules (once) ...")
        t = time.perf_counter()
        create_db_file(list(zip(smiles, ids)), path + ".tmp", "smiles", "Morgan",
                       {"radius": 2, "fpSize": 2048})
        os.rename(path + ".tmp", path)
        log(f"  built in {time.perf_counter() - t:.0f} s")
    engine = FPSim2Engine(path)
    fps = [morgan(q) for q in queries]
    for fp in fps[:20]:
        engine.similarity(fp, THRESHOLD, n_workers=2)
    times, rows = [], []
    for fp in fps:
        t = time.perf_counter()
        hits = engine.similarity(fp, THRESHOLD, n_workers=2)
        times.append((time.perf_counter() - t) * 1e3)
        rows.append(sorted(str(int(h[0])) for h in hits))
    write_hits(f"{out}/fpsim2-threshold.tsv", rows)
    top_times = []
    for fp in fps:
        t = time.perf_counter()
        engine.top_k(fp, TOP_K, 0.0, n_workers=2)
        top_times.append((time.perf_counter() - t) * 1e3)
    return {"threshold_ms": times, "top10_ms": top_times}


def cartridge(ids, mfps, queries, peer_n, out, work, port):
    """A PostgreSQL 15 cluster of its own under WORK, kept between runs."""
    import psycopg2

    cluster = f"{work}/pg"
    if not os.path.exists(f"{cluster}/PG_VERSION"):
        os.makedirs(cluster, exist_ok=True)
        subprocess.run(["chown", "-R", "postgres", work], check=True)
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/initdb", "-A", "trust",
                        "-D", cluster], check=True, capture_output=True)
    subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", cluster, "-w",
                    "-l", f"{cluster}/log", "-o",
                    f"-p {port} -k /tmp -c shared_buffers=2GB -c max_parallel_workers_per_gather=2",
                    "start"], check=True, capture_output=True)
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        admin.autocommit = True
        cur = admin.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'")
        if not cur.fetchone():
            cur.execute("CREATE DATABASE bench")
        admin.close()
        con = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="bench")
        cur = con.cursor()
        cur.execute("CREATE EXTENSION IF NOT EXISTS rdkit")
        cur.execute("CREATE TABLE IF NOT EXISTS fps (id int PRIMARY KEY, mfp bfp)")
        cur.execute("SELECT count(*) FROM fps")
        if cur.fetchone()[0] != len(ids):
            log(f"  loading {len(ids)} fingerprints into the cartridge and indexing (once) ...")
            t = time.perf_counter()
            cur.execute("DROP INDEX IF EXISTS fps_mfp")
            cur.execute("TRUNCATE fps")
            import io
            buf = io.StringIO()
            for pid, fp in zip(ids, mfps):
                buf.write(f"{pid}\t\\\\x{DataStructs.BitVectToBinaryText(fp).hex()}\n")
            buf.seek(0)
            cur.execute("CREATE TEMP TABLE raw (id int, b bytea)")
            cur.copy_from(buf, "raw", columns=("id", "b"))
            cur.execute("INSERT INTO fps SELECT id, bfp_from_binary_text(b) FROM raw")
            cur.execute("CREATE INDEX fps_mfp ON fps USING gist (mfp)")
            cur.execute("ANALYZE fps")
            con.commit()
            log(f"  loaded and indexed in {time.perf_counter() - t:.0f} s")
        cur.execute(f"SET rdkit.tanimoto_threshold = {THRESHOLD}")
        fps = [morgan(q) for q in queries[:peer_n]]
        sql = "SELECT id FROM fps WHERE mfp %% bfp_from_binary_text(%s)"
        for fp in fps[:5]:
            cur.execute(sql, (DataStructs.BitVectToBinaryText(fp),))
            cur.fetchall()
        times, rows = [], []
        for fp in fps:
            t = time.perf_counter()
            cur.execute(sql, (DataStructs.BitVectToBinaryText(fp),))
            hits = cur.fetchall()
            times.append((time.perf_counter() - t) * 1e3)
            rows.append(sorted(str(h[0]) for h in hits))
        write_hits(f"{out}/cartridge-threshold.tsv", rows)
        con.close()
        return {"threshold_ms": times}
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", cluster,
                        "-m", "fast", "stop"], capture_output=True)


def substruct(ids, smiles, pfps, smarts, out):
    holder = rdSubstructLibrary.CachedTrustedSmilesMolHolder()
    patterns = rdSubstructLibrary.PatternHolder()
    for smi, fp in zip(smiles, pfps):
        holder.AddSmiles(smi)
        patterns.AddFingerprint(fp)
    library = rdSubstructLibrary.SubstructLibrary(holder, patterns)
    times, rows = [], []
    for text in read_queries(smarts):
        query = Chem.MolFromSmarts(text)
        t = time.perf_counter()
        hits = library.GetMatches(query, numThreads=2, maxResults=len(ids) + 1)
        times.append((time.perf_counter() - t) * 1e3)
        found = " ".join(str(h) for h in sorted(ids[i] for i in hits))
        rows.append([str(len(hits)), hashlib.sha256(found.encode()).hexdigest()])
        log(f"  {text}: {len(hits)} hits, {times[-1]:.0f} ms")
    write_hits(f"{out}/substruct-substructure.tsv", rows, sep="\t")
    return {"substructure_ms": times}


def main():
    db, similarity, smarts, out, peer_n, work, port = sys.argv[1:8]
    peer_n = int(peer_n)
    os.makedirs(work, exist_ok=True)
    queries = read_queries(similarity)
    log("peers: reading the registry ...")
    ids, smiles, mfps, pfps = load_parents(db)
    checked = check_fingerprints(smiles, mfps, pfps)
    log(f"peers: stored fingerprints equal RDKit's on {checked} sampled parents")
    results = {"fingerprints_checked": checked}
    log("peers: RDKit BulkTanimotoSimilarity ...")
    results["rdkit-bulk"] = rdkit_bulk(ids, mfps, queries, peer_n, out)
    log("peers: FPSim2 ...")
    results["fpsim2"] = fpsim2(ids, smiles, queries, out, work)
    log("peers: RDKit PostgreSQL cartridge ...")
    results["cartridge"] = cartridge(ids, mfps, queries, peer_n, out, work, port)
    log("peers: RDKit SubstructLibrary ...")
    results["substruct"] = substruct(ids, smiles, pfps, smarts, out)
    json.dump(results, open(f"{out}/peers.json", "w"))
    for name, r in results.items():
        if isinstance(r, dict):
            for k, v in r.items():
                log(f"  {name} {k}: median {statistics.median(v):.1f} ms over {len(v)}")


if __name__ == "__main__":
    main()
