"""Write peak results: ``<stem>_peaks.json`` and ``<stem>_peaks.png`` (atomically); draw them on matplotlib axes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable, staged_folder, write_json_atomic
from saxs_mc.peaks.detect import PeakResult
from saxs_mc.provenance import package_versions, utc_now

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SCHEMA = "saxs_mc.peaks/1"
#: gid of the peak label texts (tests and callers find them by it)
LABEL_GID = "peak-label"


def peaks_document(pk: PeakResult, *, source: str | Path | None = None) -> dict[str, Any]:
    """The JSON document written to ``<stem>_peaks.json``."""
    doc = {"schema": SCHEMA, **pk.summary()}
    doc["provenance"] = {
        "source": str(source) if source is not None else None,
        "created": utc_now(),
        "versions": package_versions(),
    }
    return jsonable(doc)


def _new_axes() -> Axes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    return fig.add_subplot(1, 1, 1)


def _renderer(ax: Axes):
    canvas = ax.figure.canvas
    return canvas.get_renderer() if hasattr(canvas, "get_renderer") else None


def place_labels(
    ax: Axes,
    xs: Any,
    texts: Any,
    *,
    color: str = "tab:red",
    fontsize: float = 7.0,
    top: float = 0.97,
    row_height: float = 0.055,
    pad_px: float = 4.0,
) -> list[Any]:
    """Label positions ``xs`` (data x) near the top of ``ax`` without overlaps.

    Labels are packed greedily into rows, left to right: a label goes into the first
    row where it clears the previous label by ``pad_px`` pixels (measured with the
    figure's renderer), else into a new row below.  Call after the axes scales and
    x limits are set.

    Returns
    -------
    list of matplotlib.text.Text
        The label artists (``gid`` = :data:`LABEL_GID`).
    """
    import matplotlib.transforms as mtransforms

    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    renderer = _renderer(ax)
    rows_right: list[float] = []
    out = []
    for x, s in sorted(zip(xs, texts), key=lambda t: t[0]):
        t = ax.text(
            x,
            top,
            s,
            transform=trans,
            ha="center",
            va="top",
            fontsize=fontsize,
            color=color,
            gid=LABEL_GID,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
        if renderer is not None:
            bb = t.get_window_extent(renderer)
            left, right = bb.x0, bb.x1
        else:  # no renderer: estimate the width from the text length
            xd = ax.transData.transform((x, 1.0))[0]
            half = 0.3 * fontsize * len(s) * ax.figure.dpi / 72.0
            left, right = xd - half, xd + half
        row = next((r for r, edge in enumerate(rows_right) if left > edge + pad_px), len(rows_right))
        if row == len(rows_right):
            rows_right.append(right)
        rows_right[row] = right
        t.set_y(top - row * row_height)
        out.append(t)
    return out


def draw_peaks(pk: PeakResult, ax: Axes | None = None) -> Axes:
    """Log-log plot of the data, background and fitted model; Bragg peaks labelled with order and d.

    Says "no Bragg peaks found" when there are none.  Uses the object-oriented
    matplotlib API (a new Agg figure when ``ax`` is None; no pyplot state).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes() if ax is None else ax
    q, y, s = pk.q, pk.intensity, pk.sigma
    pos = y > 0
    ax.errorbar(
        q[pos],
        y[pos],
        yerr=np.minimum(s[pos], 0.999 * y[pos]),
        fmt=".",
        ms=2,
        lw=0.5,
        color="0.35",
        label="data",
        zorder=1,
    )
    bpos = pk.background > 0
    ax.plot(q[bpos], pk.background[bpos], "-", color="tab:blue", lw=1.0, label="background", zorder=2)
    mpos = np.isfinite(pk.model) & (pk.model > 0)
    if np.any(mpos):
        ax.plot(
            q, np.where(mpos, pk.model, np.nan), "-", color="tab:red", lw=1.0, label="fit (in fit windows)", zorder=3
        )
    for p in pk.peaks:
        ax.axvline(p.q_nm, color="tab:red", lw=0.6, ls=":", zorder=0)
    for i, p in enumerate(pk.broad_features):
        ax.axvline(
            p.q_nm, color="tab:green", lw=0.6, ls="--", zorder=0, label="broad feature (not Bragg)" if i == 0 else None
        )
    ax.set_xscale("log")
    if np.any(pos):
        ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    ax.set_ylabel(f"I ({pk.intensity_unit})")
    ph = pk.phase
    ttl = pk.title or "peaks"
    if ph.indexed:
        ttl += f" - {ph.phase}, {ph.lattice_label} = {ph.lattice_nm:.3f} nm"
    elif pk.peaks:
        ttl += f" - {ph.short()}"
    ax.set_title(ttl, fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    if not pk.peaks:
        extra = (
            f" ({len(pk.broad_features)} broad feature{'s' if len(pk.broad_features) != 1 else ''})"
            if pk.broad_features
            else ""
        )
        ax.text(
            0.5,
            0.95,
            "no Bragg peaks found" + extra,
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=11,
            color="0.3",
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.7", "alpha": 0.9},
        )
        return ax
    if ax.get_yscale() == "log":  # headroom for the label rows
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * (hi / lo) ** 0.25)
    place_labels(
        ax, [p.q_nm for p in pk.peaks], [f"{p.order + ' ' if p.order else ''}d={p.d_nm:.2f} nm" for p in pk.peaks]
    )
    return ax


def plot_peaks(path: str | Path, pk: PeakResult) -> Path:
    """Write :func:`draw_peaks` to a PNG (Agg, atomic)."""
    ax = draw_peaks(pk)
    fig = cast("Figure", ax.figure)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_peak_outputs(
    outdir: str | Path, stem: str, pk: PeakResult, *, source: str | Path | None = None, plot: bool = True
) -> dict[str, Path]:
    """Write ``<outdir>/<stem>_peaks.json`` and ``<outdir>/<stem>_peaks.png``.

    Returns
    -------
    dict
        ``{"json": path, "plot": path}`` (no ``"plot"`` when ``plot=False``).
    """
    if not isinstance(pk, PeakResult):
        raise TypeError(f"write_peak_outputs: pk must be a PeakResult, got {type(pk).__name__}")
    if not stem or "/" in stem:
        raise ValueError(f"write_peak_outputs: stem={stem!r} must be a non-empty file name without '/'")
    final = Path(outdir)
    with staged_folder(final) as outdir:  # the JSON and the plot succeed or fail together
        out = {"json": write_json_atomic(outdir / f"{stem}_peaks.json", peaks_document(pk, source=source))}
        if plot:
            out["plot"] = plot_peaks(outdir / f"{stem}_peaks.png", pk)
    return {k: final / p.name for k, p in out.items()}
