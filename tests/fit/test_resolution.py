"""Issue 15: resolved vs unresolved volume, the resolvable radius, background bounds from a blank.

Seeded curves are built like ``benchmarks/fit_resolved_grid.py`` (which runs the
full grid with 10 seeds per combination): CdSe spheres in octadecene, 200
log-spaced q points 0.2-5 1/nm, 1 % noise, a residual flat background of 0 to
3x the particle intensity at q_max, radius ranges from the default down to half
of pi/q_max.  Required: total resolved volume fraction within 10 % and the
volume-weighted mean radius within 3 % of the truth.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

from saxs_mc.fit import FitWarning, blank_background_bounds, fit_arrays, resolvable_radius
from saxs_mc.fit import _kernels as K
from saxs_mc.fit.resolution import flat_limit_x, informative_q_max
from saxs_mc.io.curves import Curve
from saxs_mc.models.sphere import sphere_form_factor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import fit_resolved_grid as grid  # noqa: E402


def test_flat_limit_is_where_the_form_factor_is_one_half():
    x = flat_limit_x(0.5)
    assert sphere_form_factor(np.array([x]), np.array([1.0]))[0, 0] == pytest.approx(0.5, abs=1e-9)
    assert 1.80 < x < 1.82
    assert flat_limit_x(0.1) < np.pi < flat_limit_x(0.05)  # P(pi) = (3/pi^2)^2 = 0.092
    with pytest.raises(ValueError, match="p_flat"):
        flat_limit_x(1.5)


def test_resolvable_radius_follows_the_informative_q_range():
    q = np.geomspace(0.2, 5.0, 100)
    sigma = np.full(q.size, 1e-3)
    # particle scattering measured everywhere: the limit is x_c / q_max
    assert resolvable_radius(q, sigma, np.ones(q.size)) == pytest.approx(flat_limit_x() / 5.0)
    # particle scattering above 3 sigma only up to q = 2 1/nm: the limit doubles and more
    part = np.where(q <= 2.0, 1.0, 1e-4)
    assert informative_q_max(q, sigma, part) == pytest.approx(q[q <= 2.0].max())
    assert resolvable_radius(q, sigma, part) == pytest.approx(flat_limit_x() / q[q <= 2.0].max())
    # nothing measured: nothing resolved
    assert resolvable_radius(q, sigma, np.zeros(q.size)) == np.inf


def test_blank_bounds_from_level_and_uncertainty():
    q = np.linspace(0.3, 5.0, 50)
    blank = Curve(q, np.full(50, 0.2), np.full(50, 0.002), "1/cm", "blank")
    lo, hi = blank_background_bounds(blank, rel_scale_error=0.05, n_sigma=3.0)
    assert hi == pytest.approx(0.05 * 0.2 + 3 * 0.002 / np.sqrt(50)) and lo == -hi
    assert blank_background_bounds(blank, scale=2.0)[1] == pytest.approx(2 * hi)
    with pytest.raises(ValueError, match="no finite points"):
        blank_background_bounds(blank, q_range_nm=(10.0, 20.0))


@pytest.mark.parametrize("use_b", [False, True])
def test_bounded_solver_with_upper_bound_matches_scipy(use_b):
    rng = np.random.default_rng(4)
    for _ in range(30):
        n = 40
        f = rng.uniform(0.1, 2.0, n)
        p = np.linspace(1.0, 3.0, n) ** -2.0 if use_b else np.ones(n)  # b and c must not be collinear
        y = rng.uniform(0.5, 3.0) * f + rng.uniform(-0.5, 2.0) * p + rng.normal(0, 0.05, n) + (0.3 if use_b else 0.0)
        w = 1.0 / rng.uniform(0.02, 0.1, n) ** 2
        c_max = rng.uniform(0.0, 1.5)
        cols = [f] + ([np.ones(n)] if use_b else []) + [p]
        a = np.column_stack(cols) * np.sqrt(w)[:, None]
        lb = [0.0] + ([-np.inf] if use_b else []) + [0.0]
        ub = [np.inf] + ([np.inf] if use_b else []) + [c_max]
        ref = scipy.optimize.lsq_linear(a, y * np.sqrt(w), bounds=(lb, ub), method="bvls", tol=1e-14)
        ones = np.ones(n)
        s, b, c, chi2 = K.solve_bounded3(
            np.sum(w * f * f),
            np.sum(w * f),
            np.sum(w * f * p),
            np.sum(w),
            np.sum(w * p),
            np.sum(w * p * p),
            np.sum(w * f * y),
            np.sum(w * y),
            np.sum(w * p * y),
            np.sum(w * y * y),
            use_b,
            True,
            c_max,
        )
        assert chi2 == pytest.approx(2 * ref.cost, rel=1e-7, abs=1e-9)
        assert c <= c_max + 1e-12 and s >= 0
        del ones


def test_background_bounds_hold_and_the_default_keeps_b_nonnegative():
    t = grid.truth("msc1")
    q, i, s, b_true = grid.curve("msc1", 3.0, 0, t)
    i = i + 0.01  # a flat rest far above what the bounds allow
    kw = dict(contrast=grid.CONTRAST, intensity_unit="1/cm", seed=1, contributions=100, repetitions=3)
    with warnings.catch_warnings():  # the rest cannot be fitted inside the bounds: flagged as not converged
        warnings.simplefilter("ignore", FitWarning)
        res = fit_arrays(q, i, s, background_bounds=(-1e-3, 2e-3), **kw)
        free = fit_arrays(q, i - 0.02, s, background="flat", background_bounds=(-1e-3, 2e-3), **kw)
    assert not res.all_converged and res.background_at_bound == 0
    assert np.all(res.background <= 2e-3 + 1e-15) and np.all(res.background >= 0.0)  # 'nonnegative' raises b_min to 0
    assert res.summary()["settings"]["background_bounds"] == [0.0, 2e-3]
    assert np.all(free.background >= -1e-3 - 1e-15) and free.background.min() < 0  # 'flat' keeps the negative bound
    with pytest.raises(ValueError, match="power_law_exponent"):
        fit_arrays(q, i, s, background_bounds=(0, 1), power_law_exponent=4.0, **kw)
    with pytest.raises(ValueError, match="b_min <= b_max"):
        fit_arrays(q, i, s, background_bounds=(1, 0), **kw)


# a few seeds per combination here; the full grid (10 seeds each) is benchmarks/fit_resolved_grid.py
@pytest.mark.parametrize("name", list(grid.POPULATIONS))
@pytest.mark.parametrize("bg_factor, r_low", [(0.0, 0.5), (3.0, 0.5), (1.0, 0.75)])
def test_resolved_volume_and_mean_radius_recovered(name, bg_factor, r_low):
    t = grid.truth(name)
    for seed in (0, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitWarning)
            out = grid.run_one(name, bg_factor, r_low, seed, t)
        assert abs(out["phi_err"]) <= 0.10 and abs(out["mean_err"]) <= 0.03, (name, bg_factor, r_low, seed, out)


def test_small_radius_pile_is_reported_apart_with_a_warning():
    # the log-normal population, a residual background of 1x I_p(q_max) and r_min = pi/(2 q_max): before
    # issue 15 the whole-range volume fraction was 15 % high and the mean radius 10 % low (see the grid)
    t = grid.truth("lognormal")
    q, i, s, _ = grid.curve("lognormal", 1.0, 0, t)
    with pytest.warns(FitWarning, match=r"below the resolvable radius 0\.36\d* nm"):
        res = fit_arrays(
            q, i, s, r_range_nm=(np.pi / 10, np.pi / 0.2), contrast=grid.CONTRAST, intensity_unit="1/cm", seed=0
        )
    whole, everything = res.ranges[0], res.ranges_all[0]
    assert everything.volume_fraction / t["phi"] - 1 > 0.08  # the pile is there in the raw MC distribution
    assert abs(whole.volume_fraction / t["phi"] - 1) < 0.05 and abs(whole.mean_nm / t["mean_nm"] - 1) < 0.03
    unres, _ = res.unresolved_volume_fraction
    assert unres / t["phi"] > 0.08
    assert res.total_volume_fraction[0] + unres == pytest.approx(everything.volume_fraction, rel=1e-9)
    doc = res.summary()
    assert (
        doc["resolvable_radius_nm"] == pytest.approx(res.resolvable_radius_nm) and doc["unresolved_volume_fraction"] > 0
    )
    assert any("resolvable radius" in w for w in doc["warnings"]) and "unresolved" in res.report()
    # the resolved histogram has no volume below the limit
    assert res.volume_fraction_resolved[res.bin_edges_nm[1:] <= res.resolvable_radius_nm].sum() == 0
