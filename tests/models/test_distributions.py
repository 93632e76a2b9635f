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
    narrow = make_distribution({"kind": "gaussian", "mean_nm": 1.0, "sd_nm": 1e-3, "volume_fraction": 1e-3}).dsigma(
        q, 34.65
    )
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


def _dsigma_quad(d, q_nm, contrast):
    """Slow reference: dSigma/dOmega by adaptive quadrature of f_v(r) V(r) P(q, r) over ln r."""
    from scipy.integrate import quad

    from saxs_mc.models.sphere import contrast_to_cm2, sphere_form_factor, sphere_volume_cm3

    lo, hi = d.support_nm()
    out = []
    for q in q_nm:

        def f(u, q=q):
            r = math.exp(u)
            return float(d.pdf(r)) * r * float(sphere_volume_cm3(r)) * float(sphere_form_factor(np.array([q]), r)[0])

        val, _ = quad(f, math.log(lo), math.log(hi), limit=500, epsabs=0.0, epsrel=1e-10)
        out.append(val)
    return d.volume_fraction * contrast_to_cm2(contrast) ** 2 * np.array(out)


@pytest.mark.parametrize("sigma", [0.15, 0.5, 1.0])
def test_broad_lognormal_dsigma_matches_quadrature(sigma):
    # a linear radius grid was 3 % low at sigma = 1 with n = 400; the log grid is exact to the 5-sigma cut
    d = make_distribution({"kind": "lognormal", "median_nm": 1.0, "sigma": sigma, "volume_fraction": 1e-3})
    q = np.array([0.05, 0.3, 1.0, 3.0])
    np.testing.assert_allclose(d.dsigma(q, 34.65, n=400), _dsigma_quad(d, q, 34.65), rtol=1e-4)


def test_broad_lognormal_mean_radius_with_400_bins():
    d = make_distribution({"kind": "lognormal", "median_nm": 2.0, "sigma": 1.0, "volume_fraction": 1e-3})
    r, phi = d.discretize(400)
    assert np.all(np.diff(np.log(r)) > 0)
    w = phi / phi.sum()
    assert float(np.sum(w * r)) == pytest.approx(2.0 * math.exp(0.5), rel=1e-3)


def test_numpy_numbers_are_accepted_and_stored_as_floats():
    d = make_distribution(
        {
            "kind": "gaussian",
            "mean_nm": np.float32(0.94),
            "sd_nm": np.float64(0.04),
            "volume_fraction": np.float64(2e-3),
        }
    )
    e = make_distribution({"kind": "uniform", "min_nm": np.int64(1), "max_nm": np.int32(2), "volume_fraction": 1e-4})
    assert type(d.params["mean_nm"]) is float and d.params["mean_nm"] == pytest.approx(0.94, rel=1e-7)
    assert e.to_dict() == {"kind": "uniform", "min_nm": 1.0, "max_nm": 2.0, "volume_fraction": 1e-4, "label": ""}
    with pytest.raises(ValueError, match=r"max_nm='2' \(type str\) must be a real number"):
        make_distribution({"kind": "uniform", "min_nm": 1, "max_nm": "2", "volume_fraction": 1e-4})
    with pytest.raises(ValueError, match="sd_nm=True"):
        make_distribution({"kind": "gaussian", "mean_nm": 1.0, "sd_nm": True, "volume_fraction": 1e-4})


def test_params_are_an_immutable_copy():
    from saxs_mc.models import SizeDistribution

    params = {"mean_nm": 1.0, "sd_nm": 0.1}
    d = SizeDistribution("gaussian", params, 1e-3)
    params["sd_nm"] = -5.0  # the caller's later change must not reach the validated object
    assert d.params["sd_nm"] == 0.1
    with pytest.raises(TypeError):
        d.params["sd_nm"] = -5.0  # type: ignore[index]
    assert d == SizeDistribution("gaussian", {"mean_nm": 1.0, "sd_nm": 0.1}, 1e-3)
    assert d != SizeDistribution("gaussian", {"mean_nm": 1.0, "sd_nm": 0.2}, 1e-3)
    assert make_distribution(d.to_dict()) == d


def test_distribution_pickles_and_copies():
    import copy
    import pickle

    d = make_distribution({"kind": "lognormal", "median_nm": 1.0, "sigma": 0.2, "volume_fraction": 1e-3, "label": "x"})
    assert pickle.loads(pickle.dumps(d)) == d
    assert copy.deepcopy(d) == d
