"""saxs_mc.optical: first-exciton peaks of CdSe absorbance spectra, their families and Yu diameters.

- :func:`read_spectra` -- CSV/TXT, wavelength (nm) + one or many absorbance columns
- :func:`analyse_spectra` -- second-derivative candidates, lmfit peak fit, family assignment,
  Yu et al. (2003) diameters (:mod:`saxs_mc.models.optical`)
- :class:`OpticalResult`, :class:`ExcitonPeak`, :class:`OpticalFamily`
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
