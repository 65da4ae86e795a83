"""NumPy/SciPy peer of bench/screening.sh. Plates: the 200 grid files of
OUT/plates read with numpy.loadtxt and analysed as Soyaku does (Z', robust
Z', S/B, CVs, percent inhibition, robust z, B-score by median polish, edge
and row/column effects by median polish of the samples, hits on the mean
percent inhibition of replicates passing QC). Fits: the same LL.4 model
fitted with scipy.optimize.curve_fit to every series of curves.csv (best of
the starts b = +-1, +-3, as the reference fits of the test suite), on all
cores."""
import csv, glob, json, os, sys, time, warnings
from multiprocessing import Pool, cpu_count

import numpy as np
from scipy.optimize import curve_fit


def ll4(lx, b, c, d, loge):
    return c + (d - c) / (1 + np.exp(np.clip(b * (lx - loge), -700, 700)))


def fit(series):
    lx, y = np.log(series[0]), series[1]
    best = None
    for b0 in (-1.0, 1.0, -3.0, 3.0):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = curve_fit(ll4, lx, y, p0=[b0, y.min(), y.max(), np.median(lx)], maxfev=20000)
            sse = float(((ll4(lx, *p) - y) ** 2).sum())
            best = sse if best is None or sse < best else best
        except Exception:
            pass
    return best is not None


def medpolish(x):
    """Tukey's median polish (10 rounds), ignoring NaN; residuals and effects."""
    r = x.copy()
    rows, cols = np.zeros(x.shape[0]), np.zeros(x.shape[1])
    for _ in range(10):
        m = np.nan_to_num(np.nanmedian(r, axis=1))
        r -= m[:, None]
        rows += m
        c = np.nan_to_num(np.nanmedian(r, axis=0))
        r -= c[None, :]
        cols += c
        if np.abs(m).sum() + np.abs(c).sum() < 1e-10:
            break
    return r, rows, cols


def mad(v):
    return 1.4826 * np.median(np.abs(v - np.median(v)))


def plates(directory, roles):
    """Analyses every plate of `directory` as Soyaku does; returns the hit count."""
    neutral, positive, sample = roles == "neutral", roles == "positive", roles == "sample"
    listing = list(csv.DictReader(open(os.path.join(directory, "platelist.csv"))))
    by_plate = {}
    for row in listing:
        v = np.loadtxt(os.path.join(directory, row["Filename"]), delimiter=",", skiprows=1,
                       usecols=range(1, roles.shape[1] + 1))
        n, p = v[neutral], v[positive]
        zp = 1 - 3 * (p.std(ddof=1) + n.std(ddof=1)) / abs(p.mean() - n.mean())
        rzp = 1 - 3 * (mad(p) + mad(n)) / abs(np.median(p) - np.median(n))
        sb = max(abs(p.mean()), abs(n.mean())) / min(abs(p.mean()), abs(n.mean()))
        cvs = (p.std(ddof=1) / abs(p.mean()), n.std(ddof=1) / abs(n.mean()))
        pi = 100 * (n.mean() - v) / (n.mean() - p.mean())
        s = v[sample]
        rz = (v - np.median(s)) / mad(s)
        res, _, _ = medpolish(v)
        b = res / mad(res.ravel())
        only = np.where(sample, v, np.nan)
        _, re, ce = medpolish(only)
        edge = np.zeros_like(sample)
        edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
        spread = mad(s)
        edge_effect = (np.nanmedian(only[edge]) - np.nanmedian(only[~edge])) / spread
        row_col = max(np.abs(re - np.median(re)).max(), np.abs(ce - np.median(ce)).max()) / spread
        _ = (rzp, sb, cvs, rz, b, edge_effect, row_col)
        by_plate.setdefault(row["Plate"], []).append((zp >= 0.5, pi))
    hits = 0
    for reps in by_plate.values():
        kept = [pi for ok, pi in reps if ok]
        if kept:
            hits += int(((np.mean(kept, axis=0) >= 50) & sample).sum())
    return hits


def main():
    path, out = sys.argv[1], sys.argv[2]
    base = os.path.dirname(path)
    grid = list(csv.reader(open(os.path.join(base, "map.csv"))))[1:]
    shape = (32, 48)
    roles = np.array([r for _, r in grid]).reshape(shape)
    started = time.perf_counter()
    plate_hits = plates(os.path.join(base, "plates"), roles)
    plate_seconds = time.perf_counter() - started
    groups = {}
    with open(path) as f:
        next(f)
        for line in f:
            name, c, r = line.rstrip("\n").split(",")
            groups.setdefault(name, ([], []))
            groups[name][0].append(float(c))
            groups[name][1].append(float(r))
    series = [(np.array(c), np.array(r)) for c, r in groups.values()]
    started = time.perf_counter()
    with Pool(cpu_count()) as pool:
        ok = sum(pool.map(fit, series, chunksize=64))
    seconds = time.perf_counter() - started
    result = {"fits": ok, "fit_seconds": seconds, "processes": cpu_count(),
              "plate_hits": plate_hits, "plate_seconds_per_100": plate_seconds / 2}
    json.dump(result, open(out, "w"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
