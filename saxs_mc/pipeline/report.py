"""Series report: HTML page with embedded figures, a page per sample, summary tables.

Reads only the pipeline's own step results (manifests) and the JSON digests
the steps write (schemas below), never the upstream objects, so the report
is rebuilt identically from a cached run.

Step digests
------------
- reduce/subtract: result ``{"outputs": {"curve": <3-column ASCII>}, "n_frames", "n_rejected",
  "rejected": [...], "intensity_unit"}``
- fit: ``outputs["digest"]`` -> JSON ``{"radius_centers_nm", "radius_edges_nm",
  "volume_fraction", "volume_fraction_std", "bin_scale", "q_nm", "intensity", "sigma", "model",
  "chi2_r", "seed", "intensity_unit"}``
- peaks: result ``{"peaks": [{"q_nm", "q_err", "d_nm", "fwhm", "area", "significance"}],
  "phase": {"name", "lattice_nm", "score"}}``
- mesophase: result ``{"temperatures_C", "intensity", "position_nm", "melting_temperature_C"}``

Outputs (in the output folder): ``report.html``, ``samples/<name>.html``,
``summary.csv``, ``summary.json``.  Figures use the Agg backend and are
embedded as base64 PNG, so every page is self-contained.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import atomic_path, jsonable, write_json_atomic, write_text_atomic

from .config import PipelineConfig
from .readout import SampleState, classify_sample, series_readout, window_fractions

log = logging.getLogger("saxs_mc.pipeline.report")


# ----------------------------------------------------------------------
# loading step outputs
def _load_json(root: Path, rel: str | None) -> dict[str, Any] | None:
    if not rel:
        return None
    try:
        return json.loads((root / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", rel, exc)
        return None


def _load_curve(root: Path, rel: str | None) -> dict[str, np.ndarray] | None:
    if not rel:
        return None
    try:
        from saxs_mc.io.curves import read_curve

        c = read_curve(root / rel)
        return {"q_nm": np.asarray(c.q), "intensity": np.asarray(c.intensity), "sigma": np.asarray(c.sigma),
                "unit": c.intensity_unit}
    except Exception as exc:  # a bad file must not kill the report
        log.warning("cannot read curve %s: %s", rel, exc)
        return None


def _floats(values: Any) -> np.ndarray:
    """A float array from a JSON list (None, i.e. a non-finite value, becomes NaN)."""
    return np.asarray([np.nan if x is None else x for x in values], dtype=float)


def _result(outcomes: Mapping[str, Any], sid: str) -> dict[str, Any] | None:
    o = outcomes.get(sid)
    return o.result if o is not None and o.status in ("done", "cached") else None


def _status(outcomes: Mapping[str, Any], ids: list[str]) -> tuple[str, str | None]:
    for sid in ids:
        o = outcomes.get(sid)
        if o is not None and o.status in ("failed", "skipped"):
            return "failed", f"{sid}: {o.error}"
    return "ok", None


def yu_equivalent_absorption_nm(radius_nm: float | None) -> float | None:
    """First-exciton wavelength (Yu et al. 2003) of a CdSe sphere of this SAXS radius; None outside the curve's range."""
    from saxs_mc.models.optical import YU_DIAMETER_RANGE_NM, yu_absorption_nm

    if radius_nm is None or not math.isfinite(radius_nm):
        return None
    d = 2.0 * float(radius_nm)
    lo, hi = YU_DIAMETER_RANGE_NM
    return float(yu_absorption_nm(d)) if lo <= d <= hi else None


def families_table(cfg: PipelineConfig) -> list[dict[str, Any]]:
    """The configured MSC families: SAXS radius/diameter vs the optical (Yu) diameter of their absorption peak."""
    from saxs_mc.models.optical import yu_diameter_nm

    out = []
    for w in cfg.fit.populations:
        if w.family_radius_nm is None:
            continue
        out.append({"name": w.name, "label": w.display, "radius_nm": w.family_radius_nm,
                    "saxs_diameter_nm": 2.0 * w.family_radius_nm, "absorption_nm": w.absorption_nm,
                    "optical_diameter_nm": yu_diameter_nm(w.absorption_nm) if w.absorption_nm is not None else None,
                    "yu_absorption_of_saxs_diameter_nm": yu_equivalent_absorption_nm(w.family_radius_nm)})
    return out


def collect(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """Gather per-sample/blank data, the summary rows and the series read-out."""
    rows: list[dict[str, Any]] = []
    samples: list[dict[str, Any]] = []
    states: list[SampleState] = []
    windows = cfg.fit.populations
    for s in sorted(cfg.samples, key=lambda s: (s.nucleation_temperature_C, s.name)):
        ids = [f"reduce/{s.name}", f"subtract/{s.name}", f"fit/{s.name}"] + (
            [f"peaks/{s.name}"] if cfg.peaks.samples else [])
        status, error = _status(outcomes, ids)
        red = _result(outcomes, f"reduce/{s.name}") or {}
        sub = _result(outcomes, f"subtract/{s.name}") or {}
        fitr = _result(outcomes, f"fit/{s.name}") or {}
        pk = _result(outcomes, f"peaks/{s.name}") or {}
        digest = _load_json(root, (fitr.get("outputs") or {}).get("digest"))
        centers = vf = None
        if digest is not None:
            centers = np.asarray(digest["radius_centers_nm"], dtype=float)
            vf = _floats(digest["volume_fraction"])
        log_bins = (digest or {}).get("bin_scale", cfg.fit.bin_scale) == "log"
        st = classify_sample(s.name, s.nucleation_temperature_C, centers, vf, windows, cfg.readout, log_bins=log_bins)
        states.append(st)
        fr = window_fractions(centers, vf, windows) if centers is not None else {w.name: None for w in windows}
        dom = st.dominant_radius_nm  # modes (highest first) as found by classify_sample
        row = {
            "sample": s.name,
            "nucleation_temperature_C": s.nucleation_temperature_C,
            "growth_temperature_C": s.growth_temperature_C,
            "reaction_time_s": s.reaction_time_s,
            "blank": cfg.blank_for(s).name,
            "status": status,
            "dominant_radius_nm": dom,
            "dominant_diameter_nm": 2.0 * dom if dom is not None else None,
            "yu_absorption_nm": yu_equivalent_absorption_nm(dom),
            "modes_nm": list(st.modes_nm),
            "modes_yu_absorption_nm": [yu_equivalent_absorption_nm(r) for r in st.modes_nm],
            **{f"fraction[{k}]": v for k, v in fr.items()},
            "total_volume_fraction": (digest or {}).get("total_volume_fraction"),
            "volume_fraction_kind": None if digest is None else ("absolute" if digest.get("absolute") else "relative"),
            "chi2_r": (digest or {}).get("chi2_r", fitr.get("chi2_r")),
            "growth": st.state,
            "family": st.family,
            "family_label": st.family_label,
            "shoulders": list(st.shoulder_labels),
            "n_frames": red.get("n_frames", s.n_frames),
            "n_rejected": red.get("n_rejected"),
            "rejected_frames": list(red.get("rejected", [])),
            "n_peaks": len(pk.get("peaks", [])) if pk else None,
            "error": error,
        }
        rows.append(row)
        samples.append({"config": s, "row": row, "state": st, "digest": digest,
                        "curve": _load_curve(root, (sub.get("outputs") or {}).get("curve")),
                        "raw_curve": _load_curve(root, (red.get("outputs") or {}).get("curve")),
                        "peaks": pk, "reduce": red})
    blanks = []
    for b in sorted(cfg.blanks, key=lambda b: b.temperature_C):
        red = _result(outcomes, f"reduce/{b.name}") or {}
        pk = _result(outcomes, f"peaks/{b.name}") or {}
        status, error = _status(outcomes, [f"reduce/{b.name}", f"peaks/{b.name}"])
        peaks = pk.get("peaks", []) if pk else []
        phase = (pk.get("phase") or {}) if pk else {}
        blanks.append({
            "config": b, "curve": _load_curve(root, (red.get("outputs") or {}).get("curve")),
            "row": {"blank": b.name, "temperature_C": b.temperature_C, "status": status,
                    "n_frames": red.get("n_frames", b.n_frames), "n_rejected": red.get("n_rejected"),
                    "rejected_frames": list(red.get("rejected", [])),
                    "peaks_q_nm": [p.get("q_nm") for p in peaks], "d_nm": [p.get("d_nm") for p in peaks],
                    "phase": phase.get("name"), "lattice_nm": phase.get("lattice_nm"), "error": error},
        })
    meso = _result(outcomes, "mesophase/series")
    readout = series_readout(states)
    failures = [{"step": o.id, "status": o.status, "error": o.error}
                for o in outcomes.values() if o.status in ("failed", "skipped")]
    return {"rows": rows, "samples": samples, "blanks": blanks, "mesophase": meso, "readout": readout,
            "failures": failures}


# ----------------------------------------------------------------------
# figures
def _png(fig: Any, tight: bool = True) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None}, bbox_inches="tight" if tight else None)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


Q_TICKS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def _log_x(ax: Any, ticks: tuple[float, ...] | None = Q_TICKS) -> None:
    """Log x axis with plain-number tick labels."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    if ticks:
        lo, hi = ax.get_xlim()
        ax.set_xticks([t for t in ticks if lo <= t <= hi] or list(ticks))
        ax.set_xlim(lo, hi)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _code_digest() -> str:
    import hashlib

    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


_CODE_DIGEST = _code_digest()


class _FigureCache:
    """PNG figures memoized by the content they show (re-runs skip matplotlib)."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, kind: str, content: Any, make: Any) -> str | None:
        from .cache import digest

        if self.folder is None:  # figures disabled
            return None

        key = digest({"kind": kind, "content": content, "code": _CODE_DIGEST})
        p = self.folder / f"{kind}_{key[:24]}.b64"
        try:
            return p.read_text(encoding="ascii")
        except OSError:
            pass
        b64 = make()
        if b64 is not None:
            write_text_atomic(p, b64)
        return b64


def fig_distributions(cfg: PipelineConfig, samples: list[dict[str, Any]]) -> str | None:
    """Volume-weighted size distributions stacked against nucleation temperature (Fig. 2 left)."""
    have = [s for s in samples if s["digest"] is not None]
    if not have:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 1.0 + 0.55 * len(have)))
    for i, s in enumerate(have):
        d = s["digest"]
        c = np.asarray(d["radius_centers_nm"], dtype=float)
        v = _floats(d["volume_fraction"])
        vmax = np.nanmax(v) if np.any(np.isfinite(v)) and np.nanmax(v) > 0 else 1.0
        y = np.nan_to_num(v / vmax) * 0.9 + i
        ax.fill_between(c, i, y, step="mid", alpha=0.35, color=f"C{i % 10}")
        ax.step(c, y, where="mid", color=f"C{i % 10}", lw=1)
        ax.text(1.01, i + 0.3, f"{s['config'].nucleation_temperature_C:g} °C", transform=ax.get_yaxis_transform(),
                fontsize=8, va="center")
        st = s["state"]
        if st.dominant_radius_nm:
            ax.plot([st.dominant_radius_nm], [i + 0.92], "v", color="k", ms=4)
    for w in cfg.fit.populations:
        if w.family_radius_nm is not None:
            ax.axvline(w.family_radius_nm, color="0.5", ls="--", lw=0.7)
    _log_x(ax, (0.5, 0.7, 1, 1.5, 2, 3, 4))
    ax.set_xlabel("radius r (nm)")
    ax.set_ylabel("volume-weighted distribution (normalized, offset)")
    ax.set_yticks([])
    ax.set_title("MC size distributions vs nucleation temperature")
    return _png(fig)


def fig_curves(samples: list[dict[str, Any]]) -> str | None:
    """Blank-subtracted SAXS curves with their MC fits, offset by decades (Fig. 2 right)."""
    have = [s for s in samples if s["digest"] is not None or s["curve"] is not None]
    if not have:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 1.5 + 0.5 * len(have)))
    for i, s in enumerate(have):
        f = 10.0 ** i
        d = s["digest"]
        if d is not None:
            q = np.asarray(d["q_nm"], dtype=float)
            iq = _floats(d["intensity"])
            mod = _floats(d["model"])
            ax.plot(q, iq * f, ".", ms=2, color=f"C{i % 10}")
            ax.plot(q, np.where(mod > 0, mod, np.nan) * f, "-", lw=1, color="k")
        else:
            c = s["curve"]
            ax.plot(c["q_nm"], c["intensity"] * f, ".", ms=2, color=f"C{i % 10}")
        qq, yy = (q, iq * f) if d is not None else (s["curve"]["q_nm"], s["curve"]["intensity"] * f)
        ok = np.isfinite(yy) & (yy > 0)
        if ok.any():
            k = np.flatnonzero(ok)[min(3, ok.sum() - 1)]
            ax.annotate(f"{s['config'].nucleation_temperature_C:g} °C", (qq[k], yy[k]), fontsize=7,
                        xytext=(0, 5), textcoords="offset points", va="bottom")
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    unit = (have[0]["digest"] or {}).get("intensity_unit") or "arb."
    ax.set_ylabel(f"I(q) ({unit}) x 10^i")
    ax.set_title("SAXS curves (points) and MC fits (lines), low T at bottom")
    return _png(fig)


def fig_blanks(blanks: list[dict[str, Any]], meso: dict[str, Any] | None) -> str | None:
    """Precursor blanks vs temperature with Bragg peaks and d-spacings (Fig. 3)."""
    have = [b for b in blanks if b["curve"] is not None]
    if not have:
        return None
    plt = _plt()
    ncol = 2 if meso and meso.get("temperatures_C") else 1
    fig, axes = plt.subplots(1, ncol, figsize=(5.5 * ncol, 4.0), squeeze=False)
    ax = axes[0, 0]
    for i, b in enumerate(have):
        c = b["curve"]
        f = 10.0 ** (0.7 * i)
        ax.plot(c["q_nm"], c["intensity"] * f, "-", lw=1, color=f"C{i % 10}",
                label=f"{b['config'].temperature_C:g} °C ({b['row']['phase'] or 'no phase'})")
        for q, d in zip(b["row"]["peaks_q_nm"], b["row"]["d_nm"]):
            if q is None:
                continue
            j = int(np.argmin(np.abs(c["q_nm"] - q)))
            ax.plot([q], [c["intensity"][j] * f * 1.3], "v", color=f"C{i % 10}", ms=5)
            if d is not None:
                ax.annotate(f"d={d:.2f} nm", (q, c["intensity"][j] * f * 1.6), fontsize=7, ha="center")
    _log_x(ax)
    ax.set_yscale("log")
    ax.set_xlabel("q (1/nm)")
    ax.set_ylabel("I(q) (offset)")
    ax.legend(fontsize=7)
    ax.set_title("precursor blanks: Bragg peaks of the mesophase")
    if ncol == 2:
        ax2 = axes[0, 1]
        t = np.asarray(meso["temperatures_C"], dtype=float)
        inten = _floats(meso.get("intensity", []))
        if inten.size == t.size:
            ax2.plot(t, inten, "o-")
        tm = meso.get("melting_temperature_C")
        if tm is not None:
            ax2.axvline(tm, color="r", ls="--", label=f"melting ≈ {tm:.0f} °C")
            ax2.legend(fontsize=8)
        ax2.set_xlabel("temperature (°C)")
        ax2.set_ylabel("first Bragg peak intensity")
        ax2.set_title("mesophase vs temperature")
    return _png(fig)


def fig_sample(s: dict[str, Any], cfg: PipelineConfig) -> str | None:
    d = s["digest"]
    if d is None and s["curve"] is None:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.95, wspace=0.25)
    if s["raw_curve"] is not None:
        c = s["raw_curve"]
        a1.plot(c["q_nm"], c["intensity"], "-", lw=0.8, color="0.6", label="sample (before blank subtraction)")
    if d is not None:
        q = np.asarray(d["q_nm"], dtype=float)
        iq = _floats(d["intensity"])
        sg = _floats(d["sigma"])
        mod = _floats(d["model"])
        a1.errorbar(q, iq, sg, fmt=".", ms=2, lw=0.5, label="blank-subtracted")
        a1.plot(q, np.where(mod > 0, mod, np.nan), "k-", lw=1,
                label=f"MC fit, chi2_r = {d.get('chi2_r') or float('nan'):.2f}")
        a1.set_ylabel(f"I(q) ({d.get('intensity_unit') or 'arb.'})")
        c = np.asarray(d["radius_centers_nm"], dtype=float)
        v = _floats(d["volume_fraction"])
        e = _floats(d.get("volume_fraction_std", [None] * len(c)))
        a2.bar(c, v, width=np.gradient(c) * 0.9, yerr=e, alpha=0.6, ecolor="0.3")
        for w in cfg.fit.populations:
            if w.family_radius_nm is not None:
                a2.axvline(w.family_radius_nm, color="0.5", ls="--", lw=0.7)
        _log_x(a2, (0.5, 1, 2, 4))
        a2.set_xlabel("radius r (nm)")
        a2.set_ylabel("volume fraction per bin")
    elif s["curve"] is not None:
        c = s["curve"]
        a1.plot(c["q_nm"], c["intensity"], ".", ms=2, label="blank-subtracted")
    _log_x(a1)
    a1.set_yscale("log")
    a1.set_xlabel("q (1/nm)")
    a1.legend(fontsize=7)
    return _png(fig, tight=False)


# ----------------------------------------------------------------------
# tables and pages
_CSS = """body{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#eee}td.l{text-align:left}.failed{background:#fdd}.quantized{background:#e8f4ff}
.continuous{background:#fff4e0}img{max-width:100%}code{background:#f4f4f4}"""


def _fmt(v: Any, nd: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.{nd}f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x, nd) for x in v) or "–"
    return html.escape(str(v))


def _img(b64: str | None, alt: str) -> str:
    if b64:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'
    return f"<p><i>{html.escape(alt)}: no figure (no data, or [output] figures = false)</i></p>"


def _family_cell(r: dict[str, Any]) -> str:
    fam = r.get("family_label") or r.get("family")
    out = f" ({html.escape(fam)})" if fam else ""
    if r.get("shoulders"):
        out += " + shoulder " + html.escape(", ".join(r["shoulders"]))
    return out


def _families_html(fams: list[dict[str, Any]]) -> str:
    if not fams:
        return ""
    rows = "".join(
        f"<tr><td class='l'>{html.escape(f['label'])}</td><td>{_fmt(f['radius_nm'], 2)}</td>"
        f"<td>{_fmt(f['saxs_diameter_nm'], 2)}</td><td>{_fmt(f['absorption_nm'], 0)}</td>"
        f"<td>{_fmt(f['optical_diameter_nm'], 2)}</td><td>{_fmt(f['yu_absorption_of_saxs_diameter_nm'], 0)}</td></tr>"
        for f in fams)
    return ("<h2>Magic-size families: SAXS vs optical size</h2><table><tr><th>family</th><th>SAXS r (nm)</th>"
            "<th>SAXS d = 2r (nm)</th><th>absorption peak (nm)</th><th>optical d, Yu 2003 (nm)</th>"
            "<th>λ<sub>Yu</sub> of SAXS d (nm)</th></tr>" + rows + "</table>"
            "<p><small>Families are named by their first-exciton absorption peak. Optical diameters follow Yu et al., "
            "Chem. Mater. 2003, 15, 2854; SAXS diameters are larger for the smallest clusters (reference study: "
            "1.74 / 1.88 / 2.04 nm by SAXS vs 1.58 / 1.85 / 2.06 nm optically for CdSe-403 / -437 / -465), so the "
            "Yu-equivalent wavelength λ<sub>Yu</sub> of a SAXS radius (table below) is only a guide; the family "
            "assignment uses the SAXS radius.</small></p>")


def _sample_table(rows: list[dict[str, Any]], windows: list[str], link: bool = True,
                  labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    head = ["sample", "T<sub>nuc</sub> (°C)", "status", "growth", "dominant r (nm)",
            "λ<sub>Yu</sub> of 2r (nm)", "modes (nm)"] + [
        (f"{html.escape(labels[w])}<br><small>{html.escape(w)}</small>" if labels.get(w, w) != w else html.escape(w))
        + " (share)" for w in windows] + ["total φ", "chi2_r", "frames", "rejected"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows:
        name = html.escape(r["sample"])
        cell = f'<a href="samples/{name}.html">{name}</a>' if link else name
        cls = "failed" if r["status"] != "ok" else (r["growth"] or "")
        rej = r["n_rejected"]
        rej_s = "–" if rej is None else (f"{rej}: " + html.escape(", ".join(Path(x).name for x in r["rejected_frames"])) if rej else "0")
        cells = [f'<td class="l">{cell}</td>', f"<td>{_fmt(r['nucleation_temperature_C'], 0)}</td>",
                 f'<td class="l">{html.escape(r["status"])}</td>',
                 f'<td class="l">{_fmt(r["growth"])}{_family_cell(r)}</td>',
                 f"<td>{_fmt(r['dominant_radius_nm'])}</td>", f"<td>{_fmt(r.get('yu_absorption_nm'), 0)}</td>",
                 f"<td>{_fmt(r['modes_nm'])}</td>"]
        cells += [f"<td>{_fmt(r[f'fraction[{w}]'], 2)}</td>" for w in windows]
        phi = r["total_volume_fraction"]
        phi_s = "–" if phi is None else (f"{phi:.3g}" if r["volume_fraction_kind"] == "absolute" else "rel.")
        cells += [f"<td>{phi_s}</td>", f"<td>{_fmt(r['chi2_r'], 2)}</td>", f"<td>{_fmt(r['n_frames'])}</td>", f'<td class="l">{rej_s}</td>']
        out.append(f'<tr class="{cls}">' + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


def _provenance(cfg: PipelineConfig) -> dict[str, Any]:
    from saxs_mc.provenance import file_sha256, package_versions, utc_now

    return {"config": str(cfg.source), "config_sha256": file_sha256(cfg.source), "created": utc_now(),
            "poni": str(cfg.geometry.poni), "poni_sha256": file_sha256(cfg.geometry.poni),
            "mask": str(cfg.geometry.mask) if cfg.geometry.mask else None,
            "mask_sha256": file_sha256(cfg.geometry.mask) if cfg.geometry.mask else None,
            "fit_seed": cfg.fit.seed, "versions": package_versions(),
            "steps": "per-step settings, inputs, seeds and versions: steps/<kind>/<name>/manifest.json"}


def write_summary_tables(root: Path, data: dict[str, Any], cfg: PipelineConfig) -> tuple[Path, Path]:
    """``summary.csv`` (one row per sample) and ``summary.json`` (rows, blanks, read-out)."""
    rows = data["rows"]
    csv_path = root / "summary.csv"
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            if rows:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                for r in rows:
                    w.writerow({k: (";".join(_fmt(x, 4) for x in v) if isinstance(v, list) else
                                    ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)))
                                for k, v in r.items()})
    from saxs_mc import __version__

    json_path = write_json_atomic(root / "summary.json", jsonable({
        "pipeline": cfg.name, "config": str(cfg.source), "saxs_mc": __version__,
        "populations": [{"name": w.name, "label": w.label, "r_min_nm": w.r_min_nm,
                         "r_max_nm": w.r_max_nm if math.isfinite(w.r_max_nm) else None,
                         "family_radius_nm": w.family_radius_nm, "absorption_nm": w.absorption_nm}
                        for w in cfg.fit.populations],
        "families": families_table(cfg),
        "readout_rule": {"mode_tolerance_nm": cfg.readout.mode_tolerance_nm,
                         "min_family_fraction": cfg.readout.min_family_fraction,
                         "min_mode_height": cfg.readout.min_mode_height,
                         "shoulder_shift_fraction": cfg.readout.shoulder_shift_fraction,
                         "shoulder_min_fraction": cfg.readout.shoulder_min_fraction},
        "samples": rows,
        "blanks": [b["row"] for b in data["blanks"]],
        "mesophase": {k: v for k, v in (data["mesophase"] or {}).items() if k != "outputs"} or None,
        "readout": data["readout"].summary(),
        "failures": data["failures"],
        "provenance": _provenance(cfg),
    }))
    return csv_path, json_path


def write_report(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: str | Path) -> Path:
    """Write ``report.html``, ``samples/*.html``, ``summary.csv`` and ``summary.json``; return the report path."""
    root = Path(root)
    data = collect(cfg, outcomes, root)
    write_summary_tables(root, data, cfg)
    windows = [w.name for w in cfg.fit.populations]
    labels = {w.name: w.display for w in cfg.fit.populations}
    ro = data["readout"]
    fc = _FigureCache(root / ".saxs_mc" / "figures" if cfg.output.figures else None)
    pops = [[w.name, w.r_min_nm, w.r_max_nm if math.isfinite(w.r_max_nm) else None, w.family_radius_nm]
            for w in cfg.fit.populations]
    sample_content = jsonable([[s["config"].nucleation_temperature_C, s["digest"], s["curve"], s["state"].dominant_radius_nm]
                               for s in data["samples"]])
    parts = [f"<h1>{html.escape(cfg.name)}</h1>"]
    if cfg.description:
        parts.append(f"<p>{html.escape(cfg.description)}</p>")
    parts.append(f"<p>config <code>{html.escape(str(cfg.source))}</code>; tables: "
                 f"<a href='summary.csv'>summary.csv</a>, <a href='summary.json'>summary.json</a></p>")
    cal = _result(outcomes, "calibrate/water")
    if cal:
        parts.append(f"<p>absolute scale from water: calibration factor {cal['factor']:.5g} ± "
                     f"{cal['factor_sigma']:.2g}</p>")
    elif cfg.normalization.calibration_factor is not None:
        parts.append(f"<p>calibration factor {cfg.normalization.calibration_factor:g} (intensities in 1/cm)</p>")
    if data["failures"]:
        parts.append("<h2 class='failed'>Failures</h2><ul>" + "".join(
            f"<li><b>{html.escape(f['step'])}</b> ({f['status']}): {html.escape(str(f['error']))}</li>"
            for f in data["failures"]) + "</ul>")
    parts.append("<h2>Series read-out: quantized vs continuous growth</h2><ul>"
                 + "".join(f"<li>{html.escape(t)}</li>" for t in ro.text) + "</ul>")
    parts.append(
        "<p><small>Rule: a sample is <i>quantized</i> on a magic-size family when the dominant mode of its "
        f"volume-weighted distribution lies within {cfg.readout.mode_tolerance_nm} nm of the family radius and "
        f"the family windows hold ≥ {cfg.readout.min_family_fraction:.0%} of the volume; otherwise "
        f"<i>continuous</i>. Modes: local maxima ≥ {cfg.readout.min_mode_height:.0%} of the highest bin. Shoulder: "
        f"a second mode on another family, or the dominant mode displaced ≥ {cfg.readout.shoulder_shift_fraction:.0%} "
        "of the way towards the neighbouring family (unresolved mixture), or another family window holding "
        f"≥ {cfg.readout.shoulder_min_fraction:.0%} of the volume.</small></p>")
    parts.append(_families_html(families_table(cfg)))
    parts.append("<h2>Summary per sample</h2>" + _sample_table(data["rows"], windows, labels=labels))
    parts.append("<h2>Size distributions and fits</h2><div style='display:flex;flex-wrap:wrap;gap:1em'>"
                 f"<div>{_img(fc.get('distributions', [pops, sample_content], lambda: fig_distributions(cfg, data['samples'])), 'size distributions')}</div>"
                 f"<div>{_img(fc.get('curves', sample_content, lambda: fig_curves(data['samples'])), 'SAXS curves with MC fits')}</div></div>")
    blank_content = jsonable([[b["row"], b["curve"]] for b in data["blanks"]] + [data["mesophase"]])
    parts.append("<h2>Precursor blanks and mesophase</h2>"
                 + _img(fc.get("blanks", blank_content, lambda: fig_blanks(data["blanks"], data["mesophase"])), "blanks"))
    brow = ["<table><tr><th>blank</th><th>T (°C)</th><th>status</th><th>peaks q (1/nm)</th><th>d (nm)</th>"
            "<th>phase</th><th>lattice (nm)</th><th>rejected</th></tr>"]
    for b in data["blanks"]:
        r = b["row"]
        brow.append(f"<tr><td class='l'>{html.escape(r['blank'])}</td><td>{_fmt(r['temperature_C'], 0)}</td>"
                    f"<td class='l'>{r['status']}</td><td>{_fmt(r['peaks_q_nm'])}</td><td>{_fmt(r['d_nm'])}</td>"
                    f"<td class='l'>{_fmt(r['phase'])}</td><td>{_fmt(r['lattice_nm'])}</td>"
                    f"<td>{_fmt(r['n_rejected'])}</td></tr>")
    brow.append("</table>")
    parts.append("\n".join(brow))
    meso = data["mesophase"]
    if meso:
        tm = meso.get("melting_temperature_C")
        parts.append(f"<p>Mesophase melting estimate: <b>{_fmt(tm, 0)} °C</b></p>")
    from saxs_mc.provenance import package_versions

    parts.append("<h2>Provenance</h2><pre>" + html.escape(json.dumps(package_versions(), indent=1)) + "</pre>")
    report = write_text_atomic(root / "report.html", _page(f"saxs_mc report: {cfg.name}", "\n".join(parts)))

    for s in data["samples"]:
        r = s["row"]
        st: SampleState = s["state"]
        body = [f"<p><a href='../report.html'>← series report</a></p><h1>{html.escape(r['sample'])}</h1>",
                f"<p>nucleation {r['nucleation_temperature_C']:g} °C, growth {r['growth_temperature_C']:g} °C, "
                f"reaction time {_fmt(r['reaction_time_s'], 2)} s, blank <code>{html.escape(r['blank'])}</code></p>",
                _sample_table([r], windows, link=False, labels=labels),
                f"<p>read-out: <b>{st.state}</b>{' on ' + html.escape(st.family_label or st.family) if st.family else ''} — "
                f"{html.escape(st.reason)}</p>",
                _img(fc.get("sample", [pops, jsonable([s["digest"], s["raw_curve"], s["curve"]])],
                            lambda s=s: fig_sample(s, cfg)), "curve and size distribution")]
        if r["error"]:
            body.append(f"<p class='failed'>{html.escape(r['error'])}</p>")
        pk = s["peaks"] or {}
        if pk.get("peaks"):
            body.append("<h2>Bragg peaks</h2><table><tr><th>q (1/nm)</th><th>d (nm)</th><th>FWHM</th>"
                        "<th>significance</th></tr>" + "".join(
                            f"<tr><td>{_fmt(p.get('q_nm'))}</td><td>{_fmt(p.get('d_nm'))}</td>"
                            f"<td>{_fmt(p.get('fwhm'))}</td><td>{_fmt(p.get('significance'), 1)}</td></tr>"
                            for p in pk["peaks"]) + "</table>")
        frames = (s["reduce"] or {}).get("frames")
        if frames:
            body.append("<h2>Frames</h2><table><tr><th>file</th><th>rejected</th><th>reason</th></tr>" + "".join(
                f"<tr><td class='l'>{html.escape(Path(str(f.get('file'))).name)}</td><td>{_fmt(f.get('rejected'))}</td>"
                f"<td class='l'>{_fmt(f.get('reason'))}</td></tr>" for f in frames) + "</table>")
        files = []
        for kind in ("reduce", "subtract", "fit", "peaks"):
            res_k = _result(outcomes, f"{kind}/{r['sample']}") or {}
            for label, rel in (res_k.get("outputs") or {}).items():
                if not str(rel).endswith(".pkl"):
                    files.append(f"<li>{kind} {html.escape(label)}: <a href='../{html.escape(str(rel))}'>"
                                 f"{html.escape(Path(str(rel)).name)}</a></li>")
        if files:
            body.append("<h2>Files</h2><ul>" + "".join(files) + "</ul>")
        write_text_atomic(root / "samples" / f"{r['sample']}.html", _page(r["sample"], "\n".join(body)))
    return report


def format_summary_table(res: Any) -> str:
    """A plain-text table of the samples from ``summary.json`` (for the CLI's final log)."""
    p = Path(res.root) / "summary.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no summary"
    lines = [f"{'sample':<12} {'T_nuc':>6} {'status':<7} {'growth':<11} {'family':<9} {'r_dom/nm':>8} "
             f"{'lamYu/nm':>8} {'chi2_r':>7} {'rejected':>8}"]
    for r in data["samples"]:
        lines.append(f"{r['sample']:<12} {_fmt(r['nucleation_temperature_C'], 0):>6} {r['status']:<7} "
                     f"{(r['growth'] or '-'):<11} {(r.get('family_label') or '-'):<9} {_fmt(r['dominant_radius_nm']):>8} "
                     f"{_fmt(r.get('yu_absorption_nm'), 0):>8} {_fmt(r['chi2_r'], 2):>7} {_fmt(r['n_rejected']):>8}")
    for t in data["readout"]["text"]:
        lines.append(f"read-out: {t}")
    for f in data["failures"]:
        lines.append(f"FAILED {f['step']}: {f['error']}")
    return "\n".join(lines)
