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

import lazy_loader

# Submodules load on first attribute access (scientific-python SPEC 1): the CLI imports
# ``saxs_mc.reduce.cli`` on every call and must not pay for pyFAI/scipy then.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
