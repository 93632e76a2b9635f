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
