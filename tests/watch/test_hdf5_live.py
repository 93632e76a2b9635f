"""``saxs-mc watch`` follows HDF5 stacks appended to under SWMR by another process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saxs_mc.pipeline.config import allow_unmatched_globs, load_config
from saxs_mc.pipeline.run import run_pipeline
from saxs_mc.simulate.live import STACK_DATASET

from .conftest import CONDITIONS, DATA, small_config
from .test_live_watch import _comparable, _watch

_WRITER = """
import sys
from saxs_mc.simulate.live import write_live_hdf5
write_live_hdf5(sys.argv[1], float(sys.argv[2]), source=sys.argv[3], conditions=sys.argv[4].split(","))
print("done", flush=True)
"""


def _stack_config(path: Path, frames: Path, out: Path) -> Path:
    small_config(path, frames, out)
    text = path.read_text()
    for c in CONDITIONS:
        text = text.replace(f'{c}/{c}_*.edf"', f'{c}/{c}.h5::{STACK_DATASET}"')
    path.write_text(text)
    return path


def test_watch_follows_swmr_stacks_each_frame_once_and_ends_with_the_batch_result(live_setup, tmp_path):
    _, frames, out = live_setup
    cfg = _stack_config(tmp_path / "stacks.toml", frames, out)
    with allow_unmatched_globs():
        assert [s.n_frames for s in load_config(cfg).samples] == [0, 0]  # no stack yet: the watch waits
    watch = _watch(cfg, "--idle-exit", "4", "--sync-idle", "2")
    deadline = time.monotonic() + 120
    while not (out / "live" / "index.html").is_file() and time.monotonic() < deadline:  # the watch is up
        time.sleep(0.2)
    writer = subprocess.run(
        [sys.executable, "-c", _WRITER, str(frames), "2", str(DATA), ",".join(CONDITIONS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    writer_done = time.time()
    assert writer.returncode == 0, writer.stderr
    _, err = watch.communicate(timeout=300)
    assert watch.returncode == 0, err
    status = json.loads((out / "live" / "status.json").read_text())
    names = sorted(r["file"] for r in status["frames"])
    expected = sorted(
        f"{frames / c / (c + '.h5')}::{STACK_DATASET}[{i}]"
        for c in CONDITIONS
        for i in range(len(list((DATA / c).glob("*.edf"))))
    )
    assert names == expected  # every frame of every stack seen once, none beyond the committed shape
    assert all(r["state"] == "processed" for r in status["frames"])
    rejected = [r for r in status["rejected"] if r["by"] == "reduction"]
    assert len(rejected) == 1 and rejected[0]["file"].endswith("nuc260C.h5::/entry/data/data[2]")
    assert "gas bubble" in rejected[0]["reason"]
    assert "out of range" not in err and "cannot read" not in err  # never read beyond the committed shape
    # frames were taken while the writer was still appending (SWMR), not only after it closed the stacks
    assert sum(r["complete_at"] < writer_done - 1.0 for r in status["frames"]) >= len(expected) // 2
    watched = _comparable(out / "summary.json")
    assert "live" not in watched
    batch = run_pipeline(load_config(_stack_config(tmp_path / "batch.toml", frames, tmp_path / "batch_out")))
    assert batch.ok
    assert _comparable(tmp_path / "batch_out" / "summary.json") == watched
    nuc260 = next(s for s in watched["samples"] if s["sample"] == "nuc260C")
    assert [f.rsplit("::", 1)[1] for f in nuc260["rejected_frames"]] == [f"{STACK_DATASET}[2]"]  # bubble, as EDF


def test_a_frame_selection_on_a_followed_stack_is_refused(live_setup, tmp_path, capsys):
    from saxs_mc.cli import main

    _, frames, out = live_setup
    cfg = _stack_config(tmp_path / "stacks.toml", frames, out)
    cfg.write_text(cfg.read_text().replace(f'nuc190C.h5::{STACK_DATASET}"', f'nuc190C.h5::{STACK_DATASET}[0:2]"'))
    assert main(["watch", str(cfg)]) == 2
    assert "frame selection cannot be followed" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def _need_data():
    if not DATA.is_dir():
        pytest.skip(f"shipped series {DATA} is absent")
