"""Type stub of :mod:`saxs_mc.io`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from . import (
    atomic as atomic,
)
from .curves import (
    INTENSITY_UNITS as INTENSITY_UNITS,
)
from .curves import (
    Curve as Curve,
)
from .curves import (
    read_curve as read_curve,
)
from .curves import (
    read_curve_ascii as read_curve_ascii,
)
from .curves import (
    write_curve_ascii as write_curve_ascii,
)
from .frames import (
    Frame as Frame,
)
from .frames import (
    FrameError as FrameError,
)
from .frames import (
    FrameRef as FrameRef,
)
from .frames import (
    expand_sources as expand_sources,
)
from .frames import (
    iter_frames as iter_frames,
)
from .frames import (
    read_frame as read_frame,
)
from .frames import (
    read_mask as read_mask,
)
from .nxcansas import (
    read_nxcansas as read_nxcansas,
)
from .nxcansas import (
    write_nxcansas as write_nxcansas,
)

__all__ = [
    "atomic",
    "INTENSITY_UNITS",
    "Curve",
    "read_curve",
    "read_curve_ascii",
    "write_curve_ascii",
    "Frame",
    "FrameError",
    "FrameRef",
    "expand_sources",
    "iter_frames",
    "read_frame",
    "read_mask",
    "read_nxcansas",
    "write_nxcansas",
]
