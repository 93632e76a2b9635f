"""Public API: input validation, convergence flags, statistics, result object."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import scipy.stats

from saxs_mc.fit import FitResult, FitWarning, fit_arrays, fit_curve
from saxs_mc.fit.statistics import min_visibility, range_stats, volume_histogram
from saxs_mc.io.curves import Curve
from saxs_mc.models.distributions import make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE, sphere_form_factor

Q = np.geomspace(0.15, 6.0, 120)
SPEC = {"kind": "lognormal", "median_nm": 1.5, "sigma": 0.15, "volume_fraction": 1e-3}


def _data(seed=0, rel=0.01):
    i_true = make_distribution(SPEC).dsigma(Q, CONTRAST_CDSE_ODE) + 0.01
    sigma = rel * i_true
    return i_true + np.random.default_rng(seed).normal(0, sigma), sigma


FAST = dict(contributions=100, repetitions=4, seed=1)


def test_result_is_frozen_readonly_and_json_safe():
    i_obs, sigma = _data()
    res = fit_arrays(Q, i_obs, sigma, **FAST)
    assert isinstance(res, FitResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.chi2_r = None  # frozen
    with pytest.raises(ValueError):
        res.volume_fraction[0] = 1.0  # read-only arrays
    s = res.summary()
    text = json.dumps(s, allow_nan=False)
    assert json.loads(text)["convergence"]["repetitions"][0]["reason"] in ("target", "plateau", "stagnated", "cap")
    assert len(s["repetition_seeds"]) == 4 and s["seed"] == 1
    rep = res.report()
    assert "chi2_r" in rep and "converged" in rep
    # the inputs are not mutated
    i_copy = i_obs.copy()
    fit_arrays(Q, i_obs, sigma, **FAST)
    np.testing.assert_array_equal(i_obs, i_copy)


def test_same_seed_same_result_different_seed_different():
    i_obs, sigma = _data()
    a = fit_arrays(Q, i_obs, sigma, **FAST)
    b = fit_arrays(Q, i_obs, sigma, **FAST)
    c = fit_arrays(Q, i_obs, sigma, **{**FAST, "seed": 2})
    np.testing.assert_array_equal(a.radii_nm, b.radii_nm)
    np.testing.assert_array_equal(a.chi2_r, b.chi2_r)
    assert not np.array_equal(a.radii_nm, c.radii_nm)
    gen = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=4, seed=np.random.default_rng(5))
    assert gen.seed is None and gen.repetition_seeds.size == 4


def test_convergence_reported_per_repetition():
    i_obs, sigma = _data()
    res = fit_arrays(Q, i_obs, sigma, **FAST)
    assert res.all_converged
    assert np.all(res.chi2_r <= res.chi2_r_accept)
    assert res.chi2_r_accept == pytest.approx(1 + 3 * np.sqrt(2 / (Q.size - 2)))
    # default: no early target, every repetition runs to its chi2 plateau
    assert np.isnan(res.chi2_r_target) and res.stop_reason == ("plateau",) * 4
    assert res.summary()["settings"]["stop_rule"] == "plateau"
    assert np.all((res.acceptance_rate > 0) & (res.acceptance_rate < 1))
    conv = res.convergence()
    assert [c["converged"] for c in conv] == [True] * 4
    # McSAS-style early stop on request: chi2_r <= 1 + k sqrt(2/dof), fewer iterations
    early = fit_arrays(Q, i_obs, sigma, chi2_k=1.0, **FAST)
    assert early.chi2_r_target == pytest.approx(1 + np.sqrt(2 / (Q.size - 2)))
    assert set(early.stop_reason) <= {"target", "plateau"} and "target" in early.stop_reason
    assert np.all(early.chi2_r[np.array(early.stop_reason) == "target"] <= early.chi2_r_target)
    assert early.iterations.mean() < res.iterations.mean()
    assert np.all(res.chi2_r <= early.chi2_r + 1e-12)
    with pytest.raises(ValueError, match="chi2_k"):
        fit_arrays(Q, i_obs, sigma, chi2_k=-1.0, **FAST)


def test_iteration_cap_is_flagged_never_silent():
    i_obs, sigma = _data()
    with pytest.warns(FitWarning) as rec:
        res = fit_arrays(Q, i_obs, sigma, max_iterations=50, **FAST)
    assert any("did not converge" in str(w.message) for w in rec)
    assert res.stop_reason == ("cap",) * 4
    assert not res.all_converged
    assert np.all(res.iterations == 50)
    assert "not converged: cap reached" in res.report()
    assert res.summary()["convergence"]["all_converged"] is False


def test_inadequate_model_stops_as_stagnated_and_is_flagged():
    # a strong q^-4 (Porod) term the sphere + flat background model cannot describe
    i_obs, sigma = _data()
    i_bad = i_obs + 0.5 * Q**-4
    sig_bad = np.sqrt(sigma**2 + (0.01 * 0.5 * Q**-4) ** 2)
    with pytest.warns(FitWarning, match="did not converge"):
        res = fit_arrays(Q, i_bad, sig_bad, r_range_nm=(0.5, 20.0), **FAST)
    assert "stagnated" in res.stop_reason or "cap" in res.stop_reason
    assert np.all(res.chi2_r[~res.converged] > res.chi2_r_accept)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda i, s: (np.where(np.arange(i.size) == 7, np.nan, i), s), "intensity has 1 NaN"),
        (lambda i, s: (i, np.where(np.arange(i.size) == 3, 0.0, s)), r"sigma has 1 value\(s\) <= 0"),
        (lambda i, s: (i, -s), "sigma has 120 value"),
        (lambda i, s: (i, np.where(np.arange(i.size) == 9, np.inf, s)), "sigma has 1 NaN/inf"),
    ],
)
def test_bad_data_raise_clear_errors(mutate, match):
    i_obs, sigma = _data()
    i2, s2 = mutate(i_obs, sigma)
    with pytest.raises(ValueError, match=match):
        fit_arrays(Q, i2, s2, **FAST)


def test_bad_ranges_and_sizes():
    i_obs, sigma = _data()
    with pytest.raises(ValueError, match="only 1 q point"):
        fit_arrays(Q, i_obs, sigma, q_range_nm=(1.0, 1.05), **FAST)
    with pytest.raises(ValueError, match="observable"):
        fit_arrays(Q, i_obs, sigma, r_range_nm=(50.0, 100.0), **FAST)  # pi/q_min = 21 nm
    with pytest.raises(ValueError, match="observable"):
        fit_arrays(Q, i_obs, sigma, r_range_nm=(0.05, 0.3), **FAST)  # pi/q_max = 0.52 nm
    with pytest.raises(ValueError, match="0 < min < max"):
        fit_arrays(Q, i_obs, sigma, r_range_nm=(3.0, 1.0), **FAST)
    with pytest.raises(ValueError, match="shapes"):
        fit_arrays(Q, i_obs[:-1], sigma, **FAST)
    with pytest.raises(TypeError, match="contributions"):
        fit_arrays(Q, i_obs, sigma, contributions=1.5, repetitions=2)
    with pytest.raises(ValueError, match="bin_scale"):
        fit_arrays(Q, i_obs, sigma, bin_scale="ln", **FAST)
    with pytest.warns(FitWarning) as rec:
        fit_arrays(Q, i_obs, sigma, r_range_nm=(0.1, 5.0), **FAST)
    msgs = [str(w.message) for w in rec]
    assert any("poorly constrained" in m for m in msgs)
    assert any("below the resolvable radius" in m for m in msgs)  # issue 15: the limit is named


def test_contrast_with_arbitrary_units_warns_and_stays_relative():
    i_obs, sigma = _data()
    with pytest.warns(FitWarning, match="arbitrary scale"):
        res = fit_arrays(Q, i_obs, sigma, contrast=CONTRAST_CDSE_ODE, intensity_unit="arbitrary", **FAST)
    assert not res.absolute
    assert res.volume_fraction.sum() == pytest.approx(1.0)
    assert any("arbitrary scale" in w for w in res.warnings)
    with pytest.raises(ValueError, match="contrast"):
        fit_arrays(Q, i_obs, sigma, contrast=float("nan"), intensity_unit="1/cm", **FAST)


def test_fit_curve_uses_curve_unit_and_title():
    i_obs, sigma = _data()
    curve = Curve(Q, i_obs, sigma, "1/cm", "s1")
    res = fit_curve(curve, contrast=CONTRAST_CDSE_ODE, **FAST)
    assert res.absolute and res.title == "s1"
    assert res.total_volume_fraction[0] == pytest.approx(1e-3, rel=0.1)
    with pytest.raises(TypeError, match="Curve"):
        fit_curve((Q, i_obs, sigma))


def test_fitted_curve_matches_data_within_noise():
    i_obs, sigma = _data()
    res = fit_arrays(Q, i_obs, sigma, **FAST)
    resid = (res.intensity - res.model_mean) / res.sigma
    assert np.mean(resid**2) < res.chi2_r_accept
    assert np.all(res.model_std >= 0) and np.any(res.model_std > 0)


# ---------------------------------------------------------------- statistics
def test_range_stats_match_scipy_moments():
    rng = np.random.default_rng(2)
    radii = rng.lognormal(np.log(2.0), 0.3, size=(3, 500))
    phi = np.array([1e-3, 2e-3, 3e-3]) / 500
    st = range_stats(radii, phi, 1.0, 4.0)
    per = []
    for i in range(3):
        r = radii[i][(radii[i] >= 1.0) & (radii[i] <= 4.0)]
        per.append(
            [
                r.size * phi[i],
                r.mean(),
                r.var(),
                scipy.stats.skew(r),
                scipy.stats.kurtosis(r),
                np.sum(r**-2) / np.sum(r**-3),
            ]
        )
    per = np.array(per)
    np.testing.assert_allclose(
        [st.volume_fraction, st.mean_nm, st.variance_nm2, st.skew, st.excess_kurtosis, st.number_mean_nm],
        per.mean(axis=0),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        [st.volume_fraction_std, st.mean_nm_std, st.excess_kurtosis_std],
        per[:, [0, 1, 4]].std(axis=0, ddof=1),
        rtol=1e-10,
    )


def test_volume_histogram_counts_every_contribution_once():
    radii = np.array([[1.0, 1.5, 2.0, 4.0], [1.2, 1.2, 3.9, 4.0]])
    edges = np.array([1.0, 2.0, 3.0, 4.0])
    h = volume_histogram(radii, np.array([0.25, 0.5]), edges)
    np.testing.assert_allclose(h, [[0.5, 0.25, 0.25], [1.0, 0.0, 1.0]])


def test_min_visibility_is_where_one_contribution_reaches_sigma():
    sigma = 0.01 + 0.001 * Q
    centers = np.array([0.8, 1.5, 3.0])
    g = np.array([2.0, 4.0])
    mv = min_visibility(Q, sigma, centers, g)
    for c, m in zip(centers, mv):
        vp = 4 / 3 * np.pi * c**3 * sphere_form_factor(Q, c)
        # each repetition's limit: max_q g V P phi / sigma == 1
        per_rep = [1.0 / np.max(gi * vp / sigma) for gi in g]
        assert m == pytest.approx(np.mean(per_rep), rel=1e-12)


def test_power_law_term_absorbs_porod_scattering():
    i_obs, sigma = _data()
    porod = 0.5 * Q**-4
    i_bad = i_obs + porod
    sig_bad = np.sqrt(sigma**2 + (0.01 * porod) ** 2)
    # radii up to 5 nm: larger spheres would scatter like q^-4 in this q range and share the Porod term
    res = fit_arrays(Q, i_bad, sig_bad, r_range_nm=(0.5, 5.0), power_law_exponent=4.0, ranges_nm=[(0.8, 3.0)], **FAST)
    assert res.all_converged
    # c (q/q_min)^-4 with c = 0.5 q_min^-4
    assert res.power_law_coefficient.mean() == pytest.approx(0.5 * Q[0] ** -4, rel=0.1)
    truth = make_distribution(SPEC).moments()["mean_nm"]
    assert res.ranges[1].mean_nm == pytest.approx(truth, rel=0.02)
    assert res.summary()["settings"]["power_law_exponent"] == 4.0
    with pytest.raises(ValueError, match="power_law_exponent"):
        fit_arrays(Q, i_obs, sigma, power_law_exponent=-1.0, **FAST)


def test_fit_result_identical_for_any_thread_count():
    import numba

    i_obs, sigma = _data()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=5, seed=9)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=5, seed=9, progress=False)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one.radii_nm, two.radii_nm)
    np.testing.assert_array_equal(one.volume_fraction, two.volume_fraction)
    np.testing.assert_array_equal(one.chi2_r, two.chi2_r)


# ---------------------------------------------------------------- API details
def test_saxs_mc_fit_is_the_subpackage_and_the_functions_are_fit_curve_and_fit_arrays():
    import inspect
    import types

    import saxs_mc

    assert type(saxs_mc.fit) is types.ModuleType and not callable(saxs_mc.fit)  # no callable-module trick
    i_obs, sigma = _data()
    res = saxs_mc.fit_arrays(Q, i_obs, sigma, **FAST)
    assert isinstance(res, FitResult) and saxs_mc.fit.FitResult is FitResult and saxs_mc.FitResult is FitResult
    curve = Curve(q=Q, intensity=i_obs, sigma=sigma, intensity_unit="arbitrary")
    again = saxs_mc.fit_curve(curve, **FAST)
    np.testing.assert_array_equal(again.volume_fraction, res.volume_fraction)  # same seed, same data
    assert list(inspect.signature(saxs_mc.fit_arrays).parameters)[:3] == ["q", "intensity", "sigma"]


def test_seed_none_draws_and_records_a_reproducible_seed():
    i_obs, sigma = _data()
    a = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=3)
    assert isinstance(a.seed, int) and a.settings["seed_source"] == "os_entropy"
    assert a.summary()["seed"] == a.seed
    b = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=3, seed=a.seed)  # re-run from the recorded seed
    np.testing.assert_array_equal(a.radii_nm, b.radii_nm)
    np.testing.assert_array_equal(a.repetition_seeds, b.repetition_seeds)
    assert b.settings["seed_source"] == "user"
    assert fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=3).seed != a.seed  # 63-bit entropy


def test_single_repetition_warns_that_uncertainties_are_zero():
    i_obs, sigma = _data()
    with pytest.warns(FitWarning, match="repetitions=1"):
        res = fit_arrays(Q, i_obs, sigma, contributions=100, repetitions=1, seed=1)
    assert np.all(res.volume_fraction_std == 0)


def test_timing_excludes_kernel_warm_up():
    from saxs_mc.fit import mc

    i_obs, sigma = _data()
    fit_arrays(Q, i_obs, sigma, **FAST)
    assert mc.warm_up() == 0.0  # once per process
    res = fit_arrays(Q, i_obs, sigma, **FAST)
    assert res.warmup_s == 0.0 and res.summary()["convergence"]["warmup_s"] == 0.0
    # a warm kernel: well under 20 us per attempted move for 120 q points (measured ~1 us)
    assert 0 < res.time_per_iteration_s < 2e-5


def test_background_modes():
    i_obs, sigma = _data()  # true flat background +0.01
    nn = fit_arrays(Q, i_obs, sigma, **FAST)
    free = fit_arrays(Q, i_obs, sigma, background="flat", **FAST)
    assert nn.settings["background"] == "nonnegative" and free.settings["background"] == "flat"
    assert nn.background_at_bound == 0
    np.testing.assert_allclose(nn.background, 0.01, rtol=0.1)
    np.testing.assert_allclose(free.background, 0.01, rtol=0.1)
    # an offset below zero: the bound is active (b = 0 exactly, counted), the free fit goes negative
    low = i_obs - 0.05
    with pytest.warns(FitWarning, match="did not converge"):
        nn_low = fit_arrays(Q, low, sigma, **FAST)  # spheres cannot make the intensity negative
    assert np.all(nn_low.background == 0.0) and nn_low.background_at_bound == 4
    assert "at its bound 0 in 4/4" in nn_low.report()
    free_low = fit_arrays(Q, low, sigma, background="flat", **FAST)
    np.testing.assert_allclose(free_low.background, 0.01 - 0.05, rtol=0.1)
    none = fit_arrays(Q, i_obs - 0.01, sigma, background=False, **FAST)
    assert np.all(none.background == 0.0) and none.settings["background"] == "none"
    with pytest.raises(ValueError, match="background"):
        fit_arrays(Q, i_obs, sigma, background="negative", **FAST)
    with pytest.raises(ValueError, match="nonnegative"):
        fit_arrays(Q, i_obs, sigma, background="nonnegative", power_law_exponent=4.0, **FAST)


def test_visible_only_statistics_and_sub_visibility_fraction():
    from saxs_mc.fit.statistics import visible_bins

    radii = np.array([[1.0, 1.1, 2.5, 2.6], [1.05, 1.15, 2.55, 3.5]])
    phi = np.array([0.25, 0.25])
    edges = np.array([1.0, 2.0, 3.0, 4.0])
    vis = visible_bins(np.array([0.5, 0.5, 0.125]), np.array([0.1, 0.1, 0.2]))
    assert vis.tolist() == [True, True, False]
    all_ = range_stats(radii, phi, 1.0, 4.0, edges=edges, visible=vis)
    only = range_stats(radii, phi, 1.0, 4.0, edges=edges, visible=vis, visible_only=True)
    assert all_.sub_visibility_fraction == pytest.approx(0.125)  # (0 + 1/4) / 2
    assert not all_.dominated_by_sub_visibility
    assert only.volume_fraction == pytest.approx((1.0 + 0.75) / 2)
    assert only.mean_nm == pytest.approx((np.mean([1.0, 1.1, 2.5, 2.6]) + np.mean([1.05, 1.15, 2.55])) / 2)
    high = range_stats(radii, phi, 3.0, 4.0, edges=edges, visible=vis)
    assert high.sub_visibility_fraction == 1.0 and high.dominated_by_sub_visibility
    assert high.summary()["dominated_by_sub_visibility"] is True
    with pytest.raises(ValueError, match="visible_only"):
        range_stats(radii, phi, 1.0, 4.0, visible_only=True)
    i_obs, sigma = _data()
    res = fit_arrays(Q, i_obs, sigma, ranges_nm=[(1.0, 2.5)], **FAST)
    assert len(res.ranges_visible) == len(res.ranges) == 2
    assert "visible bins only" in res.report() and len(res.summary()["ranges_visible"]) == 2


def test_duplicated_q_is_an_error_naming_the_value():
    # issue 13 item 10: every q point twice was fitted with double the degrees of freedom
    i_obs, sigma = _data()
    q2 = np.concatenate([Q, Q])
    with pytest.raises(ValueError, match=r"q has 120 duplicated value\(s\) \(first q = 0\.15 1/nm\).*merge or average"):
        fit_arrays(q2, np.concatenate([i_obs, i_obs]), np.concatenate([sigma, sigma]), **FAST)


def test_short_repr_and_plot_return_axes():
    i_obs, sigma = _data()
    res = fit_arrays(Q, i_obs, sigma, contrast=CONTRAST_CDSE_ODE, intensity_unit="1/cm", title="s", **FAST)
    text = repr(res)
    assert len(text) < 300 and text.startswith("FitResult('s'") and "chi2_r" in text and "unresolved" in text
    ax_c, ax_d = res.plot()
    assert ax_c.get_xscale() == "log" and ax_d.get_xlabel() == "radius (nm)"
    assert len(ax_c.lines) >= 1 and ax_c.figure is ax_d.figure
