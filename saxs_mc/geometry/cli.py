"""CLI: ``saxs-mc geometry --from-fit2d LOG|VALUES --detector NAME -o FILE.poni``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)

EXAMPLES = """examples:
  saxs-mc geometry --from-fit2d calibration_fit2d.txt --detector Pilatus1M -o elettra.poni
  saxs-mc geometry --from-fit2d "dist_mm=1031.657,center_x=387.772,center_y=808.37,tilt=-0.56,tilt_plane=73.569" \\
      --wavelength-A 1.54 --detector Pilatus1M -o elettra.poni
then reduce with the frames flipped as Fit2D sees them:
  saxs-mc reduce part_00000.tif --poni elettra.poni --mask AAA_integ.msk --flip ud --normalization exposure \\
      --arbitrary-units -o part.h5
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "geometry",
        help="write a pyFAI PONI file from a Fit2D calibration (log or values)",
        description="Convert a Fit2D geometry (beam centre X/Y in pixels, distance in mm, tilt, tilt-plane rotation, "
        "wavelength) to a pyFAI PONI file with pyFAI's setFit2D. Fit2D refers to the image flipped "
        "top-to-bottom: reduce with --flip ud.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--from-fit2d",
        required=True,
        metavar="LOG|VALUES",
        help="Fit2D refinement log file, or 'dist_mm=..,center_x=..,center_y=..,tilt=..,tilt_plane=..,"
        "wavelength_A=..[,pixel_um=..]'",
    )
    p.add_argument("--detector", required=True, metavar="NAME", help="pyFAI detector name, e.g. Pilatus1M, Eiger2_4M")
    p.add_argument("--wavelength-A", type=float, help="wavelength in A (default: from the log/values)")
    p.add_argument("-o", "--output", required=True, help="PONI file to write")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.geometry.fit2d import fit2d_to_poni, integrator_from_fit2d, read_fit2d

    out = Path(args.output)
    problems = []
    geom = None
    try:
        geom = read_fit2d(args.from_fit2d)
    except ValueError as exc:
        problems.append(str(exc))
    if out.is_dir() or not out.parent.is_dir():
        problems.append(f"-o {out}: {'is a folder' if out.is_dir() else 'its folder does not exist'}; give a file path")
    if geom is not None:
        try:
            integrator_from_fit2d(geom, args.detector, wavelength_A=args.wavelength_A)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        log.error("geometry: %d problem(s); nothing written:\n  %s", len(problems), "\n  ".join(problems))
        return 2
    assert geom is not None  # no problems: the calibration was read
    log.info("%s", geom.report())
    path = fit2d_to_poni(geom, args.detector, out, wavelength_A=args.wavelength_A)
    log.info("wrote %s (reduce with --flip ud: Fit2D's image is flipped top-to-bottom)", path)
    print(path)
    return 0
