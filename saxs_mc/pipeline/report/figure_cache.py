"""PNG figures memoized by the content they show, keyed also by the code that draws them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saxs_mc.io.atomic import atomic_path

from .plotting import is_png, png_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

log = logging.getLogger("saxs_mc.pipeline.report")

#: the drawing code: a change to any of these modules redraws every cached figure
_DRAWING_MODULES = ("plotting.py", "series_figures.py", "page_figures.py")
_CODE_DIGEST = hashlib.sha256(b"".join((Path(__file__).parent / m).read_bytes() for m in _DRAWING_MODULES)).hexdigest()


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
