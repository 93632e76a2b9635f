"""saxs_mc.io: curves, detector frames, NXcanSAS files and atomic writes.

- :class:`Curve`, :func:`read_curve` (NXcanSAS ``.h5`` or ASCII ``.dat``/``.csv``), :func:`write_curve_ascii`
- :func:`read_frame`, :func:`iter_frames`, :func:`expand_sources`, :func:`read_mask` -- detector frames via fabio/h5py
- :func:`read_nxcansas`, :func:`write_nxcansas`
- :mod:`~saxs_mc.io.atomic` -- all-or-nothing writes
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
