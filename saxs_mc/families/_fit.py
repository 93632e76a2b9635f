"""Variable-projection fit: NNLS for the linear amounts inside lmfit for the shapes.

A *term* is a family (index 0..K-1) or the continuous population (index K).
For given nonlinear parameters theta (family radii, log-normal median and
sigma) the design matrix A(theta) has one column per included term plus the
background columns; the amounts x >= 0 minimise chi2 = |(y - A x) / sigma|^2
by :func:`scipy.optimize.nnls`.  lmfit (``least_squares``, bounded) varies
theta on the residual of that inner solution.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import cast

import lmfit
import numpy as np
from scipy.optimize import nnls

from saxs_mc.families import _basis
from saxs_mc.families.spec import Continuous, Family


@dataclasses.dataclass
class Problem:
    """Data and model definition of one decomposition (internal, mutable caches)."""

    q: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    drho2: float
    families: tuple[Family, ...]
    continuous: Continuous | None
    background: str
    power_law_exponent: float | None

    def __post_init__(self) -> None:
        self.yw = self.y / self.sigma
        extra = []
        if self.background in ("nonnegative", "free"):
            extra.append(np.ones_like(self.q))
        if self.background == "free":
            extra.append(-np.ones_like(self.q))
        if self.power_law_exponent is not None:
            extra.append(_basis.power_law_column(self.q, self.power_law_exponent))
        self.extra = np.column_stack(extra) if extra else np.zeros((self.q.size, 0))
        self._cache: dict[tuple, np.ndarray] = {}
        self._grid: _basis.LogNormalGrid | None = None

    def _cached(self, key: tuple, make) -> np.ndarray:
        col = self._cache.get(key)
        if col is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            col = self._cache[key] = make()
        return col

    @property
    def n_terms(self) -> int:
        return len(self.families) + (1 if self.continuous is not None else 0)

    def term_columns(self, theta: dict[str, float], include: tuple[int, ...]) -> np.ndarray:
        """(n_q, len(include)) columns of the included terms at ``theta``."""
        cols = []
        for t in include:
            if t < len(self.families):
                f = self.families[t]
                r = theta[f"r{t}"]
                cols.append(
                    self._cached(("f", t, r), lambda r=r, f=f: _basis.family_column(self.q, r, f.sd_nm, self.drho2))
                )
            else:
                m, w = theta["median"], theta["width"]
                cols.append(self._cached(("c", m, w), lambda m=m, w=w: self.lognormal(m, w)))
        return np.column_stack(cols) if cols else np.zeros((self.q.size, 0))

    def lognormal(self, median: float, width: float) -> np.ndarray:
        """Column of the continuous population (on the precomputed radius grid)."""
        if self._grid is None:
            c = cast(Continuous, self.continuous)  # only called when the problem has a continuous term
            self._grid = _basis.LogNormalGrid(self.q, c.median_nm, c.sigma[1], self.drho2)
        return self._grid.column(median, width)

    def design(self, theta: dict[str, float], include: tuple[int, ...]) -> np.ndarray:
        return np.column_stack([self.term_columns(theta, include), self.extra])

    def solve(self, a: np.ndarray, yw: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Non-negative amounts and chi2 for design ``a`` (columns scaled for conditioning)."""
        aw = a / self.sigma[:, None]
        norms = np.sqrt((aw * aw).sum(axis=0))
        norms[norms == 0] = 1.0
        xs, rnorm = nnls(aw / norms, self.yw if yw is None else yw, maxiter=50 * a.shape[1] + 50)
        return xs / norms, float(rnorm * rnorm)

    def bounds(self) -> dict[str, tuple[float, float]]:
        out = {f"r{i}": cast(tuple[float, float], f.window_nm) for i, f in enumerate(self.families)}
        if self.continuous is not None:
            out["median"] = self.continuous.median_nm
            out["width"] = self.continuous.sigma
        return out


@dataclasses.dataclass
class Solution:
    include: tuple[int, ...]
    theta: dict[str, float]
    x: np.ndarray  # amounts: included terms, then extra columns
    chi2: float
    nfev: int


def _free_names(prob: Problem, include: tuple[int, ...]) -> list[str]:
    names = []
    for t in include:
        if t < len(prob.families):
            if prob.families[t].refined:
                names.append(f"r{t}")
        else:
            names += ["median", "width"]
    return names


def fit_terms(prob: Problem, include: tuple[int, ...], start: dict[str, float], *, max_nfev: int = 400) -> Solution:
    """Best theta and amounts with only the terms ``include`` (nonlinear parameters from ``start``)."""
    theta = dict(start)
    free = _free_names(prob, include)
    if not free:
        x, chi2 = prob.solve(prob.design(theta, include))
        return Solution(include, theta, x, chi2, 1)
    bounds = prob.bounds()
    params = lmfit.Parameters()
    for name in free:
        lo, hi = bounds[name]
        params.add(name, value=min(max(theta[name], lo), hi), min=lo, max=hi)

    def residual(p: lmfit.Parameters) -> np.ndarray:
        th = {**theta, **{k: p[k].value for k in free}}
        a = prob.design(th, include)
        x, _ = prob.solve(a)
        return prob.yw - (a @ x) / prob.sigma

    # lmfit's own stderr (unused: see covariance) takes sqrt of a singular J^T J when a term's amount is 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = lmfit.minimize(residual, params, method="least_squares", max_nfev=max_nfev)
    theta.update({k: float(out.params[k].value) for k in free})
    x, chi2 = prob.solve(prob.design(theta, include))
    return Solution(include, theta, x, chi2, int(out.nfev))


def continuous_start(prob: Problem, include: tuple[int, ...], theta: dict[str, float]) -> dict[str, float]:
    """Grid start for the log-normal (median, sigma): the best NNLS chi2 at the families' nominal radii."""
    c = cast(Continuous, prob.continuous)  # only called with a continuous term
    best: tuple[float, dict[str, float] | None] = (math.inf, None)
    fams = tuple(t for t in include if t < len(prob.families))
    for med in np.geomspace(*c.median_nm, 10):
        for w in np.geomspace(max(c.sigma[0], 0.08), c.sigma[1], 3):
            th = {**theta, "median": float(med), "width": float(w)}
            _, chi2 = prob.solve(prob.design(th, fams + (len(prob.families),)))
            if chi2 < best[0]:
                best = (chi2, th)
    return cast(dict[str, float], best[1])


def n_free(prob: Problem, term: int) -> int:
    """Parameters a term adds: its amount, plus its refined radius or the log-normal's median and sigma."""
    if term < len(prob.families):
        return 1 + int(prob.families[term].refined)
    return 3


def select_bic(prob: Problem, sol: Solution, *, max_nfev: int) -> tuple[Solution, dict[int, tuple[float, float]]]:
    """Backward elimination by the Schwarz criterion (BIC = chi2 + k ln n).

    Each round drops every included term whose amount is 0, then refits without
    each remaining term and drops the one whose removal lowers BIC most (its
    chi2 rise below ``k ln n``).  Returns the final solution and, per term, the
    chi2 rise on removal and the BIC change (positive: the term is needed).
    """
    ln_n = math.log(prob.q.size)
    tests: dict[int, tuple[float, float]] = {}
    while True:
        n_t = len(sol.include)
        zero = [t for i, t in enumerate(sol.include) if sol.x[i] <= 0]
        for t in zero:
            tests[t] = (0.0, -n_free(prob, t) * ln_n)
        if zero:
            keep = tuple(t for t in sol.include if t not in zero)
            sol = fit_terms(prob, keep, sol.theta, max_nfev=max_nfev) if keep != sol.include else sol
            continue
        worst = None
        for t in sol.include:
            rest = tuple(u for u in sol.include if u != t)
            alt = fit_terms(prob, rest, sol.theta, max_nfev=min(max_nfev, 60))
            d_chi2 = alt.chi2 - sol.chi2
            d_bic = d_chi2 - n_free(prob, t) * ln_n
            tests[t] = (d_chi2, d_bic)
            if worst is None or d_bic < worst[0]:
                worst = (d_bic, t, alt)
        if worst is None or worst[0] >= 0 or n_t == 0:
            return sol, tests
        sol = worst[2]


#: most terms for which :func:`select_bic_subsets` compares every subset (2^n fits); above: backward elimination
MAX_SUBSET_TERMS = 5


def select_bic_subsets(
    prob: Problem, sol: Solution, *, max_nfev: int
) -> tuple[Solution, dict[int, tuple[float, float]]]:
    """The subset of terms with the lowest Schwarz criterion BIC = chi2 + k ln n, over all subsets.

    Greedy backward elimination can end in the wrong model when two descriptions are
    nearly degenerate (a narrow log-normal against two or three families): removing
    either is cheap, and which one goes first decides the answer.  Comparing every
    subset (each refitted; a log-normal started from its grid) picks the global BIC
    minimum.  Subsets are visited by parameter count; one whose BIC could not beat the
    best so far even at the full model's chi2 (a lower bound: no subset fits better)
    is not fitted.  Per term, the returned test is (chi2 rise, BIC change) between the chosen
    subset without and with it (positive BIC change: the term is needed).  More than
    :data:`MAX_SUBSET_TERMS` terms: :func:`select_bic`.
    """
    if len(sol.include) > MAX_SUBSET_TERMS:
        return select_bic(prob, sol, max_nfev=max_nfev)
    ln_n = math.log(prob.q.size)
    fits: dict[tuple[int, ...], Solution] = {sol.include: sol}

    def fit(sub: tuple[int, ...]) -> Solution:
        if sub not in fits:
            start = continuous_start(prob, sub, sol.theta) if len(prob.families) in sub else sol.theta
            fits[sub] = fit_terms(prob, sub, start, max_nfev=max_nfev)
        return fits[sub]

    def k_of(sub: tuple[int, ...]) -> int:
        return sum(n_free(prob, t) for t in sub)

    def bic(s: Solution) -> float:
        return s.chi2 + k_of(tuple(t for i, t in enumerate(s.include) if s.x[i] > 0)) * ln_n

    subsets = [sub for k in range(len(sol.include) + 1) for sub in itertools.combinations(sol.include, k)]
    best = sol
    for sub in sorted(subsets, key=lambda u: (k_of(u), u)):
        # no subset fits better than the full model: skip those that cannot beat the best BIC so far
        if sol.chi2 + k_of(sub) * ln_n < bic(best) or sub == ():
            cand = fit(sub)
            if (bic(cand), len(cand.include)) < (bic(best), len(best.include)):
                best = cand
    keep = tuple(t for i, t in enumerate(best.include) if best.x[i] > 0)
    best = fit(keep)
    tests = {}
    for t in sol.include:
        if t in keep:
            d_chi2 = fit(tuple(u for u in keep if u != t)).chi2 - best.chi2
        else:
            d_chi2 = best.chi2 - fit(tuple(sorted(keep + (t,)))).chi2
        tests[t] = (d_chi2, d_chi2 - n_free(prob, t) * ln_n)
    return best, tests


def upper_limit(prob: Problem, sol: Solution, column: np.ndarray, *, delta_chi2: float = 2.71) -> float:
    """One-sided 95 % upper limit on the amount of an excluded term (profile chi2, other shapes fixed).

    chi2(t) = min over the included amounts of |(y - t c - A x) / sigma|^2 is convex
    in t; the limit is the t > t_min where it exceeds its minimum by ``delta_chi2``
    (2.71: one-sided 95 %).
    """
    a = prob.design(sol.theta, sol.include)
    cw = column / prob.sigma

    def chi2_at(t: float) -> float:
        return prob.solve(a, prob.yw - t * cw)[1]

    x_all, chi2_min = prob.solve(np.column_stack([column, a]))
    t_lo = float(x_all[0])
    scale = 1.0 / max(float(np.sqrt(cw @ cw)), 1e-300)
    t_hi = t_lo + scale
    target = chi2_min + delta_chi2
    for _ in range(60):
        if chi2_at(t_hi) >= target:
            break
        t_hi = t_lo + 2 * (t_hi - t_lo)
    for _ in range(50):
        mid = 0.5 * (t_lo + t_hi)
        if chi2_at(mid) >= target:
            t_hi = mid
        else:
            t_lo = mid
        if t_hi - t_lo <= 1e-4 * t_hi:
            break
    return t_hi


def noise_scale(prob: Problem, sol: Solution, a: np.ndarray, n_par: int) -> float:
    """Covariance scale max(1, chi2_r (1 + 2 rho_1)), rho_1 >= 0 the residuals' lag-1 autocorrelation.

    (J^T J)^-1 assumes independent points.  Azimuthal integration with pixel splitting
    shares pixels between neighbouring bins: the shipped reduced curves scatter with
    0.88 of their stated variance and a lag-1 correlation of 0.14, so for smooth model
    parameters the noise is that of independent points with 0.88 (1 + 2 x 0.14) = 1.13
    times the stated variance, and chi2_r alone (0.88) would understate the
    uncertainties by 6 %.  Both factors are estimated from the fit's own residuals.
    """
    res = prob.yw - (a @ sol.x) / prob.sigma
    rho1 = float(res[:-1] @ res[1:]) / max(float(res @ res), 1e-300)
    dof = max(prob.q.size - n_par, 1)
    return max(1.0, sol.chi2 / dof * (1.0 + 2.0 * max(rho1, 0.0)))


def covariance(prob: Problem, sol: Solution) -> tuple[list[str], np.ndarray]:
    """Parameter names and covariance from the Jacobian at the solution.

    Free parameters: the non-zero amounts (terms and background columns) and the
    nonlinear parameters not at a bound.  cov = (J^T J)^-1 s, with J the weighted Jacobian
    (columns exactly for the amounts, central differences for theta) and s from
    :func:`noise_scale`.
    Amounts at their bound 0 are held fixed; a shape on its window edge is kept (one-sided
    derivative), so its trade-off with the amounts still widens their uncertainties.
    """
    a = prob.design(sol.theta, sol.include)
    names, cols = [], []
    for j in range(a.shape[1]):
        if sol.x[j] > 0:
            names.append(f"x{j}")
            cols.append(a[:, j] / prob.sigma)
    bounds = prob.bounds()
    for name in _free_names(prob, sol.include):
        lo, hi = bounds[name]
        v = sol.theta[name]
        h = 1e-4 * max(abs(v), 1e-3)
        hi_v, lo_v = min(v + h, hi), max(v - h, lo)  # one-sided at a bound
        if hi_v <= lo_v:
            continue
        up = prob.design({**sol.theta, name: hi_v}, sol.include) @ sol.x
        dn = prob.design({**sol.theta, name: lo_v}, sol.include) @ sol.x
        names.append(name)
        cols.append((up - dn) / (hi_v - lo_v) / prob.sigma)
    if not cols:
        return [], np.zeros((0, 0))
    jac = np.column_stack(cols)
    scale = np.sqrt((jac * jac).sum(axis=0))
    scale[scale == 0] = 1.0
    js = jac / scale
    cov = np.linalg.pinv(js.T @ js) / np.outer(scale, scale)
    cov *= noise_scale(prob, sol, a, len(names))
    return names, cov
