"""Which radii the data resolve, and what a subtracted blank says about the residual background.

Resolved and unresolved volume
------------------------------
A sphere of radius r much smaller than 1/q scatters almost flat: its form factor
``P(q, r) = 1 - (q r)^2 / 5 + ...`` stays close to its forward value over the
whole measured q range, so volume at such radii is degenerate with a flat
background (and, through the remaining curvature, with small changes of the
larger spheres' tails).  A Monte Carlo fit keeps such contributions wherever
its random start put them, because nothing in the data forces them out; summed
up, they bias the total volume fraction high and the mean radius low.

The criterion (stated once here and used by the MC fit and the family
decomposition):

1. The *informative* q range ends at ``q_info``, the largest fitted q at which
   the particle scattering (the fitted model without its flat background and
   power-law terms) is at least ``n_sigma`` (default 3) times the data
   uncertainty sigma(q).  Above it the data cannot tell particle scattering from
   noise on the background.
2. A sphere is *resolved* when its form factor falls below ``p_flat`` (default
   1/2) of its forward value inside the informative range, i.e. when
   ``P(q_info, r) <= p_flat``.  This gives the resolvable radius
   ``r_res = x_c / q_info`` with ``P(x_c) = p_flat`` (x_c = 1.815 for 1/2; compare
   the usual observability rule r >= pi / q_max, where P(pi) = 0.09).  A sphere
   with ``r < r_res`` keeps more than half of its scattering across every q
   the data inform: within the noise it is a flat background plus a gentle
   curvature the larger spheres' tails absorb.

Volume at ``r < r_res`` is reported apart as *unresolved* and is not counted in
the total volume fraction, the mean radius or the per-range statistics.  The
threshold 1/2 is a stated choice: on seeded mixtures (``benchmarks/fit_resolved_grid.py``)
with a residual flat background, a radius range reaching down to 0.5 pi/q_max
(P(q_max) = 0.60) piles 10-15 % spurious volume at its lower end, while the
range from 0.75 pi/q_max (P = 0.36) biases the moments by < 3 %.

Residual background after a blank subtraction
---------------------------------------------
:func:`blank_background_bounds` bounds the flat background left after a blank
was subtracted.  Assumption: the residual comes from a mis-scaled blank
(thickness, transmission or monitor normalisation known to a relative error
``rel_scale_error``, default 5 %) plus the blank's own statistical error, so
``|b| <= rel_scale_error * I_blank + n_sigma * sigma_blank`` with the blank's
level and uncertainty averaged (inverse-variance weighted) over the fitted q
range, times the scale the blank was subtracted with.  Scattering that the
blank does not contain (fluorescence or incoherent scattering of the particles
themselves) is not covered: fit without the bounds when it is expected.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saxs_mc.models.sphere import sphere_form_factor

#: a sphere is flat-like while its form factor stays above this share of its forward value
P_FLAT = 0.5
#: particle scattering counts as measured where it reaches this many sigma
INFORMATIVE_N_SIGMA = 3.0
#: default relative uncertainty of the blank's scale (thickness, transmission, monitors)
BLANK_REL_SCALE_ERROR = 0.05


def flat_limit_x(p_flat: float = P_FLAT) -> float:
    """The product x = q r at which the sphere form factor P(x) equals ``p_flat`` (0 < p_flat < 1).

    Examples
    --------
    >>> round(flat_limit_x(0.5), 3)
    1.815
    """
    from scipy.optimize import brentq

    if not 0.0 < p_flat < 1.0:
        raise ValueError(f"p_flat={p_flat!r}: give a share of the forward scattering between 0 and 1 (e.g. 0.5)")

    def f(x: float) -> float:
        return float(sphere_form_factor(np.array([x]), np.array([1.0]))[0, 0]) - p_flat

    return float(brentq(f, 1e-6, 4.4934))  # P decreases monotonically up to its first zero


def informative_q_max(
    q: np.ndarray, sigma: np.ndarray, particle_intensity: np.ndarray, n_sigma: float = INFORMATIVE_N_SIGMA
) -> float:
    """Largest q (1/nm) where ``particle_intensity >= n_sigma * sigma``; NaN when there is none.

    Parameters
    ----------
    q, sigma, particle_intensity : ndarray (n_q,)
        Scattering vector (1/nm), data uncertainty and the particle scattering
        (model without flat background and power law), in the data's unit.
    """
    q, sigma, part = (np.asarray(a, dtype=float) for a in (q, sigma, particle_intensity))
    ok = np.isfinite(part) & (part >= n_sigma * sigma)
    return float(q[ok].max()) if ok.any() else float("nan")


def resolvable_radius(
    q: np.ndarray,
    sigma: np.ndarray,
    particle_intensity: np.ndarray,
    *,
    n_sigma: float = INFORMATIVE_N_SIGMA,
    p_flat: float = P_FLAT,
) -> float:
    """Smallest radius (nm) the data resolve from a flat background (module docstring).

    Parameters
    ----------
    q : ndarray (n_q,)
        Fitted scattering vector in 1/nm.
    sigma : ndarray (n_q,)
        One-sigma uncertainty of the data.
    particle_intensity : ndarray (n_q,)
        Particle scattering on ``q`` in the data's unit: a fitted model minus its
        flat background (and power-law) terms.
    n_sigma : float
        The particle scattering is measured where it reaches ``n_sigma * sigma``.
    p_flat : float
        A sphere is flat-like while ``P(q, r) > p_flat`` at every informative q.

    Returns
    -------
    float
        ``x_c / q_info`` (:func:`flat_limit_x`, :func:`informative_q_max`); inf when
        the particle scattering is nowhere above ``n_sigma * sigma`` (nothing resolved).

    Examples
    --------
    >>> q = np.geomspace(0.2, 5.0, 50)
    >>> round(resolvable_radius(q, np.full(50, 1e-6), np.ones(50)), 3)  # measured up to q_max
    0.363
    """
    q_info = informative_q_max(q, sigma, particle_intensity, n_sigma)
    if not math.isfinite(q_info):
        return float("inf")
    return flat_limit_x(p_flat) / q_info


def blank_background_bounds(
    blank: Any,
    *,
    q_range_nm: tuple[float, float] | None = None,
    scale: float = 1.0,
    rel_scale_error: float = BLANK_REL_SCALE_ERROR,
    n_sigma: float = INFORMATIVE_N_SIGMA,
) -> tuple[float, float]:
    """Bounds (lo, hi) of the residual flat background after subtracting ``blank`` (module docstring).

    Parameters
    ----------
    blank : saxs_mc.io.curves.Curve
        The blank curve that was subtracted (its own level and sigma).
    q_range_nm : (float, float), optional
        The fitted q range (default: the whole blank curve).
    scale : float
        The factor the blank was subtracted with.
    rel_scale_error : float
        Relative uncertainty of that scale (default 5 %).
    n_sigma : float
        Statistical allowance in units of the blank's averaged uncertainty.

    Returns
    -------
    (float, float)
        ``(-B, B)`` with ``B = scale * (rel_scale_error * level + n_sigma * sigma_level)``.

    Examples
    --------
    >>> from saxs_mc.io.curves import Curve
    >>> q = np.linspace(0.5, 5, 10)
    >>> blank_background_bounds(Curve(q, np.full(10, 0.1), np.full(10, 0.001), "1/cm"))[1] > 0.005
    True
    """
    q, i, s = (np.asarray(getattr(blank, k), dtype=float) for k in ("q", "intensity", "sigma"))
    ok = np.isfinite(q) & np.isfinite(i) & np.isfinite(s) & (s > 0)
    if q_range_nm is not None:
        ok &= (q >= q_range_nm[0]) & (q <= q_range_nm[1])
    if not ok.any():
        raise ValueError(
            f"blank {getattr(blank, 'title', '')!r}: no finite points with sigma > 0 in q_range_nm={q_range_nm}; "
            "cannot bound the residual background from it"
        )
    if not (math.isfinite(rel_scale_error) and rel_scale_error >= 0 and math.isfinite(n_sigma) and n_sigma >= 0):
        raise ValueError(f"rel_scale_error={rel_scale_error!r}, n_sigma={n_sigma!r}: give finite numbers >= 0")
    w = 1.0 / s[ok] ** 2
    level = float(np.sum(w * np.abs(i[ok])) / np.sum(w))
    level_sigma = float(1.0 / math.sqrt(np.sum(w)))
    bound = abs(float(scale)) * (rel_scale_error * level + n_sigma * level_sigma)
    return -bound, bound
