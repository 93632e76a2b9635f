"""Simulated test curves for the peaks tests (shared helpers, not tests)."""

from __future__ import annotations

import numpy as np

from saxs_mc.models.distributions import make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE


def pseudo_voigt(q, center, fwhm, height, fraction=0.5):
    """Unit-consistent pseudo-Voigt with peak height ``height``."""
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    g = np.exp(-0.5 * ((q - center) / s) ** 2)
    lor = 1.0 / (1.0 + ((q - center) / (fwhm / 2)) ** 2)
    return height * ((1 - fraction) * g + fraction * lor)


def precursor_background(q):
    """Capillary power law + broad precursor maximum near 0.25 1/nm (FWHM/q ~ 0.6) + constant (1/cm)."""
    return 2e-3 * q**-3.0 + 0.6 * np.exp(-0.5 * (np.log(q / 0.25) / 0.28) ** 2) + 0.05


def noisy(q, clean, *, rel=0.01, floor=0.002, seed=0):
    """Add seeded Gaussian noise with sigma = rel * I + floor; return (I_noisy, sigma)."""
    rng = np.random.default_rng(seed)
    sigma = rel * np.abs(clean) + floor
    return clean + rng.normal(0.0, sigma), sigma


def q_grid(n=700, q_min=0.1, q_max=7.0):
    return np.linspace(q_min, q_max, n)


def lamellar_curve(seed=0, heights=(0.4, 0.12), fwhm=(0.06, 0.09), n=700):
    q = q_grid(n)
    clean = (
        precursor_background(q)
        + pseudo_voigt(q, 1.84, fwhm[0], heights[0])
        + pseudo_voigt(q, 3.69, fwhm[1], heights[1])
    )
    i, s = noisy(q, clean, seed=seed)
    return q, i, s


def sphere_curve(radius_nm=1.5, rel_sd=0.07, seed=0, n=600, q_min=0.1, q_max=7.0, rel=0.01):
    q = np.linspace(q_min, q_max, n)
    dist = make_distribution(
        {"kind": "gaussian", "mean_nm": radius_nm, "sd_nm": rel_sd * radius_nm, "volume_fraction": 1e-3}
    )
    clean = dist.dsigma(q, CONTRAST_CDSE_ODE) + 1e-3
    i, s = noisy(q, clean, rel=rel, floor=2e-4, seed=seed)
    return q, i, s
