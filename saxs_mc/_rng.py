"""Random-number conventions: ``int | numpy.random.Generator | None``."""

from __future__ import annotations

import numpy as np

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: SeedLike, *, name: str = "seed") -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence or None
        An existing generator is returned as is (not copied); an int or
        SeedSequence seeds a new PCG64 generator; None draws OS entropy.
    name : str
        Parameter name used in error messages.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"{name}={seed!r} ({type(seed).__name__}): expected an int >= 0, a numpy.random.Generator or None"
        )
    if seed < 0:
        raise ValueError(f"{name}={seed}: seeds must be >= 0; pass a non-negative int")
    return np.random.default_rng(int(seed))


def spawn_seeds(seed: SeedLike, n: int, *, name: str = "seed") -> np.ndarray:
    """Draw ``n`` independent 63-bit integer seeds (one per repetition/stream).

    The streams are independent because they come from
    :meth:`numpy.random.SeedSequence.spawn` when ``seed`` is an int, or from
    the given generator otherwise.  Returns ndarray of shape (n,), dtype int64.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        if seed < 0:
            raise ValueError(f"{name}={seed}: seeds must be >= 0; pass a non-negative int")
        children = np.random.SeedSequence(int(seed)).spawn(n)
        return np.array([c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1) for c in children], dtype=np.int64)
    gen = as_generator(seed, name=name)
    return gen.integers(0, 2**63 - 1, size=n, dtype=np.int64)
