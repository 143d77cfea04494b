"""The README's "From Python" examples run as written (from the repository root)."""

import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]


def python_blocks():
    text = (ROOT / "README.md").read_text()
    section = text.split("## From Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_examples_run(monkeypatch, capsys):
    blocks = python_blocks()
    assert len(blocks) == 2, "the section's two examples"
    monkeypatch.chdir(ROOT)
    if os.environ.get("DEEPEMD_REQUIRE_TORCH") != "1":
        import pytest

        pytest.importorskip("torch")
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "EMD after 20 steps" in out
