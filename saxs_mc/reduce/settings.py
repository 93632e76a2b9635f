"""Reduction settings and the header-key map (ESRF ID02 conventions by default)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

Q_UNITS = {"1/nm": "q_nm^-1", "1/A": "q_A^-1"}
ERROR_MODELS = ("poisson", "azimuthal")


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
    npt : int
        Number of q bins.
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
    """

    npt: int = 500
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

    def __post_init__(self) -> None:
        def bad(name: str, value: Any, fix: str) -> ValueError:
            return ValueError(f"ReductionSettings.{name}={value!r} is invalid; {fix}")

        if isinstance(self.npt, bool) or not isinstance(self.npt, (int,)) or self.npt < 2:
            raise bad("npt", self.npt, "give an integer >= 2 (number of q bins)")
        if self.q_unit not in Q_UNITS:
            raise bad("q_unit", self.q_unit, f"use one of {list(Q_UNITS)}")
        if self.error_model not in ERROR_MODELS:
            raise bad("error_model", self.error_model, f"use one of {ERROR_MODELS}")
        if self.polarization_factor is not None and not -1.0 <= float(self.polarization_factor) <= 1.0:
            raise bad("polarization_factor", self.polarization_factor, "use a value in [-1, 1] or None")
        for name in ("thickness_cm", "calibration_factor", "empty_cell_transmission"):
            v = getattr(self, name)
            if v is not None and not (float(v) > 0 and float(v) < float("inf")):
                raise bad(name, v, "give a positive finite number or None")
        cs = self.calibration_factor_sigma
        if cs is not None and not (0 <= float(cs) < float("inf")):
            raise bad("calibration_factor_sigma", cs, "give a finite number >= 0 or None")
        if cs is not None and self.calibration_factor is None:
            raise bad("calibration_factor_sigma", cs, "an uncertainty needs a calibration_factor; set both or neither")
        if not self.reject_mad_threshold > 0:
            raise bad("reject_mad_threshold", self.reject_mad_threshold, "give a positive number (typ. 4-6)")
        if not self.reject_min_rel_dev >= 0:
            raise bad("reject_min_rel_dev", self.reject_min_rel_dev, "give a number >= 0 (typ. 0.01)")
        if self.nan_policy not in ("error", "mask"):
            raise bad("nan_policy", self.nan_policy, "use 'error' or 'mask'")
        if self.bad_frames not in ("error", "reject"):
            raise bad("bad_frames", self.bad_frames, "use 'error' or 'reject'")
        if not isinstance(self.header, HeaderMap):
            raise TypeError(f"ReductionSettings.header must be a HeaderMap, got {type(self.header).__name__}")
        object.__setattr__(self, "method", tuple(self.method))

    @property
    def pyfai_unit(self) -> str:
        return Q_UNITS[self.q_unit]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["method"] = list(self.method)
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
        if "header" in kw and not isinstance(kw["header"], HeaderMap):
            kw["header"] = HeaderMap.from_dict(kw["header"] or {})
        return cls(**kw)
