"""saxs_mc.geometry: detector geometry from other programs' calibrations, as pyFAI PONI files.

::

    from saxs_mc.geometry import read_fit2d, fit2d_to_poni
    f2d = read_fit2d("calibration_fit2d.txt")        # Fit2D refinement log (or "dist_mm=...,center_x=...")
    fit2d_to_poni(f2d, "Pilatus1M", "elettra.poni")  # pyFAI setFit2D -> PONI (version 2)

The frames must then be flipped top-to-bottom to match (``--flip ud``): Fit2D's geometry and
masks refer to the image flipped that way relative to fabio's reading.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
