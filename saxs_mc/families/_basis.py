"""Model columns of the decomposition: intensity per unit volume fraction of each term.

With ``drho2`` the squared contrast in cm^-4, a population with volume-weighted
radius density f_v(r) and volume fraction phi scatters
``phi * drho2 * integral f_v(r) V(r) P(q, r) dr`` (1/cm; REFERENCE, sphere
scattering), so each column below is that integral for phi = 1, evaluated by
quadrature on nodes at -4..+4 standard deviations.
"""

from __future__ import annotations

import numpy as np

from saxs_mc.models.sphere import sphere_form_factor, sphere_volume_cm3

_GAUSS_X = np.linspace(-4.0, 4.0, 17)
_GAUSS_W = np.exp(-0.5 * _GAUSS_X**2)
#: largest phase step q_max dr between quadrature nodes of the log-normal (radians)
_MAX_PHASE_STEP = 0.6


def _column(q: np.ndarray, r: np.ndarray, w: np.ndarray, drho2: float) -> np.ndarray:
    keep = r > 0
    r, w = r[keep], w[keep]
    w = w / w.sum()
    return drho2 * (w * sphere_volume_cm3(r)) @ sphere_form_factor(q, r)


def family_column(q: np.ndarray, radius_nm: float, sd_nm: float, drho2: float) -> np.ndarray:
    """(n_q,) intensity of a Gaussian (volume-weighted, truncated at r > 0) family with phi = 1."""
    return _column(q, radius_nm + sd_nm * _GAUSS_X, _GAUSS_W, drho2)


def lognormal_column(q: np.ndarray, median_nm: float, sigma: float, drho2: float) -> np.ndarray:
    """(n_q,) intensity of a volume-weighted log-normal population (median, sigma of ln r) with phi = 1.

    Nodes are equally spaced in ln r over -4..+4 sigma, dense enough that neighbouring
    radii differ in phase q_max dr by at most 0.6 rad (25 to 401 nodes).
    """
    r_hi = median_nm * np.exp(3.0 * sigma)
    step = _MAX_PHASE_STEP / max(sigma * float(np.max(q)) * r_hi, 1e-12)  # in units of sigma
    n = int(np.clip(np.ceil(8.0 / step) + 1, 25, 401))
    x = np.linspace(-4.0, 4.0, n)
    return _column(q, median_nm * np.exp(sigma * x), np.exp(-0.5 * x * x), drho2)


class LogNormalGrid:
    """Log-normal columns as weights on a precomputed radius grid (one form-factor table per fit).

    The table V(r_j) P(q, r_j) is built once on radii equally spaced in ln r,
    covering the median bounds +-4 sigma_max, with a step small enough that
    neighbouring radii differ in phase q_max dr by at most 0.6 rad (up to 15 nm;
    larger spheres add little at high q).  A column is then one matrix-vector
    product with Gaussian weights in ln r, truncated at +-4 sigma.
    """

    def __init__(self, q: np.ndarray, median_bounds: tuple[float, float], sigma_max: float, drho2: float):
        lo = median_bounds[0] * np.exp(-4.0 * sigma_max)
        hi = median_bounds[1] * np.exp(4.0 * sigma_max)
        step = _MAX_PHASE_STEP / (float(np.max(q)) * min(hi, 15.0))
        n = int(np.clip(np.ceil(np.log(hi / lo) / step) + 1, 200, 3000))
        self.ln_r = np.linspace(np.log(lo), np.log(hi), n)
        r = np.exp(self.ln_r)
        self.table = drho2 * sphere_volume_cm3(r)[:, None] * sphere_form_factor(q, r)

    def column(self, median_nm: float, sigma: float) -> np.ndarray:
        mu = np.log(median_nm)
        i0, i1 = np.searchsorted(self.ln_r, (mu - 4.0 * sigma, mu + 4.0 * sigma))
        i1 = max(i1, i0 + 1)
        x = (self.ln_r[i0:i1] - mu) / sigma
        w = np.exp(-0.5 * x * x)
        return (w / w.sum()) @ self.table[i0:i1]


def lognormal_mean_nm(median_nm: float, sigma: float) -> float:
    """Volume-weighted mean radius of the log-normal (nm)."""
    return float(median_nm * np.exp(0.5 * sigma**2))


def power_law_column(q: np.ndarray, exponent: float) -> np.ndarray:
    """(n_q,) (q / q_min)^-exponent: coefficient = intensity at the lowest fitted q."""
    return (q / q[0]) ** (-float(exponent))
