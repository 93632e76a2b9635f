"""Reduced curves on disk: NXcanSAS HDF5 (with provenance) and 3-column ASCII with units; read back as results."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, staged_folder
from saxs_mc.io.curves import Curve
from saxs_mc.io.nxcansas import _decode, write_nxcansas

if TYPE_CHECKING:
    from saxs_mc.reduce.reducer import ReductionResult

log = logging.getLogger(__name__)


def _sample_instrument(curve: Curve) -> tuple[dict[str, Any], dict[str, Any]]:
    m = curve.metadata
    g = m.get("geometry") or {}
    sample = {
        "name": curve.title,
        "thickness_cm": m.get("thickness_cm"),
        "transmission": m.get("transmission"),
        "temperature_C": m.get("temperature_C"),
    }
    inst: dict[str, Any] = {}
    if g:
        # NXcanSAS beam_center_x/y and SDD are the direct-beam position and distance (pyFAI's Fit2D view),
        # not the PONI; files written before saxs_mc recorded them fall back to the PONI values
        p1, p2 = g.get("pixel1_m"), g.get("pixel2_m")
        bc = (g.get("beam_center_x_px"), g.get("beam_center_y_px"))
        if bc[0] is None:
            bc = ((g["poni2_m"] / p2) if p2 else None, (g["poni1_m"] / p1) if p1 else None)
        inst = {
            "wavelength_m": g.get("wavelength_m"),
            "sdd_m": g.get("direct_dist_m", g.get("dist_m")),
            "detector": g.get("detector", "detector"),
            "pixel_size_m": (p2, p1),
            "beam_center_px": bc,
        }
    return sample, inst


def write_reduced(
    path: str | Path,
    result: Any,
    *,
    provenance: dict[str, Any] | None = None,
    ascii: bool | str | Path = True,
    q_unit: str | None = None,
    hash_inputs: bool = True,
) -> Path:
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
        True: also write ``<path stem>.dat`` next to ``path``; a path: write it there; False: none
        (see :func:`write_dat`: Q in 1/A, comma-separated, one header line).
    q_unit : {"1/nm", "1/A"}, optional
        Unit of Q in the NXcanSAS file; default: the reduction's q unit (1/nm for a bare Curve).
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
    norm = curve.metadata.get("normalization")
    description = "saxs_mc provenance (JSON) for this curve" + (f"; intensity {norm}" if norm else "")
    apath = None if not ascii else (path.with_suffix(".dat") if ascii is True else Path(ascii))
    with staged_folder(path.parent) as stage:  # the .h5 and its .dat succeed or fail together
        write_nxcansas(
            stage / path.name,
            curve,
            provenance=prov,
            q_unit=q_unit,
            sample=sample,
            instrument=inst or None,
            description=description,
        )
        if apath is not None:
            same = apath.parent.resolve() == path.parent.resolve()
            write_dat(stage / apath.name if same else apath, curve)
    log.info("wrote %s", path)
    return path


def write_dat(path: str | Path, curve: Curve) -> Path:
    """3-column CSV that SasView (sasdata) and ``pandas.read_csv`` load with their defaults, atomically.

    One header line ``Q (1/A),I (<unit>),Idev (<unit>)`` and comma-separated rows.  Q is written in
    1/A because SasView's ASCII reader reads every 3-column file as 1/A (in 1/nm its sizes would
    come out 10x too small); no comment lines, which ``pandas.read_csv`` would not skip by default.
    :func:`saxs_mc.io.curves.read_curve` reads the unit from the column label.  Title, units,
    normalisation and provenance are in the NXcanSAS file beside it.
    """
    path = Path(path)
    unit = curve.intensity_unit
    with atomic_path(path) as tmp:
        np.savetxt(
            tmp,
            np.column_stack([curve.q * 0.1, curve.intensity, curve.sigma]),
            delimiter=",",
            fmt="%.10e",
            header=f"Q (1/A),I ({unit}),Idev ({unit})",
            comments="",
        )
    return path


def _floats(values: Any, name: str, path: Path) -> np.ndarray:
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: provenance field {name!r} is not a list of numbers ({exc}); the file is damaged"
        ) from exc


def _result_from_provenance(prov: dict[str, Any], curve: Curve, path: Path, where: str) -> ReductionResult:
    from saxs_mc.reduce.reducer import FrameRecord, ReductionResult
    from saxs_mc.reduce.settings import ReductionSettings

    missing = [k for k in ("settings", "frames", "inputs", "geometry") if k not in prov]
    if missing:
        raise ValueError(
            f"{path}: {where} provenance lacks {missing}; this file was not written by write_reduced from a "
            "ReductionResult -- read the curve alone with saxs_mc.io.curves.read_curve"
        )
    try:
        settings = ReductionSettings.from_dict(prov["settings"])
        frames = tuple(FrameRecord(**f) for f in prov["frames"])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: {where} settings/frames in the provenance cannot be rebuilt ({exc}); the file was "
            "written by an incompatible saxs_mc version -- read the curve with read_curve"
        ) from exc
    rejected = tuple(prov.get("rejected_frames") or (f.name for f in frames if f.rejected))
    return ReductionResult(
        curve=curve,
        frames=frames,
        rejected=rejected,
        geometry=dict(prov["geometry"] or {}),
        settings=settings,
        inputs=tuple(str(i["file"]) for i in prov["inputs"]),
        poni=(prov.get("poni") or {}).get("file"),
        mask=(prov.get("mask") or {}).get("file"),
        warnings=tuple(prov.get("warnings") or ()),
    )


def read_reduced(path: str | Path) -> ReductionResult:
    """Rebuild the :class:`~saxs_mc.reduce.ReductionResult` stored in an NXcanSAS file by :func:`write_reduced`.

    The curve comes from the SASdata group (q converted to 1/nm); frames, rejected frames,
    geometry, settings, inputs, PONI and mask from the provenance; for a blank-subtracted
    result the blank (its curve and record) and the blank scale as well.  Extra provenance
    merged in by the writer (e.g. a water calibration record) is not part of the result.

    Parameters
    ----------
    path : str or Path
        An ``.h5`` file written by :func:`write_reduced` from a ReductionResult.

    Returns
    -------
    ReductionResult
        Equal in content to the one written (NaN values stored as JSON null come back as NaN
        in the curves and as None in the frame records).

    Raises
    ------
    ValueError
        Not a readable NXcanSAS file, or one without a saxs_mc reduction provenance.
    """
    import dataclasses

    import h5py

    from saxs_mc.io.nxcansas import read_nxcansas

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file does not exist; give an .h5 file written by write_reduced / saxs-mc reduce")
    base = read_nxcansas(path)
    entry = base.metadata.get("entry", "/sasentry01")
    prov: dict[str, Any] | None = None
    meta: dict[str, Any] = {}
    with h5py.File(path, "r") as fh:
        for grp in fh[entry].values():
            if isinstance(grp, h5py.Group) and "provenance" in grp and "curve_metadata" in grp:
                prov = json.loads(_decode(grp["provenance"][()]))
                meta = json.loads(_decode(grp["curve_metadata"][()]))
                break
    if prov is None:
        raise ValueError(
            f"{path}: no saxs_mc provenance (SASprocess with 'provenance' and 'curve_metadata') in {entry}; "
            "this is not a write_reduced file -- read the curve with saxs_mc.io.curves.read_curve"
        )
    curve = dataclasses.replace(base, metadata=meta)
    result = _result_from_provenance(prov, curve, path, "the")
    bprov = prov.get("blank")
    if bprov:
        bc = bprov.get("curve")
        if not bc:
            raise ValueError(
                f"{path}: the blank's curve is not stored in the provenance (file written before saxs_mc "
                "stored it); re-run the reduction to rebuild the blank"
            )
        bcurve = Curve(
            q=_floats(bc["q_nm"], "blank.curve.q_nm", path),
            intensity=_floats(bc["intensity"], "blank.curve.intensity", path),
            sigma=_floats(bc["sigma"], "blank.curve.sigma", path),
            intensity_unit=bc["intensity_unit"],
            title=bc.get("title", ""),
            metadata=bc.get("metadata") or {},
        )
        blank = _result_from_provenance(bprov, bcurve, path, "the blank's")
        result = dataclasses.replace(result, blank=blank, blank_scale=float(prov.get("blank_scale", 1.0)))
    return result
