"""Lint, format and type checks are part of the test command (issue 14 item 6): ``ruff check``,
``ruff format --check`` and ``mypy``.

Both read their settings from ``pyproject.toml``.  Skipped with a reason when the tool is not installed
(``pip install -e '.[test]'`` installs both).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(tool: str, args: list[str]) -> subprocess.CompletedProcess:
    if importlib.util.find_spec(tool) is None:
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_check_is_clean():
    out = _run("ruff", ["check", "--output-format", "concise", "."])
    assert out.returncode == 0, f"ruff check found problems:\n{out.stdout}{out.stderr}"


def test_ruff_format_is_clean():
    out = _run("ruff", ["format", "--check", "."])
    assert out.returncode == 0, f"files not formatted (run `ruff format .`):\n{out.stdout}{out.stderr}"


def test_mypy_is_clean():
    out = _run("mypy", ["saxs_mc"])
    assert out.returncode == 0, f"mypy found problems:\n{out.stdout}{out.stderr}"
