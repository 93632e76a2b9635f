"""Frame sources: 2D detector frames from files, globs and HDF5/NeXus stacks, streamed lazily.

A *source* is one of

* a path to any image format fabio reads (EDF, TIFF, CBF, Fit2D, ...; multi-frame
  files yield every frame),
* a glob pattern (``data/nuc190C/*.edf``), expanded in sorted order,
* an HDF5/NeXus stack ``file.h5::/entry/data/data`` read through h5py with the
  hdf5plugin filters (bitshuffle-LZ4, LZ4, Blosc, ...), optionally with frame
  indices: ``file.h5::/entry/data/data[3:7]``, ``...[5]``, ``...[::2]``,
  ``...[0,4,9]``.  A 2D dataset is one frame, a 3D dataset is a stack along axis 0.
  A bare ``file.h5`` is searched for a NeXus default signal or ``/entry/data/data``.

Frames are read one at a time (:func:`iter_frames`); only the current frame is
held in memory.  Header (metadata) values of an HDF5 stack come from, in order
of precedence: datasets next to the frame dataset or in a ``header`` group next
to it (scalars, or 1D arrays with one value per frame), then the attributes of
the frame dataset and of its parent group; datasets in groups named ``*header*``
directly under the entry (e.g. ``/entry/id02_headers/<Key>``) take precedence.

Errors are :class:`FrameError` (a ``ValueError``) naming the file and the fix.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import re
import threading
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.curves import HDF5_SUFFIXES  # one definition for curve and frame files

log = logging.getLogger(__name__)

_HEADER_GROUPS = ("header", "parameters")
_INDEX_RE = re.compile(r"^(?P<path>.*?)(?:\[(?P<index>[^\]]*)\])?$")


class FrameError(ValueError):
    """A frame source could not be read; ``source`` names the file (and frame)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message

    def __reduce__(self):  # picklable across process pools
        return (type(self), (self.source, self.message))


@dataclasses.dataclass(frozen=True)
class FrameRef:
    """Address of one frame: a file, an optional HDF5 dataset path and a frame index."""

    path: Path
    dataset: str | None = None
    index: int | None = None
    n_in_file: int = 1

    @property
    def name(self) -> str:
        """Human-readable name used in logs and provenance (``file.edf``, ``stack.h5::/d[3]``)."""
        base = str(self.path)
        if self.dataset is not None:
            base += f"::{self.dataset}"
        if self.index is not None and (self.dataset is not None or self.n_in_file > 1):
            base += f"[{self.index}]"
        return base


@dataclasses.dataclass(frozen=True)
class Frame:
    """One detector frame.

    Attributes
    ----------
    data : ndarray of shape (n_slow, n_fast)
        Raw counts as stored (integer or float dtype), read-only.
    header : dict
        Metadata key -> value (str for EDF, numbers or str for HDF5).
    ref : FrameRef
        Where the frame came from.
    """

    data: np.ndarray
    header: Mapping[str, Any]
    ref: FrameRef

    @property
    def name(self) -> str:
        return self.ref.name


# ----------------------------------------------------------------------
# source expansion
def _parse_indices(text: str, n: int, source: str) -> list[int]:
    text = text.strip()
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            idx = list(range(n)[slice(*parts)])  # a range slice: no list of the whole stack
        else:
            idx = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise FrameError(
            source, f"frame index {text!r} is not understood; use e.g. [3], [3:7], [::2] or [0,4,9]"
        ) from None
    if ":" in text:  # a slice bound beyond the stack would silently select fewer frames
        for b in parts[:2]:
            if b is not None and not -n <= b <= n:
                raise FrameError(
                    source,
                    f"frame slice [{text}] reaches frame {b}, out of range for {n} frame(s); use bounds within 0..{n}",
                )
    for i in idx:
        if not -n <= i < n:
            raise FrameError(source, f"frame index {i} is out of range for {n} frame(s); use 0..{n - 1}")
    out = [i % n for i in idx]
    if not out:
        raise FrameError(source, f"frame selection [{text}] selects no frame out of {n}")
    return out


def _open_h5(path: Path):
    import h5py
    import hdf5plugin  # noqa: F401  (registers bitshuffle/LZ4/... filters)

    try:  # read-only; SWMR when the writer uses it (a stack still growing), else a plain read-only open
        return h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:
        pass
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise FrameError(
            str(path), f"not a readable HDF5 file ({exc}); is it truncated or still being written?"
        ) from exc


def _default_h5_dataset(fh, path: Path) -> str:
    import h5py

    def _dec(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    # NeXus default chain: /@default -> entry@default -> NXdata@signal
    grp = fh
    for _ in range(3):
        if "default" in grp.attrs and _dec(grp.attrs["default"]) in grp:
            grp = grp[_dec(grp.attrs["default"])]
        else:
            break
    if isinstance(grp, h5py.Group) and "signal" in grp.attrs and _dec(grp.attrs["signal"]) in grp:
        return grp[_dec(grp.attrs["signal"])].name
    for cand in ("/entry/data/data", "/entry_0000/measurement/data", "/entry/instrument/detector/data"):
        if cand in fh and isinstance(fh[cand], h5py.Dataset):
            return cand
    found: list[str] = []
    fh.visititems(
        lambda n, o: (
            found.append("/" + n) if isinstance(o, h5py.Dataset) and o.ndim in (2, 3) and o.size > 1000 else None
        )
    )
    hint = f"; candidates: {', '.join(found[:5])}" if found else ""
    raise FrameError(str(path), f"no frame dataset found; address it explicitly as '{path}::/path/to/dataset'{hint}")


def _follow_signal(fh, dataset: str) -> str:
    """An NXdata group (``@signal``) stands for its signal dataset; anything else is returned unchanged."""
    import h5py

    obj = fh.get(dataset)
    if isinstance(obj, h5py.Group) and "signal" in obj.attrs:
        sig = obj.attrs["signal"]
        sig = sig.decode() if isinstance(sig, bytes) else str(sig)
        if sig in obj and isinstance(obj[sig], h5py.Dataset):
            return obj[sig].name
    return dataset


def _h5_refs(path: Path, dataset: str | None, index_text: str | None, source: str) -> list[FrameRef]:
    import h5py

    with _open_h5(path) as fh:
        if dataset is None:
            dataset = _default_h5_dataset(fh, path)
        dataset = _follow_signal(fh, dataset)
        if dataset not in fh or not isinstance(fh[dataset], h5py.Dataset):
            raise FrameError(
                source, f"dataset {dataset!r} not found in {path}; check the path after '::' (h5ls -r {path})"
            )
        ds = fh[dataset]
        if ds.ndim == 2:
            n = 1
        elif ds.ndim == 3:
            n = ds.shape[0]
        else:
            raise FrameError(
                source,
                f"dataset {dataset!r} has shape {ds.shape}; need a 2D frame or a 3D stack (n_frames, n_slow, n_fast)",
            )
        dataset = ds.name
        ndim = ds.ndim
    idx = _parse_indices(index_text, n, source) if index_text else list(range(n))
    return [FrameRef(path=path, dataset=dataset, index=(i if ndim == 3 else None), n_in_file=n) for i in idx]


#: fabio classes whose ``readheader`` alone gives the right ``nframes``
_HEADER_NFRAMES = ("EdfImage", "CbfImage")


def _fabio_nframes(path: Path) -> int:
    """Number of frames fabio sees in ``path``, reading headers only where fabio allows it.

    EDF and CBF: ``fabio.openheader``; TIFF: the page count of fabio's TiffIO
    (directory entries, no pixel data); any other format: ``fabio.open(...).nframes``.
    """
    import fabio

    hdr = fabio.openheader(str(path))
    kind = type(hdr).__name__
    if kind in _HEADER_NFRAMES:
        return int(hdr.nframes)
    if kind == "TifImage":
        from fabio.TiffIO import TiffIO

        tif = TiffIO(str(path))
        try:
            return int(tif.getNumberOfImages())
        finally:
            tif.close()
    with fabio.open(str(path)) as img:
        return int(img.nframes)


def _fabio_refs(path: Path, index_text: str | None, source: str) -> list[FrameRef]:
    """One reference per frame of a fabio-readable file (multi-frame EDF, TIFF, ... yield every frame)."""
    try:
        n = _fabio_nframes(path)
    except Exception as exc:  # fabio raises many types
        if index_text is not None:
            raise FrameError(
                str(path), f"fabio cannot read this file ({type(exc).__name__}: {exc}); is it truncated or corrupt?"
            ) from exc
        n = 1  # unreadable: reported (or rejected) frame by frame when read
    n = max(n, 1)
    idx = _parse_indices(index_text, n, source) if index_text else list(range(n))
    return [FrameRef(path=path, dataset=None, index=i, n_in_file=n) for i in idx]


def expand_sources(sources: str | Path | Iterable[str | Path]) -> list[FrameRef]:
    """Expand paths, globs and ``file.h5::/dataset[idx]`` specs into frame references.

    Parameters
    ----------
    sources : str, Path or iterable of them

    Returns
    -------
    list of FrameRef, in the given order (globs sorted).

    Raises
    ------
    FrameError
        For a missing file, a glob matching nothing, a bad index or a missing dataset.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    refs: list[FrameRef] = []
    for src in sources:
        if not isinstance(src, (str, Path)):
            raise TypeError(
                f"frame source {src!r} has type {type(src).__name__}; give a path, glob or 'file.h5::/dataset'"
            )
        text = os.fspath(src)
        file_part, _, ds_part = text.partition("::")
        ds_match = _INDEX_RE.match(ds_part) if ds_part else None
        dataset = (ds_match.group("path") or None) if ds_match else None
        index_text = ds_match.group("index") if ds_match else None
        if glob.has_magic(file_part):
            files = sorted(glob.glob(file_part))
            if not files:
                raise FrameError(text, "the glob pattern matches no file; check the folder and pattern")
        else:
            files = [file_part]
        for f in files:
            p = Path(f)
            if not p.is_file():
                raise FrameError(f, "file does not exist; check the path")
            if p.suffix.lower() in HDF5_SUFFIXES:
                refs.extend(_h5_refs(p, dataset, index_text, text))
            else:
                if dataset:
                    raise FrameError(
                        text, f"'::{dataset}' dataset addressing needs an HDF5 file ({', '.join(HDF5_SUFFIXES)})"
                    )
                refs.extend(_fabio_refs(p, index_text, text))
    if not refs:
        raise FrameError(str(list(sources)), "no frames given")
    return refs


# ----------------------------------------------------------------------
# reading
class _FabioLogTrap(logging.Handler):
    """Collect fabio's warnings during one read (fabio logs, rather than raises, on short data)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _read_fabio(ref: FrameRef) -> Frame:
    import fabio

    name = ref.name
    flog = logging.getLogger("fabio")
    trap = _FabioLogTrap()
    flog.addHandler(trap)
    try:
        with fabio.open(str(ref.path)) as img:
            if ref.n_in_file > 1 and ref.index:
                fr = img.get_frame(ref.index)
                data, header = fr.data, fr.header
            else:
                data, header = img.data, img.header
                frames = getattr(img, "_frames", None)
                if frames and ref.path.suffix.lower() not in (
                    ".gz",
                    ".bz2",
                ):  # EDF: the data block must fit in the file
                    blk = frames[ref.index or 0]
                    start, size = getattr(blk, "start", None), getattr(blk, "blobsize", None)
                    if start is not None and size is not None and start + size > ref.path.stat().st_size:
                        raise FrameError(
                            name,
                            f"truncated file: data block needs {start + size} bytes, file has "
                            f"{ref.path.stat().st_size}; re-copy or exclude the frame",
                        )
            data = np.asarray(data)
            header = dict(header)
    except FrameError:
        raise
    except Exception as exc:  # fabio raises OSError, ValueError, struct.error, ...
        raise FrameError(
            name,
            f"fabio cannot read this frame ({type(exc).__name__}: {exc}); is it truncated or corrupt? "
            "Re-copy or exclude it",
        ) from exc
    finally:
        flog.removeHandler(trap)
    bad = [m for m in trap.messages if re.search(r"incomplete|truncat|corrupt|premature|short", m, re.I)]
    if bad:
        raise FrameError(name, f"fabio reports a damaged frame ({bad[0]}); re-copy or exclude the frame")
    if data is None or data.ndim != 2:
        raise FrameError(name, f"frame data has shape {None if data is None else data.shape}; need a 2D image")
    return Frame(data=data, header=header, ref=ref)


#: per-frame header values are read in aligned blocks of this many frames (and kept, see :class:`_H5Stack`)
_HEADER_BLOCK = 256
#: stack identity -> (constant header, {key: path of its per-frame dataset}); (identity, block) -> {key: values}
_LAYOUTS: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, str]]] = {}
_BLOCKS: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
_MEMO_LOCK = threading.Lock()


def _memo_put(memo: dict, key: tuple[Any, ...], value: Any, limit: int) -> None:
    with _MEMO_LOCK:
        while len(memo) >= limit:
            memo.pop(next(iter(memo)))
        memo[key] = value


def _header_groups(fh, ds) -> list:
    """Groups searched for header values, lowest precedence first: the frame dataset's parent, its usual
    sub-groups, then groups whose name contains "header" directly under the NXentry (e.g. /entry/id02_headers)."""
    import h5py

    parent = ds.parent
    groups = [parent] + [parent[g] for g in _HEADER_GROUPS if g in parent and isinstance(parent[g], h5py.Group)]
    top = fh[ds.name.split("/")[1]] if ds.name.count("/") > 1 else None
    if top is not None:
        groups += [g for k, g in top.items() if isinstance(g, h5py.Group) and "header" in k.lower() and g not in groups]
    return groups


def _header_kind(obj: Any, n: int, grows: bool) -> str | None:
    """ "per_frame" (one value per frame), "constant" (a single value) or None (neither) for a header dataset."""
    if grows and obj.ndim == 1 and obj.shape[0] > n > 0:  # SWMR: appended just ahead of the frame data
        return "per_frame"  # blocks are read within the frames' count only
    if obj.ndim == 0 or obj.size == 1:
        return "constant"
    if obj.ndim == 1 and obj.shape[0] == n and n > 1:
        return "per_frame"
    return None


def _header_layout(fh, ds, n: int) -> tuple[dict[str, Any], dict[str, str]]:
    """Constant header values of a frame dataset and the paths of its per-frame (1D, one value per frame) ones."""
    import h5py

    header: dict[str, Any] = {}
    per_frame: dict[str, str] = {}
    for attrs in (ds.parent.attrs, ds.attrs):
        header.update((k, _scalar(v)) for k, v in attrs.items())
    grows = fh.swmr_mode  # SWMR writer: per-frame values may be appended just ahead of their frame
    for grp in _header_groups(fh, ds):
        for k, obj in grp.items():
            if not isinstance(obj, h5py.Dataset) or obj.name == ds.name:
                continue
            kind = _header_kind(obj, n, grows)
            if kind == "constant":
                header[k] = _scalar(obj[()])
            elif kind == "per_frame":
                per_frame[k] = obj.name
    return header, per_frame


class _H5Stack:
    """An open HDF5 frame dataset with its per-frame header values (kept open while streaming).

    Per-frame header values are read in aligned blocks of :data:`_HEADER_BLOCK` frames, so a
    time point of 10 frames reads one block, not the whole run's values.  The header layout and
    the last blocks read are kept in memory (a few per process) under the file's identity
    (device, inode, size, mtime, ctime and the number of frames): the time points of one stack
    share them, and a file that is rewritten or grows is read anew.
    """

    def __init__(self, path: Path, dataset: str) -> None:
        self.path, self.dataset = path, dataset
        self.fh = _open_h5(path)
        ds = self.fh[dataset]
        self.ds = ds
        self.n = ds.shape[0] if ds.ndim == 3 else 1
        st = path.stat()
        self._key = (
            str(path.resolve()),
            ds.name,
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            self.n,
        )
        layout = _LAYOUTS.get(self._key)
        if layout is None:
            layout = _header_layout(self.fh, ds, self.n)
            _memo_put(_LAYOUTS, self._key, layout, 8)
        self.header, self._per_frame = layout

    def _block(self, index: int) -> dict[str, np.ndarray]:
        b = index // _HEADER_BLOCK
        block = _BLOCKS.get((self._key, b))
        if block is None:
            sl = slice(b * _HEADER_BLOCK, min(self.n, (b + 1) * _HEADER_BLOCK))
            block = {k: self.fh[p][sl] for k, p in self._per_frame.items()}
            _memo_put(_BLOCKS, (self._key, b), block, 16)
        return block

    def read(self, ref: FrameRef) -> Frame:
        name = ref.name
        try:
            data = self.ds[ref.index] if ref.index is not None and self.ds.ndim == 3 else self.ds[()]
        except Exception as exc:  # h5py/filters raise OSError, ValueError...
            raise FrameError(
                name,
                f"cannot read/decompress this frame ({type(exc).__name__}: {exc}); is the file truncated, "
                "or is the compression filter missing (import hdf5plugin)?",
            ) from exc
        header = dict(self.header)
        if ref.index is not None and self._per_frame:
            j = ref.index % _HEADER_BLOCK
            for k, arr in self._block(ref.index).items():
                header[k] = _scalar(arr[j])
        data = np.asarray(data)
        return Frame(data=data, header=header, ref=ref)

    def close(self) -> None:
        self.fh.close()


def _scalar(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size == 1 else v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    return v


#: unit -> factor to SI (s, m) for header values such as "10.0000000 s" or "1.54 A"
_UNIT_FACTORS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "m": 1.0,
    "mm": 1e-3,
    "um": 1e-6,
    "cm": 1e-2,
    "a": 1e-10,
    "\u00e5": 1e-10,
    "angstrom": 1e-10,
    "nm": 1e-9,
    "counts": 1.0,
    "count": 1.0,
    "cts": 1.0,
}
_NUMBER_UNIT_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z\u00c5\u00e5]*)\s*$")


def header_number(value: Any) -> float:
    """A header value as a float in SI units (s, m), reading an optional unit after the number.

    ``"10.0000000 s"`` -> 10.0, ``"1080457 counts"`` -> 1080457.0, ``"1.54987 A"`` -> 1.54987e-10,
    ``"0.55"`` -> 0.55 (no unit: taken as given).

    Raises
    ------
    ValueError
        Not a number with an optional known unit.
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    m = _NUMBER_UNIT_RE.match(str(value))
    if m is None or m.group(2).lower() not in _UNIT_FACTORS:
        raise ValueError(f"{value!r} is not a number with a known unit ({', '.join(k for k in _UNIT_FACTORS if k)})")
    return float(m.group(1)) * _UNIT_FACTORS[m.group(2).lower()]


def iter_frames(sources: str | Path | Iterable[str | Path] | Sequence[FrameRef]) -> Generator[Frame, None, None]:
    """Yield the frames of ``sources`` one at a time (lazily; HDF5 files stay open while in use).

    Parameters
    ----------
    sources : paths, globs, ``file.h5::/dataset[idx]`` specs, or FrameRef objects
        (from :func:`expand_sources`).
    """
    items = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if items and all(isinstance(s, FrameRef) for s in items):
        refs: list[FrameRef] = items  # type: ignore[assignment]
    else:
        refs = expand_sources(items)  # type: ignore[arg-type]
    stack: _H5Stack | None = None
    try:
        for ref in refs:
            if ref.dataset is not None:
                if stack is None or stack.path != ref.path or stack.dataset != ref.dataset:
                    if stack is not None:
                        stack.close()
                    stack = _H5Stack(ref.path, ref.dataset)
                yield stack.read(ref)
            else:
                yield _read_fabio(ref)
    finally:
        if stack is not None:
            stack.close()


def read_frame(source: str | Path | FrameRef) -> Frame:
    """Read a single frame (the first one if the source holds several)."""
    ref = source if isinstance(source, FrameRef) else expand_sources([source])[0]
    return next(iter_frames([ref]))


def read_mask(path: str | Path, *, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask file (EDF/TIFF/CBF/Fit2D ``.msk`` via fabio, ``.npy``, or ``file.h5::/dataset``).

    Non-zero means masked (pyFAI convention).  Returns a boolean array.

    Raises
    ------
    ValueError
        Unreadable file, not 2D, or a shape different from ``shape``.
    """
    text = os.fspath(path)
    if text.lower().endswith(".npy"):
        if not Path(text).is_file():
            raise FrameError(text, "mask file does not exist; check the path")
        try:
            arr = np.load(text, allow_pickle=False)
        except Exception as exc:
            raise FrameError(text, f"cannot read mask ({exc})") from exc
    else:
        refs = expand_sources([text])
        arr = next(iter_frames(refs[:1])).data
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise FrameError(text, f"mask has shape {arr.shape}; need a 2D array")
    if shape is not None and arr.shape != tuple(shape):
        raise FrameError(
            text,
            f"mask shape {arr.shape} differs from the detector shape {tuple(shape)}; use the mask made for this detector",
        )
    return arr != 0
