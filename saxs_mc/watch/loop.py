"""The watch loop: a watchdog PollingObserver wakes the loop on file events (it polls, so it
works on network file systems); the loop also wakes every ``poll_s`` to re-check files that
are still being written and to time out frames that stay corrupt."""

from __future__ import annotations

import contextlib
import glob
import logging
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .page import write_live_page
from .session import WatchSession

log = logging.getLogger("saxs_mc.watch")


def _watch_roots(session: WatchSession) -> list[Path]:
    """The deepest existing folder above each glob's first wildcard."""
    roots = set()
    for pats in session.groups.values():
        for pat in pats:
            parts = Path(pat).parts
            cut = next((i for i, p in enumerate(parts) if glob.has_magic(p)), len(parts) - 1)
            d = Path(*parts[:cut])
            while not d.is_dir() and d != d.parent:
                d = d.parent
            roots.add(d)
    return sorted(roots)


@contextlib.contextmanager
def _observer(session: WatchSession) -> Iterator[Any]:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers.polling import PollingObserver

    class _Wake(FileSystemEventHandler):
        def on_any_event(self, event: Any) -> None:
            session.wake.set()

    obs = PollingObserver(timeout=session.settings.poll_s)
    for root in _watch_roots(session):
        obs.schedule(_Wake(), str(root), recursive=True)
    obs.start()
    try:
        yield obs
    finally:
        obs.stop()
        obs.join(timeout=5)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the session like Ctrl-C (cached steps kept, the lock released)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _page(session: WatchSession) -> None:
    try:
        write_live_page(session.cfg.output.dir, session.cfg.name, session.status(), session.status_line(),
                        session.last_sample, figures=session.cfg.output.figures)
    except OSError as exc:
        log.error("live page not written: %s", exc)


def warm_up(session: WatchSession) -> None:
    """Import the reduction and plotting code and compile (or load) the fit kernels before the first frame,
    so that the first frame's latency is not the interpreter's start-up (in-process updates only)."""
    if session.settings.n_workers != 1:
        return
    t0 = time.perf_counter()
    import matplotlib.backends.backend_agg  # noqa: F401  (fit plots; no pyplot, no GUI backend)

    import saxs_mc.reduce.reducer  # noqa: F401
    from saxs_mc.pipeline.steps import warm_fit_kernels

    fit_log = logging.getLogger("saxs_mc.fit")
    level = fit_log.level
    fit_log.setLevel(logging.ERROR)  # the tiny warm-up fit's convergence warning is not about the data
    try:
        warm_fit_kernels()
    finally:
        fit_log.setLevel(level)
    log.debug("warmed up in %.1f s", time.perf_counter() - t0)


def _process(session: WatchSession) -> None:
    """One update; while another ``saxs-mc run`` holds the output folder, or after an error, try again later."""
    from saxs_mc.pipeline.run import OutputLockedError

    try:
        if session.process() is not None:
            session.last_activity = time.monotonic()
    except OutputLockedError as exc:
        log.warning("%s; trying again in %g s", exc, session.settings.status_every_s)
        session.dirty_since = time.monotonic() + session.settings.status_every_s
    except (OSError, ValueError) as exc:  # e.g. a frame removed between the scan and the update: keep watching
        log.error("update failed: %s; trying again in %g s", exc, session.settings.status_every_s)
        session.dirty_since = time.monotonic() + session.settings.status_every_s


def run_watch(session: WatchSession) -> str:
    """Watch until stopped (Ctrl-C, SIGTERM) or idle for ``idle_exit_s``; return why it ended."""
    st = session.settings
    warm_up(session)
    last_status = time.monotonic()
    why = "stopped"
    with _sigterm_as_interrupt(), _observer(session):
        try:
            _page(session)
            while not session.stop.is_set():
                now = time.time()
                if session.scan(now):
                    session.dirty_since = session.dirty_since or time.monotonic()
                if session.dirty_since and time.monotonic() - session.dirty_since >= st.debounce_s:
                    session.dirty_since = None
                    _process(session)
                    _page(session)
                if time.monotonic() - last_status >= st.status_every_s:
                    log.info("%s", session.status_line())
                    _page(session)
                    last_status = time.monotonic()
                c = session.counts()
                if (st.idle_exit_s and session.frames and c["pending"] == 0 and c["waiting"] == 0 and session.dirty_since is None
                        and time.monotonic() - session.last_activity >= st.idle_exit_s):
                    why = f"idle for {st.idle_exit_s:g} s"
                    break
                session.wake.wait(st.poll_s)
                session.wake.clear()
        except KeyboardInterrupt:
            why = "interrupted"
    log.info("watch ended (%s): %s", why, session.status_line())
    _page(session)
    return why
