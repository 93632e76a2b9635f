"""Planning: the steps of a pipeline, their settings and dependencies (executed by :mod:`saxs_mc.pipeline.run`).

Steps (see :mod:`saxs_mc.pipeline.steps` for what each one does)::

    per sample:  reduce/<s> -> subtract/<s> (with reduce/<blank>) -> fit/<s>
                                             \\-> peaks/<s> (-> fit/<s> with [fit] exclude_bragg_peaks)
                                             \\-> families/<s>   (with a [families] table)
                 optical/<s>   (a sample naming its absorbance spectrum)
    per blank:   reduce/<b> -> peaks/<b>
    series:      mesophase/series (blank peaks; only when blanks span >= 2 temperatures)
    optional:    calibrate/water -> every reduce step (absolute scale from water)

A time point of a ``[[stacks]]`` entry is a sample like any other (its frame references select
its frames in the stack).  Each reduce step's ``settings["metadata"]`` carries the conditions of
its sample or blank, flattened at top level and as ``conditions``, with ``series_axis``, ``stack``
and ``time_point``; they travel with the reduced curve to the report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .config import PipelineConfig
from .registry import DEFAULT_FUNCS, StepFunc
from .tasks import Step, derive_seed

#: keys of a reduce step's metadata besides the flattened conditions (a condition may not use them)
METADATA_KEYS = ("kind", "conditions", "series_axis", "stack", "time_point")


def plan_steps(cfg: PipelineConfig, funcs: Mapping[str, StepFunc] | None = None) -> list[Step]:
    """All steps of a pipeline, in a topological order.

    Parameters
    ----------
    cfg : PipelineConfig
    funcs : mapping kind -> step function, optional
        Overrides of :data:`DEFAULT_FUNCS` (tests inject fake step functions).

    Returns
    -------
    list of Step
        Calibration, then the blanks' reductions, then per sample reduce, subtract, fit, peaks
        (peaks before fit when the fit leaves the Bragg peaks out), families, optical; then the
        blanks' peaks and the mesophase series.
    """
    f = dict(DEFAULT_FUNCS)
    if funcs:
        unknown = set(funcs) - set(DEFAULT_FUNCS)
        if unknown:
            raise ValueError(f"step functions for unknown kinds {sorted(unknown)}; kinds: {sorted(DEFAULT_FUNCS)}")
        f.update(funcs)
    steps = _calibration_steps(cfg, f)
    cal_deps = tuple(s.id for s in steps)
    for b in cfg.blanks:
        steps.append(_reduce_step(cfg, f, b.name, b, step_metadata(cfg, b, "blank"), cal_deps))
    for s in cfg.samples:
        steps.append(_reduce_step(cfg, f, s.name, s, step_metadata(cfg, s, "sample"), cal_deps))
        steps.extend(_sample_steps(cfg, s, f))
        steps.extend(_family_steps(cfg, s, f))
    peaks_settings = _peaks_settings(cfg)
    for b in cfg.blanks:
        steps.append(
            Step(
                id=f"peaks/{b.name}",
                kind="peaks",
                target=b.name,
                func=f["peaks"],
                settings={"name": b.name, "role": "blank", "temperature_C": b.temperature_C, **peaks_settings},
                deps=(f"reduce/{b.name}",),
            )
        )
    steps.extend(_mesophase_steps(cfg, f))
    return steps


def step_metadata(cfg: PipelineConfig, item: Any, kind: str) -> dict[str, Any]:
    """A reduce step's metadata: ``kind``, every condition (flattened and as ``conditions``), the series axis,
    the stack and time point of a stack's time point (None otherwise)."""
    cond = dict(item.conditions)
    return {
        **cond,
        "kind": kind,
        "conditions": cond,
        "series_axis": cfg.series.axis,
        "stack": getattr(item, "stack", None),
        "time_point": getattr(item, "time_point", None),
    }


def _geometry_inputs(cfg: PipelineConfig) -> list[str]:
    out = [str(cfg.geometry.poni)] + ([str(cfg.geometry.mask)] if cfg.geometry.mask else [])
    if cfg.reduction.monitor_table:  # its content normalises every frame: a changed table must rerun the reductions
        out.append(str(cfg.reduction.monitor_table))
    return out


def _frame_inputs(sources: Any, files: Any) -> list[str]:
    """Inputs of a reduce step: a frame reference ``file.h5::/dataset[i:j]`` stands for its frames only
    (digested from their chunks and header values, :mod:`saxs_mc.pipeline.digests`), every other file whole."""
    from pathlib import Path

    from .digests import is_frame_ref, ref_file

    refs = [str(s) for s in sources if is_frame_ref(s)]
    covered = {ref_file(r).resolve() for r in refs}
    return [str(p) for p in files if Path(p).resolve() not in covered] + refs


def _base_reduce(cfg: PipelineConfig) -> dict[str, Any]:
    return {
        "poni": str(cfg.geometry.poni),
        "mask": str(cfg.geometry.mask) if cfg.geometry.mask else None,
        "reduction": dataclasses.asdict(cfg.reduction),
        "header": cfg.header.as_dict(),
        "calibration_factor": cfg.normalization.calibration_factor,
        "empty_cell_transmission": cfg.normalization.empty_cell_transmission,
    }


def _calibration_steps(cfg: PipelineConfig, f: Mapping[str, StepFunc]) -> list[Step]:
    water = cfg.normalization.water
    if water is None:
        return []
    return [
        Step(
            id="calibrate/water",
            kind="calibrate",
            target="water",
            func=f["calibrate"],
            settings={
                **_base_reduce(cfg),
                "thickness_cm": cfg.normalization.thickness_cm,
                "water_sources": list(water.sources),
                "empty_cell_sources": list(water.empty_cell_sources),
                "dsigma_1_cm": water.dsigma_1_cm,
                "q_range_nm": list(water.q_range_nm),
            },
            inputs=tuple(
                _geometry_inputs(cfg)
                + _frame_inputs(water.sources, water.files)
                + _frame_inputs(water.empty_cell_sources, water.empty_cell_files)
            ),
            n_frames=len(water.files) + len(water.empty_cell_files),
        )
    ]


def _reduce_step(
    cfg: PipelineConfig,
    f: Mapping[str, StepFunc],
    name: str,
    item: Any,
    metadata: dict[str, Any],
    cal_deps: tuple[str, ...],
) -> Step:
    thickness = item.thickness_cm if item.thickness_cm is not None else cfg.normalization.thickness_cm
    return Step(
        id=f"reduce/{name}",
        kind="reduce",
        target=name,
        func=f["reduce"],
        settings={
            **_base_reduce(cfg),
            "thickness_cm": thickness,
            "title": name,
            "sources": list(item.sources),
            "metadata": metadata,
        },
        inputs=tuple(_geometry_inputs(cfg) + _frame_inputs(item.sources, item.files)),
        deps=cal_deps,
        n_frames=item.n_frames,
    )


def _peaks_settings(cfg: PipelineConfig) -> dict[str, Any]:
    out = dataclasses.asdict(cfg.peaks)
    out.pop("samples")
    return out


def _sample_steps(cfg: PipelineConfig, s: Any, f: Mapping[str, StepFunc]) -> list[Step]:
    """``subtract/<s>``, ``fit/<s>`` and ``peaks/<s>`` (peaks first when the fit leaves the Bragg peaks out)."""
    blank = cfg.blank_for(s)
    subtract = Step(
        id=f"subtract/{s.name}",
        kind="subtract",
        target=s.name,
        func=f["subtract"],
        settings={"sample": s.name, "blank": blank.name, "scale": cfg.blank_matching.scale},
        deps=(f"reduce/{s.name}", f"reduce/{blank.name}"),
    )
    fit_settings = dataclasses.asdict(cfg.fit)
    for k in ("populations", "exclude_bragg_peaks", "exclude_fwhm"):
        fit_settings.pop(k)
    fit_settings["seed"] = derive_seed(fit_settings.pop("seed"), s.name)
    if cfg.material is not None:  # where the contrast came from: into each fit's manifest (provenance)
        fit_settings["material"] = cfg.material.summary()
    fit_deps: tuple[str, ...] = (f"subtract/{s.name}",)
    exclude = cfg.fit.exclude_bragg_peaks and cfg.peaks.samples
    if exclude:  # q within exclude_fwhm * FWHM of every peak found in peaks/<s> is left out of the fit
        fit_settings.update(exclude_bragg_peaks=True, exclude_fwhm=cfg.fit.exclude_fwhm)
        fit_deps += (f"peaks/{s.name}",)
    fit = Step(
        id=f"fit/{s.name}",
        kind="fit",
        target=s.name,
        func=f["fit"],
        settings={"sample": s.name, **fit_settings},
        deps=fit_deps,
    )
    if not cfg.peaks.samples:
        return [subtract, fit]
    peaks = Step(
        id=f"peaks/{s.name}",
        kind="peaks",
        target=s.name,
        func=f["peaks"],
        settings={"name": s.name, "role": "sample", **_peaks_settings(cfg)},
        deps=(f"subtract/{s.name}",),
    )
    return [subtract, peaks, fit] if exclude else [subtract, fit, peaks]


def _mesophase_steps(cfg: PipelineConfig, f: Mapping[str, StepFunc]) -> list[Step]:
    """``mesophase/series`` over the blanks with a temperature, when they span >= 2 temperatures."""
    temps = [b for b in cfg.blanks if b.temperature_C is not None]
    if len({b.temperature_C for b in temps}) < 2:
        return []
    ordered = sorted(temps, key=lambda b: b.temperature_C)  # type: ignore[arg-type, return-value]
    return [
        Step(
            id="mesophase/series",
            kind="mesophase",
            target="series",
            func=f["mesophase"],
            settings={"blanks": [b.name for b in ordered], "temperatures_C": [b.temperature_C for b in ordered]},
            deps=tuple(f"peaks/{b.name}" for b in ordered),
        )
    ]


def _family_steps(cfg: PipelineConfig, s: Any, f: Mapping[str, StepFunc]) -> list[Step]:
    """``families/<s>`` (with a ``[families]`` table) and ``optical/<s>`` (a sample naming its spectrum)."""
    fams = [
        {"name": w.display, "radius_nm": w.family_radius_nm, "absorption_nm": w.absorption_nm}
        for w in sorted(cfg.fit.populations, key=lambda w: w.family_radius_nm or 0.0)
        if w.family_radius_nm is not None
    ]
    out = []
    if cfg.families is not None:
        fc = dataclasses.asdict(cfg.families)
        fc["q_range_nm"] = fc["q_range_nm"] if fc["q_range_nm"] is not None else cfg.fit.q_range_nm
        out.append(
            Step(
                id=f"families/{s.name}",
                kind="families",
                target=s.name,
                func=f["families"],
                settings={
                    "sample": s.name,
                    "families": fams,
                    "contrast_1e6_A2": cfg.fit.contrast_1e6_A2,
                    "plot": cfg.output.figures,
                    **fc,
                },
                deps=(f"subtract/{s.name}",),
            )
        )
    if s.spectrum is not None:
        out.append(
            Step(
                id=f"optical/{s.name}",
                kind="optical",
                target=s.name,
                func=f["optical"],
                settings={
                    "sample": s.name,
                    "spectrum": str(s.spectrum),
                    "plot": cfg.output.figures,
                    "families": [x for x in fams if x["absorption_nm"] is not None],
                },
                inputs=(str(s.spectrum),),
            )
        )
    return out
