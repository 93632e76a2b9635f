"""The noiseless truth model against hand-computed physics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saxs_mc.models.distributions import SizeDistribution
from saxs_mc.simulate import MeasurementCondition, dsigma_components, dsigma_model
from saxs_mc.simulate import components as C


def test_particle_forward_scattering_is_phi_drho2_V():
    r_nm, phi = 1.0, 5e-4
    c = MeasurementCondition(name="m", distributions=(SizeDistribution("monodisperse", {"radius_nm": r_nm}, phi),))
    q = np.array([1e-3])
    drho = 34.65e10  # 1/cm^2
    v = 4 / 3 * math.pi * (r_nm * 1e-7) ** 3
    assert dsigma_model(q, c, component="particles")[0] == pytest.approx(phi * drho**2 * v, rel=1e-5)
    # first zero of the sphere form factor at qr = 4.4934
    assert dsigma_model(np.array([4.4934]), c, component="particles")[0] < 1e-8 * phi * drho**2 * v


def test_components_present_per_kind():
    q = np.geomspace(0.1, 7, 50)
    assert set(dsigma_components(q, MeasurementCondition(name="s"))) == {
        "particles",
        "solvent",
        "precursor",
        "capillary",
    }
    assert set(dsigma_components(q, MeasurementCondition(name="b", kind="blank"))) == {
        "solvent",
        "precursor",
        "capillary",
    }
    assert set(dsigma_components(q, MeasurementCondition(name="e", kind="empty_cell"))) == {"capillary"}
    w = dsigma_components(q, MeasurementCondition(name="w", kind="water", temperature_C=20.0))
    np.testing.assert_allclose(w["water"], 0.0163)


def test_sample_minus_blank_is_particles():
    dist = SizeDistribution("lognormal", {"median_nm": 1.3, "sigma": 0.13}, 7e-4)
    s = MeasurementCondition(name="s", distributions=(dist,))
    b = MeasurementCondition(name="b", kind="blank")
    q = np.geomspace(0.1, 7, 200)
    np.testing.assert_allclose(dsigma_model(q, s) - dsigma_model(q, b), dist.dsigma(q, 34.65), rtol=1e-10, atol=1e-14)


def test_mesophase_peaks_and_temperature():
    assert C.mesophase_strength(25) == 1.0
    assert 0.2 < C.mesophase_strength(50) < 0.6
    assert C.mesophase_strength(100) == 0.0 and C.mesophase_strength(230) == 0.0
    q = np.linspace(1.5, 4.0, 25001)
    pre = C.precursor_dsigma(q, 25.0)
    # local maxima at the stated positions
    for q0 in (1.84, 3.69):
        sel = np.abs(q - q0) < 0.2
        assert q[sel][np.argmax(pre[sel])] == pytest.approx(q0, abs=1e-3)
    molten = C.precursor_dsigma(q, 100.0)
    assert np.ptp(molten) < 1e-3  # flat: no peaks
    assert C.true_peaks(100.0) == [] and len(C.true_peaks(25.0)) == 2
    # the tabulated area of a pseudo-Voigt equals its numerical integral
    pk = C.true_peaks(25.0)[0]
    qq = np.linspace(pk["q_nm"] - 40, pk["q_nm"] + 40, 400001)
    area = np.sum(pk["height_cm"] * C.pseudo_voigt(qq, pk["q_nm"], pk["fwhm_nm"], pk["eta"])) * (qq[1] - qq[0])
    assert area == pytest.approx(pk["area_cm_nm"], rel=2e-3)


def test_broad_maximum_persists_weakly():
    q = np.linspace(0.15, 0.45, 301)
    for t in (25.0, 50.0, 230.0):
        pre = C.precursor_dsigma(q, t)
        assert 0.2 <= q[np.argmax(pre)] <= 0.3
    assert C.broad_maximum_height(25) > C.broad_maximum_height(50) > C.broad_maximum_height(100) > 0
