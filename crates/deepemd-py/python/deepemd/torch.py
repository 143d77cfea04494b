"""The EMD as a PyTorch loss: per-pair values of a batch, gradients to both clouds.

>>> import torch
>>> from deepemd.torch import EMDLoss
>>> loss = EMDLoss()                       # exact, certified; the network: method="model", unequal="partial"
>>> a = torch.rand(4, 256, 3, requires_grad=True)
>>> b = torch.rand(4, 300, 3)              # sizes may differ (unequal="uniform": all points used)
>>> loss(a, b).backward()                  # mean over the batch; a.grad is set

The forward pass solves every pair on the CPU (in parallel, the GIL released) and keeps each
pair's gradient with the optimal matching held fixed; the backward pass scales them by the
incoming gradient. The value is exact for ``method="exact"`` or ``"hungarian"``, so its
gradient is the EMD's gradient wherever the optimal matching is unique. Tensors on a GPU are
copied to the CPU and the gradients back. The backward pass is not itself differentiable
(double backward raises an error rather than dropping terms).

The solves run on a Rust thread pool, which does not survive ``fork``: call the loss in a
DataLoader worker only with the ``spawn`` or ``forkserver`` start method, or only in the main
process (the usual place for a loss).
"""

import torch

from . import _batch_grad


class EMDFunction(torch.autograd.Function):
    """``EMDFunction.apply(a, b, method, cost, unequal, rounding, model)`` → per-pair EMD (B,)
    of ``a`` (B, n, d) and ``b`` (B, m, d)."""

    @staticmethod
    def forward(ctx, a, b, method="exact", cost="euclidean", unequal="uniform", rounding=None, model=None):
        # float64 on the CPU whatever the tensors hold (float16 and bfloat16 included); the
        # results go back in the inputs' dtype and device.
        distances, grad_a, grad_b = _batch_grad.forward(
            a.detach().to("cpu", torch.float64).numpy(),
            b.detach().to("cpu", torch.float64).numpy(),
            method=method,
            cost=cost,
            unequal=unequal,
            rounding=rounding,
            model=model,
        )
        ctx.save_for_backward(
            torch.from_numpy(grad_a).to(device=a.device, dtype=a.dtype),
            torch.from_numpy(grad_b).to(device=b.device, dtype=b.dtype),
        )
        return torch.from_numpy(distances).to(device=a.device, dtype=a.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        grad_a, grad_b = ctx.saved_tensors
        g = grad_output.reshape(-1, 1, 1)
        return g * grad_a, g * grad_b, None, None, None, None, None


class EMDLoss(torch.nn.Module):
    """The EMD between batches ``a`` (B, n, d) and ``b`` (B, m, d) (or single clouds (n, d)),
    reduced by ``reduction`` = ``"mean"`` (default), ``"sum"`` or ``"none"`` (per pair).

    ``method``, ``cost``, ``unequal``, ``rounding`` and ``model`` are those of
    :func:`deepemd.emd`."""

    def __init__(self, method="exact", cost="euclidean", unequal="uniform", rounding=None, model=None, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.method, self.cost, self.unequal = method, cost, unequal
        self.rounding, self.model, self.reduction = rounding, model, reduction

    def forward(self, a, b):
        single = a.dim() == 2
        if single:
            a, b = a.unsqueeze(0), b.unsqueeze(0)
        per_pair = EMDFunction.apply(a, b, self.method, self.cost, self.unequal, self.rounding, self.model)
        if single and self.reduction == "none":
            return per_pair[0]
        if self.reduction == "mean":
            return per_pair.mean()
        if self.reduction == "sum":
            return per_pair.sum()
        return per_pair
