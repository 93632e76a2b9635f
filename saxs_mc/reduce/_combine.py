"""Combining the integrated frames of a series: usable frames, outlier rejection, the common header."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np

from saxs_mc.reduce.rejection import robust_outliers
from saxs_mc.reduce.result import FrameRecord, _Partial
from saxs_mc.reduce.settings import ReductionSettings

log = logging.getLogger("saxs_mc.reduce.reducer")


def _usable_frames(records: list[FrameRecord], parts: list[_Partial | None], title: str) -> list[int]:
    """Indices of frames with sums; all must share one q grid."""
    usable = [i for i, p in enumerate(parts) if p is not None]
    if not usable:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in records[:5])
        raise ValueError(f"{title}: no usable frame among {len(records)} ({reasons})")
    radial0 = parts[usable[0]].radial  # type: ignore[union-attr]
    for i in usable[1:]:
        r = parts[i].radial  # type: ignore[union-attr]
        if r.shape != radial0.shape or not np.allclose(r, radial0, rtol=1e-9, atol=0):
            raise ValueError(
                f"{records[i].name}: its q grid differs from {records[usable[0]].name}'s; "
                "all frames of a sample must share geometry and mask"
            )
    return usable


def _reject_outliers(
    records: list[FrameRecord], usable: list[int], s: ReductionSettings, title: str
) -> list[FrameRecord]:
    """Robust fault rejection on transmission and integrated intensity; records get their z scores."""
    records = list(records)
    z_t: list[float | None] = [None] * len(records)
    z_i: list[float | None] = [None] * len(records)
    if s.reject_outliers and len(usable) >= 3:
        tr = np.array([records[i].transmission if records[i].transmission is not None else np.nan for i in usable])
        ii = np.array([records[i].integrated_intensity for i in usable], dtype=float)
        isig = np.array([records[i].integrated_sigma for i in usable], dtype=float)
        ft = robust_outliers(tr, s.reject_mad_threshold, min_rel_dev=s.reject_min_rel_dev)
        fi = robust_outliers(
            ii, s.reject_mad_threshold, min_rel_dev=s.reject_min_rel_dev, abs_floor=float(np.median(isig))
        )
        for k, i in enumerate(usable):
            z_t[i] = None if not np.isfinite(ft.z[k]) else float(ft.z[k])
            z_i[i] = None if not np.isfinite(fi.z[k]) else float(fi.z[k])
            why = _rejection_reason(ft, fi, k, tr[k], ii[k])
            if why:
                records[i] = dataclasses.replace(records[i], rejected=True, reason=why)
    elif s.reject_outliers:
        log.info("%s: only %d usable frame(s); no outlier rejection possible (need >= 3)", title, len(usable))
    return [dataclasses.replace(r, z_transmission=z_t[i], z_intensity=z_i[i]) for i, r in enumerate(records)]


def _rejection_reason(ft: Any, fi: Any, k: int, tr: float, ii: float) -> str:
    why = []
    if ft.flags[k]:
        why.append(f"transmission {tr:.4g} vs median {ft.center:.4g} ({ft.z[k]:+.1f} robust sigma)")
    if fi.flags[k]:
        why.append(f"integrated intensity {ii:.4g} vs median {fi.center:.4g} ({fi.z[k]:+.1f} robust sigma)")
    if not why:
        return ""
    hint = "gas bubble?" if (ft.flags[k] and ft.z[k] > 0) or (fi.flags[k] and fi.z[k] < 0) else "spike / shutter fault?"
    return "; ".join(why) + f" ({hint})"


_HEADER_SKIP = frozenset(
    {
        "EDF_DataBlockID",
        "EDF_BinarySize",
        "EDF_HeaderSize",
        "Image",
        "HeaderID",
        "Size",
        "ByteOrder",
        "DataType",
        "Dim_1",
        "Dim_2",
    }
)


def _common_header(headers: list[dict[str, Any]]) -> dict[str, Any]:
    """Header keys whose values are identical in every accepted frame."""
    if not headers:
        return {}
    first = headers[0]
    return {k: v for k, v in first.items() if all(h.get(k) == v for h in headers[1:])}
