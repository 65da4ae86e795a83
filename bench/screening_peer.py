"""SciPy peer of bench/screening.sh: the same LL.4 model fitted with
scipy.optimize.curve_fit to every series of curves.csv (best of the starts
b = +-1, +-3, as the reference fits of the test suite), on all cores."""
import json, sys, time, warnings
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


def main():
    path, out = sys.argv[1], sys.argv[2]
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
    json.dump({"fits": ok, "fit_seconds": seconds, "processes": cpu_count()}, open(out, "w"))
    print(json.dumps({"fits": ok, "fit_seconds": seconds}))


if __name__ == "__main__":
    main()
