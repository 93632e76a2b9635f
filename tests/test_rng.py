"""RNG conventions: int | Generator | None, independent reproducible streams."""

import numpy as np
import pytest

from saxs_mc._rng import as_generator, spawn_seeds


def test_same_int_seed_same_stream_and_generators_pass_through():
    a = as_generator(7).random(5)
    b = as_generator(7).random(5)
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(1)
    assert as_generator(g) is g


def test_spawned_seeds_are_reproducible_and_distinct():
    s1 = spawn_seeds(42, 16)
    s2 = spawn_seeds(42, 16)
    np.testing.assert_array_equal(s1, s2)
    assert len(set(s1.tolist())) == 16
    assert np.all(s1 >= 0)
    # a prefix of a longer spawn equals the shorter spawn (streams do not depend on the count)
    np.testing.assert_array_equal(spawn_seeds(42, 4), s1[:4])


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError)])
def test_bad_seeds_are_rejected(bad, exc):
    with pytest.raises(exc, match="seed"):
        as_generator(bad)
