"""Write peak results: ``<stem>_peaks.json`` and ``<stem>_peaks.png`` (atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable, staged_folder, write_json_atomic
from saxs_mc.peaks.detect import PeakResult
from saxs_mc.provenance import package_versions, utc_now

SCHEMA = "saxs_mc.peaks/1"


def peaks_document(pk: PeakResult, *, source: str | Path | None = None) -> dict[str, Any]:
    """The JSON document written to ``<stem>_peaks.json``."""
    doc = {"schema": SCHEMA, **pk.summary()}
    doc["provenance"] = {"source": str(source) if source is not None else None, "created": utc_now(),
                         "versions": package_versions()}
    return jsonable(doc)


def plot_peaks(path: str | Path, pk: PeakResult) -> Path:
    """Log-log plot of the data, background and fitted model with peaks marked (Agg, atomic)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    q, y, s = pk.q, pk.intensity, pk.sigma
    pos = y > 0
    ax.errorbar(q[pos], y[pos], yerr=np.minimum(s[pos], 0.999 * y[pos]), fmt=".", ms=2, lw=0.5, color="0.35",
                label="data", zorder=1)
    bpos = pk.background > 0
    ax.plot(q[bpos], pk.background[bpos], "-", color="tab:blue", lw=1.0, label="background", zorder=2)
    if pk.peaks or pk.broad_features:
        mpos = np.isfinite(pk.model) & (pk.model > 0)
        ax.plot(q, np.where(mpos, pk.model, np.nan), "-", color="tab:red", lw=1.0, label="fit (in fit windows)", zorder=3)
    for p in pk.peaks:
        yi = float(np.interp(p.q_nm, q, np.where(np.isfinite(pk.model), pk.model, pk.intensity)))
        ax.axvline(p.q_nm, color="tab:red", lw=0.6, ls=":", zorder=0)
        ax.annotate(f"{p.order or ''} {p.q_nm:.3f}", (p.q_nm, yi if yi > 0 else np.nan), textcoords="offset points",
                    xytext=(2, 8), fontsize=7, color="tab:red")
    for p in pk.broad_features:
        ax.axvline(p.q_nm, color="tab:green", lw=0.6, ls="--", zorder=0)
    ax.set_xscale("log")
    if np.any(pos):
        ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    ax.set_ylabel(f"I ({pk.intensity_unit})")
    ph = pk.phase
    ttl = pk.title or "peaks"
    if ph.phase not in ("none", "unindexed single peak"):
        ttl += f" - {ph.phase}, {ph.lattice_label} = {ph.lattice_nm:.3f} nm"
    elif pk.peaks:
        ttl += f" - {ph.phase}"
    ax.set_title(ttl, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_peak_outputs(outdir: str | Path, stem: str, pk: PeakResult, *, source: str | Path | None = None,
                       plot: bool = True) -> dict[str, Path]:
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
