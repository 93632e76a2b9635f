"""Render 2D detector frames (Poisson counts) and their ID02 headers.

Absolute-scale convention (contracts.md): the expected counts of pixel p are

    mu_p = I1 * thickness_cm * dSigma/dOmega(q_p) * dOmega_p * pol_p

with I1 = Intensity1ShutCor (photons transmitted during the exposure),
dOmega_p the absolute pixel solid angle and pol_p pyFAI's polarization factor.
dSigma/dOmega is averaged over each pixel (centre weight 1/2, corners 1/8
each) so steep regions near the beamstop are rendered faithfully.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saxs_mc._rng import SeedLike, as_generator
from saxs_mc.simulate.condition import MeasurementCondition
from saxs_mc.simulate.geometry import PixelGeometry
from saxs_mc.simulate.model import LIQUID_COMPONENTS, dsigma_components

#: value written into pixels the detector cannot measure (module gaps)
DUMMY = -1
DDUMMY = 0.1
#: shutter overhead: the UnCor monitors count over exposure + this time (s)
SHUTTER_OVERHEAD_S = 0.003
#: 1D grid on which dSigma/dOmega is evaluated before interpolation to pixels
N_Q_GRID = 6000


@dataclasses.dataclass(frozen=True)
class FrameTruth:
    """Monitors and truth of one rendered frame."""

    frame: int
    i0: float
    i1: float
    transmission: float
    gas_fraction: float

    @property
    def faulty(self) -> bool:
        """True for a frame with a gas bubble in the beam."""
        return self.gas_fraction > 0

    def summary(self) -> dict[str, Any]:
        """JSON-safe record."""
        return {**dataclasses.asdict(self), "faulty": self.faulty}

    def report(self) -> str:
        """One line of text."""
        flag = f", FAULTY (gas bubble {self.gas_fraction:.0%})" if self.faulty else ""
        return f"frame {self.frame}: I0={self.i0:.6g}, I1={self.i1:.6g}, T={self.transmission:.4f}{flag}"


def _q_grid(geom: PixelGeometry) -> np.ndarray:
    valid = ~geom.mask
    qc = geom.q_corners_nm[valid]
    lo = max(float(min(qc.min(), geom.q_nm[valid].min())), 1e-3)
    hi = float(max(qc.max(), geom.q_nm[valid].max()))
    return np.geomspace(lo * 0.999, hi * 1.001, N_Q_GRID)


def pixel_dsigma(geom: PixelGeometry, condition: MeasurementCondition) -> dict[str, np.ndarray]:
    """Pixel-averaged dSigma/dOmega (1/cm) of each component, arrays of shape ``geom.shape``.

    Masked pixels hold the value at the smallest valid q (they are never counted).
    """
    grid = _q_grid(geom)
    comps = dsigma_components(grid, condition)
    lg = np.log(grid)
    qc = np.log(np.clip(geom.q_corners_nm, grid[0], grid[-1]))
    q0 = np.log(np.clip(geom.q_nm, grid[0], grid[-1]))
    out = {}
    for name, curve in comps.items():
        centre = np.interp(q0, lg, curve)
        corners = np.interp(qc, lg, curve).mean(axis=-1)
        out[name] = 0.5 * centre + 0.5 * corners
    return out


def expected_counts(
    geom: PixelGeometry,
    condition: MeasurementCondition,
    i1: float,
    *,
    gas_fraction: float = 0.0,
    dsigma: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Noiseless expected counts per pixel (shape ``geom.shape``), 0 in masked pixels.

    Parameters
    ----------
    geom : PixelGeometry
    condition : MeasurementCondition
    i1 : float
        Transmitted photons during the exposure (Intensity1ShutCor).
    gas_fraction : float
        Fraction of the liquid path replaced by gas (scales liquid components).
    dsigma : dict or None
        Precomputed :func:`pixel_dsigma` (to render many frames quickly).
    """
    if dsigma is None:
        dsigma = pixel_dsigma(geom, condition)
    total = np.zeros(geom.shape, dtype=float)
    for name, arr in dsigma.items():
        total += ((1.0 - gas_fraction) if name in LIQUID_COMPONENTS else 1.0) * arr
    mu = i1 * condition.thickness_cm * total * geom.solid_angle_sr * geom.polarization
    mu[geom.mask] = 0.0
    return mu


def _fmt(v: float) -> str:
    return f"{float(v):.10g}"


def frame_monitors(condition: MeasurementCondition, frame: int, rng: np.random.Generator) -> FrameTruth:
    """Draw the incident flux of ``frame`` (with jitter) and derive I0, I1, transmission.

    The values are rounded to the 10 significant digits written into headers,
    so that the header is the exact truth.
    """
    jitter = 1.0 + condition.flux_jitter * rng.standard_normal() if condition.flux_jitter > 0 else 1.0
    i0 = float(_fmt(condition.flux_ph_s * condition.exposure_s * max(jitter, 0.5)))
    t = condition.frame_transmission(frame)
    i1 = float(_fmt(i0 * t))
    return FrameTruth(frame=frame, i0=i0, i1=i1, transmission=i1 / i0, gas_fraction=condition.gas_fraction(frame))


def id02_header(
    condition: MeasurementCondition,
    geom: PixelGeometry,
    mon: FrameTruth,
    *,
    seed: int | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, str]:
    """ID02-style EDF header of one frame (all values as strings)."""
    g = geom.header_geometry()
    t_count = condition.exposure_s + SHUTTER_OVERHEAD_S
    uncor = t_count / condition.exposure_s
    h: dict[str, str] = {
        "Title": condition.title or condition.name,
        "Dummy": str(DUMMY),
        "DDummy": str(DDUMMY),
        "Center_1": _fmt(g["Center_1"]),
        "Center_2": _fmt(g["Center_2"]),
        "PSize_1": _fmt(g["PSize_1"]),
        "PSize_2": _fmt(g["PSize_2"]),
        "SampleDistance": _fmt(g["SampleDistance"]),
        "WaveLength": _fmt(g["WaveLength"]),
        "ExposureTime": _fmt(condition.exposure_s),
        "Intensity0UnCor": _fmt(mon.i0 * uncor),
        "Intensity0ShutCor": _fmt(mon.i0),
        "Intensity1UnCor": _fmt(mon.i1 * uncor),
        "Intensity1ShutCor": _fmt(mon.i1),
        "SampleThickness_cm": _fmt(condition.thickness_cm),
        "SampleTemperature_C": _fmt(condition.temperature_C),
    }
    if condition.kind == "sample":
        for key, val in (
            ("NucleationTemperature_C", condition.nucleation_temperature_C),
            ("GrowthTemperature_C", condition.growth_temperature_C),
            ("ReactionTime_s", condition.reaction_time_s),
        ):
            if val is not None:
                h[key] = _fmt(val)
    h.update(
        {
            "PolarizationFactor": _fmt(geom.polarization_factor),
            "SampleKind": condition.kind,
            "Condition": condition.name,
            "FrameIndex": str(mon.frame),
            "Simulated": "saxs_mc.simulate",
        }
    )
    if seed is not None:
        h["SimulationSeed"] = str(int(seed))
    if extra:
        h.update({str(k): str(v) for k, v in extra.items()})
    return h


def render_frame_truth(
    condition: MeasurementCondition,
    geom: PixelGeometry,
    frame: int = 0,
    seed: SeedLike = None,
    *,
    dsigma: dict[str, np.ndarray] | None = None,
    header_extra: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, str], FrameTruth]:
    """Render one frame of ``condition`` with Poisson counting noise, and its truth.

    Parameters
    ----------
    condition : MeasurementCondition
    geom : PixelGeometry
        From :func:`saxs_mc.simulate.geometry.load_geometry`.
    frame : int
        Frame index (selects a gas bubble if one is defined for it).
    seed : int, Generator or None
        Randomness for the flux jitter and the counts.
    dsigma : dict or None
        Precomputed :func:`pixel_dsigma` for this condition and geometry.
    header_extra : dict or None
        Extra header keys.

    Returns
    -------
    data : ndarray of int32, shape ``geom.shape``
        Counts; module gaps hold :data:`DUMMY`.
    header : dict of str -> str
        ID02-style header.
    truth : FrameTruth
    """
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or not (0 <= frame < condition.n_frames):
        raise ValueError(f"frame={frame!r} must be an int in [0, {condition.n_frames}) for condition {condition.name}")
    rng = as_generator(seed)
    mon = frame_monitors(condition, int(frame), rng)
    mu = expected_counts(geom, condition, mon.i1, gas_fraction=mon.gas_fraction, dsigma=dsigma)
    if mu.max() > 2.0e9:
        raise ValueError(
            f"condition {condition.name}: expected counts reach {mu.max():.3g} per pixel and overflow int32; "
            f"lower flux_ph_s={condition.flux_ph_s} or exposure_s={condition.exposure_s}"
        )
    data = rng.poisson(mu).astype(np.int32)
    data[geom.gaps] = DUMMY
    seed_val = seed if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else None
    header = id02_header(condition, geom, mon, seed=seed_val, extra=header_extra)
    return data, header, mon


def render_frame(
    condition: MeasurementCondition,
    geom: PixelGeometry,
    frame: int = 0,
    seed: SeedLike = None,
    *,
    dsigma: dict[str, np.ndarray] | None = None,
    header_extra: dict[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, str]]:
    """Render one frame: ``(data, header)``; see :func:`render_frame_truth` for the parameters."""
    data, header, _ = render_frame_truth(condition, geom, frame, seed, dsigma=dsigma, header_extra=header_extra)
    return data, header
