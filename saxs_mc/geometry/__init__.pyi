"""Type stub of :mod:`saxs_mc.geometry`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .fit2d import (
    Fit2DGeometry as Fit2DGeometry,
)
from .fit2d import (
    fit2d_to_poni as fit2d_to_poni,
)
from .fit2d import (
    integrator_from_fit2d as integrator_from_fit2d,
)
from .fit2d import (
    parse_fit2d_values as parse_fit2d_values,
)
from .fit2d import (
    read_fit2d as read_fit2d,
)

__all__ = [
    "Fit2DGeometry",
    "fit2d_to_poni",
    "integrator_from_fit2d",
    "parse_fit2d_values",
    "read_fit2d",
]
