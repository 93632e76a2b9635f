"""Shared drawing helpers of the report figures: Agg figures, PNG bytes, log axes, legends and markers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..config import PopulationWindow
    from .model import BlankSummary

Q_TICKS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def new_figure(
    width: float, height: float, *, layout: Literal["constrained", "compressed", "tight"] | None = "constrained"
) -> Figure:
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
    if not (
        isinstance(data, bytes)
        and data.startswith(PNG_SIGNATURE)
        and data[12:16] == b"IHDR"
        and data.endswith(b"IEND\xaeB`\x82")
    ):
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


def _temp(b: BlankSummary) -> str:
    return "no temperature" if b.temperature_C is None else f"{b.temperature_C:g} °C"
