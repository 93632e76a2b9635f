"""Series read-out: where is growth quantized, where is it continuous?

Inputs are the volume-weighted radius histograms of the Monte Carlo fits
(one per sample, ordered by nucleation temperature).

Rule (explicit, applied per sample)
-----------------------------------
1. *Modes*: local maxima of the volume-fraction histogram whose height is at
   least ``min_mode_height`` x the highest bin; each position is refined by a
   parabola through the maximum and its two neighbours (in log r for log
   bins).  The *dominant radius* is the highest mode.
2. *Window fractions*: the share of the total volume in each population
   window (a bin belongs to the window containing its centre).
3. The sample is **quantized on family F** when
   (a) its dominant radius is within ``mode_tolerance_nm`` of F's
   ``family_radius_nm`` and
   (b) the family windows together hold at least ``min_family_fraction`` of
   the volume (the distribution is narrow, concentrated on discrete sizes).
   Any other mode within tolerance of another family is a *shoulder*; so is
   the neighbouring family towards which the dominant radius is displaced by
   at least ``shoulder_shift_fraction`` of the spacing between the two family
   radii (two adjacent families closer than the fit resolves merge into one
   mode lying between them); so is any other family whose window holds at
   least ``shoulder_min_fraction`` of the volume (a sharp fit may keep the
   dominant mode on its family while a neighbouring one fills its own window).
   Otherwise the sample is **continuous** (dominant radius off the families or
   volume spread outside them).  A sample without a fit is ``undetermined``.

With a family decomposition (``[families]``; :func:`saxs_mc.families.decompose`)
rule 3 uses its shares of the resolved volume and their uncertainties instead
of the histogram (the Monte Carlo smears families 8 % apart in radius into one
another, issue 12):

3'. The sample is **quantized on family F** when F has the largest share and
    the families together (everything but the continuous population) hold at
    least ``min_family_fraction`` of the resolved volume.  A **shoulder** is
    any other family significantly above zero: ``share - shoulder_n_sigma *
    share_std > 0`` and ``share >= shoulder_min_share`` (absent families have
    share 0 and an upper limit; unresolved ones no share at all: both are never
    shoulders).  Otherwise the sample is **continuous**.  Modes and the
    dominant radius still come from the Monte Carlo histogram.  When the
    decomposition is missing or resolves no family, rule 3 applies.

Without any family (no ``family_radius_nm`` in the population windows) the
rule does not apply: samples are :data:`NOT_ASSESSED` and the series read-out
says so instead of guessing.

Series
------
Samples sorted by their position on the series axis (the nucleation
temperature for the CdSe study; any condition otherwise); consecutive quantized samples on
the same family form a *plateau*; a change of family between neighbours is a
*jump* (reported between the two temperatures); the *transition to
continuous growth* is the lowest temperature from which every sample is
continuous, with the last quantized temperature below it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from .config import PopulationWindow, ReadoutConfig


@dataclasses.dataclass(frozen=True)
class Mode:
    radius_nm: float
    height: float  # relative to the highest bin (0..1]


def find_modes(
    centers_nm: np.ndarray, volume_fraction: np.ndarray, *, min_height: float = 0.25, log_bins: bool = True
) -> list[Mode]:
    """Modes of a volume-weighted radius histogram, highest first.

    Parameters
    ----------
    centers_nm : ndarray of shape (n_bins,)
        Bin centres (increasing).
    volume_fraction : ndarray of shape (n_bins,)
        Volume fraction per bin (>= 0; NaN treated as 0).
    min_height : float
        Keep maxima at least this fraction of the highest bin.
    log_bins : bool
        Refine positions in log r (log-spaced bins) or in r.
    """
    c = np.asarray(centers_nm, dtype=float)
    v = np.nan_to_num(np.asarray(volume_fraction, dtype=float), nan=0.0)
    if c.ndim != 1 or c.shape != v.shape or c.size == 0:
        raise ValueError(
            f"centers_nm and volume_fraction must be 1D of equal non-zero length, got {c.shape}, {v.shape}"
        )
    vmax = float(v.max())
    if not vmax > 0:
        return []
    x = np.log(c) if log_bins else c
    modes = [
        Mode(float(np.exp(pos)) if log_bins else float(pos), float(v[i] / vmax))
        for i, pos in _maxima(x, v, min_height * vmax)
    ]
    modes.sort(key=lambda m: -m.height)
    return modes


def _maxima(x: np.ndarray, v: np.ndarray, min_value: float) -> list[tuple[int, float]]:
    """Local maxima of ``v`` (a plateau of equal values counts once) at least ``min_value``.

    Returns (first index of the maximum, refined position in ``x``) per maximum, left to right.
    """
    padded = np.concatenate([[-np.inf], v, [-np.inf]])
    out = []
    i = 0
    n = v.size
    while i < n:
        j = i
        while j + 1 < n and v[j + 1] == v[i]:  # plateau of equal values
            j += 1
        if v[i] > padded[i] and v[i] > padded[j + 2] and v[i] >= min_value:
            out.append((i, _peak_position(x, v, i, j)))
        i = j + 1
    return out


def _peak_position(x: np.ndarray, v: np.ndarray, i: int, j: int) -> float:
    """Position of the maximum spanning bins ``i..j``: its middle bin, refined by a parabola for a single bin."""
    k = (i + j) // 2
    if i == j and 0 < k < v.size - 1:
        cand = _vertex(x[k - 1 : k + 2], v[k - 1 : k + 2])
        if cand is not None:
            return cand
    return x[k]


def window_fractions(
    centers_nm: np.ndarray, volume_fraction: np.ndarray, windows: Sequence[PopulationWindow]
) -> dict[str, float]:
    """Share of the total volume in each window (by bin centre); NaN if the total is 0."""
    c = np.asarray(centers_nm, dtype=float)
    v = np.nan_to_num(np.asarray(volume_fraction, dtype=float), nan=0.0)
    tot = float(v.sum())
    out = {}
    for w in windows:
        m = (c >= w.r_min_nm) & (c < w.r_max_nm)
        out[w.name] = float(v[m].sum() / tot) if tot > 0 else math.nan
    return out


def describe_rule(rule: ReadoutConfig) -> str:
    """The growth rule of the module docstring with this rule's numbers, as one plain-text paragraph.

    Shown under the read-out of the report (escaped there like any other text).
    """
    return (
        "Rule: a sample is quantized on a magic-size family when the dominant mode of its volume-weighted "
        f"distribution lies within {rule.mode_tolerance_nm} nm of the family radius and the family windows hold "
        f"\u2265 {rule.min_family_fraction:.0%} of the volume; otherwise continuous. Modes: local maxima "
        f"\u2265 {rule.min_mode_height:.0%} of the highest bin. Shoulder: a second mode on another family, or the "
        f"dominant mode displaced \u2265 {rule.shoulder_shift_fraction:.0%} of the way towards the neighbouring "
        "family (unresolved mixture), or another family window holding "
        f"\u2265 {rule.shoulder_min_fraction:.0%} of the volume. With a family decomposition its shares decide "
        "instead: quantized on the family with the largest share when the families hold "
        f"\u2265 {rule.min_family_fraction:.0%} of the resolved volume; a shoulder is another family with share "
        f"\u2212 {rule.shoulder_n_sigma:g}\u03c3 > 0 and share \u2265 {rule.shoulder_min_share:.0%}."
    )


def window_fractions_std(
    centers_nm: np.ndarray,
    volume_fraction: np.ndarray,
    volume_fraction_std: np.ndarray,
    windows: Sequence[PopulationWindow],
) -> dict[str, float]:
    """One-sigma uncertainty of :func:`window_fractions`.

    First-order propagation of the per-bin standard deviations (the spread over the
    MC repetitions), treating bins as independent: for a window share
    f = A / (A + B), var f = ((1 - f)^2 var A + f^2 var B) / (A + B)^2, where A is
    the volume inside the window and B the volume outside.  NaN if the total is 0.
    """
    c = np.asarray(centers_nm, dtype=float)
    v = np.nan_to_num(np.asarray(volume_fraction, dtype=float), nan=0.0)
    var = np.nan_to_num(np.asarray(volume_fraction_std, dtype=float), nan=0.0) ** 2
    tot = float(v.sum())
    out = {}
    for w in windows:
        m = (c >= w.r_min_nm) & (c < w.r_max_nm)
        if not tot > 0:
            out[w.name] = math.nan
            continue
        f = float(v[m].sum()) / tot
        out[w.name] = math.sqrt((1 - f) ** 2 * float(var[m].sum()) + f**2 * float(var[~m].sum())) / tot
    return out


def _vertex(x: np.ndarray, y: np.ndarray) -> float | None:
    """Abscissa of the parabola through three points, None if it is not a maximum inside them."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    if not y0 - 2 * y1 + y2 < 0:
        return None
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    d = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if d == 0:
        return None
    cand = x1 - 0.5 * num / d
    return float(cand) if x0 <= cand <= x2 else None


def mode_radius_std(
    centers_nm: np.ndarray,
    volume_fraction: np.ndarray,
    volume_fraction_std: np.ndarray,
    radius_nm: float | None,
    *,
    log_bins: bool = True,
) -> float | None:
    """One-sigma uncertainty of a mode position found by :func:`find_modes`.

    Where the mode was refined by the three-point parabola, the per-bin standard
    deviations are propagated through the vertex (first order, independent bins,
    numerical derivatives).  Where it was not (edge bin, plateau, vertex outside
    the three bins) the position is known to the bin: half a bin width / sqrt(3).
    None without a mode.
    """
    if radius_nm is None or not math.isfinite(radius_nm):
        return None
    c = np.asarray(centers_nm, dtype=float)
    v = np.nan_to_num(np.asarray(volume_fraction, dtype=float), nan=0.0)
    s = np.nan_to_num(np.asarray(volume_fraction_std, dtype=float), nan=0.0)
    x = np.log(c) if log_bins else c
    xr = math.log(radius_nm) if log_bins else radius_nm
    k = int(np.argmin(np.abs(x - xr)))
    edges = np.concatenate(
        [
            [x[0] - 0.5 * (x[1] - x[0])] if x.size > 1 else [x[0] - 0.5],
            0.5 * (x[1:] + x[:-1]),
            [x[-1] + 0.5 * (x[-1] - x[-2])] if x.size > 1 else [x[0] + 0.5],
        ]
    )
    sx = 0.5 * float(edges[k + 1] - edges[k]) / math.sqrt(3.0)
    if 0 < k < x.size - 1:
        xs, ys, ss = x[k - 1 : k + 2], v[k - 1 : k + 2], s[k - 1 : k + 2]
        pos = _vertex(xs, ys)
        if pos is not None:
            var = 0.0
            for j in range(3):
                h = max(1e-6 * float(np.max(ys)), 1e-300)
                yp = ys.copy()
                yp[j] += h
                p2 = _vertex(xs, yp)
                if p2 is None:
                    break
                var += ((p2 - pos) / h * ss[j]) ** 2
            else:
                sx = math.sqrt(var)
    return float(radius_nm * sx) if log_bins else float(sx)


@dataclasses.dataclass(frozen=True)
class FamilyShare:
    """A family's share of the resolved volume from the decomposition (one standard deviation).

    ``status``: "present" (kept by the model selection), "absent" (share 0, ``share_upper`` the
    one-sided 95 % limit) or "unresolved" (below the resolvable radius: no share, NaN).
    """

    share: float
    share_std: float
    status: str = "present"
    share_upper: float = math.nan

    def significant(self, n_sigma: float, min_share: float) -> bool:
        """share - n_sigma * share_std > 0 and share >= min_share (a present family only)."""
        sd = self.share_std if math.isfinite(self.share_std) else 0.0
        return (
            self.status == "present"
            and math.isfinite(self.share)
            and self.share - n_sigma * sd > 0
            and self.share >= min_share
        )


@dataclasses.dataclass(frozen=True)
class SampleState:
    """Read-out of one sample."""

    name: str
    nucleation_temperature_C: float
    state: str  # "quantized" | "continuous" | "undetermined"
    family: str | None
    family_radius_nm: float | None
    dominant_radius_nm: float | None
    modes_nm: tuple[float, ...]
    shoulders: tuple[str, ...]
    family_fraction: float | None
    reason: str
    family_label: str | None = None  # e.g. "CdSe-437" (the family's display name)
    shoulder_labels: tuple[str, ...] = ()
    basis: str = "histogram"  # what the rule used: "histogram" (MC windows) or "decomposition" (family shares)
    series_value: float | None = None  # position on the series axis (None: the nucleation temperature)

    def summary(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def position(self) -> float:
        """Where the sample sits on the series: ``series_value``, else the nucleation temperature."""
        return self.series_value if self.series_value is not None else self.nucleation_temperature_C


#: growth state of a sample when no magic-size family is configured (the read-out does not apply)
NOT_ASSESSED = "not assessed"
NO_FAMILIES_TEXT = (
    "no magic-size families configured ([[fit.populations]] with family_radius_nm): the "
    "quantized/continuous growth read-out does not apply and is not attempted"
)


def _family_r(w: PopulationWindow) -> float:
    """The family radius of a family window (callers pass only windows with ``family_radius_nm`` set)."""
    return cast(float, w.family_radius_nm)


def _nearest_family(fams: Sequence[PopulationWindow], r: float, tol: float) -> PopulationWindow | None:
    """The family whose radius is closest to ``r``, if within ``tol``."""
    best = min(fams, key=lambda w: abs(_family_r(w) - r), default=None)
    if best is not None and abs(_family_r(best) - r) <= tol:
        return best
    return None


def _displaced_towards(
    fams: Sequence[PopulationWindow], fam: PopulationWindow, dom: float, shift_fraction: float
) -> PopulationWindow | None:
    """The neighbouring family the dominant radius is displaced towards by >= ``shift_fraction`` of the spacing."""
    if dom == _family_r(fam):
        return None
    up = dom > _family_r(fam)
    side = [w for w in fams if (_family_r(w) > _family_r(fam) if up else _family_r(w) < _family_r(fam))]
    if not side:
        return None
    nb = min(side, key=lambda w: abs(_family_r(w) - _family_r(fam)))
    shift = abs(dom - _family_r(fam)) / abs(_family_r(nb) - _family_r(fam))
    return nb if shift >= shift_fraction else None


def _shoulders(
    modes: Sequence[Mode],
    fams: Sequence[PopulationWindow],
    fam: PopulationWindow | None,
    fr: dict[str, float],
    rule: ReadoutConfig,
) -> list[str]:
    """Shoulder families (rule 3 of the module docstring), ordered by family radius when on a family."""
    shoulders: list[str] = []
    for m in modes[1:]:
        f2 = _nearest_family(fams, m.radius_nm, rule.mode_tolerance_nm)
        if f2 is not None and (fam is None or f2.name != fam.name) and f2.name not in shoulders:
            shoulders.append(f2.name)
    if fam is None:
        return shoulders
    nb = _displaced_towards(fams, fam, modes[0].radius_nm, rule.shoulder_shift_fraction)
    if nb is not None and nb.name not in shoulders:
        shoulders.append(nb.name)
    for w in fams:
        share = fr.get(w.name, math.nan)
        if w.name != fam.name and share >= rule.shoulder_min_fraction and w.name not in shoulders:
            shoulders.append(w.name)
    order = {w.name: i for i, w in enumerate(sorted(fams, key=_family_r))}
    shoulders.sort(key=lambda n: order[n])
    return shoulders


def _usable_shares(shares: Mapping[str, FamilyShare] | None, fams: Sequence[PopulationWindow]) -> bool:
    """A decomposition is used when it gives a finite share to at least one configured family."""
    if not shares:
        return False
    return any(w.name in shares and math.isfinite(shares[w.name].share) for w in fams)


def _classify_by_shares(
    name: str,
    temperature_C: float,
    modes: Sequence[Mode],
    fams: Sequence[PopulationWindow],
    shares: Mapping[str, FamilyShare],
    rule: ReadoutConfig,
) -> SampleState:
    """Rule 3' of the module docstring (decomposition shares and their uncertainties)."""
    fin = {w.name: shares[w.name] for w in fams if w.name in shares and math.isfinite(shares[w.name].share)}
    fam_frac = float(sum(f.share for f in fin.values()))
    by_name = {w.name: w for w in fams}
    top = max(fin, key=lambda n: fin[n].share)
    dom = modes[0].radius_nm if modes else None
    modes_nm = tuple(m.radius_nm for m in modes)
    order = sorted(fams, key=_family_r)
    shoulders = tuple(
        w.name
        for w in order
        if w.name != top and w.name in fin and fin[w.name].significant(rule.shoulder_n_sigma, rule.shoulder_min_share)
    )
    sh_labels = tuple(by_name[n].display for n in shoulders)
    fam = by_name[top]
    if fin[top].share > 0 and fam_frac >= rule.min_family_fraction:
        f = fin[top]
        reason = (
            f"decomposition: {fam.display} holds the largest share {f.share:.2f} \u00b1 {f.share_std:.2f} and the "
            f"families {fam_frac:.0%} of the resolved volume"
        )
        return SampleState(
            name,
            temperature_C,
            "quantized",
            fam.name,
            fam.family_radius_nm,
            dom,
            modes_nm,
            shoulders,
            fam_frac,
            reason,
            family_label=fam.display,
            shoulder_labels=sh_labels,
            basis="decomposition",
        )
    reason = (
        f"decomposition: the families hold only {fam_frac:.0%} of the resolved volume "
        f"(< {rule.min_family_fraction:.0%}); the rest is the continuous population"
    )
    return SampleState(
        name,
        temperature_C,
        "continuous",
        None,
        None,
        dom,
        modes_nm,
        shoulders,
        fam_frac,
        reason,
        shoulder_labels=sh_labels,
        basis="decomposition",
    )


def classify_sample(
    name: str,
    temperature_C: float,
    centers_nm: np.ndarray | None,
    volume_fraction: np.ndarray | None,
    windows: Sequence[PopulationWindow],
    rule: ReadoutConfig,
    *,
    log_bins: bool = True,
    family_shares: Mapping[str, FamilyShare] | None = None,
    series_value: float | None = None,
) -> SampleState:
    """Apply the rule of the module docstring to one sample.

    ``family_shares`` (population-window name -> :class:`FamilyShare`) are the decomposition's;
    when they give any family a share, rule 3' is used, else the histogram windows (rule 3).
    Without any family window (no ``family_radius_nm``) the rule does not apply: the state is
    :data:`NOT_ASSESSED` (modes and the dominant radius are still found).  ``series_value``
    places the sample on a series axis other than the nucleation temperature.
    """
    st = _classify(name, temperature_C, centers_nm, volume_fraction, windows, rule, log_bins, family_shares)
    return st if series_value is None else dataclasses.replace(st, series_value=float(series_value))


def _not_assessed(name: str, temperature_C: float, modes: Sequence[Mode]) -> SampleState:
    dom = modes[0].radius_nm if modes else None
    return SampleState(
        name,
        temperature_C,
        NOT_ASSESSED,
        None,
        None,
        dom,
        tuple(m.radius_nm for m in modes),
        (),
        None,
        NO_FAMILIES_TEXT,
    )


def _classify(
    name: str,
    temperature_C: float,
    centers_nm: np.ndarray | None,
    volume_fraction: np.ndarray | None,
    windows: Sequence[PopulationWindow],
    rule: ReadoutConfig,
    log_bins: bool,
    family_shares: Mapping[str, FamilyShare] | None,
) -> SampleState:
    fams = [w for w in windows if w.family_radius_nm is not None]
    modes = (
        find_modes(centers_nm, volume_fraction, min_height=rule.min_mode_height, log_bins=log_bins)
        if centers_nm is not None and volume_fraction is not None
        else []
    )
    if not fams:
        return _not_assessed(name, temperature_C, modes)
    if family_shares is not None and _usable_shares(family_shares, fams):
        return _classify_by_shares(name, temperature_C, modes, fams, family_shares, rule)
    if centers_nm is None or volume_fraction is None:
        return SampleState(name, temperature_C, "undetermined", None, None, None, (), (), None, "no fit result")
    if not modes:
        return SampleState(
            name, temperature_C, "undetermined", None, None, None, (), (), None, "empty size distribution"
        )
    return _classify_by_windows(name, temperature_C, centers_nm, volume_fraction, modes, fams, rule)


def _classify_by_windows(
    name: str,
    temperature_C: float,
    centers_nm: np.ndarray,
    volume_fraction: np.ndarray,
    modes: Sequence[Mode],
    fams: Sequence[PopulationWindow],
    rule: ReadoutConfig,
) -> SampleState:
    """Rule 3 of the module docstring (dominant mode near a family radius, volume in the family windows)."""
    fr = window_fractions(centers_nm, volume_fraction, fams)
    fam_frac = float(sum(v for v in fr.values() if math.isfinite(v)))
    dom = modes[0].radius_nm
    fam = _nearest_family(fams, dom, rule.mode_tolerance_nm)
    shoulders = _shoulders(modes, fams, fam, fr, rule)
    by_name = {w.name: w for w in fams}
    sh_labels = tuple(by_name[n].display for n in shoulders)
    modes_nm = tuple(m.radius_nm for m in modes)
    if fam is not None and fam_frac >= rule.min_family_fraction:
        reason = (
            f"dominant radius {dom:.3f} nm within {rule.mode_tolerance_nm} nm of {fam.family_radius_nm} nm "
            f"and {fam_frac:.0%} of the volume in the family windows"
        )
        return SampleState(
            name,
            temperature_C,
            "quantized",
            fam.name,
            fam.family_radius_nm,
            dom,
            modes_nm,
            tuple(shoulders),
            fam_frac,
            reason,
            family_label=fam.display,
            shoulder_labels=sh_labels,
        )
    if fam is None:
        reason = f"dominant radius {dom:.3f} nm is not within {rule.mode_tolerance_nm} nm of a family radius"
    else:
        reason = (
            f"only {fam_frac:.0%} of the volume in the family windows "
            f"(< {rule.min_family_fraction:.0%}): broad distribution"
        )
    return SampleState(
        name,
        temperature_C,
        "continuous",
        None,
        None,
        dom,
        modes_nm,
        tuple(shoulders),
        fam_frac,
        reason,
        shoulder_labels=sh_labels,
    )


@dataclasses.dataclass(frozen=True)
class SeriesReadout:
    """Read-out of a series (see module docstring)."""

    samples: tuple[SampleState, ...]
    plateaus: tuple[dict[str, Any], ...]
    jumps: tuple[dict[str, Any], ...]
    continuous_from_C: float | None
    last_quantized_C: float | None
    text: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {
            "samples": [s.summary() for s in self.samples],
            "plateaus": list(self.plateaus),
            "jumps": list(self.jumps),
            "continuous_from_C": self.continuous_from_C,
            "last_quantized_C": self.last_quantized_C,
            "text": list(self.text),
        }


def _plateaus(det: Sequence[SampleState]) -> list[dict[str, Any]]:
    """Runs of consecutive (determined) samples quantized on the same family."""
    plateaus: list[dict[str, Any]] = []
    for i, s in enumerate(det):
        if s.state != "quantized":
            continue
        if plateaus and plateaus[-1]["family"] == s.family and plateaus[-1]["_last"] is det[i - 1]:
            plateaus[-1]["T_to_C"] = s.position
            plateaus[-1]["samples"].append(s.name)
            plateaus[-1]["_last"] = s
        else:
            plateaus.append(
                {
                    "family": s.family,
                    "label": s.family_label,
                    "radius_nm": s.family_radius_nm,
                    "T_from_C": s.position,
                    "T_to_C": s.position,
                    "samples": [s.name],
                    "_last": s,
                }
            )
    for p in plateaus:
        p.pop("_last")
    return plateaus


def _jumps(det: Sequence[SampleState]) -> list[dict[str, Any]]:
    """Changes of family between neighbouring quantized samples."""
    return [
        {
            "from_family": a.family,
            "from_label": a.family_label,
            "from_radius_nm": a.family_radius_nm,
            "to_family": b.family,
            "to_label": b.family_label,
            "to_radius_nm": b.family_radius_nm,
            "T_below_C": a.position,
            "T_above_C": b.position,
        }
        for a, b in zip(det, det[1:])
        if a.state == b.state == "quantized" and a.family != b.family
    ]


def _transition(det: Sequence[SampleState]) -> tuple[float | None, float | None]:
    """Lowest temperature from which every sample is continuous, and the last quantized one below it."""
    for i in range(len(det)):
        if all(s.state == "continuous" for s in det[i:]):
            last_q = next((s.position for s in reversed(det[:i]) if s.state == "quantized"), None)
            return det[i].position, last_q
    return None, None


def _plateau_lines(plateaus: list[dict[str, Any]], u: str) -> list[str]:
    """One sentence per plateau of quantized growth."""
    text = []
    for p in plateaus:
        rng = f"{p['T_from_C']:g}{u}" if p["T_from_C"] == p["T_to_C"] else f"{p['T_from_C']:g}-{p['T_to_C']:g}{u}"
        text.append(f"quantized growth on {p['label'] or p['family']} (r = {p['radius_nm']:g} nm) at {rng}")
    return text


def _jump_lines(jumps: list[dict[str, Any]], u: str) -> list[str]:
    """One sentence per discrete jump between families."""
    text = []
    for j in jumps:
        names = f" ({j['from_label']} -> {j['to_label']})" if j["from_label"] and j["to_label"] else ""
        text.append(
            f"discrete jump {j['from_radius_nm']:g} -> {j['to_radius_nm']:g} nm{names} between "
            f"{j['T_below_C']:g} and {j['T_above_C']:g}{u}"
        )
    return text


def _shoulder_lines(ss: Sequence[SampleState], u: str) -> list[str]:
    """One sentence per quantized sample with shoulder families."""
    return [
        f"{s.position:g}{u}: shoulder at {', '.join(s.shoulder_labels or s.shoulders)}"
        for s in ss
        if s.state == "quantized" and s.shoulders
    ]


def _continuous_line(det: Sequence[SampleState], cont_from: float, last_q: float | None, u: str) -> str:
    """The sentence on continuous growth from ``cont_from`` (with the transition and the radius trend)."""
    radii = [s.dominant_radius_nm for s in det if s.position >= cont_from and s.dominant_radius_nm is not None]
    trend = f" (dominant radius {radii[0]:.2f} -> {radii[-1]:.2f} nm)" if len(radii) >= 2 else ""
    where = f", transition between {last_q:g} and {cont_from:g}{u}" if last_q is not None else ""
    return f"continuous growth from {cont_from:g}{u}{where}{trend}"


def _off_family_lines(det: Sequence[SampleState], cont_from: float | None, u: str) -> list[str]:
    """One sentence per continuous sample inside the quantized regime (below ``cont_from``)."""
    return [
        f"{s.position:g}{u}: off-family/broad distribution inside the quantized regime ({s.reason})"
        for s in det
        if s.state == "continuous" and (cont_from is None or s.position < cont_from)
    ]


def _readout_text(
    ss: Sequence[SampleState],
    det: Sequence[SampleState],
    plateaus: list[dict[str, Any]],
    jumps: list[dict[str, Any]],
    cont_from: float | None,
    last_q: float | None,
    unit: str = "C",
) -> list[str]:
    """The read-out sentences: plateaus, jumps, shoulders, continuous growth, off-family samples."""
    u = f" {unit}" if unit else ""
    text = _plateau_lines(plateaus, u) + _jump_lines(jumps, u) + _shoulder_lines(ss, u)
    if cont_from is not None:
        text.append(_continuous_line(det, cont_from, last_q, u))
    text += _off_family_lines(det, cont_from, u)
    if not det:
        text.append("no fitted sample: no read-out")
    return text


def series_readout(states: Sequence[SampleState], *, unit: str = "C") -> SeriesReadout:
    """Plateaus, jumps and the quantized -> continuous transition of a series.

    Samples are ordered by their position on the series axis (:attr:`SampleState.position`);
    ``unit`` follows the numbers in the sentences.  The plateau/jump/transition keys keep the
    names of the nucleation-temperature study (``T_from_C`` ...) and hold axis positions.
    Samples :data:`NOT_ASSESSED` (no families configured) give no read-out, only a sentence saying so.
    """
    ss = sorted(states, key=lambda s: s.position)
    if ss and all(s.state == NOT_ASSESSED for s in ss):
        return SeriesReadout(tuple(ss), (), (), None, None, (NO_FAMILIES_TEXT,))
    det = [s for s in ss if s.state not in ("undetermined", NOT_ASSESSED)]
    plateaus, jumps = _plateaus(det), _jumps(det)
    cont_from, last_q = _transition(det)
    text = _readout_text(ss, det, plateaus, jumps, cont_from, last_q, unit)
    return SeriesReadout(tuple(ss), tuple(plateaus), tuple(jumps), cont_from, last_q, tuple(text))
