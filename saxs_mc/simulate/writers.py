"""Frame writers: ID02-style EDF (fabio) and an Eiger-like NeXus/HDF5 stack (h5py + hdf5plugin).

NeXus stack layout (``write_nexus_stack``)::

    /entry                          NXentry   (@default = "data")
      title, definition = "NXmx"-like, start_time
      /instrument                   NXinstrument
        /detector                   NXdetector
          data   (n, ny, nx) int32  bitshuffle-LZ4, one chunk per frame  <- THE FRAMES
          x_pixel_size, y_pixel_size (m), distance (m), beam_center_x/y (px),
          count_time (s), pixel_mask (uint32, NXmx bits: 1 = gap, 256 = beamstop/dead),
          description, poni (the PONI text)
        /monochromator              NXmonochromator: wavelength (m)
      /monitor_i0, /monitor_i1      NXmonitor: data (n,) = Intensity0/1ShutCor,
                                    data_uncorrected (n,) = Intensity0/1UnCor
      /sample                       NXsample: name, temperature (C), thickness (cm), transmission (n,)
      /data                         NXdata: data -> hard link to /entry/instrument/detector/data
      /id02_headers                 NXcollection: one dataset (n,) per EDF header key (float or str)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import fabio
import h5py
import hdf5plugin
import numpy as np

from saxs_mc.io.atomic import atomic_path
from saxs_mc.provenance import package_versions, utc_now

#: dataset path of the frame stack inside the NeXus file
NEXUS_DATA_PATH = "/entry/instrument/detector/data"
NEXUS_HEADERS_PATH = "/entry/id02_headers"


def write_edf(path: str | Path, data: np.ndarray, header: dict[str, str]) -> Path:
    """Write one frame with its header as an EDF file through fabio (atomic)."""
    path = Path(path)
    img = fabio.edfimage.EdfImage(data=np.ascontiguousarray(data), header=dict(header))
    with atomic_path(path) as tmp:
        img.write(str(tmp))
    return path


def _header_value(values: list[str]) -> np.ndarray:
    try:
        return np.array([float(v) for v in values], dtype=float)
    except ValueError:
        return np.array(values, dtype=h5py.string_dtype())


def write_nexus_stack(
    path: str | Path,
    frames: Sequence[np.ndarray],
    headers: Sequence[dict[str, str]],
    *,
    mask: np.ndarray | None = None,
    gaps: np.ndarray | None = None,
    poni_text: str = "",
    sample_name: str = "",
    stamp_time: bool = False,
) -> Path:
    """Write frames + monitors + geometry as an Eiger-like NeXus/HDF5 file (bitshuffle-LZ4).

    Parameters
    ----------
    path : path
    frames : sequence of ndarray (ny, nx)
        Frames of one condition, equal shapes.
    headers : sequence of dict
        Their ID02 headers (same keys in each).
    mask, gaps : bool arrays (ny, nx) or None
        Full mask and module gaps, stored as NXmx ``pixel_mask``.
    poni_text : str
        The PONI file content, stored for provenance.
    sample_name : str
    stamp_time : bool
        Write the creation time into the file (off by default: byte-identical regeneration).
    """
    stack, keys, col = _stack_columns(frames, headers)
    h0 = headers[0]
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["default"] = "entry"
        f.attrs["creator"] = "saxs_mc.simulate"
        if stamp_time:
            f.attrs["file_time"] = utc_now()
        f.attrs["versions"] = json.dumps({k: v for k, v in package_versions().items() if k != "platform"})
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry.attrs["default"] = "data"
        entry["title"] = h0.get("Title", sample_name)
        entry["definition"] = "NXmx"
        inst = entry.create_group("instrument")
        inst.attrs["NX_class"] = "NXinstrument"
        inst["name"] = "ESRF ID02-like SAXS (simulated)"
        ds = _write_detector(inst, stack, h0, poni_text, mask, gaps)
        mono = inst.create_group("monochromator")
        mono.attrs["NX_class"] = "NXmonochromator"
        mono["wavelength"] = float(h0["WaveLength"])
        mono["wavelength"].attrs["units"] = "m"
        _write_monitors(entry, col)
        _write_sample(entry, h0, col, sample_name)
        nxdata = entry.create_group("data")
        nxdata.attrs["NX_class"] = "NXdata"
        nxdata.attrs["signal"] = "data"
        nxdata["data"] = ds
        hdr = entry.create_group("id02_headers")
        hdr.attrs["NX_class"] = "NXcollection"
        hdr.attrs["description"] = "the EDF header of each frame, one dataset of shape (n_frames,) per key"
        for k in keys:
            hdr[k] = _header_value(col[k])
    return path


def _stack_columns(
    frames: Sequence[np.ndarray], headers: Sequence[dict[str, str]]
) -> tuple[np.ndarray, list[str], dict[str, list[str]]]:
    """The frame stack (n, ny, nx), the header keys and each key's values per frame; ValueError on a mismatch."""
    if len(frames) == 0 or len(frames) != len(headers):
        raise ValueError(f"frames ({len(frames)}) and headers ({len(headers)}) must be non-empty and of equal length")
    stack = np.ascontiguousarray(np.stack([np.asarray(f) for f in frames]))
    keys = list(headers[0])
    for i, h in enumerate(headers):
        if list(h) != keys:
            raise ValueError(f"headers[{i}] has keys {sorted(h)} but headers[0] has {sorted(keys)}; give equal keys")
    return stack, keys, {k: [h[k] for h in headers] for k in keys}


def _write_detector(
    inst: h5py.Group,
    stack: np.ndarray,
    h0: dict[str, str],
    poni_text: str,
    mask: np.ndarray | None,
    gaps: np.ndarray | None,
) -> h5py.Dataset:
    """The NXdetector group: compressed frames, pixel sizes, distance, beam centre, PONI and pixel mask."""
    det = inst.create_group("detector")
    det.attrs["NX_class"] = "NXdetector"
    ds = det.create_dataset("data", data=stack, chunks=(1, *stack.shape[1:]), **hdf5plugin.Bitshuffle(cname="lz4"))
    ds.attrs["units"] = "counts"
    ds.attrs["interpretation"] = "image"
    ds.attrs["dummy"] = float(h0.get("Dummy", -1))
    for name, val, unit in (
        ("x_pixel_size", float(h0["PSize_1"]), "m"),
        ("y_pixel_size", float(h0["PSize_2"]), "m"),
        ("distance", float(h0["SampleDistance"]), "m"),
        ("beam_center_x", float(h0["Center_1"]), "pixel"),
        ("beam_center_y", float(h0["Center_2"]), "pixel"),
        ("count_time", float(h0["ExposureTime"]), "s"),
    ):
        det[name] = val
        det[name].attrs["units"] = unit
    det["description"] = "Eiger-like stack of a simulated Pilatus-geometry detector (saxs_mc.simulate)"
    if poni_text:
        det["poni"] = poni_text
    if mask is not None:
        det.create_dataset(
            "pixel_mask", data=_pixel_mask(stack.shape[1:], mask, gaps), **hdf5plugin.Bitshuffle(cname="lz4")
        )
    return ds


def _pixel_mask(shape: tuple[int, ...], mask: np.ndarray, gaps: np.ndarray | None) -> np.ndarray:
    """NXmx ``pixel_mask``: 1 in module gaps, 256 for other masked pixels, else 0."""
    pm = np.zeros(shape, dtype=np.uint32)
    m = np.asarray(mask, dtype=bool)
    g = np.zeros_like(m) if gaps is None else np.asarray(gaps, dtype=bool)
    pm[m & ~g] = 256
    pm[g] = 1
    return pm


def _write_monitors(entry: h5py.Group, col: dict[str, list[str]]) -> None:
    """The two NXmonitor groups (before and after the sample), shutter-corrected and uncorrected counts."""
    for name, key in (("monitor_i0", "Intensity0"), ("monitor_i1", "Intensity1")):
        mon = entry.create_group(name)
        mon.attrs["NX_class"] = "NXmonitor"
        mon["mode"] = "monitor"
        mon["data"] = np.array([float(v) for v in col[f"{key}ShutCor"]])
        mon["data"].attrs["units"] = "counts"
        mon["data_uncorrected"] = np.array([float(v) for v in col[f"{key}UnCor"]])
        mon["data_uncorrected"].attrs["units"] = "counts"


def _write_sample(entry: h5py.Group, h0: dict[str, str], col: dict[str, list[str]], sample_name: str) -> None:
    """The NXsample group: name, temperature and transmission per frame, thickness."""
    sam = entry.create_group("sample")
    sam.attrs["NX_class"] = "NXsample"
    sam["name"] = sample_name or h0.get("Title", "")
    sam["temperature"] = np.array([float(v) for v in col["SampleTemperature_C"]])
    sam["temperature"].attrs["units"] = "degC"
    sam["thickness"] = float(h0["SampleThickness_cm"])
    sam["thickness"].attrs["units"] = "cm"
    sam["transmission"] = np.array(
        [float(a) / float(b) for a, b in zip(col["Intensity1ShutCor"], col["Intensity0ShutCor"])]
    )


def read_nexus_stack(path: str | Path) -> tuple[np.ndarray, list[dict[str, str]]]:
    """Read back frames (n, ny, nx) and per-frame header dicts from :func:`write_nexus_stack` output."""
    with h5py.File(path, "r") as f:
        data = f[NEXUS_DATA_PATH][()]
        grp = f[NEXUS_HEADERS_PATH]
        headers: list[dict[str, str]] = [{} for _ in range(data.shape[0])]
        for k in grp:
            vals = grp[k][()]
            for i, v in enumerate(vals):
                if isinstance(v, bytes):
                    headers[i][k] = v.decode()
                elif isinstance(v, str):
                    headers[i][k] = v
                else:
                    headers[i][k] = f"{float(v):.10g}"
    return data, headers
