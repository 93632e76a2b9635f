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
"""

from __future__ import annotations

import dataclasses
import difflib
import glob
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from saxs_mc.models.water import WATER_DSIGMA_20C_1_CM

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


def _header_defaults() -> dict[str, Any]:
    """Header key map defaults (ESRF ID02) = the fields of :class:`saxs_mc.reduce.HeaderMap`."""
    try:
        from saxs_mc.reduce.settings import HeaderMap
    except ImportError:  # pragma: no cover - reduction not installed
        return {"transmitted_monitor": "Intensity1ShutCor", "incident_monitor": "Intensity0ShutCor",
                "exposure_time": "ExposureTime", "monitor_is_rate": False, "dummy": "Dummy",
                "delta_dummy": "DDummy", "thickness_cm": "SampleThickness_cm",
                "temperature_C": "SampleTemperature_C", "title": "Title"}
    return HeaderMap().to_dict()


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
    dsigma_1_cm: float
    q_range_nm: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class NormalizationConfig:
    """Thickness (None: from each frame's header) and absolute scale."""

    thickness_cm: float | None
    calibration_factor: float | None  # None: arbitrary units
    empty_cell_transmission: float | None
    water: WaterReferenceConfig | None


@dataclasses.dataclass(frozen=True)
class ReductionConfig:
    """Azimuthal integration and frame rejection settings.

    Also carries what the reducer needs from ``[geometry]`` (``flip``, ``mask_flip``) and
    ``[normalization]`` (``mode`` -> ``normalization``, ``constant``, ``monitor_table``, ``table_columns``).
    ``npt`` None: one bin per pixel of radius (see :class:`saxs_mc.reduce.ReductionSettings`).
    """

    npt: int | None
    q_unit: str
    error_model: str
    method: tuple[str, str, str]
    polarization_factor: float | None
    reject_outliers: bool
    reject_mad_threshold: float
    reject_min_rel_dev: float
    nan_policy: str
    bad_frames: str
    q_range_nm: tuple[float, float] | None = None
    saturation: float | None = None
    flip: str | None = None
    mask_flip: str | None = None
    normalization: str = "monitor"
    normalization_constant: float | None = None
    monitor_table: str | None = None
    table_columns: tuple[tuple[str, str], ...] = ()


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


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Monte Carlo sphere fit settings (passed to :func:`saxs_mc.fit.fit_curve`)."""

    contributions: int
    repetitions: int
    seed: int
    q_range_nm: tuple[float, float] | None
    r_range_nm: tuple[float, float] | None
    contrast_1e6_A2: float
    bins: int
    bin_scale: str
    populations: tuple[PopulationWindow, ...]
    exclude_bragg_peaks: bool = False  # leave q within exclude_fwhm * FWHM of each found Bragg peak out of the fit
    exclude_fwhm: float = 2.0


@dataclasses.dataclass(frozen=True)
class FamiliesConfig:
    """Family decomposition of every sample (:func:`saxs_mc.families.decompose`); the families are the
    population windows with a ``family_radius_nm`` (each a Gaussian of standard deviation ``sd_nm``)."""

    sd_nm: float
    continuous: bool
    background: str
    power_law_exponent: float | None
    q_range_nm: tuple[float, float] | None  # None: the fit's q range
    selection: str


@dataclasses.dataclass(frozen=True)
class ReadoutConfig:
    """Rule parameters of the quantized/continuous growth read-out (see report module)."""

    mode_tolerance_nm: float
    min_family_fraction: float
    min_mode_height: float
    shoulder_shift_fraction: float = 0.3
    shoulder_min_fraction: float = 0.2
    shoulder_n_sigma: float = 2.0    # decomposition: a shoulder family's share - n_sigma * std > 0 ...
    shoulder_min_share: float = 0.1  # ... and share >= this


@dataclasses.dataclass(frozen=True)
class PeaksConfig:
    """Bragg-peak search settings (passed to :func:`saxs_mc.peaks.find_peaks`)."""

    q_range_nm: tuple[float, float] | None
    profile: str
    min_significance: float | None
    samples: bool


@dataclasses.dataclass(frozen=True)
class OutputConfig:
    """Output folder (relative paths are relative to the config file) and whether the report has figures."""

    dir: Path
    figures: bool = True


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
    """Where the work runs: a dask scheduler address, or local processes."""

    scheduler: str | None
    n_workers: int  # 0: all local cores; 1: serial (one step at a time)


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
        return {"contrast_1e6_A2": self.contrast_1e6_A2, "particle": self.particle, "solvent": self.solvent,
                "energy_keV": self.energy_keV, "source": self.source, "details": self.details}

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

    def get(self, k: str, kind: type | tuple[type, ...], default: Any = _REQUIRED,
            check: Callable[[Any], str | None] | None = None, hint: str = "") -> Any:
        self.known.append(k)
        if k not in self.table:
            if default is _REQUIRED:
                typo = difflib.get_close_matches(k, [str(x) for x in self.table], n=1, cutoff=0.6)
                found = f" (found '{typo[0]}': a typo?)" if typo else ""
                raise self.error(f"required key is missing{found}{'; ' + hint if hint else ''}", k)
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
                raise self.error(f"required array of tables [[{self.key(k)}]] is missing{'; ' + hint if hint else ''}", k)
            return []
        v = self.table[k]
        if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
            raise self.error(f"must be an array of tables ([[{self.key(k)}]] sections)", k)
        return [_Table(t, f"{self.key(k)}[{i}]", self.source, self.problems) for i, t in enumerate(v)]

    def finish(self) -> None:
        unknown = [k for k in self.table if k not in self.known]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, self.known, n=1, cutoff=0.6)
            sugg = f" (did you mean '{close[0]}'?)" if close else ""
            raise self.error(
                f"unknown key{sugg}; valid keys here: {', '.join(sorted(set(self.known)))}", k
            )


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _range_check(v: Any) -> str | None:
    if len(v) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return "must be a pair of numbers [min, max]"
    lo, hi = float(v[0]), float(v[1])
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 0 or lo >= hi:
        return "must satisfy 0 <= min < max (finite)"
    return None


def _pair(v: list | None) -> tuple[float, float] | None:
    if v is None or _range_check(v):  # an invalid pair is already noted as a problem
        return None
    return float(v[0]), float(v[1])


#: longest sample/blank/pipeline name (it names folders and files, and appears in file names with suffixes)
MAX_NAME_LENGTH = 100


def _name_check(v: str) -> str | None:
    if not v or v.strip() != v or any(c in v for c in "/\\:*?\"<>|") or v.startswith("."):
        return "must be a non-empty name without path separators, wildcards or leading dot (used as a folder name)"
    if any(ord(c) < 32 or ord(c) == 127 for c in v):
        return "contains a control character (e.g. NUL); use letters, digits, '_', '-' (it names a folder)"
    if len(v) > MAX_NAME_LENGTH:
        return f"is {len(v)} characters long; use at most {MAX_NAME_LENGTH} (it names folders and files)"
    return None


def _profile_check(v: str) -> str | None:
    from saxs_mc.peaks.detect import PROFILES

    return None if v in PROFILES else f"use one of {list(PROFILES)}"


def _resolve(base: Path, p: str) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else (base / path)


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
        except OSError as exc:
            raise t.error(f"pattern {pat!r}: {f} is not a readable HDF5 file ({exc})", key) from None
        if not ok:
            raise t.error(f"pattern {pat!r}: {f} has no 2D/3D dataset {path!r}; check the dataset path "
                          f"(h5ls -r {f.name})", key)
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
                f"pattern {pat!r} (resolved to {full}) matches no file; paths are relative to the "
                f"config file's folder {base}; fix the pattern or the data location", key)
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
        return (f"must be a first-exciton wavelength inside the Yu et al. (2003) sizing range {lo:g}-{hi:g} nm "
                "(e.g. 437 for CdSe-437)")
    return None


def _parse_populations(tables: list[_Table]) -> tuple[PopulationWindow, ...]:
    out = []
    for t in tables:
        name = t.get("name", str)
        lo = t.get("r_min_nm", float, check=_non_negative)
        hi = t.get("r_max_nm", float, default=math.inf)
        fam = t.get("family_radius_nm", float, default=None, check=_positive)
        label = t.get("label", str, default=None,
                      check=lambda v: None if v.strip() else "must not be empty (omit it to use the name)")
        lam = t.get("absorption_nm", float, default=None, check=_absorption_check)
        t.finish()
        if lam is not None and fam is None:
            raise t.error(f"absorption_nm={lam} given for a window without family_radius_nm; set family_radius_nm "
                          "(the SAXS radius of that family) or drop absorption_nm", "absorption_nm")
        if not lo < hi:
            raise t.error(f"r_min_nm={lo} must be < r_max_nm={hi}", "r_max_nm")
        if fam is not None and not lo <= fam < hi:
            raise t.error(f"family_radius_nm={fam} must lie inside [r_min_nm, r_max_nm) = [{lo}, {hi})",
                          "family_radius_nm")
        out.append(PopulationWindow(name, lo, hi, fam, label, lam))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{tables[0].source}: fit.populations: names must be unique, got {names}")
    return tuple(out)


def _spectrum_path(t: _Table, base: Path) -> Path | None:
    """``spectrum = "file.csv"`` of a sample: an absorbance spectrum that must exist (read by the optical step)."""
    raw = t.get("spectrum", str, default=None,
                hint="give the path of a CSV/TXT absorbance spectrum (wavelength in nm, absorbance)")
    if raw is None:
        return None
    p = _resolve(base, raw).resolve()
    if not p.is_file():
        t.problems.append(t.error(f"absorbance spectrum {raw!r} (resolved to {p}) does not exist; paths are "
                                  f"relative to {base}; fix the path or drop the key", "spectrum"))
        return None
    return p


#: decomposition backgrounds and model selections (saxs_mc.families.spec.BACKGROUNDS / SELECTIONS)
_FAMILY_BACKGROUNDS = ("nonnegative", "free", "none")
_FAMILY_SELECTIONS = ("bic", "none")


def _parse_families(top: _Table, fit: FitConfig) -> FamiliesConfig | None:
    """The optional ``[families]`` table (family decomposition); None when absent or ``enabled = false``."""
    present = "families" in top.table
    ft = top.sub("families")
    enabled = ft.get("enabled", bool, default=True)
    cfg = FamiliesConfig(
        sd_nm=ft.get("sd_nm", float, default=0.025, check=_positive),
        continuous=ft.get("continuous", bool, default=True),
        background=ft.get("background", str, default="nonnegative", check=lambda v: None if v in _FAMILY_BACKGROUNDS
                          else f"use one of {list(_FAMILY_BACKGROUNDS)}"),
        power_law_exponent=ft.get("power_law_exponent", float, default=None, check=_positive),
        q_range_nm=_pair(ft.get("q_range_nm", list, default=None, check=_range_check)),
        selection=ft.get("selection", str, default="bic", check=lambda v: None if v in _FAMILY_SELECTIONS
                         else f"use one of {list(_FAMILY_SELECTIONS)}"),
    )
    ft.finish()
    if not (present and enabled):
        return None
    fams = sorted((w for w in fit.populations if w.family_radius_nm is not None),
                  key=lambda w: cast(float, w.family_radius_nm))
    if not fams:
        raise ft.error("no population window has a family_radius_nm: declare the families as [[fit.populations]] "
                       "with family_radius_nm (see pipelines/template.toml) or drop [families]")
    for a, b in zip(fams, fams[1:]):
        if cast(float, b.family_radius_nm) - cast(float, a.family_radius_nm) < 2.0 * cfg.sd_nm:
            raise ft.error(f"families {a.display!r} (r = {a.family_radius_nm:g} nm) and {b.display!r} "
                           f"(r = {b.family_radius_nm:g} nm) are closer than 2 sd_nm = {2 * cfg.sd_nm:g} nm: the "
                           "decomposition cannot separate them; lower sd_nm or merge the windows", "sd_nm")
    return cfg


def _match_blank(cfg: PipelineConfig, sample: SampleConfig) -> BlankConfig:
    from .series_config import match_blank

    return match_blank(cfg, sample)


#: most q bins of a reduced curve
MAX_NPT = 10000


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
    src = Path(path).expanduser().resolve()
    if not src.is_file():
        raise FileNotFoundError(f"pipeline config {path} does not exist; pass the path of a .toml file "
                                f"such as pipelines/cdse_nucleation_series.toml")
    try:
        with open(src, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: not valid TOML: {exc}") from None
    base = src.parent
    top = _Table(data, "", src, problems)

    version = top.get("schema_version", int, hint=f"add schema_version = {SCHEMA_VERSION} at the top")
    if version != SCHEMA_VERSION:
        raise top.error(f"schema_version = {version} is not supported by this saxs_mc; "
                        f"use {SCHEMA_VERSION} (see pipelines/template.toml)", "schema_version")
    name = top.get("name", str, default=src.stem, check=_name_check)
    description = top.get("description", str, default="")

    # geometry
    g = top.sub("geometry", default_empty=False)
    poni_s = g.get("poni", str, hint="path of the pyFAI .poni file")
    mask_s = g.get("mask", str, default=None)
    _flips = ("ud", "lr", "udlr")
    flip_check = lambda v: None if v in _flips else f"use one of {list(_flips)} (ud: top-to-bottom, as Fit2D/Dioptas)"  # noqa: E731
    flip = g.get("flip", str, default=None, check=flip_check)
    mask_flip = g.get("mask_flip", str, default=None, check=flip_check)
    g.finish()
    poni = _resolve(base, poni_s).resolve()
    if not poni.is_file():
        raise g.error(f"PONI file {poni_s!r} (resolved to {poni}) does not exist; paths are relative to "
                      f"{base}; calibrate with pyFAI-calib2 or fix the path", "poni")
    mask = None
    if mask_s is not None:
        mask = _resolve(base, mask_s).resolve()
        if not mask.is_file():
            raise g.error(f"mask file {mask_s!r} (resolved to {mask}) does not exist; fix the path or "
                          f"remove the key to use no mask", "mask")

    # header
    h = top.sub("header")
    mapping = {}
    for k, v in _header_defaults().items():
        if isinstance(v, bool):
            mapping[k] = h.get(k, bool, default=v)
        else:
            val = h.get(k, (str, bool), default=v if v is not None else False,
                        hint="give the header key name, or false if the beamline does not record it")
            if val is True:
                raise h.error("true is not a header key; give the key name or false", k)
            mapping[k] = val or None
    h.finish()
    header = HeaderConfig(tuple(mapping.items()))

    # normalization
    n = top.sub("normalization")
    thickness = n.get("thickness_cm", float, default=None, check=_positive)
    modes = ("monitor", "exposure", "constant", "none")
    mode = n.get("mode", str, default="monitor", check=lambda v: None if v in modes else f"use one of {list(modes)}")
    constant = n.get("constant", float, default=None, check=_positive)
    if (mode == "constant") != (constant is not None):
        raise n.error("mode = 'constant' and constant = <divisor> go together; set both or neither", "constant")
    table_s = n.get("monitor_table", str, default=None)
    monitor_table = None if table_s is None else _resolve(base, table_s).resolve()
    if monitor_table is not None and not monitor_table.is_file():
        raise n.error(f"monitor table {table_s!r} (resolved to {monitor_table}) does not exist; fix the path", "monitor_table")
    fields = ("frame", "transmitted_monitor", "incident_monitor", "exposure_time")
    columns = n.get("table_columns", dict, default={}, check=lambda v: None if set(v) <= set(fields) and all(
        isinstance(x, str) for x in v.values()) else f"keys must be among {list(fields)}, values column names")
    if columns and monitor_table is None:
        raise n.error("table_columns needs monitor_table", "table_columns")
    factor = n.get("calibration_factor", (float, bool), default=1.0 if mode == "monitor" else False,
                   check=lambda v: None if v is False or (not isinstance(v, bool) and v > 0)
                   else "must be > 0, or false for arbitrary units")
    factor = None if factor is False else factor
    ect = n.get("empty_cell_transmission", float, default=None,
                check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]")
    n.known.append("water")
    water = None
    if "water" in n.table:
        wt = _Table(n.table["water"], n.key("water"), src, problems)
        wp, wf, ws = _expand_frames(wt, "frames", base)
        ep, ef, es = _expand_frames(wt, "empty_cell_frames", base)
        water = WaterReferenceConfig(
            frames=wp, files=wf, sources=ws, empty_cell_frames=ep, empty_cell_files=ef, empty_cell_sources=es,
            dsigma_1_cm=wt.get("dsigma_1_cm", float, default=WATER_DSIGMA_20C_1_CM, check=_positive),
            # None only with a problem noted, and load_config then raises before the config is used
            q_range_nm=cast(tuple[float, float],
                            _pair(wt.get("q_range_nm", list, default=[0.5, 3.0], check=_range_check))),
        )
        wt.finish()
        if "calibration_factor" in n.table:
            raise n.error("give either calibration_factor or a [normalization.water] reference, not both",
                          "calibration_factor")
    n.finish()
    normalization = NormalizationConfig(thickness, factor, ect, water)

    # reduction
    r = top.sub("reduction")

    def _choice(*allowed: str) -> Callable[[Any], str | None]:
        return lambda v: None if v in allowed else f"use one of {list(allowed)}"

    def _method(v: list) -> str | None:
        ok = len(v) == 3 and all(isinstance(x, str) for x in v)
        return None if ok else 'must be 3 strings (split, algorithm, implementation), e.g. ["full", "csr", "cython"]'

    pol = r.get("polarization_factor", (float, bool), default=0.99,
                check=lambda v: None if v is False or (not isinstance(v, bool) and -1 <= v <= 1)
                else "must be in [-1, 1], or false for no polarization correction")
    reduction = ReductionConfig(
        npt=r.get("npt", int, default=None, check=lambda v: None if 10 <= v <= MAX_NPT else
                  f"must be in 10..{MAX_NPT} (more q bins than detector pixels along the radius add no information)"),
        q_unit=r.get("q_unit", str, default="1/nm", check=_choice("1/nm", "1/A")),
        error_model=r.get("error_model", str, default="poisson", check=_choice("poisson", "azimuthal")),
        method=tuple(r.get("method", list, default=["full", "csr", "cython"], check=_method)),
        polarization_factor=None if pol is False else pol,
        reject_outliers=r.get("reject_outliers", bool, default=True),
        reject_mad_threshold=r.get("reject_mad_threshold", float, default=5.0, check=_positive),
        reject_min_rel_dev=r.get("reject_min_rel_dev", float, default=0.01, check=_non_negative),
        nan_policy=r.get("nan_policy", str, default="error", check=_choice("error", "mask")),
        bad_frames=r.get("bad_frames", str, default="reject", check=_choice("error", "reject")),
        q_range_nm=_pair(r.get("q_range_nm", list, default=None, check=_range_check)),
        saturation=r.get("saturation", float, default=None, check=_positive),
        flip=flip, mask_flip=mask_flip, normalization=mode, normalization_constant=constant,
        monitor_table=None if monitor_table is None else str(monitor_table), table_columns=tuple(columns.items()),
    )
    r.finish()

    # samples, blanks, stacks, blank matching, series axis, material (saxs_mc.pipeline.series_config)
    from .series_config import parse_series, series_problems

    ser = parse_series(top, base, poni)

    # fit
    f = top.sub("fit")
    pops_tables = f.array_of_tables("populations", required=False)
    fit = FitConfig(
        contributions=f.get("contributions", int, default=300, check=lambda v: None if v >= 1 else "must be >= 1"),
        repetitions=f.get("repetitions", int, default=10, check=lambda v: None if v >= 1 else "must be >= 1"),
        seed=f.get("seed", int, default=20201122, check=_non_negative),
        q_range_nm=_pair(f.get("q_range_nm", list, default=None, check=_range_check)),
        r_range_nm=_pair(f.get("r_range_nm", list, default=None, check=_range_check)),
        contrast_1e6_A2=f.get("contrast_1e6_A2", float, default=34.65, check=_positive),
        bins=f.get("bins", int, default=60, check=lambda v: None if v >= 2 else "must be >= 2"),
        bin_scale=f.get("bin_scale", str, default="log",
                        check=lambda v: None if v in ("log", "linear") else "use 'log' or 'linear'"),
        populations=_parse_populations(pops_tables) if pops_tables else (),
        exclude_bragg_peaks=f.get("exclude_bragg_peaks", bool, default=False),
        exclude_fwhm=f.get("exclude_fwhm", float, default=2.0, check=_positive),
    )
    f.finish()
    fit = ser.apply_material(fit, f.table, top)

    ro = top.sub("readout")
    readout = ReadoutConfig(
        mode_tolerance_nm=ro.get("mode_tolerance_nm", float, default=0.035, check=_positive),
        min_family_fraction=ro.get("min_family_fraction", float, default=0.5,
                                   check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
        min_mode_height=ro.get("min_mode_height", float, default=0.25,
                               check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
        shoulder_shift_fraction=ro.get("shoulder_shift_fraction", float, default=0.3,
                                       check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
        shoulder_min_fraction=ro.get("shoulder_min_fraction", float, default=0.2,
                                     check=lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
        shoulder_n_sigma=ro.get("shoulder_n_sigma", float, default=2.0, check=_non_negative,
                                hint="standard deviations a shoulder family's share must stand above zero"),
        shoulder_min_share=ro.get("shoulder_min_share", float, default=0.1,
                                  check=lambda v: None if 0 <= v <= 1 else "must be in [0, 1]"),
    )
    ro.finish()

    families = _parse_families(top, fit)

    p = top.sub("peaks")
    peaks = PeaksConfig(
        q_range_nm=_pair(p.get("q_range_nm", list, default=None, check=_range_check)),
        profile=p.get("profile", str, default="pseudo_voigt", check=_profile_check),
        min_significance=p.get("min_significance", float, default=None, check=_positive),
        samples=p.get("samples", bool, default=True),
    )
    p.finish()

    o = top.sub("output")
    safe_name = src.stem if _name_check(name) else name
    out_dir = _resolve(base, o.get("dir", str, default=f"results/{safe_name}")).resolve()
    figures = o.get("figures", bool, default=True)
    o.finish()

    e = top.sub("execution")
    sched = e.get("scheduler", str, default="") or None
    n_workers = e.get("n_workers", int, default=0, check=lambda v: None if v >= 0 else "must be >= 0 (0: all cores)")
    e.finish()

    top.finish()

    cfg = PipelineConfig(
        source=src, schema_version=version, name=name, description=description,
        geometry=GeometryConfig(poni, mask), header=header, normalization=normalization,
        reduction=reduction, samples=ser.samples, blanks=ser.blanks, blank_matching=ser.blank_matching,
        fit=fit, readout=readout, peaks=peaks, output=OutputConfig(out_dir, figures),
        execution=ExecutionConfig(sched, n_workers), families=families,
        series=ser.series, material=ser.material, stacks=ser.stacks,
    )
    problems.extend(series_problems(cfg))  # every sample has exactly one blank, ...
    return cfg
