"""Every error path: a Python exception of the right class whose message names the problem."""

import numpy as np
import pytest

import deepemd

A = np.random.default_rng(1).random((10, 3))


@pytest.mark.parametrize(
    "a, b, kwargs, match",
    [
        (A.astype(complex), A, {}, "real numbers"),
        ([[0.0, 1.0], [2.0]], A, {}, "cannot be read as a NumPy array"),
        (A[:, :2], A, {}, "2-D points and b holds 3-D"),
        (np.zeros((10, 4)), A, {}, "last axis 2 or 3"),
        (np.zeros(10), A, {}, r"shape \(n, 2\) or \(n, 3\)"),
        (np.zeros((0, 3)), A, {}, "a: "),
        (np.where(np.eye(10, 3) > 0, np.nan, A), A, {}, "NaN"),
        (np.where(np.eye(10, 3) > 0, np.inf, A), A, {}, "a: "),
        (A, A, {"method": "simplex"}, "unknown method 'simplex'"),
        (A, A, {"cost": "manhattan"}, "manhattan"),
        (A, A, {"unequal": "balanced"}, "balanced"),
        (A, A, {"method": "model", "rounding": "best"}, "best"),
        (A, A, {"method": "exact", "rounding": "greedy"}, "rounding"),
        (A, A, {"method": "model/greedy", "rounding": "refined"}, "given twice"),
        (A, A[:7], {"method": "model", "unequal": "uniform"}, "uniform"),
        (np.random.default_rng(2).random((1021, 3)), np.random.default_rng(3).random((1031, 3)),
         {"method": "hungarian", "unequal": "uniform"}, "lcm"),
    ],
)
def test_bad_input_is_a_value_error_naming_the_problem(a, b, kwargs, match):
    with pytest.raises(ValueError, match=match):
        deepemd.emd(a, b, **kwargs)


def test_model_argument_only_with_the_model():
    with pytest.raises(ValueError, match="model= applies only"):
        deepemd.emd(A, A, method="exact", model=deepemd.load_model())


def test_batch_errors_name_the_pair():
    with pytest.raises(ValueError, match="a holds 2 clouds and b holds 3"):
        deepemd.emd_batch(np.zeros((2, 5, 3)), np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match=r"\(B, n, 2\|3\) array"):
        deepemd.emd_batch(np.zeros((5, 3)), np.zeros((5, 3)))
    bad = np.random.default_rng(4).random((3, 6, 3))
    bad[2, 4, 1] = np.nan
    with pytest.raises(ValueError, match=r"a\[2\]"):
        deepemd.emd_batch(bad, bad)
    with pytest.raises(ValueError, match="pair 1 is not an"):
        deepemd.emd_batch([(A, A), A])
    with pytest.raises(ValueError, match="sequence of"):
        deepemd.emd_batch(3.0)


def test_files_that_cannot_be_read_are_os_errors_and_bad_content_value_errors(tmp_path):
    missing = tmp_path / "missing.ply"
    with pytest.raises(OSError, match="missing.ply"):
        deepemd.read_cloud(missing)
    corrupt = tmp_path / "corrupt.ply"
    corrupt.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 99\nend_header\n1 2 3\n")
    with pytest.raises(ValueError, match="corrupt.ply"):
        deepemd.read_cloud(corrupt)
    nan = tmp_path / "nan.xyz"
    nan.write_text("0 0 0\nnan 1 1\n")
    with pytest.raises(ValueError, match="nan.xyz"):
        deepemd.read_cloud(nan)
    with pytest.raises(ValueError, match="#K"):
        deepemd.read_cloud(tmp_path / "x.h5")
    with pytest.raises(OSError, match="no-such-model"):
        deepemd.load_model(tmp_path / "no-such-model")
    with pytest.raises(ValueError, match="cpu"):
        deepemd.load_model(device="tpu")


def test_gen_metrics_refuses_sets_of_different_point_counts():
    with pytest.raises(ValueError, match="one point count"):
        deepemd.gen_metrics(reference=np.zeros((2, 5, 3)), generated=np.zeros((2, 6, 3)))
