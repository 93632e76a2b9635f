"""CLI for ``saxs-mc simulate``: write a simulated series with its truth file.

Examples
--------
Regenerate the shipped sample data (deterministic)::

    saxs-mc simulate --series cdse-nucleation -o sample_data/cdse_series --calibration calibration

Regenerate the shipped time-resolved growth stack (300-frame Eiger-like HDF5 stack + blank)::

    saxs-mc simulate --series growth-stack -o sample_data/growth_stack --calibration calibration

Simulated acquisition for ``saxs-mc watch``: the shipped frames written at 2 frames/s with partial
writes into /tmp/live, after a config for the watch (/tmp/live/live.toml)::

    saxs-mc simulate --live /tmp/live --rate 2

Render a custom series described in JSON (a list of MeasurementCondition dicts)::

    saxs-mc simulate --conditions my.json --poni calibration/id02_sim.poni \
        --mask calibration/id02_sim_mask.edf -o out/ --seed 7
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

SERIES: tuple[str, ...] = ("cdse-nucleation",)
SERIES += ("growth-stack",)  # saxs_mc.simulate.growth: time-resolved growth run (one HDF5 stack + blank)

EXAMPLES = """\
examples:
  # regenerate the shipped sample data (deterministic)
  saxs-mc simulate --series cdse-nucleation -o sample_data/cdse_series --calibration calibration
  # the shipped time-resolved growth stack (300-frame Eiger-like HDF5 stack + blank)
  saxs-mc simulate --series growth-stack -o sample_data/growth_stack --calibration calibration
  # a custom series described in JSON (a list of MeasurementCondition dicts)
  saxs-mc simulate --conditions my.json --poni calibration/id02_sim.poni \\
      --mask calibration/id02_sim_mask.edf -o out/ --seed 7
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="render simulated 2D SAXS frames (EDF + NeXus) with a truth file",
        description="Render simulated in situ SAXS frames on an absolute scale from known sphere size "
        "distributions, precursor mesophase, solvent and capillary scattering.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--series", choices=SERIES, help="a predefined series (the shipped CdSe nucleation series)")
    p.add_argument(
        "--conditions", type=Path, help="JSON file: list of MeasurementCondition dicts (instead of --series)"
    )
    p.add_argument("-o", "--outdir", type=Path, help="output folder of the series")
    p.add_argument(
        "--calibration",
        type=Path,
        default=None,
        help="with --series: folder to write id02_sim.poni and id02_sim_mask.edf into (default: <outdir>/calibration)",
    )
    p.add_argument("--poni", type=Path, help="with --conditions: PONI file of the geometry")
    p.add_argument("--mask", type=Path, help="with --conditions: mask file (1 = masked)")
    p.add_argument("--seed", type=int, default=None, help="master seed (default: the shipped series' seed)")
    p.add_argument("--n-frames", type=int, default=3, help="with --series: good frames per condition (default 3)")
    p.add_argument(
        "--no-spectra",
        action="store_true",
        help="with --series: do not write the synthetic absorbance spectra (<outdir>/spectra)",
    )
    p.add_argument("--nexus", default=None, help="with --conditions: also write this condition as a NeXus/HDF5 stack")
    p.add_argument(
        "--live",
        type=Path,
        metavar="OUTDIR",
        default=None,
        help="simulated acquisition: write the shipped series' frames into OUTDIR at --rate, "
        "with partial writes (for saxs-mc watch)",
    )
    p.add_argument("--rate", type=float, default=2.0, metavar="HZ", help="with --live: frames per second (default 2)")
    p.add_argument(
        "--live-conditions",
        default=None,
        metavar="A,B",
        help="with --live: only these condition folders, e.g. blank_230C,nuc190C,nuc260C",
    )
    p.add_argument(
        "--hdf5",
        action="store_true",
        help="with --live: append to one HDF5 stack per condition under SWMR instead of writing EDF files",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.simulate.condition import conditions_from_dicts
    from saxs_mc.simulate.series import CDSE_SERIES_SEED, make_cdse_series, simulate_series

    if args.live is not None:
        return _run_live(args)
    if args.outdir is None:
        raise ValueError("give -o OUTDIR (or --live OUTDIR for a simulated acquisition)")
    if args.series == "growth-stack" and args.conditions is None:
        return _run_growth(args)
    seed = CDSE_SERIES_SEED if args.seed is None else args.seed
    if (args.series is None) == (args.conditions is None):
        raise ValueError("give exactly one of --series cdse-nucleation or --conditions FILE.json")
    if args.series == "cdse-nucleation":
        if args.n_frames < 1:
            raise ValueError(f"--n-frames={args.n_frames} must be >= 1")
        calib = args.calibration if args.calibration is not None else args.outdir / "calibration"
        res = make_cdse_series(args.outdir, calib, seed=seed, n_frames=args.n_frames, spectra=not args.no_spectra)
    else:
        if args.poni is None:
            raise ValueError("--conditions needs --poni (e.g. calibration/id02_sim.poni)")
        if not args.conditions.is_file():
            raise FileNotFoundError(f"--conditions file {args.conditions} does not exist")
        items = json.loads(args.conditions.read_text())
        if not isinstance(items, list):
            raise ValueError(
                f"--conditions {args.conditions}: expected a JSON list of condition dicts, got {type(items).__name__}"
            )
        res = simulate_series(
            conditions_from_dicts(items), args.outdir, args.poni, args.mask, seed, nexus_condition=args.nexus
        )
    for line in res.report().splitlines():
        log.info("%s", line)
    print(res.truth_path)
    return 0


def _run_growth(args: argparse.Namespace) -> int:
    """``--series growth-stack``: the simulated time-resolved growth run (saxs_mc.simulate.growth)."""
    from saxs_mc.simulate.growth import GROWTH_SEED, make_growth_stack

    calib = args.calibration if args.calibration is not None else args.outdir / "calibration"
    res = make_growth_stack(args.outdir, calib, seed=GROWTH_SEED if args.seed is None else args.seed)
    for line in res.report().splitlines():
        log.info("%s", line)
    print(res.truth_path)
    return 0


def _run_live(args: argparse.Namespace) -> int:
    """``--live OUTDIR --rate HZ``: the shipped series written frame by frame (saxs_mc.simulate.live)."""
    from saxs_mc.simulate.live import write_live, write_live_hdf5

    conds = [c for c in args.live_conditions.split(",") if c] if args.live_conditions else None
    writer = write_live_hdf5 if args.hdf5 else write_live
    res = writer(args.live, args.rate, conditions=conds)
    log.info("%s", res.report())
    return 0
