"""Detector geometry of the simulator: PONI files, masks and per-pixel arrays from pyFAI.

The default setup (``id02_sim``) is a cropped Pilatus-like detector
(172 um pixels, 320 x 288 pixels: two 195-row modules with the 17-row gap
between them) 0.55 m behind the sample at 0.1 nm (12.4 keV), with the beam
near one corner: q from ~0.1 1/nm (beamstop edge) to ~7.3 1/nm (far corner).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import fabio
import numpy as np
import pyFAI
from pyFAI.detectors import Detector
from pyFAI.integrator.azimuthal import AzimuthalIntegrator

from saxs_mc.io.atomic import atomic_path
from saxs_mc.io.frames import read_mask  # re-exported: simulate reads masks like the reduction does

#: the default simulated ID02-like setup
ID02_SIM = {
    "shape": (320, 288),
    "pixel_m": 172e-6,
    "distance_m": 0.55,
    "wavelength_m": 1.0e-10,
    "center_1_px": 38.6,  # fast axis (column), ID02 Center_1
    "center_2_px": 41.3,  # slow axis (row), ID02 Center_2
    "beamstop_radius_px": 5.5,
    "beamstop_arm_halfwidth_px": 2.0,
    "dead_pixels": ((120, 200), (250, 30), (300, 250), (77, 143)),
}
#: Pilatus module layout (rows, cols) and the gaps between modules (pixels)
MODULE_SHAPE = (195, 487)
MODULE_GAP = (17, 7)
#: horizontal linear polarization of the synchrotron beam (pyFAI factor convention)
POLARIZATION_FACTOR = 0.99


def module_gap_mask(shape: tuple[int, int]) -> np.ndarray:
    """Pixels in the gaps between Pilatus-like modules (bool, shape ``shape``)."""
    ny, nx = shape
    rows = (np.arange(ny) % (MODULE_SHAPE[0] + MODULE_GAP[0])) >= MODULE_SHAPE[0]
    cols = (np.arange(nx) % (MODULE_SHAPE[1] + MODULE_GAP[1])) >= MODULE_SHAPE[1]
    return rows[:, None] | cols[None, :]


def beamstop_mask(
    shape: tuple[int, int], center_1_px: float, center_2_px: float, radius_px: float, arm_halfwidth_px: float
) -> np.ndarray:
    """A round beamstop with a horizontal arm to the left edge (bool, shape ``shape``).

    Pixel (i, j) covers [i, i+1) x [j, j+1) in pyFAI's pixel coordinates, so
    its centre is at (i + 0.5, j + 0.5).
    """
    ny, nx = shape
    yy = np.arange(ny)[:, None] + 0.5
    xx = np.arange(nx)[None, :] + 0.5
    disk = (yy - center_2_px) ** 2 + (xx - center_1_px) ** 2 <= radius_px**2
    arm = (np.abs(yy - center_2_px) <= arm_halfwidth_px) & (xx <= center_1_px)
    return disk | arm


def make_geometry(setup: dict | None = None) -> tuple[AzimuthalIntegrator, np.ndarray, np.ndarray]:
    """Build the simulated setup.

    Returns
    -------
    ai : AzimuthalIntegrator
    mask : ndarray of uint8, shape (ny, nx)
        1 = masked (module gaps, beamstop, dead pixels).
    gaps : ndarray of bool, shape (ny, nx)
        Pixels that the detector reports as Dummy (module gaps).
    """
    s = dict(ID02_SIM if setup is None else {**ID02_SIM, **setup})
    shape = (int(s["shape"][0]), int(s["shape"][1]))
    px = float(s["pixel_m"])
    det = Detector(pixel1=px, pixel2=px, max_shape=shape)
    ai = AzimuthalIntegrator(
        dist=float(s["distance_m"]),
        poni1=s["center_2_px"] * px,
        poni2=s["center_1_px"] * px,
        rot1=0.0,
        rot2=0.0,
        rot3=0.0,
        detector=det,
        wavelength=float(s["wavelength_m"]),
    )
    gaps = module_gap_mask(shape)
    stop = beamstop_mask(
        shape, s["center_1_px"], s["center_2_px"], s["beamstop_radius_px"], s["beamstop_arm_halfwidth_px"]
    )
    mask = gaps | stop
    for i, j in s["dead_pixels"]:
        if i < shape[0] and j < shape[1]:
            mask[i, j] = True
    return ai, mask.astype(np.uint8), gaps


def write_poni(path: str | Path, ai: AzimuthalIntegrator) -> Path:
    """Write the geometry of ``ai`` as a PONI file (atomic)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()  # pyFAI appends; start from a fresh file
        ai.save(str(tmp))
        # pyFAI stamps the date into a comment; drop it so regeneration is byte-identical
        lines = [ln for ln in tmp.read_text().splitlines() if not ln.startswith("# Calibration done on")]
        lines.insert(1, "# saxs_mc.simulate geometry (written by pyFAI)")
        tmp.write_text("\n".join(lines) + "\n")
    return path


def write_mask(path: str | Path, mask: np.ndarray, *, title: str = "saxs_mc simulated mask") -> Path:
    """Write a mask (1 = masked) as an EDF file via fabio (atomic)."""
    path = Path(path)
    header = {"Title": title, "MaskConvention": "1 = masked (module gaps, beamstop, dead pixels)"}
    img = fabio.edfimage.EdfImage(data=np.ascontiguousarray(mask, dtype=np.uint8), header=header)
    with atomic_path(path) as tmp:
        img.write(str(tmp))
    return path


def write_calibration(outdir: str | Path, *, stem: str = "id02_sim") -> tuple[Path, Path]:
    """Write ``<stem>.poni`` and ``<stem>_mask.edf`` of the default setup into ``outdir``."""
    outdir = Path(outdir)
    ai, mask, _ = make_geometry()
    return write_poni(outdir / f"{stem}.poni", ai), write_mask(outdir / f"{stem}_mask.edf", mask)


@dataclasses.dataclass(frozen=True)
class PixelGeometry:
    """Per-pixel quantities the renderer needs, all computed by pyFAI.

    Attributes
    ----------
    ai : AzimuthalIntegrator
    shape : (ny, nx)
    q_nm : ndarray (ny, nx)
        q at pixel centres (1/nm).
    q_corners_nm : ndarray (ny, nx, 4)
        q at the four pixel corners (1/nm), for sub-pixel averaging.
    solid_angle_sr : ndarray (ny, nx)
        Absolute pixel solid angle including obliquity (sr).
    polarization : ndarray (ny, nx)
        Polarization factor of each pixel for :data:`POLARIZATION_FACTOR`.
    mask : ndarray of bool (ny, nx)
        True = masked (never counted).
    gaps : ndarray of bool (ny, nx)
        Pixels reported as Dummy (module gaps); a subset of ``mask``.
    polarization_factor : float
    """

    ai: AzimuthalIntegrator
    shape: tuple[int, int]
    q_nm: np.ndarray
    q_corners_nm: np.ndarray
    solid_angle_sr: np.ndarray
    polarization: np.ndarray
    mask: np.ndarray
    gaps: np.ndarray
    polarization_factor: float

    def header_geometry(self) -> dict[str, float]:
        """ID02 header geometry: Center_1/2 (px), PSize_1/2 (m), SampleDistance (m), WaveLength (m)."""
        f2d = self.ai.getFit2D()
        return {
            "Center_1": float(f2d["centerX"]),
            "Center_2": float(f2d["centerY"]),
            "PSize_1": float(self.ai.detector.pixel2),
            "PSize_2": float(self.ai.detector.pixel1),
            "SampleDistance": float(f2d["directDist"]) * 1e-3,
            "WaveLength": float(self.ai.wavelength),
        }

    def q_range_nm(self) -> tuple[float, float]:
        """Smallest and largest q (1/nm) of unmasked pixel centres."""
        q = self.q_nm[~self.mask]
        return float(q.min()), float(q.max())


def load_geometry(
    poni: str | Path | AzimuthalIntegrator,
    mask: str | Path | np.ndarray | None = None,
    *,
    shape: tuple[int, int] | None = None,
    polarization_factor: float = POLARIZATION_FACTOR,
) -> PixelGeometry:
    """Per-pixel geometry from a PONI file (or integrator) and a mask.

    Parameters
    ----------
    poni : path or AzimuthalIntegrator
        Geometry; its detector must carry its shape (``max_shape``).
    mask : path, ndarray or None
        Mask, nonzero = masked; None: no mask.  Must match the detector shape.
    shape : (ny, nx) or None
        Requested frame shape; must match the detector if given.
    polarization_factor : float
        pyFAI polarization factor (-1..1; 0.99 for a synchrotron).

    Raises
    ------
    ValueError
        If the detector has no shape, or the mask/requested shape differ from it.
    """
    if isinstance(poni, AzimuthalIntegrator):
        ai, src = poni, "the given integrator"
    else:
        p = Path(poni)
        if not p.is_file():
            raise FileNotFoundError(f"PONI file {p} does not exist; pass calibration/id02_sim.poni or another PONI")
        ai, src = pyFAI.load(str(p)), str(p)
    det_shape = ai.detector.max_shape if ai.detector.shape is None else ai.detector.shape
    if det_shape is None:
        raise ValueError(f'poni={src}: the detector has no shape; add "max_shape" to Detector_config in the PONI file')
    det_shape = (int(det_shape[0]), int(det_shape[1]))
    if shape is not None and tuple(int(v) for v in shape) != det_shape:
        raise ValueError(
            f"shape={tuple(shape)} does not match the detector shape {det_shape} of poni={src}; "
            f"request shape={det_shape} or use a PONI for a {tuple(shape)} detector"
        )
    if mask is None:
        m = np.zeros(det_shape, dtype=bool)
    elif isinstance(mask, np.ndarray):
        m = np.array(mask) != 0
    else:
        m = read_mask(mask)
    if m.shape != det_shape:
        raise ValueError(
            f"mask has shape {m.shape} but the detector of poni={src} has shape {det_shape}; "
            f"use the mask made for this PONI (e.g. calibration/id02_sim_mask.edf with calibration/id02_sim.poni)"
        )
    pf = float(polarization_factor)
    if not (-1.0 <= pf <= 1.0):
        raise ValueError(
            f"polarization_factor={polarization_factor} must be in [-1, 1] (pyFAI convention; 0.99 at a synchrotron)"
        )
    # copies: pyFAI caches these arrays and must be able to keep using them
    q = np.array(ai.qArray(det_shape), dtype=float)
    corners = np.array(np.asarray(ai.corner_array(det_shape, unit="q_nm^-1"))[..., 0], dtype=float)
    sa = np.array(ai.solidAngleArray(det_shape, absolute=True), dtype=float)
    pol = np.array(ai.polarization(det_shape, factor=pf), dtype=float)
    gaps = module_gap_mask(det_shape) & m
    for arr in (q, corners, sa, pol, m, gaps):
        arr.flags.writeable = False
    return PixelGeometry(
        ai=ai,
        shape=det_shape,
        q_nm=q,
        q_corners_nm=corners,
        solid_angle_sr=sa,
        polarization=pol,
        mask=m,
        gaps=gaps,
        polarization_factor=pf,
    )
