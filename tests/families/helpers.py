"""Seeded synthetic curves at the noise level of the shipped series (tests/families)."""

from __future__ import annotations

import numpy as np

from saxs_mc.io.curves import Curve
from saxs_mc.models.distributions import SizeDistribution

CONTRAST = 34.65
#: q grid of the shipped pipeline: 300 pyFAI bins over 0.103-7.30 1/nm, fitted over 0.3-7.0 1/nm
Q = np.arange(0.3004, 7.0, 0.024051)
# Noise model of the shipped reduced curves (saxs-mc reduce --npt 300, 3 frames, blank_230C subtracted):
# sigma^2 = a(q)^2 + b(q) I, a and b fitted from nuc190C and nuc250C (tabulated, interpolated in q).
_NQ = np.array([0.3, 0.5, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0])
_NA = 1e-4 * np.array([13.31, 6.35, 5.13, 5.62, 5.25, 4.93, 4.59, 4.37, 4.38, 4.08, 3.89, 4.21, 5.05, 6.48, 8.72, 14.65])
_NB = 1e-7 * np.array([21.8, 12.9, 9.0, 10.8, 9.4, 8.3, 7.1, 6.4, 6.7, 6.2, 4.3, 5.2, 7.1, 13.7, 31.3, 78.9])


def shipped_sigma(q: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    return np.sqrt(np.interp(q, _NQ, _NA) ** 2 + np.interp(q, _NQ, _NB) * np.clip(intensity, 0, None))


def gauss(r: float, phi: float, sd: float = 0.025) -> SizeDistribution:
    return SizeDistribution("gaussian", {"mean_nm": r, "sd_nm": sd}, phi)


def lognorm(median: float, sigma: float, phi: float) -> SizeDistribution:
    return SizeDistribution("lognormal", {"median_nm": median, "sigma": sigma}, phi)


def truth_curve(dists, background: float = 0.0, q: np.ndarray = Q) -> tuple[np.ndarray, np.ndarray]:
    i = sum(d.dsigma(q, CONTRAST) for d in dists) + background
    return i, shipped_sigma(q, i)


def noisy_curves(dists, seeds, background: float = 0.0, q: np.ndarray = Q, noise_scale: float = 1.0):
    """One Curve per seed (Gaussian noise of the shipped sigma, times ``noise_scale``)."""
    i, s = truth_curve(dists, background, q)
    s = s * noise_scale
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        out.append(Curve(q, i + s * rng.standard_normal(q.size), s, "1/cm", f"seed{seed}"))
    return out
