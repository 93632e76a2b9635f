"""CLI for ``saxs-mc watch CONFIG.toml``: live mode at the beamline.

Examples
--------
Two terminals (the simulator writes the shipped series at 2 frames/s, with partial writes)::

    saxs-mc simulate --live /tmp/live --rate 2
    saxs-mc watch pipelines/live_demo.toml --serve 8000   # open <output>/live/index.html

Exit code 0 after Ctrl-C/SIGTERM or ``--idle-exit``, 2 for a bad configuration.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("saxs_mc.watch")


def register(subparsers: argparse._SubParsersAction) -> None:
    from .settings import WatchSettings as D  # defaults declared once

    p = subparsers.add_parser(
        "watch",
        help="live mode: follow the configured frame globs, update results and a live page",
        description="Follow the frame globs (and HDF5 stacks) of a pipeline config as frames arrive; use only "
        "complete frames. Each frame updates its sample's averaged curve at once (warm reducer, running "
        "sums; the 'live' part of summary.json); a sample is re-fitted in a worker process when its "
        "curve changed by more than its noise; the exact batch pipeline (content-hash cache, as "
        "'saxs-mc run') runs when the frames are quiet, and its summary.json/report replace the live "
        "part. Writes <output>/live/index.html (refreshes itself). Stop with Ctrl-C; run again to resume.",
        epilog="examples: (a two-terminal demo)\n"
        "  saxs-mc simulate --live /tmp/live --rate 2      # writes /tmp/live/live.toml, then frames\n"
        "  saxs-mc watch /tmp/live/live.toml --serve 8000  # http://127.0.0.1:8000/live/index.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="pipeline configuration (globs may match nothing yet)")
    p.add_argument(
        "--poll", type=float, default=D.poll_s, metavar="S", help=f"polling interval in seconds (default {D.poll_s:g})"
    )
    p.add_argument(
        "--debounce",
        type=float,
        default=D.debounce_s,
        metavar="S",
        help=f"wait this long after a new frame before the curve update (default {D.debounce_s:g})",
    )
    p.add_argument(
        "--refit-k",
        type=float,
        default=D.refit_k,
        metavar="K",
        help="re-fit a sample when the reduced chi2 between its curve and the curve last fitted "
        f"exceeds 1 + K sqrt(2/n) (default {D.refit_k:g}; 0: on every change)",
    )
    p.add_argument(
        "--refit-every",
        type=float,
        default=D.refit_every_s,
        metavar="S",
        help=f"... or when its frames changed and S seconds passed since its last fit (default {D.refit_every_s:g})",
    )
    p.add_argument(
        "--sync-idle",
        type=float,
        default=D.sync_idle_s,
        metavar="S",
        help="run the exact batch pipeline (cache, summary, report) after S seconds without new frames "
        f"(default {D.sync_idle_s:g})",
    )
    p.add_argument(
        "--sync-every",
        type=float,
        default=D.sync_every_s,
        metavar="S",
        help=f"... and at least every S seconds while frames keep arriving (default {D.sync_every_s:g})",
    )
    p.add_argument(
        "--corrupt-timeout",
        type=float,
        default=D.corrupt_timeout_s,
        metavar="S",
        help="reject a frame that stays incomplete/unreadable and unchanged this long "
        f"(default {D.corrupt_timeout_s:g})",
    )
    p.add_argument(
        "--status-every",
        type=float,
        default=D.status_every_s,
        metavar="S",
        help=f"status line interval (default {D.status_every_s:g})",
    )
    p.add_argument(
        "--idle-exit",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds without new frames, once frames have arrived (default: watch until Ctrl-C)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=D.n_workers,
        metavar="N",
        help="fit worker processes (default 1; 0: all cores); the batch sync has its own process",
    )
    p.add_argument(
        "--serve",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the live page on http://127.0.0.1:PORT/ (standard library)",
    )
    p.set_defaults(func=_run)


def _serve(root, port: int):  # noqa: ANN001, ANN202
    import functools
    import http.server
    import threading

    root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    log.info("live page on http://127.0.0.1:%d/live/index.html", port)
    return httpd


def _run(args: argparse.Namespace) -> int:
    from saxs_mc.io.atomic import check_output_location
    from saxs_mc.pipeline.config import allow_unmatched_globs, load_config

    from .loop import run_watch
    from .session import WatchSession, WatchSettings

    with allow_unmatched_globs():
        cfg = load_config(args.config)
    check_output_location(cfg.output.dir, folder=True, option=f"{cfg.source}: [output] dir")
    settings = WatchSettings(
        poll_s=args.poll,
        debounce_s=args.debounce,
        corrupt_timeout_s=args.corrupt_timeout,
        status_every_s=args.status_every,
        idle_exit_s=args.idle_exit,
        n_workers=args.workers,
        refit_k=args.refit_k,
        refit_every_s=args.refit_every,
        sync_idle_s=args.sync_idle,
        sync_every_s=args.sync_every,
    )
    session = WatchSession(cfg, settings)
    httpd = _serve(cfg.output.dir, args.serve) if args.serve is not None else None
    verbose = getattr(args, "verbose", 0) or 0
    quiet = (
        []
        if verbose
        else [  # concise by default: library steps report warnings only, as 'run' does
            logging.getLogger(n)
            for n in ("saxs_mc.reduce", "saxs_mc.fit", "saxs_mc.peaks", "saxs_mc.io", "saxs_mc.pipeline")
            if logging.getLogger(n).level == logging.NOTSET
        ]
    )
    for lg in quiet:
        lg.setLevel(logging.WARNING)
    if verbose:  # per-frame lines at -v
        log.setLevel(logging.DEBUG)
    try:
        run_watch(session)
    finally:
        for lg in quiet:
            lg.setLevel(logging.NOTSET)
        if httpd is not None:
            httpd.shutdown()
    print(cfg.output.dir / "live" / "index.html")
    return 0
