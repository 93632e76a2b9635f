"""Family decomposition of a blank-subtracted SAXS curve.

Model (absolute units, REFERENCE: sphere scattering)::

    I(q) = sum_k phi_k C_k(q; r_k) + phi_c L(q; median, s) + b + c (q / q_min)^-n

- C_k: a discrete family, spheres with Gaussian volume-weighted radii (mean r_k
  refined inside its window, standard deviation fixed), per unit volume fraction
  (1/cm with the contrast given);
- L: the optional continuous population, a volume-weighted log-normal;
- b >= 0: a flat background (or free, or none); c >= 0: an optional power law.

The amounts (phi, b, c) come from non-negative least squares
(:func:`scipy.optimize.nnls`) at fixed shapes; lmfit varies the shapes on the
residual of that inner solution (variable projection).

Model selection (which terms are present) is the subset of terms with the lowest
Schwarz criterion BIC = chi2 + k ln n over all subsets (each refitted; k counts
the amounts, refined radii and the log-normal's median and sigma); with more than
five terms, backward elimination by the same criterion.  All subsets, not greedy
elimination: a narrow log-normal and two or three neighbouring families describe
nearly the same curve, and the greedy order then decided the answer (three
families at phi 5e-4 fitted with the log-normal: families wrongly dropped in 15-28 %
of seeds, benchmarks/families.py).  A term not selected is reported **absent**,
fraction 0, with a one-sided 95 % upper limit from the profile chi2
(Delta chi2 = 2.71, other shapes held).

Uncertainties: the covariance (J^T J)^-1 of the weighted Jacobian over the free
amounts and shapes, scaled by max(1, chi2_r (1 + 2 rho_1)) with rho_1 >= 0 the
residuals' lag-1 autocorrelation (pixel splitting in the azimuthal integration
correlates neighbouring bins: 0.14 on the shipped curves); shares (phi_k over the
resolved total) by linear error propagation.  ``tests/families`` checks them
against noise resampling and their coverage over seeds.

Limits (``benchmarks/families.py --bounds``): at the noise of the shipped series
the Cramer-Rao bound on the middle share of three families 0.07-0.08 nm apart
(0.87/0.94/1.02 nm, 25:45:30, phi 5e-4) is 0.079: no unbiased method recovers it
within +-0.05 in more than half the cases; that needs phi >= 1.4e-3, or 20 + 20
sample and blank frames instead of 3 + 3.

Radii: by default each family's radius is fixed at its configured value (the
families are discrete, known sizes).  A refinement window (``Family.window_nm``,
CLI ``NAME:R:SD:HALF``) frees it; for families 0.07-0.08 nm apart at the noise of
the shipped series the radii then trade off strongly against the shares (the
stated uncertainties grow accordingly, about tenfold for +-0.02 nm windows).

Resolution: the resolved/unresolved split is the one of the Monte Carlo fit
(issue 15), :func:`saxs_mc.fit.resolvable_radius`, applied to the particle
scattering of a first NNLS pass at the nominal shapes: the informative q range
ends where that scattering falls below ``resolve_n_sigma`` (3) sigma, and a
sphere is resolved when its form factor drops below ``resolve_p_flat`` (1/2) of
its forward value inside it.  Families whose radius is below that radius are not
fitted and are reported **unresolved**, not counted in any total or share; the
continuous population's median is bounded below by it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from saxs_mc.families import _basis, _fit
from saxs_mc.families.result import FamilyResult, TermFraction
from saxs_mc.families.spec import BACKGROUNDS, CDSE_MSC_FAMILIES, SELECTIONS, Continuous, Family, check_families
from saxs_mc.fit.resolution import INFORMATIVE_N_SIGMA, P_FLAT, resolvable_radius
from saxs_mc.io.curves import Curve
from saxs_mc.models.sphere import contrast_to_cm2

log = logging.getLogger(__name__)

#: reduced chi-square above which the fit is flagged as poor
POOR_FIT_CHI2_R = 2.0


def decompose(
    curve: Curve,
    families: Sequence[Family] | None = None,
    *,
    continuous: bool | Continuous = False,
    background: str = "nonnegative",
    power_law_exponent: float | None = None,
    q_range_nm: tuple[float, float] | None = None,
    contrast_1e6_A2: float | None = None,
    selection: str = "bic",
    resolve_n_sigma: float = INFORMATIVE_N_SIGMA,
    resolve_p_flat: float = P_FLAT,
    max_nfev: int = 300,
) -> FamilyResult:
    """Fit a curve as a sum of discrete families (+ a log-normal population) and a background.

    Parameters
    ----------
    curve : Curve
        Blank-subtracted curve, q in 1/nm, finite sigma > 0.
    families : sequence of Family, optional
        The discrete families (default: the CdSe magic-size families r = 0.87 / 0.94 /
        1.02 nm, :data:`saxs_mc.families.spec.CDSE_MSC_FAMILIES`).  Windows must not overlap.
    continuous : bool or Continuous
        Also fit one continuous log-normal population (True: default bounds).
    background : {"nonnegative", "free", "none"}
        Flat background b >= 0 (default), b free (over-subtracted blank), or none.
    power_law_exponent : float, optional
        Also fit c (q / q_min)^-n, c >= 0.
    q_range_nm : (float, float), optional
        Fit range in 1/nm.
    contrast_1e6_A2 : float, optional
        SLD difference; with I in 1/cm the volume fractions are absolute.
    selection : {"bic", "none"}
        The subset of terms with the lowest BIC (default), or keep every resolved term.
    resolve_n_sigma, resolve_p_flat : float
        The resolvable-radius criterion shared with the Monte Carlo fit
        (:func:`saxs_mc.fit.resolvable_radius`: informative where the particle scattering
        reaches ``n_sigma`` sigma; resolved where P(q, r) falls below ``p_flat``).
    max_nfev : int
        Cap on residual evaluations per nonlinear fit.

    Returns
    -------
    FamilyResult

    Examples
    --------
    >>> res = decompose(curve, contrast_1e6_A2=34.65)            # doctest: +SKIP
    >>> res.term("CdSe-437").share, res.term("CdSe-437").share_std  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    fams = check_families(CDSE_MSC_FAMILIES if families is None else families)
    cont = _check_settings(
        curve, continuous, background, power_law_exponent, contrast_1e6_A2, selection, resolve_n_sigma, resolve_p_flat
    )
    data = _select_data(curve, q_range_nm)
    absolute = contrast_1e6_A2 is not None and curve.intensity_unit == "1/cm"
    drho2 = contrast_to_cm2(contrast_1e6_A2 if contrast_1e6_A2 is not None else 1.0) ** 2
    r_res, cont_start = _resolvable(
        data, fams, cont, drho2, background, power_law_exponent, resolve_n_sigma, resolve_p_flat
    )
    resolved = tuple(f for f in fams if f.radius_nm >= r_res)
    cont_fit = _resolved_continuous(cont, r_res)
    prob = _fit.Problem(data.q, data.intensity, data.sigma, drho2, resolved, cont_fit, background, power_law_exponent)
    sol, tests = _fit_and_select(prob, selection, max_nfev, cont_start)
    names, cov = _fit.covariance(prob, sol)
    terms, total, total_sd = _assemble_terms(prob, sol, tests, names, cov, fams, cont, r_res, absolute)
    warnings = _warnings(prob, sol, terms, fams, r_res)
    for w in warnings:
        log.warning("%s: %s", curve.title or "curve", w)
    return _make_result(
        curve,
        data,
        prob,
        sol,
        names,
        cov,
        terms,
        total,
        total_sd,
        r_res,
        absolute,
        contrast_1e6_A2,
        warnings,
        time.perf_counter() - t0,
        _settings(
            fams,
            cont,
            background,
            power_law_exponent,
            q_range_nm,
            contrast_1e6_A2,
            selection,
            resolve_n_sigma,
            resolve_p_flat,
        ),
    )


# ----------------------------------------------------------------------
def _check_settings(curve, continuous, background, power_law_exponent, contrast, selection, n_sigma, p_flat):
    """The continuous population to fit (None without one); every bad setting reported at once (ValueError)."""
    if not isinstance(curve, Curve):
        raise TypeError(
            f"curve must be a saxs_mc.io.curves.Curve (read one with read_curve), got {type(curve).__name__}"
        )
    problems = _setting_problems(continuous, background, power_law_exponent, contrast, selection, n_sigma, p_flat)
    if problems:
        raise ValueError(f"decompose({curve.title or 'curve'!r}): " + "; ".join(problems))
    if continuous is True:
        return Continuous()
    return continuous or None


def _finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _setting_problems(continuous, background, power_law_exponent, contrast, selection, n_sigma, p_flat) -> list[str]:
    """One message (value and fix) per bad setting of :func:`decompose`, in the order of its signature."""
    checks = (
        (background in BACKGROUNDS, f"background={background!r}: use one of {BACKGROUNDS}"),
        (selection in SELECTIONS, f"selection={selection!r}: use one of {SELECTIONS}"),
        (
            power_law_exponent is None or (_finite_number(power_law_exponent) and power_law_exponent > 0),
            f"power_law_exponent={power_law_exponent!r}: give a finite exponent > 0 (e.g. 4) or None",
        ),
        (
            contrast is None or (_finite_number(contrast) and contrast != 0),
            f"contrast_1e6_A2={contrast!r}: give a finite non-zero SLD difference in 1e-6 A^-2 (CdSe/octadecene 34.65)",
        ),
        (
            isinstance(n_sigma, (int, float)) and n_sigma > 0,
            f"resolve_n_sigma={n_sigma!r} must be > 0 (default {INFORMATIVE_N_SIGMA:g})",
        ),
        (
            isinstance(p_flat, (int, float)) and 0 < p_flat < 1,
            f"resolve_p_flat={p_flat!r} must be in (0, 1) (default {P_FLAT:g})",
        ),
        (
            isinstance(continuous, (bool, Continuous)),
            f"continuous={continuous!r}: give True/False or a Continuous(...)",
        ),
    )
    return [msg for ok, msg in checks if not ok]


def _select_data(curve: Curve, q_range_nm) -> Curve:
    c = curve
    if q_range_nm is not None:
        if len(q_range_nm) != 2:
            raise ValueError(f"q_range_nm={q_range_nm!r}: give (q_min, q_max) in 1/nm")
        c = c.q_range(float(q_range_nm[0]), float(q_range_nm[1]))
    bad = ~(np.isfinite(c.q) & np.isfinite(c.intensity) & np.isfinite(c.sigma) & (c.sigma > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"curve {curve.title!r}: {int(bad.sum())} point(s) with non-finite q/I or sigma <= 0 "
            f"(first at q={c.q[k]:.4g} 1/nm: I={c.intensity[k]!r}, sigma={c.sigma[k]!r}); "
            "drop them (Curve.finite()) or give uncertainties"
        )
    if c.n_q < 10:
        raise ValueError(f"curve {curve.title!r}: only {c.n_q} points in the fit range; need at least 10")
    return c


def _resolvable(data, fams, cont, drho2, background, power_law_exponent, n_sigma, p_flat) -> tuple[float, dict]:
    """Resolvable radius (:func:`saxs_mc.fit.resolvable_radius`) of a first NNLS pass at the nominal shapes.

    The particle scattering is that pass's model without its background and power-law
    columns.  When the pass finds no particles, it is the whole low-q intensity carried by
    spheres of the largest family radius.  Also returns the log-normal's start (``median``,
    ``width``) found by that pass (empty without a continuous population).
    """
    prob = _fit.Problem(data.q, data.intensity, data.sigma, drho2, fams, cont, background, power_law_exponent)
    theta = {f"r{i}": f.radius_nm for i, f in enumerate(fams)}
    include = tuple(range(prob.n_terms))
    if cont is not None:
        theta = _fit.continuous_start(prob, include, theta)
    a = prob.design(theta, include)
    x, _ = prob.solve(a)
    n = len(include)
    particle = a[:, :n] @ x[:n]
    if not float(x[:n].sum()) > 0:
        r_big = max((f.radius_nm for f in fams), default=1.0)
        level = max(float(np.median(data.intensity[:5])), 5.0 * float(np.median(data.sigma[:5])))
        particle = level * _basis.sphere_form_factor(data.q, np.array([r_big]))[0]
    r_res = resolvable_radius(data.q, data.sigma, particle, n_sigma=n_sigma, p_flat=p_flat)
    return r_res, {k: theta[k] for k in ("median", "width") if k in theta}


def _resolved_continuous(cont: Continuous | None, r_res: float) -> Continuous | None:
    if cont is None or cont.median_nm[1] <= r_res:
        return None
    return Continuous((max(cont.median_nm[0], r_res), cont.median_nm[1]), cont.sigma)


def _fit_and_select(prob: _fit.Problem, selection: str, max_nfev: int, cont_start: dict[str, float]):
    theta = {f"r{i}": f.radius_nm for i, f in enumerate(prob.families)}
    include = tuple(range(prob.n_terms))
    if prob.continuous is not None:
        lo, hi = prob.continuous.median_nm
        if cont_start and lo <= cont_start["median"] <= hi:
            theta.update(cont_start)
        else:
            theta = _fit.continuous_start(prob, include, theta)
    sol = _fit.fit_terms(prob, include, theta, max_nfev=max_nfev)
    if selection == "bic":
        return _fit.select_bic_subsets(prob, sol, max_nfev=max_nfev)
    return sol, {}


def _share_stats(x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Shares x_i / sum x with 1-sigma by linear propagation of ``cov`` (amounts' covariance)."""
    tot = float(x.sum())
    if tot <= 0:
        return np.zeros_like(x), np.full_like(x, np.nan), 0.0, float("nan")
    share = x / tot
    g = (np.eye(x.size) - share[:, None]) / tot  # d share_i / d x_j = (delta_ij - s_i) / T
    var = np.einsum("ij,jk,ik->i", g, cov, g)
    tot_sd = float(np.sqrt(max(cov.sum(), 0.0)))
    return share, np.sqrt(np.clip(var, 0, None)), tot, tot_sd


def _assemble_terms(prob, sol, tests, names, cov, fams, cont, r_res, absolute):
    """TermFraction per configured term (present / absent / unresolved), the resolved total and its std."""
    idx = {n: i for i, n in enumerate(names)}
    n_inc = len(sol.include)
    x = np.asarray(sol.x[:n_inc], dtype=float)
    sub = np.zeros((n_inc, n_inc))  # covariance of the included terms' amounts (0 for amounts held at 0)
    have = [k for k in range(n_inc) if f"x{k}" in idx]
    rows = [idx[f"x{k}"] for k in have]
    sub[np.ix_(have, have)] = cov[np.ix_(rows, rows)]
    share, share_sd, tot, tot_sd = _share_stats(x, sub)

    def sd_of(name):
        return math.sqrt(max(cov[idx[name], idx[name]], 0.0)) if name in idx else float("nan")

    out = []
    for f in fams:
        t = next((i for i, g in enumerate(prob.families) if g is f), None)
        out.append(_family_term(prob, sol, tests, f, t, share, share_sd, x, tot, sd_of, absolute))
    if cont is not None:
        out.append(_continuous_term(prob, sol, tests, cont, share, share_sd, x, tot, sd_of, cov, idx, absolute))
    return tuple(out), (tot if absolute else None), (tot_sd if absolute else None)


def _family_term(prob, sol, tests, f, t, share, share_sd, x, tot, sd_of, absolute) -> TermFraction:
    nan = float("nan")
    common = dict(
        name=f.name, kind="family", sd_nm=f.sd_nm, sd_std=nan, window_nm=f.window_nm, absorption_nm=f.absorption_nm
    )
    if t is None:
        return TermFraction(
            status="unresolved",
            radius_nm=f.radius_nm,
            radius_std_nm=nan,
            at_bound=False,
            volume_fraction=None,
            volume_fraction_std=None,
            volume_fraction_upper=None,
            share=nan,
            share_std=nan,
            share_upper=nan,
            delta_chi2=nan,
            delta_bic=nan,
            **common,
        )
    d_chi2, d_bic = tests.get(t, (nan, nan))
    if t in sol.include:
        k = sol.include.index(t)
        r = sol.theta[f"r{t}"]
        lo, hi = f.window_nm
        at_bound = f.refined and (r - lo < 1e-4 * (hi - lo) or hi - r < 1e-4 * (hi - lo))
        return TermFraction(
            status="present",
            radius_nm=r,
            radius_std_nm=sd_of(f"r{t}"),
            at_bound=bool(at_bound),
            volume_fraction=float(x[k]) if absolute else None,
            volume_fraction_std=sd_of(f"x{k}") if absolute else None,
            volume_fraction_upper=None,
            share=float(share[k]),
            share_std=float(share_sd[k]),
            share_upper=nan,
            delta_chi2=d_chi2,
            delta_bic=d_bic,
            **common,
        )
    col = _basis.family_column(prob.q, f.radius_nm, f.sd_nm, prob.drho2)
    ul = _fit.upper_limit(prob, sol, col)
    return TermFraction(
        status="absent",
        radius_nm=f.radius_nm,
        radius_std_nm=nan,
        at_bound=False,
        volume_fraction=0.0 if absolute else None,
        volume_fraction_std=None,
        volume_fraction_upper=ul if absolute else None,
        share=0.0,
        share_std=nan,
        share_upper=ul / (tot + ul) if tot + ul > 0 else nan,
        delta_chi2=d_chi2,
        delta_bic=d_bic,
        **common,
    )


def _continuous_term(prob, sol, tests, cont, share, share_sd, x, tot, sd_of, cov, idx, absolute) -> TermFraction:
    nan = float("nan")
    t = len(prob.families)
    if prob.continuous is None:
        return TermFraction(
            "continuous",
            "continuous",
            "unresolved",
            nan,
            nan,
            nan,
            nan,
            cont.median_nm,
            False,
            None,
            None,
            None,
            nan,
            nan,
            nan,
            nan,
            nan,
        )
    med, s = sol.theta["median"], sol.theta["width"]
    mean = _basis.lognormal_mean_nm(med, s)
    d_chi2, d_bic = tests.get(t, (nan, nan))
    if t not in sol.include:
        ul = _fit.upper_limit(prob, sol, prob.lognormal(med, s))
        return TermFraction(
            "continuous",
            "continuous",
            "absent",
            mean,
            nan,
            s,
            nan,
            cont.median_nm,
            False,
            0.0 if absolute else None,
            None,
            ul if absolute else None,
            0.0,
            nan,
            ul / (tot + ul) if tot + ul > 0 else nan,
            d_chi2,
            d_bic,
        )
    k = sol.include.index(t)
    g = np.array([math.exp(0.5 * s * s), med * s * math.exp(0.5 * s * s)])
    mean_sd = nan
    if "median" in idx and "width" in idx:
        c2 = cov[np.ix_([idx["median"], idx["width"]], [idx["median"], idx["width"]])]
        mean_sd = float(math.sqrt(max(g @ c2 @ g, 0.0)))
    (mlo, mhi), (slo, shi) = prob.continuous.median_nm, prob.continuous.sigma
    at_bound = any(abs(v - b) < 1e-4 * (hi - lo) for v, lo, hi in ((med, mlo, mhi), (s, slo, shi)) for b in (lo, hi))
    return TermFraction(
        "continuous",
        "continuous",
        "present",
        mean,
        mean_sd,
        s,
        sd_of("width"),
        cont.median_nm,
        bool(at_bound),
        float(x[k]) if absolute else None,
        sd_of(f"x{k}") if absolute else None,
        None,
        float(share[k]),
        float(share_sd[k]),
        nan,
        d_chi2,
        d_bic,
    )


def _warnings(prob, sol, terms, fams, r_res) -> tuple[str, ...]:
    out = []
    dof = max(prob.q.size - len(sol.x), 1)
    if sol.chi2 / dof > POOR_FIT_CHI2_R:
        out.append(
            f"poor fit: chi2_r = {sol.chi2 / dof:.2f} > {POOR_FIT_CHI2_R:g}; the families may not describe the "
            "curve (another population, a structure factor, a bad blank subtraction?): compare with the Monte "
            "Carlo distribution"
        )
    unres = [t.name for t in terms if t.status == "unresolved"]
    if unres:
        out.append(
            f"{', '.join(unres)} below the resolvable radius {r_res:.3f} nm for this q range and noise: "
            "reported unresolved, not counted (extend the q range to higher q to resolve them)"
        )
    for t in terms:
        if t.status == "absent" and t.share_upper > 0.5:
            out.append(
                f"{t.name} is absent by the model selection but cannot be excluded (share up to "
                f"{t.share_upper:.2f}): the data do not separate it from the other populations (q range, noise)"
            )
        if t.at_bound:
            out.append(
                f"{t.name}: refined shape ended on its bound (radius {t.radius_nm:.4f} nm, window "
                f"{t.window_nm[0]:g}-{t.window_nm[1]:g}); the family may sit elsewhere: widen the window or "
                "add a family"
            )
    return tuple(out)


def _settings(fams, cont, background, power_law_exponent, q_range_nm, contrast, selection, n_sigma, p_flat):
    return {
        "families": [f.to_dict() for f in fams],
        "continuous": cont.to_dict() if cont else None,
        "background": background,
        "power_law_exponent": power_law_exponent,
        "q_range_nm": list(q_range_nm) if q_range_nm is not None else None,
        "contrast_1e6_A2": contrast,
        "selection": selection,
        "selection_rule": "lowest BIC = chi2 + k ln n over all subsets of terms"
        if selection == "bic"
        else "none (every resolved term kept)",
        "resolve_n_sigma": n_sigma,
        "resolve_p_flat": p_flat,
        "resolvable_radius_rule": "saxs_mc.fit.resolvable_radius (shared with the Monte Carlo fit)",
        "upper_limit": "one-sided 95 %, profile chi2 + 2.71 at the nominal shape",
    }


_VERSIONS: dict[str, str] = {}


def _versions() -> dict[str, str]:
    """Package versions, looked up once per process (importlib.metadata is slow)."""
    if not _VERSIONS:
        from saxs_mc.provenance import package_versions

        _VERSIONS.update(package_versions())
    return dict(_VERSIONS)


def _make_result(
    curve, data, prob, sol, names, cov, terms, total, total_sd, r_res, absolute, contrast, warnings, elapsed, settings
) -> FamilyResult:
    a = prob.design(sol.theta, sol.include)
    comps, comp_names = [], []
    for k, t in enumerate(sol.include):
        comps.append(a[:, k] * sol.x[k])
        comp_names.append(prob.families[t].name if t < len(prob.families) else "continuous")
    n_inc = len(sol.include)
    extra_names = {"nonnegative": ["background"], "free": ["background", "background (negative)"], "none": []}[
        prob.background
    ] + (["power law"] if prob.power_law_exponent is not None else [])
    for j, nm in enumerate(extra_names):
        comps.append(a[:, n_inc + j] * sol.x[n_inc + j])
        comp_names.append(nm)
    bg, bg_sd = _background(prob, sol, names, cov)
    pl = float(sol.x[-1]) if prob.power_law_exponent is not None else 0.0
    n_free = len(names)
    return FamilyResult(
        title=curve.title,
        q_nm=data.q,
        intensity=data.intensity,
        sigma=data.sigma,
        model=a @ sol.x,
        components=np.array(comps) if comps else np.zeros((0, data.n_q)),
        component_names=tuple(comp_names),
        terms=terms,
        background=bg,
        background_std=bg_sd,
        power_law_coefficient=pl,
        chi2=sol.chi2,
        chi2_r=sol.chi2 / max(data.n_q - n_free, 1),
        n_free=n_free,
        resolvable_radius_nm=r_res,
        total_volume_fraction=total,
        total_volume_fraction_std=total_sd,
        absolute=absolute,
        contrast_1e6_A2=contrast,
        intensity_unit=curve.intensity_unit,
        settings=settings,
        warnings=warnings,
        versions=_versions(),
        elapsed_s=elapsed,
    )


def _background(prob, sol, names, cov) -> tuple[float, float]:
    n_inc = len(sol.include)
    if prob.background == "none":
        return 0.0, float("nan")
    b = float(sol.x[n_inc]) - (float(sol.x[n_inc + 1]) if prob.background == "free" else 0.0)
    idx = {n: i for i, n in enumerate(names)}
    keys = [idx[f"x{n_inc + j}"] for j in range(2 if prob.background == "free" else 1) if f"x{n_inc + j}" in idx]
    sd = float(math.sqrt(max(cov[np.ix_(keys, keys)].sum(), 0.0))) if keys else float("nan")
    return b, sd
