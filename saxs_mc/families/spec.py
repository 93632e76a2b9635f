"""What a family decomposition fits: discrete families, a continuous population, settings.

A *family* is a narrow, volume-weighted Gaussian population of spheres
(mean ``radius_nm``, standard deviation ``sd_nm``) whose mean may be refined
inside ``window_nm``.  Families are given on the command line as
``NAME:R[:SD[:HALF]]`` (nm) or in a TOML file (see :func:`load_families_config`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from saxs_mc._settings import one_of, pair, positive, setting

#: default standard deviation (nm) of a family's radius distribution: MSCs are near-monodisperse
DEFAULT_SD_NM = 0.025
#: default half-width (nm) of the radius refinement window: 0, radii fixed (refining trades off against the shares,
#: see saxs_mc.families.decompose)
DEFAULT_HALF_WINDOW_NM = 0.0
#: background models: b >= 0, b free, no b
BACKGROUNDS = ("nonnegative", "free", "none")
#: model-selection rules: Schwarz information criterion (lowest BIC over all subsets of up to 5 terms, else
#: backward elimination) or keep every family
SELECTIONS = ("bic", "none")


@dataclasses.dataclass(frozen=True)
class DecomposeSettings:
    """The settings of :func:`saxs_mc.families.decompose`, declared once (default, check, doc).

    ``saxs-mc families`` and the pipeline's ``[families]`` table read their defaults, checks
    and help here; the signature defaults of ``decompose`` equal them (``tests/test_settings.py``).
    """

    sd_nm: float = setting(
        DEFAULT_SD_NM,
        kind=float,
        check=positive,
        doc="standard deviation (nm) of each family's Gaussian radius distribution",
    )
    continuous: bool = setting(False, kind=bool, doc="also fit one continuous log-normal population")
    background: str = setting(
        "nonnegative",
        kind=str,
        check=one_of(*BACKGROUNDS),
        doc="flat background: nonnegative (b >= 0), free (over-subtracted blank) or none",
    )
    power_law_exponent: float | None = setting(None, kind=float, check=positive, doc="also fit c (q/q_min)^-N, c >= 0")
    q_range_nm: tuple[float, float] | None = setting(
        None, kind=tuple, check=pair, hint="give [qmin, qmax] in 1/nm", doc="fit range in 1/nm; none: the whole curve"
    )
    contrast_1e6_A2: float | None = setting(
        None,
        kind=float,
        check=positive,
        doc="SLD difference in 1e-6 A^-2; with I in 1/cm the fractions are absolute; none: relative",
    )
    selection: str = setting(
        "bic",
        kind=str,
        check=one_of(*SELECTIONS),
        doc="which families are present: bic (lowest BIC over all subsets of terms) or none (keep all)",
    )


@dataclasses.dataclass(frozen=True)
class Family:
    """A discrete family: Gaussian volume-weighted radii, mean refinable inside ``window_nm``.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``"CdSe-437"``.
    radius_nm : float
        Nominal mean radius (nm), the start of the refinement.
    sd_nm : float
        Standard deviation of the radius distribution (nm, fixed).
    window_nm : (float, float), optional
        Radius refinement window (lo, hi) in nm containing ``radius_nm``; lo == hi fixes
        the radius.  Default ``radius_nm -+ DEFAULT_HALF_WINDOW_NM``.
    absorption_nm : float, optional
        First-exciton absorption wavelength of the family (for the optical comparison).
    """

    name: str
    radius_nm: float
    sd_nm: float = DEFAULT_SD_NM
    window_nm: tuple[float, float] | None = None
    absorption_nm: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"family name={self.name!r} must be a non-empty string")
        r = _positive(f"family {self.name}: radius_nm", self.radius_nm, "nm")
        sd = _positive(f"family {self.name}: sd_nm", self.sd_nm, "nm")
        if sd > 0.25 * r:
            raise ValueError(
                f"family {self.name}: sd_nm={sd:g} is more than 25 % of radius_nm={r:g}; a family is a "
                "narrow population: use the continuous (log-normal) population for broad ones"
            )
        win = self.window_nm
        if win is None:
            win = (max(r - DEFAULT_HALF_WINDOW_NM, 1e-3), r + DEFAULT_HALF_WINDOW_NM)
        if len(win) != 2:
            raise ValueError(f"family {self.name}: window_nm={win!r} must be two radii (lo, hi) in nm")
        lo, hi = (_positive(f"family {self.name}: window_nm", v, "nm") for v in win)
        if not lo <= r <= hi:
            raise ValueError(f"family {self.name}: window_nm=[{lo:g}, {hi:g}] must contain radius_nm={r:g}")
        if self.absorption_nm is not None:
            object.__setattr__(
                self, "absorption_nm", _positive(f"family {self.name}: absorption_nm", self.absorption_nm, "nm")
            )
        object.__setattr__(self, "radius_nm", r)
        object.__setattr__(self, "sd_nm", sd)
        object.__setattr__(self, "window_nm", (lo, hi))

    @property
    def refined(self) -> bool:
        """True when the radius is free inside its window."""
        lo, hi = _window(self)
        return hi > lo

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "radius_nm": self.radius_nm,
            "sd_nm": self.sd_nm,
            "window_nm": list(_window(self)),
            "absorption_nm": self.absorption_nm,
        }


@dataclasses.dataclass(frozen=True)
class Continuous:
    """The continuous population: a volume-weighted log-normal (median, sigma of ln r).

    ``median_nm`` and ``sigma`` are the (lo, hi) bounds of the refinement.  The lower
    bound on sigma keeps the population broad, so it cannot impersonate a family.
    """

    median_nm: tuple[float, float] = (0.6, 6.0)
    sigma: tuple[float, float] = (0.08, 0.5)

    def __post_init__(self) -> None:
        for key in ("median_nm", "sigma"):
            v = getattr(self, key)
            if len(v) != 2:
                raise ValueError(f"continuous {key}={v!r} must be bounds (lo, hi)")
            lo, hi = (_positive(f"continuous {key}", x, "") for x in v)
            if not lo < hi:
                raise ValueError(f"continuous {key}=[{lo:g}, {hi:g}]: lo must be < hi")
            object.__setattr__(self, key, (lo, hi))
        if self.sigma[0] < 0.05:
            raise ValueError(
                f"continuous sigma lower bound {self.sigma[0]:g} < 0.05: a log-normal that narrow is a "
                "family; declare it as a family instead"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"median_nm": list(self.median_nm), "sigma": list(self.sigma)}


def _window(f: Family) -> tuple[float, float]:
    """``f.window_nm``, always set (to a (lo, hi) tuple) by ``Family.__post_init__`` (for the type checker)."""
    return cast(tuple[float, float], f.window_nm)


def _positive(name: str, value: Any, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"{name}={value!r} must be a number{' in ' + unit if unit else ''}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}={value!r} must be finite and > 0{' ' + unit if unit else ''}")
    return v


def parse_family(text: str) -> Family:
    """Parse ``NAME:R[:SD[:HALF]]`` (nm): name, radius, standard deviation, refinement half-window.

    ``HALF = 0`` fixes the radius.

    Examples
    --------
    >>> parse_family("CdSe-437:0.94:0.025:0.02").window_nm
    (0.9199999999999999, 0.96)
    """
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 4 or not parts[0].strip():
        raise ValueError(
            f"--family {text!r}: expected NAME:R[:SD[:HALF]] with radius R, standard deviation SD and "
            "refinement half-window HALF in nm, e.g. CdSe-437:0.94:0.025:0.02"
        )
    try:
        nums = [float(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"--family {text!r}: R, SD and HALF must be numbers in nm, e.g. CdSe-437:0.94:0.025") from None
    r = nums[0]
    sd = nums[1] if len(nums) > 1 else DEFAULT_SD_NM
    half = nums[2] if len(nums) > 2 else DEFAULT_HALF_WINDOW_NM
    if not (math.isfinite(half) and 0 <= half < r):
        raise ValueError(f"--family {text!r}: half-window {half!r} must be >= 0 and < the radius")
    return Family(parts[0].strip(), r, sd, (r - half, r + half))


def check_families(families: Sequence[Family]) -> tuple[Family, ...]:
    """Validate a family list: unique names, non-overlapping refinement windows (all problems at once).

    Raises
    ------
    ValueError
        Listing every duplicate name and every pair of overlapping windows.
    """
    fams = tuple(families)
    problems = []
    for f in fams:
        if not isinstance(f, Family):
            raise TypeError(f"families must be Family objects, got {type(f).__name__}")
    names = [f.name for f in fams]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"family name {n!r} is used {names.count(n)} times; names must be unique")
    order = sorted(fams, key=lambda f: _window(f)[0])
    for a, b in zip(order, order[1:]):
        (a_lo, a_hi), (b_lo, b_hi) = _window(a), _window(b)
        if b_lo <= a_hi:
            problems.append(
                f"families {a.name} (window {a_lo:g}-{a_hi:g} nm) and {b.name} "
                f"(window {b_lo:g}-{b_hi:g} nm) overlap: two families refined in a "
                "shared range are not identifiable; narrow the windows (HALF in NAME:R:SD:HALF) so they "
                "are disjoint"
            )
    if problems:
        raise ValueError("bad family definitions:\n  " + "\n  ".join(problems))
    return tuple(sorted(fams, key=lambda f: f.radius_nm))


def families_from_windows(populations: Sequence[Any], *, sd_nm: float = DEFAULT_SD_NM) -> tuple[Family, ...]:
    """Families from the pipeline's population windows (objects with ``name``, ``family_radius_nm``,
    ``label`` and ``absorption_nm``, e.g. :class:`saxs_mc.pipeline.config.PopulationWindow`).

    Windows without ``family_radius_nm`` (e.g. "regular NCs") are skipped: use the continuous
    population for them.  Radii are fixed; the name is the label when there is one.
    """
    out = [
        Family(p.label or p.name, p.family_radius_nm, sd_nm, None, p.absorption_nm)
        for p in populations
        if getattr(p, "family_radius_nm", None) is not None
    ]
    return check_families(out)


_FAMILY_KEYS = {"name", "radius_nm", "sd_nm", "window_nm", "half_window_nm", "absorption_nm"}
_SETTING_KEYS = {"continuous", "background", "power_law_exponent", "q_range_nm", "contrast_1e6_A2", "selection"}


def load_families_config(path: str | Path) -> dict[str, Any]:
    """Read families and settings from a TOML file.

    Layout::

        background = "nonnegative"      # optional settings: background, power_law_exponent,
        q_range_nm = [0.3, 7.0]         # q_range_nm, contrast_1e6_A2, selection
        contrast_1e6_A2 = 34.65
        [continuous]                    # optional: a log-normal population (bounds)
        median_nm = [0.6, 6.0]
        sigma = [0.08, 0.5]
        [[family]]
        name = "CdSe-437"
        radius_nm = 0.94
        sd_nm = 0.025                   # optional (default 0.025)
        half_window_nm = 0.02           # or window_nm = [0.92, 0.96]
        absorption_nm = 437             # optional

    Returns
    -------
    dict
        ``families`` (tuple of Family) and the settings present, as keyword arguments of
        :func:`saxs_mc.families.decompose`.

    Raises
    ------
    ValueError
        Naming the file and every unknown key or bad value.
    """
    import tomllib  # not at CLI start-up

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the families file ({exc})") from exc
    problems = [
        f"unknown key {k!r} (allowed: family, {', '.join(sorted(_SETTING_KEYS))})"
        for k in doc
        if k not in _SETTING_KEYS | {"family"}
    ]
    fams = []
    for i, t in enumerate(doc.get("family", [])):
        bad = sorted(set(t) - _FAMILY_KEYS)
        if bad:
            problems.append(f"[[family]] #{i + 1}: unknown key(s) {bad} (allowed: {sorted(_FAMILY_KEYS)})")
            continue
        try:
            fams.append(_family_from_table(t))
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(f"[[family]] #{i + 1}: {exc}")
    out: dict[str, Any] = {k: v for k, v in doc.items() if k in _SETTING_KEYS and k != "continuous"}
    if "continuous" in doc:
        try:
            c = doc["continuous"]
            out["continuous"] = Continuous(**c) if isinstance(c, dict) else bool(c)
        except (ValueError, TypeError) as exc:
            problems.append(f"[continuous]: {exc}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    if fams:
        try:
            out["families"] = check_families(fams)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return out


def _family_from_table(t: dict[str, Any]) -> Family:
    if "name" not in t or "radius_nm" not in t:
        raise ValueError("needs name and radius_nm")
    if "window_nm" in t and "half_window_nm" in t:
        raise ValueError("give window_nm or half_window_nm, not both")
    r = float(t["radius_nm"])
    win = t.get("window_nm")
    if "half_window_nm" in t:
        h = float(t["half_window_nm"])
        win = (r - h, r + h)
    return Family(
        str(t["name"]),
        r,
        float(t.get("sd_nm", DEFAULT_SD_NM)),
        tuple(win) if win is not None else None,
        t.get("absorption_nm"),
    )


#: the CdSe magic-size families of the reference study (Palencia et al. 2020), named by absorption peak
CDSE_MSC_FAMILIES: tuple[Family, ...] = (
    Family("CdSe-403", 0.87, absorption_nm=403.0),
    Family("CdSe-437", 0.94, absorption_nm=437.0),
    Family("CdSe-465", 1.02, absorption_nm=465.0),
)
