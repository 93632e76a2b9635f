"""The monitor table beside the frames (``[normalization] monitor_table``) as it grows line by line.

A frame is handed to the pipeline only once the table has its row.  The table is read
up to its last complete line (a line still being written is not read); a table that
does not parse is logged once, with the reader's message naming the row, and new frames
wait until it is fixed.  Tables without a frame column are matched by order by the
reduction: they cannot be checked per frame and are not followed (said once).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from .complete import stat_key

log = logging.getLogger("saxs_mc.watch")


class SidecarTable:
    """Follows one monitor table; :meth:`has_row` tells whether a frame's row is there (and parses)."""

    def __init__(self, path: str | Path, columns: Any) -> None:
        self.path = Path(path)
        self.columns = dict(columns or ())
        self.stat: tuple[int, int] | None = None
        self.table: Any = None
        self.problem: str | None = None
        self.unchecked = False

    def refresh(self) -> bool:
        """Re-read the table if it changed; True when it changed."""
        from saxs_mc.reduce.monitors import read_monitor_table

        st = stat_key(self.path)
        if st == self.stat:
            return False
        self.stat = st
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            return self._set_problem(f"cannot read it ({exc})")
        complete = data[: data.rfind(b"\n") + 1]  # the last line may still be being written
        with tempfile.NamedTemporaryFile(suffix=self.path.suffix) as tmp:
            tmp.write(complete)
            tmp.flush()
            try:
                table = read_monitor_table(tmp.name, self.columns)
            except ValueError as exc:
                return self._set_problem(str(exc).replace(tmp.name, str(self.path)))
        self.table, self.problem = table, None
        if "frame" not in table.fields and not self.unchecked:
            self.unchecked = True
            log.info("monitor table %s has no frame column: rows cannot be matched per frame while it grows", self.path)
        return True

    def _set_problem(self, msg: str) -> bool:
        if msg != self.problem:
            log.warning("monitor table %s: %s; new frames wait until it parses", self.path, msg)
        self.table, self.problem = None, msg
        return True

    def missing_row(self, frame: Path) -> str | None:
        """None when ``frame`` may be used, else why it waits."""
        from saxs_mc.io.frames import FrameRef

        if self.problem is not None:
            return f"monitor table does not parse: {self.problem}"
        if self.table is None or "frame" not in self.table.fields:
            return None if self.table is not None else "monitor table not read yet"
        try:
            self.table.values_for([FrameRef(path=frame)])
        except ValueError as exc:
            return f"waiting for its row in the monitor table ({exc})"
        return None

    def row(self, ref: Any) -> dict[str, Any]:
        """This frame's values from the table (empty without a frame column: the batch sync matches by order)."""
        if self.table is None or "frame" not in self.table.fields:
            return {}
        try:
            return dict(self.table.values_for([ref])[0])
        except ValueError:
            return {}
