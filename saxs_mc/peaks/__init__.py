"""saxs_mc.peaks: Bragg-peak (mesophase) detection, fitting and indexing.

- :func:`find_peaks` -- robust background, matched-filter candidates, joint lmfit fit
- :func:`index_peaks` -- lamellar / hexagonal / cubic indexing with lattice parameter
- :func:`mesophase_series` -- peak intensity and position vs temperature, melting estimate
- :func:`write_peak_outputs` -- ``<stem>_peaks.json`` and a plot
"""

import lazy_loader

# Submodules load on first attribute access (scientific-python SPEC 1): every ``saxs-mc``
# call imports ``saxs_mc.peaks.cli`` and must not pay for lmfit then.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "detect": ["Peak", "PeakResult", "PeakSearchSettings", "find_peaks", "find_peaks_curve"],
        "index": ["MAX_SCORE", "PHASES", "IndexResult", "index_peaks"],
        "output": ["write_peak_outputs"],
        "series": ["MesophaseSeries", "mesophase_series"],
    },
)
