"""Covariance uncertainties checked against noise resampling (parametric bootstrap)."""

from __future__ import annotations

import numpy as np

from saxs_mc.families import Family, decompose
from saxs_mc.io.curves import Curve
from tests.families.helpers import CONTRAST, gauss, lognorm, noisy_curves

FAMS = (Family("F087", 0.87), Family("F094", 0.94), Family("F102", 1.02))


def _resample_std(res, n, seed, **kw):
    """Refit ``n`` curves drawn around the fitted model with the data's sigma; std of each term's share."""
    rng = np.random.default_rng(seed)
    names = [t.name for t in res.terms if t.present]
    shares = []
    for _ in range(n):
        c = Curve(res.q_nm, res.model + res.sigma * rng.standard_normal(res.q_nm.size), res.sigma, "1/cm")
        r = decompose(c, FAMS, contrast_1e6_A2=CONTRAST, selection="none", **kw)
        shares.append([r.term(nm).share for nm in names])
    return names, np.std(shares, axis=0, ddof=1)


def test_covariance_matches_resampling_fixed_radii():
    c = noisy_curves([gauss(0.87, 2.5e-4), gauss(0.94, 4.5e-4), gauss(1.02, 3.0e-4)], [11])[0]
    res = decompose(c, FAMS, contrast_1e6_A2=CONTRAST, selection="none")
    names, boot = _resample_std(res, 40, 5)
    stated = np.array([res.term(n).share_std for n in names])
    ratio = stated / boot
    assert np.all((ratio > 0.7) & (ratio < 1.45)), dict(zip(names, ratio))


def test_covariance_matches_resampling_with_continuous():
    c = noisy_curves([gauss(0.87, 2.4e-4), gauss(0.94, 3.6e-4), lognorm(1.4, 0.15, 2.4e-4)], [12])[0]
    fams = FAMS[:2]
    res = decompose(c, fams, contrast_1e6_A2=CONTRAST, selection="none", continuous=True)
    rng = np.random.default_rng(6)
    shares = []
    for _ in range(25):
        cc = Curve(res.q_nm, res.model + res.sigma * rng.standard_normal(res.q_nm.size), res.sigma, "1/cm")
        r = decompose(cc, fams, contrast_1e6_A2=CONTRAST, selection="none", continuous=True)
        shares.append([r.term(n).share for n in ("F087", "F094", "continuous")])
    boot = np.std(shares, axis=0, ddof=1)
    stated = np.array([res.term(n).share_std for n in ("F087", "F094", "continuous")])
    ratio = stated / boot
    assert np.all((ratio > 0.65) & (ratio < 1.5)), ratio


def test_refined_radii_widen_the_uncertainty():
    # refining radii inside +-0.02 nm trades off against the shares: the stated sigma must grow with it
    c = noisy_curves([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], [2])[0]
    fixed = decompose(c, FAMS, contrast_1e6_A2=CONTRAST)
    free = decompose(
        c,
        [Family(f.name, f.radius_nm, window_nm=(f.radius_nm - 0.02, f.radius_nm + 0.02)) for f in FAMS],
        contrast_1e6_A2=CONTRAST,
    )
    assert free.term("F094").share_std > 3 * fixed.term("F094").share_std
    assert abs(free.term("F094").share - 0.7) <= 2 * free.term("F094").share_std
