"""The physics steps of the pipeline (run in worker processes).

Each function takes a :class:`~saxs_mc.pipeline.tasks.StepContext`, writes
its outputs atomically into ``ctx.outdir`` and returns a JSON-safe result
(schemas in :mod:`saxs_mc.pipeline.report`).  Reduced and blank-subtracted
curves pass between steps as their NXcanSAS files, read back with
:func:`saxs_mc.reduce.read_reduced` (bit-identical curves, frame records and
settings); the peak results handed to the mesophase step are the
``<name>_peaks.json`` documents the peaks step writes, read back by the
typed reader :func:`read_peaks_json`.  Nothing in an output folder is ever
unpickled: files there are data (a crafted pickle would run code).

Each step parses its settings into the typed settings of its kind
(:mod:`saxs_mc.pipeline.step_settings`), which refuse unknown and missing keys.
The pyFAI integrator is built once per worker process and per geometry /
settings (:func:`get_reducer`), and all frames of a sample are reduced in
one task.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable, write_json_atomic

from .cache import canonical_json
from .step_settings import (
    CalibrateSettings,
    FamiliesStepSettings,
    FitStepSettings,
    MesophaseSettings,
    OpticalStepSettings,
    PeaksStepSettings,
    ReduceSettings,
    SubtractSettings,
    plain,
)
from .tasks import StepContext

_REDUCERS: dict[str, Any] = {}


def _read_curve(path: Path) -> Any:
    """The curve of an upstream reduce/subtract step (its NXcanSAS file)."""
    from saxs_mc.reduce import read_reduced

    return read_reduced(path).curve


def reduction_settings(
    s: ReduceSettings | CalibrateSettings | Mapping[str, Any], calibration_factor: float | None
) -> Any:
    """:class:`saxs_mc.reduce.ReductionSettings` from a reduce or calibrate step's settings (typed or JSON form)."""
    from saxs_mc.reduce import HeaderMap, ReductionSettings

    if isinstance(s, Mapping):  # the JSON form (or its reduction part: reduction, header, thickness, cell)
        r, header, thickness, cell = (
            s["reduction"],
            s["header"],
            s.get("thickness_cm"),
            s.get("empty_cell_transmission"),
        )
    else:
        r, header, thickness, cell = s.reduction, s.header, s.thickness_cm, s.empty_cell_transmission
    qr = r.get("q_range_nm")
    qr = None if qr is None else tuple(float(x) / (10.0 if r["q_unit"] == "1/A" else 1.0) for x in qr)
    return ReductionSettings(
        npt=r["npt"],
        q_range=qr,
        q_unit=r["q_unit"],
        error_model=r["error_model"],
        method=tuple(r["method"]),
        saturation=r.get("saturation"),
        flip=r.get("flip"),
        mask_flip=r.get("mask_flip"),
        normalization=r.get("normalization", "monitor"),
        normalization_constant=r.get("normalization_constant"),
        monitor_table=r.get("monitor_table"),
        table_columns=tuple(tuple(kv) for kv in r.get("table_columns") or ()),
        polarization_factor=r["polarization_factor"],
        thickness_cm=thickness,
        calibration_factor=calibration_factor,
        empty_cell_transmission=cell,
        reject_outliers=r["reject_outliers"],
        reject_mad_threshold=r["reject_mad_threshold"],
        reject_min_rel_dev=r["reject_min_rel_dev"],
        nan_policy=r["nan_policy"],
        bad_frames=r["bad_frames"],
        header=HeaderMap.from_pairs(dict(header)),
    )


def get_reducer(poni: str, mask: str | None, settings: Any) -> Any:
    """A :class:`saxs_mc.reduce.Reducer`, cached per process (integrator built once)."""
    from saxs_mc.reduce import Reducer

    key = canonical_json({"poni": poni, "mask": mask, "settings": settings.to_dict()})
    red = _REDUCERS.get(key)
    if red is None:
        red = Reducer(poni=poni, mask=mask, settings=settings)
        _REDUCERS[key] = red
    return red


def _calibration_factor(ctx: StepContext, s: ReduceSettings) -> float | None:
    up = ctx.upstream.get("calibrate/water")
    if up is not None:
        return float(up["factor"])
    return s.calibration_factor


def _frames_table(res: Any) -> list[dict[str, Any]]:
    return [
        {"file": f.name, "rejected": bool(f.rejected), "reason": f.reason or None, "transmission": f.transmission}
        for f in res.frames
    ]


def reduce_step(ctx: StepContext) -> dict[str, Any]:
    """Reduce all frames of one sample/blank: average, normalize, reject faulty frames."""
    from saxs_mc.reduce import write_reduced

    s = ReduceSettings.from_json(ctx.settings)
    settings = reduction_settings(s, _calibration_factor(ctx, s))
    reducer = get_reducer(s.poni, s.mask, settings)
    res = reducer.reduce(list(s.sources), title=s.title, metadata=plain(s.metadata))
    name = s.title
    h5 = write_reduced(ctx.outdir / f"{name}.h5", res)
    dat = h5.with_suffix(".dat")
    summ = write_json_atomic(ctx.outdir / f"{name}_reduction.json", res.summary())
    return {
        "outputs": {"nxcansas": h5, "curve": dat, "summary": summ},
        "n_frames": len(res.frames),
        "n_rejected": len(res.rejected),
        "rejected": list(res.rejected),
        "frames": _frames_table(res),
        "intensity_unit": res.curve.intensity_unit,
        "normalization": res.curve.metadata.get("normalization"),
        "warnings": list(res.warnings),
    }


def calibrate_step(ctx: StepContext) -> dict[str, Any]:
    """Absolute scale from water minus empty cell (both reduced with calibration_factor = 1)."""
    from saxs_mc.reduce import water_calibration

    s = CalibrateSettings.from_json(ctx.settings)
    settings = reduction_settings(s, 1.0)
    reducer = get_reducer(s.poni, s.mask, settings)
    water = reducer.reduce(list(s.water_sources), title="water")
    empty = reducer.reduce(list(s.empty_cell_sources), title="empty_cell")
    cal = water_calibration(water.curve, empty.curve, q_range_nm=s.q_range_nm, reference_1_cm=s.dsigma_1_cm)
    out = write_json_atomic(ctx.outdir / "water_calibration.json", jsonable(cal.summary()))
    return {
        "outputs": {"json": out},
        "factor": cal.factor,
        "factor_sigma": cal.factor_sigma,
        "n_frames": len(water.frames) + len(empty.frames),
        "rejected": list(water.rejected) + list(empty.rejected),
    }


def subtract_step(ctx: StepContext) -> dict[str, Any]:
    """Sample minus its blank (uncertainties propagated, negatives kept and flagged)."""
    from saxs_mc.reduce import read_reduced, write_reduced

    s = SubtractSettings.from_json(ctx.settings)
    sample = read_reduced(ctx.upstream_output(f"reduce/{s.sample}", "nxcansas"))
    blank = read_reduced(ctx.upstream_output(f"reduce/{s.blank}", "nxcansas"))
    sub = sample.subtract(blank, scale=s.scale)
    name = f"{s.sample}_sub"
    h5 = write_reduced(ctx.outdir / f"{name}.h5", sub)
    return {
        "outputs": {"nxcansas": h5, "curve": h5.with_suffix(".dat")},
        "blank": s.blank,
        "negative_points": sub.curve.metadata.get("negative_points"),
        "intensity_unit": sub.curve.intensity_unit,
    }


def warm_fit_kernels() -> None:
    """Run a tiny fit through the public API so that numba compiles (or loads) the fit kernels.

    Leaves the kernels in numba's on-disk cache (tests use it to compile them
    in a driver process before a run).
    """
    import warnings

    from saxs_mc.fit import fit_curve
    from saxs_mc.io.curves import Curve
    from saxs_mc.models.sphere import sphere_form_factor

    q = np.geomspace(0.3, 7.0, 40)
    i = 1e-3 * np.asarray(sphere_form_factor(q, 1.0), dtype=float).reshape(q.shape) + 1e-4
    curve = Curve(q=q, intensity=i, sigma=0.02 * i, intensity_unit="arbitrary", title="numba warm-up", metadata={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_curve(curve, r_range_nm=(0.5, 3.0), contributions=10, repetitions=2, seed=0, max_iterations=50)


def _usable(curve: Any) -> Any:
    ok = (
        np.isfinite(curve.q)
        & np.isfinite(curve.intensity)
        & np.isfinite(curve.sigma)
        & (curve.sigma > 0)
        & (curve.q > 0)
    )
    return curve.select(ok)


def bragg_exclusions(peaks: Any, n_fwhm: float) -> list[tuple[float, float]]:
    """q intervals (1/nm) within ``q0 +- n_fwhm * fwhm`` of every Bragg peak, overlapping ones merged.

    Parameters
    ----------
    peaks : PeakResult
        Peaks found on the same curve (:func:`read_peaks_json` of the peaks step).
    n_fwhm : float
        Half-width of each interval in units of the peak's FWHM (> 0).

    Returns
    -------
    list of (q_lo, q_hi)
        Sorted, disjoint; peaks without a finite position or width are left out.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> bragg_exclusions(P(peaks=[P(q_nm=2.0, fwhm=0.1), P(q_nm=2.3, fwhm=0.1), P(q_nm=4.0, fwhm=0.2)]), 2.0)
    [(1.8, 2.5), (3.6, 4.4)]
    """
    if not (math.isfinite(n_fwhm) and n_fwhm > 0):
        raise ValueError(f"exclude_fwhm = {n_fwhm!r}: give a positive number of FWHM to mask around each peak")
    spans = sorted(
        (p.q_nm - n_fwhm * p.fwhm, p.q_nm + n_fwhm * p.fwhm)
        for p in peaks.peaks
        if math.isfinite(p.q_nm) and math.isfinite(p.fwhm) and p.fwhm > 0
    )
    merged: list[tuple[float, float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return [(round(lo, 12), round(hi, 12)) for lo, hi in merged]


def _without_intervals(curve: Any, intervals: list[tuple[float, float]]) -> Any:
    """The curve without the points whose q lies in one of ``intervals`` (closed)."""
    keep = np.ones(curve.q.shape, dtype=bool)
    for lo, hi in intervals:
        keep &= ~((curve.q >= lo) & (curve.q <= hi))
    return curve.select(keep)


def _fit_exclusions(ctx: StepContext, s: FitStepSettings) -> list[tuple[float, float]]:
    """The Bragg-peak q intervals the fit leaves out (none unless ``exclude_bragg_peaks``)."""
    if not s.exclude_bragg_peaks:
        return []
    dep = f"peaks/{s.sample}"
    if dep not in ctx.upstream:
        raise ValueError(
            f"fit/{s.sample}: exclude_bragg_peaks needs the sample's peaks step ({dep}) upstream; "
            "search peaks on the samples ([peaks] samples = true) or set [fit] exclude_bragg_peaks "
            "= false"
        )
    return bragg_exclusions(read_peaks_json(ctx.upstream_output(dep, "json")), s.exclude_fwhm)


def fit_step(ctx: StepContext) -> dict[str, Any]:
    """McSAS Monte Carlo sphere fit of the blank-subtracted curve (seed from config seed + sample name).

    With ``exclude_bragg_peaks`` the q ranges around the Bragg peaks that the
    sample's peaks step found are left out of the fit (recorded as
    ``excluded_q_nm`` in the result and the digest).
    """
    from saxs_mc.fit import blank_background_bounds, fit_curve, write_fit_outputs
    from saxs_mc.reduce import read_reduced

    s = FitStepSettings.from_json(ctx.settings)
    src = ctx.upstream_output(f"subtract/{s.sample}", "nxcansas")
    reduced = read_reduced(src)
    excluded = _fit_exclusions(ctx, s)
    curve = _without_intervals(_usable(reduced.curve), excluded)
    # the residual flat background is bounded by the subtracted blank's level and uncertainty (issue 15)
    bounds = (
        None
        if reduced.blank is None
        else blank_background_bounds(reduced.blank.curve, q_range_nm=s.q_range_nm, scale=reduced.blank_scale)
    )
    res = fit_curve(
        curve,
        q_range_nm=s.q_range_nm,
        r_range_nm=s.r_range_nm,
        contributions=s.contributions,
        repetitions=s.repetitions,
        seed=s.seed,
        contrast=s.contrast_1e6_A2 if curve.intensity_unit == "1/cm" else None,
        n_bins=s.bins,
        bin_scale=s.bin_scale,
        title=s.sample,
        background_bounds=bounds,
    )
    paths = write_fit_outputs(ctx.outdir, s.sample, res, source=src)
    chi2 = float(np.mean(res.chi2_r))
    digest = _fit_digest(s, res, chi2, bounds)
    if s.exclude_bragg_peaks:
        digest["excluded_q_nm"] = excluded
    dpath = write_json_atomic(ctx.outdir / f"{s.sample}_digest.json", jsonable(digest))
    out = {
        "outputs": {**paths, "digest": dpath},
        "chi2_r": chi2,
        "all_converged": res.all_converged,
        "warnings": list(res.warnings),
    }
    if s.exclude_bragg_peaks:
        out["excluded_q_nm"] = excluded
    return out


def _fit_digest(s: FitStepSettings, res: Any, chi2: float, bounds: Any) -> dict[str, Any]:
    """What the report reads of a fit (``<sample>_digest.json``)."""
    return {
        "sample": s.sample,
        "seed": s.seed,
        "bin_scale": res.bin_scale,
        "radius_edges_nm": res.bin_edges_nm,
        "radius_centers_nm": res.bin_centers_nm,
        "volume_fraction": res.volume_fraction_resolved,
        "volume_fraction_std": res.volume_fraction_std,
        "volume_fraction_all": res.volume_fraction,
        "resolvable_radius_nm": res.resolvable_radius_nm,
        "unresolved_volume_fraction": res.unresolved_volume_fraction[0],
        "background_bounds": bounds,
        "absolute": res.absolute,
        "q_nm": res.q_nm,
        "intensity": res.intensity,
        "sigma": res.sigma,
        "model": res.model_mean,
        "chi2_r": chi2,
        "chi2_r_per_repetition": res.chi2_r,
        "all_converged": res.all_converged,
        "intensity_unit": res.intensity_unit,
        "total_volume_fraction": res.total_volume_fraction[0],
    }


def _peak_digest(pk: Any) -> dict[str, Any]:
    return {
        "peaks": [
            {
                "q_nm": p.q_nm,
                "q_err": p.q_err,
                "d_nm": p.d_nm,
                "fwhm": p.fwhm,
                "area": p.area,
                "area_err": p.area_err,
                "height": p.height,
                "significance": p.significance,
                "order": p.order,
            }
            for p in pk.peaks
        ],
        "broad_features": [{"q_nm": p.q_nm, "fwhm": p.fwhm} for p in pk.broad_features],
        "phase": {"name": pk.phase.phase, "lattice_nm": pk.phase.lattice_nm, "score": pk.phase.score},
    }


def peaks_step(ctx: StepContext) -> dict[str, Any]:
    """Bragg peaks (mesophase) of a blank, or of a blank-subtracted sample."""
    from saxs_mc.peaks import find_peaks_curve, write_peak_outputs

    s = PeaksStepSettings.from_json(ctx.settings)
    dep = f"reduce/{s.name}" if s.role == "blank" else f"subtract/{s.name}"
    src = ctx.upstream_output(dep, "nxcansas")
    curve = _read_curve(src)
    kw: dict[str, Any] = {"profile": s.profile, "q_range_nm": s.q_range_nm}
    if s.min_significance is not None:
        kw["min_significance"] = s.min_significance
    pk = find_peaks_curve(_usable(curve), **kw)
    paths = write_peak_outputs(ctx.outdir, s.name, pk, source=src)
    return {"outputs": paths, **jsonable(_peak_digest(pk))}


_PEAK_FLOATS = {
    "q_nm": "q_nm^-1",
    "q_err": "q_err",
    "fwhm": "fwhm",
    "fwhm_err": "fwhm_err",
    "area": "area",
    "area_err": "area_err",
    "height": "height",
    "significance": "significance",
    "height_snr": "height_snr",
    "d_nm": "d_nm",
    "d_err": "d_err",
    "coherence_length_nm": "coherence_length_nm",
    "fraction": "fraction",
}


def _num(doc: dict[str, Any], key: str, where: str) -> float:
    v = doc.get(key)
    if v is None:
        return math.nan  # JSON null stands for NaN
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{where}: {key} = {v!r} is not a number")
    return float(v)


def _count(doc: dict[str, Any], key: str, where: str) -> int:
    v = doc.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{where}: {key} = {v!r} is not a count")
    return v


def _text(doc: dict[str, Any], key: str, where: str, default: str = "") -> str:
    v = doc.get(key, default)
    if not isinstance(v, str):
        raise ValueError(f"{where}: {key} = {v!r} is not a string")
    return v


def _peak_from_json(d: Any, where: str) -> Any:
    from saxs_mc.peaks.detect import Peak

    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    return Peak(
        **{f: _num(d, k, where) for f, k in _PEAK_FLOATS.items()},
        kind=_text(d, "kind", where, "bragg"),
        order=_text(d, "order", where) if d.get("order") else "",
    )


def read_peaks_json(path: str | Path) -> Any:
    """The :class:`~saxs_mc.peaks.PeakResult` of a ``<name>_peaks.json`` document (typed, validated).

    Every field is checked for its type (JSON null is NaN); anything else is a
    ``ValueError`` naming the file and the field.  The curve arrays (``q``,
    ``intensity``, ``sigma``, ``background``, ``model``) are not part of the
    document and come back empty.

    Parameters
    ----------
    path : path
        A file written by :func:`saxs_mc.peaks.write_peak_outputs`.

    Returns
    -------
    PeakResult
        Peaks, broad features, phase (name and lattice parameter), fit status.
    """
    import json

    from saxs_mc.peaks.detect import PeakResult
    from saxs_mc.peaks.index import IndexResult
    from saxs_mc.peaks.output import SCHEMA

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable peaks JSON document ({exc}); rerun the peaks step") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a {SCHEMA} document; rerun the peaks step")
    ph, fit = doc.get("phase"), doc.get("fit")
    if not isinstance(ph, dict) or not isinstance(fit, dict):
        raise ValueError(f"{path}: 'phase' and 'fit' must be objects")
    peaks, broad = doc.get("peaks"), doc.get("broad_features")
    if not isinstance(peaks, list) or not isinstance(broad, list):
        raise ValueError(f"{path}: 'peaks' and 'broad_features' must be lists")
    phase = IndexResult(
        phase=_text(ph, "name", f"{path}: phase"),
        lattice_nm=_num(ph, "lattice_parameter_nm", f"{path}: phase"),
        lattice_err=_num(ph, "lattice_parameter_err", f"{path}: phase"),
        lattice_label=_text(ph, "lattice_parameter_label", f"{path}: phase"),
        orders=tuple(o if isinstance(o, str) else None for o in ph.get("orders") or ()),
        score=_num(ph, "score", f"{path}: phase"),
        chi2=_num(ph, "chi2", f"{path}: phase"),
        n_matched=_count(ph, "n_matched", f"{path}: phase"),
        n_unexplained=_count(ph, "n_unexplained", f"{path}: phase"),
        n_missing=_count(ph, "n_missing", f"{path}: phase"),
    )
    empty = np.zeros(0)
    return PeakResult(
        peaks=tuple(_peak_from_json(p, f"{path}: peaks[{i}]") for i, p in enumerate(peaks)),
        broad_features=tuple(_peak_from_json(p, f"{path}: broad_features[{i}]") for i, p in enumerate(broad)),
        phase=phase,
        q=empty,
        intensity=empty,
        sigma=empty,
        background=empty,
        model=empty,
        converged=bool(fit.get("converged")),
        fit_message=_text(fit, "message", f"{path}: fit"),
        chi2_r=_num(fit, "chi2_r", f"{path}: fit"),
        settings={},
        title=_text(doc, "title", str(path)),
        intensity_unit=_text(doc, "intensity_unit", str(path), "arbitrary"),
    )


def mesophase_step(ctx: StepContext) -> dict[str, Any]:
    """Bragg peaks of the precursor blanks against temperature; melting estimate."""
    from saxs_mc.peaks import mesophase_series

    s = MesophaseSettings.from_json(ctx.settings)
    pks = [read_peaks_json(ctx.upstream_output(f"peaks/{b}", "json")) for b in s.blanks]
    ms = mesophase_series(list(s.temperatures_C), pks)
    summ = ms.summary()
    out = write_json_atomic(ctx.outdir / "mesophase.json", summ)
    return {
        "outputs": {"json": out},
        "temperatures_C": summ["temperatures_C"],
        "intensity": summ["total_area"],
        "position_nm": summ["first_peak_q_nm"],
        "phases": summ["phases"],
        "lattice_nm": summ["lattice_nm"],
        "melting_temperature_C": summ["melting_temperature_C"],
        "melting_bracket_C": summ["melting_bracket_C"],
        "melting_method": summ["melting_method"],
    }


def _term_digest(t: Any) -> dict[str, Any]:
    return {
        "name": t.name,
        "kind": t.kind,
        "status": t.status,
        "radius_nm": t.radius_nm,
        "share": t.share,
        "share_std": t.share_std,
        "share_upper": t.share_upper,
        "volume_fraction": t.volume_fraction,
        "volume_fraction_std": t.volume_fraction_std,
        "volume_fraction_upper": t.volume_fraction_upper,
        "absorption_nm": t.absorption_nm,
    }


def families_step(ctx: StepContext) -> dict[str, Any]:
    """Family decomposition of the blank-subtracted curve (:func:`saxs_mc.families.decompose`).

    The families are the population windows with a family radius (fixed radii, Gaussian
    width ``sd_nm``), plus the optional continuous log-normal population.
    """
    from saxs_mc.families import Family, decompose, write_family_outputs

    s = FamiliesStepSettings.from_json(ctx.settings)
    src = ctx.upstream_output(f"subtract/{s.sample}", "nxcansas")
    curve = _usable(_read_curve(src))
    fams = [Family(f["name"], f["radius_nm"], s.sd_nm, None, f.get("absorption_nm")) for f in s.families]
    res = decompose(
        curve,
        fams,
        continuous=s.continuous,
        background=s.background,
        power_law_exponent=s.power_law_exponent,
        q_range_nm=s.q_range_nm,
        contrast_1e6_A2=s.contrast_1e6_A2 if curve.intensity_unit == "1/cm" else None,
        selection=s.selection,
    )
    paths = write_family_outputs(ctx.outdir, s.sample, res, source=src, plot=s.plot)
    return {
        "outputs": paths,
        "terms": [_term_digest(t) for t in res.terms],
        "present": list(res.present),
        "resolvable_radius_nm": res.resolvable_radius_nm,
        "chi2_r": res.chi2_r,
        "absolute": res.absolute,
        "total_volume_fraction": res.total_volume_fraction,
        "total_volume_fraction_std": res.total_volume_fraction_std,
        "elapsed_decompose_s": res.elapsed_s,
        "warnings": list(res.warnings),
    }


def _pick_spectrum(res: Any, sample: str) -> Any:
    """The spectrum of ``sample`` in a file: the column named like the sample, else the only one."""
    names = [sp.name for sp in res.spectra]
    if sample in names:
        return res.spectrum(sample)
    if len(names) == 1:
        return res.spectra[0]
    raise ValueError(
        f"{res.source}: {len(names)} absorbance columns {names} and none is named {sample!r}; "
        f"name the sample's column {sample!r} or give a one-column file"
    )


def optical_step(ctx: StepContext) -> dict[str, Any]:
    """First-exciton peaks of the sample's absorbance spectrum: families, heights, Yu diameters."""
    from saxs_mc.optical import analyse_spectra
    from saxs_mc.optical.excitons import OpticalFamily

    s = OpticalStepSettings.from_json(ctx.settings)
    fams = [OpticalFamily(f["name"], f["absorption_nm"]) for f in s.families]
    res = analyse_spectra(s.spectrum, fams or None)
    sp = _pick_spectrum(res, s.sample)
    out = write_json_atomic(ctx.outdir / f"{s.sample}_optical.json", res.summary())
    paths = {"json": out}
    if s.plot:
        from matplotlib.figure import Figure

        from saxs_mc.io.atomic import atomic_path

        fig = Figure(figsize=(6, 4))
        res.plot(fig.add_subplot())
        fig.tight_layout()
        paths["plot"] = ctx.outdir / f"{s.sample}_optical.png"
        with atomic_path(paths["plot"]) as tmp:
            fig.savefig(tmp, format="png", dpi=100)
    peaks = [
        {
            "wavelength_nm": p.wavelength_nm,
            "wavelength_std_nm": p.wavelength_std_nm,
            "height": p.height,
            "height_std": p.height_std,
            "family": p.family,
            "diameter_nm": p.diameter_nm,
            "diameter_std_nm": p.diameter_std_nm,
        }
        for p in sp.peaks
    ]
    return {"outputs": paths, "spectrum": sp.name, "peaks": peaks, "warnings": list(sp.warnings)}
