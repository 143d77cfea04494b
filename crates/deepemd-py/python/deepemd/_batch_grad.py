"""The arithmetic of the PyTorch loss, on NumPy arrays (no torch import): per-pair EMD and
both gradients for a batch, and the chain rule of the backward pass."""

import numpy as np

from ._batch import EmdBatch
from ._native import _emd_batch


def forward(a, b, method="exact", cost="euclidean", unequal="uniform", rounding=None, model=None):
    """``a`` (B, n, d), ``b`` (B, m, d) float arrays → (distances (B,), grad_a (B, n, d),
    grad_b (B, m, d)), all float64: the EMD of each pair and its gradient with the matching held
    fixed."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(
            f"the clouds must be batches of shape (B, n, d) and (B, m, d), got {a.shape} and {b.shape}"
        )
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"a holds {a.shape[0]} clouds and b holds {b.shape[0]}")
    batch = EmdBatch(
        _emd_batch(
            a, b, method=method, cost=cost, gradient=True, unequal=unequal, rounding=rounding, model=model
        )
    )
    if not len(batch):
        return batch.distance, np.zeros(a.shape), np.zeros(b.shape)
    return batch.distance, batch.grad_a, batch.grad_b


def backward(grad_output, grad_a, grad_b):
    """The vector-Jacobian product: ``grad_output`` (B,) times each pair's gradients."""
    g = np.asarray(grad_output, dtype=np.float64).reshape(-1, 1, 1)
    return g * grad_a, g * grad_b
