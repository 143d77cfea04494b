"""Every ```python block of the README runs as written (from the repository root)."""

import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def python_blocks():
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_the_readme_examples_run(monkeypatch, capsys):
    blocks = python_blocks()
    assert len(blocks) == 3, "first EMD, the PyTorch loss, the generation metrics"
    monkeypatch.chdir(ROOT)
    if os.environ.get("DEEPEMD_REQUIRE_TORCH") != "1":
        import pytest

        pytest.importorskip("torch")
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "EMD after 20 steps" in out and "(16,)" in out
