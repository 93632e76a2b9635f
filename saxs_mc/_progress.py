"""Progress on long work: a tqdm bar on a terminal, periodic log lines otherwise.

A batch job or a ``nohup`` run has no terminal, and a bar written there is either lost or a wall of
carriage returns.  :func:`progress` gives one object for both cases: on a terminal it wraps
:class:`tqdm.tqdm`; otherwise it logs ``"<desc>: 12/300 frames (4 %), 9.8 s elapsed, ~236 s left"``
at INFO level every ``interval_s`` seconds (and once at the end if it logged anything), so log files
show the work moving.

Examples
--------
>>> import io, logging
>>> ticks = iter(range(0, 100, 6))               # a fake clock: 6 s per call
>>> stream = io.StringIO()                        # not a terminal
>>> logger = logging.getLogger("saxs_mc.doctest.progress")
>>> logger.addHandler(logging.StreamHandler(stream)); logger.setLevel(logging.INFO)
>>> with progress(4, "reduce", "frame", interval_s=10, stream=stream, logger=logger,
...               clock=lambda: next(ticks)) as bar:
...     for _ in range(4):
...         bar.update()
>>> print(stream.getvalue().strip())
reduce: 2/4 frames (50 %), 12 s elapsed, ~12 s left
reduce: 4/4 frames (100 %), 24 s elapsed
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ["LOG_INTERVAL_S", "Progress", "progress"]

#: seconds between two progress log lines when stderr is not a terminal
LOG_INTERVAL_S = 10.0

_log = logging.getLogger("saxs_mc.progress")


class Progress:
    """Counts finished units and shows them as a bar (terminal) or as periodic log lines (no terminal).

    Use :func:`progress` to make one.  ``mode`` is ``"bar"``, ``"log"`` or ``"off"``.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str,
        *,
        mode: str,
        interval_s: float,
        logger: logging.Logger,
        clock: Callable[[], float],
        stream: TextIO,
    ) -> None:
        self.total = int(total)
        self.desc = desc
        self.unit = unit
        self.mode = mode
        self.interval_s = float(interval_s)
        self.done = 0
        self.lines = 0
        self._logged_done = -1
        self._logger = logger
        self._clock = clock
        self._t0 = clock()
        self._last = self._t0
        self._bar: Any = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, unit=unit, leave=False, file=stream)

    def update(self, n: int = 1) -> None:
        """``n`` more units are finished."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "log":
            now = self._clock()
            if now - self._last >= self.interval_s:
                self._last = now
                self._emit(now)

    def close(self) -> None:
        """Close the bar; in log mode write a last line if lines were written but not the final count."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "log" and self.lines and self._logged_done != self.done:
            self._emit(self._clock(), final=True)
            self.mode = "off"

    def _emit(self, now: float, final: bool = False) -> None:
        elapsed = now - self._t0
        pct = 100.0 * self.done / self.total if self.total else 100.0
        text = f"{self.desc}: {self.done}/{self.total} {self.unit}s ({pct:.0f} %), {elapsed:.0f} s elapsed"
        if not final and 0 < self.done < self.total:
            text += f", ~{elapsed * (self.total - self.done) / self.done:.0f} s left"
        self._logger.info("%s", text)
        self.lines += 1
        self._logged_done = self.done

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def progress(
    total: int,
    desc: str,
    unit: str = "item",
    *,
    enabled: bool = True,
    interval_s: float | None = None,
    stream: TextIO | None = None,
    logger: logging.Logger | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Progress:
    """A progress reporter over ``total`` units of work.

    Parameters
    ----------
    total : int
        Units of work (frames, repetitions).
    desc, unit : str
        What is being done (``"reduce sample"``) and the unit's name (``"frame"``; an "s" is added).
    enabled : bool
        False: report nothing (``-q``, ``--no-progress`` or a library call).
    interval_s : float, optional
        Without a terminal: seconds between two log lines (default :data:`LOG_INTERVAL_S`).
    stream : file-like, optional
        Where a bar would go and whose ``isatty()`` picks the mode (default ``sys.stderr``).
    logger : logging.Logger, optional
        Logger of the lines (default ``saxs_mc.progress``, INFO level).
    clock : callable
        Seconds, monotonic (tests pass a fake one).

    Returns
    -------
    Progress
        A context manager with ``update(n=1)`` and ``close()``.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    mode = "off" if not enabled else ("bar" if callable(isatty) and isatty() else "log")
    return Progress(
        total,
        desc,
        unit,
        mode=mode,
        interval_s=LOG_INTERVAL_S if interval_s is None else interval_s,
        logger=logger or _log,
        clock=clock,
        stream=stream,
    )
