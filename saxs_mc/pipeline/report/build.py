"""Building the report's summary model from the step results of a run (:func:`collect`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import PipelineConfig, PopulationWindow
from ..readout import (
    SampleState,
    classify_sample,
    mode_radius_std,
    series_readout,
    window_fractions,
    window_fractions_std,
)
from .axis import INDEX_AXIS, SeriesAxis, axis_value, blank_conditions, resolve_axis, sample_conditions
from .records import BlankSummary, Decomposition, FitDigest, FrameRow, Mesophase, OpticalPeak, OutputFile, PeakRow
from .sample import SampleSummary
from .series import SeriesSummary
from .sources import _load_curve, _load_json, _num, _outputs, _result, _status, inside

log = logging.getLogger("saxs_mc.pipeline.report")


def _frames(red: Mapping[str, Any]) -> tuple[FrameRow, ...]:
    out = []
    for f in red.get("frames") or []:
        if isinstance(f, dict):
            out.append(
                FrameRow(
                    Path(str(f.get("file"))).name,
                    f.get("rejected"),
                    None if f.get("reason") is None else str(f.get("reason")),
                )
            )
    return tuple(out)


def _files(root: Path, outcomes: Mapping[str, Any], ids: Sequence[str]) -> tuple[OutputFile, ...]:
    out = []
    base = root.resolve()
    for sid in ids:
        for label, rel in _outputs(_result(outcomes, sid)).items():
            p = inside(root, rel)
            if p is None or rel.endswith(".pkl"):
                continue
            out.append(OutputFile(sid.split("/")[0], label, p.relative_to(base).as_posix()))
    return tuple(out)


def _digest(root: Path, name: str, fitr: Mapping[str, Any]) -> tuple[dict[str, Any] | None, FitDigest | None]:
    raw = _load_json(root, _outputs(fitr).get("digest"))
    if raw is None:
        return None, None
    try:
        return raw, FitDigest.from_json(raw)
    except ValueError as exc:
        log.warning("fit/%s: %s", name, exc)
        return raw, None


def _uncertainties(
    d: FitDigest | None, windows: Sequence[PopulationWindow], st: SampleState, log_bins: bool
) -> tuple[dict[str, float | None], dict[str, float | None], float | None]:
    """Window shares, their one-sigma uncertainties and that of the dominant radius (None without a fit)."""
    if d is None:
        return {w.name: None for w in windows}, {w.name: None for w in windows}, None
    c, v, e = d.radius_centers_nm, d.volume_fraction, d.volume_fraction_std
    return (
        dict(window_fractions(c, v, windows)),
        dict(window_fractions_std(c, v, e, windows)),
        mode_radius_std(c, v, e, st.dominant_radius_nm, log_bins=log_bins),
    )


def _blank_name(cfg: PipelineConfig, s: Any) -> str | None:
    """The blank subtracted from ``s`` (None when the configuration cannot say)."""
    try:
        return cfg.blank_for(s).name
    except Exception:  # a hand-built or partial configuration: the sample's explicit blank
        return getattr(s, "blank", None)


def _optical(outcomes: Mapping[str, Any], name: str) -> tuple[OpticalPeak, ...] | None:
    res = _result(outcomes, f"optical/{name}")
    return tuple(OpticalPeak.from_json(p) for p in res["peaks"]) if isinstance(res.get("peaks"), list) else None


def _sample(
    cfg: PipelineConfig,
    outcomes: Mapping[str, Any],
    root: Path,
    s: Any,
    cond: Any,
    axis: SeriesAxis,
    value: float | None,
) -> SampleSummary:
    kinds = ("reduce", "subtract", "fit") + (("peaks",) if cfg.peaks.samples else ())  # optional steps: failures list
    kinds += ("families", "optical")  # a failed decomposition or spectrum fails its sample (issue 12); absent: ignored
    status, error = _status(outcomes, [f"{k}/{s.name}" for k in kinds])
    red, sub, fitr, pk = (_result(outcomes, f"{k}/{s.name}") for k in ("reduce", "subtract", "fit", "peaks"))
    raw, digest = _digest(root, s.name, fitr)
    log_bins = (digest.bin_scale if digest is not None else cfg.fit.bin_scale) == "log"
    dec = Decomposition.from_result(_result(outcomes, f"families/{s.name}"), cfg.fit.populations)
    t_nuc = _num(cond.values.get("nucleation_temperature_C"))
    st = classify_sample(
        s.name,
        math.nan if t_nuc is None else t_nuc,
        digest.radius_centers_nm if digest else None,
        digest.volume_fraction if digest else None,
        cfg.fit.populations,
        cfg.readout,
        log_bins=log_bins,
        family_shares=dec.shares if dec is not None else None,
        series_value=value,
    )
    fr, fr_std, dom_std = _uncertainties(digest, cfg.fit.populations, st, log_bins)
    fit_doc = _load_json(root, _outputs(fitr).get("json")) or {}
    return SampleSummary(
        s.name,
        cond.values,
        _blank_name(cfg, s),
        status,
        error,
        st,
        fr,
        fr_std,
        dom_std,
        _num(fit_doc.get("total_volume_fraction_std")),
        (raw or {}).get("chi2_r", fitr.get("chi2_r")),
        red.get("n_frames", s.n_frames),
        red.get("n_rejected"),
        tuple(str(x) for x in red.get("rejected", [])),
        len(pk.get("peaks", [])) if pk else None,
        digest,
        _load_curve(root, _outputs(sub).get("curve")),
        _load_curve(root, _outputs(red).get("curve")),
        tuple(PeakRow.from_json(p) for p in pk.get("peaks") or []),
        _frames(red),
        _files(
            root, outcomes, [f"{k}/{s.name}" for k in ("reduce", "subtract", "fit", "peaks", "families", "optical")]
        ),
        dec,
        _optical(outcomes, s.name),
        tuple(cfg.fit.populations),
        series_axis=axis.key,
        series_value=value,
        stack=cond.stack,
        time_point=cond.time_point,
        legacy_conditions=cond.legacy,
    )


def _blank(outcomes: Mapping[str, Any], root: Path, b: Any) -> BlankSummary:
    cond = blank_conditions(root, b)
    temp = getattr(b, "temperature_C", None)
    temp = _num(cond.get("temperature_C")) if temp is None else _num(temp)
    red, pk = _result(outcomes, f"reduce/{b.name}"), _result(outcomes, f"peaks/{b.name}")
    status, error = _status(outcomes, [f"reduce/{b.name}", f"peaks/{b.name}"])
    phase = pk.get("phase")
    phase = phase if isinstance(phase, dict) else {}
    return BlankSummary(
        b.name,
        temp,
        status,
        error,
        red.get("n_frames", b.n_frames),
        red.get("n_rejected"),
        tuple(str(x) for x in red.get("rejected", [])),
        tuple(PeakRow.from_json(p) for p in pk.get("peaks") or []),
        None if phase.get("name") is None else str(phase.get("name")),
        _num(phase.get("lattice_nm")),
        _load_curve(root, _outputs(red).get("curve")),
        _frames(red),
        _files(root, outcomes, [f"reduce/{b.name}", f"peaks/{b.name}"]),
        cond,
    )


def _calibration(cfg: PipelineConfig, outcomes: Mapping[str, Any]) -> str | None:
    cal = _result(outcomes, "calibrate/water")
    if cal and _num(cal.get("factor")) is not None:
        sig = _num(cal.get("factor_sigma"))
        return f"absolute scale from water: calibration factor {cal['factor']:.5g} ± {sig if sig is None else f'{sig:.2g}'}"
    if cfg.normalization.calibration_factor is not None:
        return f"calibration factor {cfg.normalization.calibration_factor:g} (intensities in 1/cm)"
    return None


def collect(cfg: PipelineConfig, outcomes: Mapping[str, Any], root: str | Path) -> SeriesSummary:
    """Gather per-sample/blank data, the summary rows and the series read-out.

    Parameters
    ----------
    cfg : PipelineConfig
    outcomes : mapping of step id -> StepOutcome
        ``status`` in {"done", "cached", "failed", "skipped", ...} and the step's ``result`` dict.
    root : path
        The output folder; every file read is resolved inside it.
    """
    root = Path(root)
    conds = [sample_conditions(root, s) for s in cfg.samples]
    axis = resolve_axis(cfg, conds)
    values = [axis_value(axis, c, i) for i, c in enumerate(conds)]
    if axis.key != INDEX_AXIS and any(v is None for v in values):
        missing = [s.name for s, v in zip(cfg.samples, values) if v is None]
        log.warning(
            "report: %d sample(s) have no numeric %s (%s); they are listed but not plotted against it",
            len(missing),
            axis.key,
            ", ".join(missing[:5]),
        )
    order = sorted(range(len(conds)), key=lambda i: (values[i] is None, values[i] or 0.0, cfg.samples[i].name))
    samples = tuple(_sample(cfg, outcomes, root, cfg.samples[i], conds[i], axis, values[i]) for i in order)
    blanks = tuple(_blank(outcomes, root, b) for b in cfg.blanks)
    blanks = tuple(sorted(blanks, key=lambda b: (b.temperature_C is None, b.temperature_C or 0.0, b.name)))
    failures = tuple(
        {"step": o.id, "status": o.status, "error": o.error}
        for o in outcomes.values()
        if o.status in ("failed", "skipped")
    )
    return SeriesSummary(
        cfg.name,
        cfg.description or "",
        str(cfg.source),
        tuple(cfg.fit.populations),
        cfg.readout,
        cfg.fit.bin_scale,
        samples,
        blanks,
        Mesophase.from_result(_result(outcomes, "mesophase/series"), root),
        series_readout([s.state for s in samples], unit=axis.short_unit),
        failures,
        _calibration(cfg, outcomes),
        axis,
        contrast_info(cfg),
    )


def contrast_info(cfg: PipelineConfig) -> dict[str, Any]:
    """The particle-solvent contrast the fits used and where it came from (``[material]``, else ``[fit]``)."""
    mat = getattr(cfg, "material", None)
    if mat is not None and _num(getattr(mat, "contrast_1e6_A2", None)) is not None:
        return {
            "contrast_1e6_A2": float(mat.contrast_1e6_A2),
            "from": "[material]",
            **{k: getattr(mat, k, None) for k in ("source", "particle", "solvent", "energy_keV")},
        }
    return {
        "contrast_1e6_A2": cfg.fit.contrast_1e6_A2,
        "from": "[fit] contrast_1e6_A2",
        "source": "number",
        "particle": None,
        "solvent": None,
        "energy_keV": None,
    }
