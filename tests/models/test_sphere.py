"""Sphere scattering against independent physics."""

import numpy as np
import pytest

from saxs_mc.models import sphere_dsigma, sphere_form_factor, sphere_volume_cm3
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE


def _numeric_amplitude(q, r, n=20001):
    # F(q) = (1/V) * int_0^R 4 pi s^2 sin(qs)/(qs) ds, by the trapezoid rule.
    s = np.linspace(0.0, r, n)
    qs = np.multiply.outer(q, s)
    sinc = np.where(qs == 0, 1.0, np.sin(qs) / np.where(qs == 0, 1.0, qs))
    integrand = 4 * np.pi * s**2 * sinc
    return np.trapezoid(integrand, s, axis=-1) / (4 / 3 * np.pi * r**3)


def test_form_factor_matches_numeric_fourier_transform():
    q = np.linspace(0.001, 12.0, 300)
    r = 1.3
    p = sphere_form_factor(q, r)
    ref = _numeric_amplitude(q, r) ** 2
    np.testing.assert_allclose(p, ref, rtol=1e-5, atol=1e-10)


def test_form_factor_limits_and_zeros():
    r = 2.0
    assert sphere_form_factor(np.array([0.0]), r)[0] == pytest.approx(1.0)
    # series and closed form agree across the switch at qr = 1e-2
    q = np.array([0.999e-2, 1.001e-2]) / r
    p = sphere_form_factor(q, r)
    assert p[0] == pytest.approx(p[1], rel=1e-5)
    # first zero of the amplitude: tan(x) = x at x = 4.4934
    assert sphere_form_factor(np.array([4.493409 / r]), r)[0] < 1e-12
    # Guinier: ln P ~ -(q Rg)^2/3, Rg^2 = 3/5 r^2
    q = np.array([0.01, 0.05])
    slope = np.diff(np.log(sphere_form_factor(q, r))) / np.diff(q**2)
    assert slope[0] == pytest.approx(-(3 / 5) * r**2 / 3, rel=2e-3)


def test_form_factor_broadcasts_radii():
    q = np.linspace(0.1, 5, 50)
    r = np.array([0.5, 1.0, 2.0])
    p = sphere_form_factor(q, r)
    assert p.shape == (3, 50)
    np.testing.assert_allclose(p[1], sphere_form_factor(q, 1.0))


def test_absolute_forward_scattering():
    # dSigma/dOmega(0) = phi * drho^2 * V for a monodisperse dilute system
    phi, r = 1e-3, 1.0
    drho_cm2 = CONTRAST_CDSE_ODE * 1e10
    expected = phi * drho_cm2**2 * sphere_volume_cm3(r)
    got = sphere_dsigma(np.array([0.0]), np.array([r]), np.array([phi]), CONTRAST_CDSE_ODE)[0]
    assert got == pytest.approx(expected, rel=1e-12)
    # 1 nm CdSe sphere in ODE at phi=1e-3: about 0.5 1/cm
    assert 0.45 < got < 0.55


def test_dsigma_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="volume_fraction"):
        sphere_dsigma(np.ones(3), np.ones(2), np.ones(3), 1.0)


@pytest.mark.parametrize(
    "radius, phi, q, contrast, match",
    [
        ([1.0, -0.5], [1e-3, 1e-3], [0.1, 1.0], 34.65, r"radius_nm\[1\]=-0\.5 is invalid.*> 0"),
        ([1.0, 0.0], [1e-3, 1e-3], [0.1, 1.0], 34.65, r"radius_nm\[1\]=0\.0"),
        ([1.0, np.nan], [1e-3, 1e-3], [0.1, 1.0], 34.65, r"radius_nm\[1\]=nan"),
        ([1.0, 2.0], [1e-3, -1e-3], [0.1, 1.0], 34.65, r"volume_fraction\[1\]=-0\.001 is invalid.*>= 0"),
        ([1.0, 2.0], [np.inf, 1e-3], [0.1, 1.0], 34.65, r"volume_fraction\[0\]=inf"),
        ([1.0], [1e-3], [np.nan, 1.0], 34.65, r"q_nm\[0\]=nan"),
        ([1.0], [1e-3], [-0.1, 1.0], 34.65, r"q_nm\[0\]=-0\.1"),
        ([1.0], [1e-3], [0.1, 1.0], float("nan"), r"contrast_1e6_A2=nan is not finite"),
    ],
)
def test_sphere_dsigma_rejects_unphysical_input(radius, phi, q, contrast, match):
    with pytest.raises(ValueError, match=match):
        sphere_dsigma(np.array(q), np.array(radius), np.array(phi), contrast)
