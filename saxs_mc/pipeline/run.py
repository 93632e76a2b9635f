"""Running a pipeline: plan the steps, skip cached ones, run the rest, write the report.

Steps (see :mod:`saxs_mc.pipeline.steps` for what each one does)::

    per sample:  reduce/<s> -> subtract/<s> (with reduce/<blank>) -> fit/<s>
                                             \\-> peaks/<s>
                                             \\-> families/<s>   (with a [families] table)
                 optical/<s>   (a sample naming its absorbance spectrum)
    per blank:   reduce/<b> -> peaks/<b>
    series:      mesophase/series (all blank peaks)
    optional:    calibrate/water -> every reduce step (absolute scale from water)

The engine is split by job:

- planning (:func:`plan_steps`): the steps, their settings and dependencies;
  step functions come from the registry (:mod:`saxs_mc.pipeline.registry`);
- keys (:mod:`saxs_mc.pipeline.keys`): each step's cache key chains its input
  file contents, its settings, its upstream keys and a digest of the code it
  runs, so keys are known before anything runs: ``--dry-run`` lists what would
  run and what is cached;
- executors (:mod:`saxs_mc.pipeline.executors`): serial, local processes or
  dask, with identical results;
- the driver (:mod:`saxs_mc.pipeline.driver`): cached or to run, submission in
  dependency order, failures, dead workers;
- this module: :func:`run_pipeline`, the output lock, the summary and report.

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
failed with the signal (:class:`saxs_mc.pipeline.driver.Driver`); after
environmental failures the previous summary and report are kept; Ctrl-C stops
the workers at once and workers exit when the driver dies.  Nothing in the
output folder is trusted: symbolic links are refused and manifest paths must
stay inside it (:mod:`saxs_mc.pipeline.safety`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import remove_stale_staging

from . import cache
from .config import PipelineConfig
from .driver import Driver, StepOutcome, cached_or_todo, progress_bars
from .executors import DASK_CONNECT_TIMEOUT, _ProcessExecutor, close_executor, make_executor
from .keys import code_digest, compute_keys
from .plan import plan_steps
from .registry import DEFAULT_FUNCS, StepFunc, check_overrides
from .safety import check_tree, ensure_folder, open_lock_file
from .tasks import Step

__all__ = [
    "DASK_CONNECT_TIMEOUT",
    "DEFAULT_FUNCS",
    "ENVIRONMENTAL",
    "OutputLockedError",
    "RunResult",
    "StepOutcome",
    "_ProcessExecutor",
    "code_digest",
    "compute_keys",
    "output_lock",
    "plan_steps",
    "run_pipeline",
]

log = logging.getLogger("saxs_mc.pipeline")


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
            "root": str(self.root),
            "executor": self.executor,
            "elapsed_s": self.elapsed_s,
            "counts": self.counts(),
            "report": str(self.report_path) if self.report_path else None,
            "failed": [{"step": o.id, "status": o.status, "error": o.error} for o in self.failed],
        }

    def report(self) -> str:
        c = self.counts()
        lines = [
            f"pipeline output {self.root} ({self.executor}, {self.elapsed_s:.1f} s): "
            + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
        ]
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
            raise OutputLockedError(
                f"output folder {root} is in use by another saxs-mc run (pid {other}); wait for it "
                f"to finish or set a different [output] dir"
            ) from None
        pid = str(os.getpid()).encode("ascii")
        os.pwrite(fd, pid, 0)
        os.ftruncate(fd, len(pid))
        yield
    finally:
        os.close(fd)


def run_pipeline(
    cfg: PipelineConfig,
    *,
    scheduler: Any = None,
    n_workers: int | None = None,
    dry_run: bool = False,
    step_funcs: Mapping[str, StepFunc] | None = None,
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
        Step functions by kind (top-level callables, :mod:`saxs_mc.pipeline.registry`), for tests.
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
    steps = plan_steps(cfg, check_overrides(step_funcs))
    check_tree(root)  # no symbolic link anywhere in the output folder (refused before any work)
    with contextlib.ExitStack() as stack:
        if not dry_run:
            root.mkdir(parents=True, exist_ok=True)
            stack.enter_context(output_lock(root))
        return _run_under_lock(
            cfg,
            steps,
            root,
            scheduler=scheduler,
            n_workers=n_workers,
            dry_run=dry_run,
            progress=progress,
            make_report=make_report,
            force=force,
            t0=t0,
        )


def _run_under_lock(
    cfg: PipelineConfig,
    steps: list[Step],
    root: Path,
    *,
    scheduler: Any,
    n_workers: int | None,
    dry_run: bool,
    progress: bool,
    make_report: bool,
    force: bool,
    t0: float,
) -> RunResult:
    keys = compute_keys(steps, cache.FileHashCache())
    outcomes: dict[str, StepOutcome] = {}
    results: dict[str, dict[str, Any]] = {}
    todo = cached_or_todo(steps, keys, root, force, outcomes, results)
    if dry_run:
        for s in todo:
            outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "would run", None)
        ordered = {s.id: outcomes[s.id] for s in steps}
        return RunResult(root, "dry-run", ordered, None, time.perf_counter() - t0, dry_run=True)
    _remove_temporaries(root)
    log.info("%s: %d steps, %d cached, %d to run", cfg.name, len(steps), len(steps) - len(todo), len(todo))
    executor = _execute(
        cfg, todo, keys, root, outcomes, results, scheduler=scheduler, n_workers=n_workers, progress=progress
    )
    ordered = {s.id: outcomes[s.id] for s in steps}
    report_path = _write_report_if_not_worse(cfg, ordered, root) if make_report else None
    return RunResult(root, executor, ordered, report_path, time.perf_counter() - t0)


def _execute(
    cfg: PipelineConfig,
    todo: list[Step],
    keys: dict[str, str],
    root: Path,
    outcomes: dict[str, StepOutcome],
    results: dict[str, dict[str, Any]],
    *,
    scheduler: Any,
    n_workers: int | None,
    progress: bool,
) -> str:
    """Run ``todo`` on the configured executor (outcomes and results filled in); return the executor's name."""
    n_workers = cfg.execution.n_workers if n_workers is None else n_workers
    n_workers = n_workers or (os.cpu_count() or 1)
    scheduler = scheduler if scheduler is not None else cfg.execution.scheduler
    # at most one worker per independent chain (sample/blank): more processes could never be busy
    width = len({s.target for s in todo})
    executor = make_executor(scheduler, n_workers, width) if todo else make_executor(None, 1, 1)
    clean = False
    try:
        with progress_bars(todo, progress) as update:
            Driver(executor, keys, root, outcomes, results, update).run(todo)
        clean = True
    finally:
        close_executor(executor, clean)
    return executor.name


def _remove_temporaries(root: Path) -> None:
    """Remove what killed runs left: staging folders of steps and ``.part`` files (we hold the lock)."""
    for d in [*root.glob("steps/*/*"), root, root / "samples", root / ".saxs_mc", root / ".saxs_mc" / "figures"]:
        if d.is_dir() and not d.is_symlink():
            remove_stale_staging(d)


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
        log.error(
            "kept the previous %s: %d step(s) failed for environmental reasons (%s: %s); fix that and run "
            "again (completed steps are cached)",
            ", ".join(p.name for p in previous),
            len(env),
            env[0].id,
            env[0].error,
        )
        ordered["report"] = StepOutcome(
            "report", "report", "series", "skipped", None, f"previous report kept ({env[0].cause})", cause=env[0].cause
        )
        return None
    from .report import write_report

    try:
        return write_report(cfg, ordered, root)
    except Exception as exc:
        from saxs_mc.io.atomic import describe_write_failure, write_failure_errno

        msg = describe_write_failure(exc)
        log.error("report failed: %s", msg)
        log.debug("%s", "".join(traceback.format_exception(exc)))
        ordered["report"] = StepOutcome(
            "report", "report", "series", "failed", None, msg, cause=write_failure_errno(exc)
        )
        return None
