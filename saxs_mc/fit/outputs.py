"""Files written for a Monte Carlo fit (all atomic).

``write_fit_outputs(outdir, stem, result, source=None)`` writes into ``outdir``:

``<stem>_distribution.csv``
    One row per histogram bin, columns exactly
    ``r_lo_nm,r_hi_nm,volume_fraction,volume_fraction_std,min_visibility,volume_fraction_resolved``
    (the last: from the contributions at or above the resolvable radius only).
    Volume fractions are absolute when the fit was absolute (I in 1/cm and a
    contrast given), otherwise relative (their means sum to 1); the JSON's
    ``volume_fraction_kind`` says which.  Plain CSV with one header line and no
    comments: it loads with ``pandas.read_csv(path)`` default options.

``<stem>_fitcurve.csv``
    Columns ``q_nm,intensity,sigma,model_mean,model_std`` (the data fitted
    and the fitted curve, mean and std over repetitions); q in 1/nm, intensities
    in the JSON's ``data.intensity_unit``.  Plain CSV as above.

``<stem>_fit.png``
    Data with the fitted curve, and the distribution with its resolved and
    unresolved parts and the minimum visibility (:meth:`FitResult.plot`).

``<stem>_fit.json``
    Schema (``schema = "saxs_mc.fit/1"``)::

        {
          "schema": "saxs_mc.fit/1",
          "created": ISO-8601 UTC time,
          "source": {"path": str, "sha256": str} or null,
          "outputs": {"distribution": file name, "fitcurve": file name, "nxcansas": file name or null},
          ... FitResult.summary():
          "title", "settings" {q/r ranges, contributions, repetitions, sampling, bins,
                               background, contrast, chi2 target, caps, stagnation},
          "seed", "repetition_seeds" [int],
          "data" {n_q, q_min_nm, q_max_nm, intensity_unit},
          "volume_fraction_kind" ("absolute" | "relative"), "contrast_1e6_A2",
          "convergence" {all_converged, chi2_r_target, chi2_r_accept, chi2_r_mean, chi2_r_std,
                         iterations_mean, acceptance_rate_mean, elapsed_s,
                         time_per_iteration_s,
                         repetitions: [{repetition, converged, reason ("target" |
                                        "plateau" | "stagnated" | "cap"), iterations, accepted,
                                        acceptance_rate, chi2_r, seed}]},
          "total_volume_fraction", "total_volume_fraction_std" (resolved volume only),
          "unresolved_volume_fraction(_std)", "resolvable_radius_nm", "informative_q_max_nm",
          "scale_mean", "background_mean", "background_std", "power_law_coefficient_mean",
          "histogram" {bin_scale, r_lo_nm[], r_hi_nm[], volume_fraction[],
                       volume_fraction_std[], number_fraction[], number_fraction_std[],
                       min_visibility[]},
          "ranges": [{r_lo_nm, r_hi_nm, volume_fraction(_std), mean_nm(_std),
                      variance_nm2(_std), skew(_std), excess_kurtosis(_std),
                      number_mean_nm(_std)}],
          "warnings": [str], "versions": {package: version}
        }

    Non-finite numbers are written as ``null``.

``<stem>_fit.h5`` (only when ``source`` is an NXcanSAS file)
    The user's input file is never modified: it is copied to OUTDIR and the
    copy (written to a temporary name, then renamed atomically) gets, inside
    the SASentry that holds the fitted data:

    - ``sasprocess_mcfit`` (NXprocess, canSAS_class SASprocess): name, date,
      version, description and a ``note`` (NXnote) with the JSON above;
    - ``mcfit`` (NXcollection, saxs_mc analysis):
      ``distribution`` (NXdata: signal ``volume_fraction`` with
      ``volume_fraction_errors``, axis ``r_nm`` (bin centres), ``r_lo_nm``,
      ``r_hi_nm``, ``min_visibility``, ``number_fraction``) and ``fit_curve``
      (NXdata: signal ``I_model`` with ``I_model_errors``, axis ``Q`` in 1/nm).
      Radii carry ``@units = "nm"``, Q ``"1/nm"``, intensities the data's unit;
      volume and number fractions are dimensionless and carry no ``@units``
      (NXcanSAS has no unit string for relative data), only a ``@long_name``
      saying whether they are absolute or relative.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.fit.result import FitResult
from saxs_mc.io.atomic import atomic_h5_buffer, atomic_path, jsonable, staged_folder, write_json_atomic
from saxs_mc.io.curves import HDF5_SUFFIXES
from saxs_mc.io.nxcansas import _decode, _find_class, _set_str

SCHEMA = "saxs_mc.fit/1"
DISTRIBUTION_COLUMNS = (
    "r_lo_nm",
    "r_hi_nm",
    "volume_fraction",
    "volume_fraction_std",
    "min_visibility",
    "volume_fraction_resolved",
)
FITCURVE_COLUMNS = ("q_nm", "intensity", "sigma", "model_mean", "model_std")


def write_distribution_csv(path: str | Path, res: FitResult) -> Path:
    """``<stem>_distribution.csv`` (see module docstring): plain CSV, one header line, loads with ``pandas.read_csv(path)``."""
    path = Path(path)
    data = np.column_stack(
        [
            res.bin_edges_nm[:-1],
            res.bin_edges_nm[1:],
            res.volume_fraction,
            res.volume_fraction_std,
            res.min_visibility,
            res.volume_fraction_resolved,
        ]
    )
    return _write_csv(path, DISTRIBUTION_COLUMNS, data)


def write_fitcurve_csv(path: str | Path, res: FitResult) -> Path:
    """``<stem>_fitcurve.csv`` (see module docstring): plain CSV, one header line."""
    path = Path(path)
    data = np.column_stack([res.q_nm, res.intensity, res.sigma, res.model_mean, res.model_std])
    return _write_csv(path, FITCURVE_COLUMNS, data)


def _write_csv(path: Path, columns: tuple[str, ...], data: np.ndarray) -> Path:
    # no comment lines: the file loads with pandas.read_csv / numpy.genfromtxt(names=True) default options;
    # units and the kind of volume fraction are in the column names' docs and in <stem>_fit.json
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(",".join(columns) + "\n")
            np.savetxt(fh, data, delimiter=",", fmt="%.10g")
    return path


def plot_fit(path: str | Path, res: FitResult) -> Path:
    """``<stem>_fit.png``: data with the fitted curve, and the distribution (Agg, atomic)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    res.plot(fig.subplots(1, 2))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def _is_nxcansas(path: Path) -> bool:
    if path.suffix.lower() not in HDF5_SUFFIXES:
        return False
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            return bool(_find_class(fh, "SASentry"))
    except OSError:
        return False


def write_nxcansas_analysis(source: str | Path, target: str | Path, res: FitResult, summary: dict[str, Any]) -> Path:
    """Copy the NXcanSAS ``source`` to ``target`` and add the fit groups (see module docstring)."""
    import h5py

    from saxs_mc import __version__
    from saxs_mc.provenance import utc_now

    source, target = Path(source), Path(target)
    if source.resolve() == target.resolve():
        raise ValueError(f"{target}: refusing to overwrite the input file; choose another output directory")
    summary_json = json.dumps(summary, allow_nan=False)
    with atomic_h5_buffer(target, copy_from=source) as tmp:  # HDF5 never writes to disk (no crash on ENOSPC/EFBIG)
        with h5py.File(tmp, "r+") as fh:
            fh.attrs["file_name"] = target.name  # the copy names itself, not the input it was copied from
            entries = _find_class(fh, "SASentry")
            default = _decode(fh.attrs.get("default", ""))
            entry = fh[default] if default in entries else fh[entries[0]]
            for name in ("sasprocess_mcfit", "mcfit"):
                if name in entry:
                    del entry[name]
            proc = entry.create_group("sasprocess_mcfit")
            proc.attrs.update({"NX_class": "NXprocess", "canSAS_class": "SASprocess"})
            _set_str(proc, "name", "saxs_mc Monte Carlo sphere fit (McSAS method)")
            _set_str(proc, "date", utc_now())
            _set_str(proc, "version", __version__)
            _set_str(proc, "description", "volume-weighted sphere size distribution; results in ../mcfit")
            note = proc.create_group("note")
            note.attrs.update({"NX_class": "NXnote", "canSAS_class": "SASnote"})
            _set_str(note, "type", "application/json")
            _set_str(note, "data", summary_json)
            coll = entry.create_group("mcfit")
            coll.attrs["NX_class"] = "NXcollection"
            # volume and number fractions are dimensionless: no @units (NXcanSAS/NeXus give no unit
            # string for relative data); @long_name says whether they are absolute or relative
            vf_name = "volume fraction (absolute)" if res.absolute else "volume fraction (relative, sum 1)"
            dist = coll.create_group("distribution")
            dist.attrs.update({"NX_class": "NXdata", "signal": "volume_fraction", "axes": "r_nm"})
            for name, arr, unit, long_name in (
                ("r_nm", res.bin_centers_nm, "nm", "bin centre radius"),
                ("r_lo_nm", res.bin_edges_nm[:-1], "nm", "bin lower edge"),
                ("r_hi_nm", res.bin_edges_nm[1:], "nm", "bin upper edge"),
                ("volume_fraction", res.volume_fraction, None, vf_name),
                ("volume_fraction_errors", res.volume_fraction_std, None, f"{vf_name}, std over repetitions"),
                ("min_visibility", res.min_visibility, None, f"minimum visible {vf_name}"),
                ("number_fraction", res.number_fraction, None, "number fraction (relative, sum 1)"),
                ("number_fraction_errors", res.number_fraction_std, None, "number fraction, std over repetitions"),
            ):
                ds = dist.create_dataset(name, data=np.asarray(arr, dtype=float))
                if unit is not None:
                    ds.attrs["units"] = unit
                ds.attrs["long_name"] = long_name
            curve = coll.create_group("fit_curve")
            curve.attrs.update({"NX_class": "NXdata", "signal": "I_model", "axes": "Q"})
            for name, arr, unit in (
                ("Q", res.q_nm, "1/nm"),
                ("I_model", res.model_mean, res.intensity_unit),
                ("I_model_errors", res.model_std, res.intensity_unit),
            ):
                ds = curve.create_dataset(name, data=np.asarray(arr, dtype=float))
                ds.attrs["units"] = unit
            _set_str(coll, "summary_json", summary_json)
    return target


def write_fit_outputs(
    outdir: str | Path, stem: str, res: FitResult, *, source: str | Path | None = None, plot: bool = True
) -> dict[str, Path]:
    """Write the distribution CSV, fit-curve CSV, JSON summary, a plot and (for NXcanSAS input) an HDF5 copy.

    Parameters
    ----------
    outdir : str or Path
        Output directory (created if missing).
    stem : str
        File-name stem, e.g. the sample name.
    res : FitResult
    source : str or Path, optional
        The input file; recorded with its SHA-256, and when it is NXcanSAS a copy
        with the analysis groups is written as ``<stem>_fit.h5``.
    plot : bool
        Also write ``<stem>_fit.png`` (:meth:`FitResult.plot`).

    Returns
    -------
    dict with keys ``distribution``, ``fitcurve``, ``json`` and possibly ``nxcansas`` and ``plot``.
    """
    if not isinstance(res, FitResult):
        raise TypeError(f"res must be a FitResult, got {type(res).__name__}")
    if not stem or "/" in stem or "\\" in stem:
        raise ValueError(f"stem={stem!r}: give a plain file-name stem without directory separators")
    final = Path(outdir)
    src = Path(source) if source is not None else None
    if src is not None and not src.exists():
        raise FileNotFoundError(f"source={src}: file does not exist")
    with staged_folder(final) as outdir:  # all files or none (a failed write leaves no partial set)
        paths = _write_fit_files(outdir, stem, res, src, plot=plot)
    return {k: final / p.name for k, p in paths.items()}


def _write_fit_files(outdir: Path, stem: str, res: FitResult, src: Path | None, *, plot: bool) -> dict[str, Path]:
    from saxs_mc.provenance import file_sha256, utc_now

    paths: dict[str, Path] = {
        "distribution": write_distribution_csv(outdir / f"{stem}_distribution.csv", res),
        "fitcurve": write_fitcurve_csv(outdir / f"{stem}_fitcurve.csv", res),
    }
    nx = src is not None and _is_nxcansas(src)
    doc = {
        "schema": SCHEMA,
        "created": utc_now(),
        "source": {"path": str(src), "sha256": file_sha256(src)} if src is not None else None,
        "outputs": {
            "distribution": paths["distribution"].name,
            "fitcurve": paths["fitcurve"].name,
            "nxcansas": f"{stem}_fit.h5" if nx else None,
        },
        **res.summary(),
    }
    doc = jsonable(doc)
    if nx and src is not None:
        paths["nxcansas"] = write_nxcansas_analysis(src, outdir / f"{stem}_fit.h5", res, doc)
    paths["json"] = write_json_atomic(outdir / f"{stem}_fit.json", doc)
    if plot:
        paths["plot"] = plot_fit(outdir / f"{stem}_fit.png", res)
    return paths
