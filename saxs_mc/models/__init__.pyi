"""Type stub of :mod:`saxs_mc.models`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from . import (
    water as water,
)
from .distributions import (
    SizeDistribution as SizeDistribution,
)
from .distributions import (
    make_distribution as make_distribution,
)
from .materials import (
    Contrast as Contrast,
)
from .materials import (
    Material as Material,
)
from .materials import (
    MaterialError as MaterialError,
)
from .materials import (
    beam_energy_keV as beam_energy_keV,
)
from .materials import (
    contrast as contrast,
)
from .materials import (
    resolve_material as resolve_material,
)
from .materials import (
    xray_sld as xray_sld,
)
from .optical import (
    yu_absorption_nm as yu_absorption_nm,
)
from .optical import (
    yu_diameter_nm as yu_diameter_nm,
)
from .sphere import (
    contrast_to_cm2 as contrast_to_cm2,
)
from .sphere import (
    sphere_dsigma as sphere_dsigma,
)
from .sphere import (
    sphere_form_factor as sphere_form_factor,
)
from .sphere import (
    sphere_volume_cm3 as sphere_volume_cm3,
)

__all__ = [
    "water",
    "SizeDistribution",
    "make_distribution",
    "Contrast",
    "Material",
    "MaterialError",
    "beam_energy_keV",
    "contrast",
    "resolve_material",
    "xray_sld",
    "yu_absorption_nm",
    "yu_diameter_nm",
    "contrast_to_cm2",
    "sphere_dsigma",
    "sphere_form_factor",
    "sphere_volume_cm3",
]
