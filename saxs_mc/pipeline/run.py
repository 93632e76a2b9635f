"""Driver of the batch pipeline: plan the steps, skip cached ones, run the rest.

Steps (see :mod:`saxs_mc.pipeline.steps` for what each one does)::

    per sample:  reduce/<s> -> subtract/<s> (with reduce/<blank>) -> fit/<s>
                                             \\-> peaks/<s>
                                             \\-> families/<s>   (with a [families] table)
                 optical/<s>   (a sample naming its absorbance spectrum)
    per blank:   reduce/<b> -> peaks/<b>
    series:      mesophase/series (all blank peaks)
    optional:    calibrate/water -> every reduce step (absolute scale from water)

Each step's cache key chains its input file contents, its settings and its
upstream keys (:mod:`saxs_mc.pipeline.cache`), so keys are known before
anything runs: ``--dry-run`` lists what would run and what is cached.  Steps
run on one of three executors, with identical results:

- ``serial``: one step at a time in topological order, in this process
  (``n_workers=1``);
- ``processes``: a local :class:`concurrent.futures.ProcessPoolExecutor`
  (spawned workers; the default, one worker per core);
- ``dask``: an existing ``dask.distributed`` scheduler (``scheduler=ADDRESS``
  or a ``distributed.Client``); outputs go to the shared output folder.

Seeds are derived from the config seed and the sample name
(:func:`saxs_mc.pipeline.tasks.derive_seed`), never from execution order.
The fit kernels are compiled without fastmath reassociation
(:mod:`saxs_mc._numba`), so a kernel compiled in any process and one loaded
from numba's on-disk cache give the same numbers: no process needs to be
kept free of kernels (``tests/pipeline/test_end_to_end.py`` runs the steps
in a driver that compiled the kernels itself and compares).

Faults (see the README's "Reliability" table): a step's files are staged and
moved into place as a unit (:func:`saxs_mc.pipeline.tasks.run_step`); a
write refused by the environment fails that step with the errno named in one
line; a dead worker breaks the local pool, which is replaced, and the steps
it was running are retried -- the dead worker's own step once and alone, then
failed with the signal (:class:`_Driver`); after environmental failures the
previous summary and report are kept; Ctrl-C stops the workers at once and
workers exit when the driver dies (:func:`_watch_parent`).  Nothing in the
output folder is trusted: symbolic links are refused and manifest paths must
stay inside it (:mod:`saxs_mc.pipeline.safety`).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from saxs_mc import __version__
from saxs_mc.io.atomic import STAGING_PREFIX, remove_stale_staging

from . import cache
from .config import PipelineConfig
from .plan import DEFAULT_FUNCS, plan_steps  # noqa: F401  (DEFAULT_FUNCS: re-exported)
from .safety import check_tree, ensure_folder, open_lock_file
from .tasks import Step, StepWriteError, run_step

log = logging.getLogger("saxs_mc.pipeline")

#: how long to try to reach a dask scheduler given by address
DASK_CONNECT_TIMEOUT = "15s"

#: saxs_mc code each step kind runs (besides its step function's module); hashed into the keys
CODE_DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "calibrate": ("reduce", "io"),
    "reduce": ("reduce", "io"),
    "subtract": ("reduce", "io"),
    "fit": ("fit", "models", "_rng.py", "_numba.py", "io", "reduce"),
    "peaks": ("peaks", "io", "reduce"),
    "mesophase": ("peaks",),
    "families": ("families", "fit/resolution.py", "models", "io", "reduce"),
    "optical": ("optical", "models", "io"),
}


def code_digest(kind: str, func: str) -> str:
    """SHA-256 of the source of a step's function module and the saxs_mc code it uses.

    Part of every step key, so that a changed implementation (e.g. an upgraded or
    edited saxs_mc) redoes the affected steps even without a version bump.
    """
    import importlib.util

    import saxs_mc

    pkg = Path(saxs_mc.__file__).parent
    files: list[Path] = []
    for dep in CODE_DEPENDENCIES.get(kind, ()):
        p = pkg / dep
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else ([p] if p.is_file() else []))
    spec = importlib.util.find_spec(func.partition(":")[0])
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        files.append(Path(spec.origin))
    files.append(Path(__file__).with_name("tasks.py"))
    return cache.digest({str(f.relative_to(pkg.parent)) if f.is_relative_to(pkg.parent) else f.name:
                         cache.file_sha256(f) for f in dict.fromkeys(files)})


def compute_keys(steps: list[Step], hashes: cache.FileHashCache) -> dict[str, str]:
    """Cache key of every step (steps must be in topological order)."""
    keys: dict[str, str] = {}
    codes: dict[tuple[str, str], str] = {}
    files = list(dict.fromkeys(p for s in steps for p in s.inputs))
    with cf.ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        list(pool.map(hashes.digest, files))  # hashlib releases the GIL: frames are hashed in parallel
    for s in steps:
        missing = [d for d in s.deps if d not in keys]
        if missing:
            raise ValueError(f"step {s.id}: upstream {missing} not planned before it")
        code = codes.get((s.kind, s.func))
        if code is None:
            code = codes[(s.kind, s.func)] = code_digest(s.kind, s.func)
        keys[s.id] = cache.step_key(
            func=s.func, settings=s.settings,
            input_digests={p: hashes.digest(p) for p in s.inputs},
            upstream_keys={d: keys[d] for d in s.deps}, version=f"{__version__}+{code}")
    return keys


# ----------------------------------------------------------------------
# executors
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
    import threading

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
        return cf.ProcessPoolExecutor(max_workers=self.n_workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_init, initargs=(threads, _log_levels(), os.getpid()))

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


def _death_cause(codes: list[int]) -> str:
    """One line for the exit status of a dead worker (negative: killed by that signal)."""
    if not codes:
        return "a worker process died"
    c = codes[0]
    if c < 0:
        try:
            name = signal.Signals(-c).name
        except ValueError:
            name = f"signal {-c}"
        hint = {"SIGKILL": " (killed: out of memory, or kill -9)", "SIGSEGV": " (crashed)",
                "SIGXFSZ": " (file-size limit)", "SIGBUS": " (crashed: file truncated or disk full?)"}.get(name, "")
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
                raise ValueError(f"cannot connect to the dask scheduler {scheduler!r} ({type(exc).__name__}: {exc}); "
                                 "start one (dask scheduler / dask worker) or drop --scheduler and "
                                 "[execution] scheduler to run on local processes") from None
            self._own = True
        log.info("dask scheduler %s (%d workers)", self.client.scheduler.address,
                 len(self.client.scheduler_info().get("workers", {})))

    def submit(self, step: Step, key: str, root: str, upstream: dict) -> Any:
        return self.client.submit(run_step, step, key, root, upstream, pure=False,
                                  key=f"saxs_mc-{step.kind}-{step.target}-{os.urandom(4).hex()}")

    def wait(self, futs: list) -> tuple[set, set]:
        with self.client.as_current():  # our client need not be the default one
            done, not_done = self._distributed.wait(futs, return_when="FIRST_COMPLETED")
        return set(done), set(not_done)

    def close(self, wait: bool = True) -> None:
        if self._own:
            self.client.close()


# ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StepOutcome:
    """What happened to one step: ``cached``, ``done``, ``failed`` or ``skipped``.

    ``cause`` names an environmental failure (``ENOSPC``, ``EFBIG``, ``EROFS``,
    ``EACCES``, ... or ``worker died``); None for a failure of the step itself.
    """

    id: str
    kind: str
    target: str
    status: str
    result: dict[str, Any] | None
    error: str | None = None
    elapsed_s: float = 0.0
    cause: str | None = None


@dataclasses.dataclass(frozen=True)
class RunResult:
    """Outcome of :func:`run_pipeline`."""

    root: Path
    executor: str
    outcomes: dict[str, StepOutcome]
    report_path: Path | None
    elapsed_s: float
    dry_run: bool = False

    @property
    def failed(self) -> tuple[StepOutcome, ...]:
        return tuple(o for o in self.outcomes.values() if o.status in ("failed", "skipped"))

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes.values():
            out[o.status] = out.get(o.status, 0) + 1
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "root": str(self.root), "executor": self.executor, "elapsed_s": self.elapsed_s,
            "counts": self.counts(), "report": str(self.report_path) if self.report_path else None,
            "failed": [{"step": o.id, "status": o.status, "error": o.error} for o in self.failed],
        }

    def report(self) -> str:
        c = self.counts()
        lines = [f"pipeline output {self.root} ({self.executor}, {self.elapsed_s:.1f} s): "
                 + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))]
        for o in self.failed:
            lines.append(f"  {o.status.upper()} {o.id}: {o.error}")
        return "\n".join(lines)


class OutputLockedError(RuntimeError):
    """Another run holds the output folder."""


@contextlib.contextmanager
def output_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder (released even if the process is killed)."""
    import fcntl

    fd = open_lock_file(ensure_folder(root, ".saxs_mc") / "lock")  # never through a link
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise OutputLockedError(f"output folder {root} is in use by another saxs-mc run (pid {other}); wait for it "
                               f"to finish or set a different [output] dir") from None
        pid = str(os.getpid()).encode("ascii")
        os.pwrite(fd, pid, 0)
        os.ftruncate(fd, len(pid))
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _progress_bars(steps: list[Step], enabled: bool) -> Iterator[Callable[[Step], None]]:
    if not enabled:
        yield lambda step: None
        return
    from tqdm.auto import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    n_frames = sum(s.n_frames for s in steps if s.kind in ("reduce", "calibrate"))
    n_fits = sum(1 for s in steps if s.kind == "fit")
    bars = {}
    with logging_redirect_tqdm(loggers=[logging.getLogger("saxs_mc")]):
        if n_frames:
            bars["frames"] = tqdm(total=n_frames, desc="frames", unit="frame", leave=True)
        if n_fits:
            bars["fits"] = tqdm(total=n_fits, desc="fits  ", unit="fit", leave=True)
        bars["steps"] = tqdm(total=len(steps), desc="steps ", unit="step", leave=True)

        def update(step: Step) -> None:
            if step.kind in ("reduce", "calibrate") and "frames" in bars:
                bars["frames"].update(step.n_frames)
            if step.kind == "fit" and "fits" in bars:
                bars["fits"].update(1)
            bars["steps"].update(1)

        try:
            yield update
        finally:
            for b in bars.values():
                b.close()


def _make_executor(scheduler: Any, n_workers: int, width: int) -> Any:
    """Dask when a scheduler is given; else serial for 1 worker, else a process pool of at most ``width``."""
    if scheduler is not None:
        return _DaskExecutor(scheduler)
    if n_workers == 1 or width <= 1:
        return _SerialExecutor()
    return _ProcessExecutor(min(n_workers, width))


def run_pipeline(
    cfg: PipelineConfig,
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    dry_run: bool = False,
    step_funcs: Mapping[str, str] | None = None,
    progress: bool = False,
    make_report: bool = True,
    force: bool = False,
) -> RunResult:
    """Run (or list, with ``dry_run``) the pipeline of ``cfg``.

    Parameters
    ----------
    cfg : PipelineConfig
        A validated configuration (:func:`saxs_mc.pipeline.config.load_config`).
    scheduler : str or distributed.Client, optional
        Dask scheduler address or client; default ``cfg.execution.scheduler``.
        Without one, steps run in local processes.
    n_workers : int, optional
        Local worker processes (1: serial, one step at a time in this
        process; 0: all cores);
        default ``cfg.execution.n_workers``.
    dry_run : bool
        Only compute the keys and report which steps would run.
    step_funcs : mapping, optional
        Step implementations by kind (``"module:function"``), for tests.
    progress : bool
        Show tqdm progress bars (frames, fits, steps).
    make_report : bool
        Write the HTML report and summary tables after the steps.
    force : bool
        Ignore the cache and redo every step.

    Returns
    -------
    RunResult
    """
    t0 = time.perf_counter()
    root = cfg.output.dir
    steps = plan_steps(cfg, step_funcs)
    check_tree(root)  # no symbolic link anywhere in the output folder (refused before any work)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            root.mkdir(parents=True, exist_ok=True)
            stack.enter_context(output_lock(root))
        return _run_under_lock(cfg, steps, root, scheduler=scheduler, n_workers=n_workers, dry_run=dry_run,
                               progress=progress, make_report=make_report, force=force, t0=t0)


def _cached_or_todo(steps: list[Step], keys: dict[str, str], root: Path, force: bool,
                    outcomes: dict[str, StepOutcome], results: dict[str, dict[str, Any]]) -> list[Step]:
    """Fill ``outcomes``/``results`` with the cached steps; return the steps to run."""
    todo: list[Step] = []
    for s in steps:
        m, why = (None, "--force") if force else cache.check_manifest(s.folder(root), keys[s.id], root)
        if m is not None:
            results[s.id] = m["result"]
            outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "cached", m["result"], None,
                                         float(m.get("elapsed_s", 0.0) or 0.0))
        else:
            if why not in ("no manifest", "--force", "inputs, settings or code changed"):
                log.warning("%s: not taken from the cache, rerun: %s", s.id, why)
            todo.append(s)
    return todo


def _run_under_lock(cfg: PipelineConfig, steps: list[Step], root: Path, *, scheduler: Any, n_workers: int | None,
                    dry_run: bool, progress: bool, make_report: bool, force: bool, t0: float) -> RunResult:
    keys = compute_keys(steps, cache.FileHashCache())
    outcomes: dict[str, StepOutcome] = {}
    results: dict[str, dict[str, Any]] = {}
    todo = _cached_or_todo(steps, keys, root, force, outcomes, results)
    if dry_run:
        for s in todo:
            outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "would run", None)
        ordered = {s.id: outcomes[s.id] for s in steps}
        return RunResult(root, "dry-run", ordered, None, time.perf_counter() - t0, dry_run=True)

    _remove_temporaries(root)
    n_workers = cfg.execution.n_workers if n_workers is None else n_workers
    n_workers = n_workers or (os.cpu_count() or 1)
    scheduler = scheduler if scheduler is not None else cfg.execution.scheduler
    log.info("%s: %d steps, %d cached, %d to run", cfg.name, len(steps), len(steps) - len(todo), len(todo))
    # at most one worker per independent chain (sample/blank): more processes could never be busy
    width = len({s.target for s in todo})
    executor = _make_executor(scheduler, n_workers, width) if todo else _SerialExecutor()
    clean = False
    try:
        with _progress_bars(todo, progress) as update:
            _Driver(executor, keys, root, outcomes, results, update).run(todo)
        clean = True
    finally:
        _close_executor(executor, clean)
    ordered = {s.id: outcomes[s.id] for s in steps}
    report_path = _write_report_if_not_worse(cfg, ordered, root) if make_report else None
    return RunResult(root, executor.name, ordered, report_path, time.perf_counter() - t0)


def _remove_temporaries(root: Path) -> None:
    """Remove what killed runs left: staging folders of steps and ``.part`` files (we hold the lock)."""
    for d in [*root.glob("steps/*/*"), root, root / "samples", root / ".saxs_mc", root / ".saxs_mc" / "figures"]:
        if d.is_dir() and not d.is_symlink():
            remove_stale_staging(d)


def _close_executor(executor: Any, clean: bool) -> None:
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


#: failure causes after which a worse summary/report must not replace a good one
ENVIRONMENTAL = ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "worker died")


def _write_report_if_not_worse(cfg: PipelineConfig, ordered: dict[str, StepOutcome], root: Path) -> Path | None:
    """Write summary/report -- unless steps failed for environmental reasons and a previous report exists.

    A run that failed because of the disk or permissions would replace the
    last complete summary with a worse one: keep that one instead and say why.
    """
    env = [o for o in ordered.values() if o.status == "failed" and o.cause in ENVIRONMENTAL]
    previous = [root / n for n in ("summary.csv", "summary.json", "report.html") if (root / n).exists()]
    if env and previous:
        log.error("kept the previous %s: %d step(s) failed for environmental reasons (%s: %s); fix that and run "
                  "again (completed steps are cached)", ", ".join(p.name for p in previous), len(env), env[0].id,
                  env[0].error)
        ordered["report"] = StepOutcome("report", "report", "series", "skipped", None,
                                        f"previous report kept ({env[0].cause})", cause=env[0].cause)
        return None
    from .report import write_report

    try:
        return write_report(cfg, ordered, root)
    except Exception as exc:
        from saxs_mc.io.atomic import describe_write_failure, write_failure_errno

        msg = describe_write_failure(exc)
        log.error("report failed: %s", msg)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        ordered["report"] = StepOutcome("report", "report", "series", "failed", None, msg,
                                        cause=write_failure_errno(exc))
        return None


#: most replacements of a broken process pool in one run (then the steps in flight fail with the cause)
MAX_POOL_RESTARTS = 10


class _Driver:
    """Submit steps whose upstream is done, collect results, survive dead workers.

    When a worker process dies (killed, crashed), a process pool breaks and
    every step in flight fails with ``BrokenProcessPool``.  Those steps are
    not failed: the pool is replaced and they become *suspects*, rerun one at
    a time with nothing else in flight.  A suspect that kills its worker again
    is failed with the cause (the dead worker's signal); the others finish.
    """

    def __init__(self, executor: Any, keys: dict[str, str], root: Path, outcomes: dict[str, StepOutcome],
                 results: dict[str, dict[str, Any]], update: Callable[[Step], None]):
        self.executor, self.keys, self.root = executor, keys, root
        self.outcomes, self.results, self.update = outcomes, results, update
        self.failed: dict[str, str] = {}
        self.running: dict[Any, tuple[Step, float]] = {}
        self.suspects: dict[str, Step] = {}
        self.breaks = 0

    def run(self, todo: list[Step]) -> None:
        self.waiting = waiting = {s.id: s for s in todo}
        while waiting or self.running or self.suspects:
            self._submit_ready(waiting)
            if not self.running:
                if waiting or self.suspects:  # pragma: no cover - plan_steps guarantees a DAG
                    raise RuntimeError(f"steps {sorted(waiting)} can never run (dependency cycle)")
                break
            done, _ = self.executor.wait(list(self.running))
            alone = len(self.running) == 1
            broken = []
            for fut in done:
                s, t_sub = self.running.pop(fut)
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    broken.append(s)
                except Exception as exc:
                    self._fail(s, exc)
                else:
                    self.suspects.pop(s.id, None)
                    self.results[s.id] = res
                    self.outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "done", res, None,
                                                      time.perf_counter() - t_sub)
                    log.debug("%s done", s.id)
                    self.update(s)
            if broken:
                self._worker_died(broken, alone)

    def _submit_ready(self, waiting: dict[str, Step]) -> None:
        if self.suspects:  # a suspect runs alone, so that a second death names the culprit
            if not self.running:
                s = next(iter(self.suspects.values()))
                self._submit(s)
            return
        changed = True
        while changed:  # submit ready steps; skip those below a failure
            changed = False
            for sid, s in list(waiting.items()):
                bad = [d for d in s.deps if d in self.failed
                       or (d in self.outcomes and self.outcomes[d].status == "skipped")]
                if bad:
                    self.outcomes[sid] = StepOutcome(sid, s.kind, s.target, "skipped", None,
                                                     f"upstream step {bad[0]} failed")
                    del waiting[sid]
                    self.update(s)
                    changed = True
                elif all(d in self.results for d in s.deps):
                    self._submit(s)
                    del waiting[sid]
                    changed = True

    def _submit(self, s: Step) -> None:
        fut = self.executor.submit(s, self.keys[s.id], str(self.root), {d: self.results[d] for d in s.deps})
        self.running[fut] = (s, time.perf_counter())

    def _started_by(self, s: Step) -> set[int]:
        """pids of the workers that started ``s`` and did not finish it (their staging folders are left)."""
        pids = set()
        for p in s.folder(self.root).glob(f"{STAGING_PREFIX}*"):
            with contextlib.suppress(ValueError):
                pids.add(int(p.name[len(STAGING_PREFIX):].split("-")[0]))
        return pids

    def _worker_died(self, broken: list[Step], alone: bool) -> None:
        dead = self.executor.dead_workers() if hasattr(self.executor, "dead_workers") else {}
        cause = _death_cause(list(dead.values()))
        for fut, (s, _) in list(self.running.items()):  # the whole pool is gone: so are these
            broken.append(s)
            del self.running[fut]
        started = [s for s in broken if self._started_by(s)]
        named = [s for s in started if self._started_by(s) & set(dead)]  # the dead worker's own step
        suspects = named or started
        for s in [s for s in suspects if alone and s.id in self.suspects]:  # died again, alone: the culprit
            self.suspects.pop(s.id)
            self._fail(s, RuntimeError(f"{cause}; the step was retried once alone and its worker died again"),
                       cause="worker died")
            broken.remove(s)
        self.breaks += 1
        if broken and (not getattr(self.executor, "can_restart", False) or self.breaks > MAX_POOL_RESTARTS):
            for s in broken:
                self._fail(s, RuntimeError(cause), cause="worker died")
            return
        for s in suspects:
            if s in broken:
                self.suspects[s.id] = s
        self.waiting.update({s.id: s for s in broken if s.id not in self.suspects})
        if broken:
            log.warning("%s while running %s; pool replaced, retrying %s", cause,
                        ", ".join(s.id for s in suspects) or "?", ", ".join(s.id for s in broken))
        self.executor.restart()

    def _fail(self, s: Step, exc: BaseException, cause: str | None = None) -> None:
        msg = str(exc) if isinstance(exc, StepWriteError) else f"{type(exc).__name__}: {exc}"
        if isinstance(exc, StepWriteError):
            cause = exc.cause
        self.suspects.pop(s.id, None)
        if cause == "worker died":  # the dead worker could not remove its temporary files
            remove_stale_staging(s.folder(self.root))
        self.failed[s.id] = msg
        self.outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "failed", None, msg, cause=cause)
        log.error("%s failed: %s", s.id, msg)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        self.update(s)
