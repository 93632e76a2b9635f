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

from .page import FigureCache, write_live_page
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


class _Workers:
    """A process pool whose workers were spawned once and warmed up (fit kernels loaded)."""

    def __init__(self, n: int, wake: threading.Event) -> None:
        import concurrent.futures
        import multiprocessing

        from .worker import init_worker

        levels = {n: logging.getLogger(n).getEffectiveLevel() for n in ("saxs_mc", "saxs_mc.pipeline", "saxs_mc.fit")}
        self._new = lambda: concurrent.futures.ProcessPoolExecutor(
            max_workers=n, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker, initargs=(levels,)
        )
        self.pool = self._new()
        self.wake = wake
        self.warm = [self.submit(_ping) for _ in range(n)]

    def submit(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            fut = self.pool.submit(fn, *args)
        except BrokenProcessPool:  # a worker died (e.g. killed): a new pool, and the task again
            log.error("a worker process died; starting new ones")
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new()
            fut = self.pool.submit(fn, *args)
        fut.add_done_callback(lambda f: self.wake.set())  # the loop takes results at once
        return fut

    def interrupt(self) -> None:
        """SIGINT to the workers (a running sync stops as 'run' does on Ctrl-C)."""
        import os

        for p in list(getattr(self.pool, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGINT)

    def close(self) -> None:
        procs = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # a fit in flight is dropped (fits write nothing)
            with contextlib.suppress(Exception):
                p.terminate()
                p.join(5)


def _ping() -> float:
    from .worker import ping

    return ping()


@contextlib.contextmanager
def _workers(session: WatchSession) -> Iterator[tuple[_Workers, _Workers]]:
    import os

    n = session.settings.n_workers or os.cpu_count() or 1
    fits, sync = _Workers(n, session.wake), _Workers(1, session.wake)
    try:
        yield fits, sync
    finally:
        if session.sync_future is not None and not session.sync_future.done():
            log.info("stopping: waiting for the batch pipeline to stop cleanly (cached steps are kept)")
            sync.interrupt()
            with contextlib.suppress(Exception):
                session.sync_future.result(timeout=120)
        fits.close()
        sync.close()


class _Page:
    """Rewrites the live page when the state changed, at most every ``page_every_s``."""

    def __init__(self, session: WatchSession) -> None:
        self.session = session
        self.written_at = 0.0
        self.version = -1
        self.figures = FigureCache(session.cfg.output.dir / "live", enabled=session.cfg.output.figures)

    def __call__(self, force: bool = False) -> None:
        s = self.session
        now = time.monotonic()
        if not force and (now - self.written_at < s.settings.page_every_s):
            return
        try:
            figs = self.figures.update(s)
            write_live_page(
                s.cfg.output.dir,
                s.cfg.name,
                s.status(),
                s.status_line(),
                s.last_sample,
                figs,
                live_svg=self.figures.curve_svg(s),
            )
        except OSError as exc:
            log.error("live page not written: %s", exc)
        self.written_at, self.version = now, s.version


def warm_up(session: WatchSession) -> None:
    """Import the reduction code and build the reducers before the first frame (the curve path's latency
    is then not the interpreter's start-up); the fit workers warm up in parallel."""
    t0 = time.perf_counter()
    import saxs_mc.reduce.reducer  # noqa: F401

    live = session._live()
    try:
        live.warm()
    except Exception as exc:  # e.g. a PONI that cannot be read: the curve path reports it on the first frame
        log.debug("integrator not warmed up: %s", exc)
    log.debug("warmed up in %.1f s", time.perf_counter() - t0)


def _curves(session: WatchSession) -> None:
    """One curve update; an error (e.g. a frame removed between the scan and the update) is logged, not fatal."""
    from saxs_mc.reduce.reducer import SetupError

    try:
        if session.update_curves():
            session.last_activity = time.monotonic()
    except (OSError, ValueError, SetupError) as exc:
        log.error("update failed: %s; trying again in %g s", exc, session.settings.status_every_s)
        session.dirty_since = time.monotonic() + session.settings.status_every_s


def _idle(session: WatchSession) -> bool:
    st, c = session.settings, session.counts()
    return bool(
        st.idle_exit_s
        and session.frames
        and c["pending"] == 0
        and c["waiting"] == 0
        and session.dirty_since is None
        and session.sync_future is None
        and (session.complete_keys() == session.synced_keys or session.live_config() is None)
        and time.monotonic() - session.last_activity >= st.idle_exit_s
    )


def _step(session: WatchSession, fits: _Workers, sync: _Workers) -> None:
    """One turn of the loop: scan, curve path, fits, sync."""
    st = session.settings
    now = time.time()
    if session.scan(now):
        session.dirty_since = session.dirty_since or time.monotonic()
    if session.dirty_since and time.monotonic() - session.dirty_since >= st.debounce_s:
        session.dirty_since = None
        _curves(session)
    session.collect_fits()
    for name in session.fits_due(now):
        session.start_fit(name, fits.submit)
    session.collect_sync()
    if session.sync_due(now):
        session.start_sync(sync.submit)


def run_watch(session: WatchSession) -> str:
    """Watch until stopped (Ctrl-C, SIGTERM) or idle for ``idle_exit_s``; return why it ended."""
    st = session.settings
    warm_up(session)
    last_status = time.monotonic()
    why = "stopped"
    page = _Page(session)
    with _sigterm_as_interrupt(), _observer(session), _workers(session) as (fits, sync):
        try:
            page(force=True)
            while not session.stop.is_set():
                _step(session, fits, sync)
                page()
                if time.monotonic() - last_status >= st.status_every_s:
                    log.info("%s", session.status_line())
                    last_status = time.monotonic()
                if _idle(session):
                    why = f"idle for {st.idle_exit_s:g} s"
                    break
                session.wake.wait(st.poll_s if session.dirty_since is None else min(st.poll_s, st.debounce_s))
                session.wake.clear()
        except KeyboardInterrupt:
            why = "interrupted"
    log.info("watch ended (%s): %s", why, session.status_line())
    page(force=True)
    return why
