"""Checks and header reads of single frames: header numbers, mask orientation, finite and negative pixels, npt."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from saxs_mc.io.frames import (
    header_number,
)

log = logging.getLogger("saxs_mc.reduce.reducer")


class SetupError(ValueError):
    """A problem of the whole series (geometry, mask orientation), never a reason to reject one frame."""


#: other beamlines' names of a header value, tried when the ID02 default key is absent (Pilatus TIFF, Eiger)
_KEY_ALIASES = {
    "exposure_time": ("Exposure_time", "ExposureTime", "Count_time", "count_time", "exposure_time"),
    "count_cutoff": ("Count_cutoff", "countrate_correction_count_cutoff"),
}
_DEFAULT_KEYS = {"exposure_time": "ExposureTime", "count_cutoff": "Count_cutoff"}


def _get_float(
    header: Mapping[str, Any],
    key: str | None,
    name: str,
    what: str,
    *,
    required: bool,
    setting: str,
    table: Mapping[str, float] | None = None,
) -> float | None:
    if table and setting in table:
        return float(table[setting])
    if key is None:
        if required:
            raise ValueError(
                f"{name}: no header key is configured for the {what}; set HeaderMap.{setting} "
                f"(CLI: --header-key {setting}=<key>), give it in a monitor table (--monitor-table), or "
                "normalise otherwise (--normalization exposure|constant=F|none)"
            )
        return None
    if key not in header:
        if required:
            raise ValueError(
                f"{name}: header key {key!r} ({what}) is missing; map this beamline's key with "
                f"HeaderMap({setting}='<key>') (CLI: --header-key {setting}=<key>), give it in a monitor "
                "table (--monitor-table), or normalise otherwise (--normalization exposure|constant=F|none)"
            )
        return None
    raw = header[key]
    try:
        val = header_number(raw)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: header key {key!r} ({what}) = {raw!r} is not a number (with an optional unit such "
            f"as 's'); fix the header or HeaderMap.{setting}"
        ) from None
    if not math.isfinite(val):
        raise ValueError(f"{name}: header key {key!r} ({what}) = {raw!r} is not finite; fix the header")
    return val


def _flip(a: np.ndarray, how: str | None) -> np.ndarray:
    """``a`` flipped top-to-bottom ("ud"), left-to-right ("lr"), both ("udlr"), or unchanged (None)."""
    if how is None:
        return a
    if "ud" in how:
        a = a[::-1]
    if "lr" in how:
        a = a[:, ::-1]
    return a


#: a mask is reported as flipped when another orientation leaves at most this share of the dead pixels uncovered
_FLIP_GAIN = 0.1
_FLIP_MIN_PIXELS = 20


def _dead_pixels(data: np.ndarray) -> np.ndarray:
    """Pixels a detector marks as dead or in module gaps (-1/-2, 0xFFFFFFFF/0xFFFFFFFE, NaN) or with no counts."""
    if data.dtype.kind == "u":
        return (data >= np.iinfo(data.dtype).max - 1) | (data == 0)
    if data.dtype.kind == "f":
        return ~np.isfinite(data) | (data <= 0)
    return data <= 0


def orientation_problem(
    data: np.ndarray, mask: np.ndarray, *, frame: str, mask_file: str | None, flip: str | None, mask_flip: str | None
) -> str | None:
    """A message when ``mask`` fits the dead pixels of ``data`` much worse than a flipped mask would, else None.

    The frame shows where the detector's module gaps, dead pixels and beam-stop shadow are
    (gap markers or no counts); a mask made for this detector covers them.  When a flipped
    mask leaves at most 10 % as many of them uncovered (and at least 20 fewer), mask and frame
    are flipped relative to each other.
    """
    dead = _dead_pixels(data)
    uncovered = {how: int(np.count_nonzero(dead & ~_flip(mask, how))) for how in (None, "ud", "lr", "udlr")}
    now = uncovered[None]
    best = min(("ud", "lr", "udlr"), key=lambda h: uncovered[h])
    if not (uncovered[best] <= _FLIP_GAIN * now and now - uncovered[best] >= _FLIP_MIN_PIXELS):
        return None
    names = {"ud": "top-to-bottom", "lr": "left-to-right", "udlr": "both ways"}
    return (
        f"{frame}: the mask {mask_file} does not line up with the frame (frame flip={flip}, mask flip={mask_flip}): "
        f"{now} dead/gap/zero-count pixels lie outside it, but only {uncovered[best]} with the mask flipped "
        f"{names[best]} ({best!r}). Fit2D and Dioptas masks and geometry refer to the image flipped top-to-bottom: "
        f"add --flip {best} (flips the frames; use it when the geometry comes from Fit2D/Dioptas too) or "
        f"--mask-flip {best} (flips the mask only); config: [geometry] flip / mask_flip"
    )


def _check_finite(data: np.ndarray, unmasked: np.ndarray | None, name: str) -> None:
    bad = ~np.isfinite(data)
    if bad.any():
        bad = bad if unmasked is None else bad & unmasked
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{name}: {n_bad} unmasked pixel(s) are NaN/inf (first at row, col {idx}); mask them "
                "(--mask) or set ReductionSettings(nan_policy='mask') to ignore them"
            )


def _negative_markers(
    data: np.ndarray, unmasked: np.ndarray | None, dummy: float | None, ddummy: float | None, name: str
) -> np.ndarray | None:
    """Unmasked pixels at a dead-pixel marker (-1/-2 in integer frames) not covered by the dummy; other negative
    counts outside the dummy value are an error."""
    neg = data < 0
    if unmasked is not None:
        neg &= unmasked
    if not neg.any():
        return None
    vals = data[neg]
    is_dummy = np.zeros(vals.shape, bool) if dummy is None else np.abs(vals - dummy) <= ddummy
    marker = (vals >= -2) & ~is_dummy if data.dtype.kind == "i" else np.zeros(vals.shape, bool)
    wrong = ~(is_dummy | marker)
    if wrong.any():
        where = np.flatnonzero(neg)[np.flatnonzero(wrong)[0]]
        idx = tuple(int(i) for i in np.unravel_index(where, data.shape))
        raise ValueError(
            f"{name}: {int(wrong.sum())} unmasked pixel(s) have negative counts (min "
            f"{float(vals[wrong].min()):g}, first at row, col {idx}) that are not the dummy value {dummy}; "
            "mask them (--mask), or declare the invalid-pixel value (--header-key dummy=<key>)"
        )
    if not marker.any():
        return None
    out = np.zeros(data.shape, bool)
    out[neg] = marker
    return out


def auto_npt(
    ai, mask: np.ndarray | None, shape: tuple[int, int], q_range: tuple[float, float] | None, unit: str
) -> int:
    """Default number of q bins: one bin per pixel of radial distance from the direct beam.

    ``ceil(r_max - r_min)``, with r the distance (in pixels, along the detector, from the
    direct-beam position) of the unmasked pixels inside ``q_range``: the bin width then equals
    the radial size of one pixel, the detector's own resolution, so sharp rings stay sharp.
    """
    tth = ai.center_array(shape, unit="2th_rad", scale=False)
    f2d = ai.getFit2D()
    r = f2d["directDist"] * 1e-3 * np.tan(tth) / math.sqrt(ai.detector.pixel1 * ai.detector.pixel2)
    keep = np.ones(shape, dtype=bool) if mask is None else (mask == 0)
    if q_range is not None:
        q = ai.center_array(shape, unit=unit, scale=True)
        keep &= (q >= q_range[0]) & (q <= q_range[1])
    if not keep.any():
        raise SetupError(f"no unmasked pixel lies in the q range {q_range}; widen --q-range")
    return max(2, int(math.ceil(float(r[keep].max() - r[keep].min()))))
