"""End to end: ``saxs-mc watch`` against the live simulator (partial writes, the gas-bubble frame)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.run import run_pipeline
from saxs_mc.simulate.live import write_live

from .conftest import CONDITIONS, DATA, small_config

BUBBLE = "nuc260C_00002.edf"


def _watch(cfg: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "saxs_mc.cli",
        "watch",
        str(cfg),
        "--poll",
        "0.2",
        "--debounce",
        "0.3",
        "--status-every",
        "2",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _simulate(frames: Path, rate: float) -> threading.Thread:
    t = threading.Thread(
        target=write_live, args=(frames, rate), kwargs={"source": DATA, "conditions": CONDITIONS, "chunks": 5}
    )
    t.start()
    return t


def _comparable(path: Path) -> dict:
    doc = json.loads(path.read_text())
    for k in ("created", "config", "config_sha256"):
        doc["provenance"].pop(k, None)
    doc.pop("config")
    return doc


def _check_final(cfg: Path, frames: Path, out: Path, tmp: Path) -> None:
    status = json.loads((out / "live" / "status.json").read_text())
    recs = {Path(r["file"]).name: r for r in status["frames"]}
    expected = sorted(f.name for c in CONDITIONS for f in (DATA / c).glob("*.edf"))
    assert sorted(recs) == expected
    for name, r in recs.items():  # each frame handed over once, whole: no partial file was read
        assert r["state"] == "processed", r
        assert r["handed_size"] == r["size"] == (frames / name.rsplit("_", 1)[0] / name).stat().st_size
    rejected = {Path(r["file"]).name: r for r in status["rejected"]}
    assert set(rejected) == {BUBBLE} and "gas bubble" in rejected[BUBBLE]["reason"]
    assert rejected[BUBBLE]["by"] == "reduction"
    watched = _comparable(out / "summary.json")
    # 'run' after the watch: every step from the same cache, same results
    res = run_pipeline(load_config(cfg))
    assert res.counts() == {"cached": len(res.outcomes)}
    assert _comparable(out / "summary.json") == watched
    # a fresh batch run of the same frames into another folder gives the same summary
    batch_cfg = small_config(tmp / "batch.toml", frames, tmp / "batch_out")
    run_pipeline(load_config(batch_cfg))
    assert _comparable(tmp / "batch_out" / "summary.json") == watched
    nuc260 = next(s for s in watched["samples"] if s["sample"] == "nuc260C")
    assert [Path(f).name for f in nuc260["rejected_frames"]] == [BUBBLE]


def test_watch_follows_the_live_simulator_and_ends_with_the_batch_result(live_setup, tmp_path):
    cfg, frames, out = live_setup
    proc = _watch(cfg, "--idle-exit", "4")
    sim = _simulate(frames, rate=4.0)
    sim.join()
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert "waiting, no file matches" in err or "frames seen" in err
    assert "rejected by the reduction" in err and BUBBLE in err  # logged at once with its reason
    page = (out / "live" / "index.html").read_text()
    assert 'http-equiv="refresh"' in page and "gas bubble" in page and "trend.png" in page
    _check_final(cfg, frames, out, tmp_path)


def test_watch_stopped_midway_and_restarted_gives_the_same_result(live_setup, tmp_path):
    cfg, frames, out = live_setup
    proc = _watch(cfg)
    sim = _simulate(frames, rate=1.0)
    deadline = time.monotonic() + 120
    status = out / "live" / "status.json"
    while time.monotonic() < deadline:  # stop after the first live curves, while frames still arrive
        if status.is_file() and json.loads(status.read_text())["counts"]["processed"] >= 5:
            break
        time.sleep(0.2)
    live = json.loads((out / "summary.json").read_text())["live"]  # the curve path wrote the live part
    assert live["samples"] and all(s["n_frames"] >= 1 for s in live["samples"].values())
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "watch ended (interrupted)" in err
    assert json.loads(status.read_text())["counts"]["processed"] < 10  # stopped midway
    assert not any(p.name.startswith(".staging") for p in out.rglob("*"))
    proc = _watch(cfg, "--idle-exit", "4")
    sim.join()
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    _check_final(cfg, frames, out, tmp_path)
    assert os.path.isfile(out / "report.html")
