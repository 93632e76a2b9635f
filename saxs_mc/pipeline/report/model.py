"""Typed summary model of a pipeline run: what the report, ``summary.csv`` and ``summary.json`` show.

:func:`collect` reads the step results (manifests) and the JSON/curve files the
steps wrote, each resolved inside the output folder (a path that leaves it, also
through a symbolic link, is refused with a warning), and builds frozen records.
Nothing here draws or formats HTML.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable
from saxs_mc.io.curves import Curve
from saxs_mc.models.optical import msc_family_sizes, yu_equivalent_absorption_nm

from ..config import PipelineConfig, PopulationWindow, ReadoutConfig
from ..readout import (
    FamilyShare,
    SampleState,
    SeriesReadout,
    classify_sample,
    mode_radius_std,
    series_readout,
    window_fractions,
    window_fractions_std,
)
from .axis import (
    DEFAULT_AXIS,
    INDEX_AXIS,
    LEGACY_KEYS,
    SeriesAxis,
    axis_value,
    blank_conditions,
    resolve_axis,
    sample_conditions,
)

log = logging.getLogger("saxs_mc.pipeline.report")

_OK = ("done", "cached")


# ----------------------------------------------------------------------
# reading step outputs (data, never code; never outside the output folder)
def inside(root: Path, rel: Any) -> Path | None:
    """``root / rel`` if it resolves (following links) inside ``root``; None (and a warning) otherwise."""
    if not rel or not isinstance(rel, (str, Path)):
        return None
    p = (root / rel).resolve()
    base = root.resolve()
    if p != base and base not in p.parents:
        log.warning("report: %r resolves to %s, outside the output folder %s; not read", str(rel), p, base)
        return None
    return p


def _load_json(root: Path, rel: Any) -> dict[str, Any] | None:
    p = inside(root, rel)
    if p is None:
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", rel, exc)
        return None
    return d if isinstance(d, dict) else None


def _load_curve(root: Path, rel: Any) -> Curve | None:
    p = inside(root, rel)
    if p is None:
        return None
    try:
        from saxs_mc.io.curves import read_curve

        return read_curve(p)
    except Exception as exc:  # a bad file must not kill the report
        log.warning("cannot read curve %s: %s", rel, exc)
        return None


def _floats(values: Any) -> np.ndarray:
    """A float array from a JSON list (None, i.e. a non-finite value, becomes NaN)."""
    return np.asarray([np.nan if x is None else x for x in values], dtype=float)


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _result(outcomes: Mapping[str, Any], sid: str) -> dict[str, Any]:
    o = outcomes.get(sid)
    res = o.result if o is not None and o.status in _OK else None
    return res if isinstance(res, dict) else {}


def _status(outcomes: Mapping[str, Any], ids: Sequence[str]) -> tuple[str, str | None]:
    for sid in ids:
        o = outcomes.get(sid)
        if o is not None and o.status in ("failed", "skipped"):
            return "failed", f"{sid}: {o.error}"
    return "ok", None


def _outputs(res: Mapping[str, Any]) -> dict[str, str]:
    out = res.get("outputs")
    return {str(k): str(v) for k, v in out.items()} if isinstance(out, dict) else {}


# ----------------------------------------------------------------------
# records
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
        return cls(c, v, e, q, i, s, m, str(d.get("bin_scale", "log")), str(d.get("intensity_unit") or "arbitrary"),
                   _num(d.get("chi2_r")), float(np.std(per_rep, ddof=1)) if per_rep.size > 1 else None,
                   d.get("absolute") if isinstance(d.get("absolute"), bool) else None,
                   _num(d.get("total_volume_fraction")), d)

    def __repr__(self) -> str:
        return (f"FitDigest(n_bins={self.radius_centers_nm.size}, n_q={self.q_nm.size}, chi2_r={self.chi2_r}, "
                f"unit={self.intensity_unit!r})")


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
        return cls(_num(p.get("q_nm")), _num(p.get("q_err")), _num(p.get("d_nm")), _num(p.get("fwhm")),
                   _num(p.get("area")), _num(p.get("significance")), order if isinstance(order, int) else None,
                   _num(p.get("area_err")))


def volume_weighted_mean(centers_nm: np.ndarray, volume_fraction: np.ndarray,
                         volume_fraction_std: np.ndarray) -> tuple[float | None, float | None]:
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


def _nan(x: Any) -> float:
    v = _num(x)
    return math.nan if v is None else v


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
        return cls(shares, cont, _num(res.get("resolvable_radius_nm")), _num(res.get("chi2_r")),
                   tuple(str(w) for w in warns))


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
        return cls(_num(p.get("wavelength_nm")), _num(p.get("wavelength_std_nm")), _num(p.get("height")),
                   _num(p.get("height_std")), fam if isinstance(fam, str) else None, _num(p.get("diameter_nm")),
                   _num(p.get("diameter_std_nm")))


def _frames(red: Mapping[str, Any]) -> tuple[FrameRow, ...]:
    out = []
    for f in red.get("frames") or []:
        if isinstance(f, dict):
            out.append(FrameRow(Path(str(f.get("file"))).name, f.get("rejected"),
                                None if f.get("reason") is None else str(f.get("reason"))))
    return tuple(out)


def _files(root: Path, outcomes: Mapping[str, Any], ids: Sequence[str]) -> tuple[OutputFile, ...]:
    out = []
    base = root.resolve()
    for sid in ids:
        for label, rel in _outputs(_result(outcomes, sid)).items():
            p = inside(root, rel)
            if p is None or rel.endswith(".pkl"):
                continue
            out.append(OutputFile(sid.split("/")[0], label, p.relative_to(base).as_posix()))
    return tuple(out)


@dataclasses.dataclass(frozen=True, repr=False)
class SampleSummary:
    """Everything the report knows about one sample (row of ``summary.json``/``summary.csv``)."""

    name: str
    conditions: dict[str, float | str]
    blank: str | None
    status: str
    error: str | None
    state: SampleState
    fractions: dict[str, float | None]
    fractions_std: dict[str, float | None]
    dominant_radius_std_nm: float | None
    total_volume_fraction_std: float | None
    chi2_r: float | None
    n_frames: Any
    n_rejected: Any
    rejected_frames: tuple[str, ...]
    n_peaks: int | None
    digest: FitDigest | None
    curve: Curve | None
    raw_curve: Curve | None
    peaks: tuple[PeakRow, ...]
    frames: tuple[FrameRow, ...]
    files: tuple[OutputFile, ...]
    decomposition: Decomposition | None = None
    optical: tuple[OpticalPeak, ...] | None = None  # None: no spectrum named
    populations: tuple[PopulationWindow, ...] = ()
    series_axis: str = DEFAULT_AXIS
    series_value: float | None = None  # position on the series axis (None: the sample lacks that condition)
    stack: str | None = None  # the [[stacks]] entry a time point came from
    time_point: dict[str, Any] | None = None
    legacy_conditions: bool = True  # the row keeps the CdSe study's condition columns

    def __repr__(self) -> str:
        return (f"SampleSummary({self.name!r}, {self.series_axis}={self.series_value}, status={self.status!r}, "
                f"growth={self.state.state!r}, r_dom={self.state.dominant_radius_nm})")

    @property
    def nucleation_temperature_C(self) -> float | None:
        return _num(self.conditions.get("nucleation_temperature_C"))

    @property
    def growth_temperature_C(self) -> float | None:
        return _num(self.conditions.get("growth_temperature_C"))

    @property
    def reaction_time_s(self) -> float | None:
        return _num(self.conditions.get("reaction_time_s"))

    @property
    def has_families(self) -> bool:
        """True when magic-size families are configured (family table, Yu columns and read-out apply)."""
        return any(w.family_radius_nm is not None for w in self.populations)

    @property
    def mean_radius(self) -> tuple[float | None, float | None]:
        """Volume-weighted mean radius (nm) of the MC distribution and its one-sigma uncertainty."""
        d = self.digest
        return (None, None) if d is None else volume_weighted_mean(d.radius_centers_nm, d.volume_fraction,
                                                                    d.volume_fraction_std)

    @property
    def bragg_area(self) -> tuple[float | None, float | None]:
        """Sum of the Bragg-peak areas of the sample's peaks step and its one-sigma uncertainty.

        (None, None) without a peaks step; (0, None) when it found no peak.
        """
        if self.n_peaks is None:
            return None, None
        areas = [p.area for p in self.peaks if p.area is not None]
        if not areas:
            return 0.0, None
        errs = [p.area_err for p in self.peaks if p.area is not None]
        known = [e for e in errs if e is not None]
        return float(sum(areas)), (math.sqrt(sum(e * e for e in known)) if len(known) == len(errs) else None)

    def row(self) -> dict[str, Any]:
        """The ``summary.json`` row (JSON-safe; uncertainties are one standard deviation)."""
        st, d = self.state, self.digest
        dom = st.dominant_radius_nm
        std = self.dominant_radius_std_nm
        fams = self.has_families
        legacy = {k: self.conditions.get(k) for k in LEGACY_KEYS} if self.legacy_conditions else {}
        mean, mean_sd = self.mean_radius
        bragg, bragg_sd = self.bragg_area
        return {
            "sample": self.name,
            **legacy,
            "blank": self.blank,
            "status": self.status,
            "dominant_radius_nm": dom,
            "dominant_radius_nm_std": std,
            "dominant_diameter_nm": 2.0 * dom if dom is not None else None,
            "dominant_diameter_nm_std": 2.0 * std if std is not None else None,
            **({"yu_absorption_nm": yu_equivalent_absorption_nm(dom)} if fams else {}),
            "modes_nm": list(st.modes_nm),
            **({"modes_yu_absorption_nm": [yu_equivalent_absorption_nm(r) for r in st.modes_nm]} if fams else {}),
            **{f"fraction[{k}]": v for k, v in self.fractions.items()},
            **{f"fraction_std[{k}]": v for k, v in self.fractions_std.items()},
            "total_volume_fraction": d.total_volume_fraction if d is not None else None,
            "total_volume_fraction_std": self.total_volume_fraction_std,
            "volume_fraction_kind": None if d is None else ("absolute" if d.absolute else "relative"),
            "chi2_r": self.chi2_r,
            "chi2_r_std": d.chi2_r_std if d is not None else None,
            "growth": st.state,
            **({"family": st.family, "family_label": st.family_label, "shoulders": list(st.shoulder_labels)}
               if fams else {}),
            "n_frames": self.n_frames,
            "n_rejected": self.n_rejected,
            "rejected_frames": list(self.rejected_frames),
            "n_peaks": self.n_peaks,
            "error": self.error,
            **({"readout_basis": st.basis} if fams else {}),
            "resolvable_radius_nm": self.resolvable_radius_nm,
            "unresolved_volume_fraction": self.unresolved_volume_fraction,
            **self._family_columns(),
            **self._optical_columns(),
            "mean_radius_nm": mean,
            "mean_radius_nm_std": mean_sd,
            "bragg_peak_area": bragg,
            "bragg_peak_area_std": bragg_sd,
            "series_axis": self.series_axis,
            "series_value": self.series_value,
            "conditions": dict(self.conditions),
            **({"stack": self.stack} if self.stack is not None else {}),
        }

    @property
    def resolvable_radius_nm(self) -> float | None:
        """The Monte Carlo fit's resolvable radius (issue 15), from its digest."""
        return None if self.digest is None else _num(self.digest.raw.get("resolvable_radius_nm"))

    @property
    def unresolved_volume_fraction(self) -> float | None:
        return None if self.digest is None else _num(self.digest.raw.get("unresolved_volume_fraction"))

    def family_rows(self) -> list[dict[str, Any]]:
        """Per family: MC window share +- std, decomposition share +- std (or upper limit), disagreement flag,
        optical peak (wavelength, height) of the same family, SAXS diameter 2r and the Yu diameter."""
        dec = self.decomposition.shares if self.decomposition is not None else {}
        opt = {p.family: p for p in self.optical or () if p.family is not None}
        rows = []
        for w in self.populations:
            if w.family_radius_nm is None:
                continue
            mc, mc_sd = self.fractions.get(w.name), self.fractions_std.get(w.name)
            d = dec.get(w.name)
            p = opt.get(w.display)
            rows.append({"family": w.display, "saxs_diameter_nm": 2.0 * w.family_radius_nm,
                         "mc_share": mc, "mc_share_std": mc_sd,
                         "share": None if d is None or not math.isfinite(d.share) else d.share,
                         "share_std": None if d is None or not math.isfinite(d.share_std) else d.share_std,
                         "share_upper": None if d is None or not math.isfinite(d.share_upper) else d.share_upper,
                         "status": None if d is None else d.status,
                         "disagree": (flag := _disagree(mc, mc_sd, d, self.decomposition)),
                         "disagree_note": _disagree_note(flag, d, self.decomposition),
                         "optical_nm": None if p is None else p.wavelength_nm,
                         "optical_height": None if p is None else p.height,
                         "yu_diameter_nm": None if p is None else p.diameter_nm,
                         "optical_vs_saxs": _optical_flag(self.optical, d, p)})
        return rows

    def _family_columns(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for r in self.family_rows():
            f = r["family"]
            out[f"family_share[{f}]"] = r["share"]
            out[f"family_share_std[{f}]"] = r["share_std"]
            out[f"family_share_upper[{f}]"] = r["share_upper"]
            out[f"family_status[{f}]"] = r["status"]
            out[f"family_share_disagrees_with_mc[{f}]"] = r["disagree"]
        c = self.decomposition.continuous if self.decomposition is not None else None
        if c is not None:
            out["continuous_share"] = c.share if math.isfinite(c.share) else None
            out["continuous_share_std"] = c.share_std if math.isfinite(c.share_std) else None
        return out

    def _optical_columns(self) -> dict[str, Any]:
        if self.optical is None:
            return {}
        first = self.optical[0] if self.optical else None
        return {"optical_families": [p.family for p in self.optical if p.family is not None],
                "optical_first_exciton_nm": None if first is None else first.wavelength_nm,
                "optical_yu_diameter_nm": None if first is None else first.diameter_nm}


#: a decomposition share and an MC window share disagree when they differ by more than this many combined sigmas
DISAGREE_N_SIGMA = 2.0
#: a family seen in only one of SAXS and absorption counts as a disagreement when its SAXS share is at least this
OPTICAL_MIN_SHARE = 0.1

#: the MC-vs-decomposition rule, as stated in the report and in ``summary.json`` (``readout_rule``)
DISAGREE_RULE = (
    f"A present family disagrees with its MC window share when |decomposition - MC| > {DISAGREE_N_SIGMA:g} "
    "combined sigma (decomposition covariance and spread over the MC repetitions). The only family present, with "
    "no continuous population, holds the whole resolved volume by construction (share 1 with no uncertainty): "
    "it is not compared (its neighbours' windows show any MC spill-over). An absent family (share 0, one-sided "
    f"95 % upper limit U) disagrees when the MC window share is above U by more than {DISAGREE_N_SIGMA:g} sigma "
    f"of the MC share itself (MC - {DISAGREE_N_SIGMA:g} sigma_MC > U). Unresolved families are not compared.")


def _sole_family(d: FamilyShare, dec: Decomposition | None) -> bool:
    """True when ``d`` is the only present term of the decomposition (share 1 by construction)."""
    if dec is None or d.status != "present":
        return False
    others = [f for f in dec.shares.values() if f is not d and f.status == "present"
              and math.isfinite(f.share) and f.share > 0]
    cont = dec.continuous
    cont_present = cont is not None and cont.status == "present" and math.isfinite(cont.share) and cont.share > 0
    return not others and not cont_present


def _disagree(mc: float | None, mc_sd: float | None, d: FamilyShare | None,
              dec: Decomposition | None = None) -> bool | None:
    """The MC-vs-decomposition flag of :data:`DISAGREE_RULE` (None: not compared)."""
    if mc is None or d is None or not math.isfinite(mc) or d.status == "unresolved":
        return None
    sd_mc = mc_sd if mc_sd is not None and math.isfinite(mc_sd) else 0.0
    if d.status == "absent":
        up = d.share_upper if math.isfinite(d.share_upper) else (d.share if math.isfinite(d.share) else 0.0)
        return bool(mc - DISAGREE_N_SIGMA * sd_mc > up)
    if not math.isfinite(d.share) or _sole_family(d, dec):
        return None
    sd = math.hypot(sd_mc, d.share_std if math.isfinite(d.share_std) else 0.0)
    return bool(abs(d.share - mc) > DISAGREE_N_SIGMA * sd)


def _disagree_note(flag: bool | None, d: FamilyShare | None, dec: Decomposition | None) -> str:
    """Plain text for the family table's MC-vs-decomposition column."""
    if flag is None:
        if d is not None and d.status == "present" and _sole_family(d, dec):
            return "sole family: 1 by construction"
        return "–"
    return f"disagree (> {DISAGREE_N_SIGMA:g}σ)" if flag else "agree"


def _optical_flag(optical: tuple[OpticalPeak, ...] | None, d: FamilyShare | None, p: OpticalPeak | None) -> str | None:
    """"agree" / "SAXS only" / "optical only" for one family (None without both a spectrum and a decomposition)."""
    if optical is None or d is None or not math.isfinite(d.share):
        return None
    saxs = d.status == "present" and d.share >= OPTICAL_MIN_SHARE
    if saxs == (p is not None):
        return "agree"
    return "SAXS only" if saxs else "optical only"


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
        return {"blank": self.name, "temperature_C": self.temperature_C, "status": self.status,
                "n_frames": self.n_frames, "n_rejected": self.n_rejected, "rejected_frames": list(self.rejected_frames),
                "peaks_q_nm": [p.q_nm for p in self.peaks], "peaks_q_err_nm": [p.q_err for p in self.peaks],
                "d_nm": [p.d_nm for p in self.peaks], "phase": self.phase, "lattice_nm": self.lattice_nm,
                "error": self.error, "conditions": dict(self.conditions)}


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
        return cls(t, a, err, _num(res.get("melting_temperature_C")), _bracket(res.get("melting_bracket_C")),
                   None if method is None else str(method), {k: v for k, v in res.items() if k != "outputs"})


def _same_shape(x: np.ndarray, like: np.ndarray) -> np.ndarray:
    return x if x.shape == like.shape else np.full(like.shape, np.nan)


def _bracket(br: Any) -> tuple[float, float] | None:
    if isinstance(br, list) and len(br) == 2 and all(_num(x) is not None for x in br):
        return float(br[0]), float(br[1])
    return None


@dataclasses.dataclass(frozen=True, repr=False)
class SeriesSummary:
    """The whole run as the report shows it."""

    name: str
    description: str
    source: str
    populations: tuple[PopulationWindow, ...]
    rule: ReadoutConfig
    bin_scale: str
    samples: tuple[SampleSummary, ...]
    blanks: tuple[BlankSummary, ...]
    mesophase: Mesophase | None
    readout: SeriesReadout
    failures: tuple[dict[str, Any], ...]
    calibration: str | None
    axis: SeriesAxis = SeriesAxis.from_key(DEFAULT_AXIS)
    contrast: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"SeriesSummary({self.name!r}, {len(self.samples)} samples, {len(self.blanks)} blanks, "
                f"axis={self.axis.key!r}, {len(self.failures)} failures)")

    @property
    def has_families(self) -> bool:
        """Magic-size families configured: the family table, Yu columns and the growth read-out apply."""
        return any(w.family_radius_nm is not None for w in self.populations)

    @property
    def show_mesophase(self) -> bool:
        """The mesophase section applies: blanks at >= 2 distinct temperatures and a mesophase result."""
        temps = {b.temperature_C for b in self.blanks if b.temperature_C is not None and math.isfinite(b.temperature_C)}
        return len(temps) >= 2 and self.mesophase is not None

    @property
    def has_peaks(self) -> bool:
        """A Bragg-peak search ran on the samples."""
        return any(s.n_peaks is not None for s in self.samples)

    @property
    def families(self) -> list[dict[str, Any]]:
        """The configured MSC families: SAXS radius/diameter vs the optical (Yu) diameter of their peak."""
        return [{"name": w.name, "label": w.display, **msc_family_sizes(w.family_radius_nm, w.absorption_nm)}
                for w in self.populations if w.family_radius_nm is not None]

    def document(self, provenance: dict[str, Any]) -> dict[str, Any]:
        """The ``summary.json`` document (JSON-safe)."""
        from saxs_mc import __version__

        r = self.rule
        return jsonable({
            "pipeline": self.name, "config": self.source, "saxs_mc": __version__,
            "populations": [{"name": w.name, "label": w.label, "r_min_nm": w.r_min_nm,
                             "r_max_nm": w.r_max_nm if math.isfinite(w.r_max_nm) else None,
                             "family_radius_nm": w.family_radius_nm, "absorption_nm": w.absorption_nm}
                            for w in self.populations],
            "families": self.families,
            "readout_rule": {"mode_tolerance_nm": r.mode_tolerance_nm, "min_family_fraction": r.min_family_fraction,
                             "min_mode_height": r.min_mode_height, "shoulder_shift_fraction": r.shoulder_shift_fraction,
                             "shoulder_min_fraction": r.shoulder_min_fraction, "shoulder_n_sigma": r.shoulder_n_sigma,
                             "shoulder_min_share": r.shoulder_min_share,
                             "disagreement_n_sigma": DISAGREE_N_SIGMA, "disagreement_rule": DISAGREE_RULE},
            "series_axis": {"key": self.axis.key, "label": self.axis.label, "unit": self.axis.unit},
            "contrast": self.contrast,
            "samples": [s.row() for s in self.samples],
            "blanks": [b.row() for b in self.blanks],
            "mesophase": (self.mesophase.fields or None) if self.mesophase is not None else None,
            "readout": self.readout.summary(),
            "failures": list(self.failures),
            "provenance": provenance,
        })


# ----------------------------------------------------------------------
# building the model
def _digest(root: Path, name: str, fitr: Mapping[str, Any]) -> tuple[dict[str, Any] | None, FitDigest | None]:
    raw = _load_json(root, _outputs(fitr).get("digest"))
    if raw is None:
        return None, None
    try:
        return raw, FitDigest.from_json(raw)
    except ValueError as exc:
        log.warning("fit/%s: %s", name, exc)
        return raw, None


def _uncertainties(d: FitDigest | None, windows: Sequence[PopulationWindow], st: SampleState,
                   log_bins: bool) -> tuple[dict[str, float | None], dict[str, float | None], float | None]:
    """Window shares, their one-sigma uncertainties and that of the dominant radius (None without a fit)."""
    if d is None:
        return {w.name: None for w in windows}, {w.name: None for w in windows}, None
    c, v, e = d.radius_centers_nm, d.volume_fraction, d.volume_fraction_std
    return (dict(window_fractions(c, v, windows)), dict(window_fractions_std(c, v, e, windows)),
            mode_radius_std(c, v, e, st.dominant_radius_nm, log_bins=log_bins))


def _blank_name(cfg: PipelineConfig, s: Any) -> str | None:
    """The blank subtracted from ``s`` (None when the configuration cannot say)."""
    try:
        return cfg.blank_for(s).name
    except Exception:  # a hand-built or partial configuration: the sample's explicit blank
        return getattr(s, "blank", None)


def _optical(outcomes: Mapping[str, Any], name: str) -> tuple[OpticalPeak, ...] | None:
    res = _result(outcomes, f"optical/{name}")
    return tuple(OpticalPeak.from_json(p) for p in res["peaks"]) if isinstance(res.get("peaks"), list) else None


def _sample(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: Path, s: Any, cond: Any, axis: SeriesAxis,
            value: float | None) -> SampleSummary:
    kinds = ("reduce", "subtract", "fit") + (("peaks",) if cfg.peaks.samples else ())  # optional steps: failures list
    kinds += ("families", "optical")  # a failed decomposition or spectrum fails its sample (issue 12); absent: ignored
    status, error = _status(outcomes, [f"{k}/{s.name}" for k in kinds])
    red, sub, fitr, pk = (_result(outcomes, f"{k}/{s.name}") for k in ("reduce", "subtract", "fit", "peaks"))
    raw, digest = _digest(root, s.name, fitr)
    log_bins = (digest.bin_scale if digest is not None else cfg.fit.bin_scale) == "log"
    dec = Decomposition.from_result(_result(outcomes, f"families/{s.name}"), cfg.fit.populations)
    t_nuc = _num(cond.values.get("nucleation_temperature_C"))
    st = classify_sample(s.name, math.nan if t_nuc is None else t_nuc,
                         digest.radius_centers_nm if digest else None, digest.volume_fraction if digest else None,
                         cfg.fit.populations, cfg.readout, log_bins=log_bins,
                         family_shares=dec.shares if dec is not None else None, series_value=value)
    fr, fr_std, dom_std = _uncertainties(digest, cfg.fit.populations, st, log_bins)
    fit_doc = _load_json(root, _outputs(fitr).get("json")) or {}
    return SampleSummary(
        s.name, cond.values, _blank_name(cfg, s),
        status, error, st, fr, fr_std, dom_std, _num(fit_doc.get("total_volume_fraction_std")),
        (raw or {}).get("chi2_r", fitr.get("chi2_r")),
        red.get("n_frames", s.n_frames), red.get("n_rejected"), tuple(str(x) for x in red.get("rejected", [])),
        len(pk.get("peaks", [])) if pk else None, digest,
        _load_curve(root, _outputs(sub).get("curve")), _load_curve(root, _outputs(red).get("curve")),
        tuple(PeakRow.from_json(p) for p in pk.get("peaks") or []), _frames(red),
        _files(root, outcomes, [f"{k}/{s.name}" for k in ("reduce", "subtract", "fit", "peaks", "families", "optical")]),
        dec, _optical(outcomes, s.name), tuple(cfg.fit.populations), series_axis=axis.key, series_value=value,
        stack=cond.stack, time_point=cond.time_point, legacy_conditions=cond.legacy)


def _blank(outcomes: Mapping[str, Any], root: Path, b: Any) -> BlankSummary:
    cond = blank_conditions(root, b)
    temp = getattr(b, "temperature_C", None)
    temp = _num(cond.get("temperature_C")) if temp is None else _num(temp)
    red, pk = _result(outcomes, f"reduce/{b.name}"), _result(outcomes, f"peaks/{b.name}")
    status, error = _status(outcomes, [f"reduce/{b.name}", f"peaks/{b.name}"])
    phase = pk.get("phase")
    phase = phase if isinstance(phase, dict) else {}
    return BlankSummary(
        b.name, temp, status, error, red.get("n_frames", b.n_frames), red.get("n_rejected"),
        tuple(str(x) for x in red.get("rejected", [])), tuple(PeakRow.from_json(p) for p in pk.get("peaks") or []),
        None if phase.get("name") is None else str(phase.get("name")), _num(phase.get("lattice_nm")),
        _load_curve(root, _outputs(red).get("curve")), _frames(red),
        _files(root, outcomes, [f"reduce/{b.name}", f"peaks/{b.name}"]), cond)


def _calibration(cfg: PipelineConfig, outcomes: Mapping[str, Any]) -> str | None:
    cal = _result(outcomes, "calibrate/water")
    if cal and _num(cal.get("factor")) is not None:
        sig = _num(cal.get("factor_sigma"))
        return f"absolute scale from water: calibration factor {cal['factor']:.5g} ± {sig if sig is None else f'{sig:.2g}'}"
    if cfg.normalization.calibration_factor is not None:
        return f"calibration factor {cfg.normalization.calibration_factor:g} (intensities in 1/cm)"
    return None


def collect(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: str | Path) -> SeriesSummary:
    """Gather per-sample/blank data, the summary rows and the series read-out.

    Parameters
    ----------
    cfg : PipelineConfig
    outcomes : mapping of step id -> StepOutcome
        ``status`` in {"done", "cached", "failed", "skipped", ...} and the step's ``result`` dict.
    root : path
        The output folder; every file read is resolved inside it.
    """
    root = Path(root)
    conds = [sample_conditions(root, s) for s in cfg.samples]
    axis = resolve_axis(cfg, conds)
    values = [axis_value(axis, c, i) for i, c in enumerate(conds)]
    if axis.key != INDEX_AXIS and any(v is None for v in values):
        missing = [s.name for s, v in zip(cfg.samples, values) if v is None]
        log.warning("report: %d sample(s) have no numeric %s (%s); they are listed but not plotted against it",
                    len(missing), axis.key, ", ".join(missing[:5]))
    order = sorted(range(len(conds)), key=lambda i: (values[i] is None, values[i] or 0.0, cfg.samples[i].name))
    samples = tuple(_sample(cfg, outcomes, root, cfg.samples[i], conds[i], axis, values[i]) for i in order)
    blanks = tuple(_blank(outcomes, root, b) for b in cfg.blanks)
    blanks = tuple(sorted(blanks, key=lambda b: (b.temperature_C is None, b.temperature_C or 0.0, b.name)))
    failures = tuple({"step": o.id, "status": o.status, "error": o.error}
                     for o in outcomes.values() if o.status in ("failed", "skipped"))
    return SeriesSummary(
        cfg.name, cfg.description or "", str(cfg.source), tuple(cfg.fit.populations), cfg.readout, cfg.fit.bin_scale,
        samples, blanks, Mesophase.from_result(_result(outcomes, "mesophase/series"), root),
        series_readout([s.state for s in samples], unit=axis.short_unit), failures,
        _calibration(cfg, outcomes), axis, contrast_info(cfg))


def contrast_info(cfg: PipelineConfig) -> dict[str, Any]:
    """The particle-solvent contrast the fits used and where it came from (``[material]``, else ``[fit]``)."""
    mat = getattr(cfg, "material", None)
    if mat is not None and _num(getattr(mat, "contrast_1e6_A2", None)) is not None:
        return {"contrast_1e6_A2": float(mat.contrast_1e6_A2), "from": "[material]",
                **{k: getattr(mat, k, None) for k in ("source", "particle", "solvent", "energy_keV")}}
    return {"contrast_1e6_A2": cfg.fit.contrast_1e6_A2, "from": "[fit] contrast_1e6_A2", "source": "number",
            "particle": None, "solvent": None, "energy_keV": None}
