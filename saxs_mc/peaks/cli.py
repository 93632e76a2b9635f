"""CLI: ``saxs-mc peaks DATA -o OUTDIR`` -- detect, fit and index Bragg peaks."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)

EXAMPLES = """\
examples:
  saxs-mc peaks out/samples/nuc230C/nuc230C_sub.h5 -o peaks
      Bragg peaks of a blank-subtracted NXcanSAS curve: peaks/nuc230C_sub_peaks.json and .png
  saxs-mc peaks curve.dat -o peaks --q-unit 1/A --q-range 1 6
      a 3-column ASCII curve with q in 1/A (header silent), analysed between q = 1 and 6 1/nm
  saxs-mc peaks curve.h5 -o peaks --profile gaussian --min-significance 8 --no-plot
      Gaussian line shapes, only peaks with area/sd(area) >= 8, JSON only
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from saxs_mc._settings import add_option, declarations
    from saxs_mc.peaks.settings import PeakSearchSettings

    D = declarations(PeakSearchSettings)  # defaults, choices, checks and help: declared once there
    p = subparsers.add_parser(
        "peaks",
        help="detect, fit and index Bragg peaks in a 1D curve",
        description="Detect Bragg peaks by significance over a robust background, fit them jointly with lmfit, "
        "index them (lamellar/hexagonal/cubic) and write <stem>_peaks.json and <stem>_peaks.png.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", type=Path, help="reduced curve: NXcanSAS (.h5/.nxs) or ASCII (q, I, Idev)")
    p.add_argument("-o", "--outdir", type=Path, required=True, help="output directory")
    p.add_argument("--stem", default=None, help="output file stem (default: input file stem)")
    p.add_argument(
        "--q-range",
        nargs=2,
        type=float,
        default=None,
        metavar=("QMIN", "QMAX"),
        help="q range in 1/nm (default: the whole curve)",
    )
    p.add_argument(
        "--q-unit", default=None, choices=("1/nm", "1/A"), help="q unit of an ASCII file whose header does not state it"
    )
    add_option(p, "--profile", decl=D["profile"])
    add_option(p, "--min-significance", decl=D["min_significance"])
    p.add_argument("--drop-nonfinite", action="store_true", help="ignore NaN/inf points instead of failing")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.io.atomic import check_output_location
    from saxs_mc.io.curves import read_curve
    from saxs_mc.peaks.detect import find_peaks_curve
    from saxs_mc.peaks.output import write_peak_outputs

    check_output_location(args.outdir, folder=True)  # before computing
    curve = read_curve(args.data, q_unit=args.q_unit)
    pk = find_peaks_curve(
        curve,
        q_range_nm=tuple(args.q_range) if args.q_range else None,
        profile=args.profile,
        min_significance=args.min_significance,
        drop_nonfinite=args.drop_nonfinite,
    )
    for line in pk.report().splitlines():
        log.info("%s", line)
    stem = args.stem or args.data.stem
    out = write_peak_outputs(args.outdir, stem, pk, source=args.data, plot=not args.no_plot)
    print(out["json"])
    return 0 if pk.converged else 1
