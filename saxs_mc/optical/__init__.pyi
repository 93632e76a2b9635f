"""Type stub of :mod:`saxs_mc.optical`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .analysis import (
    SIZING_RANGE_NM as SIZING_RANGE_NM,
)
from .analysis import (
    OpticalResult as OpticalResult,
)
from .analysis import (
    SpectrumPeaks as SpectrumPeaks,
)
from .analysis import (
    analyse_spectra as analyse_spectra,
)
from .excitons import (
    DEFAULT_FAMILIES as DEFAULT_FAMILIES,
)
from .excitons import (
    ExcitonPeak as ExcitonPeak,
)
from .excitons import (
    OpticalFamily as OpticalFamily,
)
from .excitons import (
    parse_optical_family as parse_optical_family,
)
from .spectra import (
    Spectra as Spectra,
)
from .spectra import (
    read_spectra as read_spectra,
)

__all__ = [
    "Spectra",
    "read_spectra",
    "ExcitonPeak",
    "OpticalFamily",
    "DEFAULT_FAMILIES",
    "parse_optical_family",
    "OpticalResult",
    "SpectrumPeaks",
    "analyse_spectra",
    "SIZING_RANGE_NM",
]
