"""Process-pool worker for :meth:`saxs_mc.reduce.Reducer.reduce` with ``workers > 1``.

Lives in an importable module so that only (poni, mask, settings) and frame
references are pickled; each worker builds its integrator once.
"""

from __future__ import annotations

from typing import Any

_REDUCER = None


def init(poni: str | None, mask: str | None, settings: Any) -> None:
    """Pool initializer: build this process's Reducer (and its integrator) once."""
    global _REDUCER
    from saxs_mc.reduce.reducer import Reducer

    _REDUCER = Reducer(poni=poni, mask=mask, settings=settings)
    ai = _REDUCER.integrator
    if ai is not None:  # build the integration engine now, in parallel with the other workers
        import numpy as np

        s = _REDUCER.settings
        ai.integrate1d(
            np.zeros(ai.detector.max_shape, dtype=np.float32),
            _REDUCER.npt,
            unit=s.pyfai_unit,
            method=s.method,
            error_model=s.error_model,
            mask=_REDUCER._mask,
            polarization_factor=s.polarization_factor,
            correctSolidAngle=s.correct_solid_angle,
            radial_range=s.q_range,
        )


def integrate(refs: list, table: list | None = None) -> tuple[list, dict, list]:
    """Integrate a chunk of frame references; returns the (record, partial) items, the geometry and warnings."""
    if _REDUCER is None:  # pragma: no cover - init always runs first
        raise RuntimeError("worker not initialized")
    items = _REDUCER._integrate_refs(refs, table=table)
    return items, _REDUCER.geometry, list(_REDUCER.warnings)
