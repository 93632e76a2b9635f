"""Content-hash cache of pipeline steps.

A step's *key* is the SHA-256 of a canonical JSON document holding the
step's function, its settings, the BLAKE3 digest of every input file's content,
the keys of its upstream steps, the saxs_mc version and a digest of the
source code the step runs.  A step is done when its manifest
(``<step dir>/manifest.json``, written atomically *after* all outputs) holds
the same key and every output it lists still has the SHA-256 recorded when
it was written; a re-run skips it and redoes everything else, logging why
(a damaged or replaced output).

Input files are hashed by content in every run: a (path, device, inode,
size, mtime, ctime) shortcut is only used *within* one run or worker process
(:class:`FileHashCache` lives in memory), never to decide a cache hit across
runs, because files rewritten with other data of the same size and a
restored mtime (``touch -r``) must not be served from the cache.  Each
step's manifest names its inputs with the digests they had when the step
ran (``input_digests``).  Input frames are hashed with BLAKE3 (the
``blake3`` package; cryptographic, SIMD): on the 2-core test machine under
load it streamed 1.1-1.4 GB/s where hashlib's SHA-256 gave 0.4 GB/s and
BLAKE2b 0.8 GB/s; ``benchmarks/pipeline.py`` measures its share of a run.
Outputs (small) are recorded with SHA-256 like every provenance record.

An input may also be a *frame reference* into an HDF5 stack, ``file.h5::/dataset[i:j]`` (a time
point of a ``[[stacks]]`` entry): it is digested from the stored chunks of exactly those frames and
the header values read with them (:func:`saxs_mc.pipeline.digests.frame_ref_digest`, digest
``"h5frames-blake3:<hex>"``), not from the whole file, so frames appended to the stack or changed
in another time point leave its key alone.  Plain files (EDF, TIFF, PONI, mask) are hashed whole.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import jsonable, write_json_atomic
from saxs_mc.provenance import file_sha256

from .safety import UnsafeOutputError, resolve_inside

__all__ = [
    "FileHashCache",
    "canonical_json",
    "digest",
    "file_digest",
    "file_sha256",
    "input_digests",
    "step_key",
    "read_manifest",
    "manifest_is_current",
    "check_manifest",
    "write_manifest",
    "remove_manifest",
    "MANIFEST_NAME",
]

MANIFEST_NAME = "manifest.json"

log = logging.getLogger("saxs_mc.pipeline")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace) used for hashing."""
    return json.dumps(jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(obj: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def file_digest(path: str | Path, *, block: int = 1 << 20) -> str:
    """BLAKE3 hex digest of a file's content, streamed in blocks of ``block`` bytes.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a"
    >>> _ = p.write_bytes(b"abc")
    >>> file_digest(p)[:16]
    '6437b3ac38465133'
    """
    import blake3

    h = blake3.blake3()
    buf = bytearray(block)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


class FileHashCache:
    """BLAKE3 of file contents, memoized in memory by the file's (device, inode, size, mtime, ctime).

    The memo saves re-hashing a file that several steps read (the PONI, the
    mask) or that the same run looks at twice; it is never persisted, so every
    run hashes its inputs by content.  Any write to a file changes its ctime,
    which (unlike the mtime, ``touch -r``) cannot be set back, so a file
    rewritten while the memo lives is hashed again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[tuple[int, ...], str]] = {}
        self.n_hashed = 0
        self.bytes_hashed = 0

    def digest(self, file: str | Path) -> str:
        """Content digest of ``file`` (hashed once per run unless its size or mtime changes).

        ``file`` may be a frame reference ``file.h5::/dataset[i:j]``: then only those frames
        (stored chunks and their header values) are digested (:mod:`saxs_mc.pipeline.digests`).
        """
        from .digests import frame_ref_digest, is_frame_ref

        ref = is_frame_ref(file)
        k, stamp = self._memo_key(file)
        with self._lock:
            m = self._memo.get(k)
            if m is not None and m[0] == stamp:
                return m[1]
        h = frame_ref_digest(k) if ref else file_digest(k)
        self._remember(k, stamp, h, 0 if ref else stamp[2])
        return h

    def digest_all(self, files: Iterable[str | Path], *, threads: int = 4) -> None:
        """Digest every input once, in threads (BLAKE3 releases the GIL): plain files one by one, frame
        references into one HDF5 file together (one open file and header read for all the time points)."""
        from .digests import frame_ref_digests, is_frame_ref

        names: list[str] = list(dict.fromkeys(str(f) for f in files))
        by_file: dict[str, list[str]] = {}
        for f in names:
            if is_frame_ref(f):
                by_file.setdefault(self._memo_key(f)[0].partition("::")[0], []).append(f)

        def refs_of_one_file(specs: list[str]) -> None:
            todo = {}
            for f in specs:
                k, stamp = self._memo_key(f)
                with self._lock:
                    m = self._memo.get(k)
                if m is None or m[0] != stamp:
                    todo[k] = stamp
            for k, h in frame_ref_digests(list(todo)).items():
                self._remember(k, todo[k], h, 0)

        with cf.ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            futs: list[cf.Future[Any]] = [pool.submit(refs_of_one_file, specs) for specs in by_file.values()]
            futs += [pool.submit(self.digest, f) for f in names if not is_frame_ref(f)]
            for fut in futs:
                fut.result()

    @staticmethod
    def _memo_key(file: str | Path) -> tuple[str, tuple[int, ...]]:
        """(resolved path, plus ``::dataset[...]`` of a frame reference; the file's stamp)."""
        from .digests import is_frame_ref, ref_file

        p = ref_file(file).resolve()
        st = p.stat()
        k = f"{p}::{str(file).partition('::')[2]}" if is_frame_ref(file) else str(p)
        return k, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def _remember(self, k: str, stamp: tuple[int, ...], h: str, nbytes: int) -> None:
        with self._lock:
            self._memo[k] = (stamp, h)
            self.n_hashed += 1
            self.bytes_hashed += nbytes


#: digests of a worker process (manifest provenance, :func:`input_digests`)
_WORKER_HASHES = FileHashCache()


def input_digests(inputs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{input: digest}`` of a step's inputs as this process finds them, recorded in its manifest.

    A plain file's digest is the BLAKE3 hex digest of its content; a frame reference
    ``file.h5::/dataset[i:j]`` gets ``"h5frames-blake3:<hex>"`` (its frames' stored chunks and header
    values, :mod:`saxs_mc.pipeline.digests`): the same digests the step's key was computed from when the
    inputs did not change in between.  An input that cannot be read is recorded as ``"unreadable: <why>"``
    (the step itself then reports the problem).
    """
    out = {}
    for p in inputs:
        try:
            out[p] = _WORKER_HASHES.digest(p)
        except (OSError, ValueError) as exc:
            out[p] = f"unreadable: {type(exc).__name__}: {exc}"
    return out


def step_key(
    *, func: str, settings: dict[str, Any], input_digests: dict[str, str], upstream_keys: dict[str, str], version: str
) -> str:
    """The cache key of one step (see module docstring)."""
    return digest(
        {
            "func": func,
            "settings": settings,
            "inputs": input_digests,
            "upstream": upstream_keys,
            "saxs_mc": version,
        }
    )


def read_manifest(step_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a step folder, or None if absent/unreadable."""
    p = Path(step_dir) / MANIFEST_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_manifest(step_dir: str | Path, key: str, root: str | Path) -> tuple[dict[str, Any] | None, str]:
    """``(manifest, "")`` if the step is cached, else ``(None, why not)``.

    Cached means: the manifest records ``key``, every output it lists lies
    inside ``root`` (no absolute path, ``..`` or symbolic link) and still has
    the SHA-256 recorded when it was written.
    """
    m = read_manifest(step_dir)
    if m is None:
        return None, "no manifest"
    if m.get("key") != key:
        return None, "inputs, settings or code changed"
    result = m.get("result")
    outputs = result.get("outputs") if isinstance(result, dict) else None
    hashes = m.get("output_sha256")
    if not isinstance(outputs, dict) or not isinstance(hashes, dict):
        return None, "manifest without output hashes (older saxs_mc or damaged)"
    for name, rel in outputs.items():
        try:
            path = resolve_inside(root, rel, f"output {name!r} in {Path(step_dir) / MANIFEST_NAME}")
        except UnsafeOutputError as exc:
            return None, str(exc)
        try:
            actual = file_sha256(path)
        except OSError as exc:
            return None, f"output {rel} is unreadable ({type(exc).__name__}: {exc})"
        if actual != hashes.get(name):
            return None, f"output {rel} differs from the file the step wrote (damaged or replaced)"
    return m, ""


def manifest_is_current(step_dir: str | Path, key: str, root: str | Path) -> dict[str, Any] | None:
    """The manifest if the step is cached (see :func:`check_manifest`); else None."""
    return check_manifest(step_dir, key, root)[0]


def output_hashes(outputs: dict[str, str], root: str | Path) -> dict[str, str]:
    """SHA-256 of every output (paths relative to ``root``), recorded in the manifest."""
    return {name: file_sha256(resolve_inside(root, rel, f"output {name!r}")) for name, rel in outputs.items()}


def write_manifest(step_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically (call only after every output is in place)."""
    return write_json_atomic(Path(step_dir) / MANIFEST_NAME, jsonable(manifest))


def remove_manifest(step_dir: str | Path) -> None:
    """Invalidate a step (before re-running it)."""
    try:
        os.unlink(Path(step_dir) / MANIFEST_NAME)
    except FileNotFoundError:
        pass
