"""The driver of a run: take cached steps from the cache, submit the others when their upstream is done.

:func:`cached_or_todo` sorts the planned steps into cached ones (their
manifest holds the key, their outputs are intact) and steps to run;
:class:`Driver` runs those on an executor (:mod:`saxs_mc.pipeline.executors`)
and records a :class:`StepOutcome` per step.  A failed step skips the steps
below it and nothing else.  When a worker process dies (killed, crashed), a
process pool breaks and every step in flight fails with
``BrokenProcessPool``: those steps are not failed, the pool is replaced and
they are retried -- the dead worker's own step once and alone, then failed
with the signal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import STAGING_PREFIX, remove_stale_staging

from . import cache
from .executors import death_cause
from .tasks import Step, StepWriteError

log = logging.getLogger("saxs_mc.pipeline")

#: most replacements of a broken process pool in one run (then the steps in flight fail with the cause)
MAX_POOL_RESTARTS = 10


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


def cached_or_todo(
    steps: list[Step],
    keys: dict[str, str],
    root: Path,
    force: bool,
    outcomes: dict[str, StepOutcome],
    results: dict[str, dict[str, Any]],
) -> list[Step]:
    """Fill ``outcomes``/``results`` with the cached steps; return the steps to run."""
    todo: list[Step] = []
    for s in steps:
        m, why = (None, "--force") if force else cache.check_manifest(s.folder(root), keys[s.id], root)
        if m is not None:
            results[s.id] = m["result"]
            outcomes[s.id] = StepOutcome(
                s.id, s.kind, s.target, "cached", m["result"], None, float(m.get("elapsed_s", 0.0) or 0.0)
            )
        else:
            if why not in ("no manifest", "--force", "inputs, settings or code changed"):
                log.warning("%s: not taken from the cache, rerun: %s", s.id, why)
            todo.append(s)
    return todo


@contextlib.contextmanager
def progress_bars(steps: list[Step], enabled: bool) -> Iterator[Callable[[Step], None]]:
    """tqdm bars for frames, fits and steps; yields the function to call when a step is finished."""
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


class Driver:
    """Submit steps whose upstream is done, collect results, survive dead workers.

    When a worker process dies (killed, crashed), a process pool breaks and
    every step in flight fails with ``BrokenProcessPool``.  Those steps are
    not failed: the pool is replaced and they become *suspects*, rerun one at
    a time with nothing else in flight.  A suspect that kills its worker again
    is failed with the cause (the dead worker's signal); the others finish.
    """

    def __init__(
        self,
        executor: Any,
        keys: dict[str, str],
        root: Path,
        outcomes: dict[str, StepOutcome],
        results: dict[str, dict[str, Any]],
        update: Callable[[Step], None],
    ):
        self.executor, self.keys, self.root = executor, keys, root
        self.outcomes, self.results, self.update = outcomes, results, update
        self.failed: dict[str, str] = {}
        self.running: dict[Any, tuple[Step, float]] = {}
        self.suspects: dict[str, Step] = {}
        self.waiting: dict[str, Step] = {}
        self.breaks = 0

    def run(self, todo: list[Step]) -> None:
        """Run ``todo`` (topological order) to the end: every step done, failed or skipped."""
        self.waiting = {s.id: s for s in todo}
        while self.waiting or self.running or self.suspects:
            self._submit_ready()
            if not self.running:
                if self.waiting or self.suspects:  # pragma: no cover - plan_steps guarantees a DAG
                    raise RuntimeError(f"steps {sorted(self.waiting)} can never run (dependency cycle)")
                break
            done, _ = self.executor.wait(list(self.running))
            alone = len(self.running) == 1
            broken = [s for s in (self._collect(fut) for fut in done) if s is not None]
            if broken:
                self._worker_died(broken, alone)

    def _collect(self, fut: Any) -> Step | None:
        """Record the outcome of a finished future; return its step if its pool broke (to retry)."""
        s, t_sub = self.running.pop(fut)
        try:
            res = fut.result()
        except BrokenProcessPool:
            return s
        except Exception as exc:
            self._fail(s, exc)
            return None
        self.suspects.pop(s.id, None)
        self.results[s.id] = res
        self.outcomes[s.id] = StepOutcome(s.id, s.kind, s.target, "done", res, None, time.perf_counter() - t_sub)
        log.debug("%s done", s.id)
        self.update(s)
        return None

    def _submit_ready(self) -> None:
        if self.suspects:  # a suspect runs alone, so that a second death names the culprit
            if not self.running:
                self._submit(next(iter(self.suspects.values())))
            return
        changed = True
        while changed:  # submit ready steps; skip those below a failure
            changed = False
            for sid, s in list(self.waiting.items()):
                bad = [
                    d
                    for d in s.deps
                    if d in self.failed or (d in self.outcomes and self.outcomes[d].status == "skipped")
                ]
                if bad:
                    self.outcomes[sid] = StepOutcome(
                        sid, s.kind, s.target, "skipped", None, f"upstream step {bad[0]} failed"
                    )
                    self.update(s)
                elif all(d in self.results for d in s.deps):
                    self._submit(s)
                else:
                    continue
                del self.waiting[sid]
                changed = True

    def _submit(self, s: Step) -> None:
        fut = self.executor.submit(s, self.keys[s.id], str(self.root), {d: self.results[d] for d in s.deps})
        self.running[fut] = (s, time.perf_counter())

    def _started_by(self, s: Step) -> set[int]:
        """pids of the workers that started ``s`` and did not finish it (their staging folders are left)."""
        pids = set()
        for p in s.folder(self.root).glob(f"{STAGING_PREFIX}*"):
            with contextlib.suppress(ValueError):
                pids.add(int(p.name[len(STAGING_PREFIX) :].split("-")[0]))
        return pids

    def _worker_died(self, broken: list[Step], alone: bool) -> None:
        """A pool broke: fail a suspect that killed its worker again alone, retry the rest on a new pool."""
        dead = self.executor.dead_workers() if hasattr(self.executor, "dead_workers") else {}
        cause = death_cause(list(dead.values()))
        for fut, (s, _) in list(self.running.items()):  # the whole pool is gone: so are these
            broken.append(s)
            del self.running[fut]
        started = [s for s in broken if self._started_by(s)]
        named = [s for s in started if self._started_by(s) & set(dead)]  # the dead worker's own step
        suspects = named or started
        if alone:
            self._fail_culprits(suspects, broken, cause)
        self.breaks += 1
        if broken and (not getattr(self.executor, "can_restart", False) or self.breaks > MAX_POOL_RESTARTS):
            for s in broken:
                self._fail(s, RuntimeError(cause), cause="worker died")
            return
        self._retry(broken, suspects, cause)

    def _fail_culprits(self, suspects: list[Step], broken: list[Step], cause: str) -> None:
        """A suspect that was retried alone and whose worker died again is failed with the cause."""
        for s in [s for s in suspects if s.id in self.suspects]:
            self.suspects.pop(s.id)
            self._fail(
                s,
                RuntimeError(f"{cause}; the step was retried once alone and its worker died again"),
                cause="worker died",
            )
            broken.remove(s)

    def _retry(self, broken: list[Step], suspects: list[Step], cause: str) -> None:
        """Suspects rerun alone, the other broken steps wait for their turn; the pool is replaced."""
        for s in suspects:
            if s in broken:
                self.suspects[s.id] = s
        self.waiting.update({s.id: s for s in broken if s.id not in self.suspects})
        if broken:
            log.warning(
                "%s while running %s; pool replaced, retrying %s",
                cause,
                ", ".join(s.id for s in suspects) or "?",
                ", ".join(s.id for s in broken),
            )
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
