"""deepemd.torch: the loss's arithmetic without torch (always), and with torch: gradcheck in
float64, reductions, unequal sizes. `DEEPEMD_REQUIRE_TORCH=1` (set by `cargo xtask test`, which
installs torch) turns a missing torch into a failure instead of a skip."""

import os

import numpy as np
import pytest

import deepemd
from deepemd import _batch_grad


def test_batch_arithmetic_matches_finite_differences_without_torch():
    rng = np.random.default_rng(7)
    a, b = rng.random((3, 7, 3)), rng.random((3, 9, 3))
    d, ga, gb = _batch_grad.forward(a, b)
    assert d.shape == (3,) and ga.shape == a.shape and gb.shape == b.shape
    weights = np.array([0.5, -2.0, 3.0])  # the upstream gradient of sum(w * d)
    va, vb = _batch_grad.backward(weights, ga, gb)
    loss = lambda x, y: float(weights @ _batch_grad.forward(x, y)[0])
    h = 1e-6
    for arr, grad in [(a, va), (b, vb)]:
        for idx in [(0, 0, 0), (1, 3, 2), (2, 6, 1)]:
            up, down = arr.copy(), arr.copy()
            up[idx] += h
            down[idx] -= h
            args_up = (up, b) if arr is a else (a, up)
            args_down = (down, b) if arr is a else (a, down)
            numeric = (loss(*args_up) - loss(*args_down)) / (2 * h)
            assert grad[idx] == pytest.approx(numeric, abs=1e-7)
    for k in range(3):
        assert d[k] == deepemd.emd(a[k], b[k]).distance


def _torch():
    if os.environ.get("DEEPEMD_REQUIRE_TORCH") == "1":
        import torch  # a failure here fails the test: torch was meant to be installed
        return torch
    return pytest.importorskip("torch")


def test_gradcheck_in_float64():
    torch = _torch()
    from deepemd.torch import EMDFunction

    gen = torch.Generator().manual_seed(3)
    a = torch.rand(2, 6, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.rand(2, 8, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: EMDFunction.apply(x, y), (a, b), eps=1e-6, atol=1e-6)


def test_loss_reductions_single_clouds_and_training_step():
    torch = _torch()
    from deepemd.torch import EMDLoss

    gen = torch.Generator().manual_seed(4)
    a = torch.rand(4, 32, 3, generator=gen, requires_grad=True)
    b = torch.rand(4, 40, 3, generator=gen)
    per_pair = EMDLoss(reduction="none")(a, b)
    assert per_pair.shape == (4,) and per_pair.dtype == torch.float32
    for k in range(4):
        want = deepemd.emd(a[k].detach().numpy(), b[k].numpy()).distance
        assert per_pair[k].item() == pytest.approx(want, rel=1e-6)
    assert EMDLoss()(a, b).item() == pytest.approx(per_pair.mean().item(), rel=1e-6)
    assert EMDLoss(reduction="sum")(a, b).item() == pytest.approx(per_pair.sum().item(), rel=1e-6)
    single = EMDLoss()(a[0], b[0])
    assert single.dim() == 0
    # A few steps of gradient descent on a move a towards b: the loss falls.
    x = a.detach().clone().requires_grad_(True)
    opt = torch.optim.SGD([x], lr=2.0)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = EMDLoss()(x, b)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    with pytest.raises(ValueError, match="reduction"):
        EMDLoss(reduction="max")


def test_half_precision_inputs_and_no_silent_double_backward():
    torch = _torch()
    from deepemd.torch import EMDLoss

    gen = torch.Generator().manual_seed(5)
    a = torch.rand(2, 16, 3, generator=gen)
    b = torch.rand(2, 16, 3, generator=gen)
    for dtype in [torch.float16, torch.bfloat16]:
        x = a.to(dtype).requires_grad_(True)
        loss = EMDLoss()(x, b.to(dtype))
        loss.backward()
        assert loss.dtype == dtype and x.grad.dtype == dtype
        want = EMDLoss()(x.detach().double(), b.to(dtype).double()).item()
        assert loss.item() == pytest.approx(want, rel=1e-2)
    x = a.double().requires_grad_(True)
    (g,) = torch.autograd.grad(EMDLoss()(x, b.double()), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_tensors_are_array_like_inputs_and_keep_float32():
    torch = _torch()
    import deepemd

    a, b = torch.rand(3, 10, 3), torch.rand(3, 12, 3)
    batch = deepemd.emd_batch(a, b, gradient=True)
    assert batch.distance.shape == (3,) and batch.grad_a.dtype.name == "float32"
    one = deepemd.emd(a[0], b[0], gradient=True)
    assert one.distance == batch.distance[0] and one.grad_b.dtype.name == "float32"
    m = deepemd.gen_metrics(reference=torch.rand(3, 8, 3), generated=torch.rand(3, 8, 3), progress=False)
    assert m["n_reference"] == 3
