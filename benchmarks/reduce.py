"""Benchmark: the saxs_mc reduction chain vs bare pyFAI integrate1d, same frames, same run.

Chain  = read (fabio) -> header -> integrate1d -> normalize -> fault rejection -> average -> blank subtraction
         (``Reducer.reduce`` on the sample frames and on the blank frames, then ``subtract``).
Bare   = ``fabio.open(f).data`` + ``ai.integrate1d`` with the same method, npt, unit, error model, mask,
         dummy and polarization (so the difference is the chain's own overhead, not optional pyFAI work).

Both sides set their integrator up once and warm it up before timing (engine build excluded).
With ``--processes 2`` both sides use a spawn process pool whose workers build their own integrator;
the pool is started and warmed up before timing on both sides (steady-state throughput; the
one-off start-up, ~2-5 s, is the same for both).

Usage::

    python benchmarks/reduce.py                # 1 Mpx and 4 Mpx, 1 and 2 processes
    python benchmarks/reduce.py --quick        # fewer frames
    python benchmarks/reduce.py --sizes 1024 --frames 30

Threads: OMP_NUM_THREADS defaults to 1 (one core per process) unless already set.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

NPT = 1000
METHOD = ("full", "csr", "cython")
PIXEL = 75e-6
DIST = 1.5
POL = 0.99


def make_dataset(
    root: Path, size: int, n_sample: int, n_blank: int, seed: int = 0
) -> tuple[Path, Path, list[Path], list[Path]]:
    """Write a PONI, a mask and ID02-like EDF frames (int32 Poisson counts) for a size x size detector."""
    from fabio.edfimage import EdfImage
    from pyFAI.detectors import Detector
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    root.mkdir(parents=True, exist_ok=True)
    shape = (size, size)
    c1, c2 = size * 0.45, size * 0.48
    ai = AzimuthalIntegrator(
        dist=DIST,
        poni1=c2 * PIXEL,
        poni2=c1 * PIXEL,
        detector=Detector(PIXEL, PIXEL, max_shape=shape),
        wavelength=1e-10,
    )
    poni = root / "bench.poni"
    ai.save(str(poni))
    mask = np.zeros(shape, np.uint8)
    mask[:, size // 2 : size // 2 + 8] = 1
    yy, xx = np.ogrid[:size, :size]
    mask[(yy - c2) ** 2 + (xx - c1) ** 2 < (size * 0.02) ** 2] = 1
    mpath = root / "mask.edf"
    EdfImage(data=mask).write(str(mpath))
    q = ai.qArray(shape)
    rg = 1.2
    lam = 2e11 * 0.15 * (0.05 + 2.0 * np.exp(-((q * rg) ** 2) / 3)) * ai.solidAngleArray(shape, absolute=True)
    rng = np.random.default_rng(seed)
    frames = {"sample": [], "blank": []}
    for kind, n in (("sample", n_sample), ("blank", n_blank)):
        for k in range(n):
            img = rng.poisson(lam * (1.0 if kind == "sample" else 0.3)).astype(np.int32)
            img[mask.astype(bool)] = -1
            hdr = {
                "Dummy": "-1",
                "DDummy": "0.1",
                "Center_1": repr(c1),
                "Center_2": repr(c2),
                "PSize_1": repr(PIXEL),
                "PSize_2": repr(PIXEL),
                "SampleDistance": repr(DIST),
                "WaveLength": "1e-10",
                "ExposureTime": "0.1",
                "Intensity0ShutCor": "3e11",
                "Intensity1ShutCor": repr(2e11 * (1 + 0.01 * rng.standard_normal())),
                "SampleThickness_cm": "0.15",
                "SampleTemperature_C": "230",
                "Title": kind,
            }
            p = root / f"{kind}_{k:05d}.edf"
            EdfImage(data=img, header=hdr).write(str(p))
            frames[kind].append(p)
    return poni, mpath, frames["sample"], frames["blank"]


# ---------------------------------------------------------------- bare pyFAI
_BARE = {}


def _bare_init(poni: str, mask: str) -> None:
    import fabio
    import pyFAI

    ai = pyFAI.load(poni)
    with fabio.open(mask) as m:
        _BARE["mask"] = (m.data != 0).astype(np.int8)
    _BARE["ai"] = ai


def _bare_frames(paths: list[str]) -> int:
    import fabio

    ai, mask = _BARE["ai"], _BARE["mask"]
    for p in paths:
        with fabio.open(p) as img:
            data = img.data
        ai.integrate1d(
            data,
            NPT,
            unit="q_nm^-1",
            method=METHOD,
            error_model="poisson",
            mask=mask,
            dummy=-1.0,
            delta_dummy=0.1,
            polarization_factor=POL,
            normalization_factor=1.0,
        )
    return len(paths)


def run_bare(poni: Path, mask: Path, paths: list[Path], processes: int) -> float:
    paths_s = [str(p) for p in paths]
    if processes == 1:
        _bare_init(str(poni), str(mask))
        _bare_frames(paths_s[:1])  # warm-up: engine build
        t = time.perf_counter()
        _bare_frames(paths_s)
        return time.perf_counter() - t
    chunks = [list(c) for c in np.array_split(np.array(paths_s, dtype=object), 2 * processes)]
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        processes, mp_context=ctx, initializer=_bare_init, initargs=(str(poni), str(mask))
    ) as pool:
        # warm-up: start the workers and build their engines (one frame per worker)
        list(pool.map(_bare_frames, [paths_s[:1]] * processes))
        t = time.perf_counter()
        sum(pool.map(_bare_frames, chunks))
        return time.perf_counter() - t


def run_chain(poni: Path, mask: Path, sample: list[Path], blank: list[Path], processes: int) -> tuple[float, object]:
    from saxs_mc.reduce import Reducer, ReductionSettings

    settings = ReductionSettings(npt=NPT, method=METHOD, polarization_factor=POL)
    with Reducer(poni=poni, mask=mask, settings=settings) as reducer:
        # warm-up: engine build (and, for processes > 1, start the pool whose workers build theirs)
        reducer.reduce(sample[: 2 * processes], title="warm-up", workers=processes)
        t = time.perf_counter()
        s = reducer.reduce(sample, title="sample", workers=processes)
        b = reducer.reduce(blank, title="blank", workers=processes)
        res = s.subtract(b)
        return time.perf_counter() - t, res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048], help="detector edge in pixels (1024 = 1 Mpx)")
    ap.add_argument("--frames", type=int, nargs="+", default=None, help="sample frames per size (blank: half)")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=2, help="alternating repetitions; the best time of each side counts")
    ap.add_argument("--keep", help="keep the generated frames in this folder")
    args = ap.parse_args(argv)
    default_frames = {1024: 24, 2048: 8} if args.quick else {1024: 40, 2048: 16}
    nframes = args.frames or [default_frames.get(s, 10) for s in args.sizes]
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="saxs_mc_bench_"))
    rows = []
    try:
        for size, n in zip(args.sizes, nframes):
            nb = max(2, n // 2)
            t0 = time.perf_counter()
            poni, mask, sample, blank = make_dataset(tmp / f"d{size}", size, n, nb)
            print(
                f"# {size}x{size} ({size * size / 1e6:.1f} Mpx): wrote {n}+{nb} frames in {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
            for procs in args.processes:
                # alternate and keep the best of `repeat` runs on each side (shared machine: less order bias)
                tb = tc = float("inf")
                for _ in range(args.repeat):
                    tb = min(tb, run_bare(poni, mask, sample + blank, procs))
                    tc = min(tc, run_chain(poni, mask, sample, blank, procs)[0])
                nt = n + nb
                rows.append((f"{size}x{size}", procs, nt, nt / tb, nt / tc, tc / tb))
                print(f"#   {procs} proc: bare {nt / tb:.1f} frames/s, chain {nt / tc:.1f} frames/s", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\nsaxs_mc reduction benchmark (npt={NPT}, method={'/'.join(METHOD)}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
    )
    print(f"{'detector':>10} {'procs':>5} {'frames':>6} {'bare fr/s':>10} {'chain fr/s':>11} {'chain/bare time':>16}")
    for det, procs, nt, fb, fc, ratio in rows:
        print(f"{det:>10} {procs:>5d} {nt:>6d} {fb:>10.1f} {fc:>11.1f} {ratio:>16.3f}")
    print("goal: chain/bare time <= 1.20")
    return 0


if __name__ == "__main__":
    sys.exit(main())
