"""Read-only array fields for the frozen result dataclasses (one helper instead of a loop per class)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def freeze_array_fields(obj: Any) -> None:
    """Replace every ``numpy.ndarray`` field of the frozen dataclass ``obj`` by a read-only copy.

    Call it from ``__post_init__``: results stay immutable, and arrays handed in by the caller are
    not aliased (later changes to them do not change the result).

    Examples
    --------
    >>> import numpy as np
    >>> @dataclasses.dataclass(frozen=True)
    ... class R:
    ...     x: np.ndarray
    ...     def __post_init__(self):
    ...         freeze_array_fields(self)
    >>> a = np.zeros(3)
    >>> r = R(a); a[0] = 1.0
    >>> float(r.x[0]), r.x.flags.writeable
    (0.0, False)
    """
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            v = v.copy()
            v.flags.writeable = False
            object.__setattr__(obj, f.name, v)
