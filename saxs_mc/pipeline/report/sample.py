"""One sample of the report's summary model and its ``summary.json`` row."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from saxs_mc.io.curves import Curve
from saxs_mc.models.optical import yu_equivalent_absorption_nm

from ..config import PopulationWindow
from ..readout import SampleState
from .axis import DEFAULT_AXIS, LEGACY_KEYS
from .families import family_columns, family_rows, optical_columns
from .records import Decomposition, FitDigest, FrameRow, OpticalPeak, OutputFile, PeakRow, volume_weighted_mean
from .sources import _num


def _twice(x: float | None) -> float | None:
    return 2.0 * x if x is not None else None


@dataclasses.dataclass(frozen=True, repr=False)
class SampleSummary:
    """Everything the report knows about one sample (row of ``summary.json``/``summary.csv``)."""

    name: str
    conditions: dict[str, float | str]
    blank: str | None
    status: str
    error: str | None
    state: SampleState
    fractions: dict[str, float | None]
    fractions_std: dict[str, float | None]
    dominant_radius_std_nm: float | None
    total_volume_fraction_std: float | None
    chi2_r: float | None
    n_frames: Any
    n_rejected: Any
    rejected_frames: tuple[str, ...]
    n_peaks: int | None
    digest: FitDigest | None
    curve: Curve | None
    raw_curve: Curve | None
    peaks: tuple[PeakRow, ...]
    frames: tuple[FrameRow, ...]
    files: tuple[OutputFile, ...]
    decomposition: Decomposition | None = None
    optical: tuple[OpticalPeak, ...] | None = None  # None: no spectrum named
    populations: tuple[PopulationWindow, ...] = ()
    series_axis: str = DEFAULT_AXIS
    series_value: float | None = None  # position on the series axis (None: the sample lacks that condition)
    stack: str | None = None  # the [[stacks]] entry a time point came from
    time_point: dict[str, Any] | None = None
    legacy_conditions: bool = True  # the row keeps the CdSe study's condition columns

    def __repr__(self) -> str:
        return (
            f"SampleSummary({self.name!r}, {self.series_axis}={self.series_value}, status={self.status!r}, "
            f"growth={self.state.state!r}, r_dom={self.state.dominant_radius_nm})"
        )

    @property
    def nucleation_temperature_C(self) -> float | None:
        return _num(self.conditions.get("nucleation_temperature_C"))

    @property
    def growth_temperature_C(self) -> float | None:
        return _num(self.conditions.get("growth_temperature_C"))

    @property
    def reaction_time_s(self) -> float | None:
        return _num(self.conditions.get("reaction_time_s"))

    @property
    def has_families(self) -> bool:
        """True when magic-size families are configured (family table, Yu columns and read-out apply)."""
        return any(w.family_radius_nm is not None for w in self.populations)

    @property
    def mean_radius(self) -> tuple[float | None, float | None]:
        """Volume-weighted mean radius (nm) of the MC distribution and its one-sigma uncertainty."""
        d = self.digest
        return (
            (None, None)
            if d is None
            else volume_weighted_mean(d.radius_centers_nm, d.volume_fraction, d.volume_fraction_std)
        )

    @property
    def bragg_area(self) -> tuple[float | None, float | None]:
        """Sum of the Bragg-peak areas of the sample's peaks step and its one-sigma uncertainty.

        (None, None) without a peaks step; (0, None) when it found no peak.
        """
        if self.n_peaks is None:
            return None, None
        areas = [p.area for p in self.peaks if p.area is not None]
        if not areas:
            return 0.0, None
        errs = [p.area_err for p in self.peaks if p.area is not None]
        known = [e for e in errs if e is not None]
        return float(sum(areas)), (math.sqrt(sum(e * e for e in known)) if len(known) == len(errs) else None)

    def row(self) -> dict[str, Any]:
        """The ``summary.json`` row (JSON-safe; uncertainties are one standard deviation)."""
        legacy = {k: self.conditions.get(k) for k in LEGACY_KEYS} if self.legacy_conditions else {}
        return {
            "sample": self.name,
            **legacy,
            "blank": self.blank,
            "status": self.status,
            **self._size_columns(),
            **self._fit_columns(),
            **self._frame_columns(),
            **family_columns(self),
            **optical_columns(self.optical),
            **self._series_columns(),
        }

    def _size_columns(self) -> dict[str, Any]:
        """Dominant radius/diameter (with the Yu absorption when families apply), modes and window fractions."""
        st, fams = self.state, self.has_families
        dom, std = st.dominant_radius_nm, self.dominant_radius_std_nm
        return {
            "dominant_radius_nm": dom,
            "dominant_radius_nm_std": std,
            "dominant_diameter_nm": _twice(dom),
            "dominant_diameter_nm_std": _twice(std),
            **({"yu_absorption_nm": yu_equivalent_absorption_nm(dom)} if fams else {}),
            "modes_nm": list(st.modes_nm),
            **({"modes_yu_absorption_nm": [yu_equivalent_absorption_nm(r) for r in st.modes_nm]} if fams else {}),
            **{f"fraction[{k}]": v for k, v in self.fractions.items()},
            **{f"fraction_std[{k}]": v for k, v in self.fractions_std.items()},
        }

    def _fit_columns(self) -> dict[str, Any]:
        """Total volume fraction (absolute or relative), chi2_r and the growth read-out."""
        st, d = self.state, self.digest
        return {
            "total_volume_fraction": d.total_volume_fraction if d is not None else None,
            "total_volume_fraction_std": self.total_volume_fraction_std,
            "volume_fraction_kind": None if d is None else ("absolute" if d.absolute else "relative"),
            "chi2_r": self.chi2_r,
            "chi2_r_std": d.chi2_r_std if d is not None else None,
            "growth": st.state,
            **(
                {"family": st.family, "family_label": st.family_label, "shoulders": list(st.shoulder_labels)}
                if self.has_families
                else {}
            ),
        }

    def _frame_columns(self) -> dict[str, Any]:
        """Frames, peaks and error, then the read-out basis and the fit's resolution limit."""
        return {
            "n_frames": self.n_frames,
            "n_rejected": self.n_rejected,
            "rejected_frames": list(self.rejected_frames),
            "n_peaks": self.n_peaks,
            "error": self.error,
            **({"readout_basis": self.state.basis} if self.has_families else {}),
            "resolvable_radius_nm": self.resolvable_radius_nm,
            "unresolved_volume_fraction": self.unresolved_volume_fraction,
        }

    def _series_columns(self) -> dict[str, Any]:
        """Columns added with the series axis: mean radius, Bragg-peak area, axis position and conditions."""
        mean, mean_sd = self.mean_radius
        bragg, bragg_sd = self.bragg_area
        return {
            "mean_radius_nm": mean,
            "mean_radius_nm_std": mean_sd,
            "bragg_peak_area": bragg,
            "bragg_peak_area_std": bragg_sd,
            "series_axis": self.series_axis,
            "series_value": self.series_value,
            "conditions": dict(self.conditions),
            **({"stack": self.stack} if self.stack is not None else {}),
        }

    @property
    def resolvable_radius_nm(self) -> float | None:
        """The Monte Carlo fit's resolvable radius (issue 15), from its digest."""
        return None if self.digest is None else _num(self.digest.raw.get("resolvable_radius_nm"))

    @property
    def unresolved_volume_fraction(self) -> float | None:
        return None if self.digest is None else _num(self.digest.raw.get("unresolved_volume_fraction"))

    def family_rows(self) -> list[dict[str, Any]]:
        """Per family: MC window share +- std, decomposition share +- std (or upper limit), disagreement flag,
        optical peak (wavelength, height) of the same family, SAXS diameter 2r and the Yu diameter."""
        return family_rows(self)
