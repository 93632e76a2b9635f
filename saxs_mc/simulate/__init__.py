"""Simulator of in situ SAXS detector frames with known truth.

Render 2D frames (Poisson counts, ID02 EDF headers, Eiger-like NeXus stacks)
from volume-weighted sphere size distributions on an absolute scale, plus
solvent, capillary and Cd-precursor (mesophase) scattering.
"""

import lazy_loader

# Submodules are imported on first attribute access (scientific-python SPEC 1), so that
# ``import saxs_mc.simulate.cli`` -- done for every ``saxs-mc`` call -- does not load pyFAI.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "condition": ["GasBubble", "MeasurementCondition"],
        "geometry": ["PixelGeometry", "load_geometry", "make_geometry", "write_calibration"],
        "model": ["dsigma_components", "dsigma_model"],
        "render": ["expected_counts", "pixel_dsigma", "render_frame", "render_frame_truth"],
        "series": ["SeriesResult", "cdse_nucleation_conditions", "make_cdse_series", "simulate_series"],
        "writers": ["NEXUS_DATA_PATH", "read_nexus_stack", "write_edf", "write_nexus_stack"],
    },
)
