"""saxs_mc.series: series of measurements along an axis, e.g. time points of one frame stack.

::

    from saxs_mc.series import Grouping, group_frames
    tps = group_frames("run.h5::/entry/instrument/detector/data", Grouping(window_s=6.0),
                       timestamps="run.h5::/entry/data/time")
    for tp in tps:                     # frozen TimePoint records
        curve = reducer.reduce(list(tp.sources), title=f"t={tp.time_s:.1f}s")
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
