"""Benchmark: end-to-end ``saxs-mc run`` on the shipped sample series, serial vs parallel.

For each mode the whole pipeline runs from scratch into a temporary output folder (no cache):
reduce (pyFAI) -> subtract blank -> MC fit -> Bragg peaks -> mesophase -> report.

Reported per mode: wall time, frames/s and fits/s end to end (all frames or fits divided by the wall
time) and inside their steps (frames / summed reduce-step time, fits / summed fit-step time, i.e.
per-worker throughput), and the time per step kind (summed over samples).

Content hashing (the cache keys hash every input frame by content in every run, issue 13):
the time to compute all step keys of the series, as a share of its run, and -- for detector
sizes beyond the shipped frames -- BLAKE3 of one 1 Mpx and one 9 Mpx int32 frame against
the pyFAI reduction of the same frame (integrate1d, CSR engine built beforehand), i.e. the
least work a run does per frame, and as a share of a run of the series on that detector.
Acceptance: hashing < 5 % of a run.

Usage::

    python benchmarks/pipeline.py                      # serial, 2 processes, dask LocalCluster(2)
    python benchmarks/pipeline.py --modes serial processes
    python benchmarks/pipeline.py --config pipelines/cdse_nucleation_series.toml --no-sample-peaks
    python benchmarks/pipeline.py --modes serial --hash-sizes 1024 3072   # hashing share only
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_mode(cfg, mode: str, workers: int) -> dict:
    from saxs_mc.pipeline.config import OutputConfig
    from saxs_mc.pipeline.run import run_pipeline

    with tempfile.TemporaryDirectory(prefix=f"saxs_mc_bench_{mode}_") as tmp:
        c = dataclasses.replace(cfg, output=OutputConfig(Path(tmp)))
        cluster = client = None
        if mode == "dask":
            import distributed

            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = distributed.Client(cluster)
        hash_s = time_keys(c)
        t0 = time.perf_counter()
        try:
            res = run_pipeline(c, n_workers=1 if mode == "serial" else workers, scheduler=client, force=True)
        finally:
            wall = time.perf_counter() - t0
            if client is not None:
                client.close()
                cluster.close()
        per_kind: dict[str, float] = {}
        for o in res.outcomes.values():
            m = Path(tmp) / "steps" / o.id / "manifest.json"
            if m.is_file():
                per_kind[o.kind] = per_kind.get(o.kind, 0.0) + json.loads(m.read_text())["elapsed_s"]
        n_frames = sum(len(s.files) for s in cfg.samples) + sum(len(b.files) for b in cfg.blanks)
        n_fits = len(cfg.samples)
        return {
            "mode": mode,
            "workers": 1 if mode == "serial" else workers,
            "ok": res.ok,
            "wall_s": wall,
            "frames": n_frames,
            "fits": n_fits,
            "frames_per_s_end_to_end": n_frames / wall,
            "fits_per_s_end_to_end": n_fits / wall,
            "frames_per_s_in_reduce": n_frames / per_kind.get("reduce", float("nan")),
            "fits_per_s_in_fit": n_fits / per_kind.get("fit", float("nan")),
            "step_time_s": per_kind,
            "hash_keys_s": hash_s,
            "hash_share": hash_s / wall,
        }


def time_keys(cfg) -> float:
    """Seconds to compute every step key (content hash of every input file, cold per-run memo)."""
    from saxs_mc.pipeline import cache
    from saxs_mc.pipeline.run import compute_keys, plan_steps

    steps = plan_steps(cfg)
    t0 = time.perf_counter()
    compute_keys(steps, cache.FileHashCache())
    return time.perf_counter() - t0


def hash_vs_reduce(side: int, run: dict | None = None, repeat: int = 3) -> dict:
    """BLAKE3 digest of a side x side int32 EDF frame against reading and integrating it (best of ``repeat``).

    ``share_frame``: hashing / (hashing + read + integrate1d), the least work a run does per frame.
    ``share_run``: the same with the series' per-frame share of its other steps (subtract, fit,
    peaks, mesophase per sample, from ``run``) added, i.e. a run of that series on this detector.
    """
    import fabio
    import numpy as np
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    from saxs_mc.pipeline import cache

    rng = np.random.default_rng(side)
    frame = rng.poisson(50.0, size=(side, side)).astype(np.int32)
    det = Detector(pixel1=75e-6, pixel2=75e-6, max_shape=(side, side))
    ai = AzimuthalIntegrator(dist=0.55, poni1=side * 37.5e-6, poni2=side * 37.5e-6, detector=det, wavelength=1e-10)
    kw = {"unit": "q_nm^-1", "error_model": "poisson", "method": ("full", "csr", "cython")}
    ai.integrate1d(frame, 500, **kw)  # engine setup (once per run)
    with tempfile.TemporaryDirectory(prefix="saxs_mc_bench_hash_") as tmp:
        f = Path(tmp) / "frame.edf"
        fabio.edfimage.EdfImage(data=frame).write(str(f))
        nbytes = f.stat().st_size
        t_hash = min(_timed(lambda: cache.FileHashCache().digest(f)) for _ in range(repeat))
        t_red = min(_timed(lambda: ai.integrate1d(fabio.open(str(f)).data, 500, **kw)) for _ in range(repeat))
    out = {
        "pixels": side * side,
        "bytes": nbytes,
        "hash_s": t_hash,
        "read_reduce_s": t_red,
        "hash_GB_per_s": nbytes / t_hash / 1e9,
        "share_frame": t_hash / (t_hash + t_red),
    }
    if run is not None:
        other = sum(v for k, v in run["step_time_s"].items() if k != "reduce") / run["frames"]
        out["other_per_frame_s"] = other
        out["share_run"] = t_hash / (t_hash + t_red + other)
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(REPO / "pipelines" / "cdse_nucleation_series.toml"))
    ap.add_argument(
        "--modes", nargs="+", default=["serial", "processes", "dask"], choices=["serial", "processes", "dask"]
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-sample-peaks", action="store_true", help="skip Bragg-peak search on samples")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument(
        "--hash-sizes",
        nargs="*",
        type=int,
        default=[1024, 3072],
        metavar="SIDE",
        help="frame sides for the hashing-vs-reduction comparison (default 1024 3072: 1 and 9 Mpx)",
    )
    args = ap.parse_args(argv)

    from saxs_mc.pipeline.config import load_config

    cfg = load_config(args.config)
    if args.no_sample_peaks:
        cfg = dataclasses.replace(cfg, peaks=dataclasses.replace(cfg.peaks, samples=False))
    import os

    print(
        f"# {cfg.name}: {len(cfg.samples)} samples, {len(cfg.blanks)} blanks, "
        f"fit {cfg.fit.contributions} x {cfg.fit.repetitions}; {os.cpu_count()} cores; "
        f"sample peaks {'on' if cfg.peaks.samples else 'off'}"
    )
    rows = [run_mode(cfg, m, args.workers) for m in args.modes]
    print(
        f"{'mode':<10} {'workers':>7} {'wall s':>8} {'frames/s':>9} {'fits/s':>8} {'frames/s*':>10} {'fits/s*':>8}  step time (s)"
    )
    for r in rows:
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["step_time_s"].items()))
        print(
            f"{r['mode']:<10} {r['workers']:>7} {r['wall_s']:>8.1f} {r['frames_per_s_end_to_end']:>9.2f} "
            f"{r['fits_per_s_end_to_end']:>8.3f} {r['frames_per_s_in_reduce']:>10.2f} {r['fits_per_s_in_fit']:>8.2f}  {kinds}"
            + ("" if r["ok"] else "  (FAILURES)")
        )
    print("* inside the steps: frames / summed reduce time, fits / summed fit time (per worker)")
    for r in rows:
        print(
            f"content hashing of all inputs ({r['mode']}): {r['hash_keys_s']:.3f} s = "
            f"{100 * r['hash_share']:.2f} % of the run"
        )
    hashes = [hash_vs_reduce(side, rows[0]) for side in args.hash_sizes]
    for h in hashes:
        print(
            f"{h['pixels'] / 1e6:.1f} Mpx int32 EDF frame ({h['bytes'] / 1e6:.0f} MB): BLAKE3 {1e3 * h['hash_s']:.1f} ms "
            f"({h['hash_GB_per_s']:.2f} GB/s); read + integrate1d {1e3 * h['read_reduce_s']:.1f} ms; hashing = "
            f"{100 * h['share_frame']:.1f} % of hash + read + integrate, {100 * h['share_run']:.2f} % of a run of "
            f"this series ({h['other_per_frame_s']:.2f} s of other steps per frame)"
        )
    if args.json:
        from saxs_mc.io.atomic import jsonable, write_json_atomic

        write_json_atomic(args.json, jsonable({"runs": rows, "hashing": hashes}))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
