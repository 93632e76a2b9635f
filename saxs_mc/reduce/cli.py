"""CLI: ``saxs-mc reduce FRAMES... --poni P [--mask M] [--blank BLANK_FRAMES...] -o OUT.h5``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reduce",
        help="raw frames -> averaged, normalized (1/cm), blank-subtracted I(q) as NXcanSAS + ASCII",
        description="Azimuthally integrate frames with pyFAI, normalize them to absolute scale (transmitted monitor, "
                    "thickness, solid angle, calibration factor), reject faulty frames (median/MAD of transmission and "
                    "integrated intensity), average, optionally subtract a blank, and write NXcanSAS + 3-column ASCII. "
                    "FRAMES are files (any fabio format), globs, or 'file.h5::/path/to/dataset[3:7]'.",
    )
    p.add_argument("frames", nargs="+", metavar="FRAMES", help="sample frames (files, globs, file.h5::/dataset[idx])")
    p.add_argument("--poni", help="pyFAI PONI file (default: geometry from the ID02 header keys)")
    p.add_argument("--mask", help="mask file (EDF/TIFF/NPY/Fit2D .msk; non-zero = masked)")
    p.add_argument("--blank", nargs="+", metavar="BLANK_FRAMES", help="blank frames to reduce and subtract")
    p.add_argument("--blank-scale", type=float, default=1.0, help="scale factor applied to the blank (default 1)")
    p.add_argument("-o", "--output", required=True, help="output NXcanSAS file (.h5); ASCII goes next to it (.dat)")
    p.add_argument("--no-ascii", action="store_true", help="do not write the 3-column ASCII file")
    p.add_argument("--title", help="sample title (default: output file stem)")
    p.add_argument("--npt", type=int, default=500, help="number of q bins (default 500)")
    p.add_argument("--q-unit", choices=("1/nm", "1/A"), default="1/nm", help="q unit of the grid and files")
    p.add_argument("--error-model", choices=("poisson", "azimuthal"), default="poisson")
    p.add_argument("--polarization-factor", type=float, default=0.99, help="pyFAI polarization factor (default 0.99)")
    p.add_argument("--no-polarization", action="store_true", help="no polarization correction")
    p.add_argument("--thickness-cm", type=float, help="sample thickness (default: header key SampleThickness_cm)")
    p.add_argument("--calibration-factor", type=float, default=1.0,
                   help="absolute calibration factor (default 1: simulated data / already calibrated monitors)")
    p.add_argument("--arbitrary-units", action="store_true", help="no absolute calibration (intensity 'arbitrary')")
    p.add_argument("--water", nargs="+", metavar="WATER_FRAMES",
                   help="water reference frames: derive the calibration factor (0.0163 1/cm at 20 C) from them")
    p.add_argument("--water-empty", nargs="+", metavar="EMPTY_FRAMES", help="empty-cell frames subtracted from the water")
    p.add_argument("--water-thickness-cm", type=float,
                   help="water thickness in cm (default: the water frames' header key SampleThickness_cm); the empty "
                        "cell is normalized with the same thickness. --thickness-cm applies to the sample only")
    p.add_argument("--empty-cell-transmission", type=float, help="I1/I0 of the empty cell (transmissions relative to it)")
    p.add_argument("--reject-threshold", type=float, default=5.0, help="robust sigma threshold for frame rejection")
    p.add_argument("--no-reject", action="store_true", help="average all frames (no fault rejection)")
    p.add_argument("--skip-bad-frames", action="store_true", help="reject corrupt/invalid frames instead of failing")
    p.add_argument("--nan-mask", action="store_true", help="ignore NaN/inf pixels instead of failing")
    p.add_argument("--header-key", action="append", default=[], metavar="FIELD=KEY",
                   help="map a header field to this beamline's key, e.g. transmitted_monitor=mon2 (repeatable); "
                        "FIELD=None says the beamline has no such key (incident_monitor=None: no transmission and no "
                        "transmission-based rejection). A mapped key missing from a frame is an error")
    p.add_argument("--workers", type=int, default=1, help="processes for integration (default 1)")
    p.set_defaults(func=_run)


def _settings(args: argparse.Namespace):
    from saxs_mc.reduce.settings import HeaderMap, ReductionSettings

    pairs = {}
    for item in args.header_key:
        if "=" not in item:
            raise ValueError(f"--header-key {item!r}: use FIELD=KEY, e.g. transmitted_monitor=Intensity1ShutCor")
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    return ReductionSettings(
        npt=args.npt, q_unit=args.q_unit, error_model=args.error_model,
        polarization_factor=None if args.no_polarization else args.polarization_factor,
        thickness_cm=args.thickness_cm,
        calibration_factor=None if args.arbitrary_units else args.calibration_factor,
        empty_cell_transmission=args.empty_cell_transmission,
        reject_outliers=not args.no_reject, reject_mad_threshold=args.reject_threshold,
        nan_policy="mask" if args.nan_mask else "error", bad_frames="reject" if args.skip_bad_frames else "error",
        header=HeaderMap.from_pairs(pairs),
    )


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.io.atomic import check_output_location
    from saxs_mc.reduce.output import write_reduced
    from saxs_mc.reduce.reducer import Reducer

    settings = _settings(args)
    out = check_output_location(args.output, folder=False)  # before computing
    title = args.title or out.stem
    progress = not (getattr(args, "quiet", False)) and sys.stderr.isatty()
    if args.water_empty and not args.water:
        raise ValueError("--water-empty needs --water (the water reference frames)")
    if args.water_thickness_cm is not None and not args.water:
        raise ValueError("--water-thickness-cm needs --water (the water reference frames)")
    calibration = None
    if args.water:
        if args.arbitrary_units:
            raise ValueError("--water and --arbitrary-units contradict each other; drop one")
        settings, calibration = _water_calibrated(args, settings, progress)
    failures: list[str] = []
    res = blank = None
    with Reducer(poni=args.poni, mask=args.mask, settings=settings) as reducer:
        try:
            res = reducer.reduce(args.frames, title=title, progress=progress, workers=args.workers)
        except ValueError as exc:
            failures.append(f"sample {title!r}: {exc}")
        if args.blank:
            try:
                blank = reducer.reduce(args.blank, title=f"{title} blank", progress=progress, workers=args.workers)
            except ValueError as exc:
                failures.append(f"blank of {title!r}: {exc}")
    if failures or res is None:
        log.error("reduce failed (%d problem(s)); nothing written to %s:\n  %s", len(failures), out, "\n  ".join(failures))
        return 2
    if blank is not None:
        res = res.subtract(blank, scale=args.blank_scale)
    extra = None if calibration is None else {"water_calibration": calibration}
    path = write_reduced(out, res, ascii=not args.no_ascii, provenance=extra)
    log.info("%s", res.report())
    print(path)
    return 0


def _water_calibrated(args: argparse.Namespace, settings, progress: bool):
    """Reduce water (and empty cell) with factor 1; return settings with the derived factor and its uncertainty.

    Water and empty cell are normalized with the *water* thickness (``--water-thickness-cm``, else the
    water frames' header), never with the sample's ``--thickness-cm``.

    Returns
    -------
    (ReductionSettings, dict)
        The settings with ``calibration_factor`` / ``calibration_factor_sigma`` set, and a JSON-safe
        record of the calibration (for the output's provenance).
    """
    import dataclasses

    from saxs_mc.reduce.calibration import water_calibration
    from saxs_mc.reduce.reducer import Reducer

    raw = dataclasses.replace(settings, calibration_factor=1.0, calibration_factor_sigma=None,
                              thickness_cm=args.water_thickness_cm)
    with Reducer(poni=args.poni, mask=args.mask, settings=raw) as r:
        try:
            water = r.reduce(args.water, title="water", progress=progress, workers=args.workers)
        except ValueError as exc:
            if "thickness" in str(exc):
                raise ValueError(f"water reference: {exc} -- for the water frames give --water-thickness-cm") from exc
            raise
    empty = None
    water_thickness = water.curve.metadata.get("thickness_cm")
    if args.water_empty:
        empty_settings = dataclasses.replace(raw, thickness_cm=water_thickness)
        with Reducer(poni=args.poni, mask=args.mask, settings=empty_settings) as r:
            empty = r.reduce(args.water_empty, title="water empty cell", progress=progress, workers=args.workers)
    cal = water_calibration(water.curve, None if empty is None else empty.curve)
    log.info("%s", cal.report())
    record = {**cal.summary(), "water_thickness_cm": water_thickness, "water_inputs": list(water.inputs),
              "empty_cell_inputs": None if empty is None else list(empty.inputs),
              "water_rejected_frames": list(water.rejected),
              "empty_cell_rejected_frames": None if empty is None else list(empty.rejected)}
    return dataclasses.replace(settings, calibration_factor=cal.factor, calibration_factor_sigma=cal.factor_sigma), record
