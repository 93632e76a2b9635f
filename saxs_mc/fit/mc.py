"""McSAS-style Monte Carlo fit of volume-weighted sphere size distributions.

Method (Pauw et al., J. Appl. Cryst. 2013, 46, 365; Bressler et al., J. Appl.
Cryst. 2015, 48, 962): ``n`` contributions, each carrying an equal share of the
scattering volume, with radii drawn uniformly or log-uniformly in the radius
range; model ``I(q) = s * sum_k V_k P(q, r_k) + b`` with ``s >= 0`` and the flat
background ``b`` solved by weighted linear least squares in closed form at every
step; one contribution at a time gets a new random radius and the move is kept
only if chi2 decreases.  Repetitions use independent seeded random streams.

Convergence is statistical.  For ``dof = n_q - n_params`` degrees of freedom the
reduced chi-square of a correct model scatters as ``1 +- sqrt(2 / dof)``.  By
default (``chi2_k=None``) a repetition runs until chi2 *stops improving*: it
stops when chi2 improved by less than ``stagnation_tol * sqrt(2 dof)`` (a
fraction of chi2's own statistical spread, i.e. an improvement no test could
distinguish from noise) over the last ``stagnation_window`` attempted moves
(default 50 x contributions).  This plateau counts as converged (reason
``"plateau"``) when chi2_r is statistically acceptable, chi2_r <= 1 + k_accept
sqrt(2 / dof) (``chi2_k_accept``, default 3: a correct model exceeds it with
probability ~0.1 %), and as NOT converged (reason ``"stagnated"``: spheres +
background do not describe the data, or the uncertainties are underestimated)
otherwise.  Reaching ``max_iterations`` is reported as NOT converged (reason
``"cap"``).  Non-converged repetitions raise a :class:`FitWarning` and are
flagged in the result; they are never silent.

Why not stop at a chi2 target (McSAS3 stops at chi2_r <= 1)?  Optionally,
``chi2_k = k`` stops a repetition as soon as ``chi2_r <= 1 + k sqrt(2 / dof)``
(reason ``"target"``), the McSAS discrepancy-principle stop.  But the Monte
Carlo starts from contributions spread at random over the whole radius range,
and stopping at the first statistically acceptable state leaves every random
contribution the data do not *force* away where it started.  Small spheres
(below pi/q of the informative q range) scatter almost flat there and trade off
against the flat background, so they survive the early stop and bias the
volume-weighted moments low.  Measured on the shipped ``nuc190C`` curve (true
r = 0.87 nm, phi = 2.0e-4; reduction sigma slightly conservative, the truth gives
chi2_r = 0.885): with ``chi2_k=1`` the whole-range mean radius was 0.83-0.84 nm,
about 30 % of the volume below 0.8 nm and b = -5.3e-4 1/cm; ``chi2_k=0`` still
gave 0.84-0.85 nm; running to the plateau gives 0.869 nm, phi 2.00e-4, < 1 %
below 0.8 nm and b ~ 0.  The plateau is cheap (~1e5 moves of ~1 us) and
averaging repetitions keeps the noise-fitting spikes of a fully converged MC in
check, as in McSAS.  Whatever the stop, the per-bin minimum visibility and the
per-range sub-visibility fractions (:mod:`saxs_mc.fit.statistics`) show which
parts of a distribution the data support.

Background: by default the flat background is constrained to b >= 0 (a bound
in the closed-form least squares, never a clamp afterwards).  A flat background
is incoherent/fluorescence/solvent scattering, which cannot be negative; after a
correct blank subtraction it is ~0 (solvent displaced by the particles leaves
-phi x I_solvent, ~3e-5 1/cm for nuc190C).  A free b is nearly degenerate with
the volume of small spheres (their V P(q) decays slowly over the q range), so
noise alone can trade a negative b for spurious small-radius volume: on the
nuc190C truth curve with 10 seeded noise realisations at the reduction's sigma,
a free b gave mean radii 0.868 +- 0.006 nm (worst 0.829 nm with another seed, b =
-3.4e-4 1/cm), b >= 0 gave 0.870 +- 0.002 nm (worst 0.867), also with a true
offset of -3e-5 1/cm.  ``background="flat"`` fits a free b (use it when the blank
is known to be over-subtracted; McSAS3 bounds b to +-mean(I)); the result
reports in how many repetitions b >= 0 is at its bound
(``FitResult.background_at_bound``).  ``background="none"`` fixes b = 0.  With
a power-law term the two bounded terms cannot be combined in this version and
the default background is the free ``"flat"`` one.

Radii are drawn on a fine grid (``radius_grid`` points, log- or linearly spaced
like the sampling): the per-contribution intensities ``V(r) P(q, r)`` are
tabulated once so each move costs O(n_q).  With 2048 log-spaced points over a
radius ratio of 100 the grid step is 0.22 % in radius.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from saxs_mc._rng import SeedLike, spawn_seeds
from saxs_mc.fit import _kernels as K
from saxs_mc.fit.result import FitResult
from saxs_mc.fit.statistics import (
    bin_centers,
    bin_edges,
    min_visibility,
    number_histogram,
    range_stats,
    sphere_volume_nm3,
    visible_bins,
    volume_histogram,
)
from saxs_mc.io.curves import Curve
from saxs_mc.models.sphere import contrast_to_cm2, sphere_form_factor

log = logging.getLogger(__name__)

#: fewest q points accepted for a fit
MIN_Q_POINTS = 10
#: stop reasons that count as converged
CONVERGED_REASONS = ("target", "plateau")
#: accepted values of ``background`` (True = "flat", False = "none")
BACKGROUND_MODES = ("flat", "nonnegative", "none")
#: McSAS recommends at least this many repetitions for meaningful uncertainties
RECOMMENDED_REPETITIONS = 10

_WARMUP_S: float | None = None


def warm_up() -> float:
    """Compile or load the numba kernels once per process; return the seconds it took (0 if done before).

    :func:`fit` calls it before starting its timer, so ``elapsed_s`` and
    ``time_per_iteration_s`` measure the Monte Carlo only; the load/compile time
    of the first call in a process is reported as ``FitResult.warmup_s``.
    """
    global _WARMUP_S
    if _WARMUP_S is not None:
        return 0.0
    t0 = time.perf_counter()
    q = np.linspace(0.5, 2.0, 8)
    table = intensity_table(q, np.array([1.0, 2.0]))
    w = np.ones(q.size)
    idx = np.zeros((1, 2), dtype=np.int64)
    fsum = np.zeros((1, q.size))
    info = np.zeros((1, K.N_INFO))
    K.mc_repetitions(table, w, w * table[0], float(np.sum(table[0] ** 2)), 2, np.array([1], dtype=np.uint64),
                     10, -1.0, 10, 0.0, True, 10_000, idx, fsum, info, np.zeros(q.size), False)
    _WARMUP_S = time.perf_counter() - t0
    return _WARMUP_S


def _entropy_seed() -> int:
    """A 63-bit seed from OS entropy (recorded so the run can be repeated)."""
    import secrets

    return secrets.randbits(63)


class FitWarning(UserWarning):
    """Warnings about inputs or results of the Monte Carlo fit."""


def _pair(value: Any, name: str, unit: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r}: give two numbers (min, max) in {unit}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or lo >= hi:
        raise ValueError(f"{name}=({lo}, {hi}): need 0 < min < max in {unit}; swap or fix the values")
    return lo, hi


def _positive_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r}: expected an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"{name}={value}: must be >= {minimum}")
    return int(value)


def radius_grid(r_min_nm: float, r_max_nm: float, n: int, sampling: str) -> np.ndarray:
    """The radius grid (nm) the contributions are drawn from, shape (n,)."""
    return np.geomspace(r_min_nm, r_max_nm, n) if sampling == "log" else np.linspace(r_min_nm, r_max_nm, n)


def intensity_table(q_nm: np.ndarray, radii_nm: np.ndarray) -> np.ndarray:
    """Per-contribution intensities V(r) P(q, r) with V in nm^3, C-contiguous (n_r, n_q)."""
    v = sphere_volume_nm3(radii_nm)
    return np.ascontiguousarray(v[:, None] * sphere_form_factor(q_nm, radii_nm), dtype=np.float64)


def fit(
    q: np.ndarray,
    intensity: np.ndarray,
    sigma: np.ndarray,
    *,
    q_range_nm: tuple[float, float] | None = None,
    r_range_nm: tuple[float, float] | None = None,
    contributions: int = 300,
    repetitions: int = 10,
    seed: SeedLike = None,
    contrast: float | None = None,
    intensity_unit: str = "arbitrary",
    n_bins: int = 40,
    bin_scale: str = "log",
    ranges_nm: Sequence[tuple[float, float]] | None = None,
    radius_sampling: str = "log",
    background: bool | str | None = None,
    power_law_exponent: float | None = None,
    chi2_k: float | None = None,
    chi2_k_accept: float = 3.0,
    max_iterations: int = 200_000,
    stagnation_window: int | None = None,
    stagnation_tol: float = 0.01,
    radius_grid_points: int = 2048,
    progress: bool = False,
    title: str = "",
) -> FitResult:
    """Monte Carlo (McSAS) fit of a volume-weighted sphere size distribution.

    Parameters
    ----------
    q : ndarray (n_q,)
        Scattering vector in 1/nm (> 0).
    intensity, sigma : ndarray (n_q,)
        Intensity and its one-sigma uncertainty (> 0, finite).
    q_range_nm : (float, float), optional
        Fit only q_min <= q <= q_max (1/nm).
    r_range_nm : (float, float), optional
        Radius range in nm; default pi/q_max .. pi/q_min of the fitted data.
    contributions : int
        Number of contributions per repetition (default 300).
    repetitions : int
        Independent repetitions (default 10).  Uncertainties (all ``*_std``) need
        at least 2; McSAS recommends >= 10.  ``repetitions=1`` gives std = 0 and a
        :class:`FitWarning`.
    seed : int, numpy.random.Generator or None
        Seed; each repetition gets its own stream from :func:`saxs_mc._rng.spawn_seeds`.
        None draws a 63-bit integer seed from OS entropy, uses it and records it
        (``FitResult.seed``, ``settings["seed_source"] = "os_entropy"``), so every
        run can be repeated from its output.  A Generator is recorded as
        ``seed=None`` with ``seed_source = "generator"``; ``repetition_seeds``
        reproduce each repetition in every case.
    contrast : float, optional
        SLD difference in 1e-6 A^-2.  With ``intensity_unit == "1/cm"`` volume
        fractions are absolute; with arbitrary units it is ignored with a
        :class:`FitWarning` (volume fractions are then relative).
    intensity_unit : {"arbitrary", "1/cm"}
    n_bins : int
        Histogram bins over the radius range.
    bin_scale : {"log", "linear"}
    ranges_nm : sequence of (float, float), optional
        Radius ranges (nm) for population statistics; the whole range is always first.
    radius_sampling : {"log", "linear"}
        Radii drawn log-uniformly or uniformly.
    background : None, bool or {"nonnegative", "flat", "none"}
        Flat background b.  None (default): ``"nonnegative"`` (b >= 0 as a bound
        in the least squares, see the module docstring), or ``"flat"`` when a
        power-law term is fitted.  ``True``/``"flat"``: free b (may be negative,
        e.g. for an over-subtracted blank).  ``"nonnegative"`` cannot be combined
        with ``power_law_exponent``.  ``False``/``"none"``: b = 0.
    power_law_exponent : float, optional
        Also fit a power-law term c (q / q_min)^-n with c >= 0 and this exponent n
        (e.g. 4 for Porod scattering of large aggregates); default: none.
    chi2_k : float or None
        None (default): no early stop, run each repetition to its chi2 plateau
        (see the module docstring for why).  A number k >= 0 stops a repetition
        as converged once chi2_r <= 1 + k sqrt(2 / dof) (McSAS-style; biased
        towards the random start for weakly constrained radii).
    chi2_k_accept : float
        A plateau counts as converged ("plateau") if
        chi2_r <= 1 + chi2_k_accept sqrt(2 / dof) (default 3).
    max_iterations : int
        Iteration cap per repetition (reaching it is reported as not converged).
    stagnation_window : int, optional
        Attempts without significant improvement before stopping as stagnated
        (default 50 * contributions).
    stagnation_tol : float
        Significant improvement = stagnation_tol * sqrt(2 dof) in chi2.
    radius_grid_points : int
        Size of the tabulated radius grid.
    progress : bool
        Show a tqdm progress bar over repetitions (callers such as the CLI
        should pass True only when stderr is a terminal).
    title : str
        Sample name for reports.

    Returns
    -------
    FitResult
    """
    q = np.asarray(q, dtype=float)
    i_obs = np.asarray(intensity, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    if q.ndim != 1 or i_obs.shape != q.shape or sig.shape != q.shape:
        raise ValueError(f"q, intensity and sigma must be 1D arrays of equal length; got shapes {q.shape}, {i_obs.shape}, {sig.shape}")
    if intensity_unit not in ("arbitrary", "1/cm"):
        raise ValueError(f"intensity_unit={intensity_unit!r}: use '1/cm' (absolute) or 'arbitrary'")
    for name, val, allowed in (("bin_scale", bin_scale, ("log", "linear")), ("radius_sampling", radius_sampling, ("log", "linear"))):
        if val not in allowed:
            raise ValueError(f"{name}={val!r}: use one of {allowed}")
    contributions = _positive_int(contributions, "contributions", 2)
    repetitions = _positive_int(repetitions, "repetitions", 1)
    n_bins = _positive_int(n_bins, "n_bins", 1)
    max_iterations = _positive_int(max_iterations, "max_iterations", 1)
    radius_grid_points = _positive_int(radius_grid_points, "radius_grid_points", 16)
    stagnation_window = _positive_int(stagnation_window if stagnation_window is not None else 50 * contributions,
                                      "stagnation_window", 1)
    if chi2_k is not None and (isinstance(chi2_k, bool) or not isinstance(chi2_k, (int, float))
                               or not math.isfinite(chi2_k) or chi2_k < 0):
        raise ValueError(f"chi2_k={chi2_k!r}: give None (run to the chi2 plateau) or a finite number >= 0 "
                         "(1 = stop at one standard deviation of chi2_r above 1)")
    if not (isinstance(chi2_k_accept, (int, float)) and math.isfinite(chi2_k_accept)
            and chi2_k_accept >= (chi2_k or 0.0)):
        raise ValueError(f"chi2_k_accept={chi2_k_accept!r}: must be a finite number >= chi2_k={chi2_k} (and >= 0)")
    if background is None:
        bg_mode = "flat" if power_law_exponent is not None else "nonnegative"
    elif background is True or background is False:
        bg_mode = "flat" if background else "none"
    elif isinstance(background, str) and background in BACKGROUND_MODES:
        bg_mode = background
    else:
        raise ValueError(f"background={background!r}: use None (default), 'nonnegative' (b >= 0), "
                         "True/'flat' (free b) or False/'none' (b = 0)")
    if not (isinstance(stagnation_tol, (int, float)) and math.isfinite(stagnation_tol) and stagnation_tol >= 0):
        raise ValueError(f"stagnation_tol={stagnation_tol!r}: must be a finite number >= 0")
    if power_law_exponent is not None and (isinstance(power_law_exponent, bool) or not isinstance(power_law_exponent, (int, float))
                                           or not math.isfinite(power_law_exponent) or power_law_exponent <= 0):
        raise ValueError(f"power_law_exponent={power_law_exponent!r}: give a finite exponent > 0 (e.g. 4 for Porod) or None")
    if bg_mode == "nonnegative" and power_law_exponent is not None:
        raise ValueError("background='nonnegative' cannot be combined with power_law_exponent: use background='flat' "
                         "(free b) with the power law, or drop the power law")
    warn_list: list[str] = []
    if seed is None:
        seed = _entropy_seed()
        seed_source = "os_entropy"
    elif isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        seed_source = "generator"
    else:
        seed_source = "user"

    def _warn(msg: str) -> None:
        warn_list.append(msg)
        log.warning("%s", msg)
        warnings.warn(msg, FitWarning, stacklevel=3)

    # --- q selection and data checks
    if not np.all(np.isfinite(q)):
        bad = np.flatnonzero(~np.isfinite(q))
        raise ValueError(f"q has {bad.size} non-finite value(s) (first at index {bad[0]}); remove those points")
    qr = _pair(q_range_nm, "q_range_nm", "1/nm")
    sel = np.ones(q.shape, bool) if qr is None else (q >= qr[0]) & (q <= qr[1])
    q, i_obs, sig = q[sel], i_obs[sel], sig[sel]
    if q.size < MIN_Q_POINTS:
        raise ValueError(
            f"only {q.size} q point(s) to fit{'' if qr is None else f' in q_range_nm={qr}'}; need at least "
            f"{MIN_Q_POINTS}: widen the q range or use finer binning"
        )
    if np.any(q <= 0):
        raise ValueError(f"q contains {int(np.sum(q <= 0))} value(s) <= 0 (min {q.min():.4g} 1/nm); set q_range_nm to exclude them")
    order = np.argsort(q, kind="stable")
    q, i_obs, sig = q[order], i_obs[order], sig[order]
    for name, arr in (("intensity", i_obs), ("sigma", sig)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise ValueError(
                f"{name} has {bad.size} NaN/inf value(s) in the fitted q range (first at q = {q[bad[0]]:.5g} 1/nm); "
                "drop them (Curve.finite()) or exclude them with q_range_nm"
            )
    bad = np.flatnonzero(sig <= 0)
    if bad.size:
        raise ValueError(
            f"sigma has {bad.size} value(s) <= 0 (first: sigma = {sig[bad[0]]:.4g} at q = {q[bad[0]]:.5g} 1/nm); "
            "the fit weights by 1/sigma^2: supply positive uncertainties (e.g. Poisson errors from reduction) or "
            "exclude those points with q_range_nm"
        )
    q_min, q_max = float(q[0]), float(q[-1])
    r_obs = (math.pi / q_max, math.pi / q_min)
    rr = _pair(r_range_nm, "r_range_nm", "nm") or r_obs
    if rr[1] <= r_obs[0] or rr[0] >= r_obs[1]:
        raise ValueError(
            f"r_range_nm=({rr[0]:.4g}, {rr[1]:.4g}) lies outside the radii observable with q = {q_min:.4g}-{q_max:.4g} 1/nm "
            f"(about pi/q_max - pi/q_min = {r_obs[0]:.4g}-{r_obs[1]:.4g} nm); choose radii inside it or measure another q range"
        )
    if rr[0] < 0.5 * r_obs[0] or rr[1] > 2.0 * r_obs[1]:
        _warn(
            f"r_range_nm=({rr[0]:.4g}, {rr[1]:.4g}) extends well beyond the observable {r_obs[0]:.4g}-{r_obs[1]:.4g} nm "
            "(pi/q_max - pi/q_min): contributions there are poorly constrained by the data"
        )
    # --- scale
    absolute = False
    if contrast is not None:
        if isinstance(contrast, bool) or not isinstance(contrast, (int, float, np.floating, np.integer)) or not math.isfinite(contrast) or contrast == 0:
            raise ValueError(f"contrast={contrast!r}: give the SLD difference in 1e-6 A^-2 as a finite non-zero number (e.g. 34.65 for CdSe in octadecene)")
        if intensity_unit != "1/cm":
            _warn(
                f"contrast={contrast} given but the intensity is on an arbitrary scale (intensity_unit={intensity_unit!r}): "
                "volume fractions are reported relative (sum 1); calibrate to 1/cm to get absolute volume fractions"
            )
        else:
            absolute = True
    ranges = [rr] + [_pair(r, "ranges_nm item", "nm") for r in (ranges_nm or [])]
    if repetitions < 2:
        _warn(
            f"repetitions={repetitions}: all uncertainties (*_std) are 0 with one repetition; use >= 2 "
            f"(McSAS recommends >= {RECOMMENDED_REPETITIONS}) for meaningful standard deviations"
        )

    # --- kernels
    seeds = spawn_seeds(seed, repetitions).astype(np.uint64)
    grid = radius_grid(rr[0], rr[1], radius_grid_points, radius_sampling)
    table = intensity_table(q, grid)
    w = 1.0 / sig**2
    wi = w * i_obs
    swii = float(np.sum(wi * i_obs))
    n_par = 1 + int(bg_mode != "none") + int(power_law_exponent is not None)
    # b >= 0 is the bounded extra term c >= 0 of the kernels with a constant basis (free b term off)
    fit_pl = power_law_exponent is not None or bg_mode == "nonnegative"
    if power_law_exponent is not None:
        p_basis = (q / q_min) ** (-float(power_law_exponent))
    else:
        p_basis = np.ones_like(q) if bg_mode == "nonnegative" else np.zeros_like(q)
    free_bg = bg_mode == "flat"
    dof = q.size - n_par
    chi2_r_target = 1.0 + chi2_k * math.sqrt(2.0 / dof) if chi2_k is not None else float("nan")
    chi2_r_accept = 1.0 + chi2_k_accept * math.sqrt(2.0 / dof)
    stag_delta = stagnation_tol * math.sqrt(2.0 * dof)
    idx = np.zeros((repetitions, contributions), dtype=np.int64)
    fsum = np.zeros((repetitions, q.size))
    info = np.zeros((repetitions, K.N_INFO))
    kargs = (table, w, wi, swii, contributions)
    # without a target, -1 can never be reached (chi2 >= 0): repetitions run to their plateau
    kopts = (max_iterations, chi2_r_target * dof if chi2_k is not None else -1.0, stagnation_window, stag_delta,
             free_bg, 10_000)
    warmup_s = warm_up()
    t0 = time.perf_counter()
    if progress:
        from tqdm.auto import tqdm

        import numba

        chunk = max(1, numba.get_num_threads())
        with tqdm(total=repetitions, desc="MC repetitions", unit="rep") as bar:
            for a in range(0, repetitions, chunk):
                b = min(a + chunk, repetitions)
                K.mc_repetitions(*kargs, seeds[a:b], *kopts, idx[a:b], fsum[a:b], info[a:b], p_basis, fit_pl)
                bar.update(b - a)
    else:
        K.mc_repetitions(*kargs, seeds, *kopts, idx, fsum, info, p_basis, fit_pl)
    elapsed = time.perf_counter() - t0

    # --- results
    scale = info[:, K.INFO_SCALE].copy()
    bg = info[:, K.INFO_BACKGROUND].copy()
    plc = info[:, K.INFO_POWERLAW].copy()
    if bg_mode == "nonnegative":  # the bounded constant term is the background
        bg, plc = plc, np.zeros_like(plc)
    chi2_r = info[:, K.INFO_CHI2] / dof
    codes = info[:, K.INFO_REASON].astype(int)
    reasons = tuple(
        "target" if c == K.STOP_CHI2 else "cap" if c == K.STOP_CAP else ("plateau" if x2 <= chi2_r_accept else "stagnated")
        for c, x2 in zip(codes, chi2_r)
    )
    radii = grid[idx]
    model = scale[:, None] * fsum + bg[:, None] + plc[:, None] * p_basis[None, :]
    if absolute:
        g = contrast_to_cm2(float(contrast)) ** 2 * 1e-21  # intensity per (volume fraction * nm^3)
        phi_k = scale / g
        g_rep = np.full(repetitions, g)
    else:
        phi_k = np.full(repetitions, 1.0 / contributions)
        g_rep = scale * contributions
    edges = bin_edges(rr[0], rr[1], n_bins, bin_scale)
    vh = volume_histogram(radii, phi_k, edges)
    nh = number_histogram(radii, edges)
    minvis = min_visibility(q, sig, bin_centers(edges, bin_scale), g_rep)
    visible = visible_bins(vh.mean(axis=0), minvis)
    stats = tuple(range_stats(radii, phi_k, lo, hi, edges=edges, visible=visible) for lo, hi in ranges)
    stats_vis = tuple(range_stats(radii, phi_k, lo, hi, edges=edges, visible=visible, visible_only=True)
                      for lo, hi in ranges)
    ddof = 1 if repetitions > 1 else 0
    n_bad = sum(r not in CONVERGED_REASONS for r in reasons)
    if n_bad:
        worst = ", ".join(f"#{i}: {r} (chi2_r {chi2_r[i]:.3f})" for i, r in enumerate(reasons) if r not in CONVERGED_REASONS)
        _warn(
            f"{n_bad}/{repetitions} repetition(s) did not converge ("
            + ("stop rule: chi2 plateau" if chi2_k is None else f"target chi2_r <= {chi2_r_target:.4f}")
            + f", acceptable plateau <= {chi2_r_accept:.4f}): {worst}. "
            "Check the uncertainties, the q/r ranges and whether spheres + flat background describe the data; "
            "raise max_iterations if the cap was reached"
        )
    if np.any(scale <= 0):
        _warn("the fitted scale s is 0 in some repetitions: the data show no size-dependent scattering in this range")
    from saxs_mc.provenance import package_versions

    settings = {
        "q_range_nm": list(qr) if qr else None, "q_fitted_nm": [q_min, q_max], "n_q": int(q.size),
        "r_range_nm": list(rr), "contributions": contributions, "repetitions": repetitions,
        "radius_sampling": radius_sampling, "radius_grid_points": radius_grid_points,
        "n_bins": n_bins, "bin_scale": bin_scale, "ranges_nm": [list(r) for r in ranges],
        "background": bg_mode, "power_law_exponent": power_law_exponent, "contrast_1e6_A2": contrast, "intensity_unit": intensity_unit,
        "chi2_k": chi2_k, "chi2_r_target": chi2_r_target if chi2_k is not None else None,
        "stop_rule": "plateau" if chi2_k is None else "target_or_plateau", "chi2_k_accept": chi2_k_accept,
        "chi2_r_accept": chi2_r_accept, "dof": dof, "max_iterations": max_iterations,
        "stagnation_window": stagnation_window, "stagnation_tol": stagnation_tol,
        "stagnation_delta_chi2": stag_delta,
        "seed": int(seed) if seed_source != "generator" else None, "seed_source": seed_source,
    }
    return FitResult(
        q_nm=q, intensity=i_obs, sigma=sig, intensity_unit=intensity_unit, absolute=absolute,
        contrast_1e6_A2=float(contrast) if contrast is not None else None,
        bin_edges_nm=edges, bin_scale=bin_scale,
        volume_fraction=vh.mean(axis=0), volume_fraction_std=vh.std(axis=0, ddof=ddof),
        number_fraction=nh.mean(axis=0), number_fraction_std=nh.std(axis=0, ddof=ddof),
        min_visibility=minvis, ranges=stats, ranges_visible=stats_vis,
        model_mean=model.mean(axis=0), model_std=model.std(axis=0, ddof=ddof),
        radii_nm=radii, phi_per_contribution=phi_k, scale=scale, background=bg, power_law_coefficient=plc,
        background_at_bound=int(np.sum(bg <= 0.0)) if bg_mode == "nonnegative" else 0,
        chi2_r=chi2_r, chi2_r_target=chi2_r_target, chi2_r_accept=chi2_r_accept,
        iterations=info[:, K.INFO_ITERATIONS].astype(np.int64), accepted=info[:, K.INFO_ACCEPTED].astype(np.int64),
        stop_reason=reasons, seed=int(seed) if seed_source != "generator" else None,
        repetition_seeds=seeds, settings=settings, warnings=tuple(warn_list), versions=package_versions(),
        elapsed_s=elapsed, warmup_s=warmup_s, title=title,
    )


def fit_curve(curve: Curve, **kwargs: Any) -> FitResult:
    """:func:`fit` applied to a :class:`~saxs_mc.io.curves.Curve` (its unit and title are used)."""
    if not isinstance(curve, Curve):
        raise TypeError(f"curve must be a saxs_mc.io.curves.Curve, got {type(curve).__name__}; use fit(q, I, sigma) for arrays")
    kwargs.setdefault("intensity_unit", curve.intensity_unit)
    kwargs.setdefault("title", curve.title)
    return fit(curve.q, curve.intensity, curve.sigma, **kwargs)
