"""Figures of the whole series: distributions, family shares, axis-radius map, trends, curves and blanks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .plotting import (
    BAND_PROXY,
    MODE_PROXY,
    _family_lines,
    _log_x,
    _log_y_floor,
    _proxies,
    _temp,
    _txt,
    _yerr_log,
    new_figure,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from saxs_mc.io.curves import Curve

    from .model import BlankSummary, FitDigest, Mesophase, SampleSummary, SeriesSummary


#: most curves drawn in a stacked figure (a longer series is thinned evenly; the map shows every sample)
MAX_STACKED = 24


def _thin(items: Sequence[Any], n_max: int) -> list[Any]:
    """At most ``n_max`` items, evenly spaced, first and last kept."""
    if len(items) <= n_max:
        return list(items)
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, n_max)).astype(int))
    return [items[i] for i in idx]


def _at(series: SeriesSummary, s: SampleSummary) -> str:
    """The sample's position on the series axis as text (``190 °C``, ``30 s``)."""
    return _txt(series.axis.format(s.series_value))


def distributions_figure(series: SeriesSummary) -> Figure | None:
    """Volume-weighted size distributions (±1σ bands) stacked along the series axis (Fig. 2 left of the study)."""
    have_all = [s for s in series.samples if s.digest is not None]
    if not have_all:
        return None
    have = _thin(have_all, MAX_STACKED)
    fig = new_figure(5.8, 2.3 + (0.55 if len(have) <= 12 else 0.4) * len(have))
    ax = fig.add_subplot()
    for i, s in enumerate(have):
        d, col = cast("FitDigest", s.digest), f"C{i % 10}"  # ``have`` holds samples with a digest
        c, v = d.radius_centers_nm, np.nan_to_num(d.volume_fraction)
        e = np.nan_to_num(d.volume_fraction_std)
        vmax = float(v.max()) if v.max() > 0 else 1.0
        ax.fill_between(
            c,
            i + 0.9 * np.clip(v - e, 0, None) / vmax,
            i + 0.9 * (v + e) / vmax,
            step="mid",
            color=col,
            alpha=0.35,
            lw=0,
        )
        ax.step(c, i + 0.9 * v / vmax, where="mid", color=col, lw=1)
        st = s.state
        tag = "" if not series.has_families else "  " + _txt(st.family_label or st.family or st.state)
        ax.text(1.01, i + 0.3, f"{_at(series, s)}{tag}", transform=ax.get_yaxis_transform(), fontsize=7, va="center")
        if st.dominant_radius_nm:
            ax.plot([st.dominant_radius_nm], [i + 0.95], "v", color="k", ms=4)
    fam = _family_lines(ax, series.populations)
    _log_x(ax, (0.5, 0.7, 1, 1.5, 2, 3, 4, 6, 10, 20, 50))
    ax.set_ylim(-0.1, len(have) + 0.1)
    ax.set_xlabel("radius r (nm)")
    ax.set_ylabel("volume-weighted distribution\n(each scaled to its maximum, offset by 1)")
    ax.set_yticks([])
    thinned = f" ({len(have)} of {len(have_all)} shown)" if len(have) < len(have_all) else ""
    ax.set_title(_txt(f"MC size distributions vs {series.axis.label}{thinned}"), fontsize=9)
    mode = ("dominant mode of the read-out" if series.has_families else "dominant mode", MODE_PROXY[1])
    ax.legend(
        handles=_proxies(*([fam] if fam else []), mode, BAND_PROXY),
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=2,
    )
    return fig


def family_shares_figure(series: SeriesSummary) -> Figure | None:
    """Family shares (±1σ) against nucleation temperature: MC windows (open) and decomposition (filled).

    A decomposition share that disagrees with the MC window share beyond their combined
    uncertainty is ringed in red; an absent family is drawn at 0 with its 95 % upper limit.
    """
    rows = [(s.series_value, s.family_rows()) for s in series.samples if s.series_value is not None]
    fams = [r["family"] for r in rows[0][1]] if rows else []
    if not fams or not any(r["mc_share"] is not None or r["share"] is not None for _, rr in rows for r in rr):
        return None
    fig = new_figure(6.4, 3.4)
    ax = fig.add_subplot()
    t = np.array([T for T, _ in rows], dtype=float)
    dx = 0.013 * (float(np.ptp(t)) or 1.0)  # MC left, decomposition right of each sample
    for k, fam in enumerate(fams):
        col = f"C{k % 10}"
        get = lambda key, k=k: np.array([_nan_none(rr[k][key]) for _, rr in rows], dtype=float)  # noqa: E731
        mc, mc_sd, sh, sh_sd, up = (
            get("mc_share"),
            get("mc_share_std"),
            get("share"),
            get("share_std"),
            get("share_upper"),
        )
        dis = np.array([bool(rr[k]["disagree"]) for _, rr in rows])
        ax.errorbar(t - dx, mc, yerr=np.nan_to_num(mc_sd), fmt="o", mfc="none", color=col, ms=4, lw=0.8, capsize=2)
        ax.errorbar(
            t + dx, sh, yerr=np.nan_to_num(sh_sd), fmt="o", color=col, ms=4, lw=0.8, capsize=2, label=_txt(fam[:30])
        )
        lim = np.isfinite(up) & (np.nan_to_num(sh) == 0)
        if lim.any():
            ax.errorbar(t[lim] + dx, up[lim], yerr=0.04, uplims=True, fmt="none", color=col, lw=0.6, alpha=0.7)
        if dis.any():
            ax.plot(t[dis] + dx, sh[dis], "o", mfc="none", mec="red", ms=9, mew=1.2)
    ax.set_xlabel(_txt(series.axis.text))
    ax.set_ylabel("share of the resolved volume")
    ax.set_ylim(-0.05, 1.08)
    ax.set_title("Family shares: MC windows (open) vs decomposition (filled)", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="red", ms=9))
    labels.append("disagree (rule in the text)")
    ax.legend(handles, labels, fontsize=6, loc="best", framealpha=0.8)  # inside: long names cannot squeeze the axes
    return fig


def _nan_none(v: Any) -> float:
    return np.nan if v is None else float(v)


# ----------------------------------------------------------------------
# series figures along any axis (time-resolved stacks above all)
def _on_axis(series: SeriesSummary) -> list[SampleSummary]:
    """Samples with a fit and a position on the series axis, in axis order."""
    return [s for s in series.samples if s.digest is not None and s.series_value is not None]


def _cell_edges(x: np.ndarray) -> np.ndarray:
    """Edges of cells centred on the sorted positions ``x`` (half-way between neighbours)."""
    if x.size == 1:
        h = 0.5 * (abs(float(x[0])) * 0.02 or 1.0)
        return np.array([x[0] - h, x[0] + h])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


def _common_grid(have: Sequence[SampleSummary]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radius edges, centres (of the first fit) and volume fraction per bin of every sample on them (n_r, n_x).

    A fit with other bins is interpolated in log r onto the first fit's centres.
    """
    d0 = cast("FitDigest", have[0].digest)
    c0 = d0.radius_centers_nm
    edges = np.asarray(d0.raw.get("radius_edges_nm") or [], dtype=float)
    if edges.shape != (c0.size + 1,) or not np.all(np.isfinite(edges)):
        lc = np.log(c0)
        mid = 0.5 * (lc[1:] + lc[:-1]) if c0.size > 1 else lc
        step = (lc[1] - lc[0]) if c0.size > 1 else 0.1
        edges = (
            np.exp(np.concatenate([[lc[0] - 0.5 * step], mid, [lc[-1] + 0.5 * step]]))
            if c0.size > 1
            else np.exp(lc[0] + np.array([-0.05, 0.05]))
        )
    cols = []
    for s in have:
        d = cast("FitDigest", s.digest)
        v = np.nan_to_num(d.volume_fraction)
        same = d.radius_centers_nm.shape == c0.shape and np.allclose(d.radius_centers_nm, c0)
        cols.append(v if same else np.interp(np.log(c0), np.log(d.radius_centers_nm), v, left=0.0, right=0.0))
    return edges, c0, np.array(cols).T


def _log_radius_y(ax: Axes, lo: float, hi: float) -> None:
    """Log radius axis from ``lo`` to ``hi`` with plain-number ticks."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ticks = [t for t in (0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100) if lo <= t <= hi]
    if ticks:
        ax.set_yticks(ticks)
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())


def series_map_figure(series: SeriesSummary) -> Figure | None:
    """Volume fraction per radius bin against the series axis (pcolormesh, log colour), mean radius on top."""
    from matplotlib.colors import LogNorm

    have = _on_axis(series)
    if len(have) < 2:
        return None
    x = np.array([cast(float, s.series_value) for s in have])
    edges, _, z = _common_grid(have)
    vmax = float(np.nanmax(z)) if np.isfinite(z).any() else 0.0
    if not vmax > 0:
        return None
    fig = new_figure(7.0, 4.2)
    ax = fig.add_subplot()
    zm = np.ma.masked_less_equal(z, vmax * 1e-3)
    mesh = ax.pcolormesh(
        _cell_edges(x), edges, zm, norm=LogNorm(vmin=vmax * 1e-3, vmax=vmax), cmap="viridis", shading="flat"
    )
    fig.colorbar(mesh, ax=ax, label="volume fraction per radius bin")
    mean = np.array([_nan_none(s.mean_radius[0]) for s in have])
    sd = np.array([_nan_none(s.mean_radius[1]) for s in have])
    ax.fill_between(x, mean - sd, mean + sd, color="w", alpha=0.35, lw=0)
    ax.plot(x, mean, "-", color="w", lw=1.2, label="volume-weighted mean radius ±1σ")
    _log_radius_y(ax, float(edges[0]), float(edges[-1]))
    ax.set_xlabel(_txt(series.axis.text))
    ax.set_ylabel("radius r (nm)")
    ax.set_title(_txt(f"MC size distributions: {series.axis.label} – radius map ({len(have)} samples)"), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", facecolor="0.3", labelcolor="w", framealpha=0.6)
    return fig


def _band(ax: Axes, x: np.ndarray, y: np.ndarray, sd: np.ndarray, col: str, label: str) -> None:
    """A line with markers and its ±1σ band (no band where the uncertainty is unknown)."""
    sd = np.where(np.isfinite(sd), sd, np.nan)
    ax.fill_between(x, y - sd, y + sd, color=col, alpha=0.3, lw=0)
    ax.plot(x, y, "o-", color=col, ms=3, lw=1, label=label)


def _trend_panels(series: SeriesSummary) -> list[str]:
    panels = ["volume", "radius"]
    if series.has_families and any(
        r["share"] is not None or r["mc_share"] is not None for s in series.samples for r in s.family_rows()
    ):
        panels.append("families")
    if series.has_peaks:
        panels.append("bragg")
    return panels


def _volume_panel(ax: Axes, have: Sequence[SampleSummary], x: np.ndarray) -> None:
    y = np.array([_nan_none(s.digest.total_volume_fraction if s.digest else None) for s in have])
    sd = np.array([_nan_none(s.total_volume_fraction_std) for s in have])
    absolute = all(s.digest is not None and s.digest.absolute for s in have)
    _band(ax, x, y, sd, "C0", "total volume fraction ±1σ (MC repetitions)")
    ax.set_ylabel("total volume fraction" if absolute else "total volume fraction\n(relative: arbitrary units)")


def _radius_panel(ax: Axes, have: Sequence[SampleSummary], x: np.ndarray) -> None:
    mean = np.array([_nan_none(s.mean_radius[0]) for s in have])
    sd = np.array([_nan_none(s.mean_radius[1]) for s in have])
    _band(ax, x, mean, sd, "C1", "volume-weighted mean radius ±1σ")
    dom = np.array([_nan_none(s.state.dominant_radius_nm) for s in have])
    dsd = np.array([_nan_none(s.dominant_radius_std_nm) for s in have])
    ax.errorbar(
        x, dom, yerr=np.nan_to_num(dsd), fmt="v", color="k", ms=3, lw=0.6, capsize=1.5, label="dominant mode ±1σ"
    )
    ax.set_ylabel("radius (nm)")


def _families_panel(ax: Axes, have: Sequence[SampleSummary], x: np.ndarray) -> None:
    rows = [s.family_rows() for s in have]
    for k, fam in enumerate(r["family"] for r in rows[0]):
        dec = any(rr[k]["share"] is not None for rr in rows)
        key, skey = ("share", "share_std") if dec else ("mc_share", "mc_share_std")
        y = np.array([_nan_none(rr[k][key]) for rr in rows])
        sd = np.array([_nan_none(rr[k][skey]) for rr in rows])
        _band(ax, x, y, sd, f"C{(k + 2) % 10}", _txt(f"{fam[:24]} ({'decomposition' if dec else 'MC window'})"))
    ax.set_ylabel("family share ±1σ")
    ax.set_ylim(-0.05, 1.05)


def _bragg_panel(ax: Axes, have: Sequence[SampleSummary], x: np.ndarray) -> None:
    y = np.array([_nan_none(s.bragg_area[0]) for s in have])
    sd = np.array([_nan_none(s.bragg_area[1]) for s in have])
    _band(ax, x, y, sd, "C3", "sum of Bragg-peak areas ±1σ (peak fits)")
    ax.set_ylabel("Bragg-peak area")
    if not np.nan_to_num(y).any():
        ax.text(
            0.5,
            0.5,
            "no Bragg peak found in any sample",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="0.3",
        )


def series_trends_figure(series: SeriesSummary) -> Figure | None:
    """Total volume fraction, mean radius, family shares and Bragg-peak area against the series axis (±1σ bands)."""
    have = _on_axis(series)
    if len(have) < 2:
        return None
    x = np.array([cast(float, s.series_value) for s in have])
    panels = _trend_panels(series)
    draw = {"volume": _volume_panel, "radius": _radius_panel, "families": _families_panel, "bragg": _bragg_panel}
    fig = new_figure(6.6, 1.9 * len(panels) + 0.8)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, name in zip(axes, panels):
        draw[name](ax, have, x)
        ax.legend(fontsize=6, loc="best", framealpha=0.7)
        ax.grid(alpha=0.3, lw=0.5)
    axes[-1].set_xlabel(_txt(series.axis.text))
    axes[0].set_title(_txt(f"trends against {series.axis.label}: bands ±1σ"), fontsize=9)
    return fig


#: most curves in the stacked SAXS-curve figure (each is shifted by a factor 10)
MAX_CURVES = 12


def curves_figure(series: SeriesSummary) -> Figure | None:
    """Blank-subtracted SAXS curves (±1σ) with their MC fits, each shifted by a factor 10 (Fig. 2 right)."""
    have_all = [s for s in series.samples if s.digest is not None or s.curve is not None]
    if not have_all:
        return None
    have = _thin(have_all, MAX_CURVES)
    fig = new_figure(5.8, 2.0 + 0.5 * len(have))
    ax = fig.add_subplot()
    shown = []
    for i, s in enumerate(have):
        f, d, col = 10.0**i, s.digest, f"C{i % 10}"
        if d is not None:
            q, y, sg = d.q_nm, d.intensity, d.sigma
        else:
            c = cast("Curve", s.curve)  # ``have``: a digest or a curve
            q, y, sg = c.q, c.intensity, c.sigma
        pos = np.isfinite(y) & (y > 0)
        ax.errorbar(
            q[pos], y[pos] * f, yerr=_yerr_log(y[pos] * f, sg[pos] * f), fmt=".", ms=2, lw=0.4, color=col, alpha=0.8
        )
        shown.append(y[pos] * f)
        if d is not None:
            ax.plot(q, np.where(d.model > 0, d.model, np.nan) * f, "-", lw=1, color="k")
        if pos.any():
            k = np.flatnonzero(pos)[min(3, pos.sum() - 1)]
            ax.annotate(
                f"{_at(series, s)} (×$10^{{{i}}}$)",
                (q[k], y[k] * f),
                fontsize=7,
                xytext=(0, 5),
                textcoords="offset points",
                va="bottom",
            )
    _log_x(ax)
    _log_y_floor(ax, np.concatenate(shown))
    ax.set_xlabel("q (1/nm)")
    d0 = have[0].digest
    unit = (d0.intensity_unit if d0 is not None else cast("Curve", have[0].curve).intensity_unit) or "arb."
    ax.set_ylabel(f"I(q) ({unit}); curve n multiplied by $10^n$ (see labels)")
    thinned = f"; {len(have)} of {len(have_all)} shown" if len(have) < len(have_all) else ""
    ax.set_title(_txt(f"SAXS curves and MC fits, lowest {series.axis.label} at the bottom{thinned}"), fontsize=9)
    ax.legend(
        handles=_proxies(
            ("data ±1σ (blank-subtracted)", {"color": "0.3", "marker": ".", "ls": "", "ms": 4}),
            ("MC fit (mean model)", {"color": "k", "lw": 1}),
        ),
        fontsize=7,
        loc="lower left",
    )
    return fig


def _blank_label(b: BlankSummary, f: float) -> str:
    d = [p.d_nm for p in b.peaks if p.d_nm is not None]
    ds = f", d = {', '.join(f'{x:.2f}' for x in d)} nm" if d else ", no Bragg peaks"
    return f"{_temp(b)} (×{f:.3g}): {_txt(b.phase or 'no phase')}{ds}"


def _mesophase_axes(ax: Axes, meso: Mesophase) -> None:
    t, a, e = meso.temperatures_C, meso.area, meso.area_err
    ax.errorbar(
        t, a, yerr=np.where(np.isfinite(e), e, 0.0), fmt="o-", ms=4, capsize=2, label="total Bragg-peak area (±1σ)"
    )
    if meso.melting_bracket_C is not None:
        lo, hi = meso.melting_bracket_C
        ax.axvspan(
            lo,
            hi,
            color="tab:red",
            alpha=0.12,
            label=f"melting bracket {lo:g}–{hi:g} °C\n(last with peaks – first without)",
        )
    tm = meso.melting_temperature_C
    if tm is not None:
        ax.axvline(tm, color="tab:red", ls="--", label=f"estimate ≈ {tm:.0f} °C (area extrapolated to 0)")
    ax.set_xlabel("blank temperature (°C)")
    ax.set_ylabel("total Bragg-peak area")
    ax.set_title("mesophase vs temperature")
    ax.legend(fontsize=7)


def blanks_figure(series: SeriesSummary) -> Figure | None:
    """Precursor blanks vs temperature with Bragg peaks (Fig. 3), and the melting estimate."""
    have = [b for b in series.blanks if b.curve is not None]
    if not have:
        return None
    meso = (
        series.mesophase
        if series.show_mesophase and series.mesophase is not None and series.mesophase.temperatures_C.size
        else None
    )
    fig = new_figure(11.5 if meso else 6.2, 5.2)
    axes = fig.subplots(1, 2 if meso else 1, squeeze=False)[0]
    ax = axes[0]
    for i, b in enumerate(have):
        c, f, col = cast("Curve", b.curve), 10.0 ** (0.7 * i), f"C{i % 10}"  # ``have``: blanks with a curve
        ax.plot(c.q, c.intensity * f, "-", lw=1, color=col, label=_blank_label(b, f))
        lo = np.clip(c.intensity - np.nan_to_num(c.sigma), 1e-3 * np.abs(c.intensity), None)
        ax.fill_between(c.q, lo * f, (c.intensity + np.nan_to_num(c.sigma)) * f, color=col, alpha=0.25, lw=0)
        for p in b.peaks:
            if p.q_nm is not None:
                j = int(np.argmin(np.abs(c.q - p.q_nm)))
                ax.plot([p.q_nm], [c.intensity[j] * f * 1.3], "v", color=col, ms=5)
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    ax.set_ylabel("I(q), multiplied by the factor in the legend")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=handles + _proxies(("Bragg peak found (d = 2π/q)", {"color": "0.3", "marker": "v", "ls": "", "ms": 5})),
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=2,
    )
    ax.set_title("blanks and their Bragg peaks")
    if meso:
        _mesophase_axes(axes[1], meso)
    return fig
