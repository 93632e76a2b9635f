"""Analytic scattering of homogeneous spheres.

Units used throughout saxs_mc: q in 1/nm, radii in nm, scattering-length
density (SLD) contrasts in 1e-6 A^-2 (the unit SasView and McSAS use),
absolute intensities dSigma/dOmega in 1/cm.
"""

from __future__ import annotations

import numpy as np

#: X-ray SLDs in 1e-6 A^-2 (REFERENCE.md): CdSe and 1-octadecene.
SLD_CDSE = 42.3
SLD_OCTADECENE = 7.65
#: default contrast for CdSe nanocrystals in octadecene, 1e-6 A^-2
CONTRAST_CDSE_ODE = SLD_CDSE - SLD_OCTADECENE


def contrast_to_cm2(contrast_1e6_A2: float) -> float:
    """Convert an SLD difference from 1e-6 A^-2 to cm^-2 (1e-6 A^-2 = 1e10 cm^-2)."""
    return float(contrast_1e6_A2) * 1e10


def sphere_volume_cm3(radius_nm: np.ndarray | float) -> np.ndarray:
    """Sphere volume 4/3 pi r^3 in cm^3 for radii in nm."""
    r_cm = np.asarray(radius_nm, dtype=float) * 1e-7
    return 4.0 / 3.0 * np.pi * r_cm**3


def sphere_form_factor(q_nm: np.ndarray, radius_nm: np.ndarray | float) -> np.ndarray:
    """Normalized sphere form factor P(q, r) = [3 (sin qr - qr cos qr) / (qr)^3]^2.

    Parameters
    ----------
    q_nm : ndarray of shape (n_q,)
        Scattering vector in 1/nm.
    radius_nm : float or ndarray of shape (n_r,)
        Radii in nm.

    Returns
    -------
    ndarray of shape (n_q,) or (n_r, n_q)
        P(q, r) with P(0, r) = 1.  The small-qr limit uses the series
        1 - (qr)^2/5 + 3 (qr)^4/175 to avoid cancellation.
    """
    q = np.asarray(q_nm, dtype=float)
    r = np.asarray(radius_nm, dtype=float)
    x = np.multiply.outer(r, q) if r.ndim else r * q
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = np.abs(x) < 1e-2
    xs = x[small]
    out[small] = (1.0 - xs**2 / 10.0 + xs**4 / 280.0) ** 2
    xl = x[~small]
    amp = 3.0 * (np.sin(xl) - xl * np.cos(xl)) / xl**3
    out[~small] = amp * amp
    return out


def sphere_dsigma(
    q_nm: np.ndarray,
    radius_nm: np.ndarray,
    volume_fraction: np.ndarray,
    contrast_1e6_A2: float,
) -> np.ndarray:
    """Absolute dSigma/dOmega (1/cm) of dilute spheres with a discrete volume distribution.

    dSigma/dOmega(q) = drho^2 * sum_i phi_i V_i P(q, r_i)

    Parameters
    ----------
    q_nm : ndarray of shape (n_q,)
        q in 1/nm.
    radius_nm : ndarray of shape (n_r,)
        Radii in nm.
    volume_fraction : ndarray of shape (n_r,)
        Volume fraction phi_i of material in spheres of radius r_i (dimensionless).
    contrast_1e6_A2 : float
        SLD difference in 1e-6 A^-2.

    Returns
    -------
    ndarray of shape (n_q,)
        dSigma/dOmega in 1/cm.

    Raises
    ------
    ValueError
        Mismatched shapes; a radius that is not finite and > 0; a volume fraction
        that is not finite and >= 0; a non-finite contrast or q; q < 0.
    """
    r = np.atleast_1d(np.asarray(radius_nm, dtype=float))
    phi = np.atleast_1d(np.asarray(volume_fraction, dtype=float))
    q = np.asarray(q_nm, dtype=float)
    if r.shape != phi.shape:
        raise ValueError(
            f"radius_nm has shape {r.shape} but volume_fraction has {phi.shape}; give one fraction per radius"
        )
    _check_array("radius_nm", r, lower=0.0, strict=True, fix="give finite radii > 0 nm")
    _check_array("volume_fraction", phi, lower=0.0, strict=False, fix="give finite volume fractions >= 0")
    _check_array("q_nm", q, lower=0.0, strict=False, fix="give finite q >= 0 in 1/nm")
    c = float(contrast_1e6_A2)
    if not np.isfinite(c):
        raise ValueError(
            f"contrast_1e6_A2={contrast_1e6_A2!r} is not finite; give the SLD difference in 1e-6 A^-2 "
            f"(CdSe in octadecene: {CONTRAST_CDSE_ODE:.2f})"
        )
    drho = contrast_to_cm2(c)
    p = sphere_form_factor(q_nm, r)
    return drho**2 * (phi * sphere_volume_cm3(r)) @ p


def _check_array(name: str, a: np.ndarray, *, lower: float, strict: bool, fix: str) -> None:
    """ValueError naming the first bad element of ``a`` (non-finite, or below/at ``lower``)."""
    bad = ~np.isfinite(a) | ((a <= lower) if strict else (a < lower))
    if bad.any():
        k = int(np.flatnonzero(bad.reshape(-1))[0])
        rel = ">" if strict else ">="
        raise ValueError(
            f"{name}[{k}]={float(a.reshape(-1)[k])!r} is invalid ({int(bad.sum())} bad value(s); each must be finite "
            f"and {rel} {lower:g}); {fix}"
        )
