"""Executors of pipeline steps: serial, a local process pool, or a dask.distributed cluster.

All three have the same small interface, used by :class:`saxs_mc.pipeline.driver.Driver`:
``submit(step, key, root, upstream) -> future``, ``wait(futures) -> (done, not_done)``
(first completed) and ``close(wait)``; the process pool adds ``restart()``,
``dead_workers()`` and ``can_restart`` for dead-worker handling.  Results are
identical on all three:

- ``serial``: one step at a time in topological order, in this process
  (``n_workers=1``);
- ``processes``: a local :class:`concurrent.futures.ProcessPoolExecutor`
  (spawned workers; the default, one worker per core).  Workers ignore Ctrl-C
  (the driver stops them), exit when the driver dies (:func:`_watch_parent`)
  and get their share of the cores for numba/BLAS threads;
- ``dask``: an existing ``dask.distributed`` scheduler (``scheduler=ADDRESS``
  or a ``distributed.Client``); outputs go to the shared output folder.

A step travels to a worker as a :class:`~saxs_mc.pipeline.tasks.Step`, whose
step function pickles by reference (:mod:`saxs_mc.pipeline.registry`).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from typing import Any

from .tasks import Step, run_step

log = logging.getLogger("saxs_mc.pipeline")

#: how long to try to reach a dask scheduler given by address
DASK_CONNECT_TIMEOUT = "15s"


class _SerialExecutor:
    name = "serial"

    def submit(self, step: Step, key: str, root: str, upstream: dict) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(run_step(step, key, root, upstream))
        except Exception as exc:  # reported by the driver
            fut.set_exception(exc)
        return fut

    def wait(self, futs: list) -> tuple[set, set]:
        return cf.wait(futs, return_when=cf.FIRST_COMPLETED)

    def close(self, wait: bool = True) -> None:
        pass


_LOGGERS = ("saxs_mc", "saxs_mc.reduce", "saxs_mc.fit", "saxs_mc.peaks", "saxs_mc.io", "saxs_mc.pipeline")


def _log_levels() -> dict[str, int]:
    out = {name: logging.getLogger(name).level for name in _LOGGERS}
    out["saxs_mc"] = logging.getLogger("saxs_mc").getEffectiveLevel()
    return out


#: seconds between a worker's checks that its parent is alive
PARENT_WATCH_INTERVAL_S = 0.2


def _watch_parent(parent: int) -> None:
    """Exit this worker as soon as its parent (the driver) is gone, e.g. after ``kill -9``."""

    def watch() -> None:
        while True:
            time.sleep(PARENT_WATCH_INTERVAL_S)
            if os.getppid() != parent:
                os._exit(1)  # the step's staging folder is removed by the next run

    threading.Thread(target=watch, name="saxs_mc-parent-watch", daemon=True).start()


def _worker_init(threads: int, log_levels: dict[str, int], parent: int | None = None) -> None:
    # before numba/BLAS are imported in the worker: no oversubscription
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)

    from saxs_mc.io.atomic import ignore_sigxfsz

    # Ctrl-C is the driver's business: it stops the workers itself (no traceback from each worker)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ignore_sigxfsz()  # a file-size limit is an EFBIG error, not a core dump
    if parent is not None:
        _watch_parent(parent)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("saxs_mc")
    root.handlers[:] = [handler]
    root.propagate = False
    for name, level in log_levels.items():
        logging.getLogger(name).setLevel(level)


class _ProcessExecutor:
    name = "processes"
    can_restart = True

    def __init__(self, n_workers: int, name: str = "processes"):
        self.name = name
        self.n_workers = n_workers
        self._known: dict[int, Any] = {}
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.n_workers)
        return cf.ProcessPoolExecutor(
            max_workers=self.n_workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(threads, _log_levels(), os.getpid()),
        )

    def submit(self, step: Step, key: str, root: str, upstream: dict) -> cf.Future:
        fut = self.pool.submit(run_step, step, key, root, upstream)
        self._known.update(getattr(self.pool, "_processes", None) or {})  # the pool forgets dead workers
        return fut

    def wait(self, futs: list) -> tuple[set, set]:
        return cf.wait(futs, return_when=cf.FIRST_COMPLETED)

    def dead_workers(self) -> dict[int, int]:
        """pid -> exit status of the workers of a broken pool that died on their own (not stopped by the pool)."""
        out = {}
        for pid, p in list(self._known.items()):
            code = _exit_status(p, 1.0)  # the pool is terminating them all: wait for their exit status
            if code not in (None, 0, -signal.SIGTERM):
                out[pid] = code
        return out

    def restart(self) -> None:
        """Replace a broken pool (a worker died) by a fresh one."""
        self._stop_workers()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._known = {}
        self.pool = self._new_pool()

    def _stop_workers(self, grace_s: float = 0.5) -> None:
        procs = list({**self._known, **(getattr(self.pool, "_processes", None) or {})}.values())
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + grace_s
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()

    def close(self, wait: bool = True) -> None:
        if not wait:  # interrupted: stop the running steps now (their staging folders go with them)
            self._stop_workers()
        self.pool.shutdown(wait=wait, cancel_futures=True)


def _exit_status(p: Any, timeout: float, publish_s: float = 10.0) -> int | None:
    """Exit status of worker process ``p``; ``None`` if it is still running after ``timeout`` seconds.

    The pool's own thread reaps its workers too (``waitpid``).  When it wins, our ``waitpid`` fails and
    ``p.exitcode`` stays ``None`` until that thread stores the status: a dead process (its sentinel is ready)
    is given up to ``publish_s`` seconds for that, so that its signal can be named.
    """
    p.join(timeout)
    deadline = time.monotonic() + publish_s
    while p.exitcode is None and time.monotonic() < deadline:
        if not multiprocessing.connection.wait([p.sentinel], timeout=0):
            return None  # still running
        time.sleep(0.005)  # dead, reaped by the pool's thread: let it store the status
    return p.exitcode


def death_cause(codes: list[int]) -> str:
    """One line for the exit status of a dead worker (negative: killed by that signal)."""
    if not codes:
        return "a worker process died"
    c = codes[0]
    if c < 0:
        try:
            name = signal.Signals(-c).name
        except ValueError:
            name = f"signal {-c}"
        hint = {
            "SIGKILL": " (killed: out of memory, or kill -9)",
            "SIGSEGV": " (crashed)",
            "SIGXFSZ": " (file-size limit)",
            "SIGBUS": " (crashed: file truncated or disk full?)",
        }.get(name, "")
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with code {c}"


class _DaskExecutor:
    name = "dask"

    def __init__(self, scheduler: Any):
        import distributed

        self._distributed = distributed
        if isinstance(scheduler, distributed.Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client = distributed.Client(scheduler, set_as_default=False, timeout=DASK_CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise ValueError(
                    f"cannot connect to the dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); "
                    "start one (dask scheduler / dask worker) or drop --scheduler and "
                    "[execution] scheduler to run on local processes"
                ) from None
            self._own = True
        log.info(
            "dask scheduler %s (%d workers)",
            self.client.scheduler.address,
            len(self.client.scheduler_info().get("workers", {})),
        )

    def submit(self, step: Step, key: str, root: str, upstream: dict) -> Any:
        return self.client.submit(
            run_step,
            step,
            key,
            root,
            upstream,
            pure=False,
            key=f"saxs_mc-{step.kind}-{step.target}-{os.urandom(4).hex()}",
        )

    def wait(self, futs: list) -> tuple[set, set]:
        with self.client.as_current():  # our client need not be the default one
            done, not_done = self._distributed.wait(futs, return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def close(self, wait: bool = True) -> None:
        if self._own:
            self.client.close()


def make_executor(scheduler: Any, n_workers: int, width: int) -> Any:
    """Dask when a scheduler is given; else serial for 1 worker, else a process pool of at most ``width``."""
    if scheduler is not None:
        return _DaskExecutor(scheduler)
    if n_workers == 1 or width <= 1:
        return _SerialExecutor()
    return _ProcessExecutor(min(n_workers, width))


def close_executor(executor: Any, clean: bool) -> None:
    """Close the executor; after Ctrl-C stop the workers at once, deaf to a second Ctrl-C meanwhile."""
    if clean:
        executor.close(wait=True)
        return
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        executor.close(wait=False)  # on Ctrl-C do not wait for running steps
    finally:
        if main:
            signal.signal(signal.SIGINT, old)
