"""Type stub of :mod:`saxs_mc.fit`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .mc import (
    FitWarning as FitWarning,
)
from .mc import (
    fit_arrays as fit_arrays,
)
from .mc import (
    fit_curve as fit_curve,
)
from .outputs import (
    write_fit_outputs as write_fit_outputs,
)
from .resolution import (
    blank_background_bounds as blank_background_bounds,
)
from .resolution import (
    resolvable_radius as resolvable_radius,
)
from .result import (
    FitResult as FitResult,
)
from .settings import (
    FitSettings as FitSettings,
)
from .statistics import (
    RangeStats as RangeStats,
)

__all__ = [
    "FitSettings",
    "FitWarning",
    "fit_arrays",
    "fit_curve",
    "write_fit_outputs",
    "blank_background_bounds",
    "resolvable_radius",
    "FitResult",
    "RangeStats",
]
