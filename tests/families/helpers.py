"""Seeded synthetic curves at the noise level of the shipped series (tests/families)."""

from __future__ import annotations

import numpy as np

from saxs_mc.families import _basis
from saxs_mc.io.curves import Curve
from saxs_mc.models.distributions import SizeDistribution
from saxs_mc.models.sphere import contrast_to_cm2

CONTRAST = 34.65
#: q grid of the shipped pipeline: 300 pyFAI bins over 0.103-7.30 1/nm, fitted over 0.3-7.0 1/nm
Q = np.arange(0.3004, 7.0, 0.024051)
# Noise model of the shipped reduced curves (saxs-mc reduce --npt 300, 3 frames, blank_230C subtracted):
# sigma^2 = a(q)^2 + b(q) I, a and b fitted from nuc190C and nuc250C (tabulated, interpolated in q).
_NQ = np.array([0.3, 0.5, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0])
_NA = 1e-4 * np.array(
    [13.31, 6.35, 5.13, 5.62, 5.25, 4.93, 4.59, 4.37, 4.38, 4.08, 3.89, 4.21, 5.05, 6.48, 8.72, 14.65]
)
_NB = 1e-7 * np.array([21.8, 12.9, 9.0, 10.8, 9.4, 8.3, 7.1, 6.4, 6.7, 6.2, 4.3, 5.2, 7.1, 13.7, 31.3, 78.9])


def shipped_sigma(q: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    return np.sqrt(np.interp(q, _NQ, _NA) ** 2 + np.interp(q, _NQ, _NB) * np.clip(intensity, 0, None))


#: Scatter of the shipped reduced curves about their truth (10 samples minus blank_230C, 0.3-7 1/nm, 2790 points):
#: variance 0.88 of the stated sigma^2 and lag-1 correlation 0.14 (pyFAI pixel splitting shares pixels between
#: neighbouring bins; lag 2: 0.01).  Modelled as MA(1) noise s (e_i + theta e_(i-1)) / sqrt(1 + theta^2): for smooth
#: features its power, 0.88 (1 + theta)^2 / (1 + theta^2) = 1.13, is that of white noise at 1.06 x the stated sigma.
SHIPPED_VARIANCE_RATIO = 0.88
SHIPPED_LAG1 = 0.14
_THETA = (1 - np.sqrt(1 - 4 * SHIPPED_LAG1**2)) / (2 * SHIPPED_LAG1)


def shipped_noise(rng: np.random.Generator, sigma: np.ndarray) -> np.ndarray:
    """One noise draw with the variance and neighbour correlation of the shipped reduced curves."""
    e = rng.standard_normal(sigma.size + 1)
    return sigma * np.sqrt(SHIPPED_VARIANCE_RATIO / (1 + _THETA**2)) * (e[1:] + _THETA * e[:-1])


def gauss(r: float, phi: float, sd: float = 0.025) -> SizeDistribution:
    return SizeDistribution("gaussian", {"mean_nm": r, "sd_nm": sd}, phi)


def lognorm(median: float, sigma: float, phi: float) -> SizeDistribution:
    return SizeDistribution("lognormal", {"median_nm": median, "sigma": sigma}, phi)


def truth_curve(dists, background: float = 0.0, q: np.ndarray = Q) -> tuple[np.ndarray, np.ndarray]:
    i = sum(d.dsigma(q, CONTRAST) for d in dists) + background
    return i, shipped_sigma(q, i)


def noisy_curves(
    dists, seeds, background: float = 0.0, q: np.ndarray = Q, noise_scale: float = 1.0, white: bool = False
):
    """One Curve per seed with the shipped sigma (times ``noise_scale``) as its stated uncertainty.

    Noise: as in the shipped reduced curves (:func:`shipped_noise`), or ``white`` Gaussian at the stated sigma.
    """
    i, s = truth_curve(dists, background, q)
    s = s * noise_scale
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        noise = s * rng.standard_normal(q.size) if white else shipped_noise(rng, s)
        out.append(Curve(q, i + noise, s, "1/cm", f"seed{seed}"))
    return out


# Cramer-Rao bound: the smallest standard deviation any unbiased estimator of a share can have at this noise
def _noise_cov(q, intensity, noise, frames):
    """Noise covariance of a shipped-like curve: sigma^2 = a^2 + b I split into sample (a^2/2 + b I) and blank
    (a^2/2) parts, each scaled by 3 / frames; ``shipped``: with the measured variance ratio and MA(1) correlation."""
    a2 = np.interp(q, _NQ, _NA) ** 2
    bi = np.interp(q, _NQ, _NB) * np.clip(intensity, 0, None)
    var = (0.5 * a2 + bi) * 3 / frames[0] + 0.5 * a2 * 3 / frames[1]
    s = np.sqrt(var)
    if noise == "white":
        return np.diag(var)
    th = _THETA
    c2 = SHIPPED_VARIANCE_RATIO / (1 + th**2)
    r = np.diag(np.full(q.size, c2 * (1 + th**2))) + np.diag(np.full(q.size - 1, c2 * th), 1)
    r += np.diag(np.full(q.size - 1, c2 * th), -1)
    return s[:, None] * r * s[None, :]


def share_bound(fam_phis, fams, lognormal=None, *, noise="shipped", background=True, frames=(3, 3), q=Q):
    """Cramer-Rao standard deviation of each share (the families in ``fams`` order, then the log-normal).

    ``fam_phis``: volume fraction per family of ``fams`` (radii and widths known); ``lognormal``: (median, sigma, phi)
    with median and sigma unknown; the flat background unknown (``background``) or known.
    """
    drho2 = contrast_to_cm2(CONTRAST) ** 2
    cols = [_basis.family_column(q, f.radius_nm, f.sd_nm, drho2) for f in fams]
    amounts = list(fam_phis)
    intensity = sum(p * c for p, c in zip(fam_phis, cols))
    shape_cols = []
    if lognormal is not None:
        m, w, p = lognormal
        cols.append(_basis.lognormal_column(q, m, w, drho2))
        amounts.append(p)
        intensity = intensity + p * cols[-1]
        for k, h in ((0, 1e-4 * m), (1, 1e-4 * w)):
            up = _basis.lognormal_column(q, m + h * (k == 0), w + h * (k == 1), drho2)
            dn = _basis.lognormal_column(q, m - h * (k == 0), w - h * (k == 1), drho2)
            shape_cols.append(p * (up - dn) / (2 * h))
    jac = np.column_stack(cols + shape_cols + ([np.ones_like(q)] if background else []))
    fisher = jac.T @ np.linalg.solve(_noise_cov(q, intensity, noise, frames), jac)
    cov = np.linalg.inv(fisher)
    x = np.array(amounts)
    n, tot = x.size, x.sum()
    g = np.zeros((n, jac.shape[1]))
    g[:, :n] = (np.eye(n) - (x / tot)[:, None]) / tot
    return np.sqrt(np.diag(g @ cov @ g.T))
