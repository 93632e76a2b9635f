"""Reduction settings and the header-key map (ESRF ID02 conventions by default)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

Q_UNITS = {"1/nm": "q_nm^-1", "1/A": "q_A^-1"}
ERROR_MODELS = ("poisson", "azimuthal")
#: what each frame is divided by (see :class:`ReductionSettings`)
NORMALIZATIONS = ("monitor", "exposure", "constant", "none")
#: frame / mask orientation changes: top-to-bottom (Fit2D, Dioptas), left-to-right, both
FLIPS = ("ud", "lr", "udlr")
#: HeaderMap fields a monitor table (CSV/TSV/log beside the frames) can supply per frame
TABLE_FIELDS = ("frame", "transmitted_monitor", "incident_monitor", "exposure_time")


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

    transmitted_monitor: str = "Intensity1ShutCor"
    incident_monitor: str | None = "Intensity0ShutCor"
    exposure_time: str | None = "ExposureTime"
    monitor_is_rate: bool = False
    dummy: str | None = "Dummy"
    delta_dummy: str | None = "DDummy"
    thickness_cm: str | None = "SampleThickness_cm"
    temperature_C: str | None = "SampleTemperature_C"
    center_1: str = "Center_1"
    center_2: str = "Center_2"
    psize_1: str = "PSize_1"
    psize_2: str = "PSize_2"
    sample_distance: str = "SampleDistance"
    wavelength: str = "WaveLength"
    title: str | None = "Title"
    count_cutoff: str | None = "Count_cutoff"

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

    npt: int | None = None
    q_range: tuple[float, float] | None = None
    q_unit: str = "1/nm"
    error_model: str = "poisson"
    method: tuple[str, str, str] = ("full", "csr", "cython")
    polarization_factor: float | None = 0.99
    correct_solid_angle: bool = True
    thickness_cm: float | None = None
    calibration_factor: float | None = 1.0
    calibration_factor_sigma: float | None = None
    empty_cell_transmission: float | None = None
    reject_outliers: bool = True
    reject_mad_threshold: float = 5.0
    reject_min_rel_dev: float = 0.01
    nan_policy: str = "error"
    bad_frames: str = "error"
    header: HeaderMap = dataclasses.field(default_factory=HeaderMap)
    normalization: str = "monitor"
    normalization_constant: float | None = None
    monitor_table: str | None = None
    table_columns: tuple[tuple[str, str], ...] = ()
    flip: str | None = None
    mask_flip: str | None = None
    saturation: float | None = None
    geometry_tolerance: float = 0.01

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


def _finite_positive(v: Any) -> bool:
    try:
        return 0 < float(v) < float("inf")
    except (TypeError, ValueError):
        return False


def _problems(s: ReductionSettings) -> list[str]:
    """Every invalid value of ``s`` (one message each: field, value, fix)."""
    out: list[str] = []

    def bad(name: str, fix: str) -> None:
        out.append(f"ReductionSettings.{name}={getattr(s, name)!r} is invalid; {fix}")

    _value_problems(s, bad)
    _frame_problems(s, bad)
    if not isinstance(s.header, HeaderMap):
        out.append(f"ReductionSettings.header must be a HeaderMap, got {type(s.header).__name__}")
    return out


def _value_problems(s: ReductionSettings, bad: Any) -> None:
    """Integration, scale and rejection settings."""
    if s.npt is not None and (isinstance(s.npt, bool) or not isinstance(s.npt, int) or s.npt < 2):
        bad("npt", "give an integer >= 2 (number of q bins), or None for one bin per pixel of radius")
    if s.q_range is not None:
        try:
            lo, hi = (float(x) for x in s.q_range)
            ok = 0 <= lo < hi < float("inf")
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad("q_range", "give (qmin, qmax) with 0 <= qmin < qmax, in q_unit")
    if s.q_unit not in Q_UNITS:
        bad("q_unit", f"use one of {list(Q_UNITS)}")
    if s.error_model not in ERROR_MODELS:
        bad("error_model", f"use one of {ERROR_MODELS}")
    if s.polarization_factor is not None and not -1.0 <= float(s.polarization_factor) <= 1.0:
        bad("polarization_factor", "use a value in [-1, 1] or None")
    for name in ("thickness_cm", "calibration_factor", "empty_cell_transmission", "normalization_constant", "saturation"):
        if getattr(s, name) is not None and not _finite_positive(getattr(s, name)):
            bad(name, "give a positive finite number or None")
    cs = s.calibration_factor_sigma
    if cs is not None and not (0 <= float(cs) < float("inf")):
        bad("calibration_factor_sigma", "give a finite number >= 0 or None")
    if cs is not None and s.calibration_factor is None:
        bad("calibration_factor_sigma", "an uncertainty needs a calibration_factor; set both or neither")
    if not s.reject_mad_threshold > 0:
        bad("reject_mad_threshold", "give a positive number (typ. 4-6)")
    if not s.reject_min_rel_dev >= 0:
        bad("reject_min_rel_dev", "give a number >= 0 (typ. 0.01)")
    if s.nan_policy not in ("error", "mask"):
        bad("nan_policy", "use 'error' or 'mask'")
    if s.bad_frames not in ("error", "reject"):
        bad("bad_frames", "use 'error' or 'reject'")
    if not 0 < s.geometry_tolerance < 1:
        bad("geometry_tolerance", "give a relative tolerance in (0, 1), e.g. 0.01")


def _frame_problems(s: ReductionSettings, bad: Any) -> None:
    """Normalisation, orientation and monitor-table settings."""
    if s.normalization not in NORMALIZATIONS:
        bad("normalization", f"use one of {list(NORMALIZATIONS)} (monitor: transmitted monitor; exposure: per second; "
                             "constant: normalization_constant; none: raw counts)")
    elif s.normalization == "constant" and s.normalization_constant is None:
        bad("normalization", "normalization='constant' needs normalization_constant (CLI: --normalization constant=F)")
    elif s.normalization_constant is not None and s.normalization != "constant":
        bad("normalization_constant", "only used with normalization='constant'; drop it or set normalization='constant'")
    for name in ("flip", "mask_flip"):
        if getattr(s, name) is not None and getattr(s, name) not in FLIPS:
            bad(name, f"use one of {list(FLIPS)} or None (ud: top-to-bottom, as Fit2D and Dioptas images)")
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
