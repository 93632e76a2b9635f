"""Report figures (object-oriented matplotlib on an Agg canvas: no pyplot state) and their cache.

Each ``*_figure`` function takes records of :mod:`.model` and returns a
:class:`matplotlib.figure.Figure` (or None without data).  :class:`FigureCache`
keeps the PNG bytes under ``.saxs_mc/figures`` keyed by the content they show;
a cached file is only used when it is a well-formed PNG, otherwise the figure is
drawn again (a file in the output folder is data, never trusted markup).
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from saxs_mc.io.atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from saxs_mc.io.curves import Curve

    from ..config import PopulationWindow
    from .model import BlankSummary, FitDigest, Mesophase, SampleSummary, SeriesSummary

log = logging.getLogger("saxs_mc.pipeline.report")

Q_TICKS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CODE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


# ----------------------------------------------------------------------
# helpers
def new_figure(width: float, height: float, *,
               layout: Literal["constrained", "compressed", "tight"] | None = "constrained") -> Figure:
    """A figure on its own Agg canvas (safe without a display and in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure, *, dpi: int = 90) -> bytes:
    """The figure as PNG bytes (no timestamp metadata, so reruns are byte-identical)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def is_png(data: bytes) -> bool:
    """True for a complete, well-formed PNG (signature, IHDR first, IEND last, Pillow verifies it)."""
    if not (isinstance(data, bytes) and data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
            and data.endswith(b"IEND\xaeB`\x82")):
        return False
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            return im.format == "PNG"
    except Exception:
        return False


def _log_x(ax: Axes, ticks: Sequence[float] | None = Q_TICKS) -> None:
    """Log x axis with plain-number tick labels."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    if ticks:
        lo, hi = ax.get_xlim()
        ax.set_xticks([t for t in ticks if lo <= t <= hi] or list(ticks))
        ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _txt(s: Any) -> str:
    """User text for a figure: ``$`` escaped so that matplotlib never parses a name as mathtext."""
    return str(s).replace("$", r"\$")


def _yerr_log(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Asymmetric error bars that stay above zero on a log axis."""
    s = np.where(np.isfinite(s), s, 0.0)
    return np.vstack([np.minimum(s, 0.999 * np.abs(y)), s])


def _family_lines(ax: Axes, populations: Sequence[PopulationWindow]) -> tuple[str, dict[str, Any]] | None:
    """Dashed vertical lines at the magic-size family radii; the legend entry that explains them (None if none)."""
    fams = [w for w in populations if w.family_radius_nm is not None]
    for w in fams:
        ax.axvline(cast(float, w.family_radius_nm), color="0.45", ls="--", lw=0.7, zorder=0)
    if not fams:
        return None
    names = ", ".join(f"{_txt(w.display)} {w.family_radius_nm:g}" for w in fams)
    return f"magic-size family radii (dashed):\n{names} nm", {"color": "0.45", "ls": "--", "lw": 0.7}


def _log_y_floor(ax: Axes, y: np.ndarray) -> None:
    """Log y axis whose bottom follows the data, not the lower error bars."""
    pos = y[np.isfinite(y) & (y > 0)]
    ax.set_yscale("log")
    if pos.size:
        ax.set_ylim(bottom=0.3 * float(pos.min()))


def _proxies(*items: tuple[str, dict[str, Any]]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    out = []
    for label, kw in items:
        kw = dict(kw)
        out.append(Patch(label=label, **kw) if kw.pop("patch", False) else Line2D([], [], label=label, **kw))
    return out


MODE_PROXY = ("dominant mode of the read-out", {"color": "k", "marker": "v", "ls": "", "ms": 4})
BAND_PROXY = ("±1σ over the MC repetitions", {"patch": True, "color": "0.5", "alpha": 0.35})


# ----------------------------------------------------------------------
# series figures
def distributions_figure(series: SeriesSummary) -> Figure | None:
    """Volume-weighted size distributions stacked against nucleation temperature (Fig. 2 left)."""
    have = [s for s in series.samples if s.digest is not None]
    if not have:
        return None
    fig = new_figure(5.8, 2.3 + 0.55 * len(have))
    ax = fig.add_subplot()
    for i, s in enumerate(have):
        d, col = cast("FitDigest", s.digest), f"C{i % 10}"  # ``have`` holds samples with a digest
        c, v = d.radius_centers_nm, np.nan_to_num(d.volume_fraction)
        e = np.nan_to_num(d.volume_fraction_std)
        vmax = float(v.max()) if v.max() > 0 else 1.0
        ax.fill_between(c, i + 0.9 * np.clip(v - e, 0, None) / vmax, i + 0.9 * (v + e) / vmax, step="mid",
                        color=col, alpha=0.35, lw=0)
        ax.step(c, i + 0.9 * v / vmax, where="mid", color=col, lw=1)
        st = s.state
        tag = _txt(st.family_label or st.family or st.state)
        ax.text(1.01, i + 0.3, f"{s.nucleation_temperature_C:g} °C  {tag}", transform=ax.get_yaxis_transform(),
                fontsize=7, va="center")
        if st.dominant_radius_nm:
            ax.plot([st.dominant_radius_nm], [i + 0.95], "v", color="k", ms=4)
    fam = _family_lines(ax, series.populations)
    _log_x(ax, (0.5, 0.7, 1, 1.5, 2, 3, 4))
    ax.set_ylim(-0.1, len(have) + 0.1)
    ax.set_xlabel("radius r (nm)")
    ax.set_ylabel("volume-weighted distribution\n(each scaled to its maximum, offset by 1)")
    ax.set_yticks([])
    ax.set_title("MC size distributions vs nucleation temperature")
    ax.legend(handles=_proxies(*([fam] if fam else []), MODE_PROXY, BAND_PROXY), fontsize=7,
              loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2)
    return fig


def family_shares_figure(series: SeriesSummary) -> Figure | None:
    """Family shares (±1σ) against nucleation temperature: MC windows (open) and decomposition (filled).

    A decomposition share that disagrees with the MC window share beyond their combined
    uncertainty is ringed in red; an absent family is drawn at 0 with its 95 % upper limit.
    """
    rows = [(s.nucleation_temperature_C, s.family_rows()) for s in series.samples]
    fams = [r["family"] for r in rows[0][1]] if rows else []
    if not fams or not any(r["mc_share"] is not None or r["share"] is not None for _, rr in rows for r in rr):
        return None
    fig = new_figure(6.4, 3.4)
    ax = fig.add_subplot()
    for k, fam in enumerate(fams):
        col = f"C{k % 10}"
        t = np.array([T for T, _ in rows], dtype=float)
        get = lambda key, k=k: np.array([_nan_none(rr[k][key]) for _, rr in rows], dtype=float)  # noqa: E731
        mc, mc_sd, sh, sh_sd, up = get("mc_share"), get("mc_share_std"), get("share"), get("share_std"), get("share_upper")
        dis = np.array([bool(rr[k]["disagree"]) for _, rr in rows])
        ax.errorbar(t - 1.2, mc, yerr=np.nan_to_num(mc_sd), fmt="o", mfc="none", color=col, ms=4, lw=0.8, capsize=2)
        ax.errorbar(t + 1.2, sh, yerr=np.nan_to_num(sh_sd), fmt="o", color=col, ms=4, lw=0.8, capsize=2,
                    label=_txt(fam[:30]))
        lim = np.isfinite(up) & (np.nan_to_num(sh) == 0)
        if lim.any():
            ax.errorbar(t[lim] + 1.2, up[lim], yerr=0.04, uplims=True, fmt="none", color=col, lw=0.6, alpha=0.7)
        if dis.any():
            ax.plot(t[dis] + 1.2, sh[dis], "o", mfc="none", mec="red", ms=9, mew=1.2)
    ax.set_xlabel("nucleation temperature (°C)")
    ax.set_ylabel("share of the resolved volume")
    ax.set_ylim(-0.05, 1.08)
    ax.set_title("Family shares: MC windows (open) vs decomposition (filled)", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="red", ms=9))
    labels.append("disagree > 2σ")
    ax.legend(handles, labels, fontsize=6, loc="best", framealpha=0.8)  # inside: long names cannot squeeze the axes
    return fig


def _nan_none(v: Any) -> float:
    return np.nan if v is None else float(v)


def curves_figure(series: SeriesSummary) -> Figure | None:
    """Blank-subtracted SAXS curves (±1σ) with their MC fits, each shifted by a factor 10 (Fig. 2 right)."""
    have = [s for s in series.samples if s.digest is not None or s.curve is not None]
    if not have:
        return None
    fig = new_figure(5.8, 2.0 + 0.5 * len(have))
    ax = fig.add_subplot()
    shown = []
    for i, s in enumerate(have):
        f, d, col = 10.0 ** i, s.digest, f"C{i % 10}"
        if d is not None:
            q, y, sg = d.q_nm, d.intensity, d.sigma
        else:
            c = cast("Curve", s.curve)  # ``have``: a digest or a curve
            q, y, sg = c.q, c.intensity, c.sigma
        pos = np.isfinite(y) & (y > 0)
        ax.errorbar(q[pos], y[pos] * f, yerr=_yerr_log(y[pos] * f, sg[pos] * f), fmt=".", ms=2, lw=0.4,
                    color=col, alpha=0.8)
        shown.append(y[pos] * f)
        if d is not None:
            ax.plot(q, np.where(d.model > 0, d.model, np.nan) * f, "-", lw=1, color="k")
        if pos.any():
            k = np.flatnonzero(pos)[min(3, pos.sum() - 1)]
            ax.annotate(f"{s.nucleation_temperature_C:g} °C (×$10^{{{i}}}$)", (q[k], y[k] * f), fontsize=7,
                        xytext=(0, 5), textcoords="offset points", va="bottom")
    _log_x(ax)
    _log_y_floor(ax, np.concatenate(shown))
    ax.set_xlabel("q (1/nm)")
    d0 = have[0].digest
    unit = (d0.intensity_unit if d0 is not None else cast("Curve", have[0].curve).intensity_unit) or "arb."
    ax.set_ylabel(f"I(q) ({unit}); curve n multiplied by $10^n$ (see labels)")
    ax.set_title("SAXS curves and MC fits, lowest temperature at the bottom")
    ax.legend(handles=_proxies(("data ±1σ (blank-subtracted)", {"color": "0.3", "marker": ".", "ls": "", "ms": 4}),
                               ("MC fit (mean model)", {"color": "k", "lw": 1})), fontsize=7, loc="lower left")
    return fig


def _blank_label(b: BlankSummary, f: float) -> str:
    d = [p.d_nm for p in b.peaks if p.d_nm is not None]
    ds = f", d = {', '.join(f'{x:.2f}' for x in d)} nm" if d else ", no Bragg peaks"
    return f"{b.temperature_C:g} °C (×{f:.3g}): {_txt(b.phase or 'no phase')}{ds}"


def _mesophase_axes(ax: Axes, meso: Mesophase) -> None:
    t, a, e = meso.temperatures_C, meso.area, meso.area_err
    ax.errorbar(t, a, yerr=np.where(np.isfinite(e), e, 0.0), fmt="o-", ms=4, capsize=2,
                label="total Bragg-peak area (±1σ)")
    if meso.melting_bracket_C is not None:
        lo, hi = meso.melting_bracket_C
        ax.axvspan(lo, hi, color="tab:red", alpha=0.12,
                   label=f"melting bracket {lo:g}–{hi:g} °C\n(last with peaks – first without)")
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
    meso = series.mesophase if series.mesophase is not None and series.mesophase.temperatures_C.size else None
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
    ax.legend(handles=handles + _proxies(("Bragg peak found (d = 2π/q)", {"color": "0.3", "marker": "v", "ls": "",
                                                                        "ms": 5})), fontsize=7, loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set_title("precursor blanks: Bragg peaks of the mesophase")
    if meso:
        _mesophase_axes(axes[1], meso)
    return fig


# ----------------------------------------------------------------------
# page figures
def _distribution_axes(ax: Axes, s: SampleSummary, populations: Sequence[PopulationWindow]) -> None:
    d = cast("FitDigest", s.digest)  # called for samples with a digest only
    c = d.radius_centers_nm
    ax.bar(c, d.volume_fraction, width=np.gradient(c) * 0.9, yerr=d.volume_fraction_std, alpha=0.6,
           ecolor="0.3", error_kw={"lw": 0.8}, label="volume fraction per bin, ±1σ")
    fam = _family_lines(ax, populations)
    if s.state.dominant_radius_nm:
        top = float(np.nanmax(d.volume_fraction + np.nan_to_num(d.volume_fraction_std)))
        ax.plot([s.state.dominant_radius_nm], [1.04 * top], "v", color="k", ms=5)
    _log_x(ax, (0.5, 1, 2, 4))
    ax.set_xlabel("radius r (nm)")
    ax.set_ylabel("volume fraction per bin")
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + _proxies(*([fam] if fam else []), MODE_PROXY), fontsize=7, loc="upper center",
              bbox_to_anchor=(0.5, -0.14), ncol=2)


def sample_figure(s: SampleSummary, populations: Sequence[PopulationWindow]) -> Figure | None:
    """One sample: curve before/after blank subtraction with the MC fit, and the size distribution."""
    d = s.digest
    if d is None and s.curve is None:
        return None
    fig = new_figure(10, 4.8)
    a1, a2 = fig.subplots(1, 2)
    if s.raw_curve is not None:
        a1.plot(s.raw_curve.q, s.raw_curve.intensity, "-", lw=0.8, color="0.6", label="sample (before blank subtraction)")
    if d is not None:
        pos = np.isfinite(d.intensity) & (d.intensity > 0)
        a1.errorbar(d.q_nm[pos], d.intensity[pos], yerr=_yerr_log(d.intensity[pos], d.sigma[pos]), fmt=".", ms=2,
                    lw=0.5, label="blank-subtracted, ±1σ")
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
    _log_y_floor(a1, np.concatenate([c.intensity for c in (s.raw_curve, s.curve) if c is not None]
                                    + ([d.intensity] if d is not None else [])))
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
    ax.plot(c.q, c.intensity, "-", lw=1, color="C0", label=f"{_txt(b.name)} ({b.temperature_C:g} °C)")
    for p in b.peaks:
        if p.q_nm is None:
            continue
        j = int(np.argmin(np.abs(c.q - p.q_nm)))
        ax.plot([p.q_nm], [c.intensity[j] * 1.3], "v", color="tab:red", ms=5)
        if p.d_nm is not None:
            ax.annotate(f"d = {p.d_nm:.2f} nm", (p.q_nm, c.intensity[j] * 1.3), xytext=(0, 6),
                        textcoords="offset points", fontsize=7, ha="center", color="tab:red")
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
    ax.set_title(f"{_txt(b.name)} ({b.temperature_C:g} °C): {_txt(phase)}", fontsize=9)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + (_proxies(("Bragg peak (d = 2π/q)", {"color": "tab:red", "marker": "v", "ls": "",
                                                                    "ms": 5})) if b.peaks else []), fontsize=7)
    return fig


# ----------------------------------------------------------------------
# cache
class FigureCache:
    """PNG figures memoized by the content they show (re-runs skip matplotlib).

    Parameters
    ----------
    folder : Path or None
        Cache folder (``<output>/.saxs_mc/figures``); None disables figures.
    root : Path, optional
        The output folder: a cache folder that resolves outside it (a symbolic link)
        is neither read nor written; figures are then drawn every time.
    """

    def __init__(self, folder: Path | None, root: Path | None = None):
        self.folder = folder
        self.store = folder is not None
        if folder is not None and root is not None:
            from .model import inside

            self.store = inside(root, folder.relative_to(root) if folder.is_relative_to(root) else folder) is not None

    def __repr__(self) -> str:
        return f"FigureCache({str(self.folder)!r})"

    def get(self, kind: str, content: Any, make: Callable[[], Figure | None]) -> bytes | None:
        """PNG bytes of the figure showing ``content`` (drawn by ``make`` unless a valid cached copy exists)."""
        if self.folder is None:
            return None
        from ..cache import digest

        key = digest({"kind": kind, "content": content, "code": _CODE_DIGEST})
        p = self.folder / f"{kind}_{key[:24]}.png"
        cached = self._read(p) if self.store else None
        if cached is not None:
            return cached
        fig = make()
        if fig is None:
            return None
        data = png_bytes(fig)
        if not self.store:
            return data
        try:
            with atomic_path(p) as tmp:
                tmp.write_bytes(data)
        except OSError as exc:  # a cache that cannot be written only costs time
            log.warning("figure cache %s not written: %s", p, exc)
        return data

    @staticmethod
    def _read(p: Path) -> bytes | None:
        if p.is_symlink():
            log.warning("figure cache %s is a symbolic link; ignored and redrawn", p)
            return None
        try:
            data = p.read_bytes()
        except OSError:
            return None
        if is_png(data):
            return data
        log.warning("figure cache %s is not a valid PNG; redrawn", p)
        return None
