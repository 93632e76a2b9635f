"""Progress on long work (issue 14 item 8): a bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from saxs_mc import _progress
from saxs_mc._progress import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def lines():
    """Messages of the ``saxs_mc.progress`` logger, whatever the ``saxs_mc`` logger's propagation."""
    handler = _Lines()
    logger = logging.getLogger("saxs_mc.progress")
    saved = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(saved)


def _clock(step: float):
    t = [-step]

    def tick() -> float:
        t[0] += step
        return t[0]

    return tick


def test_without_a_terminal_logs_a_line_per_interval_and_a_final_one(lines):
    stream = io.StringIO()
    with progress(30, "reduce s1", "frame", interval_s=10.0, stream=stream, clock=_clock(1.0)) as bar:
        for _ in range(25):
            bar.update()
    assert stream.getvalue() == ""  # no bar characters in a log file
    # clock: 0 at start, then 1 s per update -> lines at 10 and 20 s, a final line at close
    assert lines == [
        "reduce s1: 10/30 frames (33 %), 10 s elapsed, ~20 s left",
        "reduce s1: 20/30 frames (67 %), 20 s elapsed, ~10 s left",
        "reduce s1: 25/30 frames (83 %), 26 s elapsed",
    ]


def test_short_work_without_a_terminal_stays_silent(lines):
    with progress(3, "fit", "repetition", interval_s=10.0, stream=io.StringIO(), clock=_clock(1.0)) as bar:
        bar.update(3)
    assert lines == []


def test_on_a_terminal_a_tqdm_bar_is_drawn_and_nothing_is_logged(lines):
    stream = _Tty()
    with progress(4, "MC repetitions", "repetition", stream=stream, clock=_clock(100.0)) as bar:
        assert bar.mode == "bar"
        bar.update(4)
        assert bar._bar.n == 4  # tqdm redraws at most every 0.1 s, so the text may still show 0/4
    assert "MC repetitions:" in stream.getvalue() and "/4 [" in stream.getvalue()
    assert lines == []


def test_disabled_reports_nothing(lines):
    stream = _Tty()
    with progress(4, "x", stream=stream, enabled=False, interval_s=0.0) as bar:
        bar.update(4)
    assert bar.mode == "off" and stream.getvalue() == "" and lines == []


def test_fit_reports_repetitions_in_the_log_without_a_terminal(lines, monkeypatch):
    from saxs_mc.fit import fit_arrays
    from saxs_mc.models.distributions import make_distribution

    monkeypatch.setattr(_progress, "LOG_INTERVAL_S", 0.0)  # a line at every update
    q = np.geomspace(0.2, 5.0, 80)
    i = make_distribution({"kind": "gaussian", "mean_nm": 1.5, "sd_nm": 0.1, "volume_fraction": 1e-3}).dsigma(q, 34.65)
    i = i + 0.01
    fit_arrays(q, i, 0.02 * i, contributions=50, repetitions=3, seed=2, progress=True)
    assert lines and lines[-1].startswith("MC repetitions: 3/3 repetitions (100 %)")
    lines.clear()
    fit_arrays(q, i, 0.02 * i, contributions=50, repetitions=3, seed=2, progress=False)
    assert lines == []
