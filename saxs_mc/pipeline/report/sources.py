"""Reading step outputs for the report: data, never code, never outside the output folder.

Every path a step result names is resolved (following links) inside the output folder;
one that leaves it is refused with a warning.  JSON values are read field by field
(:func:`_num`, :func:`_floats`), so a malformed file degrades to "unknown", never to an error.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.curves import Curve

log = logging.getLogger("saxs_mc.pipeline.report")

_OK = ("done", "cached")


def inside(root: Path, rel: Any) -> Path | None:
    """``root / rel`` if it resolves (following links) inside ``root``; None (and a warning) otherwise."""
    if not rel or not isinstance(rel, (str, Path)):
        return None
    p = (root / rel).resolve()
    base = root.resolve()
    if p != base and base not in p.parents:
        log.warning("report: %r resolves to %s, outside the output folder %s; not read", str(rel), p, base)
        return None
    return p


def _load_json(root: Path, rel: Any) -> dict[str, Any] | None:
    p = inside(root, rel)
    if p is None:
        return None
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", rel, exc)
        return None
    return d if isinstance(d, dict) else None


def _load_curve(root: Path, rel: Any) -> Curve | None:
    p = inside(root, rel)
    if p is None:
        return None
    try:
        from saxs_mc.io.curves import read_curve

        return read_curve(p)
    except Exception as exc:  # a bad file must not kill the report
        log.warning("cannot read curve %s: %s", rel, exc)
        return None


def _floats(values: Any) -> np.ndarray:
    """A float array from a JSON list (None, i.e. a non-finite value, becomes NaN)."""
    return np.asarray([np.nan if x is None else x for x in values], dtype=float)


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _result(outcomes: Mapping[str, Any], sid: str) -> dict[str, Any]:
    o = outcomes.get(sid)
    res = o.result if o is not None and o.status in _OK else None
    return res if isinstance(res, dict) else {}


def _status(outcomes: Mapping[str, Any], ids: Sequence[str]) -> tuple[str, str | None]:
    for sid in ids:
        o = outcomes.get(sid)
        if o is not None and o.status in ("failed", "skipped"):
            return "failed", f"{sid}: {o.error}"
    return "ok", None


def _outputs(res: Mapping[str, Any]) -> dict[str, str]:
    out = res.get("outputs")
    return {str(k): str(v) for k, v in out.items()} if isinstance(out, dict) else {}


def _nan(x: Any) -> float:
    v = _num(x)
    return math.nan if v is None else v
