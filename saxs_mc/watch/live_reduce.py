"""The fast curve path: a warm in-process reducer and per-sample running sums.

Each complete frame is integrated once, in the watch process, by a
:class:`saxs_mc.reduce.Reducer` built once per reduction settings (the pyFAI
integrator is built on the first frame and kept).  What is kept per frame is
its record and its 1D pyFAI sums (signal, normalization, variance: a few kB);
the sample's averaged curve is then the reducer's own combination of those
sums (the same code as ``saxs-mc run``: robust fault rejection over all the
frames so far, then the Poisson average), so a new frame costs one
integration plus O(n_frames x npt) additions -- no re-planning, no re-hashing,
no re-reading of earlier frames.  The rejection is re-evaluated over all the
frames because it is robust statistics over the series (a frame accepted at 2
frames may be an outlier at 3).  Blank subtraction is
:meth:`ReductionResult.subtract`, with the scale of the planned subtract step.

The settings come from the planned steps of the configuration
(:func:`saxs_mc.pipeline.run.plan_steps`), so the live curve is computed with
exactly the settings of the batch reduce/subtract steps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from saxs_mc.pipeline.config import PipelineConfig

log = logging.getLogger("saxs_mc.watch")


def _reduction_settings(step_settings: dict[str, Any], calibration_factor: float | None) -> Any:
    # the batch reduce step's translation of its settings (pipeline internal, see the final report)
    from saxs_mc.pipeline.steps import reduction_settings

    return reduction_settings(step_settings, calibration_factor)


class LiveReducer:
    """Per-sample/blank running state of the live reduction of ``cfg``.

    Parameters
    ----------
    cfg : PipelineConfig
        The watched configuration (globs may match nothing yet).
    """

    def __init__(self, cfg: PipelineConfig) -> None:
        from saxs_mc.pipeline.run import plan_steps

        self.cfg = cfg
        steps = plan_steps(cfg)
        self.reduce_settings = {s.target: s.settings for s in steps if s.kind == "reduce"}
        self.subtract_settings = {s.target: s.settings for s in steps if s.kind == "subtract"}
        self.fit_settings = {s.target: s.settings for s in steps if s.kind == "fit"}
        self.peaks_settings = {s.target: s.settings for s in steps if s.kind == "peaks"}
        self._calibrate = next((s.settings for s in steps if s.kind == "calibrate"), None)
        self._factor: float | None = None
        self._reducers: dict[str, Any] = {}
        self.items: dict[str, dict[Any, tuple[Any, Any]]] = {name: {} for name in self.reduce_settings}
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ set-up
    def _calibration_factor(self, s: dict[str, Any]) -> float | None:
        if self._calibrate is None:
            return s["calibration_factor"]
        if self._factor is None:  # water minus empty cell, once (as the batch calibrate step)
            from saxs_mc.reduce import Reducer, water_calibration

            c = self._calibrate
            red = Reducer(poni=c["poni"], mask=c["mask"], settings=_reduction_settings(c, 1.0))
            water = red.reduce(c["water_sources"], title="water")
            empty = red.reduce(c["empty_cell_sources"], title="empty_cell")
            self._factor = float(
                water_calibration(
                    water.curve, empty.curve, q_range_nm=tuple(c["q_range_nm"]), reference_1_cm=c["dsigma_1_cm"]
                ).factor
            )
        return self._factor

    def reducer(self, group: str) -> Any:
        """The warm :class:`~saxs_mc.reduce.Reducer` of ``group`` (shared by groups with the same settings)."""
        import json

        from saxs_mc.reduce import Reducer

        s = self.reduce_settings[group]
        settings = _reduction_settings(s, self._calibration_factor(s))
        key = json.dumps(
            {"poni": s["poni"], "mask": s["mask"], "settings": settings.to_dict()}, sort_keys=True, default=str
        )
        red = self._reducers.get(key)
        if red is None:
            red = self._reducers[key] = Reducer(poni=s["poni"], mask=s["mask"], settings=settings)
        return red

    def warm(self) -> float:
        """Build each reducer's pyFAI integration engine now (with a blank frame of the detector's shape), so
        that the first real frame does not pay for it; seconds spent.  Reducers whose geometry comes from the
        frame headers are built on their first frame."""
        import time

        import numpy as np

        t0 = time.perf_counter()
        for group in self.reduce_settings:
            red = self.reducer(group)
            ai, s = red.integrator, red.settings
            if ai is None or getattr(red, "_warm", False):
                continue
            # the same integration call as Reducer.integrate_frame (pyFAI caches the engine by these arguments)
            ai.integrate1d(
                np.zeros(red._shape, np.float32),
                red.npt,
                unit=s.pyfai_unit,
                error_model=s.error_model,
                method=s.method,
                mask=red._mask,
                polarization_factor=s.polarization_factor,
                radial_range=s.q_range,
                correctSolidAngle=s.correct_solid_angle,
                normalization_factor=1.0,
            )
            red._warm = True
        return time.perf_counter() - t0

    # ------------------------------------------------------------------ frames
    def add(self, group: str, ref: Any, table: Mapping[str, float] | None = None) -> Any:
        """Integrate one complete frame (a :class:`~saxs_mc.io.frames.FrameRef`) into ``group``; its record.

        A frame that cannot be read or integrated is kept as a rejected record (as the batch
        reduction does with ``bad_frames = "reject"``), or raises with ``bad_frames = "error"``.
        """
        from saxs_mc.io.frames import FrameError, read_frame
        from saxs_mc.reduce.reducer import FrameRecord, SetupError

        red = self.reducer(group)
        try:
            item = red.integrate_frame(read_frame(ref), table or {})
        except SetupError:
            raise
        except (FrameError, ValueError) as exc:
            if red.settings.bad_frames != "reject":
                raise
            item = (FrameRecord.unreadable(ref, exc), None)
        self.items[group][_key(ref)] = (ref, item)
        self._cache.pop(group, None)
        return item[0]

    def discard(self, group: str, ref: Any) -> None:
        """Forget a frame (its file disappeared)."""
        if self.items[group].pop(_key(ref), None) is not None:
            self._cache.pop(group, None)

    def n_frames(self, group: str) -> int:
        return len(self.items.get(group, {}))

    def frame_names(self, group: str) -> tuple[str, ...]:
        return tuple(ref.name for _, (ref, _it) in sorted(self.items[group].items()))

    def result(self, group: str) -> Any:
        """The group's :class:`~saxs_mc.reduce.ReductionResult` over its frames so far (None without frames).

        Frames are combined in the batch order (sorted file, then index) by the reducer's own
        combination step, so the curve is the one ``saxs-mc run`` computes for the same frames.
        Raises ValueError when every frame is rejected.
        """
        if group in self._cache:
            return self._cache[group]
        entries = [v for _, v in sorted(self.items[group].items())]
        if not entries:
            return None
        s = self.reduce_settings[group]
        red = self.reducer(group)
        quiet = logging.getLogger("saxs_mc.reduce.reducer")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # its per-frame rejection warnings: the watch logs each rejection once
        try:
            res = red._combine(
                [it for _, it in entries], [ref for ref, _ in entries], s["title"], s.get("metadata") or {}
            )
        finally:
            quiet.setLevel(level)
        self._cache[group] = res
        return res

    def subtracted(self, sample: str) -> Any:
        """Sample minus its blank (None until both have a usable frame)."""
        sub = self.subtract_settings[sample]
        try:
            smp, blank = self.result(sample), self.result(sub["blank"])
        except ValueError as exc:
            log.debug("%s: no live curve yet: %s", sample, exc)
            return None
        if smp is None or blank is None:
            return None
        quiet = logging.getLogger("saxs_mc.reduce.blank")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # its warnings (negative points) would repeat per frame: the batch sync logs them
        try:
            return smp.subtract(blank, scale=sub["scale"])
        finally:
            quiet.setLevel(level)


def _key(ref: Any) -> tuple[str, int]:
    return (str(ref.path), -1 if ref.index is None else int(ref.index))
