"""The package's single numba configuration.

Every kernel module does ``from saxs_mc._numba import njit`` so that one
fastmath setting applies package-wide.  We allow reassociation, contraction
and fast reciprocals but *not* ``nnan``/``ninf``: validation relies on NaNs
propagating, and kernels must stay IEEE-safe for inf/NaN.
"""

from __future__ import annotations

import functools

import numba

#: fastmath flags used by every kernel in saxs_mc (no nnan / ninf).
FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: cache compiled kernels on disk (next to the module) between runs.
CACHE: bool = True


def njit(*args, **kwargs):
    """``numba.njit`` with the package's fastmath and cache settings.

    Use exactly like :func:`numba.njit`; explicit keyword arguments other
    than ``fastmath`` are passed through (``fastmath`` is fixed package-wide).
    """
    if "fastmath" in kwargs:
        raise TypeError("fastmath is fixed package-wide in saxs_mc._numba.FASTMATH; do not pass it")
    kwargs.setdefault("cache", CACHE)
    kwargs["fastmath"] = set(FASTMATH)
    if args and callable(args[0]) and len(args) == 1:
        return numba.njit(**kwargs)(args[0])
    return functools.partial(_njit_deferred, args, kwargs)


def _njit_deferred(args, kwargs, func):
    return numba.njit(*args, **kwargs)(func)
