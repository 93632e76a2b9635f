"""Type stub of :mod:`saxs_mc.simulate`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .condition import (
    GasBubble as GasBubble,
)
from .condition import (
    MeasurementCondition as MeasurementCondition,
)
from .geometry import (
    PixelGeometry as PixelGeometry,
)
from .geometry import (
    load_geometry as load_geometry,
)
from .geometry import (
    make_geometry as make_geometry,
)
from .geometry import (
    write_calibration as write_calibration,
)
from .model import (
    dsigma_components as dsigma_components,
)
from .model import (
    dsigma_model as dsigma_model,
)
from .render import (
    expected_counts as expected_counts,
)
from .render import (
    pixel_dsigma as pixel_dsigma,
)
from .render import (
    render_frame as render_frame,
)
from .render import (
    render_frame_truth as render_frame_truth,
)
from .series import (
    SeriesResult as SeriesResult,
)
from .series import (
    cdse_nucleation_conditions as cdse_nucleation_conditions,
)
from .series import (
    make_cdse_series as make_cdse_series,
)
from .series import (
    simulate_series as simulate_series,
)
from .writers import (
    NEXUS_DATA_PATH as NEXUS_DATA_PATH,
)
from .writers import (
    read_nexus_stack as read_nexus_stack,
)
from .writers import (
    write_edf as write_edf,
)
from .writers import (
    write_nexus_stack as write_nexus_stack,
)

__all__ = [
    "GasBubble",
    "MeasurementCondition",
    "PixelGeometry",
    "load_geometry",
    "make_geometry",
    "write_calibration",
    "dsigma_components",
    "dsigma_model",
    "expected_counts",
    "pixel_dsigma",
    "render_frame",
    "render_frame_truth",
    "SeriesResult",
    "cdse_nucleation_conditions",
    "make_cdse_series",
    "simulate_series",
    "NEXUS_DATA_PATH",
    "read_nexus_stack",
    "write_edf",
    "write_nexus_stack",
]
