"""Is a frame file complete on disk?  Checks that never read a half-written frame.

* EDF: the header is parsed (only the header bytes are read) and the file is
  complete when its size equals header size + ``Size`` (or dim1 x dim2 x bytes
  of ``DataType``);
* TIFF and other fabio formats: complete when size and mtime were the same at
  two polls at least ``stable_s`` apart *and* fabio then reads the file;
* a file that stays incomplete or unreadable, unchanged for ``corrupt_timeout_s``,
  is rejected with the reason (and examined again only if it changes).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

#: bytes per pixel of the EDF ``DataType`` values
EDF_BYTES = {
    "signedbyte": 1,
    "unsignedbyte": 1,
    "signedshort": 2,
    "unsignedshort": 2,
    "signedinteger": 4,
    "unsignedinteger": 4,
    "signedlong": 4,
    "unsignedlong": 4,
    "signed64": 8,
    "unsigned64": 8,
    "floatvalue": 4,
    "float": 4,
    "doublevalue": 8,
    "double": 8,
    "float32": 4,
    "float64": 8,
}
_KEY = re.compile(rb"^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*;?\s*$")
#: most header bytes read to find the end of an EDF header
EDF_MAX_HEADER = 1 << 20


@dataclasses.dataclass(frozen=True)
class Check:
    """Result of one completeness check: ``state`` is ``complete``, ``pending`` or ``bad``."""

    state: str
    reason: str = ""
    shape: tuple[int, ...] | None = None


def edf_layout(path: str | Path) -> tuple[int, int, tuple[int, int]]:
    """(header bytes, data bytes, (rows, cols)) of an EDF file, reading only its header.

    Raises
    ------
    ValueError
        If the header is not (yet) complete or lacks the dimensions.
    """
    with open(path, "rb") as fh:
        head = fh.read(EDF_MAX_HEADER)
    if not head.startswith(b"{"):
        raise ValueError("does not start with an EDF header '{'")
    end = head.find(b"}\n")
    if end < 0:
        raise ValueError("EDF header not terminated (file still being written, or truncated)")
    keys: dict[str, str] = {}
    for line in head[1:end].splitlines():
        m = _KEY.match(line)
        if m:
            keys[m.group(1).decode("ascii", "replace").lower()] = m.group(2).decode("ascii", "replace").strip()
    try:
        cols, rows = int(keys["dim_1"]), int(keys["dim_2"])
    except (KeyError, ValueError):
        raise ValueError("EDF header has no integer Dim_1/Dim_2") from None
    if "size" in keys and keys["size"].isdigit():
        nbytes = int(keys["size"])
    else:
        per = EDF_BYTES.get(keys.get("datatype", "").lower())
        if per is None:
            raise ValueError(f"EDF DataType {keys.get('datatype')!r} unknown and no Size key")
        nbytes = rows * cols * per
    return end + 2, nbytes, (rows, cols)


def check_edf(path: Path, size: int) -> Check:
    """Complete when ``size`` == header + data bytes (a longer file is a multi-frame EDF: fabio decides)."""
    try:
        hdr, nbytes, shape = edf_layout(path)
    except (OSError, ValueError) as exc:
        return Check("pending", f"header: {exc}")
    if size < hdr + nbytes:
        return Check("pending", f"truncated EDF: {size} of {hdr + nbytes} bytes")
    if size == hdr + nbytes:
        return Check("complete", "", shape)
    return check_fabio(path)


def check_fabio(path: Path) -> Check:
    """Complete when fabio reads the whole frame without error (call only once the size is stable)."""
    import fabio

    try:
        with fabio.open(str(path)) as img:
            shape = tuple(int(n) for n in img.data.shape)
    except Exception as exc:  # any reader failure: not (yet) a valid frame
        return Check("pending", f"fabio cannot read it: {type(exc).__name__}: {exc}")
    return Check("complete", "", shape)


def check_file(path: Path, size: int, stable: bool) -> Check:
    """Completeness of one frame file of ``size`` bytes; ``stable``: unchanged across two polls."""
    if path.suffix.lower() == ".edf":
        return check_edf(path, size)
    if not stable:
        return Check("pending", "size still changing")
    return check_fabio(path)


def hdf5_committed_frames(path: str | Path, dataset: str) -> int:
    """Frames of ``dataset`` (axis 0) committed by the writer, read-only (SWMR when the writer uses it).

    A 2D dataset counts as one frame.  Raises OSError/KeyError while the file
    or dataset does not exist yet.
    """
    import h5py
    import hdf5plugin  # noqa: F401  (filters of detector stacks)

    try:
        fh = h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:
        fh = h5py.File(path, "r")  # not written in SWMR mode: only a closed file is readable
    with fh:
        d = fh[dataset]
        if fh.swmr_mode:
            d.refresh()
        return 1 if d.ndim == 2 else int(d.shape[0])


def stat_key(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) or None when the file vanished."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns
