"""Frames -> normalized, averaged 1D curve (pyFAI integrate1d, absolute scale, fault rejection).

Absolute scale (see the project contract): expected counts in pixel p are
``I1 * thickness_cm * dSigma/dOmega(q_p) * dOmega_p * pol_p`` with ``I1`` the
transmitted monitor and ``dOmega_p`` the *absolute* pixel solid angle.  pyFAI's
``correctSolidAngle`` divides by the solid angle relative to
``pixel1 * pixel2 / dist**2`` (it is 1 at the PONI), so each frame is integrated
with ``normalization_factor = I1 * thickness_cm * pixel1 * pixel2 / dist**2``
and the result is multiplied by the calibration factor.

Averaging: for Poisson data the statistically right combination is to *sum*
counts and normalizations over the accepted frames,
``I(q) = sum_f S_f(q) / sum_f N_f(q)`` with ``sigma = sqrt(sum_f V_f(q)) / sum_f N_f(q)``
(S, N, V: pyFAI's per-bin ``sum_signal``, ``sum_normalization``, ``sum_variance``).
This is the maximum-likelihood estimate when monitors differ between frames
(frames weigh by their exposure) and never averages ratios of small counts.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import math
import multiprocessing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from saxs_mc._progress import progress as _progress
from saxs_mc.io.curves import Curve
from saxs_mc.io.frames import (
    Frame,
    FrameError,
    FrameRef,
    expand_sources,
    iter_frames,
    read_frame,
    read_mask,
)
from saxs_mc.reduce._combine import _HEADER_SKIP, _common_header, _reject_outliers, _usable_frames
from saxs_mc.reduce._frame_checks import (  # noqa: F401  (re-exported: reduce.geometry imports _flip from here)
    _DEFAULT_KEYS,
    _KEY_ALIASES,
    SetupError,
    _check_finite,
    _dead_pixels,
    _flip,
    _get_float,
    _negative_markers,
    auto_npt,
    orientation_problem,
)
from saxs_mc.reduce.geometry import (
    absolute_solid_angle_factor,
    combined_mask,
    geometry_dict,
    geometry_differences,
    header_geometry_warnings,
    integrator_from_header,
    load_poni,
)
from saxs_mc.reduce.monitors import table_values
from saxs_mc.reduce.result import (  # noqa: F401  (re-exported: the public names stay importable from here)
    _SHA256_MEMO,
    FrameRecord,
    ReductionResult,
    _input_sha256,
    _Partial,
    normalization_statement,
)
from saxs_mc.reduce.settings import ReductionSettings

log = logging.getLogger(__name__)


class Reducer:
    """Reduce series of frames with one geometry, mask and settings.

    The pyFAI integrator is set up once (from the PONI, or from the first frame's
    ID02 header geometry when ``poni`` is None) and reused for every frame.  A PONI
    without a detector shape (PONI version 1, as older Dioptas writes) takes the shape
    of the (flipped) frames.

    Parameters
    ----------
    poni : str or Path, optional
        pyFAI PONI file (version 1 or 2).  None: geometry from each frame's header (must not change).
    mask : str or Path, optional
        Mask file (non-zero = masked); combined with the detector's gaps and dummy pixels.
    settings : ReductionSettings, optional
    """

    def __init__(
        self, poni: str | Path | None = None, mask: str | Path | None = None, settings: ReductionSettings | None = None
    ) -> None:
        if settings is None:
            settings = ReductionSettings()
        if not isinstance(settings, ReductionSettings):
            raise TypeError(f"settings must be a ReductionSettings, got {type(settings).__name__}")
        self.settings = settings
        self.poni = None if poni is None else str(poni)
        self.mask_file = None if mask is None else str(mask)
        self._ai = None
        self._pending = None  # a PONI integrator waiting for the frame shape
        self._mask: np.ndarray | None = None
        self._unmasked: np.ndarray | None = None
        self._omega_abs = float("nan")
        self._npt = settings.npt
        self._header_geom: tuple[float, ...] | None = None
        self._geometry_source = ""
        self._checked = False
        self.warnings: list[str] = []
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._pool_workers = 0
        if poni is not None:
            ai = load_poni(poni)
            if ai.detector.max_shape is None:
                self._pending = ai
            else:
                self._setup(ai, f"PONI file {poni}")

    # -- set-up ---------------------------------------------------------
    def _setup(self, ai, source: str) -> None:
        s = self.settings
        self._ai = ai
        self._mask = combined_mask(ai, self.mask_file, flip=s.flip, mask_flip=s.mask_flip)
        self._unmasked = None if self._mask is None else (self._mask == 0)
        self._omega_abs = absolute_solid_angle_factor(ai)
        self._geometry_source = source
        self._shape = (int(ai.detector.max_shape[0]), int(ai.detector.max_shape[1]))
        if s.npt is None:
            self._npt = auto_npt(ai, self._mask, self._shape, s.q_range, s.pyfai_unit)
            log.info("%d q bins: one per pixel of radius from the direct beam (set npt to change)", self._npt)

    @property
    def integrator(self):
        """The pyFAI AzimuthalIntegrator (None until the first frame when geometry comes from headers)."""
        return self._ai

    @property
    def npt(self) -> int | None:
        """Number of q bins used (``settings.npt`` or the automatic value once the geometry is known)."""
        return self._npt

    @property
    def geometry(self) -> dict[str, Any]:
        if self._ai is None:
            return {}
        return {
            **geometry_dict(self._ai),
            "source": self._geometry_source,
            "flip": self.settings.flip,
            "mask_flip": self.settings.mask_flip,
            "npt": self._npt,
        }

    def _header_geometry(self, frame: Frame) -> tuple[float, ...]:
        h = self.settings.header
        fields = ("center_1", "center_2", "psize_1", "psize_2", "sample_distance", "wavelength")
        out = []
        for f in fields:
            key = getattr(h, f)
            if key not in frame.header:
                raise SetupError(
                    f"{frame.name}: header key {key!r} (geometry, {f}) is missing; give a PONI file (--poni, "
                    f"or make one from a Fit2D calibration: saxs-mc geometry --from-fit2d) or map this "
                    f"beamline's key with HeaderMap({f}='<key>') (CLI: --header-key {f}=<key>)"
                )
            out.append(_get_float(frame.header, key, frame.name, f"geometry {f}", required=True, setting=f))
        return tuple(out)  # type: ignore[arg-type]

    def _ensure_integrator(self, frame: Frame, data: np.ndarray) -> None:
        if self._pending is not None:
            self._pending.detector.max_shape = data.shape
            ai, self._pending = self._pending, None
            self._setup(ai, f"PONI file {self.poni} (detector shape {data.shape} from the frames)")
        if self.poni is not None:
            return
        geom = self._header_geometry(frame)
        if self._ai is None:
            ai = integrator_from_header(frame.header, data.shape, self.settings.header, frame.name)
            self._setup(ai, f"header of {frame.name}")
            self._header_geom = geom
        elif not np.allclose(geom, self._header_geom, rtol=1e-9, atol=0):
            raise ValueError(
                f"{frame.name}: header geometry {geom} differs from the first frame's {self._header_geom}; "
                "reduce frames with different geometry separately, or give a PONI file"
            )

    def _first_frame_checks(self, frame: Frame, data: np.ndarray) -> None:
        """Once per series: mask orientation against the frame's dead pixels; PONI against header geometry."""
        if self._checked:
            return
        self._checked = True
        self._adopt_key_aliases(frame)
        s = self.settings
        if self.mask_file is not None:
            user = _flip(read_mask(self.mask_file, shape=self._shape), s.mask_flip)
            msg = orientation_problem(
                data, user, frame=frame.name, mask_file=self.mask_file, flip=s.flip, mask_flip=s.mask_flip
            )
            if msg:
                raise SetupError(msg)
        if self.poni is not None:
            for w in header_geometry_warnings(self._ai, frame.header, s.header, s.geometry_tolerance, frame.name):
                if w not in self.warnings:
                    log.warning("%s", w)
                    self.warnings.append(w)

    def _adopt_key_aliases(self, frame: Frame) -> None:
        """Where an ID02 default key is absent but another beamline's name is present (Pilatus ``Exposure_time``),
        use that key for the whole series; the settings (and so the provenance) name it."""
        h = self.settings.header
        change: dict[str, Any] = {}
        for field, aliases in _KEY_ALIASES.items():
            key = getattr(h, field)
            if key == _DEFAULT_KEYS[field] and key not in frame.header:
                alt = next((k for k in aliases if k in frame.header), None)
                if alt is not None:
                    change[field] = alt
        if change:
            log.info("%s: header keys %s used (the ID02 defaults are absent)", frame.name, change)
            self.settings = dataclasses.replace(self.settings, header=dataclasses.replace(h, **change))

    # -- one frame ------------------------------------------------------
    def _divisor(self, frame: Frame, table: Mapping[str, float]) -> dict[str, Any]:
        """Monitors, exposure and the normalization divisor of one frame (see ReductionSettings.normalization)."""
        s, h, name = self.settings, self.settings.header, frame.name
        mode = s.normalization
        strict = mode == "monitor"
        monitor = _get_float(
            frame.header,
            h.transmitted_monitor,
            name,
            "transmitted monitor",
            required=strict,
            setting="transmitted_monitor",
            table=table,
        )
        if (
            strict
            and h.incident_monitor is not None
            and h.incident_monitor not in frame.header
            and "incident_monitor" not in table
        ):
            # a silent fallback would switch off the transmission and, with it, gas-bubble rejection
            raise ValueError(
                f"{name}: header key {h.incident_monitor!r} (incident monitor, needed for the transmission I1/I0 and "
                f"transmission-based frame rejection) is missing; map this beamline's key with "
                f"HeaderMap(incident_monitor='<key>') (CLI: --header-key incident_monitor=<key>), or opt out explicitly "
                f"with HeaderMap(incident_monitor=None) (CLI: --header-key incident_monitor=None; no transmission is "
                f"then reported or used for rejection)"
            )
        incident = _get_float(
            frame.header,
            h.incident_monitor,
            name,
            "incident monitor",
            required=False,
            setting="incident_monitor",
            table=table,
        )
        exposure = _get_float(
            frame.header,
            h.exposure_time,
            name,
            "exposure time",
            required=mode == "exposure" or (strict and h.monitor_is_rate),
            setting="exposure_time",
            table=table,
        )
        if h.monitor_is_rate and exposure is not None:
            monitor = None if monitor is None else monitor * exposure
            incident = None if incident is None else incident * exposure
        divisor = {"monitor": monitor, "exposure": exposure, "constant": s.normalization_constant, "none": 1.0}[mode]
        transmission = None
        if incident is not None and incident > 0 and monitor is not None:
            transmission = monitor / incident
            if s.empty_cell_transmission is not None:
                transmission /= s.empty_cell_transmission
        return dict(monitor=monitor, incident=incident, exposure=exposure, divisor=divisor, transmission=transmission)

    def _frame_values(self, frame: Frame, table: Mapping[str, float] | None = None) -> dict[str, Any]:
        s, h, name = self.settings, self.settings.header, frame.name
        v = self._divisor(frame, table or {})
        if s.thickness_cm is not None:
            thickness = float(s.thickness_cm)
        elif h.thickness_cm is not None and h.thickness_cm in frame.header:
            got = _get_float(frame.header, h.thickness_cm, name, "thickness", required=True, setting="thickness_cm")
            assert got is not None  # required=True raises instead of returning None
            thickness = got
            if not thickness > 0:
                raise ValueError(f"{name}: header key {h.thickness_cm!r} = {thickness} must be > 0 cm")
        elif s.absolute:
            raise ValueError(
                f"{name}: sample thickness unknown: header key {h.thickness_cm!r} is missing and "
                "ReductionSettings.thickness_cm is None; give the thickness (CLI: --thickness-cm), or "
                "reduce in arbitrary units (--arbitrary-units, where a thickness is optional)"
            )
        else:
            thickness = None
        temperature = _get_float(
            frame.header, h.temperature_C, name, "temperature", required=False, setting="temperature_C"
        )
        dummy = _get_float(frame.header, h.dummy, name, "dummy value", required=False, setting="dummy")
        ddummy = _get_float(frame.header, h.delta_dummy, name, "delta dummy", required=False, setting="delta_dummy")
        if dummy == 0.0:  # ID02: Dummy = 0 means "no dummy"
            dummy = None
        cutoff = s.saturation
        if cutoff is None:
            cutoff = _get_float(
                frame.header, h.count_cutoff, name, "count cut-off", required=False, setting="count_cutoff"
            )
        return dict(
            v,
            thickness=thickness,
            temperature=temperature,
            dummy=dummy,
            cutoff=cutoff,
            ddummy=(0.0 if dummy is not None and ddummy is None else ddummy),
        )

    def _clean(self, data: np.ndarray, v: dict[str, Any], name: str) -> tuple[np.ndarray, float | None, float | None]:
        """Dead-pixel markers and saturated pixels become dummies; other negative counts and NaN are errors.

        Only unmasked pixels matter.  Returns the (possibly copied) data with the dummy and
        delta-dummy to integrate it with (the frame itself when nothing needs changing).
        """
        dummy, ddummy, cutoff = v["dummy"], v["ddummy"], v["cutoff"]
        unmasked = self._unmasked
        if data.dtype.kind == "f" and self.settings.nan_policy == "error":
            _check_finite(data, unmasked, name)
        invalid = None
        if data.dtype.kind == "u" and data.dtype.itemsize >= 2:
            invalid = data >= np.iinfo(data.dtype).max - 1  # 0xFFFFFFFF / 0xFFFFFFFE: gap and dead-pixel markers
        elif data.dtype.kind in "if":
            invalid = _negative_markers(data, unmasked, dummy, ddummy, name)
        if cutoff is not None:
            sat = data >= cutoff
            invalid = sat if invalid is None else (invalid | sat)
        if invalid is None:
            return data, dummy, ddummy
        if unmasked is not None:
            invalid &= unmasked
        if not invalid.any():
            return data, dummy, ddummy
        fill = -1.0 if dummy is None else float(dummy)
        out = data.astype(np.float32 if data.dtype.itemsize <= 4 else np.float64)
        out[invalid] = fill
        return out, fill, (0.5 if dummy is None else ddummy)

    def integrate_frame(
        self, frame: Frame, table: Mapping[str, float] | None = None
    ) -> tuple[FrameRecord, _Partial | None]:
        """Integrate and normalize one frame; returns its record and pyFAI sums (None if the frame is unusable).

        ``table``: this frame's values from a monitor table (override the header keys).
        """
        s, name = self.settings, frame.name
        data = _flip(frame.data, s.flip)
        self._ensure_integrator(frame, data)
        if data.shape != self._shape:
            raise ValueError(
                f"{name}: frame shape {data.shape} does not match the detector shape {self._shape} of the "
                f"{self._geometry_source}; use the PONI/mask made for this detector (and binning)"
            )
        self._first_frame_checks(frame, data)
        v = self._frame_values(frame, table)
        rec = dict(
            name=name,
            file=str(frame.ref.path),
            index=frame.ref.index,
            monitor=v["monitor"],
            incident=v["incident"],
            transmission=v["transmission"],
            exposure_s=v["exposure"],
            thickness_cm=v["thickness"],
            temperature_C=v["temperature"],
            divisor=v["divisor"],
        )
        if not v["divisor"] > 0:
            what = {"monitor": "transmitted monitor", "exposure": "exposure time"}.get(s.normalization, "divisor")
            return FrameRecord(
                **rec,
                integrated_intensity=None,
                integrated_sigma=None,
                rejected=True,
                reason=f"{what} {v['divisor']:g} <= 0 (shutter fault / beam lost?)",
            ), None
        data, dummy, ddummy = self._clean(data, v, name)
        thickness = 1.0 if v["thickness"] is None else v["thickness"]
        norm = v["divisor"] * thickness * self._omega_abs
        assert self._ai is not None  # set by _ensure_integrator before any frame is integrated
        res = self._ai.integrate1d(
            data,
            self._npt,
            unit=s.pyfai_unit,
            error_model=s.error_model,
            method=s.method,
            mask=self._mask,
            dummy=dummy,
            delta_dummy=ddummy,
            polarization_factor=s.polarization_factor,
            radial_range=s.q_range,
            correctSolidAngle=s.correct_solid_angle,
            normalization_factor=norm,
        )
        return self._record(frame, rec, res, v)

    def _record(
        self, frame: Frame, rec: dict[str, Any], res: Any, v: dict[str, Any]
    ) -> tuple[FrameRecord, _Partial | None]:
        """The frame's record and sums from pyFAI's result; a frame without counts is rejected."""
        count = np.asarray(res.count)
        if not np.any(count > 0):
            raise ValueError(
                f"{frame.name}: every pixel is masked (mask {self.mask_file}, Dummy={v['dummy']}, "
                f"DDummy={v['ddummy']}); check the mask convention (non-zero = masked) and the frame's "
                "Dummy value"
            )
        signal = np.asarray(res.sum_signal, dtype=float).reshape(-1)
        normsum = np.asarray(res.sum_normalization, dtype=float).reshape(-1)
        variance = np.asarray(res.sum_variance, dtype=float).reshape(-1)
        good = normsum > 0
        if not np.any(signal[good] != 0):
            return FrameRecord(
                **rec,
                integrated_intensity=None,
                integrated_sigma=None,
                rejected=True,
                reason="no counts in any unmasked pixel (all zero: detector not triggered, shutter "
                "closed or beam lost?)",
            ), None
        tot_n = float(normsum[good].sum())
        ii = float(signal[good].sum()) / tot_n
        isig = math.sqrt(float(variance[good].sum())) / tot_n
        header = {
            k: val for k, val in frame.header.items() if isinstance(val, (str, int, float)) and k not in _HEADER_SKIP
        }
        part = _Partial(
            radial=np.asarray(res.radial, dtype=float), signal=signal, norm=normsum, variance=variance, header=header
        )
        return FrameRecord(**rec, integrated_intensity=ii, integrated_sigma=isig), part

    def _integrate_refs(
        self,
        refs: Sequence[FrameRef],
        progress: bool = False,
        desc: str = "",
        table: Sequence[Mapping[str, float]] | None = None,
    ) -> list[tuple[FrameRecord, _Partial | None]]:
        out: list[tuple[FrameRecord, _Partial | None]] = []
        table = list(table) if table is not None else [{} for _ in refs]
        bar = _progress(len(refs), desc or "reduce", "frame", enabled=progress and len(refs) > 1)
        try:
            frames = iter_frames(refs)
            for k, ref in enumerate(refs):
                try:
                    frame = next(frames)
                    out.append(self.integrate_frame(frame, table[k]))
                except SetupError:
                    raise
                except (FrameError, ValueError) as exc:
                    if self.settings.bad_frames != "reject":
                        raise
                    log.warning("frame %s rejected: %s", ref.name, exc)
                    out.append((FrameRecord.unreadable(ref, exc), None))
                    frames.close()
                    if len(out) < len(refs):
                        frames = iter_frames(refs[len(out) :])
                bar.update(1)
            frames.close()
        finally:
            bar.close()
        return out

    def check(self, sources: str | Path | Iterable[str | Path] | Sequence[FrameRef], *, title: str = "") -> list[str]:
        """Every problem found before work starts: sources, monitor table, first and last frame.

        The first and the last frame are read and checked as the reduction would (geometry,
        shape, mask orientation, header keys, table rows, negative counts); the monitor table
        must have a row for every frame.  Nothing is written.

        Returns
        -------
        list of str
            One message per problem (empty when the series can be reduced).
        """
        who = f"{title}: " if title else ""
        try:
            refs = self._refs(sources)
        except (FrameError, ValueError) as exc:
            return [f"{who}{exc}"]
        problems: list[str] = []
        try:
            table = table_values(self.settings.monitor_table, self.settings.table_columns, refs)
        except ValueError as exc:
            problems.append(f"{who}{exc}")
            table = [{} for _ in refs]
        for k in sorted({0, len(refs) - 1}):
            for msg in self._check_frame(refs[k], table[k]):
                if f"{who}{msg}" not in problems:
                    problems.append(f"{who}{msg}")
        self._checked = False  # the reduction checks again (cheap), on the frames it reads
        return problems

    def _check_frame(self, ref: FrameRef, table: Mapping[str, float]) -> list[str]:
        """Problems of one frame: readable, geometry and shape, mask orientation, header keys, pixel values."""
        try:
            frame = read_frame(ref)
            data = _flip(frame.data, self.settings.flip)
            self._ensure_integrator(frame, data)
        except (FrameError, ValueError) as exc:
            return [str(exc)]
        if data.shape != self._shape:
            return [
                f"{frame.name}: frame shape {data.shape} does not match the detector shape {self._shape} of the "
                f"{self._geometry_source}; use the PONI/mask made for this detector (and binning)"
            ]
        out = []
        try:
            self._first_frame_checks(frame, data)
        except ValueError as exc:
            out.append(str(exc))
        try:
            self._clean(data, self._frame_values(frame, table), frame.name)
        except ValueError as exc:
            out.append(str(exc))
        return out

    @staticmethod
    def _refs(sources: Any) -> list[FrameRef]:
        if isinstance(sources, (list, tuple)) and sources and all(isinstance(r, FrameRef) for r in sources):
            return list(sources)
        return expand_sources(sources)

    # -- process pool (kept between reduce() calls; close() or use as a context manager) --
    def _get_pool(self, workers: int) -> concurrent.futures.ProcessPoolExecutor:
        from saxs_mc.reduce import _worker

        if self._pool is not None and self._pool_workers != workers:
            self.close()
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=workers,
                mp_context=ctx,
                initializer=_worker.init,
                initargs=(self.poni, self.mask_file, self.settings),
            )
            self._pool_workers = workers
        return self._pool

    def close(self) -> None:
        """Shut down the worker processes (if ``reduce(..., workers>1)`` started any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pool_workers = 0

    def __enter__(self) -> Reducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- a series -------------------------------------------------------
    def reduce(
        self,
        sources: str | Path | Iterable[str | Path] | Sequence[FrameRef],
        *,
        title: str,
        metadata: Mapping[str, Any] | None = None,
        progress: bool = False,
        workers: int = 1,
    ) -> ReductionResult:
        """Reduce a series of frames of one sample to one averaged, normalized curve.

        Parameters
        ----------
        sources : paths, globs, ``file.h5::/dataset[idx]`` specs (see :mod:`saxs_mc.io.frames`)
        title : str
            Sample name.
        metadata : dict, optional
            Extra JSON-safe metadata merged into ``curve.metadata``.
        progress : bool
            Report progress over frames: a tqdm bar when stderr is a terminal, otherwise a log
            line every :data:`saxs_mc._progress.LOG_INTERVAL_S` seconds.
        workers : int
            Number of processes (spawned once and kept for later calls; each builds its own
            integrator once).  Call :meth:`close` (or use the Reducer as a context manager) to end them.

        Returns
        -------
        ReductionResult

        Raises
        ------
        ValueError
            A bad frame (unless ``settings.bad_frames == "reject"``), or no usable frame left.

        Examples
        --------
        One sample of the shipped series minus its blank (geometry and mask from the shipped calibration):

        >>> from pathlib import Path
        >>> import saxs_mc
        >>> from saxs_mc.reduce import Reducer, ReductionSettings
        >>> root = Path(saxs_mc.__file__).parents[1]
        >>> with Reducer(poni=root / "calibration/id02_sim.poni", mask=root / "calibration/id02_sim_mask.edf",
        ...              settings=ReductionSettings(npt=200)) as reducer:
        ...     sample = reducer.reduce(str(root / "sample_data/cdse_series/nuc240C/*.edf"), title="nuc240C")
        ...     blank = reducer.reduce(str(root / "sample_data/cdse_series/blank_230C/*.edf"), title="blank_230C")
        >>> len(sample.frames), sample.rejected
        (3, ())
        >>> curve = sample.subtract(blank).curve
        >>> curve.q.shape, curve.intensity_unit
        ((200,), '1/cm')
        """
        if not isinstance(title, str):
            raise TypeError(f"title must be a str, got {type(title).__name__}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers={workers!r}; give an integer >= 1")
        refs = self._refs(sources)
        table = table_values(self.settings.monitor_table, self.settings.table_columns, refs)
        log.info("reducing %r: %d frame(s)", title, len(refs))
        if workers > 1 and len(refs) >= 2 * workers:
            items = self._integrate_parallel(refs, workers, progress, title, table)
        else:
            items = self._integrate_refs(refs, progress, title, table)
        return self._combine(items, refs, title, metadata)

    def _integrate_parallel(
        self, refs: list[FrameRef], workers: int, progress: bool, title: str, table: Sequence[Mapping[str, float]]
    ) -> list[tuple[FrameRecord, _Partial | None]]:
        from saxs_mc.reduce import _worker

        # contiguous chunks, a few per worker (load balance; frames stay in order)
        chunks = [c for c in np.array_split(np.arange(len(refs)), min(len(refs), 2 * workers)) if c.size]
        pool = self._get_pool(workers)
        results: list[Any] = [None] * len(chunks)
        futs = {
            pool.submit(_worker.integrate, [refs[i] for i in c], [table[i] for i in c]): k for k, c in enumerate(chunks)
        }
        try:
            with _progress(len(refs), title or "reduce", "frame", enabled=progress) as bar:
                for fut in concurrent.futures.as_completed(futs):
                    results[futs[fut]] = fut.result()
                    bar.update(len(chunks[futs[fut]]))
        except BaseException:
            for f in futs:
                f.cancel()
            raise
        items: list[tuple[FrameRecord, _Partial | None]] = []
        geoms = []
        for res_items, geom, warnings in results:
            items.extend(res_items)
            geoms.append(geom)
            self.warnings.extend(w for w in warnings if w not in self.warnings)
        if self._ai is None or self._pending is not None:  # header geometry / PONI v1: adopt the first frame's
            first = read_frame(refs[0])
            self._ensure_integrator(first, _flip(first.data, self.settings.flip))
        for g in geoms:
            diff = geometry_differences(self.geometry, g)
            if g and diff:
                raise ValueError(
                    f"{title}: frames in different worker chunks have different header geometry ({diff}); "
                    "reduce them separately"
                )
        return items

    def _combine(
        self,
        items: list[tuple[FrameRecord, _Partial | None]],
        refs: Sequence[FrameRef],
        title: str,
        metadata: Mapping[str, Any] | None,
    ) -> ReductionResult:
        """Reject faulty frames, sum the accepted ones and build the result (named steps below)."""
        records = [r for r, _ in items]
        parts = [p for _, p in items]
        usable = _usable_frames(records, parts, title)
        records = _reject_outliers(records, usable, self.settings, title)
        accepted = [i for i in usable if not records[i].rejected]
        rejected = tuple(r.name for r in records if r.rejected)
        for r in records:
            if r.rejected:
                log.warning("%s: frame %s rejected: %s", title, r.name, r.reason)
        if not accepted:
            raise ValueError(
                f"{title}: all {len(records)} frames were rejected; see the reasons in the log, or relax "
                "ReductionSettings.reject_mad_threshold / set reject_outliers=False"
            )
        used = [cast(_Partial, parts[i]) for i in accepted]  # usable frames have their partial sums
        curve = self._average_curve(used, [records[i] for i in accepted], records, title, metadata)
        inputs = tuple(dict.fromkeys(str(r.path) for r in refs))
        res = ReductionResult(
            curve=curve,
            frames=tuple(records),
            rejected=rejected,
            geometry=self.geometry,
            settings=self.settings,
            inputs=inputs,
            poni=self.poni,
            mask=self.mask_file,
            warnings=tuple(self.warnings),
        )
        log.info(
            "%s: averaged %d/%d frames%s",
            title,
            len(accepted),
            len(records),
            f", rejected {', '.join(rejected)}" if rejected else "",
        )
        return res

    def _average_curve(
        self,
        parts: list[_Partial],
        acc: list[FrameRecord],
        records: list[FrameRecord],
        title: str,
        metadata: Mapping[str, Any] | None,
    ) -> Curve:
        """Poisson ML average: sum counts and normalizations over the accepted frames."""
        s = self.settings
        sig = np.sum([p.signal for p in parts], axis=0)
        nrm = np.sum([p.norm for p in parts], axis=0)
        var = np.sum([p.variance for p in parts], axis=0)
        good = nrm > 0
        cal = 1.0 if s.calibration_factor is None else float(s.calibration_factor)
        q = parts[0].radial[good] * (10.0 if s.q_unit == "1/A" else 1.0)
        meta = self._curve_metadata(acc, records, int((~good).sum()), [p.header for p in parts])
        if metadata:
            meta.update(dict(metadata))
        return Curve(
            q=q,
            intensity=sig[good] / nrm[good] * cal,
            sigma=np.sqrt(var[good]) / nrm[good] * cal,
            intensity_unit="1/cm" if s.absolute else "arbitrary",
            title=title,
            metadata=meta,
        )

    def _curve_metadata(
        self, acc: list[FrameRecord], records: list[FrameRecord], n_dropped: int, headers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        s = self.settings

        def _med(vals: list[float | None]) -> float | None:
            vv = [x for x in vals if x is not None]
            return float(np.median(vv)) if vv else None

        monitors = [r.monitor for r in acc if r.monitor is not None]
        return {
            "kind": "reduced",
            "n_frames": len(records),
            "n_accepted": len(acc),
            "rejected_frames": [r.name for r in records if r.rejected],
            "transmission": _med([r.transmission for r in acc]),
            "temperature_C": _med([r.temperature_C for r in acc]),
            "thickness_cm": _med([r.thickness_cm for r in acc]),
            "monitor_total": float(sum(monitors)) if monitors else None,
            "normalization": normalization_statement(s),
            "calibration_factor": s.calibration_factor,
            "calibration_factor_sigma": s.calibration_factor_sigma,
            "n_empty_bins_dropped": n_dropped,
            "geometry": self.geometry,
            "warnings": list(self.warnings),
            "header": _common_header(headers),
        }
