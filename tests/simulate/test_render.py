"""The rendered frames carry the input dSigma/dOmega on the stated absolute scale."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import curve_fit

from saxs_mc.simulate import (
    GasBubble,
    MeasurementCondition,
    dsigma_model,
    expected_counts,
    render_frame,
    render_frame_truth,
)
from saxs_mc.simulate.components import WATER_DSIGMA_CM
from saxs_mc.simulate.condition import CELL_TRANSMISSION
from tests.simulate.conftest import integrate


def _binned_model(ai, mask, condition, npt, gas_fraction=0.0):
    """Bin-average of dsigma_model at pixel centres, weighted like pyFAI's no-split histogram."""
    shape = mask.shape
    q = ai.qArray(shape)
    valid = mask == 0
    img = np.zeros(shape)
    # exact model on a fine linear grid (dq ~ 1e-3, 1/20 of a pixel), interpolated to pixel centres
    grid = np.linspace(q[valid].min(), q[valid].max(), 8000)
    img[valid] = np.interp(q[valid], grid, dsigma_model(grid, condition, gas_fraction=gas_fraction))
    sa = ai.solidAngleArray(shape)  # relative, as used by integrate1d
    pol = ai.polarization(shape, factor=0.99)
    res = ai.integrate1d(
        img * sa * pol,
        npt,
        unit="q_nm^-1",
        mask=mask,
        correctSolidAngle=True,
        polarization_factor=0.99,
        method=("no", "histogram", "cython"),
    )
    return res.intensity


def _chi2(setup, geom, cond, seed, *, frame=0, npt=300, q_min=0.3):
    ai, mask, _ = setup
    data, header, mon = render_frame_truth(cond, geom, frame, seed)
    q, i, s = integrate(
        ai, mask, data, float(header["Intensity1ShutCor"]), float(header["SampleThickness_cm"]), npt=npt
    )
    ref = _binned_model(ai, mask, cond, npt, gas_fraction=mon.gas_fraction)
    sel = (q >= q_min) & (s > 0)
    z = (i[sel] - ref[sel]) / s[sel]
    return float(np.mean(z**2)), float(np.mean(z)), int(sel.sum()), q, i, s, ref


def test_integration_recovers_input_dsigma_within_counting_noise(setup, geom, sample_condition):
    chi2r, mean_z, n, *_ = _chi2(setup, geom, sample_condition, seed=11)
    # chi2_r of n ~ 280 independent bins: 1 +- 0.085 (1 sigma)
    assert n > 200
    assert 0.8 < chi2r < 1.3, chi2r
    assert abs(mean_z) < 0.25, mean_z


def test_integration_of_water_gives_its_absolute_value(setup, geom):
    water = MeasurementCondition(name="w", kind="water", temperature_C=20.0, n_frames=1)
    chi2r, _, _, q, i, s, _ = _chi2(setup, geom, water, seed=3)
    assert 0.8 < chi2r < 1.3
    # the capillary adds a known Porod term; beyond q = 2 it is < 1e-5 1/cm, so the water level shows directly
    sel = q > 2.0
    level = np.average(i[sel] - 0.008, weights=1 / s[sel] ** 2)
    err = 1 / np.sqrt(np.sum(1 / s[sel] ** 2))
    assert abs(level - WATER_DSIGMA_CM) < 5 * err
    assert err < 0.01 * WATER_DSIGMA_CM


def test_wrong_normalization_is_detected(setup, geom, sample_condition):
    """The chi2 test has teeth: 2 % off in the monitor is many sigma."""
    ai, mask, _ = setup
    data, header, _ = render_frame_truth(sample_condition, geom, 0, 11)
    q, i, s = integrate(ai, mask, data, 1.02 * float(header["Intensity1ShutCor"]), 0.15)
    ref = _binned_model(ai, mask, sample_condition, 300)
    sel = (q >= 0.3) & (s > 0)
    assert np.mean(((i[sel] - ref[sel]) / s[sel]) ** 2) > 3


def test_double_monitor_doubles_counts(geom, sample_condition):
    c2 = dataclasses.replace(sample_condition, flux_ph_s=2 * sample_condition.flux_ph_s)
    d1, h1, m1 = render_frame_truth(sample_condition, geom, 0, 5)
    d2, h2, m2 = render_frame_truth(c2, geom, 0, 5)
    # same jitter draw: the monitors scale exactly
    assert float(h2["Intensity1ShutCor"]) / float(h1["Intensity1ShutCor"]) == pytest.approx(2.0, rel=1e-9)
    assert float(h2["Intensity0ShutCor"]) / float(h1["Intensity0ShutCor"]) == pytest.approx(2.0, rel=1e-9)
    valid = ~geom.mask
    n1, n2 = d1[valid].sum(), d2[valid].sum()
    # total counts ~1e8: Poisson rel. error 1e-4
    assert n2 / n1 == pytest.approx(2.0, abs=6 * 2.0 * np.sqrt(1 / n1 + 1 / n2))
    # the normalized frames agree
    mu1 = expected_counts(geom, sample_condition, m1.i1)
    mu2 = expected_counts(geom, c2, m2.i1)
    np.testing.assert_allclose(mu2[valid], 2 * mu1[valid], rtol=1e-8)  # monitors carry 10 digits


def test_transmission_scales_monitor_and_counts(geom, sample_condition):
    a = dataclasses.replace(sample_condition, transmission=0.6, flux_jitter=0.0)
    b = dataclasses.replace(sample_condition, transmission=0.3, flux_jitter=0.0)
    da, ha, _ = render_frame_truth(a, geom, 0, 8)
    db, hb, _ = render_frame_truth(b, geom, 0, 9)
    ta = float(ha["Intensity1ShutCor"]) / float(ha["Intensity0ShutCor"])
    tb = float(hb["Intensity1ShutCor"]) / float(hb["Intensity0ShutCor"])
    assert ta == pytest.approx(0.6, rel=1e-9) and tb == pytest.approx(0.3, rel=1e-9)
    valid = ~geom.mask
    na, nb = da[valid].sum(), db[valid].sum()
    assert na / nb == pytest.approx(2.0, abs=6 * 2.0 * np.sqrt(1 / na + 1 / nb))


def test_gas_bubble_raises_transmission_and_lowers_scattering(setup, geom, sample_condition):
    ai, mask, _ = setup
    cond = dataclasses.replace(sample_condition, gas_bubbles=(GasBubble(1, 0.5),))
    good, hg, mg = render_frame_truth(cond, geom, 0, 21)
    bad, hb, mb = render_frame_truth(cond, geom, 1, 22)
    assert not mg.faulty and mb.faulty
    t_good = float(hg["Intensity1ShutCor"]) / float(hg["Intensity0ShutCor"])
    t_bad = float(hb["Intensity1ShutCor"]) / float(hb["Intensity0ShutCor"])
    assert t_good == pytest.approx(CELL_TRANSMISSION * cond.liquid_transmission(), rel=1e-8)
    assert t_bad == pytest.approx(CELL_TRANSMISSION * cond.liquid_transmission() ** 0.5, rel=1e-8)
    qg, ig, sg = integrate(ai, mask, good, float(hg["Intensity1ShutCor"]), 0.15)
    qb, ib, sb = integrate(ai, mask, bad, float(hb["Intensity1ShutCor"]), 0.15)
    sel = (qg > 0.5) & (qg < 2.0)
    ratio = ib[sel].sum() / ig[sel].sum()
    # liquid scattering halves; capillary (~1 % here) stays
    expected = dsigma_model(qg[sel], cond, gas_fraction=0.5).sum() / dsigma_model(qg[sel], cond).sum()
    assert 0.5 < expected < 0.52
    assert ratio == pytest.approx(expected, abs=0.005)
    # and the bubble frame matches its own truth within noise
    chi2r, *_ = _chi2(setup, geom, cond, seed=22, frame=1)
    assert 0.8 < chi2r < 1.3


def _peak(q, i, s, center):
    sel = (q > center - 0.3) & (q < center + 0.3) & (s > 0)

    def f(x, a, x0, w, b0, b1):
        return a * np.exp(-0.5 * ((x - x0) / w) ** 2) + b0 + b1 * (x - center)

    p, cov = curve_fit(
        f, q[sel], i[sel], p0=[i[sel].max(), center, 0.04, i[sel].min(), 0.0], sigma=s[sel], absolute_sigma=True
    )
    return p, np.sqrt(np.diag(cov))


@pytest.mark.parametrize("center", [1.84, 3.69])
def test_bragg_peaks_at_stated_q_at_25C(setup, geom, center):
    ai, mask, _ = setup
    blank = MeasurementCondition(name="b25", kind="blank", temperature_C=25.0, n_frames=1)
    data, h, _ = render_frame_truth(blank, geom, 0, 4)
    q, i, s = integrate(ai, mask, data, float(h["Intensity1ShutCor"]), 0.15, npt=600, method=("full", "csr", "cython"))
    p, err = _peak(q, i, s, center)
    assert abs(p[1] - center) < 0.01, (p[1], err[1])
    assert p[0] > 50 * err[0]  # a strong peak
    # second order of a lamellar phase: d = 2 pi / q1
    assert 2 * np.pi / 1.84 == pytest.approx(3.41, abs=0.01)


def test_mesophase_weaker_at_50C_and_gone_at_100C(setup, geom):
    ai, mask, _ = setup
    heights = {}
    for t in (25.0, 50.0, 100.0):
        blank = MeasurementCondition(name=f"b{t:g}", kind="blank", temperature_C=t, n_frames=1)
        data, h, _ = render_frame_truth(blank, geom, 0, 7)
        q, i, s = integrate(ai, mask, data, float(h["Intensity1ShutCor"]), 0.15, npt=600)
        on = np.abs(q - 1.84) < 0.03
        off = (np.abs(q - 1.84) > 0.4) & (np.abs(q - 1.84) < 0.6)
        excess = i[on].mean() - i[off].mean()
        err = np.sqrt(np.mean(s[on] ** 2) / on.sum() + np.mean(s[off] ** 2) / off.sum())
        heights[t] = (excess, err)
    assert heights[25.0][0] > 50 * heights[25.0][1]
    assert 0.2 * heights[25.0][0] < heights[50.0][0] < 0.6 * heights[25.0][0]
    assert abs(heights[100.0][0]) < 5 * heights[100.0][1]  # no peak at 100 C


def test_broad_maximum_near_025_at_room_temperature(setup, geom):
    ai, mask, _ = setup
    blank = MeasurementCondition(name="b25", kind="blank", temperature_C=25.0, n_frames=1)
    cell = MeasurementCondition(name="ec", kind="empty_cell", temperature_C=25.0, n_frames=1)
    d, h, _ = render_frame_truth(blank, geom, 0, 1)
    e, he, _ = render_frame_truth(cell, geom, 0, 2)
    q, i, s = integrate(ai, mask, d, float(h["Intensity1ShutCor"]), 0.15, npt=300)
    _, ie, se = integrate(ai, mask, e, float(he["Intensity1ShutCor"]), 0.15, npt=300)
    net = i - ie
    sel = (q > 0.12) & (q < 0.8)
    q_max = q[sel][np.argmax(net[sel])]
    assert 0.2 <= q_max <= 0.3


def test_same_seed_same_frame_different_seed_different(geom, sample_condition):
    a, ha = render_frame(sample_condition, geom, 0, 123)
    b, hb = render_frame(sample_condition, geom, 0, 123)
    c, hc = render_frame(sample_condition, geom, 0, 124)
    np.testing.assert_array_equal(a, b)
    assert ha == hb
    assert np.count_nonzero(a != c) > 0.5 * a.size
    g = np.random.default_rng(5)
    d1, _ = render_frame(sample_condition, geom, 0, g)
    d2, _ = render_frame(sample_condition, geom, 0, g)  # the generator advanced
    assert not np.array_equal(d1, d2)


def test_gaps_are_dummy_and_masked_pixels_empty(geom, sample_condition):
    data, h, _ = render_frame_truth(sample_condition, geom, 0, 1)
    assert data.dtype == np.int32 and data.shape == geom.shape
    assert np.all(data[geom.gaps] == int(h["Dummy"]))
    stop = geom.mask & ~geom.gaps
    assert np.all(data[stop] == 0)
    assert np.all(data[~geom.mask] >= 0)
    assert data[~geom.mask].mean() > 20  # decent counts per pixel
