"""Content digests of the frames a step reads from an HDF5 stack (not of the whole file).

A time point of a ``[[stacks]]`` entry reads a few frames of one large HDF5 file.  Hashing the
whole file for its cache key costs seconds per gigabyte and ties every time point to every frame:
an appended frame (live acquisition) or a change to another time point's frames would redo them
all.  :func:`frame_ref_digest` hashes exactly what :func:`saxs_mc.io.frames.iter_frames` reads
for a frame reference ``file.h5::/dataset[i:j]``:

- the pixels: the *stored* (compressed) bytes of every chunk that holds a selected frame, read
  with ``H5Dread_chunk`` (``dsid.read_direct_chunk``; no decompression) together with the chunk's
  offset and filter mask; an unallocated chunk (read as the fill value) is recorded as such.
  Datasets that are not chunked (contiguous, compact, virtual, external) are hashed from the
  frames as read (decompressed bytes, C order);
- how those bytes decode: dtype, frame shape, chunk shape, filter pipeline (ids, flags and
  parameters) and fill value;
- the header the reader hands on with each frame (:func:`saxs_mc.io.frames._header_layout`, the
  reader's own function): the constant values (attributes, scalar datasets) and the values of
  the per-frame datasets (monitor, exposure, timestamps, ...) at the selected frames only.

The number of frames in the dataset is not part of the digest, so frames appended after a time
point leave its digest unchanged (a chunk holding several frames changes when frames are added
to it: a time point sharing a chunk with later frames is then redone, never served stale).  A
change to any byte a time point reads changes its digest.  Everything goes into one BLAKE3
hash; the result is ``"h5frames-blake3:<hex>"`` so a manifest shows which digest was used.

Frames reached through an external link or a virtual dataset are digested from the file that
holds them (hashing the master file alone would miss a changed data file).  While a writer has
appended frames but not yet their per-frame header values, the reader hands on no per-frame
value for any frame (:func:`~saxs_mc.io.frames._header_layout` needs one value per frame), and
the digest changes with it.  :func:`frame_ref_digests` digests the time points of one stack
together (one open file, one header read).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FRAME_DIGEST_SCHEME", "frame_ref_digest", "frame_ref_digests", "is_frame_ref", "ref_file"]

#: prefix of a frame-reference digest (the scheme and its version; bump when the hashed content changes)
FRAME_DIGEST_SCHEME = "h5frames-blake3"
_VERSION = 1


def is_frame_ref(spec: str | os.PathLike[str]) -> bool:
    """Whether ``spec`` addresses frames of one HDF5 dataset (``file.h5::/dataset[...]``, no glob)."""
    text = os.fspath(spec)
    file_part, sep, ds = text.partition("::")
    return bool(sep and ds) and not glob.has_magic(file_part)


def ref_file(spec: str | os.PathLike[str]) -> Path:
    """The file of a frame reference (the whole ``spec`` for a plain path)."""
    return Path(os.fspath(spec).partition("::")[0])


def frame_ref_digest(spec: str) -> str:
    """Digest of what reading the frames of ``spec`` returns (see the module docstring).

    Parameters
    ----------
    spec : str
        ``file.h5::/dataset`` with an optional frame selection (``[3:7]``, ``[5]``, ``[0,4,9]``).

    Returns
    -------
    str
        ``"h5frames-blake3:<64 hex digits>"``.

    Raises
    ------
    FrameError
        The file, dataset or selection cannot be read (message names the file and the fix).

    Examples
    --------
    >>> import tempfile, h5py, numpy as np
    >>> p = Path(tempfile.mkdtemp()) / "s.h5"
    >>> with h5py.File(p, "w") as f:
    ...     _ = f.create_dataset("d", data=np.arange(48).reshape(3, 4, 4), chunks=(1, 4, 4))
    >>> a = frame_ref_digest(f"{p}::/d[0:2]")
    >>> with h5py.File(p, "r+") as f:
    ...     f["d"][2] = 0  # a frame outside [0:2]
    >>> frame_ref_digest(f"{p}::/d[0:2]") == a
    True
    """
    return frame_ref_digests([spec])[spec]


def frame_ref_digests(specs: Iterable[str]) -> dict[str, str]:
    """:func:`frame_ref_digest` of many references at once (the time points of a stack).

    References into one dataset share one open file, one header layout and one read of each
    per-frame header dataset (over the frames they select), so 100 time points cost about one
    pass over their chunks.
    """
    from saxs_mc.io.frames import expand_sources

    groups: dict[tuple[Path, str], list[tuple[str, list[int]]]] = {}
    for spec in dict.fromkeys(specs):
        refs = expand_sources([spec])
        idx = sorted({r.index for r in refs if r.index is not None})
        groups.setdefault((refs[0].path, str(refs[0].dataset)), []).append((spec, idx))
    out: dict[str, str] = {}
    for (path, dataset), members in groups.items():
        out.update(_dataset_digests(path, dataset, members))
    return out


def _dataset_digests(path: Path, dataset: str, members: list[tuple[str, list[int]]]) -> dict[str, str]:
    import blake3

    from saxs_mc.io.frames import _open_h5

    out = {}
    with _open_h5(path) as fh:
        ds = fh[dataset]
        fixed, per_frame = _describe(fh, ds)
        blocks = _per_frame_values(fh, per_frame, sorted({i for _, idx in members for i in idx}))
        for spec, idx in members:
            h = blake3.blake3(fixed)
            values = {k: [_plain(blocks[k][i]) for i in idx] for k in sorted(blocks)}
            h.update(_canonical({"frames": idx, "per_frame": values}).encode())
            for part in _pixel_bytes(ds, idx):
                h.update(part)
            out[spec] = f"{FRAME_DIGEST_SCHEME}:{h.hexdigest()}"
    return out


def _per_frame_values(fh: Any, per_frame: dict[str, str], indices: list[int]) -> dict[str, dict[int, Any]]:
    """``{key: {frame: value}}`` of the per-frame header datasets, each read once over the selected span."""
    if not indices:
        return {}
    lo, hi = indices[0], indices[-1] + 1
    out = {}
    for key, dpath in sorted(per_frame.items()):
        block = fh[dpath][lo:hi]
        out[key] = {i: block[i - lo] for i in indices}
    return out


def _canonical(obj: Any) -> str:
    from .cache import canonical_json

    return canonical_json(obj)


def _describe(fh: Any, ds: Any) -> tuple[bytes, dict[str, str]]:
    """How the stored bytes decode and the constant header (canonical JSON), and the per-frame header datasets."""
    from saxs_mc.io.frames import _header_layout

    n = ds.shape[0] if ds.ndim == 3 else 1
    header, per_frame = _header_layout(fh, ds, n)
    dcpl = ds.id.get_create_plist()
    filters = [_filter(dcpl, i) for i in range(dcpl.get_nfilters())]
    fixed = {
        "scheme": FRAME_DIGEST_SCHEME,
        "version": _VERSION,
        "dataset": ds.name,
        "dtype": ds.dtype.str,
        "frame_shape": list(ds.shape[1:] if ds.ndim == 3 else ds.shape),
        "ndim": ds.ndim,
        "chunks": None if ds.chunks is None else list(ds.chunks),
        "filters": filters,
        "fillvalue": _plain(ds.fillvalue),
        "header": {k: _plain(v) for k, v in sorted(header.items())},
        "per_frame_keys": sorted(per_frame),
    }
    return _canonical(fixed).encode(), per_frame


def _filter(dcpl: Any, i: int) -> list[Any]:
    code, flags, params, _name = dcpl.get_filter(i)
    return [int(code), int(flags), [int(p) for p in params]]


def _plain(v: Any) -> Any:
    """A JSON-safe, type-preserving form of a header value (bytes and arrays included)."""
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, np.ndarray):
        return {"dtype": v.dtype.str, "shape": list(v.shape), "data": np.ascontiguousarray(v).tobytes().hex()}
    if isinstance(v, np.generic):
        return _plain(np.asarray(v))
    if isinstance(v, float) and not np.isfinite(v):
        return {"float": repr(v)}
    return v


def _pixel_bytes(ds: Any, indices: list[int]) -> Iterator[bytes]:
    """The stored bytes of the selected frames: raw chunks when chunked, else the frames as read."""
    import h5py

    layout = ds.id.get_create_plist().get_layout()
    if layout == h5py.h5d.CHUNKED and ds.chunks is not None:
        yield from _chunk_bytes(ds, indices)
        return
    if ds.ndim != 3:
        yield np.ascontiguousarray(ds[()]).tobytes()
        return
    for i in indices:
        yield b"frame%d:" % i
        yield np.ascontiguousarray(ds[i]).tobytes()


def _chunk_offsets(ds: Any, indices: list[int]) -> Iterator[tuple[int, ...]]:
    """Offsets of every chunk holding a selected frame (all tiles of the frame plane), in order."""
    chunks, shape = ds.chunks, ds.shape
    if ds.ndim == 3:
        lead = sorted({(i // chunks[0]) * chunks[0] for i in indices})
        planes = [range(0, shape[d], chunks[d]) for d in (1, 2)]
        for z in lead:
            for y in planes[0]:
                for x in planes[1]:
                    yield (z, y, x)
    else:
        for y in range(0, shape[0], chunks[0]):
            for x in range(0, shape[1], chunks[1]):
                yield (y, x)


def _chunk_bytes(ds: Any, indices: list[int]) -> Iterator[bytes]:
    dsid = ds.id
    for off in _chunk_offsets(ds, indices):
        info = dsid.get_chunk_info_by_coord(off)
        head = ",".join(str(o) for o in off).encode()
        if info.byte_offset is None or not info.size:  # never written: reads as the fill value
            yield b"chunk:" + head + b":unallocated;"
            continue
        mask, raw = dsid.read_direct_chunk(off)
        yield b"chunk:" + head + b":%d:%d;" % (mask, len(raw))
        yield raw
