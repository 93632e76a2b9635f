"""Absolute calibration from a water reference."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from saxs_mc.io.curves import Curve
from saxs_mc.models.water import WATER_DSIGMA_20C_1_CM as WATER_DSIGMA_20C  # public alias


@dataclasses.dataclass(frozen=True)
class WaterCalibration:
    """Result of :func:`water_calibration`: multiply intensities by ``factor`` to get 1/cm."""

    factor: float
    factor_sigma: float
    measured_mean: float
    measured_sigma: float
    reference_1_cm: float
    q_range_nm: tuple[float, float]
    n_points: int
    chi2_r_flat: float

    def summary(self) -> dict:
        return dataclasses.asdict(self)

    def report(self) -> str:
        return (
            f"water calibration: factor {self.factor:.6g} +- {self.factor_sigma:.2g} (reference {self.reference_1_cm} 1/cm, "
            f"measured {self.measured_mean:.6g} +- {self.measured_sigma:.2g} over {self.n_points} points "
            f"{self.q_range_nm[0]:g}-{self.q_range_nm[1]:g} 1/nm, flatness chi2_r {self.chi2_r_flat:.2f})"
        )


def water_calibration(
    water: Curve,
    empty: Curve | None = None,
    *,
    q_range_nm: tuple[float, float] = (0.5, 3.0),
    reference_1_cm: float = WATER_DSIGMA_20C,
) -> WaterCalibration:
    """Calibration factor from water (minus the empty cell), reduced with ``calibration_factor=1``.

    Water scatters a flat ``reference_1_cm`` (0.0163 1/cm at 20 C) at SAXS q; the factor is
    ``reference / weighted mean(I_water - I_empty)`` over ``q_range_nm``.  Reduce the empty
    cell with the water's thickness so that both are on the same footing.
    """
    from saxs_mc.reduce.blank import subtract_blank

    if not reference_1_cm > 0:
        raise ValueError(f"reference_1_cm={reference_1_cm!r} must be > 0 (water: 0.0163 1/cm at 20 C)")
    net = water if empty is None else subtract_blank(water, empty)
    sel = net.q_range(*q_range_nm).finite()
    ok = sel.sigma > 0
    if ok.sum() < 3:
        raise ValueError(
            f"water curve {water.title!r}: fewer than 3 points with positive sigma in {q_range_nm} 1/nm; widen q_range_nm"
        )
    w = 1.0 / sel.sigma[ok] ** 2
    mean = float(np.sum(w * sel.intensity[ok]) / np.sum(w))
    msig = float(1.0 / math.sqrt(np.sum(w)))
    if not mean > 0:
        raise ValueError(
            f"water curve {water.title!r}: mean net intensity {mean:g} <= 0 in {q_range_nm} 1/nm; "
            "check the empty cell subtraction and the monitors"
        )
    chi2 = float(np.sum(w * (sel.intensity[ok] - mean) ** 2) / max(1, ok.sum() - 1))
    factor = reference_1_cm / mean
    return WaterCalibration(
        factor=factor,
        factor_sigma=factor * msig / mean,
        measured_mean=mean,
        measured_sigma=msig,
        reference_1_cm=reference_1_cm,
        q_range_nm=(float(q_range_nm[0]), float(q_range_nm[1])),
        n_points=int(ok.sum()),
        chi2_r_flat=chi2,
    )
