"""Worker side of the pipeline engine: step descriptions and their execution.

Everything here is importable by worker processes (local process pool or
dask.distributed workers); nothing heavy is shipped with a task: a
:class:`Step` is a small frozen record of strings and JSON-safe settings, and
the step function is named by ``"module:function"`` and imported in the
worker.  Expensive objects (pyFAI integrators) are cached per process by the
step functions themselves (see :mod:`saxs_mc.pipeline.steps`).

A step function has the signature ``fn(ctx: StepContext) -> dict``: it
writes its outputs atomically into ``ctx.outdir`` and returns a JSON-safe
result with an ``"outputs"`` mapping (name -> path).  :func:`run_step` then
writes the step's manifest (the cache record) atomically *after* the
outputs, so an interrupted step is simply redone by the next run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import jsonable

from . import cache


@dataclasses.dataclass(frozen=True)
class Step:
    """One unit of work of the pipeline.

    Attributes
    ----------
    id : str
        ``"<kind>/<target>"``, e.g. ``"fit/nuc190C"``; also its folder under ``steps/``.
    kind : str
        ``reduce``, ``subtract``, ``fit``, ``peaks``, ``mesophase``, ``calibrate``.
    target : str
        Sample/blank name (or ``"series"``/``"water"``).
    func : str
        ``"module:function"`` implementing the step.
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
    func: str
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
        """Absolute path of output ``name`` of upstream step ``dep_id``."""
        try:
            rel = self.upstream[dep_id]["outputs"][name]
        except KeyError:
            raise KeyError(f"step {self.step.id}: upstream {dep_id} has no output {name!r}") from None
        return self.root / rel


def derive_seed(base_seed: int, name: str) -> int:
    """A 63-bit seed from the config seed and a sample name (independent of execution order)."""
    h = hashlib.sha256(f"saxs_mc:{int(base_seed)}:{name}".encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


_FUNC_CACHE: dict[str, Callable[[StepContext], dict[str, Any]]] = {}


def resolve_func(spec: str) -> Callable[[StepContext], dict[str, Any]]:
    """Import ``"module:function"`` (cached per process)."""
    fn = _FUNC_CACHE.get(spec)
    if fn is None:
        mod, sep, attr = spec.partition(":")
        if not sep:
            raise ValueError(f"step function {spec!r}: expected 'module:function'")
        fn = getattr(importlib.import_module(mod), attr)
        _FUNC_CACHE[spec] = fn
    return fn


def _relativize(outputs: dict[str, Any], root: Path) -> dict[str, str]:
    rel = {}
    for name, p in outputs.items():
        p = Path(p)
        try:
            rel[name] = str(p.resolve().relative_to(root.resolve()))
        except ValueError:
            raise ValueError(f"output {name}={p} is outside the output folder {root}") from None
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
    """
    root_p = Path(root)
    outdir = step.folder(root_p)
    cache.remove_manifest(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fn = resolve_func(step.func)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(StepContext(step=step, key=key, root=root_p, outdir=outdir, upstream=upstream))
    if not isinstance(result, dict):
        raise TypeError(f"step function {step.func} returned {type(result).__name__}; expected a dict")
    result = dict(result)
    msgs = list(dict.fromkeys(list(result.get("warnings", [])) + [f"{w.category.__name__}: {w.message}" for w in caught]))
    if msgs:
        result["warnings"] = msgs
    result["outputs"] = _relativize(result.get("outputs", {}), root_p)
    result = jsonable(result)
    elapsed = time.perf_counter() - t0
    from saxs_mc.provenance import package_versions, utc_now

    cache.write_manifest(outdir, {
        "key": key,
        "step": step.id,
        "func": step.func,
        "settings": step.settings,
        "inputs": list(step.inputs),
        "deps": list(step.deps),
        "result": result,
        "elapsed_s": elapsed,
        "finished": utc_now(),
        "pid": os.getpid(),
        "versions": package_versions(),
    })
    return result
