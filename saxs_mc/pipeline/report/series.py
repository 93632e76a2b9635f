"""The whole run as the report shows it, and its ``summary.json`` document."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from saxs_mc.io.atomic import jsonable
from saxs_mc.models.optical import msc_family_sizes

from ..config import PopulationWindow, ReadoutConfig
from ..readout import SeriesReadout
from .axis import DEFAULT_AXIS, SeriesAxis
from .families import DISAGREE_N_SIGMA, DISAGREE_RULE
from .records import BlankSummary, Mesophase
from .sample import SampleSummary


@dataclasses.dataclass(frozen=True, repr=False)
class SeriesSummary:
    """The whole run as the report shows it."""

    name: str
    description: str
    source: str
    populations: tuple[PopulationWindow, ...]
    rule: ReadoutConfig
    bin_scale: str
    samples: tuple[SampleSummary, ...]
    blanks: tuple[BlankSummary, ...]
    mesophase: Mesophase | None
    readout: SeriesReadout
    failures: tuple[dict[str, Any], ...]
    calibration: str | None
    axis: SeriesAxis = SeriesAxis.from_key(DEFAULT_AXIS)
    contrast: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"SeriesSummary({self.name!r}, {len(self.samples)} samples, {len(self.blanks)} blanks, "
            f"axis={self.axis.key!r}, {len(self.failures)} failures)"
        )

    @property
    def has_families(self) -> bool:
        """Magic-size families configured: the family table, Yu columns and the growth read-out apply."""
        return any(w.family_radius_nm is not None for w in self.populations)

    @property
    def show_mesophase(self) -> bool:
        """The mesophase section applies: blanks at >= 2 distinct temperatures and a mesophase result."""
        temps = {b.temperature_C for b in self.blanks if b.temperature_C is not None and math.isfinite(b.temperature_C)}
        return len(temps) >= 2 and self.mesophase is not None

    @property
    def has_peaks(self) -> bool:
        """A Bragg-peak search ran on the samples."""
        return any(s.n_peaks is not None for s in self.samples)

    @property
    def families(self) -> list[dict[str, Any]]:
        """The configured MSC families: SAXS radius/diameter vs the optical (Yu) diameter of their peak."""
        return [
            {"name": w.name, "label": w.display, **msc_family_sizes(w.family_radius_nm, w.absorption_nm)}
            for w in self.populations
            if w.family_radius_nm is not None
        ]

    def document(self, provenance: dict[str, Any]) -> dict[str, Any]:
        """The ``summary.json`` document (JSON-safe)."""
        from saxs_mc import __version__

        r = self.rule
        return jsonable(
            {
                "pipeline": self.name,
                "config": self.source,
                "saxs_mc": __version__,
                "populations": [
                    {
                        "name": w.name,
                        "label": w.label,
                        "r_min_nm": w.r_min_nm,
                        "r_max_nm": w.r_max_nm if math.isfinite(w.r_max_nm) else None,
                        "family_radius_nm": w.family_radius_nm,
                        "absorption_nm": w.absorption_nm,
                    }
                    for w in self.populations
                ],
                "families": self.families,
                "readout_rule": {
                    "mode_tolerance_nm": r.mode_tolerance_nm,
                    "min_family_fraction": r.min_family_fraction,
                    "min_mode_height": r.min_mode_height,
                    "shoulder_shift_fraction": r.shoulder_shift_fraction,
                    "shoulder_min_fraction": r.shoulder_min_fraction,
                    "shoulder_n_sigma": r.shoulder_n_sigma,
                    "shoulder_min_share": r.shoulder_min_share,
                    "disagreement_n_sigma": DISAGREE_N_SIGMA,
                    "disagreement_rule": DISAGREE_RULE,
                },
                "series_axis": {"key": self.axis.key, "label": self.axis.label, "unit": self.axis.unit},
                "contrast": self.contrast,
                "samples": [s.row() for s in self.samples],
                "blanks": [b.row() for b in self.blanks],
                "mesophase": (self.mesophase.fields or None) if self.mesophase is not None else None,
                "readout": self.readout.summary(),
                "failures": list(self.failures),
                "provenance": provenance,
            }
        )
