"""Physics of the reduction chain: absolute scale, averaging, fault rejection, geometry sources."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.reduce import Reducer, ReductionSettings
from tests.reduce import conftest as C
from tests.reduce.helpers import binned_truth, chi2_r

NPT = 120


@pytest.fixture(scope="module")
def series(sim):
    """6 frames of the sphere sample; frame 3 has a gas bubble (40 % of the path is gas)."""
    return sim.write_series("spheres", C.sphere_truth, n=6, seed=11, bubble=3)


@pytest.fixture(scope="module")
def reducer(sim):
    return Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, polarization_factor=C.POL))


@pytest.fixture(scope="module")
def result(reducer, series):
    return reducer.reduce([str(p) for p in series], title="spheres")


def test_single_frame_is_true_dsigma_in_1_per_cm(sim, reducer, series):
    res = reducer.reduce([series[0]], title="one")
    c = res.curve
    assert c.intensity_unit == "1/cm"
    truth = binned_truth(sim, C.sphere_truth, c, npt=NPT)
    # statistically consistent with the truth: chi2_r ~ 1 (120 points; pixel splitting correlates
    # neighbouring bins, so the spread is wider than sqrt(2/120))
    assert 0.5 < chi2_r(c.intensity, truth, c.sigma) < 1.6
    # and against the analytic curve at the bin centres: no point beyond 4.5 sigma, low-q level within 1 %
    z = (c.intensity - C.sphere_truth(c.q)) / c.sigma
    assert np.all(np.abs(z) < 4.5)
    low = c.q < 1.0
    assert abs(np.average(c.intensity[low] / C.sphere_truth(c.q[low]), weights=1 / c.sigma[low] ** 2) - 1) < 0.01


def test_average_of_accepted_frames_is_true_and_sigma_shrinks(sim, reducer, series, result):
    c = result.curve
    truth = binned_truth(sim, C.sphere_truth, c, npt=NPT)
    assert 0.5 < chi2_r(c.intensity, truth, c.sigma) < 1.6
    single = reducer.reduce([series[0]], title="one").curve
    # 5 accepted frames with ~equal monitors: sigma shrinks by ~sqrt(5)
    ratio = np.median(single.sigma / c.sigma)
    assert 2.0 < ratio < 2.5


def test_gas_bubble_frame_is_rejected_and_named(result, series):
    assert result.rejected == (str(series[3]),)
    bad = [f for f in result.frames if f.rejected]
    assert len(bad) == 1 and "transmission" in bad[0].reason and "gas bubble" in bad[0].reason
    assert result.curve.metadata["rejected_frames"] == [str(series[3])]
    assert result.curve.metadata["n_accepted"] == 5
    prov = result.provenance(hash_inputs=False)
    assert prov["rejected_frames"] == [str(series[3])]
    # the bubble frame has a higher transmission (less liquid) and lower integrated intensity
    good = [f for f in result.frames if not f.rejected]
    assert bad[0].transmission > max(f.transmission for f in good)
    assert bad[0].integrated_intensity < min(f.integrated_intensity for f in good)
    # transmission reported per frame = exp(-mu t)
    for f in good:
        assert f.transmission == pytest.approx(np.exp(-C.MU_T), rel=1e-9)


def test_without_rejection_the_bubble_biases_the_average(sim, series):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, reject_outliers=False))
    c = r.reduce(series, title="all").curve
    truth = binned_truth(sim, C.sphere_truth, c, npt=NPT)
    assert chi2_r(c.intensity, truth, c.sigma) > 5  # the rejection test above is not vacuous


def test_monitor_weighted_sum_is_unbiased_for_unequal_monitors(sim):
    # frames with monitors differing by x10: the sum of counts / sum of normalizations stays on the truth
    paths = sim.write_series("unequal_a", C.sphere_truth, n=1, seed=21, i0=2e10)
    paths += sim.write_series("unequal_b", C.sphere_truth, n=1, seed=22, i0=2e9)
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT))
    c = r.reduce(paths, title="unequal").curve
    truth = binned_truth(sim, C.sphere_truth, c, npt=NPT)
    assert 0.5 < chi2_r(c.intensity, truth, c.sigma) < 1.6


def test_header_geometry_equals_poni_geometry(sim, series, result):
    r = Reducer(poni=None, mask=sim.mask, settings=ReductionSettings(npt=NPT))
    res = r.reduce(series, title="spheres")
    np.testing.assert_allclose(res.curve.q, result.curve.q, rtol=1e-12)
    np.testing.assert_allclose(res.curve.intensity, result.curve.intensity, rtol=1e-9)
    assert res.geometry["poni1_m"] == pytest.approx(C.CENTER_PX[1] * C.PIXEL_M)
    assert res.geometry["poni2_m"] == pytest.approx(C.CENTER_PX[0] * C.PIXEL_M)


def test_q_in_inverse_angstrom_grid_gives_same_physics(sim, series):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, q_unit="1/A"))
    c = r.reduce(series[:2], title="A").curve
    truth = binned_truth(sim, C.sphere_truth, c, npt=NPT, unit="q_A^-1")
    assert 0.6 < chi2_r(c.intensity, truth, c.sigma) < 1.5
    assert c.q.max() == pytest.approx(sim.q_nm[~sim.mask_arr].max(), rel=0.02)  # still 1/nm in the Curve


def test_thickness_and_calibration_factor_scale_inversely_and_linearly(sim, series, result):
    r = Reducer(
        poni=sim.poni,
        mask=sim.mask,
        settings=ReductionSettings(npt=NPT, thickness_cm=2 * C.THICKNESS_CM, calibration_factor=3.0),
    )
    c = r.reduce(series, title="x").curve
    np.testing.assert_allclose(c.intensity, result.curve.intensity * 1.5, rtol=1e-9)
    np.testing.assert_allclose(c.sigma, result.curve.sigma * 1.5, rtol=1e-9)
    arb = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, calibration_factor=None))
    assert arb.reduce(series[:1], title="a").curve.intensity_unit == "arbitrary"


def test_empty_cell_transmission_makes_transmission_relative(sim, series):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, empty_cell_transmission=0.92))
    res = r.reduce(series[:1], title="x")
    assert res.frames[0].transmission == pytest.approx(np.exp(-C.MU_T) / 0.92, rel=1e-9)


def test_two_workers_give_the_same_result(sim, series, result, tmp_path):
    with Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, polarization_factor=C.POL)) as r:
        res = r.reduce(series, title="spheres", workers=2)
        np.testing.assert_allclose(res.curve.intensity, result.curve.intensity, rtol=1e-12)
        assert res.rejected == result.rejected
        assert [f.name for f in res.frames] == [str(p) for p in series]  # order kept
        pool = r._pool
        again = r.reduce(series[:4], title="again", workers=2)  # the pool is reused
        assert r._pool is pool and again.rejected == (str(series[3]),) and again.n_accepted == 3
        bad = tmp_path / "broken.edf"
        bad.write_bytes(b"junk" * 100)
        with pytest.raises(ValueError, match=r"broken\.edf: fabio cannot read"):
            r.reduce([*series[:3], bad], title="bad", workers=2)
    assert r._pool is None


def test_report_and_summary(result):
    s = result.summary()
    assert s["n_frames"] == 6 and s["n_accepted"] == 5 and len(s["rejected"]) == 1
    assert "rejected" in result.report() and "5/6" in result.report()
    import json

    json.dumps(s, allow_nan=False)


def test_azimuthal_error_model_agrees_with_poisson_on_isotropic_data(sim, series, result):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT, error_model="azimuthal"))
    c = r.reduce(series, title="az").curve
    np.testing.assert_allclose(c.intensity, result.curve.intensity, rtol=1e-9)
    # the azimuthal scatter of isotropic Poisson data estimates the Poisson sigma (median ratio ~ 1)
    assert 0.8 < np.median(c.sigma / result.curve.sigma) < 1.25


def test_progress_bar_only_on_a_terminal(sim, series, capsys, monkeypatch):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT))
    r.reduce(series[:2], title="quiet", progress=True)  # captured stderr is not a TTY: no bar
    assert "frame" not in capsys.readouterr().err
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    r.reduce(series[:2], title="bar", progress=True)
    err = capsys.readouterr().err
    assert "bar:" in err and "/2 " in err and "frame/s" in err
