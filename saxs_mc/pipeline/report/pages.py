"""HTML pages of the report, rendered with Jinja2 (autoescape on, undefined names are errors).

Every string from the configuration or the output folder (names, titles,
descriptions, errors, header values, file names) reaches the page through the
template's escaping; links are percent-encoded relative paths; figures are
embedded as ``data:image/png;base64`` URIs built here from PNG bytes checked by
:func:`.figures.is_png`, so no file content is ever pasted as markup.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from .figures import is_png

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


@dataclasses.dataclass(frozen=True)
class PngImage:
    """A figure for a page: verified PNG bytes, or None with the reason shown instead."""

    data: bytes | None
    alt: str

    def __repr__(self) -> str:
        return f"PngImage({self.alt!r}, {len(self.data) if self.data else 0} bytes)"

    @property
    def data_uri(self) -> str | None:
        """``data:image/png;base64,...`` (only base64 characters after the comma), None if not a PNG."""
        if not self.data or not is_png(self.data):
            return None
        return "data:image/png;base64," + base64.b64encode(self.data).decode("ascii")


def page_name(name: str) -> str:
    """File name (no suffix) of a sample/blank page: the name itself when it is a plain file name.

    Names with other characters (spaces, '/', markup, ...) get a readable slug plus a
    short hash, so a page can never be written outside its folder.
    """
    if _SAFE_NAME.fullmatch(name) and name not in (".", ".."):
        return name
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "_", name).strip("._")[:60] or "page"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def fmt(v: Any, nd: int = 3) -> str:
    """Numbers with ``nd`` decimals, lists joined by commas, None/NaN as an en dash (plain text)."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "–" if not math.isfinite(v) else f"{v:.{nd}f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x, nd) for x in v) or "–"
    return str(v)


def pm(v: Any, s: Any, nd: int = 3) -> str:
    """``v ± s`` (plain text), with enough decimals for one significant digit of ``s`` (at most 6).

    Just ``v`` (``nd`` decimals) without a finite positive uncertainty.
    """
    if not (isinstance(v, float) and math.isfinite(v) and isinstance(s, float) and math.isfinite(s) and s > 0):
        return fmt(v, nd)
    dec = min(max(nd, -math.floor(math.log10(s))), 6)
    return f"{v:.{dec}f} ± {s:.{dec}f}"


def pm_sci(v: Any, s: Any) -> str:
    """``(m ± sm)e<exp>`` for small or large values (e.g. volume fractions), plain text."""
    if not (isinstance(v, float) and math.isfinite(v) and v != 0):
        return fmt(v)
    exp = math.floor(math.log10(abs(v)))
    scale = 10.0**exp
    sm = s / scale if isinstance(s, float) and math.isfinite(s) else None
    return f"({pm(v / scale, sm, 2)})e{exp}" if sm else f"{v / scale:.3f}e{exp}"


def url(path: str) -> str:
    """Percent-encode a relative path for an ``href`` (keeps '/', never yields a scheme)."""
    return quote(str(path), safe="/")


@lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment (templates shipped in ``saxs_mc/pipeline/report/templates``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("saxs_mc.pipeline.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        fmt=fmt, pm=pm, pm_sci=pm_sci, url=url, page=page_name, tojson_pretty=lambda v: json.dumps(v, indent=1)
    )
    return env


def render(template: str, **context: Any) -> str:
    """Render one template of the package with ``context``."""
    return environment().get_template(template).render(**context)
