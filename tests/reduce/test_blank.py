"""Blank subtraction: zero within uncertainty, error propagation, refusals, negative flags, blank choice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from saxs_mc.io.curves import Curve
from saxs_mc.reduce import Reducer, ReductionSettings, pick_blank_by_temperature, subtract_blank
from tests.reduce import conftest as C
from tests.reduce.helpers import binned_truth, chi2_r

NPT = 100


@pytest.fixture(scope="module")
def reducer(sim):
    return Reducer(poni=sim.poni, mask=sim.mask, settings=ReductionSettings(npt=NPT))


@pytest.fixture(scope="module")
def blanks(sim, reducer):
    solvent = C.flat_truth(0.08)
    a = reducer.reduce(sim.write_series("blank_a", solvent, n=3, seed=31), title="blank_a")
    b = reducer.reduce(sim.write_series("blank_b", solvent, n=3, seed=32), title="blank_b")
    return a, b


def test_blank_minus_itself_is_zero_within_uncertainty(blanks):
    a, b = blanks
    same = subtract_blank(a.curve, a.curve)
    np.testing.assert_array_equal(same.intensity, 0.0)
    np.testing.assert_allclose(same.sigma, np.sqrt(2) * a.curve.sigma)
    # two independent measurements of the same blank: difference consistent with zero
    diff = subtract_blank(a.curve, b.curve)
    assert 0.5 < chi2_r(diff.intensity, 0.0, diff.sigma) < 1.6
    assert abs(np.average(diff.intensity, weights=diff.sigma**-2)) < 4 / np.sqrt(np.sum(diff.sigma**-2))
    # negatives are kept (not clipped) and counted
    assert (diff.intensity < 0).any()
    assert diff.metadata["negative_points"] == int((diff.intensity < 0).sum())


def test_sample_minus_blank_recovers_the_particles(sim, reducer, blanks):
    solvent = C.flat_truth(0.08)
    particles = lambda q: C.sphere_truth(q) - C.BACKGROUND_1_CM  # noqa: E731
    both = lambda q: particles(q) + solvent(q)  # noqa: E731
    s = reducer.reduce(sim.write_series("sample_on_solvent", both, n=3, seed=33), title="sample")
    sub = s.subtract(blanks[0])
    c = sub.curve
    truth = binned_truth(sim, particles, c, npt=NPT)
    assert 0.5 < chi2_r(c.intensity, truth, c.sigma) < 1.6
    assert sub.blank is blanks[0] and c.metadata["blank_title"] == "blank_a"
    prov = sub.provenance(hash_inputs=False)
    assert prov["blank"]["title"] == "blank_a" and prov["blank_scale"] == 1.0


def test_scale_and_uncertainty_propagation():
    q = np.linspace(0.1, 1, 5)
    s = Curve(q, np.full(5, 10.0), np.full(5, 0.3), "1/cm", "s")
    b = Curve(q, np.full(5, 4.0), np.full(5, 0.4), "1/cm", "b")
    out = subtract_blank(s, b, scale=0.5)
    np.testing.assert_allclose(out.intensity, 8.0)
    np.testing.assert_allclose(out.sigma, np.sqrt(0.3**2 + 0.2**2))
    neg = subtract_blank(s, b, scale=5.0)
    assert np.all(neg.intensity == -10.0)  # kept, not clipped
    assert neg.metadata["negative_points"] == 5 and neg.metadata["significantly_negative_points"] == 5
    for bad in (0.0, -1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="scale"):
            subtract_blank(s, b, scale=bad)


def test_different_q_grid_is_an_error_not_an_interpolation():
    q = np.linspace(0.1, 1, 5)
    s = Curve(q, np.ones(5), np.ones(5), "1/cm", "s")
    with pytest.raises(ValueError, match="q grids differ.*npt"):
        subtract_blank(s, Curve(q * 1.01, np.ones(5), np.ones(5), "1/cm", "b"))
    with pytest.raises(ValueError, match="q grids differ"):
        subtract_blank(s, Curve(q[:4], np.ones(4), np.ones(4), "1/cm", "b"))
    with pytest.raises(ValueError, match="intensity units differ"):
        subtract_blank(s, Curve(q, np.ones(5), np.ones(5), "arbitrary", "b"))


def test_blank_with_another_geometry_is_refused(sim, blanks):
    a = blanks[0].curve
    geo = dict(a.metadata["geometry"], dist_m=a.metadata["geometry"]["dist_m"] * 1.2)
    other = dataclasses.replace(a, metadata={**a.metadata, "geometry": geo}, title="far blank")
    with pytest.raises(ValueError, match=r"different geometry \(dist_m"):
        subtract_blank(a, other)


def test_blank_reduced_from_frames_with_other_geometry_is_refused(sim, tmp_path, reducer, blanks):
    # blank frames whose header says another distance, reduced with header geometry -> refused
    from fabio.edfimage import EdfImage

    img = np.ones(C.SHAPE, dtype=np.int32) * 50
    h = C.header(1e9, 2e9, title="far", dist_m=0.3)
    p = tmp_path / "far.edf"
    EdfImage(data=img, header=h).write(str(p))
    far = Reducer(poni=None, settings=ReductionSettings(npt=NPT)).reduce([p], title="far")
    with pytest.raises(ValueError, match="different geometry"):
        subtract_blank(blanks[0].curve, far.curve)


def test_pick_blank_by_temperature(blanks):
    cands = {"blank_025C": 25.0, "blank_050C": 50.0, "blank_230C": blanks[0]}
    assert blanks[0].curve.metadata["temperature_C"] == pytest.approx(230.0)
    assert pick_blank_by_temperature(228.0, cands) == "blank_230C"
    assert pick_blank_by_temperature(45.0, cands, tolerance_C=10) == "blank_050C"
    with pytest.raises(ValueError, match="no blank within 5 C of 150 C"):
        pick_blank_by_temperature(150.0, cands)
