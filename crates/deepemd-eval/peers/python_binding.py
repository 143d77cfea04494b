"""Times the Python module `deepemd` (`deepemd.emd`, exact) next to scipy's
linear_sum_assignment and POT's ot.emd on clouds the Rust side wrote.

Input (argv[1]): a JSON file {"repeats": k, "pot": bool, "pairs": [{"a": .npy, "b": .npy}, ...]}.
Output (stdout): one JSON object per pair, {"deepemd_s", "deepemd_value", "scipy_s",
"scipy_value", "pot_s", "pot_value"}: median seconds (each call from NumPy arrays to the value,
conversion included) and the value. Euclidean cost, clouds of equal size.
"""
import json
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import deepemd
from peers import median_time


def main():
    spec = json.load(open(sys.argv[1]))
    repeats = spec["repeats"]
    ot = None
    if spec["pot"]:
        import ot  # noqa: F811
    for pair in spec["pairs"]:
        a, b = np.load(pair["a"]), np.load(pair["b"])
        deepemd.emd(a, b)  # load the module's code paths once

        def scipy_solve():
            c = cdist(a, b)
            r, k = linear_sum_assignment(c)
            return float(c[r, k].mean())

        out = {}
        out["deepemd_s"], out["deepemd_value"] = median_time(lambda: deepemd.emd(a, b).distance, repeats)
        out["scipy_s"], out["scipy_value"] = median_time(scipy_solve, max(1, repeats // 3))
        if ot is not None:
            w = np.full(len(a), 1.0 / len(a))

            def pot_solve():
                c = cdist(a, b)
                return float((ot.emd(w, w, c, numItermax=10**9) * c).sum())

            out["pot_s"], out["pot_value"] = median_time(pot_solve, max(1, repeats // 3))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
