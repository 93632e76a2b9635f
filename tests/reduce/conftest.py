"""Simulated ID02-like frames for the reduction tests (independent of saxs_mc.simulate).

Expected counts follow the project's absolute-scale convention:
``counts_p = I1 * thickness_cm * dSigma/dOmega(q_p) [1/cm] * dOmega_p [sr, absolute] * pol_p``,
with Poisson noise from a seeded generator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.models.distributions import make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE

SHAPE = (150, 180)  # (slow, fast)
PIXEL_M = 172e-6
DIST_M = 0.25
WAVELENGTH_M = 1.0e-10
CENTER_PX = (40.5, 30.5)  # ID02 Center_1 (fast), Center_2 (slow)
POL = 0.99
THICKNESS_CM = 0.1
MU_T = 0.7  # absorption mu * t of the full sample -> transmission exp(-0.7) = 0.50
BACKGROUND_1_CM = 0.05  # flat solvent scattering


def make_integrator(shape=SHAPE, pixel_m=PIXEL_M, dist_m=DIST_M, center_px=CENTER_PX):
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    det = Detector(pixel1=pixel_m, pixel2=pixel_m, max_shape=shape)
    return AzimuthalIntegrator(
        dist=dist_m, poni1=center_px[1] * pixel_m, poni2=center_px[0] * pixel_m, detector=det, wavelength=WAVELENGTH_M
    )


def sphere_truth(q_nm: np.ndarray) -> np.ndarray:
    """dSigma/dOmega in 1/cm: lognormal CdSe spheres (median r 1.0 nm) + flat background."""
    q = np.asarray(q_nm, dtype=float)
    if q.ndim == 1 and q.size <= 2000:
        return _SPHERES.dsigma(q, CONTRAST_CDSE_ODE) + BACKGROUND_1_CM
    # per-pixel evaluation through a fine grid (relative interpolation error < 1e-6)
    grid = np.linspace(0.0, float(q.max()) * 1.001 + 1e-9, 6001)
    return np.interp(q, grid, _SPHERES.dsigma(grid, CONTRAST_CDSE_ODE)) + BACKGROUND_1_CM


_SPHERES = make_distribution({"kind": "lognormal", "median_nm": 1.0, "sigma": 0.15, "volume_fraction": 0.004})


def flat_truth(value: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda q: np.full(np.shape(q), float(value))


def header(
    i1: float,
    i0: float,
    *,
    title: str,
    temperature_C: float = 230.0,
    thickness_cm: float | None = THICKNESS_CM,
    center_px=CENTER_PX,
    pixel_m=PIXEL_M,
    dist_m=DIST_M,
    extra: dict | None = None,
) -> dict[str, str]:
    h = {
        "Dummy": "-10",
        "DDummy": "0.1",
        "Center_1": repr(center_px[0]),
        "Center_2": repr(center_px[1]),
        "PSize_1": repr(pixel_m),
        "PSize_2": repr(pixel_m),
        "SampleDistance": repr(dist_m),
        "WaveLength": repr(WAVELENGTH_M),
        "ExposureTime": "0.1",
        "Intensity0UnCor": repr(float(i0)),
        "Intensity0ShutCor": repr(float(i0)),
        "Intensity1UnCor": repr(float(i1)),
        "Intensity1ShutCor": repr(float(i1)),
        "Title": title,
        "SampleTemperature_C": repr(temperature_C),
    }
    if thickness_cm is not None:
        h["SampleThickness_cm"] = repr(thickness_cm)
    h.update(extra or {})
    return h


@dataclasses.dataclass
class SimSetup:
    root: Path
    poni: Path
    mask: Path
    ai: object
    q_nm: np.ndarray
    omega_pol: np.ndarray  # absolute solid angle x polarization per pixel
    mask_arr: np.ndarray

    def expected_counts(self, truth, i1: float, thickness_cm: float = THICKNESS_CM) -> np.ndarray:
        return i1 * thickness_cm * truth(self.q_nm) * self.omega_pol

    def write_series(
        self,
        name: str,
        truth,
        *,
        n: int = 6,
        seed: int = 0,
        i0: float = 2e10,
        i1: float | None = None,
        bubble: int | None = None,
        bubble_gas: float = 0.4,
        monitor_jitter: float = 0.02,
        temperature_C: float = 230.0,
        fmt: str = "edf",
        dtype=np.int32,
        header_extra: dict | None = None,
    ) -> list[Path]:
        """Write ``n`` frames of one sample; frame ``bubble`` has a gas bubble (less liquid in the beam)."""
        from fabio.edfimage import EdfImage

        rng = np.random.default_rng(seed)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for k in range(n):
            inc = i0 * (1.0 + monitor_jitter * rng.standard_normal())
            frac = 1.0 - (bubble_gas if k == bubble else 0.0)
            trans = np.exp(-MU_T * frac)
            mon = inc * trans if i1 is None else i1
            lam = self.expected_counts(truth, mon, THICKNESS_CM * frac)
            counts = rng.poisson(lam).astype(dtype)
            counts[self.mask_arr] = -10  # dummy value in masked pixels, like ID02 (module gaps)
            h = header(mon, inc, title=name, temperature_C=temperature_C, extra=header_extra)
            p = folder / f"{name}_{k:05d}.{fmt}"
            EdfImage(data=counts, header=h).write(str(p))
            paths.append(p)
        return paths


@pytest.fixture(scope="session")
def sim(tmp_path_factory) -> SimSetup:
    from fabio.edfimage import EdfImage

    root = tmp_path_factory.mktemp("reduce_sim")
    ai = make_integrator()
    poni = root / "sim.poni"
    ai.save(str(poni))
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[:, 100:104] = 1  # module gap
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    mask[(yy - CENTER_PX[1]) ** 2 + (xx - CENTER_PX[0]) ** 2 < 6**2] = 1  # beamstop
    mask_path = root / "mask.edf"
    EdfImage(data=mask).write(str(mask_path))
    q_nm = ai.qArray(SHAPE)
    omega_pol = ai.solidAngleArray(SHAPE, absolute=True) * ai.polarization(SHAPE, factor=POL)
    return SimSetup(
        root=root, poni=poni, mask=mask_path, ai=ai, q_nm=q_nm, omega_pol=omega_pol, mask_arr=mask.astype(bool)
    )
