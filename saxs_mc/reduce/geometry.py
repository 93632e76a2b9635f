"""Integrator set-up: a PONI file (version 1 or 2; pyFAI current API) or ID02 header geometry; masks.

Beam centre and distance for humans and NXcanSAS are pyFAI's Fit2D view of the geometry
(``getFit2D``): the direct-beam position on the detector and the sample-detector distance
along the beam, not the PONI (the foot of the perpendicular), which differs on a tilted detector.
"""

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
GEOMETRY_KEYS = (
    "dist_m",
    "poni1_m",
    "poni2_m",
    "rot1_rad",
    "rot2_rad",
    "rot3_rad",
    "pixel1_m",
    "pixel2_m",
    "wavelength_m",
)
GEOMETRY_RTOL = 1e-6


def load_poni(poni: str | Path):
    """Load an :class:`pyFAI.integrator.azimuthal.AzimuthalIntegrator` from a PONI file.

    PONI version 1 (``PixelSize1/2``, no detector shape; older Dioptas) is accepted: its
    detector has ``max_shape`` None, and :class:`~saxs_mc.reduce.Reducer` takes the shape from
    the frames.  Dioptas PONIs refer to the image flipped top-to-bottom (``flip="ud"``).

    Raises
    ------
    ValueError
        Missing or unreadable file, or a PONI without wavelength.
    """
    import pyFAI
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    path = Path(poni)
    if not path.is_file():
        raise ValueError(f"PONI file {path} does not exist; give the calibration made with pyFAI-calib2 (--poni)")
    try:
        ai = pyFAI.load(str(path))
    except Exception as exc:  # pyFAI raises various types on bad files
        raise ValueError(
            f"PONI file {path}: pyFAI cannot read it ({type(exc).__name__}: {exc}); re-export it from pyFAI-calib2"
        ) from exc
    if not isinstance(ai, AzimuthalIntegrator):  # pragma: no cover - pyFAI.load returns one for PONI files
        ai = AzimuthalIntegrator(**ai.getPyFAI())
    if ai.wavelength is None:
        raise ValueError(f"PONI file {path} has no Wavelength; q cannot be computed. Add 'Wavelength: <m>' to the file")
    return ai


def _header_float(header: Mapping[str, Any], key: str, source: str, fix: str) -> float:
    from saxs_mc.io.frames import header_number

    if key not in header:
        raise ValueError(f"{source}: header key {key!r} is missing; {fix}")
    try:
        val = header_number(header[key])
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
    vals = {
        k: _header_float(header, getattr(hmap, k), source, fix)
        for k in ("center_1", "center_2", "psize_1", "psize_2", "sample_distance", "wavelength")
    }
    for k in ("psize_1", "psize_2", "sample_distance", "wavelength"):
        if vals[k] <= 0:
            raise ValueError(f"{source}: header key {getattr(hmap, k)!r} = {vals[k]!r} must be > 0 (SI metres); {fix}")
    det = Detector(pixel1=vals["psize_2"], pixel2=vals["psize_1"], max_shape=tuple(shape))
    # equivalent to ai.setSPD(...) without rotations, but keeps the detector (and its shape)
    return AzimuthalIntegrator(
        dist=vals["sample_distance"],
        poni1=vals["center_2"] * vals["psize_2"],
        poni2=vals["center_1"] * vals["psize_1"],
        detector=det,
        wavelength=vals["wavelength"],
    )


def geometry_dict(ai) -> dict[str, Any]:
    """JSON-safe geometry of an integrator (for provenance and sample/blank checks).

    Besides the PONI parameters: ``beam_center_x_px``/``beam_center_y_px`` (direct beam, fast/slow
    pixel index) and ``direct_dist_m`` (sample to detector along the beam), from ``getFit2D``.
    """
    f2d = ai.getFit2D()
    return {
        "beam_center_x_px": float(f2d["centerX"]),
        "beam_center_y_px": float(f2d["centerY"]),
        "direct_dist_m": float(f2d["directDist"]) * 1e-3,
        "tilt_deg": float(f2d["tilt"]),
        "tilt_plane_rotation_deg": float(f2d["tiltPlanRotation"]),
        "detector": ai.detector.name,
        "shape": None if ai.detector.max_shape is None else list(ai.detector.max_shape),
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


def combined_mask(
    ai, mask_file: str | Path | None, *, flip: str | None = None, mask_flip: str | None = None
) -> np.ndarray | None:
    """User mask (non-zero = masked) OR the detector's own mask (gaps); None if neither exists.

    ``flip``: the frames are flipped this way, so the detector's gap mask (which refers to the raw
    frame) is flipped with them; ``mask_flip``: the user mask is flipped this way before use.
    """
    from saxs_mc.io.frames import read_mask
    from saxs_mc.reduce.reducer import _flip

    shape = tuple(ai.detector.max_shape)
    det_mask = ai.detector.mask
    mask = None if det_mask is None else _flip(np.asarray(det_mask) != 0, flip)
    if mask is not None and mask.shape != shape:  # pragma: no cover - defensive
        mask = None
    if mask_file is not None:
        user = _flip(read_mask(mask_file, shape=shape), mask_flip)
        mask = user if mask is None else (mask | user)
    if mask is not None and mask.all():
        raise ValueError(f"mask {mask_file}: every pixel is masked; check the mask convention (non-zero = masked)")
    return None if mask is None else np.ascontiguousarray(mask, dtype=np.int8)


def header_geometry_warnings(ai, header: Mapping[str, Any], hmap: HeaderMap, rtol: float, source: str) -> list[str]:
    """Warnings where the frame header's distance or wavelength differs from the PONI's by more than ``rtol``.

    The header distance is compared with the direct-beam distance (``getFit2D``); values with a
    unit (``"1.54987 A"``) are converted, bare numbers are taken as metres (ID02).
    """
    from saxs_mc.io.frames import header_number

    out = []
    pairs = (
        ("sample_distance", "distance", float(ai.getFit2D()["directDist"]) * 1e-3),
        ("wavelength", "wavelength", float(ai.wavelength)),
    )
    for field, what, poni_val in pairs:
        key = getattr(hmap, field)
        if key is None or key not in header:
            continue
        try:
            val = header_number(header[key])
        except ValueError:
            continue
        if val > 0 and abs(val - poni_val) > rtol * poni_val:
            out.append(
                f"{source}: the PONI {what} {poni_val:.6g} m differs from the header's {key!r} = {header[key]!r} "
                f"({val:.6g} m) by {100 * abs(val / poni_val - 1):.1f} % (> {100 * rtol:g} %); check that the "
                "calibration belongs to these frames"
            )
    return out
