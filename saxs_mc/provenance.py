"""Provenance: package versions, input hashes and timestamps for every output."""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
import sys
from pathlib import Path

_PACKAGES = (
    "saxs_mc",
    "numpy",
    "scipy",
    "numba",
    "pyFAI",
    "fabio",
    "h5py",
    "hdf5plugin",
    "lmfit",
    "matplotlib",
    "dask",
    "distributed",
)


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages saxs_mc relies on (JSON-safe)."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's content."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def utc_now() -> str:
    """Current UTC time in ISO 8601 with a ``Z`` suffix."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
