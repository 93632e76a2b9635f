"""Completeness checks: a frame is complete only when all its bytes are on disk."""

from __future__ import annotations

from pathlib import Path

import fabio
import numpy as np

from saxs_mc.watch.complete import check_file, edf_layout

from .conftest import DATA


def _frame() -> Path:
    return DATA / "nuc190C" / "nuc190C_00000.edf"


def test_edf_layout_matches_the_file_and_fabio():
    f = _frame()
    hdr, nbytes, shape = edf_layout(f)
    assert hdr % 512 == 0 and hdr + nbytes == f.stat().st_size
    assert shape == fabio.open(str(f)).data.shape


def test_every_truncation_of_an_edf_is_pending_and_the_whole_file_complete(tmp_path):
    data = _frame().read_bytes()
    dst = tmp_path / "x.edf"
    for cut in (0, 1, 100, 511, 512, 513, len(data) // 2, len(data) - 1):
        dst.write_bytes(data[:cut])
        c = check_file(dst, cut, stable=True)
        assert c.state == "pending", (cut, c)
    dst.write_bytes(data)
    c = check_file(dst, len(data), stable=True)
    assert c.state == "complete" and c.shape == fabio.open(str(_frame())).data.shape


def test_tiff_needs_a_stable_size_then_a_readable_file(tmp_path):
    img = fabio.tifimage.TifImage(data=np.arange(48 * 40, dtype=np.int32).reshape(48, 40))
    full = tmp_path / "full.tif"
    img.write(str(full))
    data = full.read_bytes()
    part = tmp_path / "part.tif"
    part.write_bytes(data[: len(data) // 2])
    assert check_file(full, len(data), stable=False).state == "pending"  # size not yet seen twice
    assert check_file(part, len(data) // 2, stable=True).state == "pending"  # fabio fails on the truncated file
    c = check_file(full, len(data), stable=True)
    assert c.state == "complete" and c.shape == (48, 40)


_SWMR_WRITER = """
import sys, h5py
f = h5py.File(sys.argv[1], "w", libver="latest")
d = f.create_dataset("/entry/data/data", shape=(0, 8, 6), maxshape=(None, 8, 6), chunks=(1, 8, 6), dtype="i4")
f.swmr_mode = True
for i in range(3):
    d.resize(i + 1, axis=0); d[i] = i; d.flush()
print("ready", flush=True)
sys.stdin.readline()
d.resize(4, axis=0); d[3] = 9; d.flush()
print("more", flush=True)
sys.stdin.readline()
f.close()
"""


def test_hdf5_committed_frames_follow_an_swmr_writer_in_another_process(tmp_path):
    import subprocess
    import sys

    from saxs_mc.watch import hdf5_committed_frames

    path = tmp_path / "stack.h5"
    with subprocess.Popen(
        [sys.executable, "-c", _SWMR_WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as w:
        try:
            assert w.stdout.readline().strip() == "ready"
            assert hdf5_committed_frames(path, "/entry/data/data") == 3  # open read-only (SWMR) while written
            w.stdin.write("\n")
            w.stdin.flush()
            assert w.stdout.readline().strip() == "more"
            assert hdf5_committed_frames(path, "/entry/data/data") == 4
        finally:
            w.communicate("\n", timeout=30)
    assert w.returncode == 0
    assert hdf5_committed_frames(path, "/entry/data/data") == 4  # closed file: plain read-only
