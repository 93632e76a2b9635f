"""Blank (solvent / precursor / empty cell) subtraction and blank selection."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from saxs_mc.io.curves import Curve
from saxs_mc.reduce.geometry import geometry_differences

log = logging.getLogger(__name__)

#: relative tolerance for "the same q grid"
Q_GRID_RTOL = 1e-6


def subtract_blank(sample: Curve, blank: Curve, *, scale: float = 1.0) -> Curve:
    """Sample minus ``scale`` x blank, both normalized on their own, with propagated uncertainties.

    ``I = I_s - scale * I_b``, ``sigma = sqrt(sigma_s**2 + scale**2 * sigma_b**2)``.
    Negative values are kept (not clipped): their number, and the number that are
    significantly negative (< -3 sigma), are recorded in ``metadata`` and logged.

    Parameters
    ----------
    sample, blank : Curve
        Reduced on the same q grid (same geometry, npt and q unit) and in the same intensity unit.
    scale : float
        Blank scale factor (> 0 and finite; e.g. a volume fraction correction).

    Raises
    ------
    ValueError
        Different q grids, geometry or intensity units (no silent interpolation), or a bad scale.
    """
    if not isinstance(sample, Curve) or not isinstance(blank, Curve):
        raise TypeError(
            f"subtract_blank needs two Curve objects, got {type(sample).__name__} and {type(blank).__name__}"
        )
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"blank scale={scale!r} is not a number; give a positive factor (1.0 by default)") from None
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"blank scale={scale!r} must be positive and finite (1.0 by default)")
    names = f"sample {sample.title!r} / blank {blank.title!r}"
    if sample.intensity_unit != blank.intensity_unit:
        raise ValueError(
            f"{names}: intensity units differ ({sample.intensity_unit} vs {blank.intensity_unit}); "
            "reduce both with the same calibration_factor"
        )
    ga, gb = sample.metadata.get("geometry") or {}, blank.metadata.get("geometry") or {}
    diff = geometry_differences(ga, gb)
    if diff:
        raise ValueError(
            f"{names}: measured with different geometry ({'; '.join(diff)}); use a blank measured in the same "
            "configuration (same PONI), not an interpolated one"
        )
    if sample.n_q != blank.n_q or not np.allclose(sample.q, blank.q, rtol=Q_GRID_RTOL, atol=0):
        raise ValueError(
            f"{names}: q grids differ ({sample.n_q} points {sample.q.min():.4g}-{sample.q.max():.4g} 1/nm vs "
            f"{blank.n_q} points {blank.q.min():.4g}-{blank.q.max():.4g} 1/nm); reduce both with the same "
            "PONI, mask and npt (the same Reducer) - saxs_mc does not interpolate silently"
        )
    intensity = sample.intensity - scale * blank.intensity
    sigma = np.sqrt(sample.sigma**2 + (scale * blank.sigma) ** 2)
    neg = intensity < 0
    sig_neg = intensity < -3.0 * sigma
    meta = dict(sample.metadata)
    meta.update(
        {
            "kind": "blank_subtracted",
            "blank_title": blank.title,
            "blank_scale": scale,
            "blank_metadata": {k: v for k, v in blank.metadata.items() if k not in ("geometry", "header")},
            "negative_points": int(neg.sum()),
            "significantly_negative_points": int(sig_neg.sum()),
            "negative_q_nm": [float(x) for x in sample.q[sig_neg][:50]],
        }
    )
    if neg.any():
        log.info(
            "%s: %d point(s) negative after subtraction (%d below -3 sigma); kept, flagged in metadata",
            names,
            int(neg.sum()),
            int(sig_neg.sum()),
        )
    if sig_neg.sum() > max(2, 0.01 * sample.n_q):
        log.warning(
            "%s: %d points significantly negative after blank subtraction; is the blank scale (%g) or "
            "the blank itself right?",
            names,
            int(sig_neg.sum()),
            scale,
        )
    return dataclasses.replace(sample, intensity=intensity, sigma=sigma, metadata=meta)


def pick_blank_by_temperature(temperature_C: float, blanks: Mapping[str, Any], *, tolerance_C: float = 5.0) -> str:
    """Name of the blank whose temperature is closest to ``temperature_C`` (within ``tolerance_C``).

    Parameters
    ----------
    temperature_C : float
        Temperature of the sample (e.g. the growth temperature of the flow cell).
    blanks : mapping name -> float, Curve or ReductionResult
        Candidate blanks and their temperatures (for curves: ``metadata["temperature_C"]``).
    tolerance_C : float

    Raises
    ------
    ValueError
        No candidate, or none within the tolerance (the message lists them).
    """
    temps: dict[str, float] = {}
    for name, b in blanks.items():
        if hasattr(b, "curve"):
            b = b.curve
        t = b.metadata.get("temperature_C") if isinstance(b, Curve) else b
        if t is not None and math.isfinite(float(t)):
            temps[name] = float(t)
    if not temps:
        raise ValueError("pick_blank_by_temperature: no blank with a known temperature; give the blank explicitly")
    best = min(temps, key=lambda n: abs(temps[n] - temperature_C))
    if abs(temps[best] - temperature_C) > tolerance_C:
        listing = ", ".join(f"{n} ({t:g} C)" for n, t in sorted(temps.items(), key=lambda x: x[1]))
        raise ValueError(
            f"no blank within {tolerance_C:g} C of {temperature_C:g} C (candidates: {listing}); measure one "
            "or give the blank explicitly"
        )
    return best
