"""Type stub of :mod:`saxs_mc.families`: the public names, loaded lazily at run time (``lazy_loader.attach_stub``)."""

from .decompose import (
    decompose as decompose,
)
from .outputs import (
    write_family_outputs as write_family_outputs,
)
from .result import (
    FamilyResult as FamilyResult,
)
from .result import (
    TermFraction as TermFraction,
)
from .spec import (
    CDSE_MSC_FAMILIES as CDSE_MSC_FAMILIES,
)
from .spec import (
    Continuous as Continuous,
)
from .spec import (
    Family as Family,
)
from .spec import (
    check_families as check_families,
)
from .spec import (
    families_from_windows as families_from_windows,
)
from .spec import (
    load_families_config as load_families_config,
)
from .spec import (
    parse_family as parse_family,
)

__all__ = [
    "decompose",
    "Family",
    "Continuous",
    "CDSE_MSC_FAMILIES",
    "parse_family",
    "check_families",
    "load_families_config",
    "families_from_windows",
    "FamilyResult",
    "TermFraction",
    "write_family_outputs",
]
