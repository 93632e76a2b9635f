"""Helpers shared by the reduction tests."""

from __future__ import annotations

import numpy as np


def binned_truth(sim, truth, curve, *, npt: int, unit: str = "q_nm^-1") -> np.ndarray:
    """The truth as the detector sees it: dSigma/dOmega(q_p) of every pixel averaged over each q bin
    (plain pixel average, no solid-angle/polarization/monitor factors involved), on ``curve``'s q grid."""
    img = truth(sim.q_nm)
    res = sim.ai.integrate1d(
        img,
        npt,
        unit=unit,
        mask=sim.mask_arr.astype(np.int8),
        correctSolidAngle=False,
        polarization_factor=None,
        method=("full", "csr", "cython"),
    )
    q = np.asarray(res.radial) * (10.0 if unit == "q_A^-1" else 1.0)
    keep = np.asarray(res.count) > 0
    q, val = q[keep], np.asarray(res.intensity)[keep]
    if q.shape != curve.q.shape or not np.allclose(q, curve.q, rtol=1e-9):
        raise AssertionError("q grids of truth and reduced curve differ")
    return val


def chi2_r(measured, truth, sigma) -> float:
    return float(np.mean(((np.asarray(measured) - truth) / sigma) ** 2))
