"""Type stub of :mod:`saxs_mc.watch`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .complete import (
    Check as Check,
)
from .complete import (
    check_file as check_file,
)
from .complete import (
    edf_layout as edf_layout,
)
from .complete import (
    hdf5_committed_frames as hdf5_committed_frames,
)
from .live_reduce import (
    LiveReducer as LiveReducer,
)
from .refit import (
    CurveChange as CurveChange,
)
from .refit import (
    curve_change as curve_change,
)
from .session import (
    WatchSession as WatchSession,
)
from .settings import (
    WatchSettings as WatchSettings,
)
