"""Earth Mover's Distance between point clouds: a certified exact solver, the Hungarian
reference, Sinkhorn, and the DeepEMD model; a PyTorch loss in :mod:`deepemd.torch`.

The EMD here is the mean cost over an optimal matching (for clouds of equal size n: the
minimum over bijections σ of (1/n) Σ_i ‖a_i − b_σ(i)‖; for n ≠ m, by default, optimal
transport between the uniform distributions, as POT's ``ot.emd2``). Exact methods are exact:
no silent approximation; ``exact`` carries an optimality certificate whose gap is returned.

>>> import numpy as np, deepemd
>>> a = np.array([[0.0, 0.0], [10.0, 0.0]])
>>> b = np.array([[10.0, 1.0], [0.0, 1.0]])
>>> deepemd.emd(a, b).distance
1.0

Functions (``help(deepemd.emd)`` and the others give shapes, dtypes and examples):

- :func:`emd` — one pair; :func:`emd_batch` — many pairs in parallel (:class:`EmdBatch`);
- :func:`gen_metrics` — MMD, COV, 1-NNA and JSD of a generated set against a reference set;
- :func:`read_cloud` — any file the ``deepemd`` command reads; :func:`load_model` — weights.

Errors are ``ValueError`` (bad input or settings) or ``OSError`` (a file that cannot be read),
with the project's message, which names the file or argument at fault.
"""

from ._batch import EmdBatch
from ._native import (
    EmdResult,
    Model,
    __version__,
    _emd_batch,
    emd,
    gen_metrics,
    load_model,
    read_cloud,
)


def emd_batch(
    a,
    b=None,
    method="exact",
    cost="euclidean",
    matching=False,
    gradient=False,
    rounding=None,
    unequal="uniform",
    model=None,
):
    """The EMDs of many pairs, in parallel over the pairs on every core (the GIL released).

    Parameters
    ----------
    a, b : array_like
        Two batches, ``a`` of shape (B, n, d) and ``b`` of shape (B, m, d) (d = 2 or 3), or
        sequences of B clouds of any sizes (pair k is ``(a[k], b[k])``); or ``a`` a sequence of
        ``(a_k, b_k)`` pairs and ``b=None``. Clouds are read as :func:`emd` reads them.
    method, cost, matching, gradient, rounding, unequal, model
        As in :func:`emd`, for every pair.

    Returns
    -------
    EmdBatch
        ``distance`` (B,), ``grad_a`` (B, n, d) and ``grad_b`` (B, m, d) with
        ``gradient=True`` (lists when the sizes vary), ``matching`` (a list), ``seconds``;
        ``batch[k]`` is pair k's :class:`EmdResult`.

    Examples
    --------
    >>> import numpy as np, deepemd
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.random((4, 100, 3)), rng.random((4, 120, 3))
    >>> batch = deepemd.emd_batch(a, b, gradient=True)
    >>> batch.distance.shape, batch.grad_a.shape, batch.grad_b.shape
    ((4,), (4, 100, 3), (4, 120, 3))
    >>> bool(batch.distance[2] == deepemd.emd(a[2], b[2]).distance)
    True
    """
    return EmdBatch(_emd_batch(a, b, method, cost, matching, gradient, rounding, unequal, model))


__all__ = [
    "EmdBatch",
    "EmdResult",
    "Model",
    "__version__",
    "emd",
    "emd_batch",
    "gen_metrics",
    "load_model",
    "read_cloud",
]
