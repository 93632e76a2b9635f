"""saxs_mc.peaks: Bragg-peak (mesophase) detection, fitting and indexing.

- :func:`find_peaks` -- robust background, matched-filter candidates, joint lmfit fit
- :func:`index_peaks` -- lamellar / hexagonal / cubic indexing with lattice parameter
- :func:`mesophase_series` -- peak intensity and position vs temperature, melting estimate
- :func:`write_peak_outputs` -- ``<stem>_peaks.json`` and a plot

Names load lazily from ``__init__.pyi`` (``lazy_loader.attach_stub``, scientific-python SPEC 1):
every ``saxs-mc`` call imports ``saxs_mc.peaks.cli`` and must not pay for lmfit then.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
