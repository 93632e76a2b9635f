"""Writing reduced curves: NXcanSAS HDF5 (with provenance) and 3-column ASCII with units."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable
from saxs_mc.io.curves import Curve, q_factor_to_nm
from saxs_mc.io.nxcansas import write_nxcansas

log = logging.getLogger(__name__)


def write_ascii(path: str | Path, curve: Curve, *, q_unit: str = "1/nm") -> Path:
    """3-column ASCII (Q, I, Idev) with the units in a commented header, atomically.

    Readable by :func:`saxs_mc.io.curves.read_curve` (which honours the ``q_unit`` line)
    and by SasView's ASCII reader (which assumes Q in 1/A: write ``q_unit="1/A"`` for SasView).
    """
    path = Path(path)
    fac = 1.0 / q_factor_to_nm(q_unit, source="write_ascii q_unit")
    unit = "1/A" if fac != 1.0 else "1/nm"
    header = [
        f"saxs_mc reduced curve: {curve.title}",
        f"q_unit = {unit}",
        f"intensity_unit = {curve.intensity_unit}",
        "metadata = " + json.dumps(jsonable({k: v for k, v in curve.metadata.items() if k not in ("header",)}),
                                   allow_nan=False, separators=(",", ":")),
        f"columns: Q ({unit})  I ({curve.intensity_unit})  Idev ({curve.intensity_unit})",
    ]
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.column_stack([curve.q * fac, curve.intensity, curve.sigma]), header="\n".join(header), fmt="%.10e")
    return path


def _sample_instrument(curve: Curve) -> tuple[dict[str, Any], dict[str, Any]]:
    m = curve.metadata
    g = m.get("geometry") or {}
    sample = {"name": curve.title, "thickness_cm": m.get("thickness_cm"), "transmission": m.get("transmission"),
              "temperature_C": m.get("temperature_C")}
    inst: dict[str, Any] = {}
    if g:
        p1, p2 = g.get("pixel1_m"), g.get("pixel2_m")
        inst = {"wavelength_m": g.get("wavelength_m"), "sdd_m": g.get("dist_m"), "detector": g.get("detector", "detector"),
                "pixel_size_m": (p2, p1),
                "beam_center_px": ((g["poni2_m"] / p2) if p2 else None, (g["poni1_m"] / p1) if p1 else None)}
    return sample, inst


def write_reduced(path: str | Path, result: Any, *, provenance: dict[str, Any] | None = None,
                  ascii: bool | str | Path = True, q_unit: str | None = None, hash_inputs: bool = True) -> Path:
    """Write a reduced (and possibly blank-subtracted) curve as NXcanSAS, plus a 3-column ASCII file.

    Parameters
    ----------
    path : str or Path
        NXcanSAS target (``.h5``); written atomically.
    result : ReductionResult or Curve
        For a :class:`~saxs_mc.reduce.ReductionResult` the provenance (inputs with sha256,
        frames, rejected frames, geometry, settings, versions, blank) is built from it.
    provenance : dict, optional
        Extra provenance, merged over the result's.
    ascii : bool or path
        True: also write ``<path stem>.dat`` next to ``path``; a path: write it there; False: none.
    q_unit : {"1/nm", "1/A"}, optional
        Unit of Q in the files; default: the reduction's q unit (1/nm for a bare Curve).
    hash_inputs : bool
        Record sha256 of every input file.

    Returns
    -------
    Path of the NXcanSAS file.
    """
    from saxs_mc.reduce.reducer import ReductionResult

    path = Path(path)
    if isinstance(result, ReductionResult):
        curve = result.curve
        prov = result.provenance(hash_inputs=hash_inputs)
        q_unit = q_unit or result.settings.q_unit
    elif isinstance(result, Curve):
        curve = result
        prov = {"software": "saxs_mc.reduce", "curve_metadata": curve.metadata}
        q_unit = q_unit or "1/nm"
    else:
        raise TypeError(f"write_reduced needs a ReductionResult or Curve, got {type(result).__name__}")
    if provenance:
        prov.update(provenance)
    if curve.n_q < 1:
        raise ValueError(f"{path}: curve {curve.title!r} has no points; nothing to write")
    sample, inst = _sample_instrument(curve)
    write_nxcansas(path, curve, provenance=prov, q_unit=q_unit, sample=sample, instrument=inst or None)
    if ascii:
        apath = path.with_suffix(".dat") if ascii is True else Path(ascii)
        write_ascii(apath, curve, q_unit=q_unit)
    log.info("wrote %s", path)
    return path
