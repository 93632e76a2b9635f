"""Per-frame monitor tables written beside the frames (CSV, TSV, whitespace columns, BioCAT/RAW ``.log``).

One reader for the common layouts:

* a delimited table with one header line of column names (``frame,I0,I1,exposure``),
  comma, tab, semicolon or whitespace separated;
* a BioCAT / BioXTAS-RAW ``.log``: ``#key: value`` metadata lines, then a ``#Filename``
  (or ``#image``) line of tab-separated column names, then one tab-separated row per frame;
* the same with the column names on the last ``#`` comment line before the data (SPEC-like ``#L``
  lines are accepted too: ``#L Epoch I0 I1 Seconds``).

Rows are matched to frames by name when the table has a frame column (the file name with or
without its extension; for frames of a stack, ``name[index]``, an integer column holding the
frame index in its file, or BioCAT's Eiger naming: frame k of ``<prefix>_data_<n>.h5`` is row
``<prefix>_<(n-1) * frames per file + k + 1, six digits>``), else by order: the k-th frame of the reduction gets the k-th row, and
the numbers of rows and frames must agree.

Columns are recognised by name (case-insensitive) unless mapped explicitly
(``ReductionSettings.table_columns``):

=====================  ==============================================================
field                  recognised names
=====================  ==============================================================
frame                  filename, file, frame, image, name, index
transmitted_monitor    i1, it, intensity1, transmitted, i_t, bstop, beamstop
incident_monitor       i0, intensity0, incident, i_0, monitor, mon
exposure_time          exposure_time, exposure, exp_time, count_time, time, seconds
=====================  ==============================================================
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saxs_mc.io.frames import FrameRef

_ALIASES = {
    "frame": ("filename", "file", "frame", "image", "name", "index", "file_name", "frame_name"),
    "transmitted_monitor": ("i1", "it", "intensity1", "transmitted", "i_t", "bstop", "beamstop"),
    "incident_monitor": ("i0", "intensity0", "incident", "i_0", "monitor", "mon"),
    "exposure_time": ("exposure_time", "exposure", "exp_time", "count_time", "time", "seconds", "exposuretime"),
}


@dataclasses.dataclass(frozen=True)
class MonitorTable:
    """A parsed monitor table: column names, rows (str cells) and which column serves which field."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    fields: Mapping[str, str]

    def __repr__(self) -> str:
        return f"MonitorTable({self.path!r}, {len(self.rows)} rows, fields={dict(self.fields)})"

    def values_for(self, refs: Sequence[FrameRef]) -> list[dict[str, float]]:
        """Per-frame ``{field: value}`` for ``refs`` (in order); see the module doc for the matching rule.

        Raises
        ------
        ValueError
            A frame without a row, a count mismatch when matching by order, a non-numeric cell.
        """
        rows = self._match(refs)
        out = []
        for ref, row in zip(refs, rows):
            vals: dict[str, float] = {}
            for field, col in self.fields.items():
                if field == "frame":
                    continue
                cell = row[self.columns.index(col)]
                try:
                    vals[field] = float(cell)
                except ValueError:
                    raise ValueError(
                        f"{self.path}: column {col!r} of the row for {ref.name} is {cell!r}, not a number; "
                        "fix the table or map another column"
                    ) from None
            out.append(vals)
        return out

    def _match(self, refs: Sequence[FrameRef]) -> list[tuple[str, ...]]:
        col = self.fields.get("frame")
        if col is None:
            if len(self.rows) != len(refs):
                raise ValueError(
                    f"{self.path}: {len(self.rows)} row(s) for {len(refs)} frame(s) and no frame column to "
                    "match them by name; give one row per frame, in order, or add a frame/Filename column "
                    "(map it with table_columns frame=<column>)"
                )
            return list(self.rows)
        k = self.columns.index(col)
        index: dict[str, Any] = {}
        for r in self.rows:
            index.setdefault(r[k].strip(), r)
        out = []
        for ref in refs:
            row = next((index[c] for c in _candidates(ref) if c in index), None)
            if row is None:
                raise ValueError(
                    f"{self.path}: no row for frame {ref.name} in column {col!r} (tried "
                    f"{', '.join(repr(c) for c in _candidates(ref)[:4])}); add the row or fix the frame names"
                )
            out.append(row)
        return out


def _candidates(ref: FrameRef) -> list[str]:
    """Names a table row may give this frame (see the module doc)."""
    name, stem = ref.path.name, ref.path.stem
    if ref.index is not None and ref.n_in_file > 1:
        out = [f"{name}[{ref.index}]", f"{stem}[{ref.index}]", str(ref.index)]
        m = re.match(r"^(?P<prefix>.*)_data_(?P<n>\d+)$", stem)
        if m:  # BioCAT Eiger: frame k of <prefix>_data_<n>.h5 is row <prefix>_<(n-1)*frames+k+1, 6 digits>
            number = (int(m.group("n")) - 1) * ref.n_in_file + ref.index + 1
            out.append(f"{m.group('prefix')}_{number:06d}")
        return out
    return [name, stem, str(ref.path)]


def _split(line: str, delim: str | None) -> list[str]:
    return [c.strip() for c in (line.split(delim) if delim else line.split())]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _layout(lines: list[str]) -> tuple[list[str], list[str], str | None]:
    """(column names, data lines, delimiter) of a table's lines."""
    data_start = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if data_start is None:
        raise ValueError("no data rows")
    first = lines[data_start]
    delim = next((d for d in ("\t", ",", ";") if d in first), None)
    cells = _split(first, delim)
    if not any(_is_number(c) for c in cells[1:]) or all(not _is_number(c) for c in cells):
        header, data = cells, lines[data_start + 1 :]
    else:  # the names are on the last comment line (BioCAT '#Filename', SPEC '#L')
        comments = [ln.lstrip()[1:] for ln in lines[:data_start] if ln.lstrip().startswith("#")]
        if not comments:
            raise ValueError("no header line with column names")
        head = comments[-1]
        head = head[2:] if head.startswith("L ") else head
        header, data = _split(head, delim), lines[data_start:]
    return header, [ln for ln in data if ln.strip() and not ln.lstrip().startswith("#")], delim


def read_monitor_table(path: str | Path, columns: Mapping[str, str] | None = None) -> MonitorTable:
    """Read a per-frame monitor table (see the module doc for the layouts and the matching rule).

    Parameters
    ----------
    path : str or Path
    columns : mapping field -> column name, optional
        Explicit columns for ``frame``, ``transmitted_monitor``, ``incident_monitor``, ``exposure_time``.

    Returns
    -------
    MonitorTable

    Raises
    ------
    ValueError
        Missing/unreadable file, no header, ragged rows, or a mapped column that does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"monitor table {p} does not exist; check the path (--monitor-table)")
    try:
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
        header, data, delim = _layout(lines)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"monitor table {p}: cannot read it ({exc}); give a CSV/TSV with a header line of column "
            "names, or a BioCAT/RAW .log"
        ) from None
    rows = []
    for n, ln in enumerate(data, 1):
        cells = _split(ln, delim)
        if len(cells) < len(header):
            raise ValueError(
                f"monitor table {p}: data row {n} has {len(cells)} cells for {len(header)} columns "
                f"({ln[:60]!r}); fix the row"
            )
        rows.append(tuple(cells[: len(header)]))
    fields = _map_columns(header, dict(columns or {}), p)
    return MonitorTable(path=str(p), columns=tuple(header), rows=tuple(rows), fields=fields)


def _map_columns(header: list[str], explicit: dict[str, str], path: Path) -> dict[str, str]:
    missing = [f"{f}={c!r}" for f, c in explicit.items() if c not in header]
    if missing:
        raise ValueError(f"monitor table {path}: mapped column(s) {', '.join(missing)} not found; columns are {header}")
    out = dict(explicit)
    low = {re.sub(r"[\s.]", "", h).lower(): h for h in header}
    for field, names in _ALIASES.items():
        if field not in out:
            hit = next((low[n] for n in names if n in low), None)
            if hit is not None and hit not in out.values():
                out[field] = hit
    return out


def table_values(table: str | None, columns: Any, refs: Sequence[FrameRef]) -> list[dict[str, Any]]:
    """Per-frame table values for ``refs`` (empty dicts without a table)."""
    if table is None:
        return [{} for _ in refs]
    return read_monitor_table(table, dict(columns)).values_for(refs)
