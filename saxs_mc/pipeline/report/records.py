"""Frozen records of the report's summary model: fit digests, peaks, frames, files, decompositions, blanks.

Each record is parsed from a step result or a JSON file the step wrote (see :mod:`.sources`);
nothing here draws or formats HTML.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.curves import Curve

from ..config import PopulationWindow
from ..readout import FamilyShare
from .sources import _floats, _load_json, _nan, _num, _outputs


@dataclasses.dataclass(frozen=True, repr=False)
class FitDigest:
    """The fit step's digest: binned volume-weighted distribution and data/model curves.

    Arrays: radius bins (n_bins,), ``q_nm``/``intensity``/``sigma``/``model`` (n_q,).
    """

    radius_centers_nm: np.ndarray
    volume_fraction: np.ndarray
    volume_fraction_std: np.ndarray
    q_nm: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    model: np.ndarray
    bin_scale: str
    intensity_unit: str
    chi2_r: float | None
    chi2_r_std: float | None
    absolute: bool | None
    total_volume_fraction: float | None
    raw: dict[str, Any]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FitDigest:
        """Parse a digest document; ValueError names what is malformed."""
        try:
            c = np.asarray(d["radius_centers_nm"], dtype=float)
            v = _floats(d["volume_fraction"])
            e = _floats(d.get("volume_fraction_std") or [None] * len(c))
            q, i, s, m = (_floats(d[k]) for k in ("q_nm", "intensity", "sigma", "model"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"fit digest malformed: {type(exc).__name__}: {exc}") from None
        if not (c.ndim == 1 and c.shape == v.shape == e.shape and q.shape == i.shape == s.shape == m.shape):
            raise ValueError("fit digest malformed: array lengths disagree")
        per_rep = _floats(d.get("chi2_r_per_repetition") or [])
        return cls(
            c,
            v,
            e,
            q,
            i,
            s,
            m,
            str(d.get("bin_scale", "log")),
            str(d.get("intensity_unit") or "arbitrary"),
            _num(d.get("chi2_r")),
            float(np.std(per_rep, ddof=1)) if per_rep.size > 1 else None,
            d.get("absolute") if isinstance(d.get("absolute"), bool) else None,
            _num(d.get("total_volume_fraction")),
            d,
        )

    def __repr__(self) -> str:
        return (
            f"FitDigest(n_bins={self.radius_centers_nm.size}, n_q={self.q_nm.size}, chi2_r={self.chi2_r}, "
            f"unit={self.intensity_unit!r})"
        )


@dataclasses.dataclass(frozen=True)
class PeakRow:
    """A Bragg peak as the peaks step reports it (q and its error in 1/nm, d = 2 pi / q in nm)."""

    q_nm: float | None
    q_err: float | None
    d_nm: float | None
    fwhm: float | None
    area: float | None
    significance: float | None
    order: int | None = None
    area_err: float | None = None

    @classmethod
    def from_json(cls, p: Any) -> PeakRow:
        p = p if isinstance(p, dict) else {}
        order = p.get("order")
        return cls(
            _num(p.get("q_nm")),
            _num(p.get("q_err")),
            _num(p.get("d_nm")),
            _num(p.get("fwhm")),
            _num(p.get("area")),
            _num(p.get("significance")),
            order if isinstance(order, int) else None,
            _num(p.get("area_err")),
        )


def volume_weighted_mean(
    centers_nm: np.ndarray, volume_fraction: np.ndarray, volume_fraction_std: np.ndarray
) -> tuple[float | None, float | None]:
    """Volume-weighted mean radius sum(v r) / sum(v) and its one-sigma uncertainty.

    First-order propagation of the per-bin standard deviations (spread over the MC
    repetitions, bins independent): var = sum((r_i - mean)^2 s_i^2) / (sum v)^2.
    (None, None) for an empty distribution.
    """
    c = np.asarray(centers_nm, dtype=float)
    v = np.nan_to_num(np.asarray(volume_fraction, dtype=float), nan=0.0)
    e = np.nan_to_num(np.asarray(volume_fraction_std, dtype=float), nan=0.0)
    tot = float(v.sum())
    if not tot > 0:
        return None, None
    mean = float((v * c).sum() / tot)
    return mean, float(math.sqrt(float((((c - mean) * e) ** 2).sum())) / tot)


@dataclasses.dataclass(frozen=True)
class FrameRow:
    """One frame of a reduction: file name (no directories), rejected flag and reason."""

    file: str
    rejected: bool | None
    reason: str | None


@dataclasses.dataclass(frozen=True)
class OutputFile:
    """A file a step wrote, as a path relative to the output folder (checked to stay inside it)."""

    step: str
    label: str
    path: str


_STATUSES = ("present", "absent", "unresolved")


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """The families step's result: shares of the resolved volume by population-window name (one sigma)."""

    shares: dict[str, FamilyShare]
    continuous: FamilyShare | None
    resolvable_radius_nm: float | None
    chi2_r: float | None
    warnings: tuple[str, ...]

    @classmethod
    def from_result(cls, res: Mapping[str, Any], windows: Sequence[PopulationWindow]) -> Decomposition | None:
        """From the step result (validated field by field); None without one."""
        terms = res.get("terms")
        if not isinstance(terms, list):
            return None
        by_label = {w.display: w.name for w in windows if w.family_radius_nm is not None}
        shares: dict[str, FamilyShare] = {}
        cont = None
        for t in terms:
            if not isinstance(t, dict) or t.get("status") not in _STATUSES or not isinstance(t.get("name"), str):
                continue
            fs = FamilyShare(_nan(t.get("share")), _nan(t.get("share_std")), t["status"], _nan(t.get("share_upper")))
            if t.get("kind") == "continuous":
                cont = fs
            elif t["name"] in by_label:
                shares[by_label[t["name"]]] = fs
        warns = res.get("warnings")
        warns = warns if isinstance(warns, list) else []
        return cls(
            shares, cont, _num(res.get("resolvable_radius_nm")), _num(res.get("chi2_r")), tuple(str(w) for w in warns)
        )


@dataclasses.dataclass(frozen=True)
class OpticalPeak:
    """A first-exciton peak of the sample's absorbance spectrum (family, height, Yu diameter)."""

    wavelength_nm: float | None
    wavelength_std_nm: float | None
    height: float | None
    height_std: float | None
    family: str | None
    diameter_nm: float | None
    diameter_std_nm: float | None

    @classmethod
    def from_json(cls, p: Any) -> OpticalPeak:
        p = p if isinstance(p, dict) else {}
        fam = p.get("family")
        return cls(
            _num(p.get("wavelength_nm")),
            _num(p.get("wavelength_std_nm")),
            _num(p.get("height")),
            _num(p.get("height_std")),
            fam if isinstance(fam, str) else None,
            _num(p.get("diameter_nm")),
            _num(p.get("diameter_std_nm")),
        )


@dataclasses.dataclass(frozen=True, repr=False)
class BlankSummary:
    """A precursor blank: its reduced curve, Bragg peaks and indexed phase."""

    name: str
    temperature_C: float | None
    status: str
    error: str | None
    n_frames: Any
    n_rejected: Any
    rejected_frames: tuple[str, ...]
    peaks: tuple[PeakRow, ...]
    phase: str | None
    lattice_nm: float | None
    curve: Curve | None
    frames: tuple[FrameRow, ...]
    files: tuple[OutputFile, ...]
    conditions: dict[str, float | str] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return f"BlankSummary({self.name!r}, T={self.temperature_C} C, {len(self.peaks)} peaks, phase={self.phase!r})"

    def row(self) -> dict[str, Any]:
        """The ``summary.json`` row of the blank."""
        return {
            "blank": self.name,
            "temperature_C": self.temperature_C,
            "status": self.status,
            "n_frames": self.n_frames,
            "n_rejected": self.n_rejected,
            "rejected_frames": list(self.rejected_frames),
            "peaks_q_nm": [p.q_nm for p in self.peaks],
            "peaks_q_err_nm": [p.q_err for p in self.peaks],
            "d_nm": [p.d_nm for p in self.peaks],
            "phase": self.phase,
            "lattice_nm": self.lattice_nm,
            "error": self.error,
            "conditions": dict(self.conditions),
        }


@dataclasses.dataclass(frozen=True, repr=False)
class Mesophase:
    """Mesophase Bragg-peak area against blank temperature and the melting estimate with its bracket."""

    temperatures_C: np.ndarray
    area: np.ndarray
    area_err: np.ndarray
    melting_temperature_C: float | None
    melting_bracket_C: tuple[float, float] | None
    melting_method: str | None
    fields: dict[str, Any]

    def __repr__(self) -> str:
        return f"Mesophase(n_T={self.temperatures_C.size}, melting={self.melting_temperature_C}, bracket={self.melting_bracket_C})"

    @classmethod
    def from_result(cls, res: dict[str, Any], root: Path) -> Mesophase | None:
        """From the mesophase step result (and ``total_area_err`` of its JSON output); None without a result."""
        if not res:
            return None
        t = _floats(res.get("temperatures_C") or [])
        a = _same_shape(_floats(res.get("intensity") or []), t)
        doc = _load_json(root, _outputs(res).get("json")) or {}
        err = _same_shape(_floats(doc.get("total_area_err") or []), t)
        method = res.get("melting_method")
        return cls(
            t,
            a,
            err,
            _num(res.get("melting_temperature_C")),
            _bracket(res.get("melting_bracket_C")),
            None if method is None else str(method),
            {k: v for k, v in res.items() if k != "outputs"},
        )


def _same_shape(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    return x if x.shape == like.shape else np.full(like.shape, np.nan)


def _bracket(br: Any) -> tuple[float, float] | None:
    if isinstance(br, list) and len(br) == 2 and all(_num(x) is not None for x in br):
        return float(br[0]), float(br[1])
    return None
