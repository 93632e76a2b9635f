"""Simulated acquisition: write the shipped series' frames into a folder at a given rate,
with partial writes like a detector writer (the final name grows in chunks).

``saxs-mc simulate --live OUTDIR --rate HZ`` copies ``sample_data/cdse_series/<cond>/*.edf``
to ``OUTDIR/<cond>/`` -- blanks first, then the samples in series order, including the
gas-bubble frame of nuc260C -- each frame opened under its final name and written in
``chunks`` pieces with a short sleep between them, one frame every ``1/rate`` seconds.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: the frame dataset of the stacks written by :func:`write_live_hdf5`
STACK_DATASET = "/entry/data/data"
#: per-frame header values (one 1D dataset per numeric EDF header key), appended just before each frame
STACK_HEADERS = "/entry/id02_headers"

#: the shipped series (relative to the repository root)
SHIPPED_SERIES = Path(__file__).resolve().parents[2] / "sample_data" / "cdse_series"


@dataclasses.dataclass(frozen=True)
class LiveRun:
    """What :func:`write_live` wrote: the files in order, and the elapsed time."""

    outdir: Path
    files: tuple[Path, ...]
    elapsed_s: float
    completed_at: tuple[float, ...] = ()  # wall-clock time (time.time()) each frame's last byte was written

    def __repr__(self) -> str:
        return f"LiveRun({len(self.files)} frames -> {self.outdir}, {self.elapsed_s:.1f} s)"

    def report(self) -> str:
        return f"wrote {len(self.files)} frames into {self.outdir} in {self.elapsed_s:.1f} s"

    def summary(self) -> dict:
        return {
            "outdir": str(self.outdir),
            "files": [str(f) for f in self.files],
            "elapsed_s": self.elapsed_s,
            "completed_at": list(self.completed_at),
        }


def live_frames(source: Path, conditions: Sequence[str] | None = None) -> list[Path]:
    """The frames of ``source`` in acquisition order: blanks first, then the others, sorted."""
    dirs = sorted(d for d in source.iterdir() if d.is_dir() and any(d.glob("*.edf")))
    if conditions:
        missing = [c for c in conditions if not (source / c).is_dir()]
        if missing:
            raise ValueError(f"--conditions {missing}: not folders of {source}; choose among {[d.name for d in dirs]}")
        dirs = [source / c for c in conditions]
    dirs.sort(key=lambda d: (not d.name.startswith("blank"), d.name))
    return [f for d in dirs for f in sorted(d.glob("*.edf"))]


def write_live_config(outdir: Path, hdf5: bool = False) -> Path:
    """``OUTDIR/live.toml``: the shipped series' pipeline reading ``OUTDIR/<cond>/*.edf`` (or, with ``hdf5``, the
    growing stacks ``OUTDIR/<cond>/<cond>.h5::/entry/data/data``) into ``OUTDIR/results``."""
    repo = SHIPPED_SERIES.parents[1]
    text = (repo / "pipelines" / "cdse_nucleation_series.toml").read_text()
    out = outdir.resolve()
    # absorbance spectra are measured beside the run, not acquired live: keep reading the shipped ones
    text = text.replace(
        '"../sample_data/cdse_series/spectra/', f'"{(SHIPPED_SERIES / "spectra").resolve().as_posix()}/'
    )
    text = text.replace('"../sample_data/cdse_series/', f'"{out.as_posix()}/')
    text = text.replace('"../calibration/', f'"{(repo / "calibration").as_posix()}/')
    text = text.replace('dir = "../results/cdse_nucleation_series"', f'dir = "{(out / "results").as_posix()}"')
    text = text.replace("n_workers = 0", "n_workers = 1")
    if hdf5:
        text = re.sub(r'/(\w+)/\1_\*\.edf"', rf'/\1/\1.h5::{STACK_DATASET}"', text)
    path = outdir / "live.toml"
    outdir.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by saxs-mc simulate --live: saxs-mc watch " + str(path) + "\n" + text)
    return path


def write_partial(src: Path, dst: Path, chunks: int, pause_s: float) -> None:
    """Copy ``src`` to ``dst`` under its final name in ``chunks`` writes with ``pause_s`` between them."""
    data = src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    step = max(1, -(-len(data) // max(1, chunks)))
    with open(dst, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i : i + step])
            fh.flush()  # visible to readers now (no fsync: a detector writer does not sync every chunk either)
            if i + step < len(data):
                time.sleep(pause_s)


def write_live(
    outdir: str | Path,
    rate_hz: float,
    *,
    source: str | Path | None = None,
    conditions: Sequence[str] | None = None,
    chunks: int = 4,
    limit: int | None = None,
) -> LiveRun:
    """Write the frames of ``source`` (default: the shipped series) into ``outdir`` at ``rate_hz``.

    Parameters
    ----------
    outdir : path
        Folder receiving ``<condition>/<frame>.edf``.
    rate_hz : float
        Frames per second (> 0).
    source : path, optional
        Series folder with ``<condition>/*.edf``.
    conditions : sequence of str, optional
        Only these condition folders (in acquisition order: blanks first).
    chunks : int
        Writes per frame (>= 1); the frame is partial on disk between them.
    limit : int, optional
        Stop after this many frames.

    Examples
    --------
    >>> write_live("/tmp/live", 2.0, conditions=["blank_230C", "nuc190C"])  # doctest: +SKIP
    """
    if not rate_hz > 0:
        raise ValueError(f"--rate={rate_hz}: give frames per second > 0, e.g. --rate 2")
    if chunks < 1:
        raise ValueError(f"chunks={chunks} must be >= 1")
    src = Path(source) if source is not None else SHIPPED_SERIES
    if not src.is_dir():
        raise FileNotFoundError(f"series folder {src} does not exist; give --live-source with <condition>/*.edf")
    frames = live_frames(src, conditions)[:limit]
    out = Path(outdir)
    if source is None:
        log.info("config for the watch: %s", write_live_config(out))
    period = 1.0 / rate_hz
    pause = min(0.05, 0.5 * period / chunks)
    t0 = time.perf_counter()
    written, done = [], []
    for i, f in enumerate(frames):
        wait = t0 + i * period - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        dst = out / f.parent.name / f.name
        write_partial(f, dst, chunks, pause)
        written.append(dst)
        done.append(time.time())
        log.info("frame %d/%d: %s", i + 1, len(frames), dst)
    return LiveRun(out, tuple(written), time.perf_counter() - t0, tuple(done))


class SwmrStack:
    """An HDF5 frame stack appended to under SWMR, like a detector writer (``with`` closes it).

    Layout: ``/entry/data/data`` (n, ny, nx), chunked one frame per chunk; one 1D dataset per
    numeric header key under ``/entry/id02_headers`` (read by :mod:`saxs_mc.io.frames` as
    per-frame values); text header values as attributes of ``/entry/data``.  Each append
    writes and flushes the header values first, then the frame: a reader that refreshes
    the frame dataset never sees a frame without its header values.
    """

    def __init__(self, path: Path, first_header: dict, shape: tuple[int, int], dtype: object) -> None:
        import h5py

        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = h5py.File(path, "w", libver="latest")
        data = self.fh.create_group("/entry/data")
        self.keys = []
        hdr = self.fh.create_group(STACK_HEADERS)
        for k, v in first_header.items():
            try:
                float(v)
            except (TypeError, ValueError):
                data.attrs[k] = str(v)
                continue
            if k not in _EDF_LAYOUT_KEYS:
                hdr.create_dataset(k, shape=(0,), maxshape=(None,), dtype="f8", chunks=(64,))
                self.keys.append(k)
        self.ds = data.create_dataset(
            "data", shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(1, *shape)
        )
        self.hdr = hdr
        self.n = 0
        self.fh.swmr_mode = True

    def append(self, frame: object, header: dict) -> None:
        for k in self.keys:
            d = self.hdr[k]
            d.resize((self.n + 1,))
            d[self.n] = float(header.get(k, "nan"))
            d.flush()
        self.ds.resize(self.n + 1, axis=0)
        self.ds[self.n] = frame
        self.ds.flush()
        self.n += 1

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> SwmrStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_EDF_LAYOUT_KEYS = frozenset(
    {"EDF_DataBlockID", "EDF_BinarySize", "EDF_HeaderSize", "Image", "HeaderID", "Size", "Dim_1", "Dim_2"}
)


def write_live_hdf5(
    outdir: str | Path,
    rate_hz: float,
    *,
    source: str | Path | None = None,
    conditions: Sequence[str] | None = None,
    limit: int | None = None,
) -> LiveRun:
    """Append the frames of ``source`` to one SWMR stack per condition, ``OUTDIR/<cond>/<cond>.h5``, at ``rate_hz``.

    A stack is created (and SWMR writing started) at its condition's first frame and closed after its
    last.  ``LiveRun.files`` holds ``stack.h5::/entry/data/data[i]`` per frame.

    Examples
    --------
    >>> write_live_hdf5("/tmp/live", 2.0, conditions=["blank_230C", "nuc190C"])  # doctest: +SKIP
    """
    import fabio

    if not rate_hz > 0:
        raise ValueError(f"--rate={rate_hz}: give frames per second > 0, e.g. --rate 2")
    src = Path(source) if source is not None else SHIPPED_SERIES
    if not src.is_dir():
        raise FileNotFoundError(f"series folder {src} does not exist; give --live-source with <condition>/*.edf")
    frames = live_frames(src, conditions)[:limit]
    out = Path(outdir)
    if source is None:
        log.info("config for the watch: %s", write_live_config(out, hdf5=True))
    period = 1.0 / rate_hz
    t0 = time.perf_counter()
    written, done = [], []
    stack: SwmrStack | None = None
    try:
        for i, f in enumerate(frames):
            with fabio.open(str(f)) as img:
                data, header = img.data, dict(img.header)
            cond = f.parent.name
            path = out / cond / f"{cond}.h5"
            if stack is None or stack.fh.filename != str(path):
                if stack is not None:
                    stack.close()
                stack = SwmrStack(path, header, data.shape, data.dtype)
            wait = t0 + i * period - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            stack.append(data, header)
            written.append(Path(f"{path}::{STACK_DATASET}[{stack.n - 1}]"))
            done.append(time.time())
            log.info("frame %d/%d: %s", i + 1, len(frames), written[-1])
    finally:
        if stack is not None:
            stack.close()
    return LiveRun(out, tuple(written), time.perf_counter() - t0, tuple(done))
