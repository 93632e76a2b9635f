"""robust_outliers against a plain reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.reduce import robust_outliers


def _reference(v, thr, rel, floor):
    v = np.asarray(v, float)
    med = np.median(v)
    scale = max(1.4826 * np.median(np.abs(v - med)), rel * abs(med), floor)
    return np.abs(v - med) / scale > thr


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_and_flags_injected_outliers(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(1.0, 0.01, 40)
    v[[5, 17]] = [1.2, 0.7]
    res = robust_outliers(v, 5.0, min_rel_dev=0.001, abs_floor=0.0)
    np.testing.assert_array_equal(res.flags, _reference(v, 5.0, 0.001, 0.0))
    assert set(np.flatnonzero(res.flags)) == {5, 17}
    assert res.scale == pytest.approx(0.01, rel=0.35)


def test_constant_series_uses_floor_and_small_series_flag_nothing():
    v = np.array([0.5, 0.5, 0.5, 0.5, 0.52])
    assert robust_outliers(v, 5.0, min_rel_dev=0.01).flags.tolist() == [False] * 4 + [False]
    assert robust_outliers(v, 5.0, min_rel_dev=0.001).flags.tolist() == [False] * 4 + [True]
    assert not robust_outliers([1.0, 100.0], 5.0).flags.any()
    r = robust_outliers([1.0, np.nan, 1.0, 5.0], 5.0)
    assert r.flags.tolist() == [False, False, False, True] and np.isnan(r.z[1])
    with pytest.raises(ValueError, match="threshold"):
        robust_outliers([1.0], 0.0)
