"""Temperature series of mesophase peaks and the melting temperature."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable
from saxs_mc.peaks.detect import PeakResult


@dataclasses.dataclass(frozen=True)
class MesophaseSeries:
    """Bragg peaks against temperature.

    Attributes
    ----------
    temperatures_C : ndarray of shape (n_T,)
        Sorted temperatures.
    n_peaks : ndarray of shape (n_T,)
        Number of significant Bragg peaks per temperature.
    total_area, total_area_err : ndarray of shape (n_T,)
        Summed Bragg-peak area (0 when none) and its error.
    first_peak_q_nm, first_peak_q_err : ndarray of shape (n_T,)
        Position of the lowest-q Bragg peak (NaN when none).
    first_peak_area : ndarray of shape (n_T,)
        Area of the lowest-q Bragg peak (0 when none).
    phases : tuple of str
        Indexed phase per temperature.
    lattice_nm : ndarray of shape (n_T,)
        Lattice parameter per temperature (NaN when not indexed; d of a single peak).
    melting_temperature_C : float
        Estimated temperature where the peaks vanish (NaN if they never vanish or never exist).
    melting_bracket_C : (float, float)
        Last temperature with peaks and first above it without any (NaN if undefined).
    melting_method : str
        How the estimate was made.
    """

    temperatures_C: np.ndarray
    n_peaks: np.ndarray
    total_area: np.ndarray
    total_area_err: np.ndarray
    first_peak_q_nm: np.ndarray
    first_peak_q_err: np.ndarray
    first_peak_area: np.ndarray
    phases: tuple[str, ...]
    lattice_nm: np.ndarray
    melting_temperature_C: float
    melting_bracket_C: tuple[float, float]
    melting_method: str

    def summary(self) -> dict[str, Any]:
        return jsonable(
            {
                "temperatures_C": self.temperatures_C,
                "n_peaks": self.n_peaks,
                "total_area": self.total_area,
                "total_area_err": self.total_area_err,
                "first_peak_q_nm": self.first_peak_q_nm,
                "first_peak_q_err": self.first_peak_q_err,
                "first_peak_area": self.first_peak_area,
                "phases": list(self.phases),
                "lattice_nm": self.lattice_nm,
                "melting_temperature_C": self.melting_temperature_C,
                "melting_bracket_C": list(self.melting_bracket_C),
                "melting_method": self.melting_method,
            }
        )

    def report(self) -> str:
        lines = ["Mesophase vs temperature:"]
        for i, t in enumerate(self.temperatures_C):
            lines.append(
                f"  {t:7.1f} C: {int(self.n_peaks[i])} peaks, total area {self.total_area[i]:.4g}, "
                f"q1 = {self.first_peak_q_nm[i]:.4f} 1/nm, phase {self.phases[i]}"
            )
        if math.isfinite(self.melting_temperature_C):
            lo, hi = self.melting_bracket_C
            lines.append(
                f"  peaks vanish at ~{self.melting_temperature_C:.1f} C (between {lo:.1f} and {hi:.1f} C; {self.melting_method})"
            )
        else:
            lines.append(f"  melting temperature: not determined ({self.melting_method})")
        return "\n".join(lines)


def mesophase_series(temperatures_C: Sequence[float], peak_results: Sequence[PeakResult]) -> MesophaseSeries:
    """Peak intensity and position against temperature and the melting temperature.

    The melting temperature is bracketed by the highest temperature that still
    shows significant Bragg peaks and the next (higher) temperature without
    any.  The estimate extrapolates the total peak area linearly to zero from
    the last two temperatures with peaks (if the area decreases), clipped to
    the bracket; otherwise the bracket midpoint is used.

    Parameters
    ----------
    temperatures_C : sequence of float, length n_T
    peak_results : sequence of PeakResult, length n_T

    Returns
    -------
    MesophaseSeries
    """
    t = _check_series(temperatures_C, peak_results)
    order = np.argsort(t)
    t = t[order]
    res = [peak_results[i] for i in order]
    n = np.array([len(r.peaks) for r in res])
    area = np.array([sum(p.area for p in r.peaks) for r in res], dtype=float)
    area_err = np.array([math.sqrt(sum(p.area_err**2 for p in r.peaks)) for r in res], dtype=float)
    q1 = np.array([r.peaks[0].q_nm if r.peaks else np.nan for r in res])
    q1e = np.array([r.peaks[0].q_err if r.peaks else np.nan for r in res])
    a1 = np.array([r.peaks[0].area if r.peaks else 0.0 for r in res])
    phases = tuple(r.phase.phase for r in res)
    lat = np.array([r.phase.lattice_nm for r in res], dtype=float)
    tm, bracket, method = _melting(t, n > 0, area)
    return MesophaseSeries(
        temperatures_C=t,
        n_peaks=n,
        total_area=area,
        total_area_err=area_err,
        first_peak_q_nm=q1,
        first_peak_q_err=q1e,
        first_peak_area=a1,
        phases=phases,
        lattice_nm=lat,
        melting_temperature_C=tm,
        melting_bracket_C=bracket,
        melting_method=method,
    )


def _check_series(temperatures_C: Sequence[float], peak_results: Sequence[PeakResult]) -> np.ndarray:
    """The temperatures as a float array; ValueError/TypeError naming what is wrong and the fix."""
    t = np.asarray(temperatures_C, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"mesophase_series: temperatures_C must be a non-empty 1D sequence, got {temperatures_C!r}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"mesophase_series: temperatures_C must be finite, got {t.tolist()}")
    if len(peak_results) != t.size:
        raise ValueError(
            f"mesophase_series: {t.size} temperatures but {len(peak_results)} peak results; pass one per temperature"
        )
    for i, pk in enumerate(peak_results):
        if not isinstance(pk, PeakResult):
            raise TypeError(f"mesophase_series: peak_results[{i}] is {type(pk).__name__}, expected PeakResult")
    if np.unique(t).size != t.size:
        raise ValueError(f"mesophase_series: duplicate temperatures {t.tolist()}; average the curves first")
    return t


def _melting(t: np.ndarray, has: np.ndarray, area: np.ndarray) -> tuple[float, tuple[float, float], str]:
    """Melting estimate, its bracket and the method (rule of :func:`mesophase_series`); ``t`` sorted."""
    if not has.any():
        return float("nan"), (float("nan"), float("nan")), "no significant Bragg peaks at any temperature"
    last_on = int(np.flatnonzero(has)[-1])
    if last_on == t.size - 1:
        return (
            float("nan"),
            (float("nan"), float("nan")),
            f"peaks persist up to the highest temperature ({t[-1]:.1f} C)",
        )
    lo, hi = float(t[last_on]), float(t[last_on + 1])
    if last_on >= 1 and has[last_on - 1]:
        t0, t1 = float(t[last_on - 1]), lo
        a0, a1_ = area[last_on - 1], area[last_on]
        if a1_ < a0:
            tz = t1 + a1_ * (t1 - t0) / (a0 - a1_)
            return (
                float(min(max(tz, lo), hi)),
                (lo, hi),
                "linear extrapolation of the total peak area to zero, clipped to the bracket",
            )
    return 0.5 * (lo + hi), (lo, hi), "midpoint of the bracket"
