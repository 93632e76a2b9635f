"""Type stub of :mod:`saxs_mc`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from . import (
    families as families,
)
from . import (
    fit as fit,
)
from . import (
    geometry as geometry,
)
from . import (
    io as io,
)
from . import (
    models as models,
)
from . import (
    optical as optical,
)
from . import (
    peaks as peaks,
)
from . import (
    pipeline as pipeline,
)
from . import (
    reduce as reduce,
)
from . import (
    series as series,
)
from . import (
    simulate as simulate,
)
from . import (
    watch as watch,
)
from .fit import (
    FitResult as FitResult,
)
from .fit import (
    fit_arrays as fit_arrays,
)
from .fit import (
    fit_curve as fit_curve,
)
from .io.curves import (
    Curve as Curve,
)
from .io.curves import (
    read_curve as read_curve,
)
from .peaks import (
    find_peaks as find_peaks,
)
from .peaks import (
    index_peaks as index_peaks,
)

__version__: str

__all__ = [
    "__version__",
    "families",
    "fit",
    "geometry",
    "io",
    "models",
    "optical",
    "peaks",
    "pipeline",
    "reduce",
    "series",
    "simulate",
    "Curve",
    "read_curve",
    "FitResult",
    "fit_arrays",
    "fit_curve",
    "find_peaks",
    "index_peaks",
]
