"""Times scipy's linear_sum_assignment and POT's ot.emd on clouds the Rust side wrote.

Input (argv[1]): a JSON file {"repeats": k, "pot": bool, "scipy": bool (default true),
"cost": "euclidean"|"sqeuclidean", "pairs": [{"a": path.npy, "b": path.npy}, ...]}. Output (stdout): one JSON object per pair,
{"scipy_s": median seconds, "scipy_value": mean cost, "pot_s": ..., "pot_value": ...}.
Each timing covers the cost matrix and the solve, as the Rust timings do. For clouds of
different sizes scipy's value is the partial convention (mean over the min(n, m) pairs of the
rectangular assignment) and POT's the uniform one (ot.emd with weights 1/n and 1/m).
"""
import json
import statistics
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


def median_time(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), value


def main():
    spec = json.load(open(sys.argv[1]))
    metric = spec["cost"]
    ot = None
    if spec["pot"]:
        import ot  # noqa: F811
    for pair in spec["pairs"]:
        a, b = np.load(pair["a"]), np.load(pair["b"])

        def scipy_solve():
            c = cdist(a, b, metric=metric)
            r, k = linear_sum_assignment(c)
            return float(c[r, k].sum() / len(r))

        out = {}
        if spec.get("scipy", True):
            out["scipy_s"], out["scipy_value"] = median_time(scipy_solve, spec["repeats"])
        if ot is not None:
            wa, wb = np.full(len(a), 1.0 / len(a)), np.full(len(b), 1.0 / len(b))

            def pot_solve():
                c = cdist(a, b, metric=metric)
                g = ot.emd(wa, wb, c, numItermax=10**9)
                return float((g * c).sum())

            out["pot_s"], out["pot_value"] = median_time(pot_solve, spec["repeats"])
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
