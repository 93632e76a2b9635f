"""CLI: ``saxs-mc fit DATA -o OUTDIR`` -- Monte Carlo sphere size distribution of one curve.

DATA is an NXcanSAS file (saxs_mc's or a third party's) or 3-column ASCII
(q, I, Idev; q unit from the header, default 1/nm).  Writes
``<stem>_distribution.csv``, ``<stem>_fitcurve.csv``, ``<stem>_fit.json``,
``<stem>_fit.png`` (unless ``--no-plot``) and, for
NXcanSAS input, ``<stem>_fit.h5`` (a copy of the input with the analysis
groups; the input itself is never modified) -- see :mod:`saxs_mc.fit.outputs`.
Prints the JSON path on stdout; the text report goes to the log.  Exit code 0
also when some repetitions did not converge (they are flagged in the report and
JSON); use ``--strict`` to get exit code 3 then.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

log = logging.getLogger(__name__)


EXAMPLES = """\
examples:
  saxs-mc fit out/samples/nuc230C/nuc230C_sub.h5 -o fits --contrast 34.65 --seed 1
      absolute volume fractions (I in 1/cm from the file) with a fixed seed
  saxs-mc fit curve.dat -o fits --q-unit 1/nm --intensity-unit 1/cm --contrast 34.65 --r-range 0.4 4
      a 3-column ASCII curve whose header does not state its units
  saxs-mc fit curve.h5 -o fits --stats-range 0.8 1.0 --stats-range 1.0 1.2
      per-population statistics in two radius windows (the radius range of the fit stays the default)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from saxs_mc._settings import add_option, declarations
    from saxs_mc.fit.settings import FitSettings

    D = declarations(FitSettings)  # defaults, choices, checks and help: declared once there
    p = subparsers.add_parser(
        "fit",
        help="Monte Carlo (McSAS) sphere size distribution of a reduced curve",
        description="McSAS-style Monte Carlo fit of a volume-weighted sphere size distribution "
        "(numba; repetitions in parallel).  Writes <stem>_distribution.csv, <stem>_fitcurve.csv, "
        "<stem>_fit.json, <stem>_fit.png and, for NXcanSAS input, <stem>_fit.h5.  Volume below the "
        "resolvable radius (spheres the data cannot tell from a flat background) is reported apart "
        "as unresolved.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="NXcanSAS (.h5/.nxs) or 3-column ASCII curve (q, I, Idev)")
    p.add_argument("-o", "--outdir", required=True, help="output directory")
    p.add_argument("--stem", default=None, help="output file-name stem (default: DATA's stem)")
    p.add_argument("--entry", default=None, help="NXcanSAS entry to read (default: the file's default)")
    p.add_argument(
        "--q-unit",
        default=None,
        choices=("1/nm", "1/A"),
        help="q unit of an ASCII file whose header does not state it (default: from the header)",
    )
    p.add_argument(
        "--intensity-unit",
        default=None,
        choices=("1/cm", "arbitrary"),
        help="intensity unit of an ASCII file whose header does not state it; 1/cm with --contrast gives "
        "absolute volume fractions (default: from the file, else arbitrary)",
    )
    add_option(p, "--q-range", decl=D["q_range_nm"], metavar=("QMIN", "QMAX"))
    add_option(
        p, "--r-range", decl=D["r_range_nm"], metavar=("RMIN", "RMAX"), extra="the statistics windows are --stats-range"
    )
    add_option(p, "--contributions", decl=D["contributions"])
    add_option(p, "--repetitions", decl=D["repetitions"])
    add_option(p, "--seed", decl=D["seed"])
    add_option(p, "--contrast", decl=D["contrast"], metavar="DRHO")
    add_option(p, "--bins", decl=D["n_bins"])
    add_option(p, "--bin-scale", decl=D["bin_scale"])
    add_option(p, "--sampling", decl=D["radius_sampling"])
    p.add_argument(
        "--stats-range",
        "--range",
        dest="ranges",
        nargs=2,
        type=float,
        action="append",
        metavar=("RLO", "RHI"),
        help="extra radius window (nm) for population statistics, repeatable; does not change the fitted "
        "radius range (that is --r-range). --range is the old spelling (default: whole range only)",
    )
    add_option(
        p, "--background", decl=D["background"], extra="e.g. flat for an over-subtracted blank; --no-background is none"
    )
    add_option(
        p,
        "--background-bounds",
        decl=D["background_bounds"],
        metavar=("BMIN", "BMAX"),
        extra="e.g. from the subtracted blank's level and uncertainty; with nonnegative BMIN is raised to 0",
    )
    p.add_argument("--no-background", action="store_true", help="same as --background none")
    add_option(p, "--power-law", decl=D["power_law_exponent"], metavar="N")
    add_option(p, "--max-iterations", decl=D["max_iterations"])
    add_option(p, "--chi2-k", decl=D["chi2_k"], metavar="K", extra="see saxs_mc.fit.mc")
    p.add_argument("--strict", action="store_true", help="exit code 3 if any repetition did not converge")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot <stem>_fit.png")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress report (a bar on a terminal, otherwise a log line every 10 s)",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.fit.mc import fit_curve
    from saxs_mc.fit.outputs import write_fit_outputs
    from saxs_mc.io.atomic import check_output_location
    from saxs_mc.io.curves import read_curve

    path = Path(args.data)
    if not path.exists():
        raise FileNotFoundError(f"DATA={path}: file does not exist")
    check_output_location(args.outdir, folder=True)  # before computing: a bad -o loses no fit
    if args.no_background and args.background not in (None, "none"):
        raise ValueError(f"--no-background contradicts --background {args.background}: give one of them")
    background = "none" if args.no_background else args.background
    curve = read_curve(path, entry=args.entry, q_unit=args.q_unit)
    if args.intensity_unit is not None and args.intensity_unit != curve.intensity_unit:
        if curve.intensity_unit != "arbitrary":
            raise ValueError(
                f"--intensity-unit {args.intensity_unit} contradicts {path}, which states "
                f"{curve.intensity_unit}; drop the option or fix the file"
            )
        curve = dataclasses.replace(curve, intensity_unit=args.intensity_unit)
    res = fit_curve(
        curve,
        q_range_nm=tuple(args.q_range) if args.q_range else None,
        r_range_nm=tuple(args.r_range) if args.r_range else None,
        contributions=args.contributions,
        repetitions=args.repetitions,
        seed=args.seed,
        contrast=args.contrast,
        n_bins=args.bins,
        bin_scale=args.bin_scale,
        radius_sampling=args.sampling,
        ranges_nm=[tuple(r) for r in args.ranges] if args.ranges else None,
        background=background,
        background_bounds=tuple(args.background_bounds) if args.background_bounds else None,
        power_law_exponent=args.power_law,
        max_iterations=args.max_iterations,
        chi2_k=args.chi2_k,
        progress=not args.no_progress and not getattr(args, "quiet", False),
    )
    log.info("\n%s", res.report())
    paths = write_fit_outputs(args.outdir, args.stem or path.stem, res, source=path, plot=not args.no_plot)
    for key, p in paths.items():
        log.info("wrote %s: %s", key, p)
    print(paths["json"])
    if args.strict and not res.all_converged:
        log.error("%d/%d repetitions did not converge (--strict)", int((~res.converged).sum()), res.n_repetitions)
        return 3
    return 0
