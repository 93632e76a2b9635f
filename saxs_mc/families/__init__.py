"""saxs_mc.families: how much of each magic-size family, with uncertainties.

- :func:`decompose` -- fit a blank-subtracted curve as discrete sphere families (+ an
  optional log-normal population) and a background; NNLS amounts inside lmfit shapes,
  BIC model selection, covariance uncertainties, upper limits for absent families
- :class:`Family`, :class:`Continuous`, :func:`parse_family`, :func:`load_families_config`
- :class:`FamilyResult`, :class:`TermFraction`
- :func:`write_family_outputs` -- ``<stem>_families.json``, ``.csv`` and a plot
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
