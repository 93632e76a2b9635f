"""Group the frames of one stack (HDF5) or numbered file sequence into time points.

Rules (:class:`Grouping`):

* ``every=N``: consecutive groups of N frames (the last group may be shorter;
  ``drop_partial=True`` drops it);
* ``window_s=W``: windows of W seconds on the frames' timestamps, starting at
  ``origin_s`` (default: the first timestamp); a frame belongs to
  ``[start, start + W)``;
* a moving window: ``step=M`` frames with ``every``, or ``step_s=S`` seconds with
  ``window_s`` (``step < width``: overlapping windows; only windows that lie
  inside the run are kept).

Timestamps (``timestamps=``) come from an HDF5 dataset (``"run.h5::/entry/data/time"``),
a sidecar CSV column (``"run_frames.csv::time_s"``; default column ``time_s``), a per-frame
header key (``"header:ReactionTime_s"``), an array, or (``None``) the NeXus time axis of the
stack if it has one (``NXdata@axes[0]``).  Times are per frame (e.g. mid-exposure) in seconds.

Only shapes and timestamps are read: no frame is loaded.  Each :class:`TimePoint`
carries frame references usable by :mod:`saxs_mc.io.frames` and the reducer
(``"run.h5::/entry/instrument/detector/data[30:60]"`` or one path per file).

All problems of a grouping (empty time points, missing or non-monotonic
timestamps, N larger than the stack, ...) are reported together in one
:class:`GroupingError`.

Examples
--------
>>> tps = group_frames("run.h5::/entry/instrument/detector/data", Grouping(every=30))  # doctest: +SKIP
>>> tps[0].sources  # doctest: +SKIP
('run.h5::/entry/instrument/detector/data[0:30]',)
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.curves import HDF5_SUFFIXES

#: time units accepted in an HDF5 dataset's @units, as factors to seconds
TIME_UNITS = {
    "s": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
    "min": 60.0,
    "h": 3600.0,
}
#: CSV columns tried (in order) when the sidecar column is not named
CSV_TIME_COLUMNS = ("time_s", "time", "timestamp", "t_s", "elapsed_s")


class GroupingError(ValueError):
    """Invalid grouping input; ``problems`` lists every problem found (the message shows them all)."""

    def __init__(self, problems: Sequence[str], source: str = "") -> None:
        self.problems = tuple(problems)
        self.source = source
        head = f"cannot group the frames of {source}" if source else "invalid frame grouping"
        super().__init__(head + ":\n  - " + "\n  - ".join(self.problems))

    def __reduce__(self):  # picklable across process pools
        return (type(self), (self.problems, self.source))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_pos(v: Any) -> bool:
    return bool(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
    )


@dataclasses.dataclass(frozen=True)
class Grouping:
    """How frames become time points (exactly one of ``every`` or ``window_s``).

    Attributes
    ----------
    every : int or None
        Frames per time point.
    window_s : float or None
        Window width in seconds (needs timestamps).
    step : int or None
        Moving window: start a new window every ``step`` frames (with ``every``); default ``every``.
    step_s : float or None
        Moving window: start a new window every ``step_s`` seconds (with ``window_s``); default ``window_s``.
    origin_s : float or None
        Start of the first time window (s); default: the first frame's timestamp.
    drop_partial : bool
        Drop a last, shorter group of non-overlapping windows (default: keep it).
    """

    every: int | None = None
    window_s: float | None = None
    step: int | None = None
    step_s: float | None = None
    origin_s: float | None = None
    drop_partial: bool = False

    def __post_init__(self) -> None:
        p = self.problems()
        if p:
            raise GroupingError(p)

    def problems(self) -> list[str]:
        """Every problem of the settings themselves (empty when valid)."""
        out = []
        if (self.every is None) == (self.window_s is None):
            out.append(
                f"give exactly one of every=N (frames per time point) or window_s=W (seconds), got "
                f"every={self.every!r}, window_s={self.window_s!r}"
            )
        if self.every is not None and not (_is_int(self.every) and self.every >= 1):
            out.append(f"every={self.every!r} must be an integer >= 1 (frames per time point)")
        if self.window_s is not None and not _is_pos(self.window_s):
            out.append(f"window_s={self.window_s!r} must be a positive number of seconds")
        if self.step is not None and (self.every is None or not (_is_int(self.step) and self.step >= 1)):
            out.append(f"step={self.step!r} must be an integer >= 1 and goes with every=N (use step_s with window_s)")
        if self.step_s is not None and (self.window_s is None or not _is_pos(self.step_s)):
            out.append(
                f"step_s={self.step_s!r} must be a positive number of seconds and goes with window_s "
                "(use step with every)"
            )
        if self.origin_s is not None and (
            self.window_s is None
            or isinstance(self.origin_s, bool)
            or not isinstance(self.origin_s, (int, float))
            or not math.isfinite(self.origin_s)
        ):
            out.append(f"origin_s={self.origin_s!r} must be a finite number of seconds and goes with window_s")
        if not isinstance(self.drop_partial, bool):
            out.append(f"drop_partial={self.drop_partial!r} must be true or false")
        return out

    @property
    def needs_timestamps(self) -> bool:
        return self.window_s is not None

    @property
    def moving(self) -> bool:
        if self.every is not None:
            return self.step is not None and self.step != self.every
        return self.step_s is not None and self.step_s != self.window_s

    def describe(self) -> str:
        if self.every is not None:
            s = f"every {self.every} frames"
            return s + (f", moving by {self.step}" if self.moving else "")
        s = f"{self.window_s:g} s windows"
        return s + (f", moving by {self.step_s:g} s" if self.moving else "")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class FrameStack:
    """Where the frames are: one HDF5 dataset, or one file per frame.  Holds no pixel data.

    Attributes
    ----------
    source : str
        As given (HDF5 ``file::dataset`` or the glob / first file).
    n_frames : int
    frame_shape : tuple of int or None
        (n_slow, n_fast) for HDF5 stacks; None for file sequences (not read).
    path : Path or None
        The HDF5 file (None for file sequences).
    dataset : str or None
        The HDF5 dataset path.
    files : tuple of str
        The frame files of a sequence, in order (empty for HDF5).
    """

    source: str
    n_frames: int
    frame_shape: tuple[int, ...] | None
    path: Path | None = None
    dataset: str | None = None
    files: tuple[str, ...] = ()

    @property
    def is_hdf5(self) -> bool:
        return self.path is not None

    def refs(self, indices: Sequence[int]) -> tuple[str, ...]:
        """Frame references of ``indices`` for :func:`saxs_mc.io.frames.expand_sources`."""
        idx = [int(i) for i in indices]
        if not self.is_hdf5:
            return tuple(self.files[i] for i in idx)
        if idx == list(range(idx[0], idx[-1] + 1)):
            sel = f"{idx[0]}:{idx[-1] + 1}"
        else:
            sel = ",".join(str(i) for i in idx)
        return (f"{self.path}::{self.dataset}[{sel}]",)

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_frames": self.n_frames,
            "frame_shape": None if self.frame_shape is None else list(self.frame_shape),
            "file": None if self.path is None else str(self.path),
            "dataset": self.dataset,
            "n_files": len(self.files),
        }


def _h5_stack(path: Path, dataset: str | None, source: str) -> FrameStack:
    import h5py

    from saxs_mc.io.frames import expand_sources

    if dataset is None:  # the NeXus default signal, as saxs_mc.io.frames finds it
        dataset = expand_sources([str(path)])[0].dataset
    with _open_h5(path, source) as fh:
        if dataset not in fh or not isinstance(fh[dataset], h5py.Dataset):
            raise GroupingError([f"dataset {dataset!r} not found in {path}; check the path after '::'"], source=source)
        ds = fh[dataset]
        if ds.ndim != 3:
            raise GroupingError(
                [f"dataset {dataset!r} has shape {ds.shape}; a stack needs (n_frames, n_slow, n_fast)"], source=source
            )
        return FrameStack(
            source=source,
            n_frames=int(ds.shape[0]),
            frame_shape=tuple(int(s) for s in ds.shape[1:]),
            path=path,
            dataset=ds.name,
        )


def _open_h5(path: Path, source: str):
    import h5py
    import hdf5plugin  # noqa: F401  (filters, for completeness; no data is read here)

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise GroupingError([f"{path} is not a readable HDF5 file ({exc})"], source=source) from exc


def _file_sequence(items: Sequence[str], source: str) -> FrameStack:
    from saxs_mc.io.frames import expand_sources

    files: list[str] = []
    for it in items:
        files.extend(sorted(glob.glob(it)) if glob.has_magic(it) else [it])
    if not files:
        raise GroupingError([f"{source!r} matches no file; check the folder and the pattern"], source=source)
    problems = [f"{f} does not exist" for f in files if not os.path.isfile(f)]
    problems += [
        f"{f} is an HDF5 file; give a stack as 'file.h5::/dataset', not in a file sequence"
        for f in files
        if Path(f).suffix.lower() in HDF5_SUFFIXES
    ]
    if problems:
        raise GroupingError(problems, source=source)
    multi = [
        f"{r.path} holds {r.n_in_file} frames; a numbered sequence needs one frame per file"
        for r in expand_sources(files)
        if r.n_in_file > 1 and r.index == 0
    ]
    if multi:
        raise GroupingError(multi, source=source)
    return FrameStack(source=source, n_frames=len(files), frame_shape=None, files=tuple(files))


def open_stack(source: str | os.PathLike | Sequence[str | os.PathLike]) -> FrameStack:
    """Describe a frame stack without reading frames.

    Parameters
    ----------
    source : str, path or sequence of paths
        ``"run.h5::/entry/instrument/detector/data"`` (or a bare ``run.h5``: its NeXus default),
        a glob of numbered files (``"frames/run_*.edf"``, sorted), or a list of files.

    Returns
    -------
    FrameStack
    """
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        file_part, _, ds = text.partition("::")
        if Path(file_part).suffix.lower() in HDF5_SUFFIXES and not glob.has_magic(file_part):
            if "[" in ds:
                raise GroupingError(
                    [
                        f"frame selection {ds[ds.index('[') :]!r} is not allowed here; the grouping "
                        "selects frames (give the whole stack)"
                    ],
                    source=text,
                )
            if not Path(file_part).is_file():
                raise GroupingError([f"{file_part} does not exist; check the path"], source=text)
            return _h5_stack(Path(file_part), ds or None, text)
        return _file_sequence([text], text)
    items = [os.fspath(s) for s in source]
    return _file_sequence(items, f"{len(items)} files ({items[0] if items else ''} ...)")


# ----------------------------------------------------------------------
# timestamps
def _h5_times(path: str, dataset: str, source: str) -> np.ndarray:
    import h5py

    p = Path(path)
    if not p.is_file():
        raise GroupingError([f"timestamp file {path} does not exist"], source=source)
    with _open_h5(p, source) as fh:
        if dataset not in fh or not isinstance(fh[dataset], h5py.Dataset):
            raise GroupingError([f"timestamp dataset {dataset!r} not found in {path}"], source=source)
        ds = fh[dataset]
        unit = ds.attrs.get("units", "s")
        unit = unit.decode() if isinstance(unit, bytes) else str(unit)
        if unit.strip() not in TIME_UNITS:
            raise GroupingError(
                [f"timestamp dataset {path}::{dataset} has @units={unit!r}; use one of {sorted(TIME_UNITS)}"],
                source=source,
            )
        return np.asarray(ds[()], dtype=float).reshape(-1) * TIME_UNITS[unit.strip()]


def _csv_times(path: str, column: str | None, source: str) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise GroupingError([f"sidecar file {path} does not exist"], source=source)
    with open(p, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if line.strip() and not line.startswith("#")))
    cols = list(rows[0]) if rows else []
    col = column or next((c for c in CSV_TIME_COLUMNS if c in cols), None)
    if col is None or col not in cols:
        want = repr(column) if column else f"one of {list(CSV_TIME_COLUMNS)}"
        raise GroupingError(
            [
                f"sidecar {path} has no time column {want}; its columns are {cols}; name the column "
                f"as '{path}::<column>'"
            ],
            source=source,
        )
    vals, bad = [], []
    for k, r in enumerate(rows):
        try:
            vals.append(float(r[col]))
        except (TypeError, ValueError):
            bad.append(f"sidecar {path} row {k + 2}: {col}={r[col]!r} is not a number")
            vals.append(float("nan"))
    if "frame" in cols:
        try:
            fr = [int(r["frame"]) for r in rows]
        except (TypeError, ValueError):
            fr = []
        if fr != list(range(len(rows))):
            bad.append(f"sidecar {path}: column 'frame' must list 0, 1, 2, ... in order (one row per frame)")
    if bad:
        raise GroupingError(bad, source=source)
    return np.array(vals, dtype=float)


def _nexus_time_axis(stack: FrameStack) -> np.ndarray | None:
    """The stack's NeXus time axis (NXdata@axes[0] of the group holding or linking the dataset), if any."""
    import h5py

    with _open_h5(stack.path, stack.source) as fh:  # type: ignore[arg-type]
        target = fh[stack.dataset]
        groups = [target.parent] + [g for g in fh.get("/entry", {}).values() if isinstance(g, h5py.Group)]
        for g in groups:
            axes = g.attrs.get("axes")
            if axes is None or g.attrs.get("signal") is None:
                continue
            sig = g.attrs["signal"]
            sig = sig.decode() if isinstance(sig, bytes) else str(sig)
            if sig not in g or g[sig].id != target.id:
                continue
            first = np.atleast_1d(axes)[0]
            first = first.decode() if isinstance(first, bytes) else str(first)
            if first not in (".", "") and first in g:
                return _h5_times(str(stack.path), g[first].name, stack.source)
    return None


def read_timestamps(timestamps: Any, stack: FrameStack | None = None) -> np.ndarray | None:
    """Per-frame times (s) from an HDF5 dataset, a CSV column, an array, or the stack's NeXus time axis.

    Parameters
    ----------
    timestamps : str, path, array-like or None
        ``"file.h5::/dataset"``; ``"sidecar.csv"`` or ``"sidecar.csv::column"``; ``"header:<Key>"``
        (a per-frame header value in s: each file's header for a file sequence, or the
        ``/entry/*header*/<Key>`` dataset of an HDF5 stack); a sequence of numbers; None: the
        NeXus time axis of ``stack`` (None if it has none).
    stack : FrameStack or None

    Returns
    -------
    ndarray of shape (n,) or None
    """
    src = "" if stack is None else stack.source
    if timestamps is None:
        return _nexus_time_axis(stack) if stack is not None and stack.is_hdf5 else None
    if isinstance(timestamps, str) and timestamps.startswith("header:"):
        return _header_times(timestamps[len("header:") :].strip(), stack, src)
    if isinstance(timestamps, (str, os.PathLike)):
        text = os.fspath(timestamps)
        file_part, _, sub = text.partition("::")
        if Path(file_part).suffix.lower() in HDF5_SUFFIXES:
            if not sub:
                raise GroupingError(
                    [f"timestamps {text!r}: name the dataset, e.g. '{file_part}::/entry/data/time'"], source=src
                )
            return _h5_times(file_part, sub, src)
        return _csv_times(file_part, sub or None, src)
    arr = np.asarray(timestamps, dtype=float).reshape(-1)
    return arr


def _header_times(key: str, stack: FrameStack | None, src: str) -> np.ndarray:
    """Per-frame header values: EDF/TIFF/CBF headers via fabio (headers only), or an HDF5 header dataset."""
    if stack is None or not key:
        raise GroupingError([f"timestamps 'header:{key}' need the stack and a header key name"], source=src)
    if stack.is_hdf5:
        import h5py

        with _open_h5(stack.path, src) as fh:  # type: ignore[arg-type]
            entry = fh[stack.dataset.split("/")[1]] if stack.dataset.count("/") > 1 else fh  # type: ignore[union-attr]
            groups = [g for k, g in entry.items() if isinstance(g, h5py.Group) and "header" in k.lower()]
            for g in groups + [fh[stack.dataset].parent]:
                if key in g and isinstance(g[key], h5py.Dataset) and g[key].ndim == 1:
                    return np.asarray(g[key][()], dtype=float)
            looked = ", ".join(g.name for g in groups) or "no header group"
        raise GroupingError(
            [f"no per-frame header dataset {key!r} in {stack.path} (looked in {looked} and next to the frames)"],
            source=src,
        )
    import fabio

    vals, bad = [], []
    for f in stack.files:
        raw = fabio.openheader(f).header.get(key)
        try:
            vals.append(float(str(raw).split()[0]))
        except (TypeError, ValueError, IndexError):
            bad.append(f)
            vals.append(float("nan"))
    if bad:
        raise GroupingError(
            [f"header key {key!r} is missing or not a number (s) in {len(bad)} file(s): {_list_s(bad)}"], source=src
        )
    return np.array(vals)


def _timestamp_problems(t: np.ndarray | None, n: int, grouping: Grouping, origin: str) -> list[str]:
    if t is None:
        if grouping.needs_timestamps:
            return [
                f"window_s={grouping.window_s:g} needs per-frame timestamps, but none were found; give "
                'timestamps = "run.h5::/entry/data/time" (HDF5 dataset), "run_frames.csv::time_s" (sidecar '
                'CSV column), "header:<key>" (a number in each frame\'s header) or an array, or group by '
                "frame count (every = N instead of window_s)"
            ]
        return []
    out = []
    if t.shape[0] != n:
        out.append(f"{t.shape[0]} timestamps ({origin}) for {n} frames; give exactly one time per frame")
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        out.append(f"timestamps ({origin}) are not finite at frame(s) {_list(bad)}; fix or drop those frames")
    d = np.diff(t)
    back = np.flatnonzero(~(d > 0) & np.isfinite(d))
    if back.size:
        k = int(back[0])
        out.append(
            f"timestamps ({origin}) are not strictly increasing: {back.size} step(s), first at frame {k + 1} "
            f"(t={t[k + 1]:g} s after t={t[k]:g} s); sort the frames or fix the clock"
        )
    return out


def _list(idx: Sequence[int] | np.ndarray, limit: int = 8) -> str:
    idx = [int(i) for i in idx]
    s = ", ".join(str(i) for i in idx[:limit])
    return s + (f", ... ({len(idx)} in all)" if len(idx) > limit else "")


# ----------------------------------------------------------------------
# windows
@dataclasses.dataclass(frozen=True)
class TimePoint:
    """One time point: a group of frames reduced together.

    Attributes
    ----------
    index : int
        0-based position in the series.
    time_s : float or None
        Time centre: the mean of the member frames' timestamps (None without timestamps).
    start_s, end_s : float or None
        Window edges (time windows) or the first/last member timestamp (frame-count groups).
    frames : tuple of int
        0-based frame indices in the stack.
    sources : tuple of str
        Frame references for :func:`saxs_mc.io.frames.expand_sources` / ``Reducer.reduce``.
    """

    index: int
    time_s: float | None
    start_s: float | None
    end_s: float | None
    frames: tuple[int, ...]
    sources: tuple[str, ...]

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        t = "" if self.time_s is None else f", t={self.time_s:.4g} s"
        return f"TimePoint({self.index}{t}, frames {self.frames[0]}..{self.frames[-1]} ({self.n_frames}))"

    def summary(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time_s": self.time_s,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "frame_range": [self.frames[0], self.frames[-1] + 1],  # [first, last + 1)
            "frames": None if self._contiguous else list(self.frames),  # listed only when not contiguous
            "n_frames": self.n_frames,
            "sources": list(self.sources),
        }

    @property
    def _contiguous(self) -> bool:
        return list(self.frames) == list(range(self.frames[0], self.frames[-1] + 1))

    def report(self) -> str:
        t = "" if self.time_s is None else f" t = {self.time_s:.4g} s [{self.start_s:.4g}, {self.end_s:.4g})"
        return f"time point {self.index}:{t}, {self.n_frames} frames ({self.frames[0]}..{self.frames[-1]})"


def _count_windows(n: int, g: Grouping) -> tuple[list[list[int]], list[str]]:
    width, step = int(g.every), int(g.step or g.every)  # type: ignore[arg-type]
    if width > n:
        return [], [f"every={width} is larger than the stack ({n} frames); use every <= {n}"]
    if step > width:
        return [], [f"step={step} > every={width} would skip frames; use step <= every"]
    starts = range(0, n - width + 1, step) if g.moving else range(0, n, width)
    groups = [list(range(a, min(a + width, n))) for a in starts]
    if groups and len(groups[-1]) < width and g.drop_partial:
        groups.pop()
    return groups, []


def _time_windows(t: np.ndarray, g: Grouping) -> tuple[list[list[int]], list[tuple[float, float]], list[str]]:
    width = float(g.window_s)  # type: ignore[arg-type]
    step = float(g.step_s or width)
    if step > width:
        return [], [], [f"step_s={step:g} > window_s={width:g} would skip frames; use step_s <= window_s"]
    origin = float(t[0]) if g.origin_s is None else float(g.origin_s)
    spacing = float(np.median(np.diff(t))) if t.size > 1 else width
    t_end = float(t[-1]) + spacing  # where the next frame would be: a window ending there is complete
    if origin > t[-1]:
        return [], [], [f"origin_s={origin:g} is after the last timestamp {t[-1]:g} s; use an earlier origin"]
    if g.moving:  # only windows inside the run
        n_win = int(math.floor((t_end - origin - width) / step + 1e-6)) + 1 if t_end - origin >= width - 1e-9 else 0
    else:  # windows tiling [origin, last timestamp]
        n_win = int(math.floor((float(t[-1]) - origin) / step + 1e-9)) + 1
    groups, edges, empty = [], [], []
    for k in range(n_win):
        a, b = origin + k * step, origin + k * step + width
        idx = np.flatnonzero((t >= a) & (t < b)).tolist()
        if not idx:
            empty.append(f"[{a:g}, {b:g}) s")
        groups.append(idx)
        edges.append((a, b))
    problems = []
    if g.moving and n_win == 0:
        problems.append(f"window_s={width:g} is longer than the run ({t[0]:g}-{t[-1]:g} s); use a shorter window")
    if empty:
        problems.append(
            f"{len(empty)} time window(s) hold no frame: {_list_s(empty)}; the timestamps have gaps "
            f"(frame spacing {spacing:g} s): widen window_s, or use every=N"
        )
    if not g.moving and groups and g.drop_partial and edges[-1][1] > t_end + 1e-6 * spacing:
        groups.pop()
        edges.pop()
    before = int(np.count_nonzero(t < origin))
    if before and g.origin_s is not None:
        problems.append(
            f"{before} frame(s) lie before origin_s={origin:g} s and belong to no time point; use an earlier origin_s"
        )
    return groups, edges, problems


def _list_s(items: Sequence[str], limit: int = 5) -> str:
    return ", ".join(items[:limit]) + (f", ... ({len(items)} in all)" if len(items) > limit else "")


@dataclasses.dataclass(frozen=True)
class StackGrouping:
    """The time points of one stack (iterable, indexable; frozen).

    Attributes
    ----------
    stack : FrameStack
    grouping : Grouping
    time_points : tuple of TimePoint
    timestamps_source : str
        Where the times came from (``"none"`` without timestamps).
    """

    stack: FrameStack
    grouping: Grouping
    time_points: tuple[TimePoint, ...]
    timestamps_source: str = "none"

    def __iter__(self) -> Iterator[TimePoint]:
        return iter(self.time_points)

    def __len__(self) -> int:
        return len(self.time_points)

    def __getitem__(self, k: int) -> TimePoint:
        return self.time_points[k]

    def __repr__(self) -> str:
        return (
            f"StackGrouping({self.stack.source!r}: {self.stack.n_frames} frames -> {len(self)} time points, "
            f"{self.grouping.describe()})"
        )

    def summary(self) -> dict[str, Any]:
        """JSON-safe record (for provenance and the pipeline's cache keys)."""
        return {
            "stack": self.stack.summary(),
            "grouping": self.grouping.to_dict(),
            "timestamps": self.timestamps_source,
            "n_time_points": len(self),
            "time_points": [tp.summary() for tp in self.time_points],
        }

    def report(self) -> str:
        used = len({i for tp in self.time_points for i in tp.frames})
        lines = [
            f"{self.stack.source}: {self.stack.n_frames} frames -> {len(self)} time points "
            f"({self.grouping.describe()}; timestamps: {self.timestamps_source}; {used} frames used)"
        ]
        lines += ["  " + tp.report() for tp in self.time_points]
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Each time point as a bar over its frames' time span (or frame range); returns the axes."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(5, 3)).add_subplot()
        timed = all(tp.time_s is not None for tp in self.time_points)
        for tp in self.time_points:
            a, b = (tp.start_s, tp.end_s) if timed else (tp.frames[0], tp.frames[-1] + 1)
            ax.plot([a, b], [tp.index, tp.index], color="C0", lw=3, solid_capstyle="butt")
            if timed:
                ax.plot([tp.time_s], [tp.index], "k|")
        ax.set_xlabel("time (s)" if timed else "frame")
        ax.set_ylabel("time point")
        return ax


def _describe_times(timestamps: Any, t: np.ndarray | None, stack: FrameStack) -> str:
    if t is None:
        return "none"
    if timestamps is None:
        return f"NeXus time axis of {stack.path}"
    if isinstance(timestamps, (str, os.PathLike)):
        return os.fspath(timestamps)
    return "array"


def group_frames(
    source: str | os.PathLike | Sequence[str | os.PathLike] | FrameStack, grouping: Grouping, *, timestamps: Any = None
) -> StackGrouping:
    """Group the frames of one stack into time points (reading shapes and timestamps only).

    Parameters
    ----------
    source : str, path, sequence of paths or FrameStack
        See :func:`open_stack`.
    grouping : Grouping
    timestamps : str, path, array-like or None
        See :func:`read_timestamps`.  With ``every=N`` they are optional (time points then
        carry times when available); with ``window_s`` they are required.

    Returns
    -------
    StackGrouping

    Raises
    ------
    GroupingError
        Listing every problem: N larger than the stack, timestamps missing / of the wrong
        length / not finite / not strictly increasing, time windows holding no frame, ...

    Examples
    --------
    A stack of 6 frames in groups of 3, then in 2 s windows of its timestamps:

    >>> import pathlib, tempfile
    >>> import h5py, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("entry/data/data", data=np.ones((6, 4, 4), dtype=np.uint32))
    >>> tps = group_frames(f"{path}::/entry/data/data", Grouping(every=3))
    >>> len(tps), [tp.frames for tp in tps]
    (2, [(0, 1, 2), (3, 4, 5)])
    >>> [tp.n_frames for tp in group_frames(f"{path}::/entry/data/data", Grouping(window_s=2.0),
    ...                                     timestamps=[0.0, 0.5, 1.0, 2.5, 3.0, 3.5])]
    [3, 3]
    """
    if not isinstance(grouping, Grouping):
        raise TypeError(f"grouping must be a Grouping, got {type(grouping).__name__}")
    stack = source if isinstance(source, FrameStack) else open_stack(source)
    problems: list[str] = []
    try:
        t = read_timestamps(timestamps, stack)
    except GroupingError as exc:
        t, problems = None, list(exc.problems)
    origin = _describe_times(timestamps, t, stack)
    if not problems:
        problems += _timestamp_problems(t, stack.n_frames, grouping, origin)
    if grouping.every is not None:
        groups, more = _count_windows(stack.n_frames, grouping)
        edges = None
    elif t is not None and not problems:
        groups, edges, more = _time_windows(t, grouping)
    else:
        groups, edges, more = [], None, []
    problems += more
    if problems:
        raise GroupingError(problems, source=stack.source)
    if t is not None and (t.shape[0] != stack.n_frames):
        t = None
    points = tuple(_time_point(k, idx, stack, t, None if edges is None else edges[k]) for k, idx in enumerate(groups))
    return StackGrouping(stack=stack, grouping=grouping, time_points=points, timestamps_source=origin)


def _time_point(
    k: int, idx: list[int], stack: FrameStack, t: np.ndarray | None, edge: tuple[float, float] | None
) -> TimePoint:
    if t is None:
        centre = start = end = None
    else:
        tt = t[idx]
        centre = float(tt.mean())
        start, end = (float(tt[0]), float(tt[-1])) if edge is None else (float(edge[0]), float(edge[1]))
    return TimePoint(
        index=k, time_s=centre, start_s=start, end_s=end, frames=tuple(int(i) for i in idx), sources=stack.refs(idx)
    )
