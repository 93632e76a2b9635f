"""Optical sizing of CdSe nanocrystals from the first excitonic absorption peak.

Yu, Qu, Guo and Peng, Chem. Mater. 2003, 15, 2854 fitted the TEM diameter of
CdSe nanocrystals against the wavelength of their first excitonic absorption
maximum with a quartic polynomial (lambda and D in nm)::

    D = 1.6122e-9 L^4 - 2.6575e-6 L^3 + 1.6242e-3 L^2 - 0.4277 L + 41.57

It is the curve used to name magic-size clusters (MSC) by their absorption
peak (CdSe-382, -403, -437, -465) and to compare them with SAXS sizes: the
reference study (Palencia et al., Nanoscale 2020) reports SAXS diameters of
1.74 / 1.88 / 2.04 nm for families whose optical (Yu) diameters are
1.58 / 1.85 / 2.06 nm (CdSe-403 / -437 / -465).

Validity
--------
Yu et al. calibrated the curve on nanocrystals of about 2-8 nm; the MSC
literature and the reference study extend it down to the 382-403 nm peaks
(about 1.4-1.6 nm).  This module accepts :data:`YU_ABSORPTION_RANGE_NM`
= 380-660 nm, i.e. :data:`YU_DIAMETER_RANGE_NM` of about 1.37-8.6 nm, where the
quartic is monotonic; outside it the polynomial is an uncalibrated extrapolation
(it even turns back below 286 nm), so values there raise :class:`ValueError`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["YU_COEFFICIENTS", "YU_ABSORPTION_RANGE_NM", "YU_DIAMETER_RANGE_NM", "yu_diameter_nm", "yu_absorption_nm"]

#: polynomial coefficients of D(lambda), highest power first (Yu et al. 2003, CdSe)
YU_COEFFICIENTS: tuple[float, ...] = (1.6122e-9, -2.6575e-6, 1.6242e-3, -0.4277, 41.57)

#: first-exciton wavelengths (nm) accepted by :func:`yu_diameter_nm`
YU_ABSORPTION_RANGE_NM: tuple[float, float] = (380.0, 660.0)


def _poly(lam: np.ndarray) -> np.ndarray:
    return np.polyval(np.asarray(YU_COEFFICIENTS), lam)


#: diameters (nm) accepted by :func:`yu_absorption_nm` (the image of the wavelength range)
YU_DIAMETER_RANGE_NM: tuple[float, float] = (
    float(_poly(np.array(YU_ABSORPTION_RANGE_NM[0]))),
    float(_poly(np.array(YU_ABSORPTION_RANGE_NM[1]))),
)


def _as_finite_array(value: object, name: str, unit: str) -> np.ndarray:
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r}: give a number in {unit}, not a bool")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r}: give a number or an array of numbers in {unit}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}={value!r}: contains NaN/inf; give finite values in {unit}")
    return arr


def _check_range(arr: np.ndarray, name: str, lo: float, hi: float, unit: str, what: str) -> None:
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        v = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        raise ValueError(
            f"{name}={v:g} {unit} is outside the validity range {lo:g}-{hi:g} {unit} of the Yu et al. (2003) CdSe "
            f"sizing curve ({what}); outside it the quartic is an uncalibrated extrapolation: use another sizing "
            "calibration (e.g. Jasieniak et al. 2009) or report the value without optical size"
        )


def yu_diameter_nm(absorption_nm: float | np.ndarray) -> float | np.ndarray:
    """CdSe diameter from the first excitonic absorption peak (Yu et al. 2003).

    Parameters
    ----------
    absorption_nm : float or array_like, shape (n,)
        Wavelength of the first excitonic absorption maximum in nm, within
        :data:`YU_ABSORPTION_RANGE_NM`.

    Returns
    -------
    float or ndarray, shape (n,)
        Diameter in nm (a float for a scalar input).

    Raises
    ------
    ValueError
        A wavelength outside the validity range, or NaN/inf.

    Examples
    --------
    >>> round(yu_diameter_nm(437), 2)
    1.85
    """
    lam = _as_finite_array(absorption_nm, "absorption_nm", "nm")
    _check_range(lam, "absorption_nm", *YU_ABSORPTION_RANGE_NM, "nm", "first-exciton wavelength")
    d = _poly(lam)
    return float(d) if d.ndim == 0 else d


def yu_absorption_nm(diameter_nm: float | np.ndarray, *, tol_nm: float = 1e-10) -> float | np.ndarray:
    """First-exciton wavelength of a CdSe nanocrystal of a given diameter: the inverse of :func:`yu_diameter_nm`.

    The quartic is monotonic over the validity range, so each diameter has one
    wavelength, found by bisection to ``tol_nm``.

    Parameters
    ----------
    diameter_nm : float or array_like, shape (n,)
        Diameter in nm, within :data:`YU_DIAMETER_RANGE_NM`.
    tol_nm : float
        Absolute tolerance on the wavelength (nm).

    Returns
    -------
    float or ndarray, shape (n,)
        Wavelength in nm (a float for a scalar input).

    Raises
    ------
    ValueError
        A diameter outside the validity range (e.g. a SAXS radius passed instead
        of a diameter gives a too small value), or NaN/inf.
    """
    d = _as_finite_array(diameter_nm, "diameter_nm", "nm")
    if not (isinstance(tol_nm, (int, float)) and math.isfinite(tol_nm) and tol_nm > 0):
        raise ValueError(f"tol_nm={tol_nm!r}: give a positive tolerance in nm (default 1e-10)")
    lo_d, hi_d = YU_DIAMETER_RANGE_NM
    _check_range(d, "diameter_nm", lo_d, hi_d, "nm", "diameter; pass a diameter, not a radius")
    flat = d.ravel()
    lo = np.full(flat.shape, YU_ABSORPTION_RANGE_NM[0])
    hi = np.full(flat.shape, YU_ABSORPTION_RANGE_NM[1])
    # bisection: D(lambda) increases on the validity range
    n_iter = int(math.ceil(math.log2((hi[0] - lo[0]) / tol_nm))) + 1 if flat.size else 0
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        above = _poly(mid) > flat
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    out = (0.5 * (lo + hi)).reshape(d.shape)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------
# SAXS sizes against the optical (Yu) scale (moved here from the pipeline report)
def yu_equivalent_absorption_nm(radius_nm: float | None) -> float | None:
    """First-exciton wavelength (Yu et al. 2003) of a CdSe sphere of this SAXS *radius*.

    A tolerant variant of :func:`yu_absorption_nm` for tables: it takes a radius
    (the SAXS read-out quantity) and returns None instead of raising when the
    radius is missing, not finite or its diameter lies outside
    :data:`YU_DIAMETER_RANGE_NM`.

    Examples
    --------
    >>> round(yu_equivalent_absorption_nm(0.925))  # d = 1.85 nm: CdSe-437 optically
    436
    >>> yu_equivalent_absorption_nm(0.3) is None  # d = 0.6 nm: outside the calibration
    True
    """
    if radius_nm is None or not math.isfinite(radius_nm):
        return None
    d = 2.0 * float(radius_nm)
    lo, hi = YU_DIAMETER_RANGE_NM
    return float(yu_absorption_nm(d)) if lo <= d <= hi else None


def msc_family_sizes(radius_nm: float, absorption_nm: float | None) -> dict[str, float | None]:
    """SAXS and optical sizes of a magic-size family named by its absorption peak.

    Parameters
    ----------
    radius_nm : float
        SAXS radius of the family (nm).
    absorption_nm : float or None
        First-exciton absorption peak that names the family (e.g. 437 for CdSe-437).

    Returns
    -------
    dict
        ``radius_nm``, ``saxs_diameter_nm`` (2r), ``absorption_nm``,
        ``optical_diameter_nm`` (Yu diameter of the absorption peak, None without one) and
        ``yu_absorption_of_saxs_diameter_nm`` (the wavelength the Yu curve gives the SAXS diameter).

    Examples
    --------
    >>> s = msc_family_sizes(0.94, 437)
    >>> round(s["saxs_diameter_nm"], 2), round(s["optical_diameter_nm"], 2)
    (1.88, 1.85)
    """
    return {
        "radius_nm": radius_nm,
        "saxs_diameter_nm": 2.0 * radius_nm,
        "absorption_nm": absorption_nm,
        "optical_diameter_nm": float(yu_diameter_nm(absorption_nm)) if absorption_nm is not None else None,
        "yu_absorption_of_saxs_diameter_nm": yu_equivalent_absorption_nm(radius_nm),
    }


__all__ += ["yu_equivalent_absorption_nm", "msc_family_sizes"]
