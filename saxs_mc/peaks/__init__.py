"""saxs_mc.peaks: Bragg-peak (mesophase) detection, fitting and indexing.

- :func:`find_peaks` -- robust background, matched-filter candidates, joint lmfit fit
- :func:`index_peaks` -- lamellar / hexagonal / cubic indexing with lattice parameter
- :func:`mesophase_series` -- peak intensity and position vs temperature, melting estimate
- :func:`write_peak_outputs` -- ``<stem>_peaks.json`` and a plot
"""

from saxs_mc.peaks.detect import Peak, PeakResult, find_peaks, find_peaks_curve
from saxs_mc.peaks.index import PHASES, IndexResult, index_peaks
from saxs_mc.peaks.output import write_peak_outputs
from saxs_mc.peaks.series import MesophaseSeries, mesophase_series

__all__ = [
    "PHASES",
    "IndexResult",
    "MesophaseSeries",
    "Peak",
    "PeakResult",
    "find_peaks",
    "find_peaks_curve",
    "index_peaks",
    "mesophase_series",
    "write_peak_outputs",
]
