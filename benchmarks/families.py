"""Benchmark: family decomposition time per curve (target < 0.2 s), and its accuracy over seeds.

Curves: seeded mixtures on the shipped pipeline's q grid (0.3-7 1/nm, 279 points) with the
shipped series' noise model (tests/families/helpers.py).  Each case is fitted with the three
CdSe families (radii fixed, BIC selection); ``+cont`` cases also fit the log-normal population.
Timing: median and max wall time and median process CPU time per ``decompose`` call after one
warm-up call (CPU time is the fairer number on a shared machine); memory: peak of
tracemalloc over one call.  Ratio = median / 0.2 s budget.  Accuracy (``--accuracy``): per term,
bias and rms of the share error, the rate of |error| <= 0.05, of |error| <= 2 sigma, of both,
and for absent terms the rate reported absent.

Usage::

    python benchmarks/families.py               # timing, 20 curves per case
    python benchmarks/families.py --accuracy --seeds 100
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from saxs_mc.families import Family, decompose  # noqa: E402
from tests.families.helpers import CONTRAST, gauss, lognorm, noisy_curves  # noqa: E402

FAMS = (Family("F087", 0.87), Family("F094", 0.94), Family("F102", 1.02))
BUDGET_S = 0.2
CASES = {
    "2 fam 70:30, phi 5e-4": ([gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)], {"F087": 0, "F094": 0.7, "F102": 0.3}, False),
    "3 fam, phi 5e-4": ([gauss(0.87, 1.25e-4), gauss(0.94, 2.25e-4), gauss(1.02, 1.5e-4)],
                        {"F087": 0.25, "F094": 0.45, "F102": 0.3}, False),
    "3 fam, phi 1e-3": ([gauss(0.87, 2.5e-4), gauss(0.94, 4.5e-4), gauss(1.02, 3.0e-4)],
                        {"F087": 0.25, "F094": 0.45, "F102": 0.3}, False),
    "3 fam, phi 1.5e-3": ([gauss(0.87, 3.75e-4), gauss(0.94, 6.75e-4), gauss(1.02, 4.5e-4)],
                          {"F087": 0.25, "F094": 0.45, "F102": 0.3}, False),
    "2 fam + lognormal +cont": ([gauss(0.87, 2.4e-4), gauss(0.94, 3.6e-4), lognorm(1.4, 0.15, 2.4e-4)],
                                {"F087": 2 / 7, "F094": 3 / 7, "F102": 0, "continuous": 2 / 7}, True),
    "1 fam +cont": ([gauss(0.94, 3e-4)], {"F087": 0, "F094": 1.0, "F102": 0, "continuous": 0}, True),
}


def _run_case(dists, truth, cont, seeds):
    times, cpu, errs, z, absent = [], [], [], [], []
    curves = noisy_curves(dists, seeds)
    decompose(curves[0], FAMS, contrast_1e6_A2=CONTRAST, continuous=cont)  # warm-up
    for c in curves:
        t0, c0 = time.perf_counter(), time.process_time()
        res = decompose(c, FAMS, contrast_1e6_A2=CONTRAST, continuous=cont)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        e, zz, ab = [], [], []
        for name, share in truth.items():
            t = res.term(name)
            if share == 0:
                ab.append(t.status == "absent")
            else:
                e.append(t.share - share)
                sd = t.share_std if np.isfinite(t.share_std) else 0.0
                zz.append(abs(t.share - share) <= 2 * sd + 1e-12)
        errs.append(e)
        z.append(zz)
        absent.append(ab)
    tracemalloc.start()
    decompose(curves[0], FAMS, contrast_1e6_A2=CONTRAST, continuous=cont)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return np.array(times), np.array(cpu), np.array(errs), np.array(z, bool), np.array(absent, bool), peak


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--accuracy", action="store_true")
    args = ap.parse_args(argv)
    for label, (dists, truth, cont) in CASES.items():
        times, cpu, errs, z, absent, peak = _run_case(dists, truth, cont, range(args.seeds))
        med = float(np.median(times))
        print(f"{label:<26} wall median {med * 1e3:6.1f} ms, max {times.max() * 1e3:6.1f} ms; CPU median "
              f"{np.median(cpu) * 1e3:6.1f} ms; wall / {BUDGET_S:g} s budget {med / BUDGET_S:.2f}; "
              f"peak memory {peak / 1e6:.1f} MB")
        if args.accuracy:
            names = [n for n, s in truth.items() if s > 0]
            within = np.abs(errs) <= 0.05
            for k, n in enumerate(names):
                print(f"    {n:<11} bias {errs[:, k].mean():+.4f} rms {np.sqrt((errs[:, k] ** 2).mean()):.4f} "
                      f"|e|<=0.05 {within[:, k].mean():.2f}  |e|<=2sig {z[:, k].mean():.2f}  "
                      f"both {(within[:, k] & z[:, k]).mean():.2f}")
            for k, n in enumerate(n for n, s in truth.items() if s == 0):
                print(f"    {n:<11} reported absent {absent[:, k].mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
