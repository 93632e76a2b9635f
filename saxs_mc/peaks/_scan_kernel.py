"""Numba kernel of the matched-filter scan (private; see :mod:`saxs_mc.peaks._matched`).

For each centre the weighted normal equations of ``a + b x + c x^2 + A g(x)``
(x = (q - q_j)/F, g a unit-height Gaussian of FWHM F) are accumulated over the
window |x| <= halfwin and solved by a 4x4 Cholesky factorisation S = L L^T.
With the template as the last basis function, the significance A / sd(A) is
the last component of L^-1 r and A = (L^-1 r)_3 / L_33.  Compared with the NumPy
reference ``tests/peaks/reference.py:template_fits``.
"""

from __future__ import annotations

import math

import numpy as np

from saxs_mc._numba import njit

_INV_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # FWHM / sigma of a Gaussian


@njit
def template_fits(q, resid, w, fw_row, centres, halfwin, min_points, snr_out, amp_out):
    """Fill ``snr_out[i]``, ``amp_out[i]`` for centre index ``centres[i]`` (0 where < min_points or singular).

    Parameters
    ----------
    q, resid, w, fw_row : float64 arrays of shape (n,)
        Positions (strictly increasing), residual, weights 1/sigma^2 (0 = ignored), template FWHM per centre.
    centres : int64 array of shape (m,)
    halfwin : float
        Window half-width in template FWHMs.
    min_points : int
        Minimum number of weighted points in the window.
    snr_out, amp_out : float64 arrays of shape (m,)
    """
    n = q.size
    s = np.empty((4, 4))
    low = np.empty((4, 4))
    r = np.empty(4)
    b = np.empty(4)
    y = np.empty(4)
    for i in range(centres.size):
        j = centres[i]
        f = fw_row[j]
        q0 = q[j]
        half = halfwin * f
        for a in range(4):
            r[a] = 0.0
            for e in range(4):
                s[a, e] = 0.0
        npts = 0
        c = np.searchsorted(q, q0 - half)
        while c < n and q[c] <= q0 + half:
            x = (q[c] - q0) / f
            wc = w[c]
            if wc > 0.0 and abs(x) <= halfwin:
                npts += 1
                t = x * _INV_SIGMA
                b[0] = 1.0
                b[1] = x
                b[2] = x * x
                b[3] = math.exp(-0.5 * t * t)
                for a in range(4):
                    wb = wc * b[a]
                    r[a] += wb * resid[c]
                    for e in range(a, 4):
                        s[a, e] += wb * b[e]
            c += 1
        snr_out[i] = 0.0
        amp_out[i] = 0.0
        if npts < min_points:
            continue
        # Cholesky S = L L^T (S[a, e] = s[min(a, e), max(a, e)]), then forward solve L y = r
        ok = True
        for a in range(4):
            for e in range(a + 1):
                acc = s[e, a]
                for k in range(e):
                    acc -= low[a, k] * low[e, k]
                if a == e:
                    if not acc > 0.0:
                        ok = False
                        break
                    low[a, a] = math.sqrt(acc)
                else:
                    low[a, e] = acc / low[e, e]
            if not ok:
                break
        if not ok:
            continue
        for a in range(4):
            acc = r[a]
            for k in range(a):
                acc -= low[a, k] * y[k]
            y[a] = acc / low[a, a]
        snr_out[i] = y[3]
        amp_out[i] = y[3] / low[3, 3]
