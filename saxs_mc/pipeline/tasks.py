"""Worker side of the pipeline engine: step descriptions and their execution.

Everything here is importable by worker processes (local process pool or
dask.distributed workers); nothing heavy is shipped with a task: a
:class:`Step` is a small frozen record of strings and JSON-safe settings, and
the step function travels as a reference (a top-level function pickles as
its module and name, see :mod:`saxs_mc.pipeline.registry`) and is imported in
the worker.  Expensive objects (pyFAI integrators) are cached per process by the
step functions themselves (see :mod:`saxs_mc.pipeline.steps`).

A step function has the signature ``fn(ctx: StepContext) -> dict``: it
writes its outputs into ``ctx.outdir`` and returns a JSON-safe result with an
``"outputs"`` mapping (name -> path).  ``ctx.outdir`` is a staging folder
inside the step folder: :func:`run_step` moves the files into place only
when the step function returned, then records their SHA-256 and writes the
step's manifest (the cache record) atomically *after* the outputs.  So the
writes of a step succeed or fail as a unit: a failed step leaves the
previous outputs and manifest untouched and no temporary file behind, and an
interrupted step is simply redone by the next run.  A write refused by the
environment (disk full, file-size limit, read-only, permissions) is raised
as :class:`StepWriteError` with the cause in one line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import describe_write_failure, jsonable, remove_stale_staging, staged_folder, write_failure_errno

from . import cache
from .safety import ensure_folder, resolve_inside


@dataclasses.dataclass(frozen=True)
class Step:
    """One unit of work of the pipeline.

    Attributes
    ----------
    id : str
        ``"<kind>/<target>"``, e.g. ``"fit/nuc190C"``; also its folder under ``steps/``.
    kind : str
        ``reduce``, ``subtract``, ``fit``, ``peaks``, ``mesophase``, ``calibrate``, ``families``, ``optical``.
    target : str
        Sample/blank name (or ``"series"``/``"water"``).
    func : callable
        The step function (``fn(ctx: StepContext) -> dict``), a top-level function
        (:mod:`saxs_mc.pipeline.registry`); its name :func:`func_name` is part of the key.
    settings : dict
        JSON-safe settings (part of the cache key).
    inputs : tuple of str
        Input files whose *content* is part of the cache key.
    deps : tuple of str
        Upstream step ids (their keys are part of this step's key).
    n_frames : int
        Frames handled (for progress bars).
    """

    id: str
    kind: str
    target: str
    func: Callable[[StepContext], dict[str, Any]]
    settings: dict[str, Any]
    inputs: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    n_frames: int = 0

    def folder(self, root: str | Path) -> Path:
        return Path(root) / "steps" / self.kind / self.target


@dataclasses.dataclass(frozen=True)
class StepContext:
    """What a step function gets: its step, folders and upstream results."""

    step: Step
    key: str
    root: Path
    outdir: Path
    upstream: dict[str, dict[str, Any]]

    @property
    def settings(self) -> dict[str, Any]:
        return self.step.settings

    def upstream_output(self, dep_id: str, name: str) -> Path:
        """Absolute path of output ``name`` of upstream step ``dep_id`` (refused unless inside the output folder)."""
        try:
            rel = self.upstream[dep_id]["outputs"][name]
        except (KeyError, TypeError):
            raise KeyError(f"step {self.step.id}: upstream {dep_id} has no output {name!r}") from None
        return resolve_inside(self.root, rel, f"output {name!r} of {dep_id}")


def derive_seed(base_seed: int, name: str) -> int:
    """A 63-bit seed from the config seed and a sample name (independent of execution order)."""
    h = hashlib.sha256(f"saxs_mc:{int(base_seed)}:{name}".encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def func_name(fn: Callable[..., Any]) -> str:
    """``"module:qualname"`` of a step function (recorded in manifests and hashed into keys)."""
    return f"{fn.__module__}:{fn.__qualname__}"


class StepWriteError(OSError):
    """A step's outputs could not be written for an environmental reason (the cause first, in one line)."""

    @property
    def cause(self) -> str:
        return str(self).split(":", 1)[0]


def _final_outputs(outputs: dict[str, Any], stage: Path, outdir: Path, root: Path) -> dict[str, str]:
    """Output paths (written into ``stage``) as they will be after the move, relative to ``root``."""
    rel = {}
    stage_r = stage.resolve()
    for name, p in outputs.items():
        p = Path(p).resolve()
        if p.parent != stage_r:
            raise ValueError(
                f"output {name}={p} is not a file in the step's output folder {outdir}; step "
                f"functions write into ctx.outdir"
            )
        rel[name] = str((outdir / p.name).relative_to(root))
    return rel


def run_step(step: Step, key: str, root: str, upstream: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Run one step in this process and record its manifest; return its result.

    Parameters
    ----------
    step : Step
    key : str
        The step's cache key (computed by the driver).
    root : str
        Output folder of the pipeline.
    upstream : dict
        Results of the steps in ``step.deps`` (as stored in their manifests).

    Returns
    -------
    dict
        The JSON-safe result (``outputs`` relative to ``root``), plus
        ``elapsed_s`` and ``pid``.

    Raises
    ------
    StepWriteError
        Disk full, file-size limit, read-only folder or missing permission
        (nothing of the step was written).
    """
    try:
        return _run_step(step, key, Path(root), upstream)
    except Exception as exc:  # an errno may also hide in the cause of a library's own exception
        if isinstance(exc, StepWriteError) or write_failure_errno(exc) is None:
            raise
        raise StepWriteError(describe_write_failure(exc)) from None


def _run_step(step: Step, key: str, root_p: Path, upstream: dict[str, dict[str, Any]]) -> dict[str, Any]:
    outdir = ensure_folder(root_p, Path("steps", step.kind, step.target))
    remove_stale_staging(outdir)  # left by a killed worker (the output lock excludes other runs)
    t0 = time.perf_counter()
    fn = step.func
    digests = cache.input_digests(step.inputs)  # provenance: the content the step is about to read
    with staged_folder(outdir) as stage:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn(StepContext(step=step, key=key, root=root_p, outdir=stage, upstream=upstream))
        if not isinstance(result, dict):
            raise TypeError(f"step function {func_name(fn)} returned {type(result).__name__}; expected a dict")
        result = dict(result)
        msgs = list(
            dict.fromkeys(list(result.get("warnings", [])) + [f"{w.category.__name__}: {w.message}" for w in caught])
        )
        if msgs:
            result["warnings"] = msgs
        result["outputs"] = _final_outputs(result.get("outputs", {}), stage, outdir, root_p)
        result = jsonable(result)
        cache.remove_manifest(outdir)  # the files are replaced next: the old record no longer holds
    elapsed = time.perf_counter() - t0
    from saxs_mc.provenance import package_versions, utc_now

    cache.write_manifest(
        outdir,
        {
            "key": key,
            "step": step.id,
            "func": func_name(step.func),
            "settings": step.settings,
            "inputs": list(step.inputs),
            "input_digests": digests,
            "deps": list(step.deps),
            "result": result,
            "output_sha256": cache.output_hashes(result["outputs"], root_p),
            "elapsed_s": elapsed,
            "finished": utc_now(),
            "pid": os.getpid(),
            "versions": package_versions(),
        },
    )
    return result
