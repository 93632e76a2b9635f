"""Per-time-point input digests of HDF5 stacks: a time point's key follows exactly the frames it reads.

Every change is made the way that escapes a (size, mtime) check: bytes patched in place in the file
(same size) and the mtime set back (``touch -r``).  The digests must see it all the same
(:mod:`saxs_mc.pipeline.digests`), for the pixels (raw chunks, contiguous data, external links), the
per-frame header values the reader hands on (monitor) and the constant header (attributes), while
frames appended to the stack, or changed in another time point, leave a time point's key alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

from saxs_mc.io.frames import iter_frames
from saxs_mc.pipeline.cache import FileHashCache
from saxs_mc.pipeline.config import load_config
from saxs_mc.pipeline.digests import FRAME_DIGEST_SCHEME, frame_ref_digest, is_frame_ref
from saxs_mc.pipeline.keys import compute_keys
from saxs_mc.pipeline.plan import plan_steps

ROOT = Path(__file__).resolve().parents[2]
PONI = ROOT / "calibration" / "eiger_growth.poni"
SHAPE = (24, 20)
DSET = "/entry/data/data"


def _write_stack(
    path: Path,
    n: int,
    *,
    seed: int = 1,
    compression: str | None = "bslz4",
    chunks: tuple[int, ...] | None = (1, *SHAPE),
    monitor_shift: float = 0.0,
) -> None:
    """A small NeXus-like stack: int32 frames, a per-frame monitor and exposure, a constant header attribute."""
    rng = np.random.default_rng(seed)
    kw = dict(hdf5plugin.Bitshuffle(cname="lz4")) if compression == "bslz4" else {}
    if chunks is not None:
        kw.update(chunks=chunks, maxshape=(None, *SHAPE))
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        data = f.create_group("entry/data")
        data.attrs["NX_class"], data.attrs["signal"] = "NXdata", "data"
        ds = data.create_dataset("data", shape=(n, *SHAPE), dtype=np.int32, **kw)
        for i in range(n):
            ds[i] = rng.poisson(50 + i, SHAPE)
        ds.attrs["detector"] = "fake"
        hdr = f.create_group("entry/id02_headers")
        extend = {"maxshape": (None,), "chunks": (64,)} if chunks is not None else {}
        hdr.create_dataset("HSI1", data=1e5 + np.arange(n) + monitor_shift, **extend)
        hdr.create_dataset("HSTime", data=np.full(n, 0.2), **extend)


def _touch_back(path: Path, st: os.stat_result) -> None:
    assert path.stat().st_size == st.st_size, "the change must keep the file size (a size check would see it)"
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _patch_bytes(path: Path, offset: int, new: bytes) -> None:
    """Overwrite bytes in place (same size), mtime restored."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        old = fh.read(len(new))
        assert old != new
        fh.seek(offset)
        fh.write(new)
    _touch_back(path, st)


def _frame_offset(path: Path, frame: int) -> int:
    """File offset of the first pixel of ``frame`` in an uncompressed (chunked or contiguous) stack."""
    with h5py.File(path, "r") as f:
        ds = f[DSET]
        if ds.chunks is None:
            return ds.id.get_offset() + frame * ds.dtype.itemsize * SHAPE[0] * SHAPE[1]
        return ds.id.get_chunk_info_by_coord((frame, 0, 0)).byte_offset


def _refs(path: Path, groups: list[tuple[int, int]]) -> list[str]:
    return [f"{path}::{DSET}[{a}:{b}]" for a, b in groups]


GROUPS = [(0, 4), (4, 8), (8, 12)]


def _digests(path: Path) -> list[str]:
    return [frame_ref_digest(r) for r in _refs(path, GROUPS)]


def _changed(before: list[str], after: list[str]) -> list[int]:
    return [k for k, (a, b) in enumerate(zip(before, after)) if a != b]


# ----------------------------------------------------------------------
# the digest itself
def test_frame_ref_recognised_and_digest_named():
    assert is_frame_ref("/d/run.h5::/entry/data/data[0:10]") and is_frame_ref("run.h5::/entry/data/data")
    assert not is_frame_ref("/d/run.h5") and not is_frame_ref("/d/run_*.h5::/entry/data/data")


@pytest.mark.parametrize("layout", ["chunked", "contiguous"])
def test_pixel_bytes_of_one_frame_change_only_its_time_point(tmp_path, layout):
    p = tmp_path / "s.h5"
    _write_stack(p, 12, compression=None, chunks=(1, *SHAPE) if layout == "chunked" else None)
    before = _digests(p)
    assert all(d.startswith(FRAME_DIGEST_SCHEME + ":") for d in before) and len(set(before)) == 3
    _patch_bytes(p, _frame_offset(p, 5) + 4 * 37, np.int32(123456).tobytes())  # pixel 37 of frame 5
    assert next(iter_frames([f"{p}::{DSET}[5]"])).data.reshape(-1)[37] == 123456  # the reader sees the change
    assert _changed(before, _digests(p)) == [1]


def test_compressed_chunk_change_is_seen_without_decompressing(tmp_path):
    p = tmp_path / "s.h5"
    _write_stack(p, 12)
    before = _digests(p)
    off, last = _chunk_last_byte(p, 9)
    _patch_bytes(p, off, bytes([last[0] ^ 0xFF]))  # last stored byte of frame 9
    assert _changed(before, _digests(p)) == [2]


def test_monitor_of_one_frame_changes_only_its_time_point(tmp_path):
    p = tmp_path / "s.h5"
    _write_stack(p, 12)
    before = _digests(p)
    st = p.stat()
    with h5py.File(p, "r+") as f:
        f["/entry/id02_headers/HSI1"][2] = 5e4  # frame 2's monitor, in place
    _touch_back(p, st)
    assert next(iter_frames([f"{p}::{DSET}[2]"])).header["HSI1"] == 5e4
    assert _changed(before, _digests(p)) == [0]


def test_constant_header_change_changes_every_time_point(tmp_path):
    p = tmp_path / "s.h5"
    _write_stack(p, 12)
    before = _digests(p)
    raw = p.read_bytes()
    assert raw.count(b"fake") == 1
    _patch_bytes(p, raw.index(b"fake"), b"fakf")  # the attribute's value, in place
    assert next(iter_frames([f"{p}::{DSET}[0]"])).header["detector"] == "fakf"
    assert _changed(before, _digests(p)) == [0, 1, 2]


def test_appended_frames_keep_earlier_digests(tmp_path):
    p = tmp_path / "s.h5"
    _write_stack(p, 12)
    before = _digests(p)
    with h5py.File(p, "r+") as f:
        ds = f[DSET]
        ds.resize(16, axis=0)
        ds[12:16] = 7
        for k in ("HSI1", "HSTime"):
            h = f[f"/entry/id02_headers/{k}"]
            h.resize((16,))
            h[12:16] = 1.0
    assert _digests(p) == before
    # a time point whose chunk holds a new frame is redone (chunk of 2 frames: [10:12] shares no chunk with 12)
    q = tmp_path / "c2.h5"
    _write_stack(q, 11, chunks=(2, *SHAPE))
    d_last = frame_ref_digest(f"{q}::{DSET}[8:11]")
    d_first = frame_ref_digest(f"{q}::{DSET}[0:4]")
    with h5py.File(q, "r+") as f:
        f[DSET].resize(12, axis=0)
        f[DSET][11] = 3
        # the header lags behind the frames: the reader then hands on no per-frame monitor, so the digest changes
        assert "HSI1" not in next(iter_frames([f"{q}::{DSET}[0]"])).header
        assert frame_ref_digest(f"{q}::{DSET}[0:4]") != d_first
        for k in ("HSI1", "HSTime"):
            f[f"/entry/id02_headers/{k}"].resize((12,))
    assert frame_ref_digest(f"{q}::{DSET}[0:4]") == d_first
    assert frame_ref_digest(f"{q}::{DSET}[8:11]") != d_last  # frame 11 lands in the chunk of frame 10


def test_same_pixels_other_filters_or_unwritten_frames_differ(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _write_stack(a, 12)
    _write_stack(b, 12, compression=None)
    assert np.array_equal(next(iter_frames([f"{a}::{DSET}[3]"])).data, next(iter_frames([f"{b}::{DSET}[3]"])).data)
    assert frame_ref_digest(f"{a}::{DSET}[0:4]") != frame_ref_digest(f"{b}::{DSET}[0:4]")
    with h5py.File(a, "r+") as f:  # frames 12..15 exist in the shape but were never written (fill value)
        f[DSET].resize(16, axis=0)
    d = frame_ref_digest(f"{a}::{DSET}[12:16]")
    with h5py.File(a, "r+") as f:
        f[DSET][14] = 0  # written with the fill value's pixels: stored now, a different file content
    assert frame_ref_digest(f"{a}::{DSET}[12:16]") != d


def test_external_link_target_is_hashed(tmp_path):
    """A master file linking to the data file (Eiger style): the frames' content lives in the other file."""
    data = tmp_path / "data_000001.h5"
    _write_stack(data, 12)
    master = tmp_path / "master.h5"
    with h5py.File(master, "w") as f:
        f["/entry/data/data"] = h5py.ExternalLink(str(data), DSET)
    d = frame_ref_digest(f"{master}::{DSET}[0:4]")
    st = master.stat()
    off, byte = _chunk_last_byte(data, 1)
    _patch_bytes(data, off, bytes([byte[0] ^ 0xFF]))
    assert master.stat() == st
    assert frame_ref_digest(f"{master}::{DSET}[0:4]") != d


def _chunk_last_byte(path: Path, frame: int) -> tuple[int, bytes]:
    """File offset and value of the last stored byte of ``frame``'s chunk."""
    with h5py.File(path, "r") as f:
        info = f[DSET].id.get_chunk_info_by_coord((frame, 0, 0))
    with open(path, "rb") as fh:
        fh.seek(info.byte_offset + info.size - 1)
        return info.byte_offset + info.size - 1, fh.read(1)


def test_file_hash_cache_memo_and_plain_files(tmp_path):
    p = tmp_path / "s.h5"
    _write_stack(p, 12)
    c = FileHashCache()
    r = _refs(p, GROUPS)[0]
    assert c.digest(r) == c.digest(r) == frame_ref_digest(r) and c.n_hashed == 1
    assert ":" not in c.digest(p) and c.bytes_hashed == p.stat().st_size  # a plain file: whole-file BLAKE3
    # all time points of a file at once (as compute_keys does): the same digests as one by one
    batch = FileHashCache()
    refs = _refs(p, GROUPS) + [f"{p}::{DSET}[1,5,9]", f"{p}::{DSET}"]
    batch.digest_all(refs + [str(PONI)])
    assert batch.n_hashed == len(refs) + 1
    assert [batch.digest(r) for r in refs] == [frame_ref_digest(r) for r in refs] and batch.n_hashed == len(refs) + 1
    assert len({batch.digest(r) for r in refs}) == len(refs)


# ----------------------------------------------------------------------
# through the planner: which steps' keys change
CONFIG = """
schema_version = 1
name = "keys"
[geometry]
poni = "{poni}"
[[stacks]]
name = "run"
frames = "stack.h5::{dset}"
every = 4
[[blanks]]
name = "blank"
frames = "blank.h5::{dset}"
[fit]
contributions = 10
repetitions = 1
[output]
dir = "out"
"""


def _keys(cfg_path: Path) -> dict[str, str]:
    steps = plan_steps(load_config(cfg_path))
    return compute_keys(steps, FileHashCache())


def _rerun(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in after if before.get(k) != after[k]}


@pytest.fixture()
def stack_config(tmp_path):
    if not PONI.is_file():
        pytest.skip(f"{PONI} is missing (shipped calibration)")
    _write_stack(tmp_path / "stack.h5", 12)
    _write_stack(tmp_path / "blank.h5", 4, seed=2)
    cfg = tmp_path / "keys.toml"
    cfg.write_text(CONFIG.format(poni=PONI.as_posix(), dset=DSET))
    return cfg


def test_plan_inputs_are_frame_refs(stack_config):
    steps = {s.id: s for s in plan_steps(load_config(stack_config))}
    stack = (stack_config.parent / "stack.h5").resolve()
    assert steps["reduce/run_t001"].inputs[-1] == f"{stack}::{DSET}[4:8]"
    assert str(stack) not in steps["reduce/run_t001"].inputs  # not the whole file
    assert steps["reduce/run_t001"].inputs[0] == str(PONI)


def test_pixel_change_reruns_only_that_time_point_and_downstream(stack_config):
    stack = stack_config.parent / "stack.h5"
    before = _keys(stack_config)
    with h5py.File(stack, "r") as f:
        info = f[DSET].id.get_chunk_info_by_coord((6, 0, 0))
    with open(stack, "rb") as fh:
        fh.seek(info.byte_offset + 3)
        b = fh.read(1)
    _patch_bytes(stack, info.byte_offset + 3, bytes([b[0] ^ 0x01]))
    assert _rerun(before, _keys(stack_config)) == {
        "reduce/run_t001",
        "subtract/run_t001",
        "fit/run_t001",
        "peaks/run_t001",
    }


def test_monitor_change_reruns_only_that_time_point(stack_config):
    stack = stack_config.parent / "stack.h5"
    before = _keys(stack_config)
    st = stack.stat()
    with h5py.File(stack, "r+") as f:
        f["/entry/id02_headers/HSI1"][9] = 1.0
    _touch_back(stack, st)
    assert _rerun(before, _keys(stack_config)) == {
        "reduce/run_t002",
        "subtract/run_t002",
        "fit/run_t002",
        "peaks/run_t002",
    }


def test_blank_change_reruns_every_time_point_downstream(stack_config):
    blank = stack_config.parent / "blank.h5"
    before = _keys(stack_config)
    st = blank.stat()
    with h5py.File(blank, "r+") as f:
        f["/entry/id02_headers/HSI1"][0] = 1.0
    _touch_back(blank, st)
    changed = _rerun(before, _keys(stack_config))
    assert {"reduce/blank", "peaks/blank"} <= changed and not any(k.startswith("reduce/run_") for k in changed)
    assert {f"subtract/run_t00{k}" for k in range(3)} <= changed


def test_appended_frames_keep_complete_time_points(stack_config):
    stack = stack_config.parent / "stack.h5"
    before = _keys(stack_config)
    with h5py.File(stack, "r+") as f:
        ds = f[DSET]
        ds.resize(16, axis=0)
        ds[12:16] = 9
        for k in ("HSI1", "HSTime"):
            f[f"/entry/id02_headers/{k}"].resize((16,))
            f[f"/entry/id02_headers/{k}"][12:16] = 1.0
    after = _keys(stack_config)
    assert {k: after[k] for k in before} == before  # every earlier step keeps its key
    assert set(after) - set(before) == {"reduce/run_t003", "subtract/run_t003", "fit/run_t003", "peaks/run_t003"}


# ----------------------------------------------------------------------
# manifests: each input named with the digest it had
def _fake_step(ctx):
    """Any kind: reads the frames of a reduce step through the real reader, writes one JSON."""
    import json

    n = 0
    if ctx.step.kind == "reduce":
        n = sum(1 for _ in iter_frames(list(ctx.settings["sources"])))
    out = ctx.outdir / f"{ctx.step.target}.json"
    out.write_text(json.dumps({"frames": n}))
    return {"outputs": {"json": out}, "n_frames": n}


def test_manifest_names_each_input_with_its_digest(stack_config):
    import json

    from saxs_mc.pipeline.cache import file_digest
    from saxs_mc.pipeline.run import run_pipeline

    funcs = {k: _fake_step for k in ("reduce", "subtract", "fit", "peaks")}
    res = run_pipeline(load_config(stack_config), step_funcs=funcs, n_workers=1, make_report=False)
    assert res.ok, res.failed
    m = json.loads((stack_config.parent / "out" / "steps" / "reduce" / "run_t002" / "manifest.json").read_text())
    ref = f"{(stack_config.parent / 'stack.h5').resolve()}::{DSET}[8:12]"
    assert m["inputs"] == [str(PONI), ref] and m["result"]["n_frames"] == 4
    assert m["input_digests"] == {str(PONI): file_digest(PONI), ref: frame_ref_digest(ref)}
    again = run_pipeline(load_config(stack_config), step_funcs=funcs, n_workers=1, make_report=False)
    assert again.counts() == {"cached": len(res.outcomes)}
