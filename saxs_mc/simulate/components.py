"""Absolute scattering (dSigma/dOmega in 1/cm) of everything that is not a particle.

All contributions are expressed per centimetre of *nominal* sample thickness,
so that they add to the particle scattering and follow the absolute-scale
convention (counts = I1 * thickness_cm * dSigma/dOmega * dOmega * pol).

Components
----------
solvent (1-octadecene)
    Flat liquid (density-fluctuation) scattering that grows with temperature
    (isothermal compressibility) and rises slowly towards the liquid peak at
    ~14 1/nm: ``a0(T) * (1 + (q / q_liq)^2)``.
capillary (quartz flow cell)
    Porod-like surface scattering ``A q^-4`` plus a flat glass term.
precursor (Cd oleate in ODE)
    A broad correlation maximum near 0.25 1/nm and, below its melting range,
    a lamellar mesophase with Bragg peaks at 1.84 and 3.69 1/nm (d = 3.41 nm),
    pseudo-Voigt profiles, strength set by :func:`mesophase_strength`.
water
    0.0163 1/cm (20 C), the absolute-scale reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saxs_mc.models.water import WATER_DSIGMA_20C_1_CM

#: water at 20 C, the secondary standard (1/cm)
WATER_DSIGMA_CM = WATER_DSIGMA_20C_1_CM

#: lamellar mesophase of the Cd precursor: Bragg peaks (q in 1/nm), FWHM (1/nm), height at 25 C (1/cm)
MESOPHASE_PEAKS = (
    {"order": 1, "q_nm": 1.84, "fwhm_nm": 0.075, "height_cm": 12.0, "eta": 0.5},
    {"order": 2, "q_nm": 3.69, "fwhm_nm": 0.110, "height_cm": 2.5, "eta": 0.5},
)
MESOPHASE_D_NM = 2 * math.pi / 1.84

#: broad precursor maximum: centre, Gaussian width (1/nm) and height vs temperature
BROAD_MAX_Q_NM = 0.25
BROAD_MAX_WIDTH_NM = 0.09
_BROAD_MAX_T = np.array([25.0, 50.0, 100.0, 150.0, 400.0])
_BROAD_MAX_H = np.array([2.0, 1.3, 0.5, 0.25, 0.25])

#: mesophase order parameter vs temperature (C): strong at 25, weaker at 50, molten from 100
_MESO_T = np.array([-50.0, 25.0, 50.0, 75.0, 100.0, 1000.0])
_MESO_S = np.array([1.0, 1.0, 0.35, 0.06, 0.0, 0.0])

#: solvent: flat level at 25 C (1/cm), relative increase per degree, and liquid-peak scale (1/nm)
SOLVENT_A0_25C = 0.075
SOLVENT_DT = 1.0 / 300.0
SOLVENT_Q_LIQ = 14.0
#: precursor adds a small flat term (Cd oleate density fluctuations), 1/cm
PRECURSOR_FLAT_CM = 0.01

#: capillary: Porod constant (1/cm * nm^-4) and flat glass term (1/cm), per nominal thickness
CAPILLARY_POROD = 4.0e-4
CAPILLARY_FLAT_CM = 0.008


def _check_q(q_nm: np.ndarray) -> np.ndarray:
    q = np.asarray(q_nm, dtype=float)
    if np.any(~np.isfinite(q)) or np.any(q <= 0):
        raise ValueError("q_nm must be finite and > 0 (1/nm); drop q = 0 and non-finite points")
    return q


def mesophase_strength(temperature_C: float) -> float:
    """Relative strength (0..1) of the precursor lamellar mesophase at ``temperature_C``.

    1 at and below 25 C, 0.35 at 50 C, 0 at 100 C and above (molten);
    piecewise linear in between.
    """
    t = float(temperature_C)
    if not math.isfinite(t):
        raise ValueError(f"temperature_C={temperature_C!r} must be finite (degrees Celsius)")
    return float(np.interp(t, _MESO_T, _MESO_S))


def broad_maximum_height(temperature_C: float) -> float:
    """Height (1/cm) of the precursor's broad maximum near 0.25 1/nm at ``temperature_C``.

    Strongest at room temperature; it weakens on heating but persists weakly
    (0.25 1/cm) in the molten precursor.
    """
    return float(np.interp(float(temperature_C), _BROAD_MAX_T, _BROAD_MAX_H))


def pseudo_voigt(q_nm: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
    """Pseudo-Voigt with peak height 1: eta * Lorentzian + (1 - eta) * Gaussian, same FWHM."""
    x = (np.asarray(q_nm, dtype=float) - center) / (0.5 * fwhm)
    lor = 1.0 / (1.0 + x * x)
    gau = np.exp(-math.log(2.0) * x * x)
    return eta * lor + (1.0 - eta) * gau


def solvent_dsigma(q_nm: np.ndarray, temperature_C: float) -> np.ndarray:
    """Octadecene liquid scattering (1/cm), shape (n_q,)."""
    q = _check_q(q_nm)
    a0 = SOLVENT_A0_25C * (1.0 + SOLVENT_DT * (float(temperature_C) - 25.0))
    return a0 * (1.0 + (q / SOLVENT_Q_LIQ) ** 2)


def capillary_dsigma(q_nm: np.ndarray) -> np.ndarray:
    """Quartz-capillary scattering (1/cm per nominal sample thickness), shape (n_q,)."""
    q = _check_q(q_nm)
    return CAPILLARY_POROD * q**-4 + CAPILLARY_FLAT_CM


def water_dsigma(q_nm: np.ndarray) -> np.ndarray:
    """Water at 20 C: flat 0.0163 1/cm over the SAXS range, shape (n_q,)."""
    q = _check_q(q_nm)
    return np.full_like(q, WATER_DSIGMA_CM)


def precursor_dsigma(q_nm: np.ndarray, temperature_C: float, strength: float | None = None) -> np.ndarray:
    """Cd-precursor scattering (1/cm): broad maximum + flat term + lamellar Bragg peaks.

    Parameters
    ----------
    q_nm : ndarray of shape (n_q,)
    temperature_C : float
        Sample temperature; sets the broad-maximum height and (if ``strength``
        is None) the mesophase strength.
    strength : float or None
        Mesophase strength override (0 = no Bragg peaks, 1 = as at 25 C).
    """
    q = _check_q(q_nm)
    s = mesophase_strength(temperature_C) if strength is None else float(strength)
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"mesophase strength={strength!r} must be a finite number >= 0 (1 = as at 25 C)")
    h = broad_maximum_height(temperature_C)
    out = h * np.exp(-0.5 * ((q - BROAD_MAX_Q_NM) / BROAD_MAX_WIDTH_NM) ** 2) + PRECURSOR_FLAT_CM
    if s > 0:
        for pk in MESOPHASE_PEAKS:
            out = out + s * pk["height_cm"] * pseudo_voigt(q, pk["q_nm"], pk["fwhm_nm"], pk["eta"])
    return out


def true_peaks(temperature_C: float, strength: float | None = None) -> list[dict[str, Any]]:
    """The Bragg peaks present at ``temperature_C`` (JSON-safe), empty when molten."""
    s = mesophase_strength(temperature_C) if strength is None else float(strength)
    if s <= 0:
        return []
    out = []
    for pk in MESOPHASE_PEAKS:
        area = (
            s
            * pk["height_cm"]
            * 0.5
            * pk["fwhm_nm"]
            * (pk["eta"] * math.pi + (1 - pk["eta"]) * math.sqrt(math.pi / math.log(2.0)))
        )
        out.append(
            {
                "order": pk["order"],
                "q_nm": pk["q_nm"],
                "d_nm": 2 * math.pi / pk["q_nm"],
                "fwhm_nm": pk["fwhm_nm"],
                "eta": pk["eta"],
                "height_cm": s * pk["height_cm"],
                "area_cm_nm": area,
                "phase": "lamellar",
                "lattice_nm": MESOPHASE_D_NM,
            }
        )
    return out
