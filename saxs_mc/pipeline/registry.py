"""The registry of step functions: step kind -> the callable that runs it.

A :class:`~saxs_mc.pipeline.tasks.Step` holds its step function itself, not a
name to import.  Step functions are top-level functions of an importable
module, so that they pickle *by reference* (module and name): a spawned
worker process or a dask worker imports the module and finds the same
function.  That is also why a step holds the callable rather than a registry
key: a key would have to be looked up again in the worker, where fakes that a
test registered in the driver do not exist.

:data:`DEFAULT_FUNCS` is a read-only live view of the registry.  The planner
(:func:`saxs_mc.pipeline.run.plan_steps`) reads it; tests swap in fake step
functions for a block of code with :func:`registered`, or for one run with
``run_pipeline(..., step_funcs=...)``.  Both go through :func:`check_overrides`.

Examples
--------
>>> from saxs_mc.pipeline.registry import DEFAULT_FUNCS, func_name
>>> func_name(DEFAULT_FUNCS["fit"])
'saxs_mc.pipeline.steps:fit_step'
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from . import steps
from .tasks import StepContext, func_name

__all__ = ["DEFAULT_FUNCS", "KINDS", "StepFunc", "check_overrides", "check_step_function", "func_name", "registered"]

#: signature of a step function: it writes into ``ctx.outdir`` and returns a JSON-safe result
StepFunc = Callable[[StepContext], dict[str, Any]]

_REGISTRY: dict[str, StepFunc] = {
    "calibrate": steps.calibrate_step,
    "reduce": steps.reduce_step,
    "subtract": steps.subtract_step,
    "fit": steps.fit_step,
    "peaks": steps.peaks_step,
    "mesophase": steps.mesophase_step,
    "families": steps.families_step,
    "optical": steps.optical_step,
}

#: the step kinds of the pipeline, in the order they appear in a plan
KINDS: tuple[str, ...] = tuple(_REGISTRY)

#: kind -> step function (read-only view of the registry; :func:`registered` swaps entries for a while)
DEFAULT_FUNCS: Mapping[str, StepFunc] = MappingProxyType(_REGISTRY)


def check_step_function(kind: str, fn: Any) -> None:
    """Raise ``TypeError`` unless ``fn`` is a top-level function that a worker process can import by name.

    Parameters
    ----------
    kind : str
        The step kind it is meant for (named in the error).
    fn : object
        The candidate step function.
    """
    if isinstance(fn, str):
        raise TypeError(
            f"step function for {kind!r} is the string {fn!r}; step functions are callables now: "
            "pass the function itself (e.g. tests.pipeline.fakes.fit_step)"
        )
    if not callable(fn) or not hasattr(fn, "__module__") or not hasattr(fn, "__qualname__"):
        raise TypeError(f"step function for {kind!r} is {fn!r}, not a function")
    name = func_name(fn)
    if "<" in fn.__qualname__ or "." in fn.__qualname__:
        raise TypeError(
            f"step function for {kind!r} is {name}: a lambda, nested function or method cannot be "
            "sent to a worker process; define it at the top level of a module"
        )
    try:
        found = getattr(importlib.import_module(fn.__module__), fn.__qualname__)
    except (ImportError, AttributeError) as exc:
        raise TypeError(
            f"step function for {kind!r} ({name}) cannot be imported by name ({exc}); define it at "
            "the top level of an importable module"
        ) from None
    if found is not fn:
        raise TypeError(
            f"step function for {kind!r}: {name} names another object; define it at the top level "
            "of its module under that name"
        )


def check_overrides(funcs: Mapping[str, Any] | None) -> dict[str, StepFunc]:
    """Validated step-function overrides (kind -> function); unknown kinds and unusable functions are errors.

    All problems are reported at once, in one ``ValueError``.
    """
    if not funcs:
        return {}
    problems = []
    unknown = sorted(set(funcs) - set(_REGISTRY))
    if unknown:
        problems.append(f"step functions for unknown kinds {unknown}; kinds: {sorted(_REGISTRY)}")
    for kind, fn in funcs.items():
        if kind in _REGISTRY:
            try:
                check_step_function(kind, fn)
            except TypeError as exc:
                problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return dict(funcs)


@contextlib.contextmanager
def registered(funcs: Mapping[str, Any]) -> Iterator[Mapping[str, StepFunc]]:
    """Use other step functions for some kinds while the block runs (tests: fakes through the CLI).

    Examples
    --------
    >>> from saxs_mc.pipeline import registry, steps
    >>> with registry.registered({"fit": steps.peaks_step}):
    ...     registry.DEFAULT_FUNCS["fit"].__name__
    'peaks_step'
    >>> registry.DEFAULT_FUNCS["fit"].__name__
    'fit_step'
    """
    new = check_overrides(funcs)
    old = dict(_REGISTRY)
    _REGISTRY.update(new)
    try:
        yield DEFAULT_FUNCS
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(old)
