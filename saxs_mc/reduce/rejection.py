"""Robust (median / MAD) outlier flags for frame series."""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import median_abs_deviation


@dataclasses.dataclass(frozen=True)
class RobustFlags:
    """Result of :func:`robust_outliers`.

    Attributes
    ----------
    flags : ndarray of bool, shape (n,)
        True where the value is an outlier (NaN values are never flagged).
    z : ndarray of float, shape (n,)
        Signed robust deviation ``(value - center) / scale`` (NaN for NaN values).
    center, scale : float
        Median and robust standard deviation used.
    """

    flags: np.ndarray
    z: np.ndarray
    center: float
    scale: float


def robust_outliers(
    values: np.ndarray, threshold: float, *, min_rel_dev: float = 0.0, abs_floor: float = 0.0, min_count: int = 3
) -> RobustFlags:
    """Flag values deviating from the median by more than ``threshold`` robust standard deviations.

    The robust standard deviation is ``max(1.4826 * MAD, min_rel_dev * |median|, abs_floor)``
    (``scipy.stats.median_abs_deviation(scale="normal")``);
    the floors keep a perfectly stable series (MAD = 0) from flagging every tiny deviation.
    With fewer than ``min_count`` finite values nothing is flagged (no majority to compare to).

    Parameters
    ----------
    values : array of shape (n,)
    threshold : float
        > 0, typically 4-6.
    min_rel_dev, abs_floor : float
        Floors of the scale (relative to the median, and absolute, e.g. the statistical error).
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    if not threshold > 0:
        raise ValueError(f"threshold={threshold!r} must be > 0")
    finite = np.isfinite(v)
    flags = np.zeros(v.shape, dtype=bool)
    z = np.full(v.shape, np.nan)
    if finite.sum() < min_count:
        return RobustFlags(flags, z, float(np.median(v[finite])) if finite.any() else float("nan"), float("nan"))
    center = float(np.median(v[finite]))
    mad_sigma = float(median_abs_deviation(v[finite], scale="normal"))
    scale = max(mad_sigma, min_rel_dev * abs(center), abs_floor)
    dev = v[finite] - center
    if scale > 0:
        z[finite] = dev / scale
    else:
        z[finite] = np.where(dev == 0, 0.0, np.copysign(np.inf, dev))
    flags[finite] = np.abs(z[finite]) > threshold
    return RobustFlags(flags, z, center, scale)
