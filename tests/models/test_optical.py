"""Yu et al. (2003) CdSe optical sizing curve and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.models.optical import (
    YU_ABSORPTION_RANGE_NM,
    YU_DIAMETER_RANGE_NM,
    yu_absorption_nm,
    yu_diameter_nm,
)


@pytest.mark.parametrize("lam, d", [(403, 1.58), (437, 1.85), (465, 2.06), (572, 3.57)])
def test_published_sizes(lam, d):
    # values quoted with two decimals in the reference study / Yu et al.
    assert abs(yu_diameter_nm(lam) - d) <= 0.006


def test_polynomial_written_out():
    lam = 500.0
    expected = 1.6122e-9 * lam**4 - 2.6575e-6 * lam**3 + 1.6242e-3 * lam**2 - 0.4277 * lam + 41.57
    assert yu_diameter_nm(lam) == pytest.approx(expected, rel=1e-12)


def test_inverse_round_trip_and_monotonic():
    lam = np.linspace(*YU_ABSORPTION_RANGE_NM, 301)
    d = yu_diameter_nm(lam)
    assert np.all(np.diff(d) > 0)
    back = yu_absorption_nm(d)
    assert np.max(np.abs(back - lam)) < 1e-8
    # scalar in -> float out; the MSC families of the reference study
    assert isinstance(yu_absorption_nm(1.85), float)
    assert abs(yu_absorption_nm(yu_diameter_nm(437.0)) - 437.0) < 1e-8
    assert round(yu_absorption_nm(2.04)) == 462  # SAXS diameter of the r = 1.02 nm family


def test_out_of_range_is_an_error_naming_value_and_fix():
    with pytest.raises(ValueError, match=r"absorption_nm=300 nm is outside the validity range 380-660 nm"):
        yu_diameter_nm(300)
    with pytest.raises(ValueError, match=r"absorption_nm=700"):
        yu_diameter_nm([450, 700])
    with pytest.raises(ValueError, match=r"diameter_nm=0.87 nm .*pass a diameter, not a radius"):
        yu_absorption_nm(0.87)
    with pytest.raises(ValueError, match="NaN"):
        yu_diameter_nm(float("nan"))
    with pytest.raises(TypeError):
        yu_diameter_nm(True)
    with pytest.raises(TypeError):
        yu_absorption_nm("big")
    lo, hi = YU_DIAMETER_RANGE_NM
    assert 1.3 < lo < 1.4 and 8 < hi < 9
