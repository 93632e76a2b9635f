"""Content-hash cache of pipeline steps.

A step's *key* is the SHA-256 of a canonical JSON document holding the
step's function, its settings, the SHA-256 of every input file's content,
the keys of its upstream steps, the saxs_mc version and a digest of the
source code the step runs.  A step is done
when its manifest (``<step dir>/manifest.json``, written atomically *after*
all outputs) holds the same key and every output it lists exists; a re-run
skips it and redoes everything else.

File digests are memoized in ``<output>/.saxs_mc/file_hashes.json`` by
(resolved path, size, mtime_ns), so unchanged raw frames are hashed once.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import jsonable, write_json_atomic
from saxs_mc.provenance import file_sha256

__all__ = ["FileHashCache", "canonical_json", "digest", "file_sha256", "step_key", "read_manifest",
           "manifest_is_current", "write_manifest", "remove_manifest", "MANIFEST_NAME"]

MANIFEST_NAME = "manifest.json"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) used for hashing."""
    return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(obj: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


class FileHashCache:
    """SHA-256 of file contents, memoized by (path, size, mtime_ns).

    Parameters
    ----------
    path : Path or None
        JSON file where the memo is persisted (None: memory only).
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._memo: dict[str, dict[str, Any]] = {}
        self._dirty = False
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self._memo = {k: v for k, v in data.items() if isinstance(v, dict)}
            except (OSError, ValueError):
                self._memo = {}  # a corrupt memo only costs re-hashing

    def sha256(self, file: str | Path) -> str:
        """Content digest of ``file`` (re-hashed when its size or mtime changed)."""
        p = Path(file).resolve()
        st = p.stat()
        k = str(p)
        with self._lock:
            m = self._memo.get(k)
            if m and m.get("size") == st.st_size and m.get("mtime_ns") == st.st_mtime_ns:
                return str(m["sha256"])
        h = file_sha256(p)
        with self._lock:
            self._memo[k] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": h}
            self._dirty = True
        return h

    def save(self) -> None:
        """Persist the memo atomically (no-op when nothing changed)."""
        with self._lock:
            if self.path is None or not self._dirty:
                return
            memo = dict(self._memo)
            self._dirty = False
        write_json_atomic(self.path, memo, indent=0)


def step_key(*, func: str, settings: dict[str, Any], input_digests: dict[str, str],
             upstream_keys: dict[str, str], version: str) -> str:
    """The cache key of one step (see module docstring)."""
    return digest({
        "func": func,
        "settings": settings,
        "inputs": input_digests,
        "upstream": upstream_keys,
        "saxs_mc": version,
    })


def read_manifest(step_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a step folder, or None if absent/unreadable."""
    p = Path(step_dir) / MANIFEST_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def manifest_is_current(step_dir: str | Path, key: str, root: str | Path) -> dict[str, Any] | None:
    """The manifest if it records ``key`` and all its outputs exist; else None."""
    m = read_manifest(step_dir)
    if m is None or m.get("key") != key:
        return None
    outputs = (m.get("result") or {}).get("outputs") or {}
    for rel in outputs.values():
        if not (Path(root) / rel).exists():
            return None
    return m


def write_manifest(step_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically (call only after every output is in place)."""
    return write_json_atomic(Path(step_dir) / MANIFEST_NAME, jsonable(manifest))


def remove_manifest(step_dir: str | Path) -> None:
    """Invalidate a step (before re-running it)."""
    try:
        os.unlink(Path(step_dir) / MANIFEST_NAME)
    except FileNotFoundError:
        pass
