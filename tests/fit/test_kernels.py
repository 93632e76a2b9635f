"""The numba kernels against the NumPy/Python reference in tests/fit/reference.py."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from saxs_mc.fit import _kernels as K
from saxs_mc.fit.mc import intensity_table, radius_grid
from saxs_mc.models.distributions import make_distribution
from tests.fit import reference as ref


@numba.njit
def _stream(seed, n):
    s = np.uint64(seed)
    out = np.empty(n, np.uint64)
    for i in range(n):
        s, z = K.splitmix64(s)
        out[i] = z
    return out


@numba.njit
def _indices(seed, n, m):
    s = np.uint64(seed)
    out = np.empty(m, np.int64)
    for i in range(m):
        s, j = K.draw_index(s, n)
        out[i] = j
    return out


def test_splitmix64_matches_published_vector_and_reference():
    # first outputs of Vigna's splitmix64.c for seed 1234567 (a widely used test vector)
    expected = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert _stream(np.uint64(1234567), 5).tolist() == expected
    r = ref.SplitMix64(1234567)
    assert [r.next() for _ in range(5)] == expected
    seed = np.uint64(2**63 + 12345)  # seeds above 2^63 too
    r = ref.SplitMix64(int(seed))
    assert _stream(seed, 2000).tolist() == [r.next() for _ in range(2000)]


def test_draw_index_uniform_and_equal_to_reference():
    got = _indices(np.uint64(99), 7, 70_000)
    r = ref.SplitMix64(99)
    assert got[:5000].tolist() == [r.index(7) for _ in range(5000)]
    counts = np.bincount(got, minlength=7)
    # chi-square test of uniformity, 6 dof: 99.9 % quantile is 22.46
    chi2 = np.sum((counts - 10_000) ** 2 / 10_000)
    assert chi2 < 22.46
    assert got.min() == 0 and got.max() == 6


@pytest.mark.parametrize("fit_background", [True, False])
def test_solve_scale_background_matches_lstsq(fit_background):
    rng = np.random.default_rng(5)
    n_neg = 0
    for _trial in range(200):
        f = rng.uniform(0.1, 3, 40)
        sigma = rng.uniform(0.05, 0.3, 40)
        s_true = rng.normal(1.0, 1.5)  # sometimes negative: the bound s >= 0 is active
        n_neg += s_true < 0
        i_obs = s_true * f + rng.normal(0.2, 0.1) + rng.normal(0, sigma)
        w = 1 / sigma**2
        s, b, chi2 = K.solve_scale_background(
            w.sum(),
            np.sum(w * i_obs),
            np.sum(w * i_obs**2),
            np.sum(w * f),
            np.sum(w * f * f),
            np.sum(w * f * i_obs),
            fit_background,
        )
        s_r, b_r, chi2_r = ref.solve_scale_background(f, i_obs, sigma, fit_background)
        assert s >= 0
        np.testing.assert_allclose([s, b], [s_r, b_r], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(chi2, chi2_r, rtol=1e-9, atol=1e-8)
        # the constrained optimum is optimal: no feasible perturbation lowers chi2
        for ds, db in ((1e-4, 0), (-1e-4, 0), (0, 1e-4), (0, -1e-4)):
            s2, b2 = s + ds, (b + db) if fit_background else 0.0
            if s2 >= 0:
                assert np.sum(w * (i_obs - s2 * f - b2) ** 2) >= chi2 - 1e-9
    assert n_neg > 20  # the constrained branch was exercised


def _problem(n_q=60, seed=0):
    q = np.geomspace(0.2, 4.0, n_q)
    dist = make_distribution({"kind": "gaussian", "mean_nm": 2.0, "sd_nm": 0.2, "volume_fraction": 1e-3})
    i_true = dist.dsigma(q, 30.0) + 0.05
    rng = np.random.default_rng(seed)
    sigma = 0.02 * i_true
    i_obs = i_true + rng.normal(0, sigma)
    grid = radius_grid(np.pi / 4.0, np.pi / 0.2, 256, "log")
    return q, i_obs, sigma, intensity_table(q, grid)


def test_intensity_table_is_volume_times_form_factor():
    q = np.array([0.5, 1.0, 2.0])
    t = intensity_table(q, np.array([1.0, 3.0]))
    x = np.outer([1.0, 3.0], q)
    p = (3 * (np.sin(x) - x * np.cos(x)) / x**3) ** 2
    np.testing.assert_allclose(t, 4 / 3 * np.pi * np.array([[1.0], [27.0]]) * p, rtol=1e-12)


@pytest.mark.parametrize("fit_background", [True, False])
def test_mc_single_follows_reference_trajectory(fit_background):
    q, i_obs, sigma, table = _problem()
    n_contrib, max_iter, seed = 20, 600, np.uint64(2**63 + 777)
    w = 1 / sigma**2
    dof = q.size - (2 if fit_background else 1)
    target, window, delta = 0.5 * dof, 10_000, 0.0  # unreachable target: run to the cap
    idx = np.zeros(n_contrib, np.int64)
    f = np.zeros(q.size)
    info = np.zeros(K.N_INFO)
    trace = np.zeros(max_iter)
    K.mc_single(
        table,
        w,
        w * i_obs,
        float(np.sum(w * i_obs**2)),
        n_contrib,
        seed,
        max_iter,
        target,
        window,
        delta,
        fit_background,
        50,
        idx,
        f,
        info,
        trace,
        np.zeros(q.size),
        False,
    )
    r_idx, r_s, r_b, r_chi2, r_it, r_acc, r_reason, r_trace = ref.mc_single(
        table, i_obs, sigma, n_contrib, int(seed), max_iter, target, window, delta, fit_background
    )
    assert r_acc > 50  # the run moved, and the periodic rebuild (every 50 accepted) was exercised
    np.testing.assert_array_equal(idx, r_idx)
    np.testing.assert_allclose(trace, r_trace, rtol=1e-9)
    assert int(info[K.INFO_ITERATIONS]) == r_it == max_iter
    assert int(info[K.INFO_ACCEPTED]) == r_acc
    assert int(info[K.INFO_REASON]) == r_reason == K.STOP_CAP
    np.testing.assert_allclose(
        info[[K.INFO_SCALE, K.INFO_BACKGROUND, K.INFO_CHI2]], [r_s, r_b, r_chi2], rtol=1e-8, atol=1e-12
    )
    np.testing.assert_allclose(f, table[idx].sum(axis=0), rtol=1e-10)  # running sum equals the recomputed one
    assert np.all(np.diff(trace) <= 0)  # greedy: chi2 never increases


def test_mc_single_stops_converged_and_stagnated_like_reference():
    q, i_obs, sigma, table = _problem(seed=3)
    w = 1 / sigma**2
    dof = q.size - 2
    for target, window, delta, code in ((1.3 * dof, 100_000, 0.0, K.STOP_CHI2), (0.0, 200, 0.5, K.STOP_STAGNATION)):
        idx = np.zeros(30, np.int64)
        info = np.zeros(K.N_INFO)
        K.mc_single(
            table,
            w,
            w * i_obs,
            float(np.sum(w * i_obs**2)),
            30,
            np.uint64(11),
            5000,
            target,
            window,
            delta,
            True,
            10_000,
            idx,
            np.zeros(q.size),
            info,
            np.zeros(0),
            np.zeros(q.size),
            False,
        )
        r = ref.mc_single(table, i_obs, sigma, 30, 11, 5000, target, window, delta)
        assert int(info[K.INFO_REASON]) == r[6] == code
        assert int(info[K.INFO_ITERATIONS]) == r[4] < 5000
        np.testing.assert_array_equal(idx, r[0])
        if code == K.STOP_CHI2:
            assert info[K.INFO_CHI2] <= target


def _run_reps(table, w, wi, swii, seeds, n_contrib=40, max_iter=3000):
    idx = np.zeros((seeds.size, n_contrib), np.int64)
    f = np.zeros((seeds.size, table.shape[1]))
    info = np.zeros((seeds.size, K.N_INFO))
    K.mc_repetitions(
        table,
        w,
        wi,
        swii,
        n_contrib,
        seeds,
        max_iter,
        0.0,
        1000,
        0.01,
        True,
        10_000,
        idx,
        f,
        info,
        np.zeros(table.shape[1]),
        False,
    )
    return idx, f, info


def test_repetitions_equal_single_runs_and_independent_of_thread_count():
    q, i_obs, sigma, table = _problem(seed=4)
    w = 1 / sigma**2
    wi = w * i_obs
    swii = float(np.sum(wi * i_obs))
    seeds = np.array([3, 2**63 + 5, 17, 123456789, 42], dtype=np.uint64)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _run_reps(table, w, wi, swii, seeds)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _run_reps(table, w, wi, swii, seeds)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    # row i is exactly the serial single run with seeds[i]
    for i, sd in enumerate(seeds):
        idx = np.zeros(40, np.int64)
        info = np.zeros(K.N_INFO)
        K.mc_single(
            table,
            w,
            wi,
            swii,
            40,
            sd,
            3000,
            0.0,
            1000,
            0.01,
            True,
            10_000,
            idx,
            np.zeros(q.size),
            info,
            np.zeros(0),
            np.zeros(q.size),
            False,
        )
        np.testing.assert_array_equal(one[0][i], idx)
        np.testing.assert_array_equal(one[2][i], info)
    # different seeds give different runs
    assert not np.array_equal(one[0][0], one[0][2])


@pytest.mark.parametrize("fit_background", [True, False])
def test_solve_bounded3_matches_scipy_bvls(fit_background):
    rng = np.random.default_rng(8)
    hits = set()
    for _trial in range(300):
        n = 50
        q = np.geomspace(0.2, 4, n)
        f = rng.uniform(0.5, 2, n) * q**-1.0
        p = (q / q[0]) ** -4.0
        sigma = rng.uniform(0.02, 0.2, n)
        s_true, c_true = rng.normal(1.0, 1.5), rng.normal(0.5, 1.0)  # either may be negative: bounds active
        i_obs = s_true * f + c_true * p + 0.3 + rng.normal(0, sigma)
        w = 1 / sigma**2
        s, b, c, chi2 = K.solve_bounded3(
            np.sum(w * f * f),
            np.sum(w * f),
            np.sum(w * f * p),
            np.sum(w),
            np.sum(w * p),
            np.sum(w * p * p),
            np.sum(w * f * i_obs),
            np.sum(w * i_obs),
            np.sum(w * p * i_obs),
            np.sum(w * i_obs**2),
            fit_background,
            True,
        )
        rs, rb, rc, rchi2 = ref.solve_bounded(f, i_obs, sigma, p, fit_background)
        assert s >= 0 and c >= 0
        np.testing.assert_allclose(chi2, rchi2, rtol=1e-7, atol=1e-7)
        np.testing.assert_allclose([s, b, c], [rs, rb, rc], rtol=1e-5, atol=1e-6)
        hits.add((s == 0, c == 0))
    assert len(hits) >= 3  # interior and bound-active cases were exercised


def test_mc_single_with_power_law_follows_reference():
    q, i_obs, sigma, table = _problem(seed=6)
    p = (q / q[0]) ** -4.0
    i_obs = i_obs + 0.3 * p
    sigma = np.sqrt(sigma**2 + (0.01 * 0.3 * p) ** 2)
    w = 1 / sigma**2
    idx = np.zeros(20, np.int64)
    info = np.zeros(K.N_INFO)
    trace = np.zeros(300)
    K.mc_single(
        table,
        w,
        w * i_obs,
        float(np.sum(w * i_obs**2)),
        20,
        np.uint64(5),
        300,
        0.0,
        10_000,
        0.0,
        True,
        10_000,
        idx,
        np.zeros(q.size),
        info,
        trace,
        p,
        True,
    )
    r = ref.mc_single(table, i_obs, sigma, 20, 5, 300, 0.0, 10_000, 0.0, True, p=p)
    assert r[5] > 20
    np.testing.assert_array_equal(idx, r[0])
    np.testing.assert_allclose(trace, r[7], rtol=1e-7)
    assert info[K.INFO_POWERLAW] == pytest.approx(0.3, rel=0.2)  # the Porod term is recovered
