"""Times POT's log-domain and epsilon-scaling Sinkhorn on clouds the Rust side wrote.

Input (argv[1]): a JSON file {"repeats": k, "cost": "euclidean"|"sqeuclidean",
"epsilon": e, "tolerance": t, "max_iterations": m, "pairs": [{"a": path.npy, "b": path.npy}]}.
The regularization is `e * max C` (the project's convention: epsilon relative to the largest
cost), uniform weights 1/n, and POT's `stopThr` is `t / sqrt(n)`: the L2 norm that an L1 error
of `t` spread evenly has (ours stops at an L1 error of `t`). `sinkhorn_log` applies it to the
L2 norm of the column marginals' error, checked every 10 iterations, for at most `m`
iterations. `sinkhorn_epsilon_scaling` starts at epsilon0 = max C, as ours does, with POT's
stage schedule, at least 36 stages (POT's minimum) and at most `m / 100`, each of at most 100
stabilized iterations; its outer test is the sum of both marginals' squared L2 errors (looser).

Output (stdout): one JSON object per pair, {"log": run, "eps_scaling": run}, each run
{"s": median seconds (cost matrix included), "value": <P, C>, "iterations": total Sinkhorn
iterations, "marginal_l1": L1 error of the worse of the returned plan's two marginals}.
"""
import json
import sys

import numpy as np
import ot
import ot.bregman._sinkhorn as pot_sinkhorn
from scipy.spatial.distance import cdist

from peers import median_time  # the exact peers' script, beside this one

# sinkhorn_epsilon_scaling reports its stages, not its iterations: count those of the
# stabilized solves it makes (one per stage).
_stabilized = pot_sinkhorn.sinkhorn_stabilized
_inner_iterations = [0]


def _counted_stabilized(*args, **kwargs):
    plan, log = _stabilized(*args, **kwargs)
    _inner_iterations[0] += log["n_iter"] + 1
    return plan, log


pot_sinkhorn.sinkhorn_stabilized = _counted_stabilized


def median_run(fn, repeats):
    seconds, run = median_time(fn, repeats)
    run["s"] = seconds
    return run


def main():
    spec = json.load(open(sys.argv[1]))
    metric, max_it = spec["cost"], spec["max_iterations"]
    for pair in spec["pairs"]:
        a, b = np.load(pair["a"]), np.load(pair["b"])
        n = len(a)
        tol = spec["tolerance"] / np.sqrt(n)
        w = np.full(n, 1.0 / n)

        def summary(c, plan, iterations):
            return {
                "value": float((plan * c).sum()),
                "iterations": int(iterations),
                "marginal_l1": float(max(np.abs(plan.sum(1) - w).sum(),
                                         np.abs(plan.sum(0) - w).sum())),
            }

        def log_domain():
            c = cdist(a, b, metric=metric)
            reg = spec["epsilon"] * c.max()
            plan, log = ot.sinkhorn(
                w, w, c, reg, method="sinkhorn_log", numItermax=max_it, stopThr=tol,
                log=True, warn=False,
            )
            return summary(c, plan, log["niter"] + 1)

        def eps_scaling():
            c = cdist(a, b, metric=metric)
            reg = spec["epsilon"] * c.max()
            _inner_iterations[0] = 0
            plan = pot_sinkhorn.sinkhorn_epsilon_scaling(
                w, w, c, reg, epsilon0=c.max(), numItermax=max(36, max_it // 100), stopThr=tol,
                print_period=1, warn=False,
            )
            return summary(c, plan, _inner_iterations[0])

        out = {
            "log": median_run(log_domain, spec["repeats"]),
            "eps_scaling": median_run(eps_scaling, spec["repeats"]),
        }
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
