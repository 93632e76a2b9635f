"""Scattering models: sphere form factor, size distributions, X-ray contrast of materials, Yu sizing curves.

- :func:`sphere_form_factor`, :func:`sphere_dsigma`, :func:`contrast_to_cm2`, :func:`sphere_volume_cm3`
- :class:`SizeDistribution`, :func:`make_distribution`
- :func:`contrast`, :func:`xray_sld`, :class:`Material` -- X-ray scattering-length-density contrast (periodictable)
- :func:`yu_diameter_nm`, :func:`yu_absorption_nm` -- Yu et al. (2003) CdSe sizing curve
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
