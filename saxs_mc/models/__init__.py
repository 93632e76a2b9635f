"""Scattering models: sphere form factor and size distributions."""

from saxs_mc.models.distributions import SizeDistribution, make_distribution
from saxs_mc.models.sphere import (
    contrast_to_cm2,
    sphere_dsigma,
    sphere_form_factor,
    sphere_volume_cm3,
)

__all__ = [
    "SizeDistribution",
    "make_distribution",
    "contrast_to_cm2",
    "sphere_dsigma",
    "sphere_form_factor",
    "sphere_volume_cm3",
]
