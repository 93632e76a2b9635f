"""CLI: ``saxs-mc families DATA`` -- how much of each magic-size family.

Examples
--------
The CdSe magic-size families (default) with absolute volume fractions::

    saxs-mc families nuc230C.h5 -o out/ --contrast 34.65 --q-range 0.3 7

Own families (NAME:R[:SD[:HALF]] in nm; HALF > 0 refines the radius in R -+ HALF),
plus a continuous log-normal population::

    saxs-mc families curve.dat -o out/ --family F1:0.87:0.025 --family F2:0.94 --continuous

Families and settings from a TOML file (layout in saxs_mc.families.spec.load_families_config)::

    saxs-mc families curve.h5 -o out/ --config families.toml
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    from saxs_mc._settings import add_option, declarations
    from saxs_mc.families.spec import DEFAULT_HALF_WINDOW_NM, DEFAULT_SD_NM, DecomposeSettings

    D = declarations(DecomposeSettings)  # defaults, choices, checks and help: declared once there
    p = subparsers.add_parser(
        "families",
        help="decompose a curve into discrete sphere families (+ a log-normal): fractions with uncertainties",
        description="Fit a blank-subtracted curve as a sum of discrete sphere families (e.g. magic-size "
        "clusters), an optional continuous log-normal population and a flat background: volume "
        "fractions by NNLS inside an lmfit shape fit, families kept or dropped by BIC, uncertainties "
        "from the covariance, 95 %% upper limits for absent families.",
        epilog="examples:\n" + __doc__.split("Examples\n--------\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="NXcanSAS (.h5/.nxs) or 3-column ASCII curve (q, I, Idev)")
    p.add_argument("-o", "--outdir", default=".", help="output directory (default: .)")
    p.add_argument("--stem", default=None, help="output file-name stem (default: DATA's stem)")
    p.add_argument("--entry", default=None, help="NXcanSAS entry to read (default: the file's default)")
    p.add_argument("--q-unit", default=None, choices=("1/nm", "1/A"), help="q unit of an ASCII file without one")
    p.add_argument(
        "--family",
        action="append",
        default=None,
        metavar="NAME:R[:SD[:HALF]]",
        help=f"a family (nm): radius R, standard deviation SD (default {DEFAULT_SD_NM:g}), refinement "
        f"half-window HALF (default {DEFAULT_HALF_WINDOW_NM:g}: fixed radius); repeatable; default: "
        "CdSe-403/437/465 at 0.87/0.94/1.02",
    )
    p.add_argument("--config", type=Path, default=None, help="TOML file with [[family]] tables and settings")
    p.add_argument("--continuous", action="store_true", default=D["continuous"].default, help=D["continuous"].doc)
    add_option(p, "--background", decl=D["background"], unset=True)
    add_option(p, "--power-law", decl=D["power_law_exponent"], unset=True, metavar="N")
    add_option(p, "--q-range", decl=D["q_range_nm"], unset=True, metavar=("QMIN", "QMAX"))
    add_option(p, "--contrast", decl=D["contrast_1e6_A2"], unset=True, metavar="DRHO")
    add_option(p, "--selection", decl=D["selection"], unset=True)
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG plot")
    p.set_defaults(func=_run)


def _settings(args: argparse.Namespace) -> dict:
    from saxs_mc.families.spec import check_families, load_families_config, parse_family

    kw: dict = load_families_config(args.config) if args.config is not None else {}
    if args.family:
        if "families" in kw:
            raise ValueError(f"--family and --config {args.config} both define families: give them in one place")
        problems, fams = [], []
        for text in args.family:
            try:
                fams.append(parse_family(text))
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        kw["families"] = check_families(fams)
    for key, val in (
        ("background", args.background),
        ("power_law_exponent", args.power_law),
        ("contrast_1e6_A2", args.contrast),
        ("selection", args.selection),
        ("q_range_nm", tuple(args.q_range) if args.q_range else None),
    ):
        if val is not None:
            kw[key] = val
    if args.continuous:
        kw.setdefault("continuous", True)
    return kw


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.families.decompose import decompose
    from saxs_mc.families.outputs import write_family_outputs
    from saxs_mc.io.curves import read_curve

    path = Path(args.data)
    if not path.exists():
        raise FileNotFoundError(f"DATA={path}: file does not exist")
    kw = _settings(args)
    curve = read_curve(path, entry=args.entry, q_unit=args.q_unit)
    if "families" not in kw:
        log.info("no --family/--config families: using the CdSe magic-size families (0.87/0.94/1.02 nm)")
    res = decompose(curve, **kw)
    log.info("\n%s", res.report())
    paths = write_family_outputs(args.outdir, args.stem or path.stem, res, source=path, plot=not args.no_plot)
    for key, p in paths.items():
        log.info("wrote %s: %s", key, p)
    print(paths["json"])
    return 0
