"""The series axis of a report: which condition the samples run along, its label and unit, each sample's conditions.

A sample's conditions are a table of free keys with the unit in the key name
(``nucleation_temperature_C``, ``time_s``, ``flow_rate_ml_min``).  The report
reads them from the sample's reduce-step manifest (``settings["metadata"]``:
``{"conditions": {...}, "series_axis": "<key>", "stack": ..., "time_point": ...}``),
falling back to the legacy top-level keys of older manifests and then to the
configuration, so outputs written before conditions existed still render.

Examples
--------
>>> axis_label_unit("flow_rate_ml_min")
('flow rate', 'ml/min')
>>> SeriesAxis.from_key("time_s").text
'time (s)'
>>> SeriesAxis.from_key("nucleation_temperature_C").format(190.0)
'190 °C'
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("saxs_mc.pipeline.report")

#: condition keys of the CdSe nucleation study (attributes of older configs, top-level keys of older manifests)
LEGACY_KEYS = ("nucleation_temperature_C", "growth_temperature_C", "reaction_time_s")
#: the axis of outputs that record none
DEFAULT_AXIS = "nucleation_temperature_C"
#: the axis when no numeric condition is shared: the samples' order in the configuration
INDEX_AXIS = "index"

#: unit suffixes of condition keys (the longest match wins)
UNIT_SUFFIXES = {
    "_C": "°C",
    "_K": "K",
    "_s": "s",
    "_ms": "ms",
    "_min": "min",
    "_h": "h",
    "_ml_min": "ml/min",
    "_ul_min": "µl/min",
    "_ml_h": "ml/h",
    "_ml": "ml",
    "_ul": "µl",
    "_nm": "nm",
    "_um": "µm",
    "_mm": "mm",
    "_cm": "cm",
    "_m": "m",
    "_bar": "bar",
    "_mbar": "mbar",
    "_Pa": "Pa",
    "_kPa": "kPa",
    "_keV": "keV",
    "_eV": "eV",
    "_M": "M",
    "_mM": "mM",
    "_uM": "µM",
    "_g_l": "g/l",
    "_mg_ml": "mg/ml",
    "_pct": "%",
    "_percent": "%",
    "_rpm": "rpm",
    "_deg": "°",
    "_V": "V",
    "_mA": "mA",
}


def axis_label_unit(key: str) -> tuple[str, str]:
    """Label and unit of a condition key from its unit suffix (``"time_s"`` -> ``("time", "s")``).

    A key without a known suffix is its own label with no unit; :data:`INDEX_AXIS` is the sample index.
    """
    if key == INDEX_AXIS:
        return "sample index (configuration order)", ""
    for suffix in sorted(UNIT_SUFFIXES, key=len, reverse=True):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)].replace("_", " "), UNIT_SUFFIXES[suffix]
    return key, ""


@dataclasses.dataclass(frozen=True)
class SeriesAxis:
    """The condition the samples run along: its key, label and unit (plain text; escaped where shown)."""

    key: str
    label: str
    unit: str

    @classmethod
    def from_key(cls, key: str) -> SeriesAxis:
        return cls(key, *axis_label_unit(key))

    @property
    def text(self) -> str:
        """``"label (unit)"``, or the label alone without a unit."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def short_unit(self) -> str:
        """The unit as written after a number in read-out sentences (``"C"`` for degrees Celsius)."""
        return "C" if self.unit == "°C" else self.unit

    def format(self, value: Any) -> str:
        """``"190 °C"``, ``"30 s"``, ``"#3"`` (index axis), ``"–"`` without a value."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        if self.key == INDEX_AXIS:
            return f"#{value:g}" if isinstance(value, (int, float)) else str(value)
        v = f"{value:g}" if isinstance(value, (int, float)) else str(value)
        return f"{v} {self.unit}" if self.unit else v


# ----------------------------------------------------------------------
# conditions
def _condition_value(v: Any) -> float | str | None:
    """A JSON condition value as float or str (None for anything else: lists, tables, null, NaN)."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, str):
        return v
    return None


def clean_conditions(raw: Any) -> dict[str, float | str]:
    """Only string keys with number or string values (a manifest is data, never trusted)."""
    if not isinstance(raw, Mapping):
        return {}
    out = {}
    for k, v in raw.items():
        val = _condition_value(v)
        if isinstance(k, str) and val is not None:
            out[k] = val
    return out


def manifest_metadata(root: Path, kind: str, name: str) -> dict[str, Any]:
    """``settings["metadata"]`` of ``steps/<kind>/<name>/manifest.json`` ({} when absent, unreadable or outside)."""
    from .model import inside

    p = inside(root, Path("steps") / kind / name / "manifest.json")
    if p is None or not p.is_file():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", p, exc)
        return {}
    settings = doc.get("settings") if isinstance(doc, dict) else None
    meta = settings.get("metadata") if isinstance(settings, dict) else None
    return meta if isinstance(meta, dict) else {}


@dataclasses.dataclass(frozen=True)
class Conditions:
    """One sample's conditions and where on the series it sits (from its manifest, else its configuration)."""

    values: dict[str, float | str]
    series_axis: str | None  # as recorded for the sample (None: not recorded)
    stack: str | None = None
    time_point: dict[str, Any] | None = None

    @property
    def legacy(self) -> bool:
        """True for samples of a nucleation-temperature study: their summary rows keep the CdSe study's
        three condition fields (None where absent), as before conditions existed."""
        return DEFAULT_AXIS in self.values


def sample_conditions(root: Path, s: Any) -> Conditions:
    """Conditions of configured sample ``s``: manifest metadata, legacy manifest keys, ``s.conditions``, legacy attributes."""
    meta = manifest_metadata(root, "reduce", s.name)
    values = clean_conditions(meta.get("conditions"))
    if not values:
        values = clean_conditions({k: meta[k] for k in LEGACY_KEYS if k in meta})
    if not values:
        values = clean_conditions(getattr(s, "conditions", None))
    if not values:
        values = clean_conditions({k: getattr(s, k) for k in LEGACY_KEYS if hasattr(s, k)})
    axis = meta.get("series_axis")
    stack = meta.get("stack", getattr(s, "stack", None))
    tp = meta.get("time_point", getattr(s, "time_point", None))
    return Conditions(
        values,
        axis if isinstance(axis, str) and axis else None,
        stack if isinstance(stack, str) else None,
        tp if isinstance(tp, dict) else None,
    )


def blank_conditions(root: Path, b: Any) -> dict[str, float | str]:
    """Conditions of a configured blank (manifest, else ``b.conditions``, else its ``temperature_C``)."""
    meta = manifest_metadata(root, "reduce", b.name)
    values = clean_conditions(meta.get("conditions"))
    if not values:
        values = clean_conditions(getattr(b, "conditions", None))
    if not values:
        values = clean_conditions({"temperature_C": getattr(b, "temperature_C", None)})
    return values


def resolve_axis(cfg: Any, conds: Sequence[Conditions]) -> SeriesAxis:
    """The series axis: the one the samples record, else ``cfg.series``, else the default rule of the config.

    Default rule (as the configuration's): ``nucleation_temperature_C`` when every sample has it, else the
    single numeric condition key every sample shares, else :data:`INDEX_AXIS`.
    """
    recorded = Counter(c.series_axis for c in conds if c.series_axis)
    key = recorded.most_common(1)[0][0] if recorded else None
    if len(recorded) > 1:
        log.warning("report: samples record different series axes %s; plotting against %r", dict(recorded), key)
    series = getattr(cfg, "series", None)
    cfg_axis = getattr(series, "axis", None)
    if key is None and isinstance(cfg_axis, str):
        key = cfg_axis
    if key is None:
        shared = [
            k for k in (conds[0].values if conds else {}) if all(isinstance(c.values.get(k), float) for c in conds)
        ]
        key = DEFAULT_AXIS if DEFAULT_AXIS in shared or not conds else shared[0] if len(shared) == 1 else INDEX_AXIS
    ax = SeriesAxis.from_key(key)
    if cfg_axis == key:  # the configuration's own label and unit
        label, unit = getattr(series, "label", None), getattr(series, "unit", None)
        ax = SeriesAxis(
            key, label if isinstance(label, str) and label else ax.label, unit if isinstance(unit, str) else ax.unit
        )
    return ax


def axis_value(axis: SeriesAxis, c: Conditions, index: int) -> float | None:
    """Where a sample sits on the axis (its position in the configuration for :data:`INDEX_AXIS`)."""
    if axis.key == INDEX_AXIS:
        return float(index)
    v = c.values.get(axis.key)
    return v if isinstance(v, float) else None
