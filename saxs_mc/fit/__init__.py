"""saxs_mc.fit: McSAS-style Monte Carlo sphere size distributions (numba kernels).

Public API::

    from saxs_mc.fit import fit, fit_curve, FitResult, write_fit_outputs
    res = fit(q_nm, intensity, sigma, contributions=300, repetitions=10, seed=1)
    print(res.report())
    write_fit_outputs("out", "sample", res, source="sample.h5")
"""

from saxs_mc.fit.mc import FitWarning, fit, fit_curve
from saxs_mc.fit.outputs import write_fit_outputs
from saxs_mc.fit.result import FitResult
from saxs_mc.fit.statistics import RangeStats

__all__ = ["fit", "fit_curve", "FitResult", "RangeStats", "FitWarning", "write_fit_outputs"]
