"""``EmdBatch``: what :func:`deepemd.emd_batch` returns — arrays over the batch, and each
pair's :class:`deepemd.EmdResult`."""

from collections.abc import Sequence

import numpy as np


def _stack_or_list(arrays):
    """One (B, ...) array when every item has one shape, else the list of items."""
    if arrays and all(x.shape == arrays[0].shape for x in arrays):
        return np.stack(arrays)
    return list(arrays)


class EmdBatch(Sequence):
    """The EMDs of a batch of pairs.

    Attributes
    ----------
    distance : numpy.ndarray, float64, shape (B,)
        The EMD of each pair.
    grad_a, grad_b : numpy.ndarray of shape (B, n, d), or list of (n_k, d) arrays, or None
        With ``gradient=True``: each pair's gradients, stacked when every cloud of that side
        has one size (a list otherwise); float32 for float32 pairs, float64 otherwise.
    matching : list of (k, 2) int64 arrays, or None
        With ``matching=True``: each pair's matching (see :class:`deepemd.EmdResult`).
    mass : list of (k,) float64 arrays (or None entries), or None
        With ``matching=True``: each pair's transport masses where the pair has a plan.
    certificate_gap : numpy.ndarray, float64, shape (B,), or None
        ``method="exact"``: each pair's certificate gap.
    seconds : numpy.ndarray, float64, shape (B,)
        Each pair's solve time.
    results : list of EmdResult
        The pairs' results, in order; ``batch[k]`` is ``batch.results[k]``.
    """

    def __init__(self, results):
        self.results = list(results)
        self.distance = np.array([r.distance for r in self.results], dtype=np.float64)
        self.seconds = np.array([r.seconds for r in self.results], dtype=np.float64)
        first = self.results[0] if self.results else None
        has = lambda name: first is not None and getattr(first, name) is not None  # noqa: E731
        self.grad_a = _stack_or_list([r.grad_a for r in self.results]) if has("grad_a") else None
        self.grad_b = _stack_or_list([r.grad_b for r in self.results]) if has("grad_b") else None
        self.matching = [r.matching for r in self.results] if has("matching") else None
        self.mass = [r.mass for r in self.results] if has("matching") else None
        self.certificate_gap = (
            np.array([r.certificate_gap for r in self.results], dtype=np.float64)
            if has("certificate_gap")
            else None
        )

    def __len__(self):
        return len(self.results)

    def __getitem__(self, k):
        return self.results[k]

    def __repr__(self):
        method = self.results[0].method if self.results else "-"
        return f"EmdBatch({len(self)} pairs, method='{method}', mean distance={self.distance.mean() if len(self) else float('nan')})"
