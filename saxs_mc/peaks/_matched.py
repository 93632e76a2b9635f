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
"""

from __future__ import annotations

import numpy as np

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def scan(
    q: np.ndarray,
    resid: np.ndarray,
    sigma: np.ndarray,
    width_limit: np.ndarray,
    factors: np.ndarray,
    min_points_per_fwhm: float = 2.5,
    chunk: int = 128,
    weight_mask: np.ndarray | None = None,
    halfwin: float = 4.0,
    poly: int = 2,
    see_through: list[tuple[float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Significance map over centres and widths.

    Parameters
    ----------
    q, resid, sigma : ndarray of shape (n,)
        Positions (1/nm), residual above background, uncertainty.
    width_limit : ndarray of shape (n,)
        Bragg width limit W(q_j) at each centre.
    factors : ndarray of shape (k,)
        Template FWHM in units of W(q_j).
    weight_mask : ndarray of shape (n,), optional
        0 for points to ignore (regions of already accepted candidates); such
        points are neither used in windows nor tested as centres.
    see_through : list of (q_c, F_c), optional
        Blanked regions (+-2.5 F_c) of wide candidates that templates narrower
        than F_c / 3 ignore (they may look for a narrow peak on top of a wide
        feature; their local quadratic absorbs the wide feature), except
        within F_c / 2 of its centre.

    Returns
    -------
    snr : ndarray of shape (k, n)
        A / sd(A); 0 where the template is narrower than the sampling allows.
    amp : ndarray of shape (k, n)
        Fitted Gaussian height A.
    fwhm : ndarray of shape (k, n)
        Template FWHM (1/nm).
    """
    n = q.size
    w = 1.0 / sigma**2
    if weight_mask is not None and not see_through:
        w = w * weight_mask
    dq = np.gradient(q)
    snr = np.zeros((factors.size, n))
    amp = np.zeros((factors.size, n))
    fw = factors[:, None] * width_limit[None, :]
    w_all = w
    for k in range(factors.size):
        w = w_all
        wm_k = weight_mask
        if see_through:
            wm_k = np.ones(n) if weight_mask is None else weight_mask.copy()
            for qc, fc in see_through:
                j = min(int(np.searchsorted(q, qc)), n - 1)
                if factors[k] * width_limit[j] * 3.0 < fc:
                    wm_k[np.abs(q - qc) <= 0.5 * fc] = 0.0
                else:
                    wm_k[np.abs(q - qc) <= 2.5 * fc] = 0.0
            w = w_all * wm_k
        for start in range(0, n, chunk):
            sl = slice(start, min(n, start + chunk))
            f = fw[k, sl][:, None]
            c0 = int(np.searchsorted(q, q[sl.start] - halfwin * fw[k, sl].max(), side="left"))
            c1 = int(np.searchsorted(q, q[sl.stop - 1] + halfwin * fw[k, sl].max(), side="right"))
            cols = slice(c0, c1)
            d = (q[None, cols] - q[sl, None]) / f  # offset in units of the template FWHM
            inwin = np.abs(d) <= halfwin
            g = np.exp(-0.5 * (d * (1.0 / _FWHM_TO_SIGMA)) ** 2)
            basis = (np.ones_like(d), d, d * d if poly == 2 else np.zeros_like(d), g)  # local quadratic background + template
            ww = w[None, cols] * inwin
            mat = np.empty((d.shape[0], 4, 4))
            rhs = np.empty((d.shape[0], 4))
            for a in range(4):
                wa = ww * basis[a]
                rhs[:, a] = wa @ resid[cols]
                for b in range(a, 4):
                    mat[:, a, b] = mat[:, b, a] = (wa * basis[b]).sum(1)
            npts = inwin.sum(1)
            npts = (ww > 0).sum(1)
            ok = (fw[k, sl] >= min_points_per_fwhm * dq[sl]) & (npts >= 8)
            if wm_k is not None:
                ok &= wm_k[sl] > 0
            mat[~ok] = np.eye(4)
            if poly != 2:
                mat[:, 2, :] = 0.0
                mat[:, :, 2] = 0.0
                mat[:, 2, 2] = 1.0
            rhs[~ok] = 0.0
            try:
                inv = np.linalg.inv(mat)
            except np.linalg.LinAlgError:
                inv = np.linalg.pinv(mat)
            coef = np.einsum("nij,nj->ni", inv, rhs)
            var = inv[:, 3, 3]
            good = ok & (var > 0) & np.isfinite(var)
            snr[k, sl] = np.where(good, coef[:, 3] / np.sqrt(np.where(good, var, 1.0)), 0.0)
            amp[k, sl] = np.where(good, coef[:, 3], 0.0)
    return snr, amp, fw


def pick_candidates(
    q: np.ndarray, snr: np.ndarray, amp: np.ndarray, fwhm: np.ndarray, threshold: float, max_candidates: int,
    rows: np.ndarray | None = None,
) -> list[tuple[float, float, float, float]]:
    """Non-maximum suppression on the significance map.

    Returns a list of (q0, fwhm, height, snr), strongest first; a candidate
    is dropped if its centre lies within the FWHM of a stronger one.
    """
    if rows is not None:  # restrict to a subset of template widths
        snr, amp, fwhm = snr[rows], amp[rows], fwhm[rows]
    best_k = np.argmax(snr, axis=0)
    idx = np.arange(q.size)
    best = snr[best_k, idx]
    order = np.argsort(best)[::-1]
    out: list[tuple[float, float, float, float]] = []
    for j in order:
        s = best[j]
        if s < threshold or len(out) >= max_candidates:
            break
        f = fwhm[best_k[j], j]
        if any(abs(q[j] - c[0]) < max(f, c[1]) for c in out):
            continue
        out.append((float(q[j]), float(f), float(amp[best_k[j], j]), float(s)))
    return out
