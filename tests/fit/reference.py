"""Slow, obvious NumPy/Python reference implementations of the fit kernels.

Written independently of ``saxs_mc.fit._kernels``: Python integers for the
PRNG, a full recomputation of the model and an explicit least-squares solve at
every step.  Tests compare the numba kernels against these.
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1


class SplitMix64:
    """splitmix64 (Steele, Lea & Flood 2014; Vigna's reference C code) on Python ints."""

    def __init__(self, seed: int) -> None:
        self.state = int(seed) & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def index(self, n: int) -> int:
        """Uniform integer in [0, n): floor(n * U) with U the top 53 bits / 2^53."""
        u = (self.next() >> 11) / 2.0**53
        return min(int(u * n), n - 1)


def solve_scale_background(f: np.ndarray, intensity: np.ndarray, sigma: np.ndarray, fit_background: bool = True):
    """argmin_{s >= 0, b} sum ((I - s f - b) / sigma)^2 by explicit weighted least squares.

    Returns (s, b, chi2) with chi2 computed directly from the residuals.
    """
    sw = 1.0 / sigma
    cols = [f] + ([np.ones_like(f)] if fit_background else [])
    a = np.column_stack(cols) * sw[:, None]
    sol, *_ = np.linalg.lstsq(a, intensity * sw, rcond=None)
    s = float(sol[0])
    b = float(sol[1]) if fit_background else 0.0
    if s <= 0.0:  # bound active: s = 0, b = weighted mean
        s = 0.0
        b = float(np.sum(intensity / sigma**2) / np.sum(1.0 / sigma**2)) if fit_background else 0.0
    chi2 = float(np.sum(((intensity - s * f - b) / sigma) ** 2))
    return s, b, chi2


def solve_bounded(f, intensity, sigma, p=None, fit_background=True):
    """argmin over s >= 0, b free, c >= 0 of sum ((I - s f - b - c p) / sigma)^2 with scipy's lsq_linear.

    Returns (s, b, c, chi2).  Without ``p`` the c term is absent.
    """
    from scipy.optimize import lsq_linear

    cols, lo = [f], [0.0]
    if fit_background:
        cols.append(np.ones_like(f))
        lo.append(-np.inf)
    if p is not None:
        cols.append(p)
        lo.append(0.0)
    a = np.column_stack(cols) / sigma[:, None]
    res = lsq_linear(a, intensity / sigma, bounds=(lo, np.full(len(lo), np.inf)), tol=1e-14, method="bvls")
    x = list(res.x)
    s = x.pop(0)
    b = x.pop(0) if fit_background else 0.0
    c = x.pop(0) if p is not None else 0.0
    chi2 = float(np.sum(((intensity - s * f - b - c * (p if p is not None else 0.0)) / sigma) ** 2))
    return s, b, c, chi2


def mc_single(
    table,
    intensity,
    sigma,
    n_contrib,
    seed,
    max_iter,
    chi2_target,
    stag_window,
    stag_delta,
    fit_background=True,
    p=None,
):
    """Reference McSAS repetition.  Returns (idx, s, b, chi2, iterations, accepted, reason, trace).

    Same random-number consumption as the kernel: n_contrib grid indices for the
    initial radii, then per attempt one contribution index and one grid index.
    reason: 0 converged (chi2 <= target), 1 stagnated, 2 cap.  With a power-law
    basis ``p`` the (s, b, c) solve uses scipy's bounded least squares.
    """

    def solve(f):
        if p is None:
            return solve_scale_background(f, intensity, sigma, fit_background)
        s_, b_, _, x2 = solve_bounded(f, intensity, sigma, p, fit_background)
        return s_, b_, x2

    from saxs_mc.fit._kernels import ACCEPT_REL

    accept_tol = ACCEPT_REL * float(np.sum((intensity / sigma) ** 2))
    rng = SplitMix64(seed)
    n_grid = table.shape[0]
    idx = np.array([rng.index(n_grid) for _ in range(n_contrib)], dtype=np.int64)
    s, b, chi2 = solve(table[idx].sum(axis=0))
    trace = []
    it = accepted = 0
    win_chi2, win_start = chi2, 0
    while True:
        if chi2 <= chi2_target:
            reason = 0
            break
        if it >= max_iter:
            reason = 2
            break
        k = rng.index(n_contrib)
        jn = rng.index(n_grid)
        cand = idx.copy()
        cand[k] = jn
        s2, b2, chi2n = solve(table[cand].sum(axis=0))
        it += 1
        if chi2n < chi2 - accept_tol:  # improvements below rounding noise are not accepted
            idx, s, b, chi2 = cand, s2, b2, chi2n
            accepted += 1
        trace.append(chi2)
        if it - win_start >= stag_window:
            if win_chi2 - chi2 < stag_delta:
                reason = 1
                break
            win_chi2, win_start = chi2, it
    return idx, s, b, chi2, it, accepted, reason, np.array(trace)
