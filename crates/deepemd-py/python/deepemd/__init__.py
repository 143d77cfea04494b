"""Earth Mover's Distance between point clouds: a certified exact solver, the Hungarian
reference, Sinkhorn, and the DeepEMD model; a PyTorch loss in :mod:`deepemd.torch`.

The EMD here is the mean cost over an optimal matching (for clouds of equal size n: the
minimum over bijections σ of (1/n) Σ_i ‖a_i − b_σ(i)‖). Exact methods are exact: no silent
approximation; ``exact`` carries an optimality certificate whose gap is returned.

>>> import numpy as np, deepemd
>>> a = np.array([[0.0, 0.0], [10.0, 0.0]])
>>> b = np.array([[10.0, 1.0], [0.0, 1.0]])
>>> r = deepemd.emd(a, b, matching=True, gradient=True)
>>> r.distance
1.0
>>> r.matching.tolist()
[1, 0]
>>> r.grad_a.tolist()
[[0.0, -0.5], [0.0, -0.5]]

Functions
---------
emd(a, b, method="exact", cost="euclidean", matching=False, gradient=False, rounding=None,
    unequal="partial", model=None) -> EmdResult
    ``a`` (n, d) and ``b`` (m, d), d = 2 or 3, float32 or float64 arrays in any memory layout.
    ``method``: ``"exact"`` (certified, fast), ``"hungarian"`` (scipy's algorithm),
    ``"sinkhorn"`` (entropic approximation, rounded to a matching), ``"model"`` (the DeepEMD
    network; ``rounding`` = ``"argmax"`` (default), ``"greedy"``, ``"sinkhorn-greedy"`` or
    ``"refined"``, or write ``method="model/refined"``). ``cost``: ``"euclidean"`` or
    ``"sqeuclidean"``. ``unequal`` (n ≠ m): ``"partial"`` matches every point of the smaller
    cloud to a distinct point of the larger; ``"uniform"`` is optimal transport between the
    uniform distributions (POT's ``ot.emd2``). ``model``: a :class:`Model` from
    :func:`load_model` (default: the shipped model).
emd_batch(a, b=None, ...) -> list[EmdResult]
    Many pairs in parallel (all cores, the GIL released): ``a`` (B, n, d) and ``b`` (B, m, d),
    or sequences of arrays, or ``a`` a sequence of ``(a_k, b_k)`` pairs. Same keywords.
read_cloud(path) -> ndarray
    Any file the ``deepemd`` command reads: .ply, .off, .xyz/.txt/.csv, .npy, .pcd, and
    ``file.h5#K`` (item K of dataset ``data``) or ``file.h5:dataset#K``.
load_model(path=None, device="cpu") -> Model
    A model folder (``config.json``, ``model.safetensors``), or the shipped default.
gen_metrics(reference, generated, brute_force=False, format="deepemd") -> dict
    MMD, COV and 1-NNA with the exact EMD and with Chamfer, PointFlow's per-set 1-NNA and
    JSD, and the work (``pairs``, ``exact_solves``). Exact nearest neighbours by a pruned
    search (certified lower bounds; ``brute_force=True`` solves every pair, same metrics).
    ``format="pointflow"``: PointFlow's keys (``lgan_mmd-EMD``, ``1-NN-EMD-acc_t``, ``jsd``, …).

Errors are ``ValueError`` (bad input or settings) or ``OSError`` (a file that cannot be read),
with the project's message, which names the file or argument at fault.
"""

from ._native import (
    EmdResult,
    Model,
    __version__,
    emd,
    emd_batch,
    gen_metrics,
    load_model,
    read_cloud,
)

__all__ = [
    "EmdResult",
    "Model",
    "__version__",
    "emd",
    "emd_batch",
    "gen_metrics",
    "load_model",
    "read_cloud",
]
