"""The noiseless truth: dSigma/dOmega (1/cm) of a measurement condition."""

from __future__ import annotations

import numpy as np

from saxs_mc.simulate import components as C
from saxs_mc.simulate.condition import MeasurementCondition

#: the part of the scattering that comes from the liquid (scaled down by a gas bubble)
LIQUID_COMPONENTS = ("particles", "solvent", "precursor", "water")


def dsigma_components(
    q_nm: np.ndarray, condition: MeasurementCondition, *, n_radii: int = 400
) -> dict[str, np.ndarray]:
    """Each scattering component of ``condition`` in 1/cm per nominal thickness.

    Parameters
    ----------
    q_nm : ndarray of shape (n_q,)
        q in 1/nm (> 0).
    condition : MeasurementCondition
    n_radii : int
        Radii used to discretize each continuous size distribution.

    Returns
    -------
    dict of str -> ndarray of shape (n_q,)
        Keys out of ``particles``, ``solvent``, ``precursor``, ``water``,
        ``capillary`` (only those present in ``condition.components``).
    """
    if not isinstance(condition, MeasurementCondition):
        raise TypeError(f"condition must be a MeasurementCondition, got {type(condition).__name__}")
    q = C._check_q(np.atleast_1d(np.asarray(q_nm, dtype=float)))
    out: dict[str, np.ndarray] = {}
    for comp in condition.components:
        if comp == "particles":
            total = np.zeros_like(q)
            for d in condition.distributions:
                total = total + d.dsigma(q, condition.contrast_1e6_A2, n=n_radii)
            out[comp] = total
        elif comp == "solvent":
            out[comp] = C.solvent_dsigma(q, condition.temperature_C)
        elif comp == "precursor":
            out[comp] = C.precursor_dsigma(q, condition.temperature_C, condition.mesophase_strength)
        elif comp == "water":
            out[comp] = C.water_dsigma(q)
        elif comp == "capillary":
            out[comp] = C.capillary_dsigma(q)
    return out


def dsigma_model(
    q_nm: np.ndarray, condition: MeasurementCondition, *, gas_fraction: float = 0.0, component: str | None = None
) -> np.ndarray:
    """Noiseless absolute dSigma/dOmega (1/cm) that a reduction of ``condition`` should recover.

    With the absolute-scale convention of saxs_mc (normalization by the
    transmitted monitor I1 and the *nominal* thickness), this is the sum of
    all components; a gas bubble (``gas_fraction`` f of the liquid path
    replaced by gas) scales the liquid's components by (1 - f) while the
    capillary stays.

    Parameters
    ----------
    q_nm : ndarray of shape (n_q,)
    condition : MeasurementCondition
    gas_fraction : float
        0 for a good frame.
    component : str or None
        Return only this component (e.g. ``"particles"``: what blank
        subtraction should leave); None for the total.

    Returns
    -------
    ndarray of shape (n_q,)
    """
    if not (0.0 <= float(gas_fraction) < 1.0):
        raise ValueError(f"gas_fraction={gas_fraction!r} must be in [0, 1)")
    comps = dsigma_components(q_nm, condition)
    if component is not None:
        if component not in comps:
            raise ValueError(
                f"component={component!r} is not part of condition {condition.name} (kind {condition.kind}); "
                f"use one of {sorted(comps)}"
            )
        keys = [component]
    else:
        keys = list(comps)
    total = np.zeros(np.atleast_1d(np.asarray(q_nm)).shape, dtype=float)
    for k in keys:
        scale = (1.0 - gas_fraction) if k in LIQUID_COMPONENTS else 1.0
        total = total + scale * comps[k]
    return total
