"""Benchmark: live-mode latency and keeping up (``saxs-mc watch`` against the live simulator).

Two measurements, each with a fresh folder and a ``saxs-mc watch --idle-exit`` subprocess
(warmed up -- imports, reducers, fit workers -- before the first frame is written):

``latency`` (default): the shipped series' frames (blank_230C, then the samples; 320 x 288 px
EDF, or ``--size 1mpx``) written at each ``--rates`` with partial writes.  Per frame, from the
simulator's clock when its last byte was written (same machine):

* curve latency = when ``summary.json`` first held its sample's averaged curve including it
  (``summary_at`` in ``live/status.json``), over the samples' frames (the blank's frames, written
  first, have no sample curve to update yet);
* fit latency, per fit (live fit or batch sync): from the newest frame it includes being on disk to
  the fit being in ``summary.json`` ("per fit");
* and per frame: to the first fit including it ("any frame"); with the noise rule a frame that does
  not change the curve beyond its noise triggers no fit and waits for a later one (or the sync).

``keepup``: one sample of ``--size 1mpx`` frames (1.1 Mpx: the shipped frames upsampled 3 x 4,
with a matching PONI and mask) written at each rate for ``--duration`` seconds.  The lag stays
bounded when the curve latency of the last third of the frames is not larger than that of the
first third by more than 1 s and every frame was processed.

Usage::

    python benchmarks/watch.py --rates 1 2 5 10 --workers 1 2          # latency, 320 x 288 frames
    python benchmarks/watch.py --mode keepup --size 1mpx --rates 5 10 --duration 120

Numbers on a shared machine are contended: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from saxs_mc.simulate.live import live_frames, write_live  # noqa: E402
from tests.watch.conftest import DATA, small_config  # noqa: E402

UPSAMPLE = (3, 4)  # rows, cols: 320 x 288 -> 960 x 1152 = 1.1 Mpx


def _upsampled_series(dst: Path, conditions: list[str], n_per_cond: int | None) -> tuple[Path, Path]:
    """1.1 Mpx copies of the shipped frames (each pixel repeated 3 x 4) and a matching PONI + mask."""
    import fabio

    ry, rx = UPSAMPLE
    poni = (REPO / "calibration" / "id02_sim.poni").read_text()
    poni = poni.replace(
        '"pixel1": 0.000172, "pixel2": 0.000172', f'"pixel1": {0.000172 / ry}, "pixel2": {0.000172 / rx}'
    )
    poni = poni.replace('"max_shape": [320, 288]', f'"max_shape": [{320 * ry}, {288 * rx}]')
    (dst / "cal").mkdir(parents=True)
    (dst / "cal" / "big.poni").write_text(poni)
    mask = fabio.open(str(REPO / "calibration" / "id02_sim_mask.edf")).data
    fabio.edfimage.EdfImage(data=np.kron(mask, np.ones(UPSAMPLE, mask.dtype))).write(str(dst / "cal" / "big_mask.edf"))
    for cond in conditions:
        src = sorted((DATA / cond).glob("*.edf"))
        (dst / "src" / cond).mkdir(parents=True)
        n = n_per_cond or len(src)
        for i in range(n):
            img = fabio.open(str(src[i % len(src)]))
            h = {k: v for k, v in img.header.items() if k not in ("Dim_1", "Dim_2", "Size", "EDF_BinarySize")}
            h.update(
                PSize_1=str(0.000172 / rx),
                PSize_2=str(0.000172 / ry),
                Center_1=str(float(h["Center_1"]) * rx),
                Center_2=str(float(h["Center_2"]) * ry),
            )
            big = np.kron(img.data, np.ones(UPSAMPLE, img.data.dtype))
            fabio.edfimage.EdfImage(data=big, header=h).write(str(dst / "src" / cond / f"{cond}_{i:05d}.edf"))
    return dst / "cal" / "big.poni", dst / "cal" / "big_mask.edf"


def _config(
    tmp: Path, frames: Path, args: argparse.Namespace, samples: list[str], cal: tuple[Path, Path] | None
) -> Path:
    cfg = small_config(tmp / "bench.toml", frames, tmp / "out").read_text()
    cfg = cfg.replace("contributions = 60", f"contributions = {args.contributions}")
    cfg = cfg.replace("repetitions = 2", f"repetitions = {args.repetitions}").replace("npt = 150", "npt = 300")
    if cal is not None:
        cfg = cfg.replace(str(REPO / "calibration" / "id02_sim.poni"), str(cal[0]))
        cfg = cfg.replace(str(REPO / "calibration" / "id02_sim_mask.edf"), str(cal[1]))
    head, _, _ = cfg.partition("[[samples]]")
    blocks = [
        f'[[samples]]\nname = "{s}"\nframes = "{frames}/{s}/{s}_*.edf"\n'
        f"nucleation_temperature_C = {int(s[3:6])}\ngrowth_temperature_C = 230\n"
        for s in samples
    ]
    blank = f'[[blanks]]\nname = "blank_230C"\nframes = "{frames}/blank_230C/blank_230C_*.edf"\ntemperature_C = 230\n'
    path = tmp / "bench.toml"
    path.write_text(head + "\n".join(blocks) + blank)
    return path


def _pct(xs: list[float], p: float) -> float:
    return sorted(xs)[max(0, math.ceil(p * len(xs)) - 1)] if xs else math.nan  # nearest rank


def _wait_all_processed(status: Path, n: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            recs = json.loads(status.read_text())["frames"]
        except (OSError, ValueError, KeyError):
            recs = []
        if sum(bool(r.get("summary_at")) for r in recs) >= n:
            return
        time.sleep(0.5)


def run_once(
    rate: float,
    workers: int,
    args: argparse.Namespace,
    source: Path,
    conditions: list[str],
    cal: tuple[Path, Path] | None,
) -> dict:
    with tempfile.TemporaryDirectory(prefix="watch_bench_") as t:
        tmp = Path(t)
        frames = tmp / "frames"
        frames.mkdir()
        cfg = _config(tmp, frames, args, [c for c in conditions if not c.startswith("blank")], cal)
        cmd = [
            sys.executable,
            "-m",
            "saxs_mc.cli",
            "-q",
            "watch",
            str(cfg),
            "--poll",
            "0.2",
            "--idle-exit",
            "5",
            "--workers",
            str(workers),
            "--sync-idle",
            str(args.sync_idle),
            "--refit-k",
            str(args.refit_k),
        ]
        errf = open(tmp / "watch.err", "w+")  # a file, not a pipe: a full pipe would block the watch
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, text=True)
        page = tmp / "out" / "live" / "index.html"  # written once the watch has warmed up
        t_end = time.monotonic() + args.warmup
        while not page.is_file() and time.monotonic() < t_end:
            time.sleep(0.2)
        time.sleep(args.settle)  # the fit workers warm up in parallel with the watch's own start
        result: dict = {}
        sim = threading.Thread(
            target=lambda: result.update(run=write_live(frames, rate, source=source, conditions=conditions, chunks=5))
        )
        sim.start()
        sim.join()
        if args.mode == "keepup":  # stop once every frame's curve is in summary.json (the final sync is not measured)
            _wait_all_processed(tmp / "out" / "live" / "status.json", len(result["run"].files), timeout=600)
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=3600)
        errf.seek(0)
        err = errf.read()
        errf.close()
        status = json.loads((tmp / "out" / "live" / "status.json").read_text())
    recs = {r["file"]: r for r in status["frames"]}
    run = result["run"]
    pairs = [(recs.get(str(f)), c) for f, c in zip(run.files, run.completed_at)]
    # curve latency of the samples' frames (a blank's frames change the curves of its samples, which may not exist yet)
    curve = [r["summary_at"] - c for r, c in pairs if r and r.get("summary_at") and not r["group"].startswith("blank")]
    fit = [r["fitted_at"] - c for r, c in pairs if r and r.get("fitted_at")]
    per_fit: dict[float, float] = {}  # each fit (live or sync): the latency of the newest frame it included
    for r, c in pairs:
        if r and r.get("fitted_at"):
            per_fit[r["fitted_at"]] = min(per_fit.get(r["fitted_at"], math.inf), r["fitted_at"] - c)
    trig = list(per_fit.values())
    third = max(1, len(curve) // 3)
    fit_s = [s["fit"]["fit_s"] for s in status.get("samples", {}).values() if s.get("fit")]
    if proc.returncode:
        print(err[-4000:], file=sys.stderr)
    n_sample = sum(1 for r, _ in pairs if r and not r["group"].startswith("blank"))
    return {
        "rate_hz": rate,
        "workers": workers,
        "frames": n_sample,
        "in_summary": len(curve),
        "writer_s": run.elapsed_s,
        "fits": status["counts"]["fits"],
        "syncs": status["counts"]["runs"],
        "curve_med": statistics.median(curve) if curve else math.nan,
        "curve_p95": _pct(curve, 0.95),
        "curve_max": max(curve, default=math.nan),
        "fit_s": statistics.median(fit_s) if fit_s else math.nan,
        "trig_med": statistics.median(trig) if trig else math.nan,
        "trig_p95": _pct(trig, 0.95),
        "fit_med": statistics.median(fit) if fit else math.nan,
        "fit_p95": _pct(fit, 0.95),
        "n_fit": len(fit),
        "first3": statistics.median(curve[:third]) if curve else math.nan,
        "last3": statistics.median(curve[-third:]) if curve else math.nan,
        "returncode": proc.returncode,
        "stderr_tail": err.strip().splitlines()[-2:] if err.strip() else [],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["latency", "keepup"], default="latency")
    ap.add_argument("--size", choices=["small", "1mpx"], default="small")
    ap.add_argument("--rates", type=float, nargs="+", default=[1, 2, 5, 10])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="fit worker processes")
    ap.add_argument("--contributions", type=int, default=300)
    ap.add_argument("--repetitions", type=int, default=10)
    ap.add_argument("--samples", nargs="+", default=["nuc190C", "nuc230C", "nuc260C", "nuc280C"])
    ap.add_argument("--duration", type=float, default=120.0, help="keepup: seconds of acquisition per rate")
    ap.add_argument("--refit-k", type=float, default=3.0)
    ap.add_argument("--sync-idle", type=float, default=3.0)
    ap.add_argument("--warmup", type=float, default=180.0, help="most seconds to wait for the watch to start")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds between the watch's page and the first frame")
    args = ap.parse_args()
    conditions = ["blank_230C", *args.samples] if args.mode == "latency" else ["blank_230C", args.samples[0]]
    with tempfile.TemporaryDirectory(prefix="watch_src_") as t:
        for rate in args.rates:
            src, cal = DATA, None
            if args.size == "1mpx" or args.mode == "keepup":
                n = None if args.mode == "latency" else max(3, int(rate * args.duration))
                shutil.rmtree(Path(t), ignore_errors=True)
                cal = _upsampled_series(Path(t), conditions, n)
                src = Path(t) / "src"
                if args.mode == "keepup":  # the blank's few frames, then the sample's stream
                    for f in sorted((src / "blank_230C").glob("*.edf"))[3:]:
                        f.unlink()
            n_frames = len(live_frames(src, conditions))
            for w in args.workers:
                print(
                    f"# {args.mode}: {n_frames} frames ({args.size}) at {rate:g}/s; fit {args.contributions} x "
                    f"{args.repetitions}; {w} fit worker(s); load average {os.getloadavg()[0]:.1f} on "
                    f"{os.cpu_count()} cores",
                    flush=True,
                )
                r = run_once(rate, w, args, src, conditions, cal)
                bounded = r["in_summary"] == r["frames"] and r["last3"] <= r["first3"] + 1.0
                print(
                    f"rate {rate:g}/s workers {w}: curve median {r['curve_med']:.2f} s p95 {r['curve_p95']:.2f} s "
                    f"max {r['curve_max']:.2f} s | per fit (newest frame) median {r['trig_med']:.2f} s p95 {r['trig_p95']:.2f} s "
                    f"| any frame to a fit including it: median {r['fit_med']:.2f} s p95 {r['fit_p95']:.2f} s "
                    f"({r['n_fit']} frames, {r['fits']} live fits of median {r['fit_s']:.1f} s, {r['syncs']} syncs) | first third "
                    f"{r['first3']:.2f} s, last third {r['last3']:.2f} s: lag {'bounded' if bounded else 'GROWS'}"
                    f" | writer {r['writer_s']:.0f} s, load {os.getloadavg()[0]:.1f}"
                    + ("" if r["returncode"] == 0 else f"  (watch exit {r['returncode']}: {r['stderr_tail']})"),
                    flush=True,
                )


if __name__ == "__main__":
    main()
