"""Absolute calibration from water."""

from __future__ import annotations

import pytest

from saxs_mc.reduce import WATER_DSIGMA_20C, Reducer, ReductionSettings, water_calibration
from tests.reduce import conftest as C


def test_water_calibration_recovers_an_unknown_detector_efficiency(sim):
    # a detector that counts only 80 % of the photons: water (+ empty cell) and the empty cell alone
    eff = 0.8
    cell = 0.01
    w = sim.write_series("water", C.flat_truth(eff * (WATER_DSIGMA_20C + cell)), n=3, seed=71, i0=2e11)
    e = sim.write_series("empty", C.flat_truth(eff * cell), n=3, seed=72, i0=2e11)
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60))
    cal = water_calibration(r.reduce(w, title="water").curve, r.reduce(e, title="empty").curve)
    assert cal.factor == pytest.approx(1 / eff, rel=4 * cal.factor_sigma / cal.factor + 1e-3)
    assert cal.factor_sigma / cal.factor < 0.02
    assert 0.5 < cal.chi2_r_flat < 1.8
    assert "water calibration" in cal.report()
    # applying it puts a new water measurement on the 0.0163 1/cm scale
    r2 = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=60, calibration_factor=cal.factor))
    net = r2.reduce(w, title="w").curve.intensity.mean() - r2.reduce(e, title="e").curve.intensity.mean()
    assert net == pytest.approx(WATER_DSIGMA_20C, rel=0.03)


def test_water_calibration_refuses_nonsense(sim):
    r = Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=40))
    w = r.reduce(sim.write_series("water2", C.flat_truth(0.02), n=1, seed=73), title="w").curve
    with pytest.raises(ValueError, match="reference_1_cm"):
        water_calibration(w, reference_1_cm=0)
    with pytest.raises(ValueError, match="no point in q range"):
        water_calibration(w, q_range_nm=(50, 60))
    with pytest.raises(ValueError, match="<= 0"):
        water_calibration(w, w)
