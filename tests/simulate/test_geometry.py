"""Pixel geometry from pyFAI agrees with textbook formulas for an untilted detector."""

from __future__ import annotations

import numpy as np

from saxs_mc.simulate import MeasurementCondition, expected_counts


def _hand_geometry(ai, shape):
    i, j = np.indices(shape)
    p1, p2 = ai.detector.pixel1, ai.detector.pixel2
    y = (i + 0.5) * p1 - ai.poni1
    x = (j + 0.5) * p2 - ai.poni2
    d = ai.dist
    r = np.hypot(x, y)
    two_theta = np.arctan2(r, d)
    q_nm = 4 * np.pi / (ai.wavelength * 1e9) * np.sin(two_theta / 2)
    omega = p1 * p2 * np.cos(two_theta) ** 3 / d**2
    chi = np.arctan2(y, x)
    return q_nm, omega, two_theta, chi


def test_q_and_solid_angle_match_textbook(geom):
    q, omega, _, _ = _hand_geometry(geom.ai, geom.shape)
    np.testing.assert_allclose(geom.q_nm, q, rtol=2e-5, atol=1e-6)  # pyFAI computes q in float32
    np.testing.assert_allclose(geom.solid_angle_sr, omega, rtol=1e-6)


def test_expected_counts_follow_the_absolute_scale_convention(geom):
    """mu = I1 * thickness * dSigma * dOmega * pol, with an independent polarization formula."""
    _, omega, tth, chi = _hand_geometry(geom.ai, geom.shape)
    f = geom.polarization_factor
    pol = 0.5 * (1 + np.cos(tth) ** 2 - f * np.cos(2 * chi) * np.sin(tth) ** 2)
    # horizontal polarization: weaker scattering along the fast (x) axis than along y at equal 2theta
    cond = MeasurementCondition(name="w", kind="water", thickness_cm=0.2)
    flat = {"water": np.full(geom.shape, 0.0163)}
    i1 = 3.0e10
    mu = expected_counts(geom, cond, i1, dsigma=flat)
    valid = ~geom.mask
    np.testing.assert_allclose(mu[valid], (i1 * 0.2 * 0.0163 * omega * pol)[valid], rtol=1e-5)
    assert np.all(mu[geom.mask] == 0)
    # a gas bubble scales liquid scattering only
    mu_b = expected_counts(geom, cond, i1, dsigma={**flat, "capillary": np.full(geom.shape, 0.01)}, gas_fraction=0.25)
    np.testing.assert_allclose(mu_b[valid], (i1 * 0.2 * (0.75 * 0.0163 + 0.01) * omega * pol)[valid], rtol=1e-5)
