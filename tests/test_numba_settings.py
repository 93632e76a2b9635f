"""The package-wide numba settings."""

from saxs_mc._numba import FASTMATH


def test_fastmath_keeps_ieee_semantics_that_results_depend_on():
    # NaN/inf checks must work inside kernels, and results must not depend on how
    # the compiler regroups sums (reassoc made cached and fresh kernels disagree).
    assert not ({"nnan", "ninf", "reassoc", "fast"} & set(FASTMATH))
