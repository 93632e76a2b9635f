"""Fit2D geometry (beam centre, distance, tilt, tilt-plane rotation, pixel size, wavelength) -> pyFAI.

Fit2D describes a detector by the direct-beam centre (pixels), the sample-detector distance
along the beam (mm), the detector tilt and the rotation of the tilt plane (degrees), the pixel
sizes (um) and the wavelength (A).  pyFAI's ``setFit2D`` converts these to its PONI parameters
(``getFit2D`` is the inverse).  Fit2D images and masks are flipped top-to-bottom relative to
fabio's reading of the same file: reduce with ``flip="ud"``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

_NUM = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
#: Fit2D refinement-log lines -> fields (the last occurrence wins: the final refinement)
_LOG_PATTERNS = {
    "center_px": re.compile(rf"beam\s+centre\s*=\s*{_NUM}\s+{_NUM}\s*\(pixels\)", re.I),
    "center_mm": re.compile(rf"beam\s+centre\s*=\s*{_NUM}\s+{_NUM}\s*\(mm\)", re.I),
    "dist_mm": re.compile(rf"sample\s+to\s+detector\s+distance\s*=\s*{_NUM}\s*mm", re.I),
    "wavelength_A": re.compile(rf"wavelength\s*=\s*{_NUM}\s*angstrom", re.I),
    "tilt_plane_deg": re.compile(rf"tilt\s+plane\s+rotation\s+angle\s*=\s*{_NUM}", re.I),
    "tilt_deg": re.compile(rf"tilt\s+angle\s*=\s*{_NUM}", re.I),
    "pixel_um": re.compile(rf"pixel\s+sizes?\s*=\s*{_NUM}(?:\s+{_NUM})?\s*(?:\(?\s*microns?|um)", re.I),
}
#: names accepted in a VALUES string ("dist_mm=1031.657, center_x=387.772, ...")
_VALUE_KEYS = {
    "dist_mm": "dist_mm",
    "distance_mm": "dist_mm",
    "center_x": "center_x",
    "centre_x": "center_x",
    "x": "center_x",
    "center_y": "center_y",
    "centre_y": "center_y",
    "y": "center_y",
    "tilt": "tilt_deg",
    "tilt_deg": "tilt_deg",
    "tilt_plane": "tilt_plane_deg",
    "tilt_plane_deg": "tilt_plane_deg",
    "tiltplanrotation": "tilt_plane_deg",
    "wavelength_a": "wavelength_A",
    "wavelength": "wavelength_A",
    "pixel_um": "pixel_um",
    "pixel_x_um": "pixel_x_um",
    "pixel_y_um": "pixel_y_um",
}


@dataclasses.dataclass(frozen=True)
class Fit2DGeometry:
    """A Fit2D geometry.

    Attributes
    ----------
    dist_mm : float
        Sample-detector distance along the beam.
    center_x, center_y : float
        Direct-beam position in pixels (x fast, y slow; Fit2D's image orientation).
    tilt_deg, tilt_plane_deg : float
        Detector tilt and the rotation of the tilt plane.
    wavelength_A : float
    pixel_x_um, pixel_y_um : float or None
        Pixel sizes; None: the detector's own.
    source : str
        Where the numbers came from.
    """

    dist_mm: float
    center_x: float
    center_y: float
    tilt_deg: float = 0.0
    tilt_plane_deg: float = 0.0
    wavelength_A: float | None = None
    pixel_x_um: float | None = None
    pixel_y_um: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not self.dist_mm > 0:
            problems.append(f"distance {self.dist_mm} mm must be > 0")
        if self.wavelength_A is not None and not self.wavelength_A > 0:
            problems.append(f"wavelength {self.wavelength_A} A must be > 0")
        for name in ("pixel_x_um", "pixel_y_um"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                problems.append(f"{name} {v} must be > 0")
        if problems:
            raise ValueError(f"{self.source or 'Fit2D geometry'}: {'; '.join(problems)}")

    def summary(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def report(self) -> str:
        px = "" if self.pixel_x_um is None else f", pixels {self.pixel_x_um:g} x {self.pixel_y_um:g} um"
        wl = "" if self.wavelength_A is None else f", wavelength {self.wavelength_A:g} A"
        return (
            f"Fit2D geometry ({self.source}): beam centre x={self.center_x:g}, y={self.center_y:g} px, distance "
            f"{self.dist_mm:g} mm, tilt {self.tilt_deg:g} deg in plane {self.tilt_plane_deg:g} deg{wl}{px}"
        )


def _last(pattern: re.Pattern, text: str) -> tuple[float, ...] | None:
    found = pattern.findall(text)
    if not found:
        return None
    last = found[-1] if isinstance(found[-1], tuple) else (found[-1],)
    return tuple(float(x) for x in last if x != "")


def read_fit2d(source: str | Path) -> Fit2DGeometry:
    """A Fit2D geometry from a refinement log file, or from a VALUES string.

    Parameters
    ----------
    source : str or Path
        A Fit2D log (``Refined Beam centre = 387.772 808.370 (pixels)``, ``Refined sample to
        detector distance = 1031.657 mm``, ``Refined wavelength = 1.54 Angstroms``, ``Refined tilt
        plane rotation angle = 73.569 degrees``, ``Refined tilt angle = -0.560 degrees``; the pixel
        size from a ``Beam centre ... (mm)`` line or a ``pixel size`` line), or a string
        ``"dist_mm=1031.657, center_x=387.772, center_y=808.37, tilt=-0.56, tilt_plane=73.569,
        wavelength_A=1.54[, pixel_um=172]"``.

    Raises
    ------
    ValueError
        Every missing or invalid value, in one message.
    """
    text = str(source)
    if "=" in text and not Path(text).is_file():
        return parse_fit2d_values(text)
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"Fit2D calibration {path} does not exist; give the Fit2D refinement log or "
            "'dist_mm=...,center_x=...,center_y=...,tilt=...,tilt_plane=...,wavelength_A=...'"
        )
    log = path.read_text(encoding="utf-8", errors="replace")
    got: dict[str, Any] = {k: _last(p, log) for k, p in _LOG_PATTERNS.items()}
    missing = [
        what
        for what, k in (("beam centre (pixels)", "center_px"), ("sample to detector distance", "dist_mm"))
        if got[k] is None
    ]
    if missing:
        raise ValueError(
            f"{path}: no {' and no '.join(missing)} found; is this a Fit2D calibration log? Give the "
            "values instead: --from-fit2d 'dist_mm=...,center_x=...,center_y=...,tilt=...,tilt_plane=...'"
        )
    px = py = None
    if got["pixel_um"]:
        px = got["pixel_um"][0]
        py = got["pixel_um"][1] if len(got["pixel_um"]) > 1 else px
    elif got["center_mm"] and all(got["center_px"]):
        px = 1000.0 * got["center_mm"][0] / got["center_px"][0]
        py = 1000.0 * got["center_mm"][1] / got["center_px"][1]
    return Fit2DGeometry(
        dist_mm=got["dist_mm"][0],
        center_x=got["center_px"][0],
        center_y=got["center_px"][1],
        tilt_deg=(got["tilt_deg"] or (0.0,))[0],
        tilt_plane_deg=(got["tilt_plane_deg"] or (0.0,))[0],
        wavelength_A=None if got["wavelength_A"] is None else got["wavelength_A"][0],
        pixel_x_um=px,
        pixel_y_um=py,
        source=str(path),
    )


def parse_fit2d_values(text: str) -> Fit2DGeometry:
    """A Fit2D geometry from ``"dist_mm=..., center_x=..., center_y=..., tilt=..., tilt_plane=..., wavelength_A=..."``."""
    vals: dict[str, float] = {}
    problems = []
    for item in re.split(r"[,;\s]+", text.strip()):
        if not item:
            continue
        key, sep, raw = item.partition("=")
        field = _VALUE_KEYS.get(key.strip().lower())
        if not sep or field is None:
            problems.append(f"{item!r} is not KEY=VALUE with KEY in {sorted(set(_VALUE_KEYS.values()))}")
            continue
        try:
            vals[field] = float(raw)
        except ValueError:
            problems.append(f"{key}={raw!r} is not a number")
    for need in ("dist_mm", "center_x", "center_y"):
        if need not in vals:
            problems.append(f"{need} is missing")
    if problems:
        raise ValueError(f"Fit2D values {text!r}: {'; '.join(problems)}")
    px = vals.pop("pixel_um", None)
    vals.setdefault("pixel_x_um", px) if px is not None else None
    vals.setdefault("pixel_y_um", px) if px is not None else None
    return Fit2DGeometry(**vals, source="values")


def integrator_from_fit2d(geom: Fit2DGeometry, detector: str, *, wavelength_A: float | None = None):
    """A pyFAI AzimuthalIntegrator for ``geom`` on the pyFAI detector named ``detector`` (``setFit2D``).

    Raises
    ------
    ValueError
        Unknown detector, no wavelength, or pixel sizes that differ from the detector's by more than 1 %.
    """
    from pyFAI.detectors import detector_factory
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    try:
        det = detector_factory(detector)
    except Exception as exc:  # pyFAI raises RuntimeError/KeyError for unknown names
        raise ValueError(
            f"detector {detector!r} is not a pyFAI detector name ({exc}); use e.g. Pilatus1M, Eiger2_4M "
            "(pyFAI.detectors.ALL_DETECTORS lists them)"
        ) from None
    wl = wavelength_A if wavelength_A is not None else geom.wavelength_A
    if wl is None:
        raise ValueError(f"{geom.source}: no wavelength; give --wavelength-A")
    det_um = (det.pixel2 * 1e6, det.pixel1 * 1e6)
    px = geom.pixel_x_um if geom.pixel_x_um is not None else det_um[0]
    py = geom.pixel_y_um if geom.pixel_y_um is not None else det_um[1]
    if abs(px / det_um[0] - 1) > 0.01 or abs(py / det_um[1] - 1) > 0.01:
        raise ValueError(
            f"{geom.source}: pixel size {px:.4g} x {py:.4g} um differs from the {detector}'s "
            f"{det_um[0]:.4g} x {det_um[1]:.4g} um; check the detector name (or binning)"
        )
    ai = AzimuthalIntegrator(detector=det, wavelength=wl * 1e-10)
    ai.setFit2D(
        geom.dist_mm,
        geom.center_x,
        geom.center_y,
        tilt=geom.tilt_deg,
        tiltPlanRotation=geom.tilt_plane_deg,
        pixelX=det_um[0],
        pixelY=det_um[1],
    )
    return ai


def fit2d_to_poni(geom: Fit2DGeometry, detector: str, path: str | Path, *, wavelength_A: float | None = None) -> Path:
    """Write the PONI file (pyFAI version 2) of a Fit2D geometry, atomically; returns its path."""
    from pyFAI.io.ponifile import PoniFile

    from saxs_mc.io.atomic import atomic_path

    ai = integrator_from_fit2d(geom, detector, wavelength_A=wavelength_A)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(
                f"# from {geom.report()}\n# the frames must be flipped top-to-bottom to match (saxs-mc reduce "
                "--flip ud)\n"
            )
            PoniFile(ai).write(fh)
    return path
