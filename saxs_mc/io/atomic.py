"""Atomic file writes: an interrupted run never leaves a half-written file."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _create_temp(target: Path, suffix: str) -> Path:
    """Create an empty, uniquely named file next to ``target``.

    Unlike ``tempfile.mkstemp`` (mode 0600) the file is created with mode
    0666 filtered by the process umask, like any file ``open()`` creates, so
    finished outputs get the user's usual permissions.
    """
    for _ in range(100):
        name = f".{target.stem}.{secrets.token_hex(6)}{suffix}.part"
        path = target.parent / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise FileExistsError(f"could not create a temporary file next to {target}")


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (best effort; not all file systems allow it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    Whatever is written to the yielded path (by h5py, matplotlib, numpy, ...)
    only appears under ``target`` once the block exits without an exception;
    the rename is atomic on POSIX file systems.  On error the temporary file
    is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    tmp_path = _create_temp(target, suffix)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_h5_buffer(target: str | Path, *, copy_from: str | Path | None = None) -> Iterator[Any]:
    """Yield an in-memory file for ``h5py.File(buf, mode)``; on success write its bytes to ``target`` atomically.

    HDF5 never touches the disk: a failed write (disk full, file-size limit,
    read-only folder) is a plain ``OSError`` from Python's own ``write``,
    raised cleanly and with the temporary file removed.  (When HDF5 itself
    writes to a file and a write fails while the file is being flushed or
    closed, h5py leaves dangling object ids behind whose deallocation later
    crashed the interpreter with a segmentation fault, exit code 139.)

    Parameters
    ----------
    target : path
        The ``.h5`` file to (re)place.
    copy_from : path, optional
        Start from the bytes of this file (then open the buffer with mode ``"r+"``).
    """
    import io

    buf = io.BytesIO(Path(copy_from).read_bytes() if copy_from is not None else b"")
    yield buf
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(buf.getbuffer())


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json_atomic(target: str | Path, obj: Any, *, indent: int = 2) -> Path:
    """Write a JSON-safe object to ``target`` atomically (``allow_nan=False``)."""
    return write_text_atomic(target, json.dumps(obj, indent=indent, allow_nan=False, sort_keys=False) + "\n")


def jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, Paths and non-finite floats to JSON-safe values.

    NaN and +-inf become ``None``; tuples become lists; dict keys become str.
    """
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


# ----------------------------------------------------------------------
# steps whose files succeed or fail as a unit
STAGING_PREFIX = ".staging-"


@contextlib.contextmanager
def staged_folder(outdir: str | Path) -> Iterator[Path]:
    """Yield a fresh staging folder inside ``outdir``; on success move its files into ``outdir``.

    Everything a step writes goes into the staging folder first; only when the
    block exits without an exception are the files moved into ``outdir``
    (each by an atomic rename on the same file system), so a failed step
    leaves neither a partial set of outputs nor temporary files behind.  The
    folder name carries the process id (``.staging-<pid>-<hex>``), so files
    left by a killed process can be found and removed
    (:func:`remove_stale_staging`).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with staged_folder(d) as stage:
    ...     _ = (stage / "a.txt").write_text("a")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt']
    """
    import shutil

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stage = outdir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    os.mkdir(stage)
    try:
        yield stage
        for p in sorted(stage.iterdir()):
            if p.is_dir() and not p.is_symlink():
                raise IsADirectoryError(f"staging folder {stage} holds a sub-folder {p.name}; steps write plain files")
        for p in sorted(stage.iterdir()):
            os.replace(p, outdir / p.name)
        os.rmdir(stage)
        _fsync_dir(outdir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def remove_stale_staging(outdir: str | Path) -> list[Path]:
    """Remove the staging folders and ``.part`` files left in ``outdir`` by killed processes; return them.

    Call it only where no other process can be writing (e.g. under the pipeline's output lock).
    """
    import shutil

    outdir = Path(outdir)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(outdir))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for e in entries:
        if e.name.startswith(STAGING_PREFIX) and e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
            removed.append(Path(e.path))
        elif e.name.startswith(".") and e.name.endswith(".part") and e.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(e.path)
            removed.append(Path(e.path))
    return removed


# ----------------------------------------------------------------------
# environmental write failures, named in one line
#: errno values that mean "the environment refused the write", with what to do
WRITE_FAILURES: dict[str, str] = {
    "ENOSPC": "no space left on the device; free space or choose another output folder",
    "EDQUOT": "disk quota exceeded; free space or choose another output folder",
    "EFBIG": "file too large for the file-size limit (ulimit -f) or the file system",
    "EROFS": "read-only file system; choose a writable output folder",
    "EACCES": "permission denied; choose an output folder you can write to",
    "EPERM": "operation not permitted; choose an output folder you can write to",
}


def write_failure_errno(exc: BaseException) -> str | None:
    """The errno name (``"ENOSPC"``, ...) if ``exc`` (or its cause chain) is an environmental write failure."""
    import errno as _errno

    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        exc = cur
        if isinstance(exc, OSError) and exc.errno is not None:
            name = _errno.errorcode.get(exc.errno)
            if name in WRITE_FAILURES:
                return name
        text = str(exc)
        for name in WRITE_FAILURES:  # h5py/HDF5 wrap errno into their own messages
            code = getattr(_errno, name, None)
            if code is not None and (f"errno = {code}," in text or f"[Errno {code}]" in text):
                return name
        cur, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def describe_write_failure(exc: BaseException, where: str | Path | None = None) -> str:
    """One line naming the cause of a failed write (``ENOSPC: no space left ... (writing X)``)."""
    name = write_failure_errno(exc)
    loc = f" (writing {where})" if where is not None else ""
    if name is None:
        return f"{type(exc).__name__}: {exc}{loc}".replace("\n", " ")
    fn = getattr(exc, "filename", None)
    loc = f" (writing {fn})" if fn and where is None else loc
    return f"{name}: {WRITE_FAILURES[name]}{loc}"


def ignore_sigxfsz() -> None:
    """Turn the file-size-limit signal into an ``EFBIG`` error on the write that exceeds it.

    By default a process writing past ``ulimit -f`` (RLIMIT_FSIZE) is killed by
    SIGXFSZ with a core dump: no message and no clean-up of temporary files.
    Ignoring the signal makes the write fail with ``OSError(EFBIG)`` instead,
    which the atomic writers clean up and report.  Safe to call repeatedly.
    """
    import signal
    import threading

    if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


# ----------------------------------------------------------------------
# the output location, checked before any computation
class OutputLocationError(ValueError):
    """The output location cannot be written (a file where a folder is needed, read-only, full)."""


#: free space below which an output location is refused before computing
MIN_FREE_BYTES = 1 << 20


def _existing_ancestor(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_location(
    path: str | Path, *, folder: bool, option: str = "-o", min_free_bytes: int = MIN_FREE_BYTES
) -> Path:
    """Check that ``path`` can receive outputs, before any computation; return it.

    Parameters
    ----------
    path : str or Path
        The output folder (``folder=True``) or output file.
    folder : bool
        Whether ``path`` names a folder (created later if missing) or a file.
    option : str
        How the user gave the path (named in the message), e.g. ``"-o"``.
    min_free_bytes : int
        Refuse when the file system has less free space than this.

    Raises
    ------
    OutputLocationError (a ValueError: exit code 2 from the CLI)
        One line naming the path, the problem and the fix.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_output_location(d / "new" / "out", folder=True) == d / "new" / "out"
    True
    """
    import errno as _errno
    import shutil

    path = Path(path)
    ignore_sigxfsz()
    if folder and path.exists() and not path.is_dir():
        raise OutputLocationError(f"{option} {path}: is an existing file, not a folder; give a folder name")
    if not folder and path.is_dir():
        raise OutputLocationError(f"{option} {path}: is an existing folder; give a file name such as {path / 'out.h5'}")
    base = path if folder and path.is_dir() else _existing_ancestor(path.parent if not folder else path)
    if not base.is_dir():
        raise OutputLocationError(f"{option} {path}: {base} is an existing file, not a folder; fix the path")
    probe = base / f".saxs_mc-write-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:  # the only reliable test of writability (read-only mounts, ACLs, root squash)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise OutputLocationError(f"{option} {path}: cannot write in {base}: {describe_write_failure(exc)}") from None
    with contextlib.suppress(OSError):
        probe.unlink()
    free = shutil.disk_usage(base).free
    if free < min_free_bytes:
        raise OutputLocationError(
            f"{option} {path}: {describe_write_failure(OSError(_errno.ENOSPC, 'full'))} ({free} bytes free in {base})"
        )
    return path
