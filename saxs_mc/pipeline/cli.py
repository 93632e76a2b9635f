"""CLI for ``saxs-mc run CONFIG.toml``: the batch pipeline.

The last line of standard output is the path of the HTML report (or, with
``--dry-run``, the listing of the steps with their cache status).  Exit
code 0 when everything succeeded, 1 when a step failed (the other samples
still finish), 2 for a bad configuration or output folder (nothing was run),
3 when another run holds the output folder, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger("saxs_mc.pipeline")

EXAMPLES = """\
examples:
  saxs-mc run pipelines/cdse_nucleation_series.toml            # all samples; prints the report path last
  saxs-mc run pipelines/cdse_nucleation_series.toml --dry-run  # list the steps: to run or cached
  saxs-mc run my_series.toml --workers 4                       # four local worker processes
  saxs-mc run my_series.toml --scheduler tcp://host:8786       # a dask.distributed cluster
  saxs-mc run my_series.toml --force                           # ignore the cache, redo every step
  cp pipelines/template.toml my_series.toml                    # start a config from the commented template

exit codes: 0 all steps succeeded, 1 a step failed (the others finished), 2 bad config or output
folder (nothing run), 3 another run holds the output folder, 130 interrupted.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a batch pipeline (reduce -> subtract blank -> MC fit -> Bragg peaks -> report)",
        description="Run the batch pipeline described by a TOML config (see pipelines/template.toml). "
        "Steps whose inputs and settings are unchanged are skipped (content hash); "
        "prints the path of the HTML report.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="pipeline configuration, e.g. pipelines/cdse_nucleation_series.toml")
    p.add_argument("--dry-run", action="store_true", help="list the steps and whether they would run or are cached")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="dask.distributed scheduler address (e.g. tcp://host:8786); default: local processes",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (1 = serial: one step at a time, 0 = all cores; default from config)",
    )
    p.add_argument("--force", action="store_true", help="ignore the cache and redo every step")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run)


def run_until_interrupted(call: Callable[[], Any]) -> Any:
    """Return ``call()``; after Ctrl-C return None, deaf to further Ctrl-C (the process is ending).

    The pipeline has already stopped its workers (within a second) when the
    interrupt arrives here; a second Ctrl-C during the exit would otherwise
    print a traceback from wherever the interpreter is shutting down.
    """
    try:
        return call()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.error("interrupted: completed steps are cached; run again to resume")
        return None


def _run(args: argparse.Namespace) -> int:
    from .config import load_config
    from .report import format_summary_table
    from .run import OutputLockedError, run_pipeline

    cfg = load_config(args.config)
    if not args.dry_run:  # before any work: an existing file, a read-only folder, a full disk (exit 2)
        from saxs_mc.io.atomic import check_output_location

        check_output_location(cfg.output.dir, folder=True, option=f"{cfg.source}: [output] dir")
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers={args.workers}: use 1 for serial, N > 1 for N processes, 0 for all cores")
    progress = not args.no_progress and sys.stderr.isatty()
    quiet = (
        []
        if getattr(args, "verbose", 0)
        else [
            logging.getLogger(n)
            for n in ("saxs_mc.reduce", "saxs_mc.fit", "saxs_mc.peaks", "saxs_mc.io")
            if logging.getLogger(n).level == logging.NOTSET
        ]
    )
    for lg in quiet:  # concise: the library steps only report warnings
        lg.setLevel(logging.WARNING)
    try:
        res = run_until_interrupted(
            lambda: run_pipeline(
                cfg,
                scheduler=args.scheduler,
                n_workers=args.workers,
                dry_run=args.dry_run,
                progress=progress,
                force=args.force,
            )
        )
        if res is None:
            return 130
    except OutputLockedError as exc:
        log.error("%s", exc)
        return 3
    finally:
        for lg in quiet:
            lg.setLevel(logging.NOTSET)
    if args.dry_run:
        lines = [f"# {cfg.name}: output {res.root}"]
        width = max(len(o.id) for o in res.outcomes.values())
        for o in res.outcomes.values():
            lines.append(f"{o.id:<{width}}  {o.status}")
        c = res.counts()
        lines.append(f"# {c.get('would run', 0)} would run, {c.get('cached', 0)} cached")
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    table = format_summary_table(res)
    for line in table.splitlines():
        log.info("%s", line)
    log.info("%s", res.report())
    if res.report_path is not None:
        sys.stdout.write(f"{res.report_path}\n")
    return 0 if res.ok else 1
