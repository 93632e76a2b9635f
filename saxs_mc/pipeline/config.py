"""Typed, versioned pipeline configuration (TOML, ``schema_version = 1``).

A pipeline configuration names the geometry (PONI, mask), the header
mapping, the normalization, the samples and blanks (frame globs with their
temperatures), how blanks are matched to samples, the reduction, fit and
peak settings, the population windows of the report, the output folder and
the execution engine.  See ``pipelines/template.toml`` for every key with
its meaning.

Rules
-----
- Unknown keys are errors at every level; the message gives the key path
  (``fit.contributons``), a "did you mean" suggestion and the valid keys.
- Units are part of key names (``radius_nm``, ``q_range_nm``,
  ``thickness_cm``, ``temperature_C``).
- Relative paths are relative to the configuration file.
- Everything is validated by :func:`load_config` before any work starts:
  globs that match nothing, missing PONI/mask files, a blank missing for a
  growth temperature, out-of-range values.
- Each setting is declared once (:mod:`saxs_mc._settings`): the library's
  settings types (:class:`~saxs_mc.reduce.ReductionSettings`,
  :class:`~saxs_mc.reduce.HeaderMap`, :class:`~saxs_mc.fit.settings.FitSettings`,
  :class:`~saxs_mc.peaks.settings.PeakSearchSettings`,
  :class:`~saxs_mc.families.spec.DecomposeSettings`) declare defaults, checks and
  hints, and the sections here re-use those declarations (``declared``); settings
  that exist only in the pipeline are declared on the section types below.
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from saxs_mc._settings import (
    Setting,
    declarations,
    declared,
    did_you_mean,
    non_negative,
    setting,
)
from saxs_mc._settings import between as _between
from saxs_mc._settings import pair as _pair_check
from saxs_mc._settings import positive as _positive_check
from saxs_mc.families.spec import DecomposeSettings
from saxs_mc.fit.settings import FitSettings
from saxs_mc.peaks.settings import PeakSearchSettings
from saxs_mc.reduce.settings import TABLE_FIELDS, HeaderMap, ReductionSettings, WaterReferenceSettings

SCHEMA_VERSION = 1

_REQUIRED = object()


class ConfigError(ValueError):
    """A configuration problem, with the file, the key path and the fix."""


# ----------------------------------------------------------------------
# typed sections
@dataclasses.dataclass(frozen=True)
class GeometryConfig:
    """Detector geometry: a pyFAI PONI file and an optional mask (1 = masked)."""

    poni: Path
    mask: Path | None


@dataclasses.dataclass(frozen=True)
class HeaderConfig:
    """Header key mapping (field of HeaderMap -> header key or None), ID02 defaults."""

    mapping: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.mapping)


@dataclasses.dataclass(frozen=True)
class WaterReferenceConfig:
    """Absolute calibration against water: factor = dsigma_1_cm / <I_water - I_empty>."""

    frames: tuple[str, ...]
    files: tuple[Path, ...]
    sources: tuple[str, ...]
    empty_cell_frames: tuple[str, ...]
    empty_cell_files: tuple[Path, ...]
    empty_cell_sources: tuple[str, ...]
    dsigma_1_cm: float = dataclasses.field(metadata=declared(WaterReferenceSettings, "dsigma_1_cm"))
    q_range_nm: tuple[float, float] = dataclasses.field(metadata=declared(WaterReferenceSettings, "q_range_nm"))


@dataclasses.dataclass(frozen=True)
class NormalizationConfig:
    """Thickness (None: from each frame's header) and absolute scale (declared in ReductionSettings).

    What each frame is divided by (``mode``, ``constant``, ``monitor_table``, ``table_columns``) is read
    from ``[normalization]`` too but lives in :class:`ReductionConfig` (the reducer's settings).
    """

    thickness_cm: float | None = dataclasses.field(metadata=declared(ReductionSettings, "thickness_cm"))
    calibration_factor: float | None = dataclasses.field(  # None: arbitrary units
        metadata=declared(ReductionSettings, "calibration_factor")
    )
    empty_cell_transmission: float | None = dataclasses.field(
        metadata=declared(ReductionSettings, "empty_cell_transmission")
    )
    water: WaterReferenceConfig | None = dataclasses.field()


@dataclasses.dataclass(frozen=True)
class ReductionConfig:
    """Azimuthal integration and frame rejection settings.

    The reducer's settings as the pipeline's steps receive them (``dataclasses.asdict``): every field
    re-uses the declaration of :class:`saxs_mc.reduce.ReductionSettings` (default, check, hint), no field
    has a default of its own.  ``[reduction]`` holds most of them; ``flip`` and ``mask_flip`` are read
    from ``[geometry]`` and ``normalization`` (key ``mode``), ``normalization_constant`` (key
    ``constant``), ``monitor_table`` and ``table_columns`` from ``[normalization]``.  ``q_range_nm`` is
    ``ReductionSettings.q_range`` in 1/nm.  ``npt`` None: one bin per pixel of radius.
    """

    npt: int | None = dataclasses.field(metadata=declared(ReductionSettings, "npt"))
    q_unit: str = dataclasses.field(metadata=declared(ReductionSettings, "q_unit"))
    error_model: str = dataclasses.field(metadata=declared(ReductionSettings, "error_model"))
    method: tuple[str, str, str] = dataclasses.field(metadata=declared(ReductionSettings, "method"))
    polarization_factor: float | None = dataclasses.field(metadata=declared(ReductionSettings, "polarization_factor"))
    reject_outliers: bool = dataclasses.field(metadata=declared(ReductionSettings, "reject_outliers"))
    reject_mad_threshold: float = dataclasses.field(metadata=declared(ReductionSettings, "reject_mad_threshold"))
    reject_min_rel_dev: float = dataclasses.field(metadata=declared(ReductionSettings, "reject_min_rel_dev"))
    nan_policy: str = dataclasses.field(metadata=declared(ReductionSettings, "nan_policy"))
    bad_frames: str = dataclasses.field(metadata=declared(ReductionSettings, "bad_frames"))
    q_range_nm: tuple[float, float] | None = dataclasses.field(metadata=declared(ReductionSettings, "q_range"))
    saturation: float | None = dataclasses.field(metadata=declared(ReductionSettings, "saturation"))
    flip: str | None = dataclasses.field(metadata=declared(ReductionSettings, "flip"))
    mask_flip: str | None = dataclasses.field(metadata=declared(ReductionSettings, "mask_flip"))
    normalization: str = dataclasses.field(metadata=declared(ReductionSettings, "normalization"))
    normalization_constant: float | None = dataclasses.field(
        metadata=declared(ReductionSettings, "normalization_constant")
    )
    monitor_table: str | None = dataclasses.field(metadata=declared(ReductionSettings, "monitor_table"))
    table_columns: tuple[tuple[str, str], ...] = dataclasses.field(
        metadata=declared(ReductionSettings, "table_columns")
    )


@dataclasses.dataclass(frozen=True)
class SampleConfig:
    """One sample (a reaction condition, or one time point of a stack): frames and its conditions.

    ``conditions`` holds free keys with the unit in the key name (``nucleation_temperature_C``,
    ``flow_rate_ml_min``, ``time_s``, ...).  A time point of a ``[[stacks]]`` entry is named
    ``<stack>_t<NNN>``, carries ``stack`` and ``time_point`` (:meth:`saxs_mc.series.TimePoint.summary`)
    and its window centre as ``conditions["time_s"]``.
    """

    name: str
    frames: tuple[str, ...]
    files: tuple[Path, ...]
    sources: tuple[str, ...]
    blank: str | None
    thickness_cm: float | None
    spectrum: Path | None = None  # absorbance spectrum (CSV/TXT) of this sample -> optical step
    conditions: dict[str, float | str] = dataclasses.field(default_factory=dict)
    stack: str | None = None
    time_point: dict[str, Any] | None = None

    @property
    def n_frames(self) -> int:
        if self.time_point is not None:
            return int(self.time_point["n_frames"])
        return len(self.files)

    # read-only views of the legacy CdSe keys (None when the sample has no such condition)
    @property
    def nucleation_temperature_C(self) -> Any:
        return self.conditions.get("nucleation_temperature_C")

    @property
    def growth_temperature_C(self) -> Any:
        return self.conditions.get("growth_temperature_C")

    @property
    def reaction_time_s(self) -> Any:
        return self.conditions.get("reaction_time_s")


@dataclasses.dataclass(frozen=True)
class BlankConfig:
    """A blank (e.g. the precursor at one temperature) with its conditions (legacy ``temperature_C`` folded in)."""

    name: str
    frames: tuple[str, ...]
    files: tuple[Path, ...]
    sources: tuple[str, ...]
    thickness_cm: float | None
    conditions: dict[str, float | str] = dataclasses.field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return len(self.files)

    @property
    def temperature_C(self) -> float | None:
        v = self.conditions.get("temperature_C")
        return v if isinstance(v, float) else None


@dataclasses.dataclass(frozen=True)
class BlankMatchingConfig:
    """How blanks are matched to samples (see :mod:`saxs_mc.pipeline.series_config`).

    ``by``: ``"auto"`` (explicit blank, else the only blank, else growth_temperature_C <-> temperature_C),
    ``"condition"`` (sample condition ``sample_key`` equal to blank condition ``blank_key`` within
    ``tolerance``), ``"temperature"`` (legacy: ``condition`` on growth_temperature_C <-> temperature_C) or
    ``"explicit"`` (every sample names its blank).
    """

    by: str
    tolerance: float
    scale: float
    sample_key: str | None = None
    blank_key: str | None = None

    @property
    def tolerance_C(self) -> float:  # the legacy name
        return self.tolerance


@dataclasses.dataclass(frozen=True)
class PopulationWindow:
    """A radius window of the report; ``family_radius_nm`` marks a magic-size family.

    ``label`` names the family in the read-out (MSC families are named by their
    first-exciton absorption peak, e.g. ``"CdSe-437"``); ``absorption_nm`` is
    that peak, whose optical (Yu et al. 2003) diameter the report shows next to
    the SAXS diameter ``2 family_radius_nm``.
    """

    name: str
    r_min_nm: float
    r_max_nm: float
    family_radius_nm: float | None
    label: str | None = None
    absorption_nm: float | None = None

    @property
    def display(self) -> str:
        """The label if given, else the name."""
        return self.label or self.name


#: the reference study's SAXS <-> optical correspondence: r = 0.87 / 0.94 / 1.02 nm (SAXS diameters
#: 1.74 / 1.88 / 2.04 nm) are the MSC families absorbing at 403 / 437 / 465 nm (Yu diameters 1.58 / 1.85 / 2.06 nm)
DEFAULT_POPULATIONS: tuple[PopulationWindow, ...] = (
    PopulationWindow("MSC r=0.87 nm", 0.83, 0.905, 0.87, "CdSe-403", 403.0),
    PopulationWindow("MSC r=0.94 nm", 0.905, 0.98, 0.94, "CdSe-437", 437.0),
    PopulationWindow("MSC r=1.02 nm", 0.98, 1.06, 1.02, "CdSe-465", 465.0),
    PopulationWindow("regular NCs (r>1.06 nm)", 1.06, math.inf, None),
)


#: the pipeline's base seed: each sample's fit seed is derived from it and the sample's name
_BASE_SEED = Setting(
    20201122, (int,), non_negative, doc="base seed; each sample's seed is derived from it and its name"
)
#: the pipeline's contrast (the library's ``contrast`` has no default: relative volume fractions)
_CONTRAST = Setting(
    34.65,
    (float,),
    _positive_check,
    optional=True,
    hint="the SLD difference in 1e-6 A^-2, or false for relative volume fractions",
    doc="SLD difference in 1e-6 A^-2 (default: CdSe in octadecene, the reference study); "
    "false: relative volume fractions",
)


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Monte Carlo sphere fit settings (passed to :func:`saxs_mc.fit.fit_curve`), declared in
    :class:`saxs_mc.fit.settings.FitSettings` (``bins`` is ``n_bins``); ``seed`` is the pipeline's base seed and
    ``contrast_1e6_A2`` the pipeline's contrast (CdSe in octadecene unless set; None: relative volume fractions)."""

    contributions: int = dataclasses.field(metadata=declared(FitSettings, "contributions"))
    repetitions: int = dataclasses.field(metadata=declared(FitSettings, "repetitions"))
    seed: int = dataclasses.field(metadata=declared(_BASE_SEED))
    q_range_nm: tuple[float, float] | None = dataclasses.field(metadata=declared(FitSettings, "q_range_nm"))
    r_range_nm: tuple[float, float] | None = dataclasses.field(metadata=declared(FitSettings, "r_range_nm"))
    contrast_1e6_A2: float | None = dataclasses.field(metadata=declared(_CONTRAST))
    bins: int = dataclasses.field(metadata=declared(FitSettings, "n_bins"))
    bin_scale: str = dataclasses.field(metadata=declared(FitSettings, "bin_scale"))
    populations: tuple[PopulationWindow, ...]
    exclude_bragg_peaks: bool = setting(
        False,
        kind=bool,
        doc="leave q within exclude_fwhm x FWHM of each Bragg peak found in the sample out of the fit "
        "(needs [peaks] samples = true)",
    )
    exclude_fwhm: float = setting(
        2.0, kind=(float,), check=_positive_check, doc="half-width of the excluded q interval around each peak, in FWHM"
    )


@dataclasses.dataclass(frozen=True)
class FamiliesConfig:
    """Family decomposition of every sample (:func:`saxs_mc.families.decompose`); the families are the
    population windows with a ``family_radius_nm`` (each a Gaussian of standard deviation ``sd_nm``).
    Declared in :class:`saxs_mc.families.spec.DecomposeSettings`."""

    sd_nm: float = dataclasses.field(metadata=declared(DecomposeSettings, "sd_nm"))
    continuous: bool = dataclasses.field(metadata=declared(DecomposeSettings, "continuous"))
    background: str = dataclasses.field(metadata=declared(DecomposeSettings, "background"))
    power_law_exponent: float | None = dataclasses.field(metadata=declared(DecomposeSettings, "power_law_exponent"))
    q_range_nm: tuple[float, float] | None = dataclasses.field(  # None: the fit's q range
        metadata=declared(DecomposeSettings, "q_range_nm")
    )
    selection: str = dataclasses.field(metadata=declared(DecomposeSettings, "selection"))


#: ``[families] enabled``: the table's presence turns the decomposition on, false turns it off
_FAMILIES_ENABLED = Setting(True, (bool,), doc="false turns the decomposition off")


_FRACTION = _between(0, 1, open_lo=True)


@dataclasses.dataclass(frozen=True)
class ReadoutConfig:
    """Rule parameters of the quantized/continuous growth read-out (see :mod:`saxs_mc.pipeline.readout`)."""

    mode_tolerance_nm: float = setting(
        0.035, kind=float, check=_positive_check, doc="dominant mode within this of a family radius ..."
    )
    min_family_fraction: float = setting(
        0.5, kind=float, check=_FRACTION, doc="... and at least this share of the volume in the family windows"
    )
    min_mode_height: float = setting(
        0.25, kind=float, check=_FRACTION, doc="modes: local maxima >= this fraction of the highest bin"
    )
    shoulder_shift_fraction: float = setting(
        0.3, kind=float, check=_FRACTION, doc="dominant mode displaced this far towards a neighbour family"
    )
    shoulder_min_fraction: float = setting(
        0.2, kind=float, check=_FRACTION, doc="another family window holding at least this share"
    )
    shoulder_n_sigma: float = setting(
        2.0,
        kind=float,
        check=non_negative,
        hint="standard deviations a shoulder family's share must stand above zero",
        doc="decomposition: a shoulder family's share - n_sigma * std > 0 ...",
    )
    shoulder_min_share: float = setting(0.1, kind=float, check=_between(0, 1), doc="... and share >= this")


#: ``[peaks]`` settings of the pipeline only (the search settings are PeakSearchSettings')
_PEAKS_Q_RANGE = Setting(
    None, (tuple,), _pair_check, optional=True, doc="q range of the search (1/nm); none: whole curve"
)
_PEAKS_SAMPLES = Setting(True, (bool,), doc="also search the blank-subtracted samples")


@dataclasses.dataclass(frozen=True)
class PeaksConfig:
    """Bragg-peak search settings (passed to :func:`saxs_mc.peaks.find_peaks`; declared in
    :class:`saxs_mc.peaks.settings.PeakSearchSettings`); ``samples``: also search the subtracted samples."""

    q_range_nm: tuple[float, float] | None = dataclasses.field(metadata=declared(_PEAKS_Q_RANGE))
    profile: str = dataclasses.field(metadata=declared(PeakSearchSettings, "profile"))
    min_significance: float = dataclasses.field(metadata=declared(PeakSearchSettings, "min_significance"))
    samples: bool = dataclasses.field(metadata=declared(_PEAKS_SAMPLES))


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    """Output folder (relative paths are relative to the config file) and whether the report has figures."""

    dir: Path = setting(kind=str, doc="output folder; default: ../results/<name> next to the config's folder")
    figures: bool = setting(True, kind=bool, doc="false: report without figures (faster quick looks)")


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
    """Where the work runs: a dask scheduler address, or local processes."""

    scheduler: str | None = setting(None, kind=str, doc="address of a dask.distributed scheduler; none: local")
    n_workers: int = setting(
        0,
        kind=int,
        check=non_negative,
        hint="0: all cores",
        doc="local processes; 0 = all cores, 1 = serial (one step at a time)",
    )


@dataclasses.dataclass(frozen=True)
class SeriesConfig:
    """The axis a series runs along: a condition key (``[series] axis``) or ``"index"`` (sample order)."""

    axis: str
    label: str
    unit: str


@dataclasses.dataclass(frozen=True)
class MaterialConfig:
    """Particle/solvent X-ray contrast (``[material]``); it sets ``cfg.fit.contrast_1e6_A2``.

    ``source``: ``"number"`` (given), ``"preset"`` (preset names) or ``"formula"`` (a formula and density);
    ``details``: :meth:`saxs_mc.models.materials.Contrast.summary` (SLDs, densities, energy, library version)
    for provenance, empty for a given number.
    """

    contrast_1e6_A2: float
    particle: str | None
    solvent: str | None
    energy_keV: float | None
    source: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe record for provenance and the report."""
        return {
            "contrast_1e6_A2": self.contrast_1e6_A2,
            "particle": self.particle,
            "solvent": self.solvent,
            "energy_keV": self.energy_keV,
            "source": self.source,
            "details": self.details,
        }

    def report(self) -> str:
        """One line for logs and the report."""
        what = "given" if self.source == "number" else f"{self.particle} in {self.solvent} at {self.energy_keV:.4g} keV"
        return f"X-ray contrast {self.contrast_1e6_A2:.4g}e-6 A^-2 ({what})"


@dataclasses.dataclass(frozen=True)
class StackConfig:
    """One ``[[stacks]]`` entry: a frame stack grouped into time points (``grouping``: summary of the grouping)."""

    name: str
    frames: str
    source: str
    blank: str | None
    conditions: dict[str, float | str]
    grouping: dict[str, Any]
    n_frames: int
    n_time_points: int


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A validated pipeline configuration (see :func:`load_config`)."""

    source: Path
    schema_version: int
    name: str
    description: str
    geometry: GeometryConfig
    header: HeaderConfig
    normalization: NormalizationConfig
    reduction: ReductionConfig
    samples: tuple[SampleConfig, ...]
    blanks: tuple[BlankConfig, ...]
    blank_matching: BlankMatchingConfig
    fit: FitConfig
    readout: ReadoutConfig
    peaks: PeaksConfig
    output: OutputConfig
    execution: ExecutionConfig
    families: FamiliesConfig | None = None  # None: no [families] table, no decomposition step
    series: SeriesConfig = SeriesConfig("index", "sample", "")
    material: MaterialConfig | None = None  # None: contrast from [fit] contrast_1e6_A2
    stacks: tuple[StackConfig, ...] = ()

    def blank_for(self, sample: SampleConfig) -> BlankConfig:
        """The blank subtracted from ``sample`` (validated at load time)."""
        return _match_blank(self, sample)

    def blank_by_name(self, name: str) -> BlankConfig:
        for b in self.blanks:
            if b.name == name:
                return b
        raise KeyError(name)


# ----------------------------------------------------------------------
# strict table reader
class _Table:
    """Reads keys of one TOML table, remembering every valid key."""

    def __init__(self, table: Any, path: str, source: Path, problems: list[ConfigError] | None = None):
        self.source = source
        self.path = path
        self.problems = [] if problems is None else problems  # value problems, all reported together
        if not isinstance(table, dict):
            raise self.error(f"must be a table, got {type(table).__name__} {table!r}")
        self.table = table
        self.known: list[str] = []

    def key(self, k: str) -> str:
        return f"{self.path}.{k}" if self.path else k

    def error(self, msg: str, key: str | None = None) -> ConfigError:
        where = self.key(key) if key is not None else (self.path or "<top level>")
        return ConfigError(f"{self.source}: {where}: {msg}")

    def get(
        self,
        k: str,
        kind: type | tuple[type, ...],
        default: Any = _REQUIRED,
        check: Callable[[Any], str | None] | None = None,
        hint: str = "",
    ) -> Any:
        self.known.append(k)
        if k not in self.table:
            if default is _REQUIRED:
                raise self.error(f"required key is missing{_typo(k, self.table)}{'; ' + hint if hint else ''}", k)
            return default
        v = self.table[k]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
            names = " or ".join(t.__name__ for t in kinds)
            raise self.error(f"expected {names}, got {type(v).__name__} {v!r}{'; ' + hint if hint else ''}", k)
        if isinstance(v, float) and not math.isfinite(v):
            raise self.error(f"value {v!r} is not finite", k)
        if check is not None:
            msg = check(v)
            if msg:  # the type is right: note the problem, go on to find the others
                self.problems.append(self.error(f"{v!r}: {msg}", k))
        return v

    def read(self, k: str, decl: Setting, default: Any = dataclasses.MISSING, kind: type | None = None) -> Any:
        """Key ``k`` as declared: its default, types, finiteness and check; ``false`` is None for an optional
        non-bool setting.  Every problem is noted (the default stands in) so all are reported together.
        ``kind`` replaces the declared types by a TOML form of its own (e.g. a table for pairs)."""
        self.known.append(k)
        default = decl.default if default is dataclasses.MISSING else default
        if k not in self.table:
            if default is dataclasses.MISSING:
                raise self.error(f"required key is missing{_typo(k, self.table)}{_hint(decl)}", k)
            return default
        v = self.table[k]
        if v is False and decl.optional and bool not in decl.kind:
            return None
        msg = decl.problem(v) if kind is None else _kind_problem(v, kind)
        if msg and msg.startswith("expected"):  # wrong type: the default stands in
            self.problems.append(self.error(f"{msg} {v!r}{_hint(decl) if decl.hint not in msg else ''}", k))
            return default
        if msg:
            self.problems.append(self.error(f"{v!r}: {msg}", k))
        return v if msg else _as_declared(v, decl)

    def read_all(self, cls: Any, names: list[str] | None = None, **defaults: Any) -> dict[str, Any]:
        """Every declared field of ``cls`` (or only ``names``) read from keys of the same name."""
        decl = declarations(cls)
        return {n: self.read(n, decl[n], defaults.get(n, dataclasses.MISSING)) for n in (names or list(decl))}

    def sub(self, k: str, default_empty: bool = True) -> _Table:
        self.known.append(k)
        if k not in self.table:
            if default_empty:
                return _Table({}, self.key(k), self.source, self.problems)
            raise self.error("required table is missing", k)
        return _Table(self.table[k], self.key(k), self.source, self.problems)

    def array_of_tables(self, k: str, required: bool = True, hint: str = "") -> list[_Table]:
        self.known.append(k)
        if k not in self.table:
            if required:
                raise self.error(
                    f"required array of tables [[{self.key(k)}]] is missing{'; ' + hint if hint else ''}", k
                )
            return []
        v = self.table[k]
        if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
            raise self.error(f"must be an array of tables ([[{self.key(k)}]] sections)", k)
        return [_Table(t, f"{self.key(k)}[{i}]", self.source, self.problems) for i, t in enumerate(v)]

    def finish(self) -> None:
        unknown = [k for k in self.table if k not in self.known]
        if unknown:
            k = unknown[0]
            raise self.error(
                f"unknown key{did_you_mean(k, self.known)}; valid keys here: {', '.join(sorted(set(self.known)))}", k
            )


def _hint(decl: Setting) -> str:
    return f"; {decl.hint}" if decl.hint else ""


def _kind_problem(v: Any, kind: type) -> str | None:
    return None if isinstance(v, kind) else f"expected {kind.__name__}, got {type(v).__name__}"


def _as_declared(v: Any, decl: Setting) -> Any:
    """A TOML value in the declared type: an int where only float is declared is a float, a list a tuple."""
    if isinstance(v, int) and not isinstance(v, bool) and float in decl.kind and int not in decl.kind:
        return float(v)
    if isinstance(v, list) and tuple in decl.kind:  # pairs of numbers are floats, as in the library types
        return tuple(float(x) if isinstance(x, int) and not isinstance(x, bool) else x for x in v)
    return v


def _typo(k: str, table: dict) -> str:
    """`` (found 'x': a typo?)`` for a key of ``table`` close to the missing ``k``."""
    typo = difflib.get_close_matches(k, [str(x) for x in table], n=1, cutoff=0.6)
    return f" (found '{typo[0]}': a typo?)" if typo else ""


_positive = _positive_check
_non_negative = non_negative
_range_check = _pair_check


def _pair(v: list | None) -> tuple[float, float] | None:
    if v is None or _range_check(v):  # an invalid pair is already noted as a problem
        return None
    return float(v[0]), float(v[1])


#: longest sample/blank/pipeline name (it names folders and files, and appears in file names with suffixes)
MAX_NAME_LENGTH = 100


def _name_check(v: str) -> str | None:
    if not v or v.strip() != v or any(c in v for c in '/\\:*?"<>|') or v.startswith("."):
        return "must be a non-empty name without path separators, wildcards or leading dot (used as a folder name)"
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        return "contains a control character (e.g. NUL); use letters, digits, '_', '-' (it names a folder)"
    if len(v) > MAX_NAME_LENGTH:
        return f"is {len(v)} characters long; use at most {MAX_NAME_LENGTH} (it names folders and files)"
    return None


def _resolve(base: Path, p: str) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else (base / path)


def _datasets_in(fh: Any, min_ndim: int) -> list[str]:
    from .series_config import datasets_in

    return datasets_in(fh, min_ndim)


def _check_datasets(t: _Table, key: str, pat: str, files: list[Path], dset: str) -> None:
    """Every HDF5 file of ``file.h5::/dataset[idx]`` must hold the dataset (checked before any work)."""
    import h5py

    path = dset.split("[", 1)[0]
    if not path:
        raise t.error(f"pattern {pat!r}: give the dataset after '::', e.g. 'stack.h5::/entry/data/data'", key)
    from saxs_mc.io.frames import expand_sources

    for f in files:
        try:
            with h5py.File(f, "r") as h:
                obj = h.get(path)
                ok = isinstance(obj, h5py.Dataset) and obj.ndim >= 2
                found = [] if ok else _datasets_in(h, 2)
        except OSError as exc:
            raise t.error(f"pattern {pat!r}: {f} is not a readable HDF5 file ({exc})", key) from None
        if not ok:
            raise t.error(
                f"pattern {pat!r}: {f} has no 2D/3D dataset {path!r}; 2D/3D datasets in the file: "
                f"{found if found else 'none'} (h5ls -r {f.name})",
                key,
            )
        try:  # the frame selection [i], [a:b], [i,j] must exist in the dataset's shape
            expand_sources([f"{f}::{dset}"])
        except ValueError as exc:
            t.problems.append(t.error(f"pattern {pat!r}: {exc}", key))


import contextlib  # noqa: E402  (kept next to the live-mode option, a local edit)
import contextvars  # noqa: E402
from collections.abc import Iterator  # noqa: E402

#: True while :func:`allow_unmatched_globs` is active: a frame glob matching nothing yet is kept (``saxs-mc watch``)
_ALLOW_UNMATCHED = contextvars.ContextVar("saxs_mc_allow_unmatched_globs", default=False)


@contextlib.contextmanager
def allow_unmatched_globs() -> Iterator[None]:
    """Within this block, :func:`load_config` accepts frame globs that match no file yet (live mode)."""
    token = _ALLOW_UNMATCHED.set(True)
    try:
        yield
    finally:
        _ALLOW_UNMATCHED.reset(token)


def _expand_frames(t: _Table, key: str, base: Path) -> tuple[tuple[str, ...], tuple[Path, ...], tuple[str, ...]]:
    """Frame patterns (str or list of str) -> (patterns, sorted unique files, reducer sources).

    A pattern may be a glob or ``file.h5::/dataset[...]`` (an HDF5 stack); for
    the latter the file part is globbed and the dataset selection is kept in
    the source handed to the reducer.
    """
    raw = t.get(key, (str, list), hint="give a glob such as 'data/nuc190C/*.edf' or a list of globs")
    patterns = [raw] if isinstance(raw, str) else raw
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise t.error("must be a non-empty glob string or a list of non-empty glob strings", key)
    files: list[Path] = []
    sources: list[str] = []
    for pat in patterns:
        file_part, sep, dset = pat.partition("::")
        full = _resolve(base, file_part)
        matches = sorted(Path(m).resolve() for m in glob.glob(str(full), recursive=True))
        matches = [m for m in matches if m.is_file()]
        if not matches and _ALLOW_UNMATCHED.get():
            continue
        if not matches:
            raise t.error(
                f"pattern {pat!r} (resolved to {os.path.normpath(full)}) matches no file; paths are relative to the "
                f"config file's folder {base}; fix the pattern or the data location",
                key,
            )
        if sep:
            _check_datasets(t, key, pat, matches, dset)
        files.extend(matches)
        sources.extend(f"{m}::{dset}" if sep else str(m) for m in matches)
    return tuple(patterns), tuple(dict.fromkeys(files)), tuple(dict.fromkeys(sources))


# ----------------------------------------------------------------------
def _absorption_check(v: float) -> str | None:
    from saxs_mc.models.optical import YU_ABSORPTION_RANGE_NM

    lo, hi = YU_ABSORPTION_RANGE_NM
    if not lo <= v <= hi:
        return (
            f"must be a first-exciton wavelength inside the Yu et al. (2003) sizing range {lo:g}-{hi:g} nm "
            "(e.g. 437 for CdSe-437)"
        )
    return None


def _parse_populations(tables: list[_Table]) -> tuple[PopulationWindow, ...]:
    out = []
    for t in tables:
        name = t.get("name", str)
        lo = t.get("r_min_nm", float, check=_non_negative)
        hi = t.get("r_max_nm", float, default=math.inf)
        fam = t.get("family_radius_nm", float, default=None, check=_positive)
        label = t.get(
            "label",
            str,
            default=None,
            check=lambda v: None if v.strip() else "must not be empty (omit it to use the name)",
        )
        lam = t.get("absorption_nm", float, default=None, check=_absorption_check)
        t.finish()
        if lam is not None and fam is None:
            raise t.error(
                f"absorption_nm={lam} given for a window without family_radius_nm; set family_radius_nm "
                "(the SAXS radius of that family) or drop absorption_nm",
                "absorption_nm",
            )
        if not lo < hi:
            raise t.error(f"r_min_nm={lo} must be < r_max_nm={hi}", "r_max_nm")
        if fam is not None and not lo <= fam < hi:
            raise t.error(
                f"family_radius_nm={fam} must lie inside [r_min_nm, r_max_nm) = [{lo}, {hi})", "family_radius_nm"
            )
        out.append(PopulationWindow(name, lo, hi, fam, label, lam))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{tables[0].source}: fit.populations: names must be unique, got {names}")
    return tuple(out)


def _spectrum_path(t: _Table, base: Path) -> Path | None:
    """``spectrum = "file.csv"`` of a sample: an absorbance spectrum that must exist (read by the optical step)."""
    raw = t.get(
        "spectrum",
        str,
        default=None,
        hint="give the path of a CSV/TXT absorbance spectrum (wavelength in nm, absorbance)",
    )
    if raw is None:
        return None
    p = _resolve(base, raw).resolve()
    if not p.is_file():
        t.problems.append(
            t.error(
                f"absorbance spectrum {raw!r} (resolved to {p}) does not exist; paths are "
                f"relative to {base}; fix the path or drop the key",
                "spectrum",
            )
        )
        return None
    return p


def _parse_families(top: _Table, fit: FitConfig) -> FamiliesConfig | None:
    """The optional ``[families]`` table (family decomposition); None when absent or ``enabled = false``."""
    present = "families" in top.table
    ft = top.sub("families")
    enabled = ft.read("enabled", _FAMILIES_ENABLED)
    cfg = FamiliesConfig(**ft.read_all(FamiliesConfig))
    ft.finish()
    if not (present and enabled):
        return None
    _check_family_windows(ft, fit, cfg)
    return cfg


def _check_family_windows(ft: _Table, fit: FitConfig, cfg: FamiliesConfig) -> None:
    """The families (windows with a family_radius_nm) exist and are at least 2 sd_nm apart."""
    fams = sorted(
        (w for w in fit.populations if w.family_radius_nm is not None), key=lambda w: cast(float, w.family_radius_nm)
    )
    if not fams:
        raise ft.error(
            "no population window has a family_radius_nm: declare the families as [[fit.populations]] "
            "with family_radius_nm (see pipelines/template.toml) or drop [families]"
        )
    for a, b in zip(fams, fams[1:]):
        if cast(float, b.family_radius_nm) - cast(float, a.family_radius_nm) < 2.0 * cfg.sd_nm:
            raise ft.error(
                f"families {a.display!r} (r = {a.family_radius_nm:g} nm) and {b.display!r} "
                f"(r = {b.family_radius_nm:g} nm) are closer than 2 sd_nm = {2 * cfg.sd_nm:g} nm: the "
                "decomposition cannot separate them; lower sd_nm or merge the windows",
                "sd_nm",
            )


def _match_blank(cfg: PipelineConfig, sample: SampleConfig) -> BlankConfig:
    from .series_config import match_blank

    return match_blank(cfg, sample)


def load_config(path: str | Path) -> PipelineConfig:
    """Read and fully validate a pipeline configuration.

    Every problem with a value is reported in one :class:`ConfigError`
    (a missing key, a wrong type or a bad table structure stops at once).

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    PipelineConfig

    Raises
    ------
    ConfigError (a ValueError)
        On any problem, naming the file, the key path and the fix.
    FileNotFoundError
        If ``path`` itself does not exist.
    """
    problems: list[ConfigError] = []
    try:
        cfg = _load_config(path, problems)
    except ConfigError as exc:
        raise _combined(problems + [exc]) from None
    if problems:
        raise _combined(problems)
    return cfg


def _combined(problems: list[ConfigError]) -> ConfigError:
    msgs = list(dict.fromkeys(str(p) for p in problems))
    if len(msgs) == 1:
        return ConfigError(msgs[0])
    return ConfigError(f"{len(msgs)} problems in the configuration:\n  - " + "\n  - ".join(msgs))


def _load_config(path: str | Path, problems: list[ConfigError]) -> PipelineConfig:
    src, data = _read_toml(path)
    base = src.parent
    top = _Table(data, "", src, problems)
    version, name, description = _parse_top(top, src)
    geometry, flips = _parse_geometry(top, base)
    header = _parse_header(top)
    normalization, frame_norm = _parse_normalization(top, base)
    reduction = _parse_reduction(top, flips, frame_norm)
    # samples, blanks, stacks, blank matching, series axis, material (saxs_mc.pipeline.series_config)
    from .series_config import parse_series, series_problems

    ser = parse_series(top, base, geometry.poni)
    fit = _parse_fit(top, ser)
    readout = ReadoutConfig(**_read_section(top, "readout", ReadoutConfig))
    families = _parse_families(top, fit)
    peaks = PeaksConfig(**_read_section(top, "peaks", PeaksConfig))
    output = _parse_output(top, base, src, name)
    execution = _parse_execution(top)
    top.finish()

    cfg = PipelineConfig(
        source=src,
        schema_version=version,
        name=name,
        description=description,
        geometry=geometry,
        header=header,
        normalization=normalization,
        reduction=reduction,
        samples=ser.samples,
        blanks=ser.blanks,
        blank_matching=ser.blank_matching,
        fit=fit,
        readout=readout,
        peaks=peaks,
        output=output,
        execution=execution,
        families=families,
        series=ser.series,
        material=ser.material,
        stacks=ser.stacks,
    )
    problems.extend(series_problems(cfg))  # every sample has exactly one blank, ...
    return cfg


def declared_settings() -> dict[str, dict[str, Setting]]:
    """The declared settings of every table read from declarations: ``{table: {key: Setting}}``.

    ``tests/test_settings.py`` checks ``pipelines/template.toml`` against it (every key present, with its
    default) and that a configuration giving every key its default loads.
    """
    red, norm = declarations(ReductionConfig), declarations(NormalizationConfig)
    from_norm = {key: red[field] for key, field in _NORMALIZATION_KEYS.items()}
    elsewhere = {"flip", "mask_flip", *_NORMALIZATION_KEYS.values()}
    return {
        "geometry": {k: red[k] for k in ("flip", "mask_flip")},
        "header": declarations(HeaderMap),
        "normalization": {
            **{k: norm[k] for k in ("thickness_cm", "calibration_factor", "empty_cell_transmission")},
            **from_norm,
        },
        "normalization.water": declarations(WaterReferenceConfig),
        "reduction": {k: d for k, d in red.items() if k not in elsewhere},
        "fit": declarations(FitConfig),
        "readout": declarations(ReadoutConfig),
        "families": {"enabled": _FAMILIES_ENABLED, **declarations(FamiliesConfig)},
        "peaks": declarations(PeaksConfig),
        "output": declarations(OutputConfig),
        "execution": declarations(ExecutionConfig),
    }


def _read_toml(path: str | Path) -> tuple[Path, dict[str, Any]]:
    src = Path(path).expanduser().resolve()
    if not src.is_file():
        raise FileNotFoundError(
            f"pipeline config {path} does not exist; pass the path of a .toml file "
            f"such as pipelines/cdse_nucleation_series.toml"
        )
    try:
        with open(src, "rb") as fh:
            return src, tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: not valid TOML: {exc}") from None


def _read_section(top: _Table, key: str, cls: Any) -> dict[str, Any]:
    """Every declared field of ``cls`` from table ``[key]`` (keys = field names; unknown keys are errors)."""
    t = top.sub(key)
    values = t.read_all(cls)
    t.finish()
    return values


def _parse_top(top: _Table, src: Path) -> tuple[int, str, str]:
    """``schema_version`` (required, must be supported), ``name`` (default: the file name), ``description``."""
    version = top.get("schema_version", int, hint=f"add schema_version = {SCHEMA_VERSION} at the top")
    if version != SCHEMA_VERSION:
        raise top.error(
            f"schema_version = {version} is not supported by this saxs_mc; "
            f"use {SCHEMA_VERSION} (see pipelines/template.toml)",
            "schema_version",
        )
    name = top.get("name", str, default=src.stem, check=_name_check)
    description = top.get("description", str, default="")
    return version, name, description


def _parse_geometry(top: _Table, base: Path) -> tuple[GeometryConfig, dict[str, Any]]:
    """``[geometry]``: the PONI and mask files (must exist) and the frame/mask flips (for the reducer)."""
    g = top.sub("geometry", default_empty=False)
    poni_s = g.get("poni", str, hint="path of the pyFAI .poni file")
    mask_s = g.get("mask", str, default=None)
    flips = g.read_all(ReductionConfig, ["flip", "mask_flip"])
    g.finish()
    poni = _resolve(base, poni_s).resolve()
    if not poni.is_file():  # noted: the frame paths etc. are still checked
        g.problems.append(
            g.error(
                f"PONI file {poni_s!r} (resolved to {poni}) does not exist; paths are relative to "
                f"{base}; calibrate with pyFAI-calib2 or fix the path",
                "poni",
            )
        )
    mask = None
    if mask_s is not None:
        mask = _resolve(base, mask_s).resolve()
        if not mask.is_file():
            g.problems.append(
                g.error(
                    f"mask file {mask_s!r} (resolved to {mask}) does not exist; paths are "
                    f"relative to {base}; fix the path or remove the key to use no mask",
                    "mask",
                )
            )
    return GeometryConfig(poni, mask), flips


def _parse_header(top: _Table) -> HeaderConfig:
    """``[header]``: the header key of every :class:`~saxs_mc.reduce.HeaderMap` field (false: not recorded)."""
    h = top.sub("header")
    mapping = h.read_all(HeaderMap)
    h.finish()
    return HeaderConfig(tuple(mapping.items()))


#: ``[normalization]`` keys of the reducer's settings -> :class:`ReductionConfig` fields
_NORMALIZATION_KEYS = {
    "mode": "normalization",
    "constant": "normalization_constant",
    "monitor_table": "monitor_table",
    "table_columns": "table_columns",
}


def _parse_normalization(top: _Table, base: Path) -> tuple[NormalizationConfig, dict[str, Any]]:
    """``[normalization]``: thickness and absolute scale (or a water reference), and what frames are divided by."""
    n = top.sub("normalization")
    red, norm = declarations(ReductionConfig), declarations(NormalizationConfig)
    thickness = n.read("thickness_cm", norm["thickness_cm"])
    frame = {
        field: n.read(
            key,
            red[field],
            default={} if key == "table_columns" else dataclasses.MISSING,
            kind=dict if key == "table_columns" else None,
        )
        for key, field in _NORMALIZATION_KEYS.items()
    }
    _check_frame_normalization(n, frame, base)
    # the declared factor (1.0) is for monitor normalization; any other mode gives arbitrary units by default
    factor = n.read(
        "calibration_factor",
        norm["calibration_factor"],
        default=norm["calibration_factor"].default if frame["normalization"] == "monitor" else None,
    )
    ect = n.read("empty_cell_transmission", norm["empty_cell_transmission"])
    water = _parse_water(n, base)
    n.finish()
    return NormalizationConfig(thickness, factor, ect, water), frame


def _check_frame_normalization(n: _Table, frame: dict[str, Any], base: Path) -> None:
    """``mode``/``constant`` go together; the monitor table exists; its columns are known fields (in place)."""
    if (frame["normalization"] == "constant") != (frame["normalization_constant"] is not None):
        raise n.error("mode = 'constant' and constant = <divisor> go together; set both or neither", "constant")
    table_s = frame["monitor_table"]
    monitor_table = None if table_s is None else _resolve(base, table_s).resolve()
    if monitor_table is not None and not monitor_table.is_file():
        raise n.error(
            f"monitor table {table_s!r} (resolved to {monitor_table}) does not exist; fix the path", "monitor_table"
        )
    frame["monitor_table"] = None if monitor_table is None else str(monitor_table)
    columns = frame["table_columns"]
    columns = columns if isinstance(columns, dict) else {}
    if not (set(columns) <= set(TABLE_FIELDS) and all(isinstance(x, str) for x in columns.values())):
        n.problems.append(
            n.error(f"{columns!r}: keys must be among {list(TABLE_FIELDS)}, values column names", "table_columns")
        )
    if columns and monitor_table is None:
        raise n.error("table_columns needs monitor_table", "table_columns")
    frame["table_columns"] = tuple(columns.items())


def _parse_water(n: _Table, base: Path) -> WaterReferenceConfig | None:
    """``[normalization.water]``: water (and empty-cell) frames for the absolute calibration, or None."""
    n.known.append("water")
    if "water" not in n.table:
        return None
    wt = _Table(n.table["water"], n.key("water"), n.source, n.problems)
    wp, wf, ws = _expand_frames(wt, "frames", base)
    ep, ef, es = _expand_frames(wt, "empty_cell_frames", base)
    water = WaterReferenceConfig(
        frames=wp,
        files=wf,
        sources=ws,
        empty_cell_frames=ep,
        empty_cell_files=ef,
        empty_cell_sources=es,
        **wt.read_all(WaterReferenceConfig),
    )
    wt.finish()
    if "calibration_factor" in n.table:
        raise n.error(
            "give either calibration_factor or a [normalization.water] reference, not both", "calibration_factor"
        )
    return water


def _parse_reduction(top: _Table, flips: dict[str, Any], frame_norm: dict[str, Any]) -> ReductionConfig:
    """``[reduction]``: integration and frame rejection (the flips and normalisation come from their tables)."""
    r = top.sub("reduction")
    own = [k for k in declarations(ReductionConfig) if k not in flips and k not in frame_norm]
    values = r.read_all(ReductionConfig, own)
    r.finish()
    return ReductionConfig(**values, **flips, **frame_norm)


def _parse_fit(top: _Table, ser: Any) -> FitConfig:
    """``[fit]``: the Monte Carlo settings (declared in FitSettings) and the population windows."""
    f = top.sub("fit")
    pops_tables = f.array_of_tables("populations", required=False)
    fit = FitConfig(
        **f.read_all(FitConfig),
        populations=_parse_populations(pops_tables) if pops_tables else (),
    )
    f.finish()
    return ser.apply_material(fit, f.table, top)


def _parse_output(top: _Table, base: Path, src: Path, name: str) -> OutputConfig:
    """``[output]``: the folder (default ``../results/<name>``) and whether the report has figures."""
    o = top.sub("output")
    safe_name = src.stem if _name_check(name) else name
    values = o.read_all(OutputConfig, dir=f"results/{safe_name}")
    o.finish()
    return OutputConfig(_resolve(base, str(values["dir"])).resolve(), values["figures"])


def _parse_execution(top: _Table) -> ExecutionConfig:
    """``[execution]``: a dask scheduler address (empty: none) and the number of local workers."""
    values = _read_section(top, "execution", ExecutionConfig)
    return ExecutionConfig(values["scheduler"] or None, values["n_workers"])
