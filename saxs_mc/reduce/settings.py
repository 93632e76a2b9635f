"""Reduction settings and the header-key map (ESRF ID02 conventions by default)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from saxs_mc._settings import (
    between,
    non_negative,
    one_of,
    pair,
    positive,
    problems,
    setting,
    strings,
)
from saxs_mc.models.water import WATER_DSIGMA_20C_1_CM

Q_UNITS = {"1/nm": "q_nm^-1", "1/A": "q_A^-1"}
ERROR_MODELS = ("poisson", "azimuthal")
#: what each frame is divided by (see :class:`ReductionSettings`)
NORMALIZATIONS = ("monitor", "exposure", "constant", "none")
#: frame / mask orientation changes: top-to-bottom (Fit2D, Dioptas), left-to-right, both
FLIPS = ("ud", "lr", "udlr")
#: HeaderMap fields a monitor table (CSV/TSV/log beside the frames) can supply per frame
TABLE_FIELDS = ("frame", "transmitted_monitor", "incident_monitor", "exposure_time")
#: most q bins of a reduced curve
MAX_NPT = 10000


_HEADER_HINT = "give the header key name, or false if the beamline does not record it"


@dataclasses.dataclass(frozen=True)
class HeaderMap:
    """Names of the frame-header keys the reduction reads.

    Defaults follow ESRF ID02 EDF headers.  Set a key to ``None`` to say the
    beamline does not record it (e.g. ``incident_monitor=None``: no transmission,
    hence no transmission-based frame rejection).  A configured monitor key that
    is missing from a frame's header is an error, never a silent fallback.

    Attributes
    ----------
    transmitted_monitor : str
        Photons transmitted through the sample during the exposure (normalization monitor).
    incident_monitor : str or None
        Incident photons; transmission = transmitted / incident.
    exposure_time : str or None
        Exposure in s (reported; used for normalization only if ``monitor_is_rate``).
    monitor_is_rate : bool
        True if the monitors are count *rates* (1/s): they are multiplied by the exposure time.
    dummy, delta_dummy : str or None
        Invalid-pixel marker: a pixel is invalid where ``|value - Dummy| <= DDummy``;
        ``Dummy == 0`` means no dummy (ID02 convention).
    thickness_cm : str or None
        Sample thickness in cm (used when ``ReductionSettings.thickness_cm`` is None).
    temperature_C : str or None
        Sample temperature in C (reported; used to pick blanks).
    center_1, center_2, psize_1, psize_2, sample_distance, wavelength : str
        Geometry (pixels, m, m, m) used when no PONI file is given.
    title : str or None
        Sample title.
    count_cutoff : str or None
        Counts at or above this value are saturated and masked (Pilatus TIFF ``Count_cutoff``).

    Header values may carry a unit (``Exposure_time: 10.0000000 s``, ``Wavelength: 1.54 A``):
    the number is read and the unit converted (s, ms; m, mm, A, nm).
    """

    transmitted_monitor: str = setting(
        "Intensity1ShutCor",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="photons through the sample (normalization monitor)",
    )
    incident_monitor: str | None = setting(
        "Intensity0ShutCor", kind=str, optional=True, hint=_HEADER_HINT, doc="incident photons (transmission = I1/I0)"
    )
    exposure_time: str | None = setting(
        "ExposureTime", kind=str, optional=True, hint=_HEADER_HINT, doc="exposure time in s"
    )
    monitor_is_rate: bool = setting(
        False, kind=bool, doc="true if the monitors are rates (1/s): multiplied by the exposure"
    )
    dummy: str | None = setting(
        "Dummy",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="invalid pixel value (|I - Dummy| <= DDummy); Dummy = 0: none",
    )
    delta_dummy: str | None = setting(
        "DDummy", kind=str, optional=True, hint=_HEADER_HINT, doc="tolerance of the invalid pixel value"
    )
    thickness_cm: str | None = setting(
        "SampleThickness_cm",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="sample thickness in cm (when no thickness is given)",
    )
    temperature_C: str | None = setting(
        "SampleTemperature_C", kind=str, optional=True, hint=_HEADER_HINT, doc="sample temperature in C"
    )
    center_1: str = setting(
        "Center_1",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="beam centre (pixels), used only without a PONI file",
    )
    center_2: str = setting(
        "Center_2",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="beam centre (pixels), used only without a PONI file",
    )
    psize_1: str = setting(
        "PSize_1", kind=str, optional=True, hint=_HEADER_HINT, doc="pixel size (m), used only without a PONI file"
    )
    psize_2: str = setting(
        "PSize_2", kind=str, optional=True, hint=_HEADER_HINT, doc="pixel size (m), used only without a PONI file"
    )
    sample_distance: str = setting(
        "SampleDistance",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="sample-detector distance (m), used only without a PONI file",
    )
    wavelength: str = setting(
        "WaveLength", kind=str, optional=True, hint=_HEADER_HINT, doc="wavelength (m), used only without a PONI file"
    )
    title: str | None = setting("Title", kind=str, optional=True, hint=_HEADER_HINT, doc="sample title")
    count_cutoff: str | None = setting(
        "Count_cutoff",
        kind=str,
        optional=True,
        hint=_HEADER_HINT,
        doc="counts at or above it are masked (Pilatus TIFF)",
    )

    @classmethod
    def from_pairs(cls, pairs: Mapping[str, Any] | None = None, **kwargs: Any) -> HeaderMap:
        """Build from ``{"transmitted_monitor": "mon2", ...}`` (unknown fields are an error)."""
        values = {**(pairs or {}), **kwargs}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"HeaderMap: unknown field(s) {unknown}; known fields: {sorted(names)}")
        clean: dict[str, Any] = {}
        for k, v in values.items():
            if k == "monitor_is_rate":
                clean[k] = v if isinstance(v, bool) else str(v).strip().lower() in ("1", "true", "yes")
            else:
                clean[k] = None if v is None or str(v).strip().lower() in ("", "none") else str(v)
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HeaderMap:
        """Inverse of :meth:`to_dict` (unknown fields are an error)."""
        return cls.from_pairs(dict(d))


@dataclasses.dataclass(frozen=True)
class ReductionSettings:
    """Settings of the frame -> 1D curve reduction.

    Attributes
    ----------
    npt : int or None
        Number of q bins.  None (default): one bin per pixel of radial distance from the
        direct beam to the farthest unmasked pixel in the q range (``ceil(r_max - r_min)``
        in pixels), so that rings are resolved at the detector's resolution.
    q_range : (float, float) or None
        Radial range of the integration (in ``q_unit``); None: all pixels.
    q_unit : {"1/nm", "1/A"}
        Unit of the integration grid (the returned :class:`~saxs_mc.io.curves.Curve` is always in 1/nm).
    error_model : {"poisson", "azimuthal"}
        pyFAI error model.
    method : tuple of str
        pyFAI integration method (split, algorithm, implementation).
    polarization_factor : float or None
        pyFAI polarization factor (-1..1; ~0.99 for a horizontally polarized synchrotron beam);
        None: no polarization correction.
    correct_solid_angle : bool
        Divide by the pixel solid angle (must stay True for absolute intensities).
    thickness_cm : float or None
        Sample thickness; None: read it from the header (``HeaderMap.thickness_cm``).
    calibration_factor : float or None
        Absolute-scale factor (1.0 for simulated data, or from :func:`water_calibration`);
        None: intensities are reported in arbitrary units.
    calibration_factor_sigma : float or None
        One-sigma uncertainty of ``calibration_factor`` (same unit), recorded in the
        curve metadata and provenance.  It is a scale (systematic) uncertainty common
        to all points, so it is *not* folded into the per-point sigma.
    empty_cell_transmission : float or None
        I1/I0 of the empty cell; transmissions are reported relative to it.
    reject_outliers : bool
        Robust rejection of faulty frames (gas bubbles, spikes, shutter faults).
    reject_mad_threshold : float
        A frame is rejected when its transmission or integrated intensity deviates from
        the series median by more than this many robust standard deviations (1.4826 MAD).
    reject_min_rel_dev : float
        Floor of that robust standard deviation, relative to the median (guards against
        MAD = 0 in very stable series).
    nan_policy : {"error", "mask"}
        NaN/inf in unmasked pixels: error (default) or mask them silently.
    bad_frames : {"error", "reject"}
        A corrupt or inconsistent frame stops the reduction ("error") or is rejected and listed.
    header : HeaderMap
        Header key names.
    normalization : {"monitor", "exposure", "constant", "none"}
        What each frame is divided by: the transmitted monitor (header key or monitor table),
        the exposure time (header key, or table column), ``normalization_constant``, or
        nothing.  Anything but "monitor" gives relative intensities; with ``calibration_factor=None``
        they are stated as arbitrary units, and a thickness is optional.
    normalization_constant : float or None
        The divisor for ``normalization="constant"``.
    monitor_table : str or None
        A per-frame table beside the frames (CSV, TSV, whitespace, or a BioCAT/RAW ``.log``);
        its columns override the header keys (see :mod:`saxs_mc.reduce.monitors`).
    table_columns : tuple of (field, column)
        Column names for ``frame``, ``transmitted_monitor``, ``incident_monitor``,
        ``exposure_time``; unset fields are recognised by name (``I1``, ``I0``, ``Filename``, ...).
    flip, mask_flip : {"ud", "lr", "udlr"} or None
        Flip every frame / the mask before use: "ud" top-to-bottom (Fit2D and Dioptas refer
        to the image flipped this way), "lr" left-to-right, "udlr" both.
    saturation : float or None
        Counts at or above this are masked (overrides the header ``count_cutoff`` key).
    geometry_tolerance : float
        Relative difference between the PONI and the header distance/wavelength above which
        a warning is logged and recorded.
    """

    npt: int | None = setting(
        None,
        kind=int,
        check=between(
            10, MAX_NPT, integer=True, note=" (more q bins than detector pixels along the radius add no information)"
        ),
        doc="number of q bins; none: one per pixel of radius from the direct beam, to resolve rings",
    )
    q_range: tuple[float, float] | None = setting(
        None,
        kind=tuple,
        check=pair,
        hint="give [qmin, qmax] with 0 <= qmin < qmax",
        doc="radial range of the integration; none: all pixels",
    )
    q_unit: str = setting("1/nm", kind=str, check=one_of(*Q_UNITS), doc="unit of the integration grid")
    error_model: str = setting(
        "poisson",
        kind=str,
        check=one_of(*ERROR_MODELS),
        doc="uncertainty of each q bin: poisson (counting statistics) or azimuthal (ring spread)",
    )
    method: tuple[str, str, str] = setting(
        ("full", "csr", "cython"),
        kind=tuple,
        check=strings(3, '["full", "csr", "cython"]'),
        doc="pyFAI integration method (split, algorithm, implementation)",
    )
    polarization_factor: float | None = setting(
        0.99,
        kind=float,
        check=between(-1, 1),
        optional=True,
        hint="false: no polarization correction",
        doc="pyFAI polarization factor (-1..1)",
    )
    correct_solid_angle: bool = setting(True, kind=bool, doc="divide by the pixel solid angle (absolute intensities)")
    thickness_cm: float | None = setting(
        None, kind=float, check=positive, doc="sample thickness in cm; none: from each frame's header"
    )
    calibration_factor: float | None = setting(
        1.0,
        kind=float,
        check=positive,
        optional=True,
        hint="false: arbitrary units",
        doc="absolute scale factor (1/cm); none: arbitrary units",
    )
    calibration_factor_sigma: float | None = setting(
        None, kind=float, check=non_negative, doc="one-sigma uncertainty of calibration_factor"
    )
    empty_cell_transmission: float | None = setting(
        None, kind=float, check=positive, doc="I1/I0 of the empty cell (transmissions relative to it)"
    )
    reject_outliers: bool = setting(True, kind=bool, doc="robust rejection of faulty frames (gas bubbles, spikes)")
    reject_mad_threshold: float = setting(
        5.0, kind=float, check=positive, hint="typ. 4-6", doc="reject frames beyond this many robust sigmas"
    )
    reject_min_rel_dev: float = setting(
        0.01, kind=float, check=non_negative, hint="typ. 0.01", doc="floor of the robust sigma relative to the median"
    )
    nan_policy: str = setting(
        "error", kind=str, check=one_of("error", "mask"), doc="NaN/inf in unmasked pixels: error or mask them"
    )
    bad_frames: str = setting(
        "error",
        kind=str,
        check=one_of("error", "reject"),
        doc="corrupt or inconsistent frame: error (the reduction fails) or reject (listed)",
    )
    header: HeaderMap = dataclasses.field(default_factory=HeaderMap)
    normalization: str = setting(
        "monitor",
        kind=str,
        check=one_of(*NORMALIZATIONS),
        doc="what each frame is divided by: monitor, exposure (per second), constant, none",
    )
    normalization_constant: float | None = setting(
        None, kind=float, check=positive, doc="the divisor for normalization = constant"
    )
    monitor_table: str | None = setting(None, kind=str, doc="per-frame I0/I1/exposure table (CSV/TSV/.log)")
    table_columns: tuple[tuple[str, str], ...] = setting(
        (), kind=tuple, doc="monitor-table columns of frame, transmitted_monitor, incident_monitor, exposure_time"
    )
    flip: str | None = setting(
        None,
        kind=str,
        check=one_of(*FLIPS),
        hint="ud: top-to-bottom, as Fit2D and Dioptas images",
        doc="flip every frame: ud (top-to-bottom, Fit2D/Dioptas), lr, udlr",
    )
    mask_flip: str | None = setting(None, kind=str, check=one_of(*FLIPS), doc="flip the mask file only")
    saturation: float | None = setting(
        None, kind=float, check=positive, doc="mask counts at or above this; none: the header's count_cutoff"
    )
    geometry_tolerance: float = setting(
        0.01,
        kind=float,
        check=between(0, 1, open_lo=True),
        doc="relative PONI/header distance and wavelength difference that is logged",
    )

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:  # every problem at once
            raise ValueError("; ".join(problems))
        object.__setattr__(self, "method", tuple(self.method))
        object.__setattr__(self, "table_columns", tuple((str(k), str(v)) for k, v in dict(self.table_columns).items()))
        if self.q_range is not None:
            object.__setattr__(self, "q_range", (float(self.q_range[0]), float(self.q_range[1])))

    @property
    def absolute(self) -> bool:
        """True when intensities are on an absolute scale (a calibration factor is set)."""
        return self.calibration_factor is not None

    @property
    def pyfai_unit(self) -> str:
        return Q_UNITS[self.q_unit]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["method"] = list(self.method)
        d["q_range"] = None if self.q_range is None else list(self.q_range)
        d["table_columns"] = [list(kv) for kv in self.table_columns]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ReductionSettings:
        """Inverse of :meth:`to_dict` (e.g. from an output file's provenance).

        Unknown keys are an error; missing keys take their defaults.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"ReductionSettings: unknown field(s) {unknown}; known fields: {sorted(names)}")
        kw = dict(d)
        if "method" in kw:
            kw["method"] = tuple(kw["method"])
        if kw.get("table_columns"):
            kw["table_columns"] = tuple(tuple(kv) for kv in kw["table_columns"])
        if kw.get("q_range") is not None:
            kw["q_range"] = tuple(kw["q_range"])
        if "header" in kw and not isinstance(kw["header"], HeaderMap):
            kw["header"] = HeaderMap.from_dict(kw["header"] or {})
        return cls(**kw)


@dataclasses.dataclass(frozen=True)
class WaterReferenceSettings:
    """Settings of the absolute calibration against water (:func:`saxs_mc.reduce.calibration.water_calibration`)."""

    dsigma_1_cm: float = setting(
        WATER_DSIGMA_20C_1_CM,
        kind=float,
        check=positive,
        doc="differential scattering cross-section of water in 1/cm (0.0163 at 20 C)",
    )
    q_range_nm: tuple[float, float] = setting(
        (0.5, 3.0),
        kind=tuple,
        check=pair,
        hint="give [qmin, qmax] in 1/nm",
        doc="q range (1/nm) over which the water level is averaged",
    )


def _problems(s: ReductionSettings) -> list[str]:
    """Every invalid value of ``s`` (one message each: field, value, fix): the declarations, then the pairs."""
    out = problems(s)

    def bad(name: str, fix: str) -> None:
        out.append(f"ReductionSettings.{name}={getattr(s, name)!r} is invalid; {fix}")

    if s.calibration_factor_sigma is not None and s.calibration_factor is None:
        bad("calibration_factor_sigma", "an uncertainty needs a calibration_factor; set both or neither")
    _frame_problems(s, bad)
    if not isinstance(s.header, HeaderMap):
        out.append(f"ReductionSettings.header must be a HeaderMap, got {type(s.header).__name__}")
    return out


def _frame_problems(s: ReductionSettings, bad: Any) -> None:
    """Normalisation, orientation and monitor-table settings."""
    if s.normalization not in NORMALIZATIONS:
        pass  # named by the declaration
    elif s.normalization == "constant" and s.normalization_constant is None:
        bad("normalization", "normalization='constant' needs normalization_constant (CLI: --normalization constant=F)")
    elif s.normalization_constant is not None and s.normalization != "constant":
        bad(
            "normalization_constant", "only used with normalization='constant'; drop it or set normalization='constant'"
        )
    try:
        cols = dict(s.table_columns)
    except (TypeError, ValueError):
        cols = {}
        bad("table_columns", "give (field, column) pairs")
    unknown = sorted(set(cols) - set(TABLE_FIELDS))
    if unknown:
        bad("table_columns", f"unknown field(s) {unknown}; use {list(TABLE_FIELDS)}")
    if cols and s.monitor_table is None:
        bad("table_columns", "column names need a monitor_table (CLI: --monitor-table FILE)")
