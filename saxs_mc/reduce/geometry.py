"""Integrator set-up: a PONI file (pyFAI current API) or ID02 header geometry; masks."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.reduce.settings import HeaderMap

log = logging.getLogger(__name__)

#: geometry parameters compared between sample and blank (relative tolerance)
GEOMETRY_KEYS = ("dist_m", "poni1_m", "poni2_m", "rot1_rad", "rot2_rad", "rot3_rad", "pixel1_m", "pixel2_m", "wavelength_m")
GEOMETRY_RTOL = 1e-6


def load_poni(poni: str | Path):
    """Load an :class:`pyFAI.integrator.azimuthal.AzimuthalIntegrator` from a PONI file.

    Raises
    ------
    ValueError
        Missing or unreadable file, or a PONI without detector shape / wavelength.
    """
    import pyFAI
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    path = Path(poni)
    if not path.is_file():
        raise ValueError(f"PONI file {path} does not exist; give the calibration made with pyFAI-calib2 (--poni)")
    try:
        ai = pyFAI.load(str(path))
    except Exception as exc:  # pyFAI raises various types on bad files
        raise ValueError(f"PONI file {path}: pyFAI cannot read it ({type(exc).__name__}: {exc}); re-export it from pyFAI-calib2") from exc
    if not isinstance(ai, AzimuthalIntegrator):  # pragma: no cover - pyFAI.load returns one for PONI files
        ai = AzimuthalIntegrator(**ai.getPyFAI())
    if ai.wavelength is None:
        raise ValueError(f"PONI file {path} has no Wavelength; q cannot be computed. Add 'Wavelength: <m>' to the file")
    if ai.detector.max_shape is None:
        raise ValueError(f"PONI file {path}: the detector has no shape; add \"max_shape\": [n_slow, n_fast] to its Detector_config")
    return ai


def _header_float(header: Mapping[str, Any], key: str, source: str, fix: str) -> float:
    if key not in header:
        raise ValueError(f"{source}: header key {key!r} is missing; {fix}")
    try:
        val = float(header[key])
    except (TypeError, ValueError):
        raise ValueError(f"{source}: header key {key!r} = {header[key]!r} is not a number; {fix}") from None
    if not math.isfinite(val):
        raise ValueError(f"{source}: header key {key!r} = {header[key]!r} is not finite; {fix}")
    return val


def integrator_from_header(header: Mapping[str, Any], shape: tuple[int, int], hmap: HeaderMap, source: str):
    """Build an integrator from ID02 geometry keys (Center_1/2 px, PSize_1/2 m, SampleDistance m, WaveLength m).

    ID02 index 1 is the fast (horizontal) axis: poni1 = Center_2 * PSize_2, poni2 = Center_1 * PSize_1.
    """
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    fix = "give a PONI file (--poni) or map the key with HeaderMap / --header-key"
    vals = {k: _header_float(header, getattr(hmap, k), source, fix)
            for k in ("center_1", "center_2", "psize_1", "psize_2", "sample_distance", "wavelength")}
    for k in ("psize_1", "psize_2", "sample_distance", "wavelength"):
        if vals[k] <= 0:
            raise ValueError(f"{source}: header key {getattr(hmap, k)!r} = {vals[k]!r} must be > 0 (SI metres); {fix}")
    det = Detector(pixel1=vals["psize_2"], pixel2=vals["psize_1"], max_shape=tuple(shape))
    # equivalent to ai.setSPD(...) without rotations, but keeps the detector (and its shape)
    return AzimuthalIntegrator(dist=vals["sample_distance"], poni1=vals["center_2"] * vals["psize_2"],
                               poni2=vals["center_1"] * vals["psize_1"], detector=det, wavelength=vals["wavelength"])


def geometry_dict(ai) -> dict[str, Any]:
    """JSON-safe geometry of an integrator (for provenance and sample/blank checks)."""
    return {
        "detector": ai.detector.name,
        "shape": list(ai.detector.max_shape),
        "dist_m": float(ai.dist),
        "poni1_m": float(ai.poni1),
        "poni2_m": float(ai.poni2),
        "rot1_rad": float(ai.rot1),
        "rot2_rad": float(ai.rot2),
        "rot3_rad": float(ai.rot3),
        "pixel1_m": float(ai.detector.pixel1),
        "pixel2_m": float(ai.detector.pixel2),
        "wavelength_m": float(ai.wavelength),
        "orientation": int(getattr(ai.detector, "orientation", 0) or 0),
    }


def geometry_differences(a: Mapping[str, Any], b: Mapping[str, Any], *, rtol: float = GEOMETRY_RTOL) -> list[str]:
    """Human-readable list of the geometry parameters that differ between ``a`` and ``b``."""
    out = []
    for k in GEOMETRY_KEYS:
        if k in a and k in b and a[k] is not None and b[k] is not None:
            x, y = float(a[k]), float(b[k])
            if not math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12):
                out.append(f"{k}: {x:.6g} vs {y:.6g}")
    if "shape" in a and "shape" in b and list(a["shape"]) != list(b["shape"]):
        out.append(f"shape: {list(a['shape'])} vs {list(b['shape'])}")
    return out


def absolute_solid_angle_factor(ai) -> float:
    """pixel1 * pixel2 / dist^2 [sr]: pyFAI's ``correctSolidAngle`` divides by the solid angle
    *relative* to this (1 at the PONI); absolute dOmega = this factor x relative."""
    return float(ai.detector.pixel1) * float(ai.detector.pixel2) / float(ai.dist) ** 2


def combined_mask(ai, mask_file: str | Path | None) -> np.ndarray | None:
    """User mask (non-zero = masked) OR the detector's own mask (gaps); None if neither exists."""
    from saxs_mc.io.frames import read_mask

    shape = tuple(ai.detector.max_shape)
    det_mask = ai.detector.mask
    mask = None if det_mask is None else np.asarray(det_mask) != 0
    if mask is not None and mask.shape != shape:  # pragma: no cover - defensive
        mask = None
    if mask_file is not None:
        user = read_mask(mask_file, shape=shape)
        mask = user if mask is None else (mask | user)
    if mask is not None and mask.all():
        raise ValueError(f"mask {mask_file}: every pixel is masked; check the mask convention (non-zero = masked)")
    return None if mask is None else np.ascontiguousarray(mask, dtype=np.int8)
