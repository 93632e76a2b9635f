"""Slow NumPy references for the peaks kernels (tests only)."""

from __future__ import annotations

import numpy as np

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def template_fits(q, resid, w, fw_row, centres, halfwin=4.0):
    """Matched-filter template fits at ``centres`` by explicit 4x4 normal equations and np.linalg.inv."""
    snr = np.zeros(centres.size)
    amp = np.zeros(centres.size)
    for i, j in enumerate(centres):
        f = fw_row[j]
        d = (q - q[j]) / f
        ww = w * (np.abs(d) <= halfwin)
        if np.count_nonzero(ww > 0) < 8:
            continue
        g = np.exp(-0.5 * (d / _FWHM_TO_SIGMA) ** 2)
        basis = np.stack([np.ones_like(d), d, d * d, g])
        mat = (basis * ww) @ basis.T
        rhs = (basis * ww) @ resid
        inv = np.linalg.inv(mat)
        coef = inv @ rhs
        if inv[3, 3] > 0:
            snr[i] = coef[3] / np.sqrt(inv[3, 3])
            amp[i] = coef[3]
    return snr, amp
