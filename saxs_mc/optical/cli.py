"""CLI: ``saxs-mc optical SPECTRUM...`` -- first-exciton peaks, MSC families and Yu diameters.

Examples
--------
The synthetic spectra of the shipped series::

    saxs-mc optical sample_data/cdse_series/spectra/nuc2*.csv -o out/

Own families (NAME:LAMBDA[:TOL] in nm) and a stricter threshold::

    saxs-mc optical uvvis.csv --family MSC-395:395:5 --family MSC-415:415:5 --min-significance 8
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "optical",
        help="first-exciton peaks of absorbance spectra: magic-size families and Yu et al. (2003) diameters",
        description="Read UV-Vis absorbance spectra (CSV/TXT: wavelength in nm, one or many absorbance columns), "
        "find first-exciton peaks on the scattering/continuum background (second derivative + lmfit "
        "Gaussian fit), assign them to magic-size families and size them with Yu et al. (2003). "
        "Writes <stem>_optical.json per file.",
        epilog="examples:\n" + __doc__.split("Examples\n--------\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spectra", nargs="+", metavar="SPECTRUM", help="CSV/TXT spectrum file(s)")
    p.add_argument("-o", "--outdir", default=".", help="output directory (default: .)")
    p.add_argument(
        "--family",
        action="append",
        default=None,
        metavar="NAME:LAMBDA[:TOL]",
        help="a family by absorption peak (nm) and assignment tolerance (default 6 nm); repeatable; "
        "default CdSe-382/403/437/465",
    )
    p.add_argument(
        "--min-significance", type=float, default=5.0, help="detection threshold in standard deviations (default 5)"
    )
    p.add_argument("--smooth-nm", type=float, default=8.0, help="second-derivative smoothing window in nm (default 8)")
    p.add_argument("--no-plot", action="store_true", help="do not write <stem>_optical.png")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.io.atomic import atomic_path, write_json_atomic
    from saxs_mc.optical.analysis import analyse_spectra
    from saxs_mc.optical.excitons import check_optical_families, parse_optical_family
    from saxs_mc.optical.spectra import read_spectra
    from saxs_mc.provenance import file_sha256, utc_now

    problems: list[str] = []
    fams: list | tuple | None = None
    if args.family:
        parsed = []
        for text in args.family:
            try:
                parsed.append(parse_optical_family(text))
            except ValueError as exc:
                problems.append(str(exc))
        fams = parsed
    spectra = []
    for path in args.spectra:
        try:
            spectra.append(read_spectra(path))
        except ValueError as exc:
            problems.append(str(exc))
    if fams is not None and not problems:
        fams = check_optical_families(fams)
    if problems:  # every bad input reported at once, before any work
        raise ValueError("\n  ".join(["bad input:", *problems]))
    outdir = Path(args.outdir)
    for sp in spectra:
        res = analyse_spectra(sp, fams, min_significance=args.min_significance, smooth_nm=args.smooth_nm)
        log.info("\n%s", res.report())
        stem = Path(sp.source).stem
        doc = {
            "schema": "saxs_mc.optical/1",
            "created": utc_now(),
            "input": {"path": sp.source, "sha256": file_sha256(sp.source)},
            **res.summary(),
        }
        path = write_json_atomic(outdir / f"{stem}_optical.json", doc)
        if not args.no_plot:
            ax = res.plot()
            with atomic_path(outdir / f"{stem}_optical.png") as tmp:
                ax.figure.savefig(tmp, format="png", dpi=110)
        print(path)
    return 0
