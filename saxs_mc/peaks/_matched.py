"""Matched-filter significance scan for candidate peaks (private).

For every point q_j and template width F (FWHM, 1/nm) the residual
R = I - B (data minus background) inside the window |q - q_j| <= 4 F is
fitted by weighted least squares with ``a + b x + c x^2 + A g(q)``,
x = (q - q_j)/F, g a unit-height Gaussian of FWHM F centred on q_j; the
local quadratic absorbs background errors and curvature on scales broader
than the template (form-factor oscillations, imperfect baselines), so a
narrow template only responds to a narrow excess.  The significance is A / sd(A) from the propagated
uncertainties.  This is the optimal linear detection statistic for a peak
of that shape in Gaussian noise; it integrates the excess over the peak
width instead of thresholding single-point amplitudes.

Cost.  One centre costs the number of points in its window (8 F / dq).  Testing
every point as a centre would make a scan O(n^2) for finely sampled curves
(``npt = 10000`` took a minute, ``npt = 100000`` hung).  The map of one template
width varies on the scale of F, so centres are tested on a coarse grid with
``_CENTRES_PER_FWHM`` centres per template FWHM (every point when the curve has
fewer points per FWHM); from each coarse local maximum above ``refine_above`` a
bisection between its coarse neighbours finds the maximum at full resolution
(where candidates are picked); other centres are interpolated.  A scan then
costs O(n) per template width.  During the CLEAN search (:class:`MatchedFilter`),
blanking a region only recomputes the centres whose windows touch it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from saxs_mc.peaks import _scan_kernel

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: coarse centre spacing FWHM/8: a peak centred between two coarse centres loses < 1 % of its significance,
#: and the refinement around local maxima recovers the exact maximum
_CENTRES_PER_FWHM = 8.0
#: coarse maxima above this fraction of ``refine_above`` are refined (margin for the < 1 % coarse loss)
_REFINE_MARGIN = 0.9


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A matched-filter candidate: template centre, FWHM (1/nm), fitted height and significance A/sd(A)."""

    q0: float
    fwhm: float
    height: float
    significance: float


def _row_weight_mask(q, weight_mask, see_through, factor, width_limit):
    """Per-template weight mask: ``weight_mask`` plus the blanked regions of wide candidates.

    A wide candidate (centre q_c, FWHM F_c) is blanked over +-2.5 F_c, except for templates
    narrower than F_c / 3, which only skip +-F_c / 2 around its centre.
    """
    wm = np.ones(q.size) if weight_mask is None else np.asarray(weight_mask, dtype=float).copy()
    for qc, fc in see_through:
        j = min(int(np.searchsorted(q, qc)), q.size - 1)
        reach = 0.5 * fc if factor * width_limit[j] * 3.0 < fc else 2.5 * fc
        wm[np.abs(q - qc) <= reach] = 0.0
    return wm


def _coarse_centres(dq, fw_row):
    """Centre indices with about ``_CENTRES_PER_FWHM`` per template FWHM (all points when sampling is coarser)."""
    steps = np.floor(np.cumsum(dq / fw_row) * _CENTRES_PER_FWHM)
    keep = np.empty(dq.size, dtype=bool)
    keep[0] = True
    keep[1:] = steps[1:] > steps[:-1]
    keep[-1] = True
    return np.flatnonzero(keep)


def _evaluate(q, resid, w, fw_row, centres, halfwin):
    """Exact template fits at ``centres``: (snr, amp), 0 where fewer than 8 weighted points or singular."""
    centres = np.ascontiguousarray(centres, dtype=np.int64)
    snr = np.zeros(centres.size)
    amp = np.zeros(centres.size)
    if centres.size:
        _scan_kernel.template_fits(
            np.ascontiguousarray(q),
            np.ascontiguousarray(resid),
            np.ascontiguousarray(w),
            np.ascontiguousarray(fw_row),
            centres,
            float(halfwin),
            8,
            snr,
            amp,
        )
    return snr, amp


class MatchedFilter:
    """Significance maps over centres x template widths, kept up to date while regions are blanked.

    Parameters
    ----------
    q, resid, sigma : ndarray of shape (n,)
        Positions (1/nm), residual above background, uncertainty.
    width_limit : ndarray of shape (n,)
        Bragg width limit W(q_j) at each centre.
    factors : ndarray of shape (k,)
        Template FWHM in units of W(q_j).
    refine_above : float
        Significance from which coarse local maxima are refined to the exact maximum
        (the detection threshold of the caller).
    weight_mask : ndarray of shape (n,), optional
        0 for points to ignore (regions of already accepted candidates); such
        points are neither used in windows nor tested as centres.
    see_through : sequence of (q_c, F_c), optional
        Blanked regions (+-2.5 F_c) of wide candidates that templates narrower
        than F_c / 3 ignore (they may look for a narrow peak on top of a wide
        feature; their local quadratic absorbs the wide feature), except
        within F_c / 2 of its centre.
    """

    def __init__(
        self,
        q,
        resid,
        sigma,
        width_limit,
        factors,
        *,
        refine_above: float,
        weight_mask=None,
        see_through: Sequence[tuple[float, float]] = (),
        min_points_per_fwhm: float = 2.5,
        halfwin: float = 4.0,
    ):
        self.q, self.resid = q, resid
        self.w_all = 1.0 / sigma**2
        self.width_limit = width_limit
        self.factors = np.asarray(factors, dtype=float)
        self.refine_above = float(refine_above)
        self.halfwin = halfwin
        dq = np.gradient(q)
        self.fwhm = self.factors[:, None] * width_limit[None, :]
        self.sampled = self.fwhm >= min_points_per_fwhm * dq[None, :]  # template resolved by the sampling
        self.coarse = [_coarse_centres(dq, row) for row in self.fwhm]
        k, n = self.fwhm.shape
        self.exact_snr = np.zeros((k, n))
        self.exact_amp = np.zeros((k, n))
        self.evaluated = np.zeros((k, n), dtype=bool)
        self.snr = np.zeros((k, n))
        self.amp = np.zeros((k, n))
        self.masks = [_row_weight_mask(q, weight_mask, see_through, fk, width_limit) for fk in self.factors]
        for r in range(k):
            self._update_row(r, np.ones(n, dtype=bool))

    @property
    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(snr, amp, fwhm), each of shape (k, n)."""
        return self.snr, self.amp, self.fwhm

    def blank(self, weight_mask, see_through: Sequence[tuple[float, float]] = ()) -> None:
        """Apply a new weight mask / wide-candidate list; recompute only the centres it affects."""
        q = self.q
        for r, fk in enumerate(self.factors):
            new = _row_weight_mask(q, weight_mask, see_through, fk, self.width_limit)
            changed = np.flatnonzero(new != self.masks[r])
            if changed.size == 0:
                continue
            self.masks[r] = new
            qc = q[changed]
            pos = np.clip(np.searchsorted(qc, q), 1, qc.size)
            nearest = np.minimum(np.abs(q - qc[pos - 1]), np.abs(q - qc[np.minimum(pos, qc.size - 1)]))
            affected = nearest <= self.halfwin * self.fwhm[r] * (1.0 + 1e-12)
            self._update_row(r, affected)

    def _update_row(self, r: int, affected: np.ndarray) -> None:
        wm = self.masks[r]
        w = self.w_all * wm
        testable = self.sampled[r] & (wm > 0)
        ev = self.evaluated[r]
        ev &= ~affected
        self.exact_snr[r, affected] = 0.0
        self.exact_amp[r, affected] = 0.0
        coarse = self.coarse[r]
        self._evaluate(r, w, coarse[~ev[coarse] & testable[coarse]])
        ev[coarse] = True
        self._refine(r, w, testable)
        done = np.flatnonzero(ev)
        grid = np.arange(self.q.size)
        self.snr[r] = np.where(testable, np.interp(grid, done, self.exact_snr[r, done]), 0.0)
        self.amp[r] = np.where(testable, np.interp(grid, done, self.exact_amp[r, done]), 0.0)

    def _refine(self, r: int, w: np.ndarray, testable: np.ndarray) -> None:
        """Move from each coarse local maximum above threshold to the exact maximum between its coarse
        neighbours by bisection (steps halved from the coarse spacing: O(log stride) fits per maximum)."""
        coarse = self.coarse[r]
        if coarse.size < 3:
            return
        v = self.exact_snr[r, coarse]
        prev = np.r_[-np.inf, v[:-1]]
        nxt = np.r_[v[1:], -np.inf]
        peaks = np.flatnonzero((v >= _REFINE_MARGIN * self.refine_above) & (v >= prev) & (v >= nxt) & (v > 0))
        if peaks.size == 0:
            return
        lo = coarse[np.maximum(peaks - 1, 0)]
        hi = coarse[np.minimum(peaks + 1, coarse.size - 1)]
        best = coarse[peaks].copy()
        step = np.maximum(best - lo, hi - best) // 2
        snr = self.exact_snr[r]
        while np.any(step >= 1):
            trial = np.unique(np.concatenate([best - step, best + step]))
            trial = trial[(trial >= 0) & (trial < self.q.size)]
            trial = trial[testable[trial] & ~self.evaluated[r, trial]]
            self._evaluate(r, w, trial)
            for side in (-1, 1):
                cand = np.clip(best + side * step, lo, hi)
                better = (step >= 1) & self.evaluated[r, cand] & (snr[cand] > snr[best])
                best = np.where(better, cand, best)
            step //= 2

    def _evaluate(self, r: int, w: np.ndarray, centres: np.ndarray) -> None:
        snr, amp = _evaluate(self.q, self.resid, w, self.fwhm[r], centres, self.halfwin)
        self.exact_snr[r, centres] = snr
        self.exact_amp[r, centres] = amp
        self.evaluated[r, centres] = True


def scan(
    q,
    resid,
    sigma,
    width_limit,
    factors,
    *,
    refine_above: float,
    weight_mask=None,
    see_through: Sequence[tuple[float, float]] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Significance map over centres and widths (one-off :class:`MatchedFilter`).

    Returns
    -------
    snr : ndarray of shape (k, n)
        A / sd(A); 0 where the template is narrower than the sampling allows.
    amp : ndarray of shape (k, n)
        Fitted Gaussian height A.
    fwhm : ndarray of shape (k, n)
        Template FWHM (1/nm).
    """
    return MatchedFilter(
        q,
        resid,
        sigma,
        width_limit,
        factors,
        refine_above=refine_above,
        weight_mask=weight_mask,
        see_through=see_through,
    ).maps


def pick_candidates(
    q: np.ndarray,
    snr: np.ndarray,
    amp: np.ndarray,
    fwhm: np.ndarray,
    threshold: float,
    max_candidates: int,
) -> list[Candidate]:
    """Non-maximum suppression on the significance map.

    Returns candidates strongest first; a candidate is dropped if its centre lies
    within the FWHM of a stronger one.
    """
    best_k = np.argmax(snr, axis=0)
    idx = np.arange(q.size)
    best = snr[best_k, idx]
    order = np.argsort(best)[::-1]
    out: list[Candidate] = []
    for j in order[: int(np.count_nonzero(best >= threshold))]:
        if len(out) >= max_candidates:
            break
        f = fwhm[best_k[j], j]
        if any(abs(q[j] - c.q0) < max(f, c.fwhm) for c in out):
            continue
        out.append(Candidate(float(q[j]), float(f), float(amp[best_k[j], j]), float(best[j])))
    return out
