"""Simulator of in situ SAXS detector frames with known truth.

Render 2D frames (Poisson counts, ID02 EDF headers, Eiger-like NeXus stacks)
from volume-weighted sphere size distributions on an absolute scale, plus
solvent, capillary and Cd-precursor (mesophase) scattering.
"""

from saxs_mc.simulate.condition import GasBubble, MeasurementCondition
from saxs_mc.simulate.geometry import PixelGeometry, load_geometry, make_geometry, write_calibration
from saxs_mc.simulate.model import dsigma_components, dsigma_model
from saxs_mc.simulate.render import expected_counts, pixel_dsigma, render_frame, render_frame_truth
from saxs_mc.simulate.series import (
    SeriesResult,
    cdse_nucleation_conditions,
    make_cdse_series,
    simulate_series,
)
from saxs_mc.simulate.writers import NEXUS_DATA_PATH, read_nexus_stack, write_edf, write_nexus_stack

__all__ = [
    "GasBubble", "MeasurementCondition", "PixelGeometry", "load_geometry", "make_geometry", "write_calibration",
    "dsigma_components", "dsigma_model", "expected_counts", "pixel_dsigma", "render_frame", "render_frame_truth", "SeriesResult",
    "cdse_nucleation_conditions", "make_cdse_series", "simulate_series", "NEXUS_DATA_PATH", "read_nexus_stack",
    "write_edf", "write_nexus_stack",
]
