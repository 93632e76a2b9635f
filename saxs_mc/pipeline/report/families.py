"""Magic-size families of one sample: MC window share against the decomposition and the optical peak.

:data:`DISAGREE_RULE` states the comparison as the report and ``summary.json`` show it;
:func:`family_rows` gives the family table of a sample, :func:`family_columns` and
:func:`optical_columns` its ``summary.json`` columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config import PopulationWindow
from ..readout import FamilyShare
from .records import Decomposition, OpticalPeak

if TYPE_CHECKING:
    from .sample import SampleSummary


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
    f"of the MC share itself (MC - {DISAGREE_N_SIGMA:g} sigma_MC > U). Unresolved families are not compared."
)


def _sole_family(d: FamilyShare, dec: Decomposition | None) -> bool:
    """True when ``d`` is the only present term of the decomposition (share 1 by construction)."""
    if dec is None or d.status != "present":
        return False
    others = [
        f
        for f in dec.shares.values()
        if f is not d and f.status == "present" and math.isfinite(f.share) and f.share > 0
    ]
    cont = dec.continuous
    cont_present = cont is not None and cont.status == "present" and math.isfinite(cont.share) and cont.share > 0
    return not others and not cont_present


def _disagree(
    mc: float | None, mc_sd: float | None, d: FamilyShare | None, dec: Decomposition | None = None
) -> bool | None:
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
    """ "agree" / "SAXS only" / "optical only" for one family (None without both a spectrum and a decomposition)."""
    if optical is None or d is None or not math.isfinite(d.share):
        return None
    saxs = d.status == "present" and d.share >= OPTICAL_MIN_SHARE
    if saxs == (p is not None):
        return "agree"
    return "SAXS only" if saxs else "optical only"


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _family_row(
    w: PopulationWindow,
    mc: float | None,
    mc_sd: float | None,
    d: FamilyShare | None,
    p: OpticalPeak | None,
    dec: Decomposition | None,
    optical: tuple[OpticalPeak, ...] | None,
) -> dict[str, Any]:
    """One row of :func:`family_rows` (``w`` is a family window: its radius is set)."""
    assert w.family_radius_nm is not None
    flag = _disagree(mc, mc_sd, d, dec)
    return {
        "family": w.display,
        "saxs_diameter_nm": 2.0 * w.family_radius_nm,
        "mc_share": mc,
        "mc_share_std": mc_sd,
        "share": None if d is None else _finite(d.share),
        "share_std": None if d is None else _finite(d.share_std),
        "share_upper": None if d is None else _finite(d.share_upper),
        "status": None if d is None else d.status,
        "disagree": flag,
        "disagree_note": _disagree_note(flag, d, dec),
        "optical_nm": None if p is None else p.wavelength_nm,
        "optical_height": None if p is None else p.height,
        "yu_diameter_nm": None if p is None else p.diameter_nm,
        "optical_vs_saxs": _optical_flag(optical, d, p),
    }


def family_rows(s: SampleSummary) -> list[dict[str, Any]]:
    """Per family: MC window share +- std, decomposition share +- std (or upper limit), disagreement flag,
    optical peak (wavelength, height) of the same family, SAXS diameter 2r and the Yu diameter."""
    dec: Mapping[str, FamilyShare] = s.decomposition.shares if s.decomposition is not None else {}
    opt = {p.family: p for p in s.optical or () if p.family is not None}
    return [
        _family_row(
            w,
            s.fractions.get(w.name),
            s.fractions_std.get(w.name),
            dec.get(w.name),
            opt.get(w.display),
            s.decomposition,
            s.optical,
        )
        for w in s.populations
        if w.family_radius_nm is not None
    ]


def family_columns(s: SampleSummary) -> dict[str, Any]:
    """The ``summary.json`` columns of the decomposition: per family share, std, upper limit, status, flag."""
    out: dict[str, Any] = {}
    for r in family_rows(s):
        f = r["family"]
        out[f"family_share[{f}]"] = r["share"]
        out[f"family_share_std[{f}]"] = r["share_std"]
        out[f"family_share_upper[{f}]"] = r["share_upper"]
        out[f"family_status[{f}]"] = r["status"]
        out[f"family_share_disagrees_with_mc[{f}]"] = r["disagree"]
    c = s.decomposition.continuous if s.decomposition is not None else None
    if c is not None:
        out["continuous_share"] = _finite(c.share)
        out["continuous_share_std"] = _finite(c.share_std)
    return out


def optical_columns(optical: tuple[OpticalPeak, ...] | None) -> dict[str, Any]:
    """The ``summary.json`` columns of the absorbance spectrum (none when no spectrum is named)."""
    if optical is None:
        return {}
    first = optical[0] if optical else None
    return {
        "optical_families": [p.family for p in optical if p.family is not None],
        "optical_first_exciton_nm": None if first is None else first.wavelength_nm,
        "optical_yu_diameter_nm": None if first is None else first.diameter_nm,
    }
