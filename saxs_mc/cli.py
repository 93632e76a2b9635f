"""Command-line interface: ``saxs-mc <subcommand> ...``.

A thin layer: parse arguments, load configuration, call the library.  Each
subcommand lives with its subpackage in a ``cli`` module exposing
``register(subparsers)``; the parser it adds sets ``func(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from saxs_mc import __version__

#: subcommand modules, in the order shown by ``saxs-mc --help``
SUBCOMMAND_MODULES = (
    "saxs_mc.pipeline.cli",  # run
    "saxs_mc.simulate.cli",  # simulate
    "saxs_mc.reduce.cli",  # reduce
    "saxs_mc.geometry.cli",  # geometry
    "saxs_mc.fit.cli",  # fit
    "saxs_mc.peaks.cli",  # peaks
    "saxs_mc.families.cli",  # families
    "saxs_mc.optical.cli",  # optical
    "saxs_mc.watch.cli",  # watch
)

log = logging.getLogger("saxs_mc")


EXAMPLES = """\
examples:
  saxs-mc simulate --series cdse-nucleation -o sample_data/cdse_series --calibration calibration
  saxs-mc run pipelines/cdse_nucleation_series.toml        # the whole batch, prints the report path
  saxs-mc reduce "frames/s1_*.edf" --poni cal.poni --mask mask.edf --blank "frames/blank_*.edf" -o out/s1.h5
  saxs-mc fit out/s1.h5 -o fits --contrast 34.65 --seed 1
  saxs-mc peaks out/blank.h5 -o peaks
  saxs-mc fit -h                                            # options and examples of one subcommand

-v/-q work before or after the subcommand (saxs-mc fit -v ...).
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shared ``--help`` layout: examples kept as written, one-line texts wrapped, defaults shown.

    A description or epilog containing a line break is printed as written (examples); a single-line
    one is wrapped to the terminal.  An option whose help does not mention its default gets
    ``(default: X)`` appended, unless the default is None, False or empty (nothing to show).
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        help_ = action.help or ""
        default = action.default
        if (
            help_
            and "default" not in help_
            and action.option_strings
            and action.nargs != 0
            and default not in (None, False, argparse.SUPPRESS)
            and default != []
        ):
            help_ += " (default: %(default)s)"
        return help_


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saxs-mc",
        description="In situ SAXS: pyFAI reduction, Monte Carlo sphere size distributions, Bragg peaks, batch reports.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"saxs_mc {__version__}")
    _add_logging_options(parser, default_verbose=0, default_quiet=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for modname in SUBCOMMAND_MODULES:
        importlib.import_module(modname).register(sub)
    for subparser in sub.choices.values():
        subparser.formatter_class = HelpFormatter
        # accepted after the subcommand too (``saxs-mc fit -v ...``); SUPPRESS keeps the top-level value
        _add_logging_options(subparser, default_verbose=argparse.SUPPRESS, default_quiet=argparse.SUPPRESS)
    return parser


def _add_logging_options(parser: argparse.ArgumentParser, *, default_verbose: object, default_quiet: object) -> None:
    """The shared ``-v/--verbose`` and ``-q/--quiet`` options (before or after the subcommand)."""
    group = parser.add_argument_group("logging")
    group.add_argument("-v", "--verbose", action="count", default=default_verbose, help="more logging (-vv for debug)")
    group.add_argument("-q", "--quiet", action="store_true", default=default_quiet, help="only warnings and errors")


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger("saxs_mc")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except OSError as exc:  # disk full, file-size limit, read-only, permissions: one line, no traceback
        from saxs_mc.io.atomic import describe_write_failure, write_failure_errno

        if write_failure_errno(exc) is None:
            raise
        log.error("%s", describe_write_failure(exc))
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
