"""Benchmark: live mode latency and keeping up (``saxs-mc watch`` against ``saxs-mc simulate --live``).

For each rate, the simulator (in this process, a thread) writes the shipped series' frames
(blank_230C first, then the samples; 320 x 288 px EDF, 0.37 MB, 5 partial writes each) into a
fresh folder while ``saxs-mc watch --idle-exit`` (a subprocess, serial in-process pipeline)
follows a config over those frames with the given fit size.  Per frame:

* latency = time its reduced/subtracted curve and fit are in ``summary.json`` (the watch's
  ``processed_at``) - time its last byte was written (the simulator's clock, same machine).
  In this design the curve and the fit are updated by the same pipeline run, so the curve
  latency and the fit latency are the same number;
* the watch warms up (imports, fit kernels) before the first frame is written;
* kept up = the latency of the last third of the frames is not larger than that of the first
  third by more than one update time (the lag stays bounded).

Usage::

    python benchmarks/watch.py                         # rates 1 2 4 8 Hz, 300 contributions x 10 repetitions
    python benchmarks/watch.py --rates 2 --contributions 100 --repetitions 2

Numbers on a shared machine are contended: report them with the load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from saxs_mc.simulate.live import live_frames, write_live  # noqa: E402
from tests.watch.conftest import DATA, small_config  # noqa: E402


def _config(tmp: Path, frames: Path, contributions: int, repetitions: int, samples: list[str]) -> Path:
    cfg = small_config(tmp / "bench.toml", frames, tmp / "out").read_text()
    cfg = cfg.replace("contributions = 60", f"contributions = {contributions}")
    cfg = cfg.replace("repetitions = 2", f"repetitions = {repetitions}").replace("npt = 150", "npt = 300")
    head, _, _ = cfg.partition("[[samples]]")
    blocks = [f'[[samples]]\nname = "{s}"\nframes = "{frames}/{s}/{s}_*.edf"\n'
              f'nucleation_temperature_C = {int(s[3:6])}\ngrowth_temperature_C = 230\n' for s in samples]
    blank = f'[[blanks]]\nname = "blank_230C"\nframes = "{frames}/blank_230C/blank_230C_*.edf"\ntemperature_C = 230\n'
    path = tmp / "bench.toml"
    path.write_text(head + "\n".join(blocks) + blank)
    return path


def run_rate(rate: float, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="watch_bench_") as t:
        tmp = Path(t)
        frames = tmp / "frames"
        frames.mkdir()
        cfg = _config(tmp, frames, args.contributions, args.repetitions, args.samples)
        proc = subprocess.Popen([sys.executable, "-m", "saxs_mc.cli", "-q", "watch", str(cfg), "--poll", "0.2",
                                 "--debounce", str(args.debounce), "--idle-exit", "5",
                                 "--workers", str(args.workers)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        page = tmp / "out" / "live" / "index.html"  # written once the watch has warmed up
        t_end = time.monotonic() + args.warmup
        while not page.is_file() and time.monotonic() < t_end:
            time.sleep(0.2)
        result: dict = {}
        sim = threading.Thread(target=lambda: result.update(run=write_live(
            frames, rate, source=DATA, conditions=["blank_230C", *args.samples], chunks=5)))
        sim.start()
        sim.join()
        _, err = proc.communicate(timeout=1800)
        status = json.loads((tmp / "out" / "live" / "status.json").read_text())
    done = {Path(r["file"]): r["processed_at"] for r in status["frames"]}
    run = result["run"]
    if not any(done.values()):
        raise SystemExit(f"rate {rate}: the watch processed nothing (exit {proc.returncode}):\n{err[-3000:]}")
    lat = [done[f] - c for f, c in zip(run.files, run.completed_at) if done.get(f) is not None]
    third = max(1, len(lat) // 3)
    p95 = sorted(lat)[max(0, math.ceil(0.95 * len(lat)) - 1)]  # nearest rank
    return {"rate_hz": rate, "frames": len(run.files), "processed": len(lat), "runs": status["counts"]["runs"],
            "median_s": statistics.median(lat), "p95_s": p95, "max_s": max(lat),
            "first_third_s": statistics.median(lat[:third]), "last_third_s": statistics.median(lat[-third:]),
            "returncode": proc.returncode, "stderr_tail": err.strip().splitlines()[-1:] if err.strip() else []}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", type=float, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--contributions", type=int, default=300)
    ap.add_argument("--repetitions", type=int, default=10)
    ap.add_argument("--samples", nargs="+", default=["nuc190C", "nuc230C", "nuc260C", "nuc280C"])
    ap.add_argument("--debounce", type=float, default=0.3)
    ap.add_argument("--workers", type=int, default=1, help="1: updates in the watch process; N: N processes per update")
    ap.add_argument("--warmup", type=float, default=120.0, help="most seconds to wait for the watch to start")
    args = ap.parse_args()
    n = len(live_frames(DATA, ["blank_230C", *args.samples]))
    print(f"# {n} frames (320x288 px EDF) per rate; fit {args.contributions} x {args.repetitions}; "
          f"{args.workers} worker(s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'rate/Hz':>7} {'frames':>6} {'runs':>4} {'median/s':>8} {'p95/s':>6} {'max/s':>6} "
          f"{'1st3/s':>6} {'last3/s':>7}  kept up")
    for rate in args.rates:
        r = run_rate(rate, args)
        kept = r["processed"] == r["frames"] and r["last_third_s"] <= r["first_third_s"] + r["median_s"]
        print(f"{r['rate_hz']:>7g} {r['frames']:>6} {r['runs']:>4} {r['median_s']:>8.2f} {r['p95_s']:>6.2f} "
              f"{r['max_s']:>6.2f} {r['first_third_s']:>6.2f} {r['last_third_s']:>7.2f}  {'yes' if kept else 'NO'}"
              + ("" if r["returncode"] == 0 else f"  (watch exit {r['returncode']}: {r['stderr_tail']})"))


if __name__ == "__main__":
    main()
