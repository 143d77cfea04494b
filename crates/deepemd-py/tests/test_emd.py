"""deepemd.emd against independent references: scipy's linear_sum_assignment (equal and
unequal sizes), scipy's LP solver (the uniform convention), finite differences (gradients)."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment, linprog
from scipy.spatial.distance import cdist

import deepemd


def cost_matrix(a, b, cost):
    c = cdist(a, b)
    return c * c if cost == "sqeuclidean" else c


def scipy_emd(a, b, cost="euclidean"):
    """The mean cost over an optimal (partial, for n != m) assignment."""
    c = cost_matrix(a, b, cost)
    rows, cols = linear_sum_assignment(c)
    return c[rows, cols].mean()


def lp_uniform(a, b):
    """Optimal transport between the uniform distributions, as an LP (HiGHS)."""
    n, m = len(a), len(b)
    c = cdist(a, b).ravel()
    eq = np.zeros((n + m, n * m))
    for i in range(n):
        eq[i, i * m:(i + 1) * m] = 1
    for j in range(m):
        eq[n + j, j::m] = 1
    rhs = np.concatenate([np.full(n, 1 / n), np.full(m, 1 / m)])
    res = linprog(c, A_eq=eq, b_eq=rhs, bounds=(0, None), method="highs")
    assert res.success
    return res.fun


@pytest.mark.parametrize("cost", ["euclidean", "sqeuclidean"])
@pytest.mark.parametrize("method", ["exact", "hungarian"])
def test_equal_sizes_match_scipy(rng, cost, method):
    for trial in range(40):
        n = int(rng.integers(1, 60))
        d = int(rng.choice([2, 3]))
        a, b = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + rng.normal(size=d)
        r = deepemd.emd(a, b, method=method, cost=cost, matching=True)
        want = scipy_emd(a, b, cost)
        assert r.distance == pytest.approx(want, rel=1e-12, abs=1e-15), (trial, n)
        # The matching is (n, 2) pairs sorted by i, whose targets are a permutation that
        # attains the distance.
        assert r.matching.shape == (n, 2) and r.matching[:, 0].tolist() == list(range(n))
        t = r.matching[:, 1]
        assert sorted(t.tolist()) == list(range(n))
        assert cost_matrix(a, b, cost)[np.arange(n), t].mean() == pytest.approx(r.distance, rel=1e-12)
        if method == "exact":
            assert 0.0 <= r.certificate_gap <= 1e-9 * max(r.distance, 1e-300) + 1e-15
        else:
            assert r.certificate_gap is None


def test_float32_and_every_memory_layout_give_the_same_value(rng):
    a, b = rng.random((200, 3)), rng.random((200, 3))
    base = deepemd.emd(a, b).distance
    big = np.zeros((400, 6))
    big[::2, ::2] = a  # a strided view
    for x in [np.asfortranarray(a), big[::2, ::2], a.copy(order="C")]:
        assert deepemd.emd(x, b).distance == base
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    want = scipy_emd(a32.astype(np.float64), b32.astype(np.float64))
    assert deepemd.emd(a32, b32).distance == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("cost", ["euclidean", "sqeuclidean"])
def test_unequal_sizes_partial_match_scipy_rectangular(rng, cost):
    for _ in range(30):
        n, m = int(rng.integers(1, 50)), int(rng.integers(1, 80))
        a, b = rng.random((n, 3)), rng.random((m, 3)) * 1.5
        for method in ["exact", "hungarian"]:
            r = deepemd.emd(a, b, method=method, cost=cost, matching=True, unequal="partial")
            assert r.distance == pytest.approx(scipy_emd(a, b, cost), rel=1e-12, abs=1e-15)
            pairs = r.matching
            assert pairs.shape == (min(n, m), 2)
            assert len(set(pairs[:, 0])) == len(set(pairs[:, 1])) == min(n, m)
            assert r.unequal == ("partial" if n != m else None)


def test_unequal_sizes_uniform_match_the_lp(rng):
    for _ in range(12):
        n, m = int(rng.integers(1, 14)), int(rng.integers(1, 18))
        a, b = rng.random((n, 2)), rng.random((m, 2))
        r = deepemd.emd(a, b, unequal="uniform", matching=True)
        # uniform is the default (POT's ot.emd2, the literature's EMD for n != m).
        assert deepemd.emd(a, b).distance == r.distance
        assert r.distance == pytest.approx(lp_uniform(a, b), rel=1e-9, abs=1e-12)
        if n != m:
            assert r.mass.sum() == pytest.approx(1.0, abs=1e-12)
            c = cdist(a, b)
            assert (c[r.matching[:, 0], r.matching[:, 1]] * r.mass).sum() == pytest.approx(r.distance, rel=1e-12)


def numeric_gradient(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


@pytest.mark.parametrize("sizes", [(9, 9), (6, 10), (10, 6)])
@pytest.mark.parametrize("unequal", ["partial", "uniform"])
def test_gradients_of_both_clouds_match_finite_differences(rng, sizes, unequal):
    n, m = sizes
    a, b = rng.random((n, 3)), rng.random((m, 3))
    r = deepemd.emd(a, b, gradient=True, unequal=unequal)
    ga = numeric_gradient(lambda x: deepemd.emd(x, b, unequal=unequal).distance, a)
    gb = numeric_gradient(lambda y: deepemd.emd(a, y, unequal=unequal).distance, b)
    np.testing.assert_allclose(r.grad_a, ga, atol=1e-7)
    np.testing.assert_allclose(r.grad_b, gb, atol=1e-7)
    assert r.grad_a.shape == a.shape and r.grad_b.shape == b.shape


def test_batch_equals_one_by_one_in_every_form(rng):
    a, b = rng.random((6, 40, 3)), rng.random((6, 55, 3))
    batch = deepemd.emd_batch(a, b, matching=True, gradient=True)
    pairs = deepemd.emd_batch([[x, y] for x, y in zip(a, b)])  # lists or tuples of two
    ragged = deepemd.emd_batch([a[0], a[1][:20]], [b[0], b[1][:31]])
    for k in range(6):
        one = deepemd.emd(a[k], b[k], matching=True, gradient=True)
        assert batch[k].distance == one.distance == pairs[k].distance
        np.testing.assert_array_equal(batch[k].matching, one.matching)
        np.testing.assert_array_equal(batch[k].grad_a, one.grad_a)
        np.testing.assert_array_equal(batch[k].grad_b, one.grad_b)
    assert ragged[1].distance == deepemd.emd(a[1][:20], b[1][:31]).distance
    assert len(deepemd.emd_batch(np.zeros((0, 5, 3)), np.zeros((0, 5, 3)))) == 0
    # The batch's arrays: distances (B,), gradients stacked (B, n, d), per-pair matchings.
    np.testing.assert_array_equal(batch.distance, [batch[k].distance for k in range(6)])
    assert batch.grad_a.shape == (6, 40, 3) and batch.grad_b.shape == (6, 55, 3)
    assert len(batch.matching) == 6 and batch.certificate_gap.shape == (6,)
    assert isinstance(ragged.distance, np.ndarray) and ragged.grad_a is None


def test_every_method_and_rounding_runs_and_is_named(rng):
    a, b = rng.random((64, 3)), rng.random((64, 3))
    exact = deepemd.emd(a, b).distance
    sink = deepemd.emd(a, b, method="sinkhorn")
    assert sink.method == "sinkhorn" and sink.transport_cost is not None
    assert sink.distance >= exact - 1e-12  # a rounded matching costs at least the optimum
    for rounding in ["greedy", "sinkhorn-greedy", "refined"]:
        r = deepemd.emd(a, b, method="model", rounding=rounding, matching=True)
        assert r.method == f"model/{rounding}"
        assert r.distance >= exact - 1e-12  # bijective roundings never fall below the EMD
        assert sorted(r.matching[:, 1].tolist()) == list(range(64))
    argmax = deepemd.emd(a, b, method="model")
    assert argmax.method == "model/argmax"
    assert deepemd.emd(a, b, method="model/refined").distance == deepemd.emd(
        a, b, method="model", rounding="refined"
    ).distance


def test_model_handles_100_vs_1000_points(rng):
    a, b = rng.random((100, 3)), rng.random((1000, 3))
    r = deepemd.emd(a, b, method="model", rounding="refined", matching=True, unequal="partial")
    exact = deepemd.emd(a, b, unequal="partial").distance
    assert r.unequal == "partial" and r.matching.shape == (100, 2)
    assert exact - 1e-12 <= r.distance <= 1.5 * exact


def test_load_model_default_and_folder_agree(rng, tmp_path):
    a, b = rng.random((50, 3)), rng.random((50, 3))
    default = deepemd.load_model()
    assert "default" in repr(default)
    x = deepemd.emd(a, b, method="model", model=default).distance
    assert x == deepemd.emd(a, b, method="model").distance
    import pathlib

    folder = pathlib.Path(__file__).resolve().parents[3] / "models" / "default"
    from_folder = deepemd.load_model(folder)
    assert deepemd.emd(a, b, method="model", model=from_folder).distance == pytest.approx(x, rel=1e-6)


def test_read_cloud_reads_every_format(tmp_path, rng):
    pts = rng.random((7, 3))
    np.save(tmp_path / "c.npy", pts)
    np.savetxt(tmp_path / "c.xyz", pts)
    np.testing.assert_array_equal(deepemd.read_cloud(tmp_path / "c.npy"), pts)
    np.testing.assert_allclose(deepemd.read_cloud(str(tmp_path / "c.xyz")), pts, rtol=1e-15)
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[3]
    h5 = root / "datasets" / "fixtures" / "cgal-mini" / "ply_data_test0.h5"
    item = deepemd.read_cloud(f"{h5}#2")
    assert item.shape == (1024, 3)
    np.testing.assert_array_equal(item, deepemd.read_cloud(f"{h5}:data#2"))
    ply = deepemd.read_cloud(root / "datasets" / "examples" / "torus.ply")
    assert ply.ndim == 2 and ply.shape[1] == 3


def test_gen_metrics_agree_with_their_definition(rng):
    r, g = rng.random((4, 30, 3)), rng.random((3, 30, 3)) + 0.05
    m = deepemd.gen_metrics(reference=r, generated=g)
    d = np.array([[deepemd.emd(x, y).distance for y in g] for x in r])
    assert m["mmd_emd"] == pytest.approx(d.min(axis=1).mean(), rel=1e-12)
    assert m["cov_emd"] == pytest.approx(len(set(d.argmin(axis=0))) / 4)
    assert (m["n_reference"], m["n_generated"], m["points"]) == (4, 3, 30)
    assert m["mmd_smp_emd"] == pytest.approx(d.min(axis=0).mean(), rel=1e-12)
    assert m["pairs"] == 4 * 3 + 6 + 3 and m["exact_solves"] <= m["pairs"]


def test_gen_metrics_brute_force_and_pointflow_keys(rng):
    r, g = rng.random((5, 24, 3)) - 0.5, rng.random((4, 24, 3)) - 0.45
    pruned = deepemd.gen_metrics(reference=r, generated=g)
    brute = deepemd.gen_metrics(reference=r, generated=g, brute_force=True)
    for key in pruned:
        if key not in ("seconds", "exact_solves", "dual_bounds"):
            assert pruned[key] == brute[key], key
    assert brute["exact_solves"] == brute["pairs"]
    pf = deepemd.gen_metrics(reference=r, generated=g, format="pointflow")
    assert pf["lgan_mmd-EMD"] == pruned["mmd_emd"]
    assert pf["1-NN-EMD-acc_t"] == pruned["nna_emd_reference"]
    assert 0.0 <= pf["jsd"] <= 1.0
    with pytest.raises(ValueError, match="pointflow"):
        deepemd.gen_metrics(reference=r, generated=g, format="pf")


def test_gen_metrics_takes_its_sets_by_keyword_only(rng):
    """PointFlow's compute_all_metrics(sample_pcs, ref_pcs) takes the sets in the other order:
    a positional call must fail rather than silently swap them."""
    r, g = rng.random((3, 16, 3)), rng.random((3, 16, 3))
    with pytest.raises(TypeError):
        deepemd.gen_metrics(r, g)
    with pytest.raises(TypeError):
        deepemd.gen_metrics(g, reference=r)


def test_gen_metrics_out_resumes_and_equals_in_memory(rng, tmp_path):
    r, g = rng.random((6, 32, 3)), rng.random((5, 32, 3)) + 0.03
    memory = deepemd.gen_metrics(reference=r, generated=g, progress=False)
    for brute in (False, True):
        out = tmp_path / ("brute" if brute else "pruned")
        first = deepemd.gen_metrics(reference=r, generated=g, out=out, brute_force=brute, chunk_size=3)
        units = sorted(p.name for p in out.iterdir() if p.suffix in (".json", ".npy"))
        assert len(units) > 2, units
        # A unit removed is remade; the others are reused; the metrics are the same.
        victim = out / units[-1]
        victim.unlink()
        again = deepemd.gen_metrics(reference=r, generated=g, out=out, brute_force=brute)
        assert victim.exists()
        for key in memory:
            if key not in ("seconds", "exact_solves", "dual_bounds", "pairs"):
                assert first[key] == again[key] == memory[key], (brute, key)
    with pytest.raises(ValueError, match="out="):
        deepemd.gen_metrics(reference=r, generated=g, chunk_size=3)
    with pytest.raises(ValueError, match="pruned search"):
        deepemd.gen_metrics(reference=r, generated=g, out=tmp_path / "pruned", brute_force=True)


def test_ctrl_c_stops_gen_metrics_within_its_work_and_the_folder_resumes(rng, tmp_path, capsys):
    """SIGINT (what Ctrl-C sends) 1 s into a long brute-force run raises KeyboardInterrupt while
    units are still missing (a call that ignored it until the end would have made them all);
    the rerun completes the folder to the in-memory metrics."""
    import signal

    r, g = rng.random((40, 256, 3)), rng.random((40, 256, 3))
    out = tmp_path / "work"
    previous = signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with pytest.raises(KeyboardInterrupt):
            deepemd.gen_metrics(reference=r, generated=g, out=out, brute_force=True, chunk_size=8)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    chunks = -(-3160 // 8)  # 40·40 + 2·(40·39/2) pairs, 8 per chunk
    done = len(list(out.glob("distances-*.npy")))
    assert done < chunks, f"{done} of {chunks} chunks: the interrupt was not obeyed"
    err = capsys.readouterr().err
    assert "deepemd.gen_metrics: interrupted" in err, err
    resumed = deepemd.gen_metrics(reference=r, generated=g, out=out, progress=False)
    assert resumed["n_reference"] == 40 and resumed["exact_solves"] == 3160
    assert len(list(out.glob("distances-*.npy"))) == chunks


def test_inputs_follow_numpy_asarray_and_gradients_keep_float32(rng):
    a, b = rng.random((12, 3)), rng.random((12, 3))
    want = deepemd.emd(a, b).distance
    assert deepemd.emd(a.tolist(), b.tolist()).distance == want
    ints = (a * 100).astype(np.int32)
    assert deepemd.emd(ints, b * 100).distance == deepemd.emd(ints.astype(np.float64), b * 100).distance
    half = a.astype(np.float16)
    assert deepemd.emd(half, b).distance == deepemd.emd(half.astype(np.float64), b).distance
    r32 = deepemd.emd(a.astype(np.float32), b.astype(np.float32), gradient=True)
    assert r32.grad_a.dtype == np.float32 and r32.grad_b.dtype == np.float32
    r64 = deepemd.emd(a.astype(np.float32), b, gradient=True)
    assert r64.grad_a.dtype == np.float64
    with pytest.raises(ValueError, match="real numbers"):
        deepemd.emd(np.array([["a", "b", "c"]]), b)
