"""Typed settings of each step kind: what the planner hands a step function, checked on arrival.

The planner writes a step's settings as a JSON-safe dict (that JSON form is
what the cache key hashes, :func:`saxs_mc.pipeline.cache.step_key`).  A step
function parses it into the frozen dataclass of its kind with
``FitStepSettings.from_json(ctx.settings)``, which refuses unknown and missing
keys with one error naming them all, and reads attributes instead of
string-keyed look-ups.  ``to_json()`` gives the JSON form back, key for key:
``S.from_json(d).to_json() == d`` (tested on the shipped configurations), so
a planner that builds the typed settings and hashes ``to_json()`` gets the
same keys.

JSON lists arrive as tuples and objects as read-only mappings (the settings
are frozen all the way down); ``to_json`` turns them back.  Optional keys
have defaults; one left out of the JSON form stays out of ``to_json()``.

Examples
--------
>>> s = SubtractSettings.from_json({"sample": "nuc190C", "blank": "blank_230C", "scale": 1.0})
>>> s.blank, s.to_json()["scale"]
('blank_230C', 1.0)
>>> SubtractSettings.from_json({"sample": "x", "blank": "b", "scael": 1.0})
Traceback (most recent call last):
...
saxs_mc.pipeline.step_settings.StepSettingsError: SubtractSettings: unknown key(s) ['scael'] (known: ['blank', 'sample', 'scale']); missing key(s) ['scale']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "STEP_SETTINGS",
    "CalibrateSettings",
    "FamiliesStepSettings",
    "FitStepSettings",
    "MesophaseSettings",
    "OpticalStepSettings",
    "PeaksStepSettings",
    "ReduceSettings",
    "StepSettingsError",
    "SubtractSettings",
    "plain",
]

T = TypeVar("T", bound="_Settings")


class StepSettingsError(ValueError):
    """A step's settings do not match its kind's declaration (unknown or missing keys)."""


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return MappingProxyType({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    return v


def plain(v: Any) -> Any:
    """The JSON form of a settings value: plain dicts and lists all the way down."""
    if isinstance(v, Mapping):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [plain(x) for x in v]
    return v


@dataclasses.dataclass(frozen=True)
class _Settings:
    """Base of the step settings: key checks and the JSON form."""

    #: optional keys present in the JSON form this object was read from (kept by ``to_json``)
    _given: frozenset[str] = dataclasses.field(default=frozenset(), repr=False, compare=False, kw_only=True)

    @classmethod
    def _keys(cls) -> tuple[set[str], set[str]]:
        fields = [f for f in dataclasses.fields(cls) if not f.name.startswith("_")]
        required = {
            f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        return required, {f.name for f in fields} - required

    @classmethod
    def from_json(cls: type[T], doc: Mapping[str, Any]) -> T:
        """Parse the JSON form; unknown and missing keys are one :class:`StepSettingsError` naming them all."""
        if not isinstance(doc, Mapping):
            raise StepSettingsError(f"{cls.__name__}: expected an object, got {type(doc).__name__}")
        required, optional = cls._keys()
        unknown, missing = sorted(set(doc) - required - optional), sorted(required - set(doc))
        problems = []
        if unknown:
            problems.append(f"unknown key(s) {unknown} (known: {sorted(required | optional)})")
        if missing:
            problems.append(f"missing key(s) {missing}")
        if problems:
            raise StepSettingsError(f"{cls.__name__}: " + "; ".join(problems))
        return cls(**{k: _freeze(v) for k, v in doc.items()}, _given=frozenset(set(doc) & optional))

    def to_json(self) -> dict[str, Any]:
        """The JSON form (plain dicts and lists); optional keys only when given or not at their default."""
        required, optional = self._keys()
        out = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            if f.name in required or f.name in self._given or v != f.default:
                out[f.name] = plain(v)
        return out


@dataclasses.dataclass(frozen=True)
class _ReductionBase(_Settings):
    """What every reduction (sample, blank, water, empty cell) needs: geometry, reduction, header, scale."""

    poni: str
    mask: str | None
    reduction: Mapping[str, Any]  # :class:`saxs_mc.pipeline.config.ReductionConfig` as a dict
    header: Mapping[str, Any]
    calibration_factor: float | None
    empty_cell_transmission: float | None
    thickness_cm: float | None


@dataclasses.dataclass(frozen=True)
class ReduceSettings(_ReductionBase):
    """``reduce/<name>``: all frames of one sample or blank."""

    title: str
    sources: tuple[str, ...]
    metadata: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class CalibrateSettings(_ReductionBase):
    """``calibrate/water``: absolute scale from water minus empty cell."""

    water_sources: tuple[str, ...]
    empty_cell_sources: tuple[str, ...]
    dsigma_1_cm: float
    q_range_nm: tuple[float, float]


@dataclasses.dataclass(frozen=True)
class SubtractSettings(_Settings):
    """``subtract/<sample>``: sample minus ``scale`` times its blank."""

    sample: str
    blank: str
    scale: float


@dataclasses.dataclass(frozen=True)
class FitStepSettings(_Settings):
    """``fit/<sample>``: the Monte Carlo sphere fit (seed already derived from the config seed and the name)."""

    sample: str
    contributions: int
    repetitions: int
    seed: int
    q_range_nm: tuple[float, float] | None
    r_range_nm: tuple[float, float] | None
    contrast_1e6_A2: float
    bins: int
    bin_scale: str
    #: mask q within ``q0 +- exclude_fwhm * fwhm`` of every Bragg peak of the upstream ``peaks/<sample>``
    exclude_bragg_peaks: bool = False
    exclude_fwhm: float = 2.0
    #: provenance of the contrast (``[material]``: particle, solvent, energy, source); not used by the fit itself
    material: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class PeaksStepSettings(_Settings):
    """``peaks/<name>``: Bragg peaks of a blank (``role="blank"``) or of a blank-subtracted sample."""

    name: str
    role: str
    q_range_nm: tuple[float, float] | None
    profile: str
    min_significance: float | None
    temperature_C: float | None = None  # blanks


@dataclasses.dataclass(frozen=True)
class MesophaseSettings(_Settings):
    """``mesophase/series``: the blanks' Bragg peaks against temperature."""

    blanks: tuple[str, ...]
    temperatures_C: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class FamiliesStepSettings(_Settings):
    """``families/<sample>``: family decomposition (``families``: name, radius_nm, absorption_nm each)."""

    sample: str
    families: tuple[Mapping[str, Any], ...]
    contrast_1e6_A2: float
    plot: bool
    sd_nm: float
    continuous: bool
    background: str
    power_law_exponent: float | None
    q_range_nm: tuple[float, float] | None
    selection: str


@dataclasses.dataclass(frozen=True)
class OpticalStepSettings(_Settings):
    """``optical/<sample>``: first-exciton peaks of the sample's absorbance spectrum."""

    sample: str
    spectrum: str
    plot: bool
    families: tuple[Mapping[str, Any], ...]


#: the settings type of every step kind
STEP_SETTINGS: Mapping[str, type[_Settings]] = MappingProxyType(
    {
        "calibrate": CalibrateSettings,
        "reduce": ReduceSettings,
        "subtract": SubtractSettings,
        "fit": FitStepSettings,
        "peaks": PeaksStepSettings,
        "mesophase": MesophaseSettings,
        "families": FamiliesStepSettings,
        "optical": OpticalStepSettings,
    }
)
