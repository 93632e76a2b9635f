"""Volume-weighted size distributions."""

import math

import numpy as np
import pytest

from saxs_mc.models import make_distribution


def test_lognormal_volume_weighted_moments_are_analytic():
    d = make_distribution({"kind": "lognormal", "median_nm": 1.0, "sigma": 0.15, "volume_fraction": 1e-3})
    m = d.moments()
    mean = math.exp(0.15**2 / 2)
    sd = mean * math.sqrt(math.exp(0.15**2) - 1)
    assert m["mean_nm"] == pytest.approx(mean, rel=1e-4)
    assert m["sd_nm"] == pytest.approx(sd, rel=2e-3)


def test_discretize_conserves_volume_fraction():
    for spec in (
        {"kind": "gaussian", "mean_nm": 0.94, "sd_nm": 0.04, "volume_fraction": 2e-3},
        {"kind": "uniform", "min_nm": 1.0, "max_nm": 2.0, "volume_fraction": 1e-4},
        {"kind": "monodisperse", "radius_nm": 0.87, "volume_fraction": 5e-4},
    ):
        r, phi = make_distribution(spec).discretize(300)
        assert phi.sum() == pytest.approx(spec["volume_fraction"], rel=1e-12)
        assert np.all(r > 0)


def test_narrow_gaussian_approaches_monodisperse_scattering():
    q = np.linspace(0.1, 6, 100)
    mono = make_distribution({"kind": "monodisperse", "radius_nm": 1.0, "volume_fraction": 1e-3}).dsigma(q, 34.65)
    narrow = make_distribution({"kind": "gaussian", "mean_nm": 1.0, "sd_nm": 1e-3, "volume_fraction": 1e-3}).dsigma(q, 34.65)
    np.testing.assert_allclose(narrow, mono, rtol=1e-4, atol=1e-5 * mono.max())


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"kind": "weibull", "volume_fraction": 1.0}, "kind='weibull' is unknown"),
        ({"kind": "gaussian", "mean_nm": 1.0, "sd_nm": -0.1, "volume_fraction": 1.0}, "sd_nm=-0.1 must be > 0"),
        ({"kind": "gaussian", "mean_nm": 1.0, "sd_nm": 0.1, "volume_fraction": -1e-3}, "volume_fraction=-0.001"),
        ({"kind": "lognormal", "median_nm": 1.0, "volume_fraction": 1.0}, "takes parameters"),
        ({"kind": "uniform", "min_nm": 2.0, "max_nm": 1.0, "volume_fraction": 1.0}, "min_nm < max_nm"),
    ],
)
def test_bad_specs_name_the_parameter(spec, match):
    with pytest.raises(ValueError, match=match):
        make_distribution(spec)
