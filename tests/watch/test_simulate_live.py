"""``saxs-mc simulate --live``: frames copied byte for byte, written in chunks, and a config for the watch."""

from __future__ import annotations

import threading
import time

import pytest

from saxs_mc.cli import main
from saxs_mc.pipeline.config import allow_unmatched_globs, load_config
from saxs_mc.simulate.live import write_partial

from .conftest import DATA


def test_simulate_live_cli_writes_the_frames_and_a_watch_config(tmp_path):
    if not DATA.is_dir():
        pytest.skip(f"shipped series {DATA} is absent")
    out = tmp_path / "live"
    assert main(["simulate", "--live", str(out), "--rate", "50", "--live-conditions", "blank_230C,nuc260C"]) == 0
    written = sorted(p.relative_to(out) for p in out.rglob("*.edf"))
    expected = sorted(p.relative_to(DATA) for c in ("blank_230C", "nuc260C") for p in (DATA / c).glob("*.edf"))
    assert written == expected
    assert all((out / p).read_bytes() == (DATA / p).read_bytes() for p in written)
    with allow_unmatched_globs():
        cfg = load_config(out / "live.toml")
    assert {s.name: s.n_frames for s in cfg.samples}["nuc260C"] == 4
    assert cfg.output.dir == (out / "results").resolve()


def test_simulate_live_rejects_a_bad_rate(tmp_path):
    assert main(["simulate", "--live", str(tmp_path), "--rate", "0"]) == 2


def test_partial_writes_are_visible_on_disk_under_the_final_name(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(bytes(range(256)) * 400)
    dst = tmp_path / "dst.bin"
    sizes = []
    t = threading.Thread(target=write_partial, args=(src, dst, 4, 0.2))
    t.start()
    while t.is_alive():
        if dst.exists():
            sizes.append(dst.stat().st_size)
        time.sleep(0.02)
    t.join()
    assert dst.read_bytes() == src.read_bytes()
    assert any(0 < s < src.stat().st_size for s in sizes)  # a detector-like partial file was seen
