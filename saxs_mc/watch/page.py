"""The live page: ``<output>/live/index.html``, refreshing itself, with the latest curve,
distribution and trend plots and a status line.  Works when opened as a file.

All text comes from the output folder (data): it goes through Jinja2 with
autoescape, as the batch report does.  Figures are PNG files next to the page.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import atomic_path

log = logging.getLogger("saxs_mc.watch")

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{ refresh_s }}">
<title>{{ name }}: live</title>
<style>body{font-family:sans-serif;margin:1em}img{max-width:32%;min-width:300px}
.status{font-family:monospace;background:#eef;padding:.4em}td,th{padding:0 .6em;text-align:left}</style>
</head><body>
<h1>{{ name }}: live</h1>
<p class="status">{{ status }}</p>
<p>Latest sample: <b>{{ latest or "none yet" }}</b>. Updated {{ updated }}.
Full report: <a href="../report.html">report.html</a> (written after each update).</p>
<div>{% for f in figures %}<img src="{{ f }}" alt="{{ f }}">{% endfor %}</div>
{% if rejected %}<h2>Rejected frames</h2><table><tr><th>file</th><th>by</th><th>reason</th></tr>
{% for r in rejected %}<tr><td>{{ r.file }}</td><td>{{ r.by }}</td><td>{{ r.reason }}</td></tr>{% endfor %}
</table>{% endif %}
</body></html>
"""


def _env() -> Any:
    import jinja2

    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _save(fig: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)


def _figures(root: Path, live: Path, latest: str | None) -> list[str]:
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    names = []
    digest = _read_json(root / "steps" / "fit" / latest / f"{latest}_digest.json") if latest else None
    if isinstance(digest, dict) and "q_nm" in digest:
        fig = Figure(figsize=(5, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.errorbar(digest["q_nm"], digest["intensity"], digest["sigma"], fmt=".", ms=3, label="data")
        ax.plot(digest["q_nm"], digest["model"], "-", label="MC fit")
        ax.set(xscale="log", yscale="log", xlabel="q / nm$^{-1}$", ylabel=digest.get("intensity_unit", "I"),
               title=f"{latest}: curve")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend()
        _save(fig, live / "curve.png")
        fig = Figure(figsize=(5, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(digest["radius_centers_nm"], digest["volume_fraction"],
               width=[b - a for a, b in zip(digest["radius_edges_nm"][:-1], digest["radius_edges_nm"][1:])])
        ax.set(xlabel="radius / nm", ylabel="volume fraction", title=f"{latest}: distribution")
        _save(fig, live / "distribution.png")
        names += ["curve.png", "distribution.png"]
    summ = _read_json(root / "summary.json")
    rows = [s for s in (summ or {}).get("samples", []) if isinstance(s, dict)]
    pts = [(s.get("nucleation_temperature_C"), s.get("dominant_radius_nm")) for s in rows]
    pts = [(x, y) for x, y in pts if isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isfinite(y)]
    if pts:
        fig = Figure(figsize=(5, 3.6), layout="constrained")
        ax = fig.add_subplot()
        xs, ys = zip(*sorted(pts))
        ax.plot(xs, ys, "o-")
        ax.set(xlabel="nucleation temperature / C", ylabel="dominant radius / nm", title="trend along the series")
        _save(fig, live / "trend.png")
        names.append("trend.png")
    return names


def write_live_page(root: Path, name: str, status: dict[str, Any], status_line: str, latest: str | None,
                    refresh_s: int = 2, figures: bool = True) -> Path:
    """Write ``live/index.html`` (+ PNGs and ``status.json``) into the output folder ``root``."""
    import time

    live = root / "live"
    live.mkdir(parents=True, exist_ok=True)
    figs = _figures(root, live, latest) if figures else []
    html = _env().from_string(_TEMPLATE).render(
        name=name, status=status_line, latest=latest, figures=figs, rejected=status.get("rejected", []),
        refresh_s=int(refresh_s), updated=time.strftime("%H:%M:%S"))
    page = live / "index.html"
    with atomic_path(page) as tmp:
        Path(tmp).write_text(html)
    with atomic_path(live / "status.json") as tmp:
        Path(tmp).write_text(json.dumps(status, indent=1, allow_nan=False))
    return page
