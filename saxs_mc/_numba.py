"""The package's single numba configuration.

Every kernel module does ``from saxs_mc._numba import njit`` so that one
fastmath setting applies package-wide.  We allow contraction (FMA), fast
reciprocals and approximate functions, but

- not ``nnan``/``ninf``: validation relies on NaNs propagating, and kernels
  must stay IEEE-safe for inf/NaN;
- not ``reassoc``: with reassociation the parallel Monte Carlo kernel gave
  last-digit differences between a kernel compiled in the running process
  and the same kernel loaded from numba's on-disk cache, which the greedy
  MC acceptance amplifies into different results (seen as a dask run
  differing from a serial one).  Dropping it costs no measurable speed
  (0.127-0.131 us per MC iteration with or without it, 220 q points).

numba's cache key does not include fastmath flags: after changing
``FASTMATH`` delete the ``__pycache__`` folders of the kernel modules.
"""

from __future__ import annotations

import functools

import numba

#: fastmath flags used by every kernel in saxs_mc (no nnan / ninf / reassoc).
FASTMATH: frozenset[str] = frozenset({"nsz", "arcp", "contract", "afn"})

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
