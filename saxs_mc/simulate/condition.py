"""The description of one measurement condition (one folder of frames)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from saxs_mc.models.distributions import SizeDistribution, make_distribution
from saxs_mc.models.sphere import CONTRAST_CDSE_ODE

#: what each kind of condition contains besides the cell
KINDS: dict[str, tuple[str, ...]] = {
    "sample": ("particles", "solvent", "precursor", "capillary"),
    "blank": ("solvent", "precursor", "capillary"),
    "solvent": ("solvent", "capillary"),
    "empty_cell": ("capillary",),
    "water": ("water", "capillary"),
}

#: linear X-ray attenuation (1/cm) of the liquids at 12.4 keV (0.1 nm) and the cell-wall transmission
MU_LIQUID_PER_CM = {"odeprecursor": 2.0, "ode": 1.0, "water": 3.0}
CELL_TRANSMISSION = 0.92


@dataclasses.dataclass(frozen=True)
class GasBubble:
    """A gas bubble in the beam during one frame.

    Parameters
    ----------
    frame : int
        Frame index (0-based) within the condition.
    gas_fraction : float
        Fraction (0 < f < 1) of the liquid path replaced by gas: transmission
        rises, the liquid's scattering drops by (1 - f).
    """

    frame: int
    gas_fraction: float

    def __post_init__(self) -> None:
        if isinstance(self.frame, bool) or not isinstance(self.frame, int) or self.frame < 0:
            raise ValueError(f"GasBubble frame={self.frame!r} must be an int >= 0 (0-based frame index)")
        f = self.gas_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not (0.0 < f < 1.0):
            raise ValueError(
                f"GasBubble gas_fraction={f!r} must be a number in (0, 1): the fraction of liquid path replaced by gas"
            )


def _finite(name: str, value: Any, *, lo: float | None = None, lo_open: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ValueError(f"{name}={value!r} must be {'>' if lo_open else '>='} {lo}; give a physical value")


@dataclasses.dataclass(frozen=True)
class MeasurementCondition:
    """One measurement condition of a simulated series.

    Parameters
    ----------
    name : str
        Folder and file stem, e.g. ``"nuc190C"``.
    kind : str
        ``sample`` (particles + solvent + precursor + cell), ``blank`` (no
        particles), ``solvent``, ``empty_cell`` or ``water``.
    distributions : tuple of SizeDistribution
        True volume-weighted sphere distributions (samples only).
    temperature_C : float
        Sample temperature during the measurement.
    nucleation_temperature_C, growth_temperature_C, reaction_time_s : float or None
        Flow-reactor settings written to the headers of samples.
    mesophase_strength : float or None
        Override of the precursor mesophase strength (None: from temperature).
    thickness_cm : float
        Nominal sample (capillary inner) thickness.
    transmission : float or None
        Total transmission I1/I0 incl. cell walls (None: computed from the
        liquid's attenuation and :data:`CELL_TRANSMISSION`).
    flux_ph_s : float
        Incident photon flux (photons/s).
    exposure_s : float
        Exposure time per frame.
    n_frames : int
        Frames in the condition.
    flux_jitter : float
        Relative rms frame-to-frame fluctuation of the incident flux
        (recorded exactly in the monitors).
    gas_bubbles : tuple of GasBubble
        Faulty frames.
    contrast_1e6_A2 : float
        Particle SLD contrast.
    title : str
        Free text for the header's Title (defaults to ``name``).
    """

    name: str
    kind: str = "sample"
    distributions: tuple[SizeDistribution, ...] = ()
    temperature_C: float = 230.0
    nucleation_temperature_C: float | None = None
    growth_temperature_C: float | None = None
    reaction_time_s: float | None = None
    mesophase_strength: float | None = None
    thickness_cm: float = 0.15
    transmission: float | None = None
    flux_ph_s: float = 1.0e12
    exposure_s: float = 0.1
    n_frames: int = 3
    flux_jitter: float = 0.01
    gas_bubbles: tuple[GasBubble, ...] = ()
    contrast_1e6_A2: float = CONTRAST_CDSE_ODE
    title: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or any(c in self.name for c in "/\\ "):
            raise ValueError(f"condition name={self.name!r} must be a non-empty string without '/', '\\' or spaces")
        if self.kind not in KINDS:
            raise ValueError(f"condition {self.name}: kind={self.kind!r} is unknown; use one of {sorted(KINDS)}")
        object.__setattr__(self, "distributions", self._checked_distributions())
        self._check_temperatures()
        self._check_beam()
        object.__setattr__(self, "gas_bubbles", self._checked_bubbles())

    def _checked_distributions(self) -> tuple[SizeDistribution, ...]:
        """The distributions (dict forms built), only in a sample; TypeError/ValueError otherwise."""
        dists = []
        for i, d in enumerate(self.distributions):
            if isinstance(d, Mapping):
                d = make_distribution(dict(d))
            if not isinstance(d, SizeDistribution):
                raise TypeError(
                    f"condition {self.name}: distributions[{i}]={d!r} must be a SizeDistribution or its dict form"
                )
            dists.append(d)
        if dists and self.kind != "sample":
            raise ValueError(
                f"condition {self.name}: kind={self.kind!r} cannot hold particle distributions; use kind='sample'"
            )
        return tuple(dists)

    def _check_temperatures(self) -> None:
        """Temperatures, reaction time, mesophase strength, thickness and transmission."""
        _finite(f"condition {self.name}: temperature_C", self.temperature_C, lo=-273.15)
        for key in ("nucleation_temperature_C", "growth_temperature_C"):
            _finite(f"condition {self.name}: {key}", getattr(self, key), lo=-273.15, allow_none=True)
        _finite(f"condition {self.name}: reaction_time_s", self.reaction_time_s, lo=0, allow_none=True)
        _finite(f"condition {self.name}: mesophase_strength", self.mesophase_strength, lo=0, allow_none=True)
        _finite(f"condition {self.name}: thickness_cm", self.thickness_cm, lo=0, lo_open=True)
        _finite(f"condition {self.name}: transmission", self.transmission, lo=0, lo_open=True, allow_none=True)
        if self.transmission is not None and self.transmission > 1:
            raise ValueError(f"condition {self.name}: transmission={self.transmission} must be in (0, 1]")
        if self.transmission is not None and self.transmission > CELL_TRANSMISSION and self.kind != "empty_cell":
            raise ValueError(
                f"condition {self.name}: transmission={self.transmission} exceeds the empty-cell transmission "
                f"{CELL_TRANSMISSION}; give a value <= {CELL_TRANSMISSION} or None"
            )

    def _check_beam(self) -> None:
        """Flux, exposure, flux jitter, contrast and the number of frames."""
        _finite(f"condition {self.name}: flux_ph_s", self.flux_ph_s, lo=0, lo_open=True)
        _finite(f"condition {self.name}: exposure_s", self.exposure_s, lo=0, lo_open=True)
        _finite(f"condition {self.name}: flux_jitter", self.flux_jitter, lo=0)
        if self.flux_jitter >= 0.2:
            raise ValueError(
                f"condition {self.name}: flux_jitter={self.flux_jitter} is implausible; use a relative rms < 0.2"
            )
        _finite(f"condition {self.name}: contrast_1e6_A2", self.contrast_1e6_A2)
        if isinstance(self.n_frames, bool) or not isinstance(self.n_frames, int) or self.n_frames < 1:
            raise ValueError(f"condition {self.name}: n_frames={self.n_frames!r} must be an int >= 1")

    def _checked_bubbles(self) -> tuple[GasBubble, ...]:
        """The gas bubbles, one per frame inside the series, never in an empty cell."""
        bubbles = tuple(self.gas_bubbles)
        for b in bubbles:
            if not isinstance(b, GasBubble):
                raise TypeError(f"condition {self.name}: gas_bubbles must hold GasBubble objects, got {b!r}")
            if b.frame >= self.n_frames:
                raise ValueError(
                    f"condition {self.name}: GasBubble frame={b.frame} but n_frames={self.n_frames}; use a frame index < n_frames"
                )
            if self.kind == "empty_cell":
                raise ValueError(
                    f"condition {self.name}: an empty cell has no liquid for a gas bubble; remove gas_bubbles"
                )
        if len({b.frame for b in bubbles}) != len(bubbles):
            raise ValueError(f"condition {self.name}: two GasBubble entries for the same frame; give one per frame")
        return bubbles

    # ------------------------------------------------------------------
    @property
    def components(self) -> tuple[str, ...]:
        """Scattering components present (see :data:`KINDS`)."""
        return KINDS[self.kind]

    @property
    def liquid(self) -> str | None:
        """Which liquid fills the cell (sets the attenuation), None for an empty cell."""
        if self.kind in ("sample", "blank"):
            return "odeprecursor"
        if self.kind == "solvent":
            return "ode"
        if self.kind == "water":
            return "water"
        return None

    def liquid_transmission(self) -> float:
        """Transmission of the liquid alone (no cell walls)."""
        if self.liquid is None:
            return 1.0
        if self.transmission is not None:
            return self.transmission / CELL_TRANSMISSION
        return math.exp(-MU_LIQUID_PER_CM[self.liquid] * self.thickness_cm)

    def frame_transmission(self, frame: int) -> float:
        """Total transmission I1/I0 of frame ``frame`` (a gas bubble raises it)."""
        if self.kind == "empty_cell" and self.transmission is not None:
            return float(self.transmission)
        return CELL_TRANSMISSION * self.liquid_transmission() ** (1.0 - self.gas_fraction(frame))

    def gas_fraction(self, frame: int) -> float:
        """Fraction of the liquid path that is gas in ``frame`` (0 for a good frame)."""
        for b in self.gas_bubbles:
            if b.frame == frame:
                return float(b.gas_fraction)
        return 0.0

    def frame_names(self) -> list[str]:
        """EDF file names ``<name>_<NNNNN>.edf`` of the frames."""
        return [f"{self.name}_{i:05d}.edf" for i in range(self.n_frames)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (used in truth.json)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "components": list(self.components),
            "distributions": [d.to_dict() for d in self.distributions],
            "total_volume_fraction": float(sum(d.volume_fraction for d in self.distributions)),
            "temperature_C": self.temperature_C,
            "nucleation_temperature_C": self.nucleation_temperature_C,
            "growth_temperature_C": self.growth_temperature_C,
            "reaction_time_s": self.reaction_time_s,
            "mesophase_strength_override": self.mesophase_strength,
            "thickness_cm": self.thickness_cm,
            "flux_ph_s": self.flux_ph_s,
            "exposure_s": self.exposure_s,
            "n_frames": self.n_frames,
            "flux_jitter": self.flux_jitter,
            "gas_bubbles": [dataclasses.asdict(b) for b in self.gas_bubbles],
            "contrast_1e6_A2": self.contrast_1e6_A2,
            "title": self.title or self.name,
        }


def conditions_from_dicts(items: Sequence[Mapping[str, Any]]) -> list[MeasurementCondition]:
    """Build conditions from dicts (``gas_bubbles`` as ``[{"frame":.., "gas_fraction":..}]``)."""
    out = []
    for item in items:
        kw = dict(item)
        kw["gas_bubbles"] = tuple(GasBubble(**b) for b in kw.get("gas_bubbles", ()))
        kw["distributions"] = tuple(kw.get("distributions", ()))
        out.append(MeasurementCondition(**kw))
    return out
