"""Physics validation: known size distributions recovered from simulated curves.

Curves: dSigma/dOmega (1/cm) of CdSe spheres in octadecene from saxs_mc.models,
plus a flat background of 0.01 1/cm, on 220 log-spaced q points 0.15-6 1/nm,
with seeded Gaussian noise of 1 % relative plus a floor of 2e-5 of I(q_min)
(typical of an averaged, blank-subtracted ID02 curve).  Fits use the defaults
(300 contributions, 10 repetitions).  Tolerances are those of the issue; the
observed errors on these seeds are 5-50x smaller (see the comments).
"""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.fit import fit_arrays
from saxs_mc.models.distributions import make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE

Q_NM = np.geomspace(0.15, 6.0, 220)


def simulate(specs, seed, rel_noise=0.01, background=0.01):
    """Noisy absolute curve (1/cm) for a list of distribution specs; returns (I, sigma)."""
    i_true = sum(make_distribution(s).dsigma(Q_NM, CONTRAST_CDSE_ODE) for s in specs) + background
    sigma = np.sqrt((rel_noise * i_true) ** 2 + (2e-5 * i_true[0]) ** 2)
    return i_true + np.random.default_rng(seed).normal(0.0, sigma), sigma


def _fit(i_obs, sigma, seed, ranges, absolute=True):
    return fit_arrays(
        Q_NM,
        i_obs,
        sigma,
        seed=seed,
        ranges_nm=ranges,
        contrast=CONTRAST_CDSE_ODE if absolute else None,
        intensity_unit="1/cm" if absolute else "arbitrary",
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_narrow_population_mean_radius_within_2_percent(seed):
    spec = {"kind": "gaussian", "mean_nm": 1.5, "sd_nm": 0.075, "volume_fraction": 1e-3}
    i_obs, sigma = simulate([spec], seed)
    res = _fit(i_obs, sigma, seed, [(1.0, 2.5)])
    assert res.all_converged
    truth = make_distribution(spec).moments()["mean_nm"]
    st = res.ranges[1]
    assert abs(st.mean_nm / truth - 1) < 0.02  # observed ~0.1 %
    # the histogram peaks in the bin holding the true mean
    peak = np.argmax(res.volume_fraction)
    assert res.bin_edges_nm[peak] - 0.1 <= truth <= res.bin_edges_nm[peak + 1] + 0.1


@pytest.mark.parametrize("seed", [0, 1])
def test_lognormal_mean_and_width_within_5_percent(seed):
    spec = {"kind": "lognormal", "median_nm": 3.0, "sigma": 0.2, "volume_fraction": 1e-3}
    i_obs, sigma = simulate([spec], seed)
    # range +-3.5 sigma around the median: truncates < 0.05 % of the true volume
    res = _fit(i_obs, sigma, seed, [(3.0 * np.exp(-0.7), 3.0 * np.exp(0.7))])
    truth = make_distribution(spec).moments()
    st = res.ranges[1]
    assert abs(st.mean_nm / truth["mean_nm"] - 1) < 0.05  # observed ~0.1 %
    assert abs(st.sd_nm / truth["sd_nm"] - 1) < 0.05  # observed ~1 %
    # the uncertainty over repetitions is an honest, non-zero spread
    assert 0 < st.mean_nm_std < 0.05 * truth["mean_nm"]


@pytest.mark.parametrize("seed", [0, 1])
def test_absolute_volume_fraction_within_10_percent(seed):
    spec = {"kind": "lognormal", "median_nm": 1.2, "sigma": 0.15, "volume_fraction": 2e-3}
    i_obs, sigma = simulate([spec], seed)
    res = _fit(i_obs, sigma, seed, [(0.6, 3.0)])
    assert res.absolute
    assert abs(res.ranges[1].volume_fraction / 2e-3 - 1) < 0.10  # observed < 1 %
    total, _ = res.total_volume_fraction
    assert abs(total / 2e-3 - 1) < 0.10
    assert abs(res.volume_fraction.sum() / 2e-3 - 1) < 0.10
    # the fitted flat background is the simulated one
    assert abs(res.background.mean() / 0.01 - 1) < 0.10


def test_relative_fit_gives_same_shape_with_unit_sum():
    spec = {"kind": "lognormal", "median_nm": 1.2, "sigma": 0.15, "volume_fraction": 2e-3}
    i_obs, sigma = simulate([spec], 3)
    rel = _fit(i_obs * 7.0, sigma * 7.0, 3, [(0.6, 3.0)], absolute=False)  # arbitrary scale
    ab = _fit(i_obs, sigma, 3, [(0.6, 3.0)])
    assert not rel.absolute
    assert rel.volume_fraction.sum() == pytest.approx(1.0, rel=1e-12)
    # the algorithm is invariant to the intensity scale: the same moves are accepted
    np.testing.assert_array_equal(rel.radii_nm, ab.radii_nm)
    np.testing.assert_allclose(rel.volume_fraction, ab.volume_fraction / ab.volume_fraction.sum(), atol=2e-3)
    assert rel.scale.mean() == pytest.approx(7.0 * ab.scale.mean(), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_two_separated_populations_resolved_with_right_split(seed):
    small = {"kind": "gaussian", "mean_nm": 1.2, "sd_nm": 0.06, "volume_fraction": 6e-4}
    large = {"kind": "gaussian", "mean_nm": 4.0, "sd_nm": 0.2, "volume_fraction": 4e-4}
    i_obs, sigma = simulate([small, large], seed)
    res = _fit(i_obs, sigma, seed, [(0.8, 2.0), (3.0, 5.5)])
    s, big = res.ranges[1], res.ranges[2]
    assert abs(s.mean_nm / 1.2 - 1) < 0.02 and abs(big.mean_nm / 4.0 - 1) < 0.02  # observed ~0.1 %
    split = s.volume_fraction / (s.volume_fraction + big.volume_fraction)
    assert split == pytest.approx(0.6, abs=0.03)  # observed within 0.002
    assert s.volume_fraction == pytest.approx(6e-4, rel=0.10) and big.volume_fraction == pytest.approx(4e-4, rel=0.10)
    # resolved: (almost) no volume between the populations
    centers = res.bin_centers_nm
    gap = res.volume_fraction[(centers > 2.0) & (centers < 3.0)].sum()
    assert gap < 0.02 * res.volume_fraction.sum()
