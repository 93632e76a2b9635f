"""Series report: HTML page with embedded figures, a page per sample and per blank, summary tables.

Reads only the pipeline's own step results (manifests) and the JSON digests
the steps write (schemas below), never the upstream objects, so the report
is rebuilt identically from a cached run.  Every file it reads must resolve
inside the output folder; everything it embeds in HTML is escaped by the
template engine or, for figures, re-encoded from verified PNG bytes.

Layout: :mod:`.model` (typed summary: frozen records built by :func:`collect`; split into
:mod:`.sources`, :mod:`.records`, :mod:`.families`, :mod:`.sample`, :mod:`.series`, :mod:`.build`),
:mod:`.figures` (object-oriented matplotlib; split into :mod:`.plotting`, :mod:`.series_figures`,
:mod:`.page_figures`, :mod:`.figure_cache`), :mod:`.axis` (the series axis), :mod:`.pages`
(Jinja2 templates in ``templates/``, autoescaped) and this module, which
writes the files.

Series axis
-----------
Each sample's conditions and the axis of the series come from its reduce-step manifest
(``steps/reduce/<name>/manifest.json``, ``settings["metadata"]``: ``conditions``,
``series_axis``, ``stack``, ``time_point``), else from legacy top-level keys there, else from
the configuration (:mod:`.axis`).  Everything is plotted against that axis with the label and
unit its key names (``time_s`` -> "time (s)").  The magic-size family table, Yu columns,
family shares and the growth read-out appear only with families configured; the mesophase
only with blanks at two or more temperatures.  Series figures for any axis: an axis-radius
map of the size distributions, stacked distributions and curves, and trends (total volume
fraction, mean radius, family shares, Bragg-peak area) with ±1σ bands.

Step digests
------------
- reduce/subtract: result ``{"outputs": {"curve": <3-column ASCII>}, "n_frames", "n_rejected",
  "rejected": [...], "intensity_unit"}``
- fit: ``outputs["digest"]`` -> JSON ``{"radius_centers_nm", "radius_edges_nm",
  "volume_fraction", "volume_fraction_std", "bin_scale", "q_nm", "intensity", "sigma", "model",
  "chi2_r", "chi2_r_per_repetition", "seed", "intensity_unit", "total_volume_fraction", "absolute"}``;
  ``outputs["json"]`` -> the fit document (``total_volume_fraction_std`` is read from it)
- peaks: result ``{"peaks": [{"q_nm", "q_err", "d_nm", "fwhm", "area", "area_err", "significance"}],
  "phase": {"name", "lattice_nm", "score"}}``
- mesophase: result ``{"temperatures_C", "intensity", "position_nm", "melting_temperature_C",
  "melting_bracket_C", "melting_method"}``; ``outputs["json"]`` -> ``total_area_err``

Outputs (in the output folder): ``report.html``, ``samples/<name>.html``, ``blanks/<name>.html``,
``summary.csv``, ``summary.json`` (sample rows gain ``conditions``, ``series_axis``, ``series_value``,
``mean_radius_nm``, ``bragg_peak_area`` with ``*_std``; the CSV has a column per condition); all rendered in memory first, then written together
(each file atomically; nothing is replaced if any of them cannot be written).
Figures use the Agg backend and are embedded as base64 PNG, so every page is self-contained.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import atomic_path, jsonable
from saxs_mc.models.optical import yu_equivalent_absorption_nm  # noqa: F401  (re-exported for compatibility)

from ..config import PipelineConfig
from ..readout import NOT_ASSESSED, describe_rule
from .figures import (
    FigureCache,
    blank_figure,
    blanks_figure,
    curves_figure,
    distributions_figure,
    family_shares_figure,
    sample_figure,
    series_map_figure,
    series_trends_figure,
)
from .model import DISAGREE_RULE, BlankSummary, SampleSummary, SeriesSummary, collect, contrast_info
from .pages import PngImage, fmt, page_name, render

__all__ = [
    "write_report",
    "collect",
    "summary_csv",
    "format_summary_table",
    "families_table",
    "SeriesSummary",
    "SampleSummary",
    "BlankSummary",
    "UnsafeOutputError",
]

log = logging.getLogger("saxs_mc.pipeline.report")


class UnsafeOutputError(OSError):
    """A report file would be written through a symbolic link or outside the output folder."""


def families_table(cfg: PipelineConfig) -> list[dict[str, Any]]:
    """The configured MSC families: SAXS radius/diameter vs the optical (Yu) diameter of their absorption peak."""
    from saxs_mc.models.optical import msc_family_sizes

    return [
        {"name": w.name, "label": w.display, **msc_family_sizes(w.family_radius_nm, w.absorption_nm)}
        for w in cfg.fit.populations
        if w.family_radius_nm is not None
    ]


# ----------------------------------------------------------------------
# summary.csv
_CSV_LEAD = ("kind", "name")
#: columns added with the series axis: last, so the columns of earlier outputs keep their order
_CSV_TAIL = (
    "mean_radius_nm",
    "mean_radius_nm_std",
    "bragg_peak_area",
    "bragg_peak_area_std",
    "series_axis",
    "series_value",
    "stack",
)


def _flat_row(r: dict[str, Any]) -> dict[str, Any]:
    """A summary row for the CSV: each condition in a column of its own.

    The column is the condition key itself (the CdSe study's keys are columns already), or
    ``condition[<key>]`` where the key would clash with another field of the row.
    """
    conds = r.pop("conditions", None) or {}
    for k, v in conds.items():
        r[k if k not in r or r[k] == v else f"condition[{k}]"] = v
    return r


def _csv_cell(v: Any) -> Any:
    if isinstance(v, list):
        return ";".join(fmt(x, 4) if x is not None else "" for x in v)
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else ""
    return v


def summary_csv(series: SeriesSummary) -> str:
    """``summary.csv``: one row per sample, then one per blank (``kind`` column), uncertainties as ``*_std``.

    Plain comma-separated values with one header line: ``pandas.read_csv(path)`` reads it
    with default options.  Lists (modes, peaks, rejected frames) are ``;``-separated in one cell;
    every sample condition has a column (see :func:`_flat_row`), the series axis key comes third.
    """
    rows = []
    for s in series.samples:
        r = _flat_row(s.row())
        rows.append({"kind": "sample", "name": r.pop("sample"), **r})
    for b in series.blanks:
        r = _flat_row(b.row())
        rows.append({"kind": "blank", "name": r.pop("blank"), **r})
    axis = series.axis.key
    fields = list(_CSV_LEAD) + ([axis] if any(axis in r for r in rows) else []) + ["temperature_C"]
    for r in rows:
        fields += [k for k in r if k not in fields]
    fields = [f for f in fields if f not in _CSV_TAIL] + [f for f in _CSV_TAIL if f in fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_cell(r.get(k)) for k in fields})
    return buf.getvalue()


def _provenance(cfg: PipelineConfig) -> dict[str, Any]:
    from saxs_mc.provenance import file_sha256, package_versions, utc_now

    return {
        "config": str(cfg.source),
        "config_sha256": file_sha256(cfg.source),
        "created": utc_now(),
        "poni": str(cfg.geometry.poni),
        "poni_sha256": file_sha256(cfg.geometry.poni),
        "mask": str(cfg.geometry.mask) if cfg.geometry.mask else None,
        "mask_sha256": file_sha256(cfg.geometry.mask) if cfg.geometry.mask else None,
        "fit_seed": cfg.fit.seed,
        "contrast": contrast_info(cfg),
        "versions": package_versions(),
        "steps": "per-step settings, inputs, seeds and versions: steps/<kind>/<name>/manifest.json",
    }


# ----------------------------------------------------------------------
# figures and pages (in memory)
def _pops(series: SeriesSummary) -> list[Any]:
    return [
        [w.name, w.display, w.r_min_nm, w.r_max_nm if math.isfinite(w.r_max_nm) else None, w.family_radius_nm]
        for w in series.populations
    ]


def _sample_content(s: SampleSummary) -> Any:
    return [
        s.series_axis,
        s.series_value,
        s.conditions,
        s.digest.raw if s.digest else None,
        _curve_content(s.curve),
        s.state.summary(),
        s.total_volume_fraction_std,
        s.dominant_radius_std_nm,
        s.bragg_area,
    ]


def _curve_content(c: Any) -> Any:
    return None if c is None else [c.q, c.intensity, c.sigma, c.intensity_unit]


def _series_figures(series: SeriesSummary, fc: FigureCache) -> dict[str, PngImage]:
    axis = [series.axis.key, series.axis.label, series.axis.unit, series.has_families, series.show_mesophase]
    samples = jsonable([axis, [_sample_content(s) for s in series.samples]])
    blanks = jsonable(
        [[b.row(), _curve_content(b.curve)] for b in series.blanks]
        + [
            series.show_mesophase,
            series.mesophase.fields if series.mesophase else None,
            series.mesophase.area_err if series.mesophase else None,
        ]
    )
    trends = jsonable([samples, [s.family_rows() for s in series.samples]])
    return {
        "distributions": PngImage(
            fc.get("distributions", [_pops(series), samples], lambda: distributions_figure(series)),
            "size distributions",
        ),
        "curves": PngImage(fc.get("curves", samples, lambda: curves_figure(series)), "SAXS curves with MC fits"),
        "blanks": PngImage(fc.get("blanks", blanks, lambda: blanks_figure(series)), "blanks"),
        "family_shares": PngImage(
            fc.get(
                "family_shares",
                jsonable([axis, [[s.series_value, s.family_rows()] for s in series.samples]]),
                lambda: family_shares_figure(series),
            ),
            f"family shares vs {series.axis.label}",
        ),
        "map": PngImage(
            fc.get("map", samples, lambda: series_map_figure(series)),
            f"{series.axis.label} – radius map of the size distributions",
        ),
        "trends": PngImage(
            fc.get("trends", trends, lambda: series_trends_figure(series)),
            f"volume fraction, mean radius and more vs {series.axis.label}",
        ),
    }


def _rejected_names(frames: Any) -> str:
    return ", ".join(Path(str(x)).name for x in frames)


def render_pages(series: SeriesSummary, fc: FigureCache, versions: Mapping[str, Any]) -> dict[str, str]:
    """All HTML pages of the report, as ``{relative path: text}`` (nothing is written)."""
    pages: dict[str, str] = {}
    common = {
        "rejected_names": _rejected_names,
        "populations": series.populations,
        "axis": series.axis,
        "families": series.has_families,
        "disagree_rule": DISAGREE_RULE,
    }
    pages["report.html"] = render(
        "report.html.j2",
        title=f"saxs_mc report: {series.name}",
        s=series,
        rule_text=describe_rule(series.rule),
        figures=_series_figures(series, fc),
        versions=dict(versions),
        **common,
    )
    pops = _pops(series)
    for x in series.samples:
        img = PngImage(
            fc.get(
                "sample",
                [pops, jsonable([_sample_content(x), _curve_content(x.raw_curve)])],
                functools.partial(sample_figure, x, series.populations),
            ),
            "curve and size distribution",
        )
        pages[f"samples/{page_name(x.name)}.html"] = render("sample.html.j2", title=x.name, x=x, figure=img, **common)
    for b in series.blanks:
        img = PngImage(
            fc.get("blank", jsonable([b.row(), _curve_content(b.curve)]), functools.partial(blank_figure, b)),
            "blank curve with Bragg peaks",
        )
        used_by = [s.name for s in series.samples if s.blank == b.name]
        pages[f"blanks/{page_name(b.name)}.html"] = render(
            "blank.html.j2", title=b.name, x=b, figure=img, used_by=used_by, **common
        )
    return pages


# ----------------------------------------------------------------------
# writing
def _check_target(root: Path, rel: str) -> Path:
    """``root / rel``, refusing symbolic links on the way (the target may be replaced, never followed)."""
    target = root / rel
    p = root
    for part in Path(rel).parts[:-1]:
        p = p / part
        if p.is_symlink() or (p.exists() and not p.is_dir()):
            raise UnsafeOutputError(
                f"{p}: is a symbolic link or not a folder; the report writes only real folders "
                "inside the output folder: remove it and run again"
            )
    if target.is_dir() and not target.is_symlink():
        raise UnsafeOutputError(f"{target}: is a folder; remove it so the report can write this file")
    return target


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write ``{relative path: text}`` under ``root``: every file is staged first, then all are renamed.

    If any file cannot be staged (disk full, permissions, a symbolic link in the way) no
    existing file is replaced and the temporary files are removed.  Renames happen in
    reverse order of ``files``, so put the entry page first: it appears last.
    """
    targets = [(_check_target(root, rel), text) for rel, text in files.items()]
    with contextlib.ExitStack() as stack:
        for target, text in targets:
            tmp = stack.enter_context(atomic_path(target))
            tmp.write_text(text, encoding="utf-8")


def write_report(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: str | Path) -> Path:
    """Write ``report.html``, ``samples/*.html``, ``blanks/*.html``, ``summary.csv`` and ``summary.json``.

    Everything is rendered in memory first and written together at the end (see
    :func:`write_files`); returns the report path.

    Raises
    ------
    UnsafeOutputError
        A symbolic link or a folder stands where a report file goes.
    OSError
        A file cannot be written (nothing was replaced then).
    """
    from saxs_mc.provenance import package_versions

    root = Path(root)
    series = collect(cfg, outcomes, root)
    figs = root / ".saxs_mc" / "figures"
    fc = FigureCache(figs if cfg.output.figures else None, root)
    files = render_pages(series, fc, package_versions())  # report.html first: renamed last
    files["summary.json"] = json.dumps(series.document(_provenance(cfg)), indent=2, allow_nan=False) + "\n"
    files["summary.csv"] = summary_csv(series)
    write_files(root, files)
    return root / "report.html"


def _table_columns(rows: list[dict[str, Any]]) -> list[tuple[str, int, Any]]:
    """(header, width, cell) of the CLI table; the family/Yu columns only when a growth read-out was made."""
    cols: list[tuple[str, int, Any]] = [("status", -7, lambda r: r["status"])]
    if any(r.get("growth") not in (None, NOT_ASSESSED) for r in rows):
        cols += [("growth", -11, lambda r: r["growth"] or "-"), ("family", -9, lambda r: r.get("family_label") or "-")]
    cols.append(("r_dom/nm", 8, lambda r: fmt(r["dominant_radius_nm"])))
    if any(r.get("yu_absorption_nm") is not None for r in rows):
        cols.append(("lamYu/nm", 8, lambda r: fmt(r.get("yu_absorption_nm"), 0)))
    else:
        cols += [
            ("r_mean/nm", 9, lambda r: fmt(r.get("mean_radius_nm"))),
            (
                "phi",
                9,
                lambda r: (
                    f"{r['total_volume_fraction']:.3g}"
                    if isinstance(r.get("total_volume_fraction"), (int, float))
                    else "-"
                ),
            ),
        ]
    return cols + [("chi2_r", 7, lambda r: fmt(r["chi2_r"], 2)), ("rejected", 8, lambda r: fmt(r["n_rejected"]))]


def format_summary_table(res: Any) -> str:
    """A plain-text table of the samples from ``summary.json`` (for the CLI's final log)."""
    p = Path(res.root) / "summary.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no summary"
    axis = data.get("series_axis", {}).get("key", "nucleation_temperature_C")
    head = "T_nuc" if axis == "nucleation_temperature_C" else axis
    width = max(10, len(head))
    cols = _table_columns(data["samples"])
    lines = [f"{'sample':<12} {head:>{width}} " + " ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w, _ in cols)]
    for r in data["samples"]:
        value = r.get("series_value", r.get("nucleation_temperature_C"))
        where = f"{value:g}" if isinstance(value, (int, float)) else "-"
        cells = " ".join(f"{c(r)!s:<{-w}}" if w < 0 else f"{c(r)!s:>{w}}" for _, w, c in cols)
        lines.append(f"{r['sample']:<12} {where:>{width}} {cells}")
    lines += [f"read-out: {t}" for t in data["readout"]["text"]]
    lines += [f"FAILED {f['step']}: {f['error']}" for f in data["failures"]]
    return "\n".join(lines)
