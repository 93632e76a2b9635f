"""saxs_mc.reduce: raw 2D frames -> normalized, averaged, blank-subtracted I(q) in 1/cm.

::

    from saxs_mc.reduce import ReductionSettings, HeaderMap, Reducer, read_reduced, write_reduced
    reducer = Reducer(poni="calibration/id02_sim.poni", mask="calibration/id02_sim_mask.edf",
                      settings=ReductionSettings(npt=400))
    sample = reducer.reduce(["sample_data/cdse_series/nuc240C/*.edf"], title="nuc240C")
    blank = reducer.reduce(["sample_data/cdse_series/blank_230C/*.edf"], title="blank_230C")
    write_reduced("nuc240C.h5", sample.subtract(blank))
    again = read_reduced("nuc240C.h5")   # the same ReductionResult (curve, frames, rejected, settings, blank)
"""

from saxs_mc.reduce.blank import pick_blank_by_temperature, subtract_blank
from saxs_mc.reduce.calibration import WATER_DSIGMA_20C, WaterCalibration, water_calibration
from saxs_mc.reduce.output import read_reduced, write_reduced
from saxs_mc.reduce.reducer import FrameRecord, Reducer, ReductionResult
from saxs_mc.reduce.rejection import RobustFlags, robust_outliers
from saxs_mc.reduce.settings import HeaderMap, ReductionSettings

__all__ = [
    "HeaderMap",
    "ReductionSettings",
    "Reducer",
    "ReductionResult",
    "FrameRecord",
    "subtract_blank",
    "pick_blank_by_temperature",
    "write_reduced",
    "read_reduced",
    "water_calibration",
    "WaterCalibration",
    "WATER_DSIGMA_20C",
    "robust_outliers",
    "RobustFlags",
]
