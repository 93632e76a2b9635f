"""saxs_mc: in situ SAXS from raw frames to size distributions, Bragg peaks and reports.

Public API (loaded lazily from ``__init__.pyi`` by ``lazy_loader.attach_stub``, so ``import saxs_mc``
stays fast and imports neither numba, pyFAI nor lmfit):

- :func:`saxs_mc.read_curve`, :class:`saxs_mc.Curve` -- a reduced I(q) curve (NXcanSAS or ASCII)
- :func:`saxs_mc.fit_curve` (a :class:`Curve`) and :func:`saxs_mc.fit_arrays` (q, I, sigma arrays) --
  McSAS-style Monte Carlo sphere size distributions, returning a :class:`saxs_mc.FitResult`
- :func:`saxs_mc.find_peaks`, :func:`saxs_mc.index_peaks` -- Bragg peaks and lattices
- subpackages :mod:`~saxs_mc.fit`, :mod:`~saxs_mc.io`, :mod:`~saxs_mc.models`, :mod:`~saxs_mc.reduce`,
  :mod:`~saxs_mc.simulate`, :mod:`~saxs_mc.peaks`, :mod:`~saxs_mc.families`, :mod:`~saxs_mc.optical`,
  :mod:`~saxs_mc.series`, :mod:`~saxs_mc.geometry`, :mod:`~saxs_mc.pipeline`

``saxs_mc.fit`` is the subpackage; the fitting functions are ``fit_curve`` and ``fit_arrays``.

Examples
--------
>>> import saxs_mc
>>> "fit_curve" in dir(saxs_mc)
True
"""

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
__all__ = ["__version__", *(n for n in __all__ if n != "__version__")]
