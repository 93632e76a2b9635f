"""Kill a run with SIGKILL at an arbitrary point, start it again: identical results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline

from .fakes import FAKE_FUNCS, make_experiment

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from tests.pipeline.fakes import FAKE_FUNCS
res = run_pipeline(load_config(sys.argv[1]), step_funcs=FAKE_FUNCS, n_workers=int(sys.argv[2]))
sys.exit(0 if res.ok else 1)
"""


def comparable(root: Path) -> dict:
    d = json.loads((root / "summary.json").read_text())
    return {k: d[k] for k in ("samples", "blanks", "readout", "mesophase", "failures")}


def manifests(root: Path) -> int:
    return len(list((root / "steps").glob("*/*/manifest.json"))) if (root / "steps").exists() else 0


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    res = run_pipeline(load_config(make_experiment(tmp_path_factory.mktemp("ref"))), step_funcs=FAKE_FUNCS, n_workers=1)
    assert res.ok
    return res


@pytest.mark.parametrize("workers,kill_after", [(1, 11), (2, 7)])
def test_sigkill_then_rerun_gives_identical_results(tmp_path, ref, workers, kill_after):
    cfg = make_experiment(tmp_path / "killed")
    out = tmp_path / "killed" / "out"
    env = {**os.environ, "SAXS_MC_FAKE_DELAY": "0.15", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(cfg), str(workers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        t0 = time.time()
        while manifests(out) < kill_after and proc.poll() is None and time.time() - t0 < 60:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
    finally:
        proc.wait(timeout=30)
    n_done = manifests(out)
    total = len(ref.outcomes)
    assert kill_after <= n_done < total
    assert not (out / "summary.json").exists()
    # no half-written file is visible under its final name
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".part")]
    for p in leftovers:  # temporary files of atomic writes may remain, never final names
        assert p.name.startswith(".")
    res = run_pipeline(load_config(cfg), step_funcs=FAKE_FUNCS, n_workers=1)
    assert res.ok
    st = [o.status for o in res.outcomes.values()]
    assert st.count("cached") >= kill_after and st.count("done") >= 1
    assert comparable(out) == comparable(ref.root)
