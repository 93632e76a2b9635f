"""Histograms, per-range statistics and the minimum-visibility limit of MC fit results.

All functions take the per-repetition contribution radii and per-contribution
volume fractions of a finished fit and return means and standard deviations
over repetitions.

Minimum visibility (observability limit)
----------------------------------------
Following McSAS (Bressler et al. 2015), the minimum visibility of a bin is the
volume fraction that a *single* contribution of that bin's radius needs for its
scattering to reach the data uncertainty at (at least) one q point::

    phi_min(bin) = mean over repetitions of  min_q  sigma(q) / (g * V(r_c) P(q, r_c))

with ``r_c`` the bin centre (geometric mean of the edges for log bins,
arithmetic for linear bins), ``V`` in nm^3 and ``g`` the intensity per unit
volume fraction per nm^3 of particle volume: ``g = drho^2 [cm^-4] * 1e-21`` for
absolute fits, or ``g = n_contributions * s`` (the repetition's scale factor)
for relative volume fractions (which sum to 1).  Bins whose mean volume
fraction lies below ``min_visibility`` are not supported by the data.

Sub-visibility volume
---------------------
McSAS practice is to plot the visibility line and let the user judge.  Here
:func:`range_stats` also reports, per radius range, the fraction of the range's
volume that sits in bins below the minimum visibility
(``RangeStats.sub_visibility_fraction``), and :class:`~saxs_mc.fit.result.FitResult`
carries a second set of range statistics computed from the contributions in
visible bins only (``ranges_visible``).  A range with more than
:data:`SUB_VISIBILITY_DOMINATED` of its volume below visibility is flagged as
dominated by sub-visibility volume: its moments describe contributions the data
cannot distinguish from noise (or from the background).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saxs_mc.models.sphere import sphere_form_factor, sphere_volume_cm3

#: a range whose sub-visibility volume fraction exceeds this is flagged as dominated by it
SUB_VISIBILITY_DOMINATED = 0.5


def sphere_volume_nm3(radius_nm: np.ndarray | float) -> np.ndarray:
    """Sphere volume in nm^3 (from :func:`saxs_mc.models.sphere.sphere_volume_cm3`; 1 nm^3 = 1e-21 cm^3)."""
    return sphere_volume_cm3(radius_nm) * 1e21


def bin_edges(r_min_nm: float, r_max_nm: float, n_bins: int, scale: str) -> np.ndarray:
    """Histogram edges (nm), shape (n_bins + 1,), log- or linearly spaced over the radius range."""
    if scale == "log":
        return np.geomspace(r_min_nm, r_max_nm, n_bins + 1)
    return np.linspace(r_min_nm, r_max_nm, n_bins + 1)


def bin_centers(edges: np.ndarray, scale: str) -> np.ndarray:
    """Bin centres: geometric mean of the edges for log bins, arithmetic mean otherwise."""
    if scale == "log":
        return np.sqrt(edges[1:] * edges[:-1])
    return 0.5 * (edges[1:] + edges[:-1])


def _bin_index(radii: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # right-closed last bin so r == r_max is counted
    i = np.searchsorted(edges, radii, side="right") - 1
    return np.clip(i, 0, edges.size - 2)


def volume_histogram(radii_nm: np.ndarray, phi_per_contribution: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Volume fraction per bin for each repetition.

    Parameters
    ----------
    radii_nm : (n_rep, n_contrib)
    phi_per_contribution : (n_rep,)
        Volume fraction carried by each contribution of the repetition.
    edges : (n_bins + 1,)

    Returns
    -------
    (n_rep, n_bins) volume fractions.
    """
    n_rep = radii_nm.shape[0]
    out = np.zeros((n_rep, edges.size - 1))
    for i in range(n_rep):
        out[i] = np.bincount(_bin_index(radii_nm[i], edges), minlength=edges.size - 1) * phi_per_contribution[i]
    return out


def number_histogram(radii_nm: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Number fraction per bin for each repetition (sum 1 per repetition), shape (n_rep, n_bins).

    Each contribution carries the same volume, hence a number of particles
    proportional to 1 / r^3.
    """
    n_rep = radii_nm.shape[0]
    out = np.zeros((n_rep, edges.size - 1))
    for i in range(n_rep):
        wn = radii_nm[i] ** -3.0
        out[i] = np.bincount(_bin_index(radii_nm[i], edges), weights=wn, minlength=edges.size - 1) / wn.sum()
    return out


def min_visibility(q_nm: np.ndarray, sigma: np.ndarray, centers_nm: np.ndarray, g_per_rep: np.ndarray) -> np.ndarray:
    """Minimum visible volume fraction per bin (see module docstring), shape (n_bins,).

    Parameters
    ----------
    q_nm, sigma : (n_q,)
    centers_nm : (n_bins,)
    g_per_rep : (n_rep,)
        Intensity per unit volume fraction per nm^3 of particle volume, per repetition.
    """
    vp = sphere_volume_nm3(centers_nm)[:, None] * sphere_form_factor(q_nm, centers_nm)  # (n_bins, n_q)
    with np.errstate(divide="ignore"):
        ratio = np.where(vp > 0, sigma[None, :] / vp, np.inf).min(axis=1)  # (n_bins,)
    g = np.asarray(g_per_rep, dtype=float)
    with np.errstate(divide="ignore"):
        per_rep = np.where(g[:, None] > 0, ratio[None, :] / g[:, None], np.inf)
    return per_rep.mean(axis=0)


@dataclasses.dataclass(frozen=True)
class RangeStats:
    """Volume-weighted population statistics in one radius range, mean +- std over repetitions.

    Attributes (each ``value``/``*_std`` pair is the mean and standard deviation
    over repetitions): volume fraction in the range (absolute or relative),
    volume-weighted mean radius (nm), variance (nm^2), skewness, excess kurtosis,
    and the number-weighted mean radius (nm).  NaN when a repetition has fewer
    than two contributions in the range (the std/mean then use the others).

    ``sub_visibility_fraction`` (+- std) is the fraction of the range's volume in
    histogram bins whose mean volume fraction is below the minimum visibility
    (NaN when not computed or the range is empty); see the module docstring.
    """

    r_lo_nm: float
    r_hi_nm: float
    volume_fraction: float
    volume_fraction_std: float
    mean_nm: float
    mean_nm_std: float
    variance_nm2: float
    variance_nm2_std: float
    skew: float
    skew_std: float
    excess_kurtosis: float
    excess_kurtosis_std: float
    number_mean_nm: float
    number_mean_nm_std: float
    sub_visibility_fraction: float = float("nan")
    sub_visibility_fraction_std: float = float("nan")

    @property
    def dominated_by_sub_visibility(self) -> bool:
        """True when more than :data:`SUB_VISIBILITY_DOMINATED` of the range's volume is below visibility."""
        return bool(self.sub_visibility_fraction > SUB_VISIBILITY_DOMINATED)

    @property
    def sd_nm(self) -> float:
        """Volume-weighted standard deviation of the radius (nm)."""
        return float(np.sqrt(self.variance_nm2))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: (None if not np.isfinite(v) else float(v)) for k, v in dataclasses.asdict(self).items()
        }
        out["dominated_by_sub_visibility"] = self.dominated_by_sub_visibility
        return out


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    good = x[np.isfinite(x)]
    if good.size == 0:
        return float("nan"), float("nan")
    return float(good.mean()), float(good.std(ddof=1)) if good.size > 1 else 0.0


def visible_bins(volume_fraction: np.ndarray, min_vis: np.ndarray) -> np.ndarray:
    """(n_bins,) bool: bins whose mean volume fraction reaches the minimum visibility."""
    return np.asarray(volume_fraction) >= np.asarray(min_vis)


def range_stats(
    radii_nm: np.ndarray,
    phi_per_contribution: np.ndarray,
    r_lo: float,
    r_hi: float,
    *,
    edges: np.ndarray | None = None,
    visible: np.ndarray | None = None,
    visible_only: bool = False,
) -> RangeStats:
    """Statistics of the contributions with r_lo <= r <= r_hi (see :class:`RangeStats`).

    All contributions carry equal volume, so volume-weighted moments are plain
    moments of the contribution radii; number weights are proportional to r^-3.

    Parameters
    ----------
    radii_nm : (n_rep, n_contrib)
    phi_per_contribution : (n_rep,)
    r_lo, r_hi : float
        Range in nm (inclusive).
    edges : (n_bins + 1,), optional
        Histogram edges; with ``visible`` gives ``sub_visibility_fraction``.
    visible : (n_bins,) bool, optional
        Bins at or above the minimum visibility (:func:`visible_bins`).
    visible_only : bool
        Use only the contributions in visible bins (needs ``edges`` and ``visible``).
    """
    if visible_only and (edges is None or visible is None):
        raise ValueError("range_stats(visible_only=True) needs edges and visible")
    n_rep = radii_nm.shape[0]
    vals = np.full((n_rep, 6), np.nan)
    subvis = np.full(n_rep, np.nan)
    for i in range(n_rep):
        r = radii_nm[i]
        r = r[(r >= r_lo) & (r <= r_hi)]
        if edges is not None and visible is not None and r.size:
            vis = np.asarray(visible, bool)[_bin_index(r, edges)]
            subvis[i] = 1.0 - vis.mean()
            if visible_only:
                r = r[vis]
        vals[i, 0] = r.size * phi_per_contribution[i]
        if r.size >= 2:
            m = r.mean()
            m2 = np.mean((r - m) ** 2)
            vals[i, 1] = m
            vals[i, 2] = m2
            if m2 > 0:
                vals[i, 3] = np.mean((r - m) ** 3) / m2**1.5
                vals[i, 4] = np.mean((r - m) ** 4) / m2**2 - 3.0
            wn = r**-3.0
            vals[i, 5] = np.sum(wn * r) / wn.sum()
        elif r.size == 1:
            vals[i, 1] = r[0]
            vals[i, 5] = r[0]
    ms = [_mean_std(vals[:, j]) for j in range(6)]
    return RangeStats(float(r_lo), float(r_hi), *ms[0], *ms[1], *ms[2], *ms[3], *ms[4], *ms[5], *_mean_std(subvis))
