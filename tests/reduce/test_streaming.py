"""Frames stream from disk: reducing N frames of an HDF5 stack holds O(1) frames, never O(N)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

from saxs_mc.io.frames import iter_frames
from saxs_mc.reduce import Reducer, ReductionSettings

SHAPE = (480, 480)
N_FRAMES = 40
DATA = "/entry/data/data"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A 40-frame 480 x 480 int32 bitshuffle-LZ4 stack (0.9 MB per frame) with ID02 header datasets, PONI and mask."""
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from saxs_mc.simulate.geometry import write_mask, write_poni

    d = tmp_path_factory.mktemp("stream")
    ai = AzimuthalIntegrator(
        dist=1.0, poni1=20 * 75e-6, poni2=25 * 75e-6, wavelength=1e-10, detector=Detector(75e-6, 75e-6, max_shape=SHAPE)
    )
    poni = write_poni(d / "s.poni", ai)
    mask = np.zeros(SHAPE, np.uint8)
    mask[:, 200:205] = 1
    mpath = write_mask(d / "s_mask.edf", mask)
    rng = np.random.default_rng(7)
    path = d / "stack.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset(
            DATA, shape=(N_FRAMES, *SHAPE), dtype=np.int32, chunks=(1, *SHAPE), **hdf5plugin.Bitshuffle(cname="lz4")
        )
        for i in range(N_FRAMES):
            img = rng.poisson(20.0, SHAPE).astype(np.int32)
            img[:, 200:205] = -1
            ds[i] = img
        hdr = f.create_group("/entry/id02_headers")
        i0 = 1e10 * (1 + 0.01 * rng.standard_normal(N_FRAMES))
        for key, val in (
            ("Intensity0ShutCor", i0),
            ("Intensity1ShutCor", 0.7 * i0),
            ("SampleThickness_cm", np.full(N_FRAMES, 0.15)),
            ("ExposureTime", np.full(N_FRAMES, 0.1)),
            ("Dummy", np.full(N_FRAMES, -1.0)),
            ("DDummy", np.full(N_FRAMES, 0.1)),
        ):
            hdr[key] = val
    return path, poni, mpath


def _peak_traced(fn) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


FRAME_BYTES = SHAPE[0] * SHAPE[1] * 4


def test_iter_frames_reads_one_frame_at_a_time(stack) -> None:
    path = stack[0]

    def consume(n: int):
        return lambda: sum(int(fr.data[0, 0]) for fr in iter_frames(f"{path}::{DATA}[0:{n}]"))

    small, large = _peak_traced(consume(8)), _peak_traced(consume(N_FRAMES))
    # a whole-stack read would hold 32 more frames (29 MB); streaming holds one frame at a time
    assert large - small < 2 * FRAME_BYTES, (small, large)
    assert large < 3 * FRAME_BYTES, large  # the frame being read and the one just yielded, not the stack


def test_reducing_more_frames_does_not_hold_more_frames(stack) -> None:
    path, poni, mask = stack
    with Reducer(poni=poni, mask=mask, settings=ReductionSettings(npt=100)) as red:
        red.reduce(f"{path}::{DATA}[0:3]", title="warm-up")  # engine build, mask checks: not counted
        small = _peak_traced(lambda: red.reduce(f"{path}::{DATA}[0:8]", title="8"))
        res = red.reduce(f"{path}::{DATA}", title="all")
        large = _peak_traced(lambda: red.reduce(f"{path}::{DATA}", title="all"))
    assert res.n_accepted == N_FRAMES
    # per-frame 1D sums, header values and records (a few kB each) may grow; 2D frames (0.9 MB each) must not
    assert large - small < 2 * FRAME_BYTES, (small, large)
    assert large < 6 * FRAME_BYTES, large  # one frame and pyFAI's per-frame temporaries, not the 40-frame stack


def test_stack_frames_read_chunk_by_chunk(tmp_path: Path) -> None:
    """The reader asks HDF5 for one frame: a chunk of another frame that is corrupt is never touched."""
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "d",
            data=np.arange(5 * 8 * 8, dtype=np.int32).reshape(5, 8, 8),
            chunks=(1, 8, 8),
            **hdf5plugin.Bitshuffle(cname="lz4"),
        )
        offset = f["d"].id.get_chunk_info(4).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset + 12 : offset + 40] = b"\xff" * 28  # damage the compressed chunk of frame 4
    path.write_bytes(bytes(raw))
    frames = list(iter_frames(f"{path}::/d[0:4]"))
    assert [int(fr.data[0, 0]) for fr in frames] == [0, 64, 128, 192]


def test_per_frame_header_values_read_for_the_frames_asked_only(tmp_path: Path) -> None:
    """A time point reads its own block of header values, not the whole run's (a damaged far chunk is not touched)."""
    from saxs_mc.io.frames import _HEADER_BLOCK

    path = tmp_path / "h.h5"
    n = 4 * _HEADER_BLOCK
    with h5py.File(path, "w") as f:
        f.create_dataset("d", data=np.zeros((n, 4, 4), dtype=np.int32), chunks=(1, 4, 4))
        f.create_dataset("monitor", data=np.arange(n, dtype=float) * 10.0, chunks=(10,), compression="gzip")
        offset = f["monitor"].id.get_chunk_info((n - 20) // 10).byte_offset  # a chunk in the last block
    raw = bytearray(path.read_bytes())
    raw[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))
    frames = list(iter_frames(f"{path}::/d[12:15]"))
    assert [fr.header["monitor"] for fr in frames] == [120.0, 130.0, 140.0]
    far = _HEADER_BLOCK + 41
    assert [fr.header["monitor"] for fr in iter_frames(f"{path}::/d[3,{far},7]")] == [30.0, 10.0 * far, 70.0]


def test_header_values_of_a_rewritten_stack_are_read_anew(tmp_path: Path) -> None:
    """The kept header layout and values belong to one version of the file: a rewrite (or growth) is read again."""
    path = tmp_path / "r.h5"

    def write(n: int, scale: float) -> None:
        with h5py.File(path, "w") as f:
            f.create_dataset("d", data=np.zeros((n, 4, 4), dtype=np.int32))
            f.create_dataset("monitor", data=np.arange(n, dtype=float) * scale)
            f.create_dataset("Dummy", data=-1.0 if scale == 1.0 else -2.0)

    write(5, 1.0)
    first = [(fr.header["monitor"], fr.header["Dummy"]) for fr in iter_frames(f"{path}::/d[1:3]")]
    write(5, 3.0)
    second = [(fr.header["monitor"], fr.header["Dummy"]) for fr in iter_frames(f"{path}::/d[1:3]")]
    write(8, 3.0)
    grown = [fr.header["monitor"] for fr in iter_frames(f"{path}::/d[6:8]")]
    assert first == [(1.0, -1.0), (2.0, -1.0)] and second == [(3.0, -2.0), (6.0, -2.0)] and grown == [18.0, 21.0]


def test_a_stack_is_hashed_once_for_all_its_time_points(stack, tmp_path: Path, monkeypatch) -> None:
    import os
    import shutil

    from saxs_mc import provenance

    src, poni, mask = stack
    path = tmp_path / "copy.h5"
    shutil.copyfile(src, path)
    calls: list[Path] = []
    real = provenance.file_sha256
    monkeypatch.setattr(provenance, "file_sha256", lambda p, **kw: calls.append(Path(p)) or real(p, **kw))
    with Reducer(poni=poni, mask=mask, settings=ReductionSettings(npt=50)) as red:
        points = [red.reduce(f"{path}::{DATA}[{a}:{a + 4}]", title=f"tp{a}") for a in (0, 4, 8)]
        digests = {tp.provenance()["inputs"][0]["sha256"] for tp in points}
        assert digests == {real(path)}
        assert calls.count(path.resolve()) == 1  # was: once per time point (the whole stack each time)
        # a rewrite of the same size with the mtime set back is still seen (the ctime changed): hashed anew
        st = path.stat()
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0xFF
        path.write_bytes(bytes(raw))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        again = points[0].provenance()["inputs"][0]["sha256"]
    assert calls.count(path.resolve()) == 2 and again == real(path) and again not in digests
