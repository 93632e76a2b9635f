"""Robust smooth background under Bragg peaks (private).

The background is a penalized smoother (Whittaker / discrete smoothing
spline) of a log-like transform of the intensity, expressed in a *warped*
q coordinate ``u(q)`` in which the widest admissible Bragg peak has unit
width everywhere:

    W(q) = min(max_rel_fwhm * q, max_fwhm_nm)     (the Bragg width limit, 1/nm)
    du/dq = 1 / W(q)

so ``u = ln(q) / max_rel_fwhm`` below ``q_c = max_fwhm_nm / max_rel_fwhm``
and linear in q above.  A power law is a straight line in ``u`` at low q,
so the curvature penalty does not fight it.

Peaks are kept out of the background by (i) iteratively giving zero weight
to points more than ``clip`` standard deviations *above* the current
baseline (asymmetric, noise-aware reweighting) and (ii) masking the windows
of detected candidates in a second pass.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def bragg_width_limit(q_nm: np.ndarray, max_rel_fwhm: float, max_fwhm_nm: float) -> np.ndarray:
    """W(q) = min(max_rel_fwhm * q, max_fwhm_nm): widest FWHM (1/nm) accepted as a Bragg peak."""
    return np.minimum(max_rel_fwhm * np.asarray(q_nm, dtype=float), max_fwhm_nm)


def warped_coordinate(q_nm: np.ndarray, max_rel_fwhm: float, max_fwhm_nm: float) -> np.ndarray:
    """u(q) with du/dq = 1/W(q) (see module docstring); monotonic in q."""
    q = np.asarray(q_nm, dtype=float)
    qc = max_fwhm_nm / max_rel_fwhm
    low = np.log(np.minimum(q, qc)) / max_rel_fwhm
    high = np.maximum(q - qc, 0.0) / max_fwhm_nm
    return low + high


def glog(intensity: np.ndarray, sigma: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Generalized log y = asinh(I / scale) and its propagated uncertainty.

    For I >> scale this is ln(2 I / scale) (log space, where power laws are
    straight); near zero it is linear, so blank-subtracted curves with
    negative points are handled.
    """
    y = np.arcsinh(intensity / scale)
    dy = sigma / np.sqrt(intensity**2 + scale**2)
    return y, dy


def _penalty(u: np.ndarray) -> sp.csr_matrix:
    """Discrete integral of the squared second derivative on a non-uniform grid."""
    n = u.size
    h1 = u[1:-1] - u[:-2]
    h2 = u[2:] - u[1:-1]
    rows = np.repeat(np.arange(n - 2), 3)
    cols = (np.arange(n - 2)[:, None] + np.arange(3)[None, :]).ravel()
    vals = np.column_stack([2.0 / (h1 * (h1 + h2)), -2.0 / (h1 * h2), 2.0 / (h2 * (h1 + h2))]).ravel()
    d2 = sp.csr_matrix((vals, (rows, cols)), shape=(n - 2, n))
    cell = sp.diags(0.5 * (h1 + h2))
    return (d2.T @ cell @ d2).tocsc()


def robust_baseline(
    u: np.ndarray,
    y: np.ndarray,
    dy: np.ndarray,
    *,
    stiffness: float = 1.0,
    clip: float | None = 3.0,
    exclude: np.ndarray | None = None,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetrically reweighted penalized smoother of ``y(u)``.

    Parameters
    ----------
    u, y, dy : ndarray of shape (n,)
        Warped coordinate, transformed intensity and its uncertainty.
    stiffness : float
        Penalty weight lambda on the integral of (d2 z / du2)^2; the
        half-power wavelength of the smoother is 2 pi lambda^(1/4) in u.
    clip : float
        Points more than ``clip`` * dy above the baseline get zero weight
        (None: no reweighting, a single solve).
    exclude : bool ndarray of shape (n,), optional
        Points never used (windows of detected peaks).

    Returns
    -------
    z : ndarray of shape (n,)
        Baseline in the transformed space.
    used : bool ndarray of shape (n,)
        Points that carried weight in the last iteration.
    """
    n = u.size
    cell = np.empty(n)
    cell[1:-1] = 0.5 * (u[2:] - u[:-2])
    cell[0] = u[1] - u[0]
    cell[-1] = u[-1] - u[-2]
    pen = stiffness * _penalty(u)
    keep = np.ones(n, dtype=bool) if exclude is None else ~exclude
    if keep.sum() < max(5, n // 10):  # never let masks leave the smoother unconstrained
        keep = np.ones(n, dtype=bool)
    used = keep.copy()
    z = y
    for _ in range(max_iter):
        w = cell * used
        a = sp.diags(w).tocsc() + pen
        z = spla.spsolve(a, w * y)
        if clip is None:
            break
        new = keep & ((y - z) < clip * dy)
        if np.array_equal(new, used):
            break
        used = new
    return np.asarray(z), used
