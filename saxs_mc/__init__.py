"""saxs_mc: in situ SAXS from raw frames to size distributions, Bragg peaks and reports.

Public API (imported lazily, so ``import saxs_mc`` stays fast):

- :func:`saxs_mc.fit` -- McSAS-style Monte Carlo sphere size distributions (the
  subpackage :mod:`saxs_mc.fit` itself is callable: ``saxs_mc.fit(q, I, sigma)``,
  so it stays callable after ``import saxs_mc.fit.mc`` rebinds the attribute)
- :func:`saxs_mc.find_peaks`, :func:`saxs_mc.index_peaks` -- Bragg peaks and lattices
- :mod:`saxs_mc.simulate` -- detector-frame simulator with known truth
- :mod:`saxs_mc.reduce` -- pyFAI reduction to NXcanSAS
- :mod:`saxs_mc.pipeline` -- batch pipelines and reports
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "fit": ("saxs_mc.fit", None),  # the callable subpackage (see saxs_mc/fit/__init__.py)
    "FitResult": ("saxs_mc.fit", "FitResult"),
    "find_peaks": ("saxs_mc.peaks", "find_peaks"),
    "index_peaks": ("saxs_mc.peaks", "index_peaks"),
    "Curve": ("saxs_mc.io.curves", "Curve"),
    "read_curve": ("saxs_mc.io.curves", "read_curve"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        mod, attr = _LAZY[name]
        module = importlib.import_module(mod)
        return module if attr is None else getattr(module, attr)
    raise AttributeError(f"module 'saxs_mc' has no attribute {name!r}")
