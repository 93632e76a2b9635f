"""The live page: ``<output>/live/index.html``, refreshing itself, with the latest curve
(inline SVG, drawn on every page write), the latest fitted distribution and the trend
(PNGs rendered only when a fit changed them) and a status line.  Works when opened as a file.

All text comes from the output folder (data): it goes through Jinja2 with
autoescape, as the batch report does.  Figures are PNG files next to the page.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from saxs_mc.io.atomic import atomic_path, jsonable

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
Full report: <a href="../report.html">report.html</a> (written by each batch sync).</p>
<div>{{ svg }}{% for f in figures %}<img src="{{ f }}" alt="{{ f }}">{% endfor %}</div>
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
        fig.savefig(tmp, format="png", dpi=60)


def _svg_points(x: Any, y: Any, box: tuple[float, float, float, float], w: int, h: int) -> str:
    import numpy as np

    x0, x1, y0, y1 = box
    px = (np.log10(x) - x0) / (x1 - x0) * w
    py = h - (np.log10(y) - y0) / (y1 - y0) * h
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))


def curve_svg(st: Any, w: int = 420, h: int = 300) -> str:
    """Inline SVG (log-log) of a sample's live curve and its last fit model; numbers only, no text from files.

    Cheap enough for every update (no plotting library): the live curve is drawn on every page write.
    """
    import numpy as np

    c = st.curve
    ok = np.isfinite(c.intensity) & (c.intensity > 0) & (c.q > 0)
    if ok.sum() < 2:
        return ""
    q, i = c.q[ok], c.intensity[ok]
    model = None
    if st.fit is not None:
        mq, mi = np.asarray(st.fit["q_nm"], float), np.asarray(st.fit["model"], float)
        good = np.isfinite(mi) & (mi > 0) & (mq > 0)
        model = (mq[good], mi[good]) if good.sum() >= 2 else None
    ly = np.log10(np.concatenate([i] + ([model[1]] if model else [])))
    box = (math.log10(q.min()), math.log10(q.max()), float(ly.min()) - 0.1, float(ly.max()) + 0.1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 20}" viewBox="0 0 {w} {h + 20}">',
        f'<rect width="{w}" height="{h}" fill="#fafafa" stroke="#999"/>',
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="{_svg_points(q, i, box, w, h)}"/>',
    ]
    if model:
        parts.append(
            f'<polyline fill="none" stroke="#d62728" stroke-width="1.5" '
            f'points="{_svg_points(model[0], model[1], box, w, h)}"/>'
        )
    parts.append(
        f'<text x="4" y="{h + 15}" font-size="11">log-log; q {q.min():.3g}-{q.max():.3g} 1/nm; '
        f"blue: live curve ({st.n_frames} frames), red: last fit</text></svg>"
    )
    return "".join(parts)


class FigureCache:
    """PNG figures of the live page, rendered only when their data changed (the latest fit, the trend)."""

    def __init__(self, live: Path, enabled: bool = True) -> None:
        self.live, self.enabled = live, enabled
        self.keys: dict[str, Any] = {}

    def curve_svg(self, session: Any) -> str:
        st = session.samples.get(session.last_sample) if session.last_sample else None
        return curve_svg(st) if st is not None and st.curve is not None else ""

    def update(self, session: Any) -> list[str]:
        if not self.enabled:
            return []
        self.live.mkdir(parents=True, exist_ok=True)
        fitted = {n: st for n, st in session.samples.items() if st.fit is not None}
        latest = max(fitted.values(), key=lambda st: st.fitted_at or 0, default=None)
        names = []
        if latest is not None:
            key = (latest.name, latest.fitted_at)
            if self.keys.get("distribution.png") != key:
                _distribution(latest, self.live / "distribution.png")
                self.keys["distribution.png"] = key
            names.append("distribution.png")
        axis = session.cfg.series
        where = {s.name: _axis_value(s, i, axis.axis) for i, s in enumerate(session.cfg.samples)}
        pts = sorted(
            (where[n], st.fit["peak_radius_nm"])
            for n, st in fitted.items()
            if isinstance(where.get(n), (int, float)) and st.fit["peak_radius_nm"] is not None
        )
        if pts:
            if self.keys.get("trend.png") != pts:
                xlabel = f"{axis.label} / {axis.unit}" if axis.unit else axis.label
                _trend(pts, self.live / "trend.png", xlabel)
                self.keys["trend.png"] = pts
            names.append("trend.png")
        return names


def _distribution(st: Any, path: Path) -> None:
    from matplotlib.figure import Figure

    d = st.fit
    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    e = d["radius_edges_nm"]
    ax.bar(d["radius_centers_nm"], d["volume_fraction"], width=[b - a for a, b in zip(e[:-1], e[1:])])
    ax.set(
        xlabel="radius / nm", ylabel="volume fraction", title=f"{st.name}: live fit ({len(st.fitted_frames)} frames)"
    )
    _save(fig, path)


def _axis_value(sample: Any, index: int, axis: str) -> Any:
    """A sample's position on the series axis: its condition of that name, or its index for ``"index"``."""
    return index if axis == "index" else sample.conditions.get(axis)


def _trend(pts: list[tuple[float, float]], path: Path, xlabel: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    xs, ys = zip(*pts)
    ax.plot(xs, ys, "o-")
    ax.set(xlabel=xlabel, ylabel="peak radius / nm (live fits)", title="trend along the series")
    _save(fig, path)


def write_live_page(
    root: Path,
    name: str,
    status: dict[str, Any],
    status_line: str,
    latest: str | None,
    figures: list[str] | None = None,
    refresh_s: int = 2,
    live_svg: str = "",
) -> Path:
    """Write ``live/index.html`` and ``status.json`` into the output folder ``root`` (figures already rendered)."""
    import time

    import markupsafe

    live = root / "live"
    live.mkdir(parents=True, exist_ok=True)
    html = (
        _env()
        .from_string(_TEMPLATE)
        .render(
            name=name,
            status=status_line,
            latest=latest,
            figures=figures or [],
            rejected=status.get("rejected", []),
            refresh_s=int(refresh_s),
            updated=time.strftime("%H:%M:%S"),
            svg=markupsafe.Markup(live_svg),
        )
    )
    page = live / "index.html"
    with atomic_path(page) as tmp:
        Path(tmp).write_text(html)
    with atomic_path(live / "status.json") as tmp:
        Path(tmp).write_text(
            json.dumps(jsonable(status), indent=1, allow_nan=False)
        )  # NaN (e.g. no refit test yet) -> null
    return page
