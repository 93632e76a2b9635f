"""Typed summary model of a pipeline run: what the report, ``summary.csv`` and ``summary.json`` show.

:func:`collect` reads the step results (manifests) and the JSON/curve files the
steps wrote, each resolved inside the output folder (a path that leaves it, also
through a symbolic link, is refused with a warning), and builds frozen records.
Nothing here draws or formats HTML.

The model is split by job; this module gathers its public names:

- :mod:`.sources`: reading step outputs (:func:`inside`, JSON and curve files);
- :mod:`.records`: the frozen records (:class:`FitDigest`, :class:`PeakRow`, :class:`Decomposition`,
  :class:`OpticalPeak`, :class:`BlankSummary`, :class:`Mesophase`, ...);
- :mod:`.families`: MC share vs decomposition vs optical peak per family (:data:`DISAGREE_RULE`);
- :mod:`.sample`: :class:`SampleSummary` and its ``summary.json`` row;
- :mod:`.series`: :class:`SeriesSummary` and the ``summary.json`` document;
- :mod:`.build`: :func:`collect`, building the model from the step results.
"""

from __future__ import annotations

from .build import collect, contrast_info
from .families import DISAGREE_N_SIGMA, DISAGREE_RULE, OPTICAL_MIN_SHARE, _disagree, family_rows
from .records import (
    BlankSummary,
    Decomposition,
    FitDigest,
    FrameRow,
    Mesophase,
    OpticalPeak,
    OutputFile,
    PeakRow,
    volume_weighted_mean,
)
from .sample import SampleSummary
from .series import SeriesSummary
from .sources import inside

__all__ = [
    "collect",
    "contrast_info",
    "inside",
    "volume_weighted_mean",
    "family_rows",
    "DISAGREE_N_SIGMA",
    "DISAGREE_RULE",
    "OPTICAL_MIN_SHARE",
    "FitDigest",
    "PeakRow",
    "FrameRow",
    "OutputFile",
    "Decomposition",
    "OpticalPeak",
    "SampleSummary",
    "BlankSummary",
    "Mesophase",
    "SeriesSummary",
    "_disagree",
]
