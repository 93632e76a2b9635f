"""NXcanSAS HDF5 writer and reader (readable by SasView's ``sasdata`` and McSAS3).

Layout written::

    /sasentry01            NXentry   @canSAS_class=SASentry @version=1.0 @default=sasdata01
        definition = "NXcanSAS", title, run
        sasdata01          NXdata    @canSAS_class=SASdata @signal=I @I_axes=Q @Q_indices=0
            Q  (1/nm, or 1/A on request)  I (1/cm or arbitrary) @uncertainties=Idev   Idev
        sassample          NXsample  @canSAS_class=SASsample (optional: name, thickness mm, transmission, temperature C)
        sasinstrument      NXinstrument (optional): sassource (incident_wavelength A), sasdetector (SDD mm, pixel sizes)
        sasprocess01       NXprocess @canSAS_class=SASprocess
            name, date, description, version
            provenance (JSON string)  + note (NXnote group with the same JSON)
        <extra analysis groups added by saxs_mc.fit / saxs_mc.peaks>
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from saxs_mc.io.atomic import atomic_h5_buffer, jsonable
from saxs_mc.io.curves import Curve, q_factor_to_nm

_STR = h5py.string_dtype("utf-8")
log = logging.getLogger(__name__)

#: intensity units read as absolute: unit -> factor to 1/cm
_I_FACTORS_TO_CM = {"1/cm": 1.0, "cm^-1": 1.0, "cm-1": 1.0, "1/m": 0.01, "m^-1": 0.01, "m-1": 0.01}
#: intensity units meaning "not absolutely calibrated" (no warning)
_I_ARBITRARY = {"", "arbitrary", "a.u.", "au", "arb", "arb.u.", "arbitrary units", "none", "counts"}


def _set_str(group: h5py.Group, name: str, value: str) -> None:
    group.create_dataset(name, data=value, dtype=_STR)


def write_nxcansas(
    path: str | Path,
    curve: Curve,
    *,
    provenance: dict[str, Any] | None = None,
    run: str = "1",
    process_name: str = "saxs_mc reduction",
    q_unit: str = "1/nm",
    sample: dict[str, Any] | None = None,
    instrument: dict[str, Any] | None = None,
    description: str = "saxs_mc provenance (JSON) for this curve",
) -> Path:
    """Write ``curve`` as an NXcanSAS file at ``path``, atomically.

    Parameters
    ----------
    path : str or Path
        Target file (``.h5``).
    curve : Curve
        q in 1/nm; intensity unit ``1/cm`` or ``arbitrary`` (written as ``arbitrary``,
        which NXcanSAS allows for uncalibrated data).
    provenance : dict, optional
        JSON-safe provenance (inputs, geometry, settings, versions, rejected
        frames, ...).  Stored as JSON in the SASprocess group.
    q_unit : {"1/nm", "1/A"}
        Unit of the written Q dataset (the curve is always in 1/nm).
    sample : dict, optional
        ``name``, ``thickness_cm``, ``transmission``, ``temperature_C`` -> a SASsample group.
    instrument : dict, optional
        ``wavelength_m``, ``sdd_m``, ``pixel_size_m`` (x, y), ``beam_center_px`` (x, y),
        ``detector`` -> SASinstrument with SASsource and SASdetector groups.  The beam centre
        is the direct-beam position (pixels, fast/x then slow/y) and ``sdd_m`` the sample-detector
        distance along the beam (pyFAI ``getFit2D``), as NXcanSAS defines them.
    description : str
        SASprocess description (e.g. how the intensity was normalised and its unit).
    """
    from saxs_mc import __version__
    from saxs_mc.provenance import utc_now

    path = Path(path)
    prov = jsonable(provenance or {})
    q_to_unit = 1.0 / q_factor_to_nm(q_unit, source="write_nxcansas q_unit")
    q_unit_out = "1/A" if q_to_unit != 1.0 else "1/nm"
    with atomic_h5_buffer(path) as tmp:  # HDF5 never writes to disk (no crash on ENOSPC/EFBIG)
        with h5py.File(tmp, "w") as fh:
            fh.attrs["default"] = "sasentry01"
            fh.attrs["creator"] = f"saxs_mc {__version__}"
            fh.attrs["file_name"] = path.name
            fh.attrs["file_time"] = utc_now()
            fh.attrs["NX_class"] = "NXroot"
            entry = fh.create_group("sasentry01")
            entry.attrs.update(
                {"NX_class": "NXentry", "canSAS_class": "SASentry", "version": "1.0", "default": "sasdata01"}
            )
            _set_str(entry, "definition", "NXcanSAS")
            _set_str(entry, "title", curve.title or path.stem)
            _set_str(entry, "run", str(run))
            data = entry.create_group("sasdata01")
            data.attrs.update(
                {
                    "NX_class": "NXdata",
                    "canSAS_class": "SASdata",
                    "signal": "I",
                    "I_axes": "Q",
                    "Q_indices": np.int32(0),
                }
            )
            dq = data.create_dataset("Q", data=curve.q * q_to_unit)
            dq.attrs["units"] = q_unit_out
            di = data.create_dataset("I", data=curve.intensity)
            di.attrs["units"] = curve.intensity_unit
            di.attrs["uncertainties"] = "Idev"
            ds = data.create_dataset("Idev", data=curve.sigma)
            ds.attrs["units"] = curve.intensity_unit
            if sample:
                _write_sample(entry, sample)
            if instrument:
                _write_instrument(entry, instrument)
            proc = entry.create_group("sasprocess01")
            proc.attrs.update({"NX_class": "NXprocess", "canSAS_class": "SASprocess"})
            _set_str(proc, "name", process_name)
            _set_str(proc, "date", utc_now())
            _set_str(proc, "version", __version__)
            _set_str(proc, "description", description)
            prov_json = json.dumps(prov, allow_nan=False)
            _set_str(proc, "provenance", prov_json)
            note = proc.create_group("note")
            note.attrs.update({"NX_class": "NXnote", "canSAS_class": "SASnote"})
            _set_str(note, "type", "application/json")
            _set_str(note, "data", prov_json)
            meta_json = json.dumps(jsonable(curve.metadata), allow_nan=False)
            _set_str(proc, "curve_metadata", meta_json)
    return path


def _num(group: h5py.Group, name: str, value: Any, units: str | None) -> None:
    if value is None:
        return
    try:
        v = float(value)
    except (TypeError, ValueError):
        return
    if not np.isfinite(v):
        return
    ds = group.create_dataset(name, data=v)
    if units:
        ds.attrs["units"] = units


def _write_sample(entry: h5py.Group, sample: dict[str, Any]) -> None:
    grp = entry.create_group("sassample")
    grp.attrs.update({"NX_class": "NXsample", "canSAS_class": "SASsample"})
    if sample.get("name"):
        _set_str(grp, "name", str(sample["name"]))
    tcm = sample.get("thickness_cm")
    _num(grp, "thickness", None if tcm is None else float(tcm) * 10.0, "mm")
    _num(grp, "transmission", sample.get("transmission"), None)
    _num(grp, "temperature", sample.get("temperature_C"), "C")


def _write_instrument(entry: h5py.Group, inst: dict[str, Any]) -> None:
    grp = entry.create_group("sasinstrument")
    grp.attrs.update({"NX_class": "NXinstrument", "canSAS_class": "SASinstrument"})
    _set_str(grp, "name", str(inst.get("name", "SAXS")))
    src = grp.create_group("sassource")
    src.attrs.update({"NX_class": "NXsource", "canSAS_class": "SASsource"})
    _set_str(src, "radiation", "x-ray")
    wl = inst.get("wavelength_m")
    _num(src, "incident_wavelength", None if wl is None else float(wl) * 1e10, "A")
    det = grp.create_group("sasdetector")
    det.attrs.update({"NX_class": "NXdetector", "canSAS_class": "SASdetector"})
    _set_str(det, "name", str(inst.get("detector", "detector")))
    sdd = inst.get("sdd_m")
    _num(det, "SDD", None if sdd is None else float(sdd) * 1000.0, "mm")
    px = inst.get("pixel_size_m") or (None, None)
    _num(det, "x_pixel_size", None if px[0] is None else float(px[0]) * 1000.0, "mm")
    _num(det, "y_pixel_size", None if px[1] is None else float(px[1]) * 1000.0, "mm")
    bc = inst.get("beam_center_px") or (None, None)
    _num(det, "beam_center_x", bc[0], "pixels")
    _num(det, "beam_center_y", bc[1], "pixels")


def _decode(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return _decode(value.reshape(-1)[0]) if value.size else ""
    return str(value)


def _find_class(group: h5py.Group, cls: str) -> list[str]:
    return [
        k
        for k, v in group.items()
        if isinstance(v, h5py.Group)
        and _decode(v.attrs.get("canSAS_class", v.attrs.get("NX_class", "")))
        in (cls, "NX" + cls[3:].lower() if cls.startswith("SAS") else cls)
    ]


def read_nxcansas(path: str | Path, *, entry: str | None = None, q_unit: str | None = None) -> Curve:
    """Read the first (or the named) SASentry/SASdata of an NXcanSAS file into a :class:`Curve`.

    Works for files written by saxs_mc and by third parties (SasView, McSAS3,
    DAWN, pyFAI); q is converted to 1/nm from its ``units`` attribute.
    I (and Idev) in ``1/m`` / ``m^-1`` are converted to 1/cm; I in ``1/cm``
    stays absolute; any other unit is read as ``"arbitrary"`` (with a logged
    warning unless it is an arbitrary-unit name such as ``"a.u."``).

    Parameters
    ----------
    path : str or Path
    entry : str, optional
        Name of the SASentry group (default: the file's default, else the first).
    q_unit : {"1/nm", "1/A"}, optional
        Unit of Q in the file, overriding its ``@units`` (required when Q has none).

    Raises
    ------
    ValueError
        Not an HDF5/NXcanSAS file, missing datasets, Q without ``@units`` and no
        ``q_unit`` given, or an unknown q unit.
    """
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file ({exc}); is it truncated?") from exc
    with fh:
        ent = _entry(fh, path, entry)
        grp = _data_group(ent, path)
        signal = _decode(grp.attrs.get("signal", "I"))
        axes = _decode(grp.attrs.get("I_axes", "Q")).split(",")[-1].strip()
        if signal not in grp or axes not in grp:
            raise ValueError(f"{path}:{grp.name}: datasets {signal!r}/{axes!r} named by @signal/@I_axes are missing")
        q = np.asarray(grp[axes][()], dtype=float).reshape(-1)
        i = np.asarray(grp[signal][()], dtype=float).reshape(-1)
        unc_name = _decode(grp[signal].attrs.get("uncertainties", "Idev"))
        sigma = np.asarray(grp[unc_name][()], dtype=float).reshape(-1) if unc_name in grp else np.full(q.shape, np.nan)
        q_where = f"{path}:{grp.name}/{axes}"
        if q_unit is None:
            if "units" not in grp[axes].attrs:
                raise ValueError(
                    f"{q_where}: the Q dataset has no @units attribute, so its unit is unknown; pass "
                    "q_unit='1/nm' or '1/A' (CLI: --q-unit) or add the attribute to the file"
                )
            q_unit = _decode(grp[axes].attrs["units"])
        i_unit, i_factor = _intensity_unit(
            _decode(grp[signal].attrs.get("units", "")).strip(), f"{path}:{grp.name}/{signal}"
        )
        i = i * i_factor
        sigma = sigma * i_factor
        title = _decode(ent["title"][()]) if "title" in ent else path.stem
        meta: dict[str, Any] = {"source_file": str(path), "entry": ent.name, **_process_metadata(ent)}
    q = q * q_factor_to_nm(q_unit, source=q_where)
    order = np.argsort(q, kind="stable")
    return Curve(q=q[order], intensity=i[order], sigma=sigma[order], intensity_unit=i_unit, title=title, metadata=meta)


def _entry(fh: h5py.File, path: Path, entry: str | None) -> h5py.Group:
    """The named SASentry, else the file's default, else the first; ValueError when there is none."""
    entries = (
        [entry]
        if entry
        else ([_decode(fh.attrs["default"])] if "default" in fh.attrs and _decode(fh.attrs["default"]) in fh else [])
    )
    entries += [k for k in _find_class(fh, "SASentry") if k not in entries]
    if not entries:
        raise ValueError(f"{path}: no SASentry group (canSAS_class='SASentry') found; is this an NXcanSAS file?")
    return fh[entries[0]]


def _data_group(ent: h5py.Group, path: Path) -> h5py.Group:
    """The entry's default SASdata group, else its first; ValueError when there is none."""
    if "default" in ent.attrs and _decode(ent.attrs["default"]) in ent:
        return ent[_decode(ent.attrs["default"])]
    found = _find_class(ent, "SASdata")
    if not found:
        raise ValueError(f"{path}:{ent.name}: no SASdata group found")
    return ent[found[0]]


def _intensity_unit(raw: str, where: str) -> tuple[str, float]:
    """("1/cm", factor to 1/cm) for an absolute unit, else ("arbitrary", 1) with a warning for an unknown one."""
    key = raw.lower().replace(" ", "")
    if key in _I_FACTORS_TO_CM:
        return "1/cm", _I_FACTORS_TO_CM[key]
    if raw.lower() not in _I_ARBITRARY:
        log.warning(
            "%s: intensity unit %r is not an absolute unit saxs_mc knows (1/cm, 1/m); "
            "reading the intensity as 'arbitrary'",
            where,
            raw,
        )
    return "arbitrary", 1.0


def _process_metadata(ent: h5py.Group) -> dict[str, Any]:
    """``provenance`` and the curve metadata stored by saxs_mc in the entry's SASprocess groups (JSON)."""
    meta: dict[str, Any] = {}
    for pname in _find_class(ent, "SASprocess"):
        proc = ent[pname]
        if "provenance" in proc:
            try:
                meta["provenance"] = json.loads(_decode(proc["provenance"][()]))
            except json.JSONDecodeError:
                pass
        if "curve_metadata" in proc:
            try:
                meta.update(json.loads(_decode(proc["curve_metadata"][()])))
            except json.JSONDecodeError:
                pass
    return meta
