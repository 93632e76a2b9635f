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
