"""CLI: ``saxs-mc reduce FRAMES... --poni P [--mask M] [--blank BLANK_FRAMES...] -o OUT.h5``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from saxs_mc._settings import add_option, declarations
from saxs_mc.reduce.settings import ReductionSettings

log = logging.getLogger(__name__)


EXAMPLES = """examples:
  saxs-mc reduce data/nuc240C/*.edf --poni id02.poni --mask mask.edf --blank data/blank/*.edf -o nuc240C.h5
  # Pilatus TIFF with a Fit2D calibration, no monitors: per-second counts in arbitrary units
  saxs-mc geometry --from-fit2d calibration_fit2d.txt --detector Pilatus1M -o elettra.poni
  saxs-mc reduce part_00000.tif --poni elettra.poni --mask AAA_integ.msk --flip ud --normalization exposure -o part.h5
  # Eiger HDF5 stack with monitors in a per-frame log beside it (BioCAT/RAW .log, CSV or TSV)
  saxs-mc reduce 'run_data_000001.h5::/entry/data/data' --poni eiger.poni --monitor-table run.log \\
      --thickness-cm 0.15 -o run.h5
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    D = declarations(ReductionSettings)  # defaults, choices, checks and help: declared once there
    p = subparsers.add_parser(
        "reduce",
        help="raw frames -> averaged, normalized (1/cm), blank-subtracted I(q) as NXcanSAS + ASCII",
        description="Azimuthally integrate frames with pyFAI, normalize them (transmitted monitor from the header or a "
        "per-frame table, exposure time, a constant, or nothing; thickness, solid angle, calibration "
        "factor), reject faulty frames (median/MAD of transmission and integrated intensity), average, "
        "optionally subtract a blank, and write NXcanSAS + 3-column ASCII. "
        "FRAMES are files (any fabio format), globs, or 'file.h5::/path/to/dataset[3:7]'. Every problem of "
        "the inputs is reported at once before any work (exit 2, nothing written).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("frames", nargs="+", metavar="FRAMES", help="sample frames (files, globs, file.h5::/dataset[idx])")
    p.add_argument(
        "--poni",
        help="pyFAI PONI file, version 1 or 2 (default: geometry from the ID02 header keys); "
        "from Fit2D: saxs-mc geometry --from-fit2d",
    )
    p.add_argument("--mask", help="mask file (EDF/TIFF/NPY/Fit2D .msk; non-zero = masked)")
    add_option(p, "--flip", decl=D["flip"], extra="Fit2D and Dioptas geometry and masks refer to the image flipped ud")
    add_option(p, "--mask-flip", decl=D["mask_flip"])
    p.add_argument("--blank", nargs="+", metavar="BLANK_FRAMES", help="blank frames to reduce and subtract")
    p.add_argument("--blank-scale", type=float, default=1.0, help="scale factor applied to the blank (default 1)")
    p.add_argument("-o", "--output", required=True, help="output NXcanSAS file (.h5); ASCII goes next to it (.dat)")
    p.add_argument("--no-ascii", action="store_true", help="do not write the 3-column ASCII file")
    p.add_argument("--title", help="sample title (default: output file stem)")
    add_option(p, "--npt", decl=D["npt"], metavar="N")
    add_option(p, "--q-range", decl=D["q_range"], metavar=("QMIN", "QMAX"), extra="in --q-unit")
    add_option(p, "--q-unit", decl=D["q_unit"], extra="also of the files")
    add_option(p, "--error-model", decl=D["error_model"])
    add_option(p, "--polarization-factor", decl=D["polarization_factor"], metavar="P")
    p.add_argument("--no-polarization", action="store_true", help="no polarization correction")
    p.add_argument(
        "--no-solid-angle",
        action="store_true",
        help="no solid-angle correction (as Fit2D's GEOMETRY COR. NO; not for absolute intensities)",
    )
    _add_scale_options(p, D)
    add_option(p, "--reject-threshold", decl=D["reject_mad_threshold"], metavar="K")
    p.add_argument("--no-reject", action="store_true", help="average all frames (no fault rejection)")
    p.add_argument("--skip-bad-frames", action="store_true", help="reject corrupt/invalid frames instead of failing")
    p.add_argument("--nan-mask", action="store_true", help="ignore NaN/inf pixels instead of failing")
    p.add_argument(
        "--header-key",
        action="append",
        default=[],
        metavar="FIELD=KEY",
        help="map a header field to this beamline's key, e.g. transmitted_monitor=mon2 (repeatable); "
        "FIELD=None says the beamline has no such key (incident_monitor=None: no transmission and no "
        "transmission-based rejection). A mapped key missing from a frame is an error",
    )
    p.add_argument("--workers", type=int, default=1, help="processes for integration (default 1)")
    p.set_defaults(func=_run)


def _add_scale_options(p: argparse.ArgumentParser, D: dict) -> None:
    """Normalisation, thickness and absolute-scale options (defaults and help from ReductionSettings)."""
    p.add_argument(
        "--normalization",
        default=D["normalization"].default,
        metavar="MODE",
        help=D["normalization"].help(
            extra="constant=F divides by F. All but monitor give arbitrary units unless --calibration-factor is given"
        ),
    )
    p.add_argument(
        "--monitor-table",
        metavar="FILE",
        help="per-frame monitors/exposure from a CSV/TSV table or a BioCAT/RAW .log beside the frames "
        "(columns I1, I0, exposure, Filename recognised by name)",
    )
    p.add_argument(
        "--table-column",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="column of the monitor table for FIELD (frame, transmitted_monitor, incident_monitor, "
        "exposure_time); repeatable",
    )
    add_option(p, "--saturation", decl=D["saturation"], metavar="COUNTS")
    add_option(p, "--thickness-cm", decl=D["thickness_cm"], metavar="CM", extra="optional in arbitrary units")
    p.add_argument(
        "--calibration-factor",
        type=float,
        metavar="F",
        help=f"absolute calibration factor (default {D['calibration_factor'].default:g} with --normalization "
        "monitor: simulated data / already calibrated monitors; otherwise none: arbitrary units)",
    )
    p.add_argument(
        "--arbitrary-units",
        action="store_true",
        help="no absolute calibration (intensity 'arbitrary'; a thickness is then optional)",
    )
    p.add_argument(
        "--water",
        nargs="+",
        metavar="WATER_FRAMES",
        help="water reference frames: derive the calibration factor (0.0163 1/cm at 20 C) from them",
    )
    p.add_argument(
        "--water-empty", nargs="+", metavar="EMPTY_FRAMES", help="empty-cell frames subtracted from the water"
    )
    p.add_argument(
        "--water-thickness-cm",
        type=float,
        help="water thickness in cm (default: the water frames' header key SampleThickness_cm); the empty "
        "cell is normalized with the same thickness. --thickness-cm applies to the sample only",
    )
    add_option(p, "--empty-cell-transmission", decl=D["empty_cell_transmission"], metavar="T")


def _pairs(items: list[str], option: str, example: str, problems: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            problems.append(f"{option} {item!r}: use FIELD=VALUE, e.g. {example}")
            continue
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _normalization(text: str, problems: list[str]) -> tuple[str, float | None]:
    mode, _, value = text.partition("=")
    if mode != "constant" or not value:
        if value:
            problems.append(f"--normalization {text!r}: only 'constant' takes a value (constant=F)")
        return mode, None
    try:
        return mode, float(value)
    except ValueError:
        problems.append(f"--normalization {text!r}: {value!r} is not a number; use e.g. constant=1e6")
        return mode, None


def _settings(args: argparse.Namespace, problems: list[str] | None = None):
    """ReductionSettings from the arguments; every problem is appended to ``problems`` (raised when None)."""
    from saxs_mc.reduce.settings import HeaderMap

    D = declarations(ReductionSettings)
    own = problems is None
    problems = [] if problems is None else problems
    n0 = len(problems)
    header = _pairs(args.header_key, "--header-key", "transmitted_monitor=Intensity1ShutCor", problems)
    columns = _pairs(args.table_column, "--table-column", "transmitted_monitor=I1", problems)
    mode, constant = _normalization(args.normalization, problems)
    factor = None if args.arbitrary_units else args.calibration_factor
    if factor is None and not args.arbitrary_units and mode == "monitor":
        factor = declarations(ReductionSettings)["calibration_factor"].default
    if args.arbitrary_units and args.calibration_factor is not None:
        problems.append("--arbitrary-units and --calibration-factor contradict each other; drop one")
    try:
        hmap = HeaderMap.from_pairs(header)
    except ValueError as exc:
        problems.append(f"--header-key: {exc}")
        hmap = HeaderMap()
    try:
        settings = ReductionSettings(
            npt=args.npt,
            q_range=None if args.q_range is None else tuple(args.q_range),
            q_unit=args.q_unit,
            error_model=args.error_model,
            polarization_factor=None if args.no_polarization else args.polarization_factor,
            correct_solid_angle=not args.no_solid_angle,
            thickness_cm=args.thickness_cm,
            calibration_factor=factor,
            empty_cell_transmission=args.empty_cell_transmission,
            reject_outliers=not args.no_reject,
            reject_mad_threshold=args.reject_threshold,
            nan_policy="mask" if args.nan_mask else D["nan_policy"].default,
            bad_frames="reject" if args.skip_bad_frames else D["bad_frames"].default,
            header=hmap,
            normalization=mode,
            normalization_constant=constant,
            monitor_table=args.monitor_table,
            table_columns=tuple(columns.items()),
            flip=args.flip,
            mask_flip=args.mask_flip,
            saturation=args.saturation,
        )
    except ValueError as exc:
        problems.append(str(exc))
        settings = None
    if own and len(problems) > n0:
        raise ValueError("; ".join(problems))
    return settings


def _check_output(out: Path, ascii_: bool) -> list[str]:
    """Problems of the output location (the shared check: existing folder, not writable, disk full)."""
    from saxs_mc.io.atomic import OutputLocationError, check_output_location

    problems = []
    try:
        check_output_location(out, folder=False)
    except OutputLocationError as exc:
        problems.append(str(exc))
    if ascii_ and out.suffix.lower() == ".dat":
        problems.append(f"-o {out}: the NXcanSAS file needs an .h5 name (the ASCII .dat goes next to it)")
    return problems


def _missing_inputs(args: argparse.Namespace) -> list[str]:
    """Frame sources and files that cannot be found (used when the settings are invalid, so no Reducer exists)."""
    from saxs_mc.io.frames import FrameError, expand_sources

    problems = []
    for what, sources in (
        (f"sample {Path(args.output).stem!r}", args.frames),
        ("blank", args.blank),
        ("water reference", args.water),
        ("water empty cell", args.water_empty),
    ):
        try:
            if sources:
                expand_sources(sources)
        except (FrameError, ValueError) as exc:
            problems.append(f"{what}: {exc}")
    for opt, path in (("--poni", args.poni), ("--mask", args.mask), ("--monitor-table", args.monitor_table)):
        if path is not None and not Path(path).is_file():
            problems.append(f"{opt} {path}: file does not exist; check the path")
    return problems


def _argument_problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.water_empty and not args.water:
        problems.append("--water-empty needs --water (the water reference frames)")
    if args.water_thickness_cm is not None and not args.water:
        problems.append("--water-thickness-cm needs --water (the water reference frames)")
    if args.water and args.arbitrary_units:
        problems.append("--water and --arbitrary-units contradict each other; drop one")
    return problems


def preflight(args: argparse.Namespace) -> tuple[Any, list[str], Any]:
    """(settings, problems, sample reducer): every problem of the arguments and inputs, found before any work."""
    from saxs_mc.reduce.reducer import Reducer

    problems: list[str] = []
    settings = _settings(args, problems)
    problems.extend(_check_output(Path(args.output), not args.no_ascii))
    problems.extend(_argument_problems(args))
    if settings is None:  # still report the inputs that cannot be found
        return None, problems + _missing_inputs(args), None
    first = None
    title = args.title or Path(args.output).stem
    groups = [
        (f"sample {title!r}", args.frames),
        (f"blank of {title!r}", args.blank),
        ("water reference", args.water),
        ("water empty cell", args.water_empty),
    ]
    for what, sources in groups:
        if not sources:
            continue
        try:
            reducer = Reducer(poni=args.poni, mask=args.mask, settings=settings)
        except (ValueError, FileNotFoundError) as exc:
            problems.append(str(exc))
            break
        first = first or reducer
        for msg in reducer.check(sources, title=what):
            if msg not in problems:
                problems.append(msg)
    return settings, problems, first


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.reduce.output import write_reduced
    from saxs_mc.reduce.reducer import Reducer

    settings, problems, checked = preflight(args)
    if problems:
        log.error(
            "reduce: %d problem(s) in the inputs; nothing written to %s:\n  %s",
            len(problems),
            args.output,
            "\n  ".join(problems),
        )
        return 2
    out = Path(args.output)  # its location was checked by preflight, before computing
    title = args.title or out.stem
    progress = not getattr(args, "quiet", False)  # a bar on a terminal, else log lines
    calibration = None
    if args.water:
        settings, calibration = _water_calibrated(args, settings, progress)
    failures: list[str] = []
    res = blank = None
    reducer = checked if calibration is None else Reducer(poni=args.poni, mask=args.mask, settings=settings)
    with reducer:
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
        log.error(
            "reduce failed (%d problem(s)); nothing written to %s:\n  %s", len(failures), out, "\n  ".join(failures)
        )
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

    raw = dataclasses.replace(
        settings, calibration_factor=1.0, calibration_factor_sigma=None, thickness_cm=args.water_thickness_cm
    )
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
    record = {
        **cal.summary(),
        "water_thickness_cm": water_thickness,
        "water_inputs": list(water.inputs),
        "empty_cell_inputs": None if empty is None else list(empty.inputs),
        "water_rejected_frames": list(water.rejected),
        "empty_cell_rejected_frames": None if empty is None else list(empty.rejected),
    }
    return dataclasses.replace(
        settings, calibration_factor=cal.factor, calibration_factor_sigma=cal.factor_sigma
    ), record
