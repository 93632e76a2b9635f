"""CLI for `saxs-mc fit` (placeholder until the capability lands)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("fit", help="(not available yet)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    log.error("'saxs-mc fit' is not implemented yet in this build")
    return 2
