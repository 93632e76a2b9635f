"""Figures of the per-sample and per-blank pages: curve, fit and size distribution; blank curve and peaks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from .plotting import MODE_PROXY, _family_lines, _log_x, _log_y_floor, _proxies, _temp, _txt, _yerr_log, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from saxs_mc.io.curves import Curve

    from ..config import PopulationWindow
    from .model import BlankSummary, FitDigest, SampleSummary


def _distribution_axes(ax: Axes, s: SampleSummary, populations: Sequence[PopulationWindow]) -> None:
    d = cast("FitDigest", s.digest)  # called for samples with a digest only
    c = d.radius_centers_nm
    ax.bar(
        c,
        d.volume_fraction,
        width=np.gradient(c) * 0.9,
        yerr=d.volume_fraction_std,
        alpha=0.6,
        ecolor="0.3",
        error_kw={"lw": 0.8},
        label="volume fraction per bin, ±1σ",
    )
    fam = _family_lines(ax, populations)
    if s.state.dominant_radius_nm:
        top = float(np.nanmax(d.volume_fraction + np.nan_to_num(d.volume_fraction_std)))
        ax.plot([s.state.dominant_radius_nm], [1.04 * top], "v", color="k", ms=5)
    _log_x(ax, (0.5, 1, 2, 4))
    ax.set_xlabel("radius r (nm)")
    ax.set_ylabel("volume fraction per bin")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + _proxies(*([fam] if fam else []), MODE_PROXY),
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=2,
    )


def sample_figure(s: SampleSummary, populations: Sequence[PopulationWindow]) -> Figure | None:
    """One sample: curve before/after blank subtraction with the MC fit, and the size distribution."""
    d = s.digest
    if d is None and s.curve is None:
        return None
    fig = new_figure(10, 4.8)
    a1, a2 = fig.subplots(1, 2)
    if s.raw_curve is not None:
        a1.plot(
            s.raw_curve.q, s.raw_curve.intensity, "-", lw=0.8, color="0.6", label="sample (before blank subtraction)"
        )
    if d is not None:
        pos = np.isfinite(d.intensity) & (d.intensity > 0)
        a1.errorbar(
            d.q_nm[pos],
            d.intensity[pos],
            yerr=_yerr_log(d.intensity[pos], d.sigma[pos]),
            fmt=".",
            ms=2,
            lw=0.5,
            label="blank-subtracted, ±1σ",
        )
        chi = f"{d.chi2_r:.2f}" if d.chi2_r is not None else "–"
        a1.plot(d.q_nm, np.where(d.model > 0, d.model, np.nan), "k-", lw=1, label=f"MC fit, χ²_r = {chi}")
        a1.set_ylabel(f"I(q) ({d.intensity_unit})")
        _distribution_axes(a2, s, populations)
    else:
        c = cast("Curve", s.curve)  # no digest, so a curve (checked above)
        a1.plot(c.q, c.intensity, ".", ms=2, label="blank-subtracted")
        a2.set_axis_off()
        a2.text(0.5, 0.5, "no MC fit result", ha="center", va="center", transform=a2.transAxes)
    _log_x(a1)
    _log_y_floor(
        a1,
        np.concatenate(
            [c.intensity for c in (s.raw_curve, s.curve) if c is not None] + ([d.intensity] if d is not None else [])
        ),
    )
    a1.set_xlabel("q (1/nm)")
    a1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return fig


def blank_figure(b: BlankSummary) -> Figure | None:
    """One blank: reduced curve (±1σ band) with its Bragg peaks marked and their d-spacings."""
    if b.curve is None:
        return None
    c = b.curve
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    lo = np.clip(c.intensity - np.nan_to_num(c.sigma), 1e-3 * np.abs(c.intensity), None)
    ax.fill_between(c.q, lo, c.intensity + np.nan_to_num(c.sigma), color="C0", alpha=0.3, lw=0, label="±1σ")
    ax.plot(c.q, c.intensity, "-", lw=1, color="C0", label=f"{_txt(b.name)} ({_temp(b)})")
    for p in b.peaks:
        if p.q_nm is None:
            continue
        j = int(np.argmin(np.abs(c.q - p.q_nm)))
        ax.plot([p.q_nm], [c.intensity[j] * 1.3], "v", color="tab:red", ms=5)
        if p.d_nm is not None:
            ax.annotate(
                f"d = {p.d_nm:.2f} nm",
                (p.q_nm, c.intensity[j] * 1.3),
                xytext=(0, 6),
                textcoords="offset points",
                fontsize=7,
                ha="center",
                color="tab:red",
            )
    finite = c.intensity[np.isfinite(c.intensity) & (c.intensity > 0)]
    if b.peaks and finite.size:
        ax.set_yscale("log")
        ax.set_ylim(top=4.0 * float(finite.max()))  # room for the d labels
    if not b.peaks:
        ax.text(0.5, 0.95, "no Bragg peaks found", transform=ax.transAxes, ha="center", va="top", fontsize=8)
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    ax.set_ylabel(f"I(q) ({c.intensity_unit})")
    phase = b.phase if b.phase not in (None, "none") else ("no indexed phase" if b.peaks else "no Bragg peaks")
    ax.set_title(f"{_txt(b.name)} ({_temp(b)}): {_txt(phase)}", fontsize=9)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles
        + (
            _proxies(("Bragg peak (d = 2π/q)", {"color": "tab:red", "marker": "v", "ls": "", "ms": 5}))
            if b.peaks
            else []
        ),
        fontsize=7,
    )
    return fig
