"""Type stub of :mod:`saxs_mc.reduce`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .blank import (
    pick_blank_by_temperature as pick_blank_by_temperature,
)
from .blank import (
    subtract_blank as subtract_blank,
)
from .calibration import (
    WATER_DSIGMA_20C as WATER_DSIGMA_20C,
)
from .calibration import (
    WaterCalibration as WaterCalibration,
)
from .calibration import (
    water_calibration as water_calibration,
)
from .output import (
    read_reduced as read_reduced,
)
from .output import (
    write_reduced as write_reduced,
)
from .reducer import (
    FrameRecord as FrameRecord,
)
from .reducer import (
    Reducer as Reducer,
)
from .reducer import (
    ReductionResult as ReductionResult,
)
from .rejection import (
    RobustFlags as RobustFlags,
)
from .rejection import (
    robust_outliers as robust_outliers,
)
from .settings import (
    HeaderMap as HeaderMap,
)
from .settings import (
    ReductionSettings as ReductionSettings,
)

__all__ = [
    "pick_blank_by_temperature",
    "subtract_blank",
    "WATER_DSIGMA_20C",
    "WaterCalibration",
    "water_calibration",
    "read_reduced",
    "write_reduced",
    "FrameRecord",
    "Reducer",
    "ReductionResult",
    "RobustFlags",
    "robust_outliers",
    "HeaderMap",
    "ReductionSettings",
]
