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
the default background is the free ``"flat"`` one.  The background has its own
name throughout (``_Background``: free, or bounded as ``offset + c``); the
kernels' second bounded slot is shared by the power law and the bounded
background, and :func:`_terms` hands each result back under its own name.

Resolved and unresolved volume (issue 15; criterion in :mod:`saxs_mc.fit.resolution`):
why does the MC put volume below the informative range?  A sphere much smaller
than 1/q_max scatters almost flat over the fitted q, so, together with the flat
background b and small changes of the larger spheres' tails, it can take over
part of b at no cost in chi2.  The Monte Carlo never removes a contribution the
data do not force out, and the smallest radius of the range is the most
flat-like, so such volume piles up at the lower end of the radius range.
Measured on seeded curves (``benchmarks/fit_resolved_grid.py``: single and
two-family MSC mixtures and a log-normal population, 1 % noise, q 0.2-5 1/nm): with
no residual background nothing piles up (b >= 0 sits at its bound); with a
residual flat background of 1-3x the particle intensity at q_max and the radius
range starting at pi/(2 q_max), 10-17 % of the true volume piled up at
0.31-0.35 nm and the mean radius of a log-normal population came out 10 % low
(the same range from pi/q_max or 0.75 pi/q_max: < 3 %).  A free background
makes the trade-off easier (it is two-sided).  The fix is not to tune the
sampling but to say what the data resolve: contributions below the resolvable
radius ``r_res`` (form factor still above 1/2 at the highest q where the
particle scattering is 3 sigma above the noise) are reported apart as
unresolved and excluded from ``FitResult.ranges`` and
``FitResult.total_volume_fraction``; a radius range reaching below ``r_res``
gets a :class:`FitWarning` naming it.  After the split every combination of
the grid recovers the resolved volume fraction within 10 % and the mean radius
within 3 % in >= 90 % of the seeds.  With ``background="none"`` and a real flat
rest the model cannot fit (flagged: not converged); the split does not hide
that.  ``background_bounds`` (e.g. from the subtracted blank,
:func:`saxs_mc.fit.resolution.blank_background_bounds`) bound b from both
sides: b = b_min + c with 0 <= c <= b_max - b_min in the kernels.

Radii are drawn on a fine grid (``radius_grid`` points, log- or linearly spaced
like the sampling): the per-contribution intensities ``V(r) P(q, r)`` are
tabulated once so each move costs O(n_q).  With 2048 log-spaced points over a
radius ratio of 100 the grid step is 0.22 % in radius.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, cast

import numba
import numpy as np

from saxs_mc._progress import progress as _progress
from saxs_mc._rng import SeedLike, spawn_seeds
from saxs_mc.fit import _kernels as K
from saxs_mc.fit.resolution import INFORMATIVE_N_SIGMA, P_FLAT, informative_q_max, resolvable_radius
from saxs_mc.fit.result import FitResult
from saxs_mc.fit.statistics import (
    RangeStats,
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

    :func:`fit_arrays` calls it before starting its timer, so ``elapsed_s`` and
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
    K.mc_repetitions(
        table,
        w,
        w * table[0],
        float(np.sum(table[0] ** 2)),
        2,
        np.array([1], dtype=np.uint64),
        10,
        -1.0,
        10,
        0.0,
        True,
        10_000,
        idx,
        fsum,
        info,
        np.zeros(q.size),
        False,
    )
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


@dataclasses.dataclass(frozen=True)
class _Options:
    """Validated scalar settings of one fit."""

    contributions: int
    repetitions: int
    n_bins: int
    max_iterations: int
    radius_grid_points: int
    stagnation_window: int
    bg_mode: str
    background_bounds: tuple[float, float] | None


@dataclasses.dataclass(frozen=True)
class _Background:
    """How the flat background b enters the kernels.

    ``free``: b is the kernels' free term.  ``bounded``: b = ``offset`` + c with
    c the kernels' bounded term (basis ``ones``, 0 <= c <= ``c_max``).  The
    power-law term, when fitted, takes the bounded slot instead (b is then free).
    """

    free: bool
    bounded: bool
    offset: float = 0.0
    c_max: float = math.inf


@dataclasses.dataclass(frozen=True)
class _Problem:
    """The weighted least-squares problem handed to the numba kernels."""

    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    grid: np.ndarray
    table: np.ndarray
    w: np.ndarray
    wi: np.ndarray
    swii: float
    p_basis: np.ndarray
    power_law: np.ndarray
    background: _Background
    dof: int


def _finite_number(value: Any, name: str, hint: str, *, minimum: float | None = None) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name}={value!r}: {hint}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}={value!r}: {hint}")
    return float(value)


def _background_mode(background: bool | str | None, power_law_exponent: float | None) -> str:
    if background is None:
        return "flat" if power_law_exponent is not None else "nonnegative"
    if background is True or background is False:
        return "flat" if background else "none"
    if isinstance(background, str) and background in BACKGROUND_MODES:
        return background
    raise ValueError(
        f"background={background!r}: use None (default), 'nonnegative' (b >= 0), "
        "True/'flat' (free b) or False/'none' (b = 0)"
    )


def _check_bounds(bounds: Any, bg_mode: str, power_law_exponent: float | None) -> tuple[float, float] | None:
    if bounds is None:
        return None
    try:
        lo, hi = (float(v) for v in bounds)
    except (TypeError, ValueError):
        raise TypeError(
            f"background_bounds={bounds!r}: give two numbers (b_min, b_max) in the intensity unit"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"background_bounds=({lo}, {hi}): need finite b_min <= b_max")
    if bg_mode == "none" or power_law_exponent is not None:
        raise ValueError(
            f"background_bounds={bounds!r} cannot be combined with "
            + ("background='none'" if bg_mode == "none" else "power_law_exponent")
            + ": drop one of them"
        )
    if bg_mode == "nonnegative":  # b >= 0 stays; the bounds can only narrow it
        lo = max(lo, 0.0)
        if hi < lo:
            raise ValueError(
                f"background_bounds={bounds!r}: the upper bound is below 0 but background='nonnegative' "
                "needs b >= 0; use background='flat' for a negative residual background"
            )
    return lo, hi


def _check_options(
    contributions: Any,
    repetitions: Any,
    n_bins: Any,
    max_iterations: Any,
    radius_grid_points: Any,
    stagnation_window: Any,
    stagnation_tol: Any,
    chi2_k: Any,
    chi2_k_accept: Any,
    intensity_unit: Any,
    bin_scale: Any,
    radius_sampling: Any,
    background: Any,
    power_law_exponent: Any,
    background_bounds: Any,
) -> _Options:
    """Validate every scalar setting (all errors before any work)."""
    if intensity_unit not in ("arbitrary", "1/cm"):
        raise ValueError(f"intensity_unit={intensity_unit!r}: use '1/cm' (absolute) or 'arbitrary'")
    for name, val, allowed in (
        ("bin_scale", bin_scale, ("log", "linear")),
        ("radius_sampling", radius_sampling, ("log", "linear")),
    ):
        if val not in allowed:
            raise ValueError(f"{name}={val!r}: use one of {allowed}")
    contributions = _positive_int(contributions, "contributions", 2)
    out = dict(
        contributions=contributions,
        repetitions=_positive_int(repetitions, "repetitions", 1),
        n_bins=_positive_int(n_bins, "n_bins", 1),
        max_iterations=_positive_int(max_iterations, "max_iterations", 1),
        radius_grid_points=_positive_int(radius_grid_points, "radius_grid_points", 16),
        stagnation_window=_positive_int(
            stagnation_window if stagnation_window is not None else 50 * contributions, "stagnation_window", 1
        ),
    )
    if chi2_k is not None:
        _finite_number(
            chi2_k,
            "chi2_k",
            "give None (run to the chi2 plateau) or a finite number >= 0 "
            "(1 = stop at one standard deviation of chi2_r above 1)",
            minimum=0.0,
        )
    if not (
        isinstance(chi2_k_accept, (int, float)) and math.isfinite(chi2_k_accept) and chi2_k_accept >= (chi2_k or 0.0)
    ):
        raise ValueError(f"chi2_k_accept={chi2_k_accept!r}: must be a finite number >= chi2_k={chi2_k} (and >= 0)")
    bg_mode = _background_mode(background, power_law_exponent)
    if not (isinstance(stagnation_tol, (int, float)) and math.isfinite(stagnation_tol) and stagnation_tol >= 0):
        raise ValueError(f"stagnation_tol={stagnation_tol!r}: must be a finite number >= 0")
    if power_law_exponent is not None:
        _finite_number(
            power_law_exponent,
            "power_law_exponent",
            "give a finite exponent > 0 (e.g. 4 for Porod) or None",
            minimum=1e-300,
        )
    if bg_mode == "nonnegative" and power_law_exponent is not None:
        raise ValueError(
            "background='nonnegative' cannot be combined with power_law_exponent: use background='flat' "
            "(free b) with the power law, or drop the power law"
        )
    bounds = _check_bounds(background_bounds, bg_mode, power_law_exponent)
    return _Options(**out, bg_mode=bg_mode, background_bounds=bounds)


def _as_arrays(q: Any, intensity: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = np.asarray(q, dtype=float)
    i_obs = np.asarray(intensity, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    if q.ndim != 1 or i_obs.shape != q.shape or sig.shape != q.shape:
        raise ValueError(
            f"q, intensity and sigma must be 1D arrays of equal length; got shapes {q.shape}, {i_obs.shape}, {sig.shape}"
        )
    if not np.all(np.isfinite(q)):
        bad = np.flatnonzero(~np.isfinite(q))
        raise ValueError(f"q has {bad.size} non-finite value(s) (first at index {bad[0]}); remove those points")
    return q, i_obs, sig


def _select_q(
    q: np.ndarray, i_obs: np.ndarray, sig: np.ndarray, qr: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fitted points: inside ``qr``, sorted by q, checked (finite, sigma > 0, no duplicated q)."""
    sel = np.ones(q.shape, bool) if qr is None else (q >= qr[0]) & (q <= qr[1])
    q, i_obs, sig = q[sel], i_obs[sel], sig[sel]
    if q.size < MIN_Q_POINTS:
        raise ValueError(
            f"only {q.size} q point(s) to fit{'' if qr is None else f' in q_range_nm={qr}'}; need at least "
            f"{MIN_Q_POINTS}: widen the q range or use finer binning"
        )
    if np.any(q <= 0):
        raise ValueError(
            f"q contains {int(np.sum(q <= 0))} value(s) <= 0 (min {q.min():.4g} 1/nm); set q_range_nm to exclude them"
        )
    order = np.argsort(q, kind="stable")
    q, i_obs, sig = q[order], i_obs[order], sig[order]
    dup = np.flatnonzero(np.diff(q) == 0)
    if dup.size:
        raise ValueError(
            f"q has {dup.size} duplicated value(s) (first q = {q[dup[0]]:.6g} 1/nm): each point would count twice in chi2 "
            "and the degrees of freedom; merge or average the duplicated points (e.g. concatenated curves) before fitting"
        )
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
    return q, i_obs, sig


def _radius_range(r_range_nm: Any, q: np.ndarray, warn: Callable[[str], None]) -> tuple[float, float]:
    """The radius range: the user's or pi/q_max .. pi/q_min; an error outside the observable radii."""
    q_min, q_max = float(q[0]), float(q[-1])
    r_obs = (math.pi / q_max, math.pi / q_min)
    rr = _pair(r_range_nm, "r_range_nm", "nm") or r_obs
    if rr[1] <= r_obs[0] or rr[0] >= r_obs[1]:
        raise ValueError(
            f"r_range_nm=({rr[0]:.4g}, {rr[1]:.4g}) lies outside the radii observable with q = {q_min:.4g}-{q_max:.4g} 1/nm "
            f"(about pi/q_max - pi/q_min = {r_obs[0]:.4g}-{r_obs[1]:.4g} nm); choose radii inside it or measure another q range"
        )
    if rr[0] < 0.5 * r_obs[0] or rr[1] > 2.0 * r_obs[1]:
        warn(
            f"r_range_nm=({rr[0]:.4g}, {rr[1]:.4g}) extends well beyond the observable {r_obs[0]:.4g}-{r_obs[1]:.4g} nm "
            "(pi/q_max - pi/q_min): contributions there are poorly constrained by the data"
        )
    return rr


def _absolute_scale(contrast: Any, intensity_unit: str, warn: Callable[[str], None]) -> bool:
    """True when volume fractions are absolute (I in 1/cm and a contrast)."""
    if contrast is None:
        return False
    if (
        isinstance(contrast, bool)
        or not isinstance(contrast, (int, float, np.floating, np.integer))
        or not math.isfinite(contrast)
        or contrast == 0
    ):
        raise ValueError(
            f"contrast={contrast!r}: give the SLD difference in 1e-6 A^-2 as a finite non-zero number (e.g. 34.65 for CdSe in octadecene)"
        )
    if intensity_unit != "1/cm":
        warn(
            f"contrast={contrast} given but the intensity is on an arbitrary scale (intensity_unit={intensity_unit!r}): "
            "volume fractions are reported relative (sum 1); calibrate to 1/cm to get absolute volume fractions"
        )
        return False
    return True


def _seed_and_source(seed: SeedLike) -> tuple[SeedLike, str]:
    if seed is None:
        return _entropy_seed(), "os_entropy"
    if isinstance(seed, (np.random.Generator, np.random.SeedSequence)):
        return seed, "generator"
    return seed, "user"


def _background_term(opts: _Options) -> _Background:
    if opts.bg_mode == "flat" and opts.background_bounds is None:
        return _Background(free=True, bounded=False)
    if opts.bg_mode == "none":
        return _Background(free=False, bounded=False)
    lo, hi = opts.background_bounds if opts.background_bounds is not None else (0.0, math.inf)
    return _Background(free=False, bounded=True, offset=lo, c_max=hi - lo)


def _build_problem(
    q: np.ndarray,
    i_obs: np.ndarray,
    sig: np.ndarray,
    rr: tuple[float, float],
    opts: _Options,
    radius_sampling: str,
    power_law_exponent: float | None,
) -> _Problem:
    """Radius grid, intensity table, weights and the bounded-term basis of the kernels."""
    grid = radius_grid(rr[0], rr[1], opts.radius_grid_points, radius_sampling)
    table = intensity_table(q, grid)
    bg = _background_term(opts)
    target = i_obs - bg.offset if bg.offset != 0.0 else i_obs  # b = offset + c: fit c to I - offset
    w = 1.0 / sig**2
    wi = w * target
    swii = float(np.sum(wi * target))
    n_par = 1 + int(opts.bg_mode != "none") + int(power_law_exponent is not None)
    if power_law_exponent is not None:
        power_law = (q / float(q[0])) ** (-float(power_law_exponent))
        p_basis = power_law
    else:
        power_law = np.zeros_like(q)
        p_basis = np.ones_like(q) if bg.bounded else np.zeros_like(q)
    return _Problem(
        q=q,
        intensity=i_obs,
        sigma=sig,
        grid=grid,
        table=table,
        w=w,
        wi=wi,
        swii=swii,
        p_basis=p_basis,
        power_law=power_law,
        background=bg,
        dof=q.size - n_par,
    )


def _run_kernels(
    pb: _Problem, opts: _Options, seeds: np.ndarray, chi2_target: float, stag_delta: float, progress: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """All repetitions (in parallel, optionally in chunks with a progress bar); returns idx, fsum, info, seconds."""
    n_rep = opts.repetitions
    idx = np.zeros((n_rep, opts.contributions), dtype=np.int64)
    fsum = np.zeros((n_rep, pb.q.size))
    info = np.zeros((n_rep, K.N_INFO))
    bounded = pb.background.bounded or bool(np.any(pb.power_law))
    kargs = (pb.table, pb.w, pb.wi, pb.swii, opts.contributions)
    kopts = (opts.max_iterations, chi2_target, opts.stagnation_window, stag_delta, pb.background.free, 10_000)
    t0 = time.perf_counter()
    # with progress, run the repetitions in chunks of one per numba thread and count them
    chunk = max(1, numba.get_num_threads()) if progress else n_rep
    with _progress(n_rep, "MC repetitions", "repetition", enabled=progress) as bar:
        for a in range(0, n_rep, chunk):
            b = min(a + chunk, n_rep)
            K.mc_repetitions(
                *kargs, seeds[a:b], *kopts, idx[a:b], fsum[a:b], info[a:b], pb.p_basis, bounded, pb.background.c_max
            )
            bar.update(b - a)
    return idx, fsum, info, time.perf_counter() - t0


def _stop_reasons(info: np.ndarray, chi2_r: np.ndarray, chi2_r_accept: float) -> tuple[str, ...]:
    codes = info[:, K.INFO_REASON].astype(int)
    return tuple(
        "target"
        if c == K.STOP_CHI2
        else "cap"
        if c == K.STOP_CAP
        else ("plateau" if x2 <= chi2_r_accept else "stagnated")
        for c, x2 in zip(codes, chi2_r)
    )


def _terms(info: np.ndarray, pb: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per repetition: scale s, flat background b and power-law coefficient c, each under its own name."""
    scale = info[:, K.INFO_SCALE].copy()
    bounded_term = info[:, K.INFO_POWERLAW].copy()
    if pb.background.bounded:  # the kernels' bounded term is the background
        return scale, pb.background.offset + bounded_term, np.zeros_like(bounded_term)
    return scale, info[:, K.INFO_BACKGROUND].copy(), bounded_term


def _resolution_split(
    pb: _Problem,
    scale: np.ndarray,
    fsum: np.ndarray,
    radii: np.ndarray,
    rr: tuple[float, float],
    warn: Callable[[str], None],
) -> tuple[float, float, np.ndarray]:
    """Resolvable radius, informative q_max, and the radii with unresolved contributions set to NaN."""
    particle = (scale[:, None] * fsum).mean(axis=0)
    q_info = informative_q_max(pb.q, pb.sigma, particle)
    r_res = resolvable_radius(pb.q, pb.sigma, particle)
    if not math.isfinite(r_res):
        warn(
            "the fitted particle scattering is nowhere 3 sigma above the data uncertainty: no volume is resolved "
            "(all of it is reported as unresolved)"
        )
    elif rr[0] < r_res:
        warn(
            f"r_range_nm starts at {rr[0]:.4g} nm, below the resolvable radius {r_res:.4g} nm (form factor still above "
            f"{P_FLAT:g} at the highest informative q = {q_info:.4g} 1/nm): volume below {r_res:.4g} nm cannot be told "
            "from a flat background and is reported as unresolved, outside the total volume fraction and mean radius; "
            f"set r_range_nm to start at >= {r_res:.3g} nm"
        )
    resolved_radii = np.where(radii >= r_res, radii, np.nan)
    return r_res, q_info, resolved_radii


def fit_arrays(
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
    background_bounds: tuple[float, float] | None = None,
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
        Scattering vector in 1/nm (> 0, no duplicated values).
    intensity, sigma : ndarray (n_q,)
        Intensity and its one-sigma uncertainty (> 0, finite).
    q_range_nm : (float, float), optional
        Fit only q_min <= q <= q_max (1/nm).
    r_range_nm : (float, float), optional
        Radius range in nm; default pi/q_max .. pi/q_min of the fitted data.
        Volume below the resolvable radius (:mod:`saxs_mc.fit.resolution`) is
        reported as unresolved, with a :class:`FitWarning` when the range
        reaches below it.
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
    background_bounds : (float, float), optional
        Bounds (b_min, b_max) on b in the intensity unit, e.g. from the
        subtracted blank (:func:`saxs_mc.fit.resolution.blank_background_bounds`).
        With the default ``"nonnegative"`` mode b_min is raised to 0.  Not with
        ``background="none"`` or a power law.
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
        Report progress over repetitions: a tqdm bar when stderr is a terminal,
        otherwise a log line every :data:`saxs_mc._progress.LOG_INTERVAL_S` seconds.
    title : str
        Sample name for reports.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from saxs_mc.models.distributions import make_distribution
    >>> q = np.geomspace(0.2, 5.0, 100)
    >>> i = make_distribution({"kind": "gaussian", "mean_nm": 1.5, "sd_nm": 0.1,
    ...                        "volume_fraction": 1e-3}).dsigma(q, 34.65) + 0.01
    >>> res = fit_arrays(q, i, 0.01 * i, contrast=34.65, intensity_unit="1/cm", seed=1,
    ...           contributions=100, repetitions=2)
    >>> round(res.ranges[0].mean_nm, 1)
    1.5
    """
    q, i_obs, sig = _as_arrays(q, intensity, sigma)
    opts = _check_options(
        contributions,
        repetitions,
        n_bins,
        max_iterations,
        radius_grid_points,
        stagnation_window,
        stagnation_tol,
        chi2_k,
        chi2_k_accept,
        intensity_unit,
        bin_scale,
        radius_sampling,
        background,
        power_law_exponent,
        background_bounds,
    )
    warn_list: list[str] = []

    def _warn(msg: str) -> None:
        warn_list.append(msg)
        log.warning("%s", msg)
        warnings.warn(msg, FitWarning, stacklevel=3)

    seed, seed_source = _seed_and_source(seed)
    qr = _pair(q_range_nm, "q_range_nm", "1/nm")
    q, i_obs, sig = _select_q(q, i_obs, sig, qr)
    rr = _radius_range(r_range_nm, q, _warn)
    absolute = _absolute_scale(contrast, intensity_unit, _warn)
    ranges = [rr] + [cast(tuple[float, float], _pair(r, "ranges_nm item", "nm")) for r in (ranges_nm or [])]
    if opts.repetitions < 2:
        _warn(
            f"repetitions={opts.repetitions}: all uncertainties (*_std) are 0 with one repetition; use >= 2 "
            f"(McSAS recommends >= {RECOMMENDED_REPETITIONS}) for meaningful standard deviations"
        )

    # --- kernels
    seeds = spawn_seeds(seed, opts.repetitions).astype(np.uint64)
    pb = _build_problem(q, i_obs, sig, rr, opts, radius_sampling, power_law_exponent)
    chi2_r_target, chi2_r_accept, stag_delta = _stop_thresholds(pb.dof, chi2_k, chi2_k_accept, stagnation_tol)
    warmup_s = warm_up()
    # without a target, -1 can never be reached (chi2 >= 0): repetitions run to their plateau
    idx, fsum, info, elapsed = _run_kernels(
        pb, opts, seeds, chi2_r_target * pb.dof if chi2_k is not None else -1.0, stag_delta, progress
    )

    # --- results
    scale, bg, plc = _terms(info, pb)
    chi2_r = info[:, K.INFO_CHI2] / pb.dof
    reasons = _stop_reasons(info, chi2_r, chi2_r_accept)
    radii = pb.grid[idx]
    model = scale[:, None] * fsum + bg[:, None] + plc[:, None] * pb.power_law[None, :]
    r_res, q_info, resolved_radii = _resolution_split(pb, scale, fsum, radii, rr, _warn)
    phi_k, g_rep = _volume_per_contribution(absolute, contrast, scale, opts)
    ddof = 1 if opts.repetitions > 1 else 0
    dist = _distribution(pb, radii, resolved_radii, phi_k, g_rep, rr, ranges, opts.n_bins, bin_scale, ddof)
    _warn_convergence(reasons, chi2_r, chi2_k, chi2_r_target, chi2_r_accept, _warn)
    if np.any(scale <= 0):
        _warn("the fitted scale s is 0 in some repetitions: the data show no size-dependent scattering in this range")
    from saxs_mc.provenance import package_versions

    settings = _fit_settings(
        q,
        qr,
        rr,
        ranges,
        opts,
        pb.dof,
        radius_sampling=radius_sampling,
        bin_scale=bin_scale,
        power_law_exponent=power_law_exponent,
        contrast=contrast,
        intensity_unit=intensity_unit,
        chi2_k=chi2_k,
        chi2_k_accept=chi2_k_accept,
        chi2_r_target=chi2_r_target,
        chi2_r_accept=chi2_r_accept,
        stagnation_tol=stagnation_tol,
        stag_delta=stag_delta,
        r_res=r_res,
        q_info=q_info,
        seed=seed,
        seed_source=seed_source,
    )
    return FitResult(
        q_nm=q,
        intensity=i_obs,
        sigma=sig,
        intensity_unit=intensity_unit,
        absolute=absolute,
        contrast_1e6_A2=float(contrast) if contrast is not None else None,
        **dist,
        model_mean=model.mean(axis=0),
        model_std=model.std(axis=0, ddof=ddof),
        radii_nm=radii,
        phi_per_contribution=phi_k,
        scale=scale,
        background=bg,
        power_law_coefficient=plc,
        background_at_bound=int(np.sum(bg <= pb.background.offset)) if pb.background.bounded else 0,
        chi2_r=chi2_r,
        chi2_r_target=chi2_r_target,
        chi2_r_accept=chi2_r_accept,
        iterations=info[:, K.INFO_ITERATIONS].astype(np.int64),
        accepted=info[:, K.INFO_ACCEPTED].astype(np.int64),
        stop_reason=reasons,
        seed=settings["seed"],
        repetition_seeds=seeds,
        settings=settings,
        warnings=tuple(warn_list),
        versions=package_versions(),
        elapsed_s=elapsed,
        warmup_s=warmup_s,
        title=title,
        resolvable_radius_nm=r_res,
    )


def _stop_thresholds(
    dof: int, chi2_k: float | None, chi2_k_accept: float, stagnation_tol: float
) -> tuple[float, float, float]:
    """chi2_r target (NaN without ``chi2_k``), chi2_r accepted as a plateau, and the significant chi2 improvement."""
    chi2_r_target = 1.0 + chi2_k * math.sqrt(2.0 / dof) if chi2_k is not None else float("nan")
    chi2_r_accept = 1.0 + chi2_k_accept * math.sqrt(2.0 / dof)
    return chi2_r_target, chi2_r_accept, stagnation_tol * math.sqrt(2.0 * dof)


def _fit_settings(
    q: np.ndarray,
    qr: tuple[float, float] | None,
    rr: tuple[float, float],
    ranges: Sequence[tuple[float, float]],
    opts: _Options,
    dof: int,
    *,
    radius_sampling: str,
    bin_scale: str,
    power_law_exponent: float | None,
    contrast: float | None,
    intensity_unit: str,
    chi2_k: float | None,
    chi2_k_accept: float,
    chi2_r_target: float,
    chi2_r_accept: float,
    stagnation_tol: float,
    stag_delta: float,
    r_res: float,
    q_info: float,
    seed: Any,
    seed_source: str,
) -> dict[str, Any]:
    """``FitResult.settings``: every setting of the fit as used, with the derived thresholds and the seed."""
    return {
        "q_range_nm": list(qr) if qr else None,
        "q_fitted_nm": [float(q[0]), float(q[-1])],
        "n_q": int(q.size),
        "r_range_nm": list(rr),
        "contributions": opts.contributions,
        "repetitions": opts.repetitions,
        "radius_sampling": radius_sampling,
        "radius_grid_points": opts.radius_grid_points,
        "n_bins": opts.n_bins,
        "bin_scale": bin_scale,
        "ranges_nm": [list(r) for r in ranges],
        "background": opts.bg_mode,
        "background_bounds": list(opts.background_bounds) if opts.background_bounds else None,
        "power_law_exponent": power_law_exponent,
        "contrast_1e6_A2": contrast,
        "intensity_unit": intensity_unit,
        "chi2_k": chi2_k,
        "chi2_r_target": chi2_r_target if chi2_k is not None else None,
        "stop_rule": "plateau" if chi2_k is None else "target_or_plateau",
        "chi2_k_accept": chi2_k_accept,
        "chi2_r_accept": chi2_r_accept,
        "dof": dof,
        "max_iterations": opts.max_iterations,
        "stagnation_window": opts.stagnation_window,
        "stagnation_tol": stagnation_tol,
        "stagnation_delta_chi2": stag_delta,
        "resolvable_radius_nm": r_res,
        "informative_q_max_nm": q_info,
        "resolution_criterion": {"p_flat": P_FLAT, "n_sigma": INFORMATIVE_N_SIGMA},
        "seed": int(cast(int, seed)) if seed_source != "generator" else None,
        "seed_source": seed_source,
    }


def _volume_per_contribution(
    absolute: bool, contrast: float | None, scale: np.ndarray, opts: _Options
) -> tuple[np.ndarray, np.ndarray]:
    """Volume fraction carried by each contribution, and g (intensity per volume fraction per nm^3), per repetition."""
    if absolute:
        assert contrast is not None  # absolute scale implies a contrast (_absolute_scale)
        g = contrast_to_cm2(float(contrast)) ** 2 * 1e-21  # intensity per (volume fraction * nm^3)
        return scale / g, np.full(opts.repetitions, g)
    return np.full(opts.repetitions, 1.0 / opts.contributions), scale * opts.contributions


def _distribution(
    pb: _Problem,
    radii: np.ndarray,
    resolved_radii: np.ndarray,
    phi_k: np.ndarray,
    g_rep: np.ndarray,
    rr: tuple[float, float],
    ranges: list[tuple[float, float]],
    n_bins: int,
    bin_scale: str,
    ddof: int,
) -> dict[str, Any]:
    """Histograms, minimum visibility and per-range statistics (FitResult fields)."""
    edges = bin_edges(rr[0], rr[1], n_bins, bin_scale)
    vh = volume_histogram(radii, phi_k, edges)
    nh = number_histogram(radii, edges)
    minvis = min_visibility(pb.q, pb.sigma, bin_centers(edges, bin_scale), g_rep)
    visible = visible_bins(vh.mean(axis=0), minvis)

    def stats(r: np.ndarray, **kw: Any) -> tuple[RangeStats, ...]:
        return tuple(range_stats(r, phi_k, lo, hi, edges=edges, visible=visible, **kw) for lo, hi in ranges)

    return dict(
        bin_edges_nm=edges,
        bin_scale=bin_scale,
        volume_fraction=vh.mean(axis=0),
        volume_fraction_std=vh.std(axis=0, ddof=ddof),
        number_fraction=nh.mean(axis=0),
        number_fraction_std=nh.std(axis=0, ddof=ddof),
        min_visibility=minvis,
        ranges=stats(resolved_radii),
        ranges_all=stats(radii),
        ranges_visible=stats(resolved_radii, visible_only=True),
    )


def _warn_convergence(
    reasons: tuple[str, ...],
    chi2_r: np.ndarray,
    chi2_k: float | None,
    chi2_r_target: float,
    chi2_r_accept: float,
    warn: Callable[[str], None],
) -> None:
    n_bad = sum(r not in CONVERGED_REASONS for r in reasons)
    if n_bad:
        worst = ", ".join(
            f"#{i}: {r} (chi2_r {chi2_r[i]:.3f})" for i, r in enumerate(reasons) if r not in CONVERGED_REASONS
        )
        warn(
            f"{n_bad}/{len(reasons)} repetition(s) did not converge ("
            + ("stop rule: chi2 plateau" if chi2_k is None else f"target chi2_r <= {chi2_r_target:.4f}")
            + f", acceptable plateau <= {chi2_r_accept:.4f}): {worst}. "
            "Check the uncertainties, the q/r ranges and whether spheres + flat background describe the data; "
            "raise max_iterations if the cap was reached"
        )


def fit_curve(curve: Curve, **kwargs: Any) -> FitResult:
    """:func:`fit_arrays` applied to a :class:`~saxs_mc.io.curves.Curve` (its unit and title are used).

    Parameters
    ----------
    curve : Curve
        q in 1/nm, intensity and sigma of shape (n,); its ``intensity_unit`` and ``title`` are used
        when ``intensity_unit``/``title`` are not given (or None).
    **kwargs
        Keyword arguments of :func:`fit_arrays` (``contrast``, ``r_range_nm``, ``seed``, ...).

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from saxs_mc.io.curves import Curve
    >>> from saxs_mc.models.distributions import make_distribution
    >>> q = np.geomspace(0.2, 5.0, 100)
    >>> i = make_distribution({"kind": "gaussian", "mean_nm": 1.5, "sd_nm": 0.1,
    ...                        "volume_fraction": 1e-3}).dsigma(q, 34.65) + 0.01
    >>> curve = Curve(q=q, intensity=i, sigma=0.01 * i, intensity_unit="1/cm", title="demo")
    >>> res = fit_curve(curve, contrast=34.65, seed=1, contributions=100, repetitions=2)
    >>> res.title, round(res.ranges[0].mean_nm, 1)
    ('demo', 1.5)
    """
    if not isinstance(curve, Curve):
        raise TypeError(
            f"curve must be a saxs_mc.io.curves.Curve, got {type(curve).__name__}; use fit_arrays(q, I, sigma) for arrays"
        )
    if kwargs.get("intensity_unit") is None:
        kwargs["intensity_unit"] = curve.intensity_unit
    if kwargs.get("title") is None:
        kwargs["title"] = curve.title
    return fit_arrays(curve.q, curve.intensity, curve.sigma, **kwargs)


def _curve_signature() -> inspect.Signature:
    """``fit_curve``'s real signature for ``help()``/``inspect``: ``curve`` then the options of :func:`fit_arrays`
    (``intensity_unit`` and ``title`` default to None: the curve's own)."""
    base = inspect.signature(fit_arrays)
    options = [
        p.replace(default=None, annotation="str | None") if p.name in ("intensity_unit", "title") else p
        for p in list(base.parameters.values())[3:]
    ]
    curve = inspect.Parameter("curve", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Curve")
    return base.replace(parameters=[curve, *options])


fit_curve.__signature__ = _curve_signature()  # type: ignore[attr-defined]
