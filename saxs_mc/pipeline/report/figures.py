"""Report figures (object-oriented matplotlib on an Agg canvas: no pyplot state) and their cache.

Each ``*_figure`` function takes records of :mod:`.model` and returns a
:class:`matplotlib.figure.Figure` (or None without data).  :class:`FigureCache`
keeps the PNG bytes under ``.saxs_mc/figures`` keyed by the content they show;
a cached file is only used when it is a well-formed PNG, otherwise the figure is
drawn again (a file in the output folder is data, never trusted markup).

The figures are split by job; this module gathers their public names:
:mod:`.plotting` (shared helpers), :mod:`.series_figures` (the series page),
:mod:`.page_figures` (sample and blank pages) and :mod:`.figure_cache`.
"""

from __future__ import annotations

from .figure_cache import FigureCache
from .page_figures import blank_figure, sample_figure
from .plotting import BAND_PROXY, MODE_PROXY, PNG_SIGNATURE, Q_TICKS, is_png, new_figure, png_bytes
from .series_figures import (
    MAX_CURVES,
    MAX_STACKED,
    blanks_figure,
    curves_figure,
    distributions_figure,
    family_shares_figure,
    series_map_figure,
    series_trends_figure,
)

__all__ = [
    "FigureCache",
    "blank_figure",
    "sample_figure",
    "BAND_PROXY",
    "MODE_PROXY",
    "PNG_SIGNATURE",
    "Q_TICKS",
    "is_png",
    "new_figure",
    "png_bytes",
    "MAX_CURVES",
    "MAX_STACKED",
    "blanks_figure",
    "curves_figure",
    "distributions_figure",
    "family_shares_figure",
    "series_map_figure",
    "series_trends_figure",
]
