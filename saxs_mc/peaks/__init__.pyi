"""Type stub of :mod:`saxs_mc.peaks`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .detect import (
    Peak as Peak,
)
from .detect import (
    PeakResult as PeakResult,
)
from .detect import (
    find_peaks as find_peaks,
)
from .detect import (
    find_peaks_curve as find_peaks_curve,
)
from .index import (
    MAX_SCORE as MAX_SCORE,
)
from .index import (
    PHASES as PHASES,
)
from .index import (
    IndexResult as IndexResult,
)
from .index import (
    index_peaks as index_peaks,
)
from .output import (
    write_peak_outputs as write_peak_outputs,
)
from .series import (
    MesophaseSeries as MesophaseSeries,
)
from .series import (
    mesophase_series as mesophase_series,
)
from .settings import (
    PeakSearchSettings as PeakSearchSettings,
)

__all__ = [
    "Peak",
    "PeakResult",
    "PeakSearchSettings",
    "find_peaks",
    "find_peaks_curve",
    "MAX_SCORE",
    "PHASES",
    "IndexResult",
    "index_peaks",
    "write_peak_outputs",
    "MesophaseSeries",
    "mesophase_series",
]
