"""Smoke test of ``benchmarks/stack.py --quick``: the script runs and writes every reported field (not timed)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "stack.py"


def test_quick_run_writes_all_fields(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--frames",
            "20",
            "--workers",
            "1",
            "--data",
            str(tmp_path / "data"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["sizes"]["size"] == 128 and doc["frames_per_point"] == 10
    assert doc["contention_before"]["cpu_count"] >= 1
    (run,) = doc["runs"]
    assert (run["frames"], run["time_points"], run["workers"]) == (20, 2, 1)
    for section, keys in {
        "reduce": (
            "chain_s",
            "bare_s",
            "chain_over_bare",
            "chain_frames_per_s",
            "bare_frames_per_s",
            "chain_cpu_s",
            "bare_cpu_s",
            "chain_over_bare_cpu",
        ),
        "fit": ("s", "cpu_s", "time_points_per_s"),
        "end_to_end": ("s", "frames_per_s", "time_points_per_s"),
        "memory_mb": ("peak_rss_tree", "maxrss_self", "maxrss_children"),
    }.items():
        for k in keys:
            assert math.isfinite(run[section][k]) and run[section][k] > 0, (section, k, run[section][k])
    # the pipeline really fitted the simulated growth: the truth is recovered even at smoke-test sizes
    assert run["truth_check"]["median_rel_err_mean_radius"] < 0.05
    assert run["truth_check"]["median_rel_err_volume_fraction"] < 0.1
    assert "chain/bare" in proc.stdout


def test_quick_pipeline_run_reports_cold_cached_and_appended(tmp_path: Path) -> None:
    """``--pipeline``: through run_pipeline; the re-run is all cached, appending frames runs one new time point only."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--pipeline",
            "--frames",
            "20",
            "--workers",
            "1",
            "--data",
            str(tmp_path / "data"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run,) = json.loads(out.read_text())["runs"]
    assert (run["mode"], run["frames"], run["time_points"], run["workers"]) == ("pipeline", 20, 2, 1)
    cold, cached, appended = run["cold"], run["cached"], run["appended"]
    for k in (
        "plan_s",
        "hash_and_keys_s",
        "run_wall_s",
        "frames_per_s",
        "time_points_per_s",
        "report_s",
        "reduce_step_frames_per_s",
    ):
        assert math.isfinite(cold[k]) and cold[k] > 0, (k, cold[k])
    # blank: reduce, peaks; 2 time points: reduce, subtract, fit (peak search off) -> 8 steps, all run once
    assert cold["counts"] == {"done": 8} and cold["inputs_digested"] == 5  # PONI, mask, blank ref, 2 time-point refs
    assert cached["counts"] == {"cached": 8} and cached["ran"] == []
    assert appended["ran"] == ["fit/growth_t002", "reduce/growth_t002", "subtract/growth_t002"]
    assert appended["counts"] == {"cached": 8, "done": 3}
    assert run["memory_mb"]["peak_rss_tree"] > 0
