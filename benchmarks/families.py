"""Benchmark: family decomposition time per curve (target < 0.2 s), its accuracy over seeds, and the bound.

Curves: seeded mixtures on the shipped pipeline's q grid (0.3-7 1/nm, 279 points) with the
shipped series' noise (tests/families/helpers.py: the sigma profile of the shipped reduced
curves, their scatter of 0.88 sigma^2 and lag-1 correlation 0.14; ``--white``: white noise at
the stated sigma).  Each case is fitted as the shipped pipeline fits it: the three CdSe families
(radii fixed), the log-normal population, flat background >= 0, BIC over all subsets (cases
marked "families-only fit": without the log-normal).  Timing: median and max wall time and
median process CPU time per ``decompose`` call after one warm-up call (CPU time is the fairer
number on a shared machine); memory: peak of tracemalloc over one call.  Ratio = median /
0.2 s budget.  Accuracy (``--accuracy``): per term, bias and rms of the share error, the rate
of |error| <= 0.05, of |error| <= 2 sigma, of both, and for absent terms the rate reported
absent.  ``--bounds``: the Cramer-Rao bound on the shares (the smallest sd of any unbiased
estimate at this noise) and what it takes to reach +-0.05 in 90 % of seeds.

Usage::

    python benchmarks/families.py               # timing, 20 curves per case
    python benchmarks/families.py --accuracy --seeds 100
    python benchmarks/families.py --bounds
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from math import erf  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from saxs_mc.families import Family, decompose  # noqa: E402
from tests.families.helpers import (  # noqa: E402
    CONTRAST,  # noqa: E402
    gauss,
    lognorm,
    noisy_curves,
    share_bound,
)

FAMS = (Family("F087", 0.87), Family("F094", 0.94), Family("F102", 1.02))
BUDGET_S = 0.2
_S3 = {"F087": 0.25, "F094": 0.45, "F102": 0.3}


def _three(phi):
    return [gauss(0.87, 0.25 * phi), gauss(0.94, 0.45 * phi), gauss(1.02, 0.3 * phi)]


#: label: (true populations, true shares (0 = absent), fit the log-normal too).  Fitted as the shipped pipeline
#: ([families] continuous = true) unless the label says "families-only fit"
CASES = {
    "2 fam 70:30, phi 5e-4": (
        [gauss(0.94, 3.5e-4), gauss(1.02, 1.5e-4)],
        {"F087": 0, "F094": 0.7, "F102": 0.3, "continuous": 0},
        True,
    ),
    "2 fam 42:58, phi 5e-4": (
        [gauss(0.94, 2.1e-4), gauss(1.02, 2.9e-4)],
        {"F087": 0, "F094": 0.42, "F102": 0.58, "continuous": 0},
        True,
    ),
    "2 fam + lognormal": (
        [gauss(0.87, 2.4e-4), gauss(0.94, 3.6e-4), lognorm(1.4, 0.15, 2.4e-4)],
        {"F087": 2 / 7, "F094": 3 / 7, "F102": 0, "continuous": 2 / 7},
        True,
    ),
    "1 fam, others absent": ([gauss(0.94, 3e-4)], {"F087": 0, "F094": 1.0, "F102": 0, "continuous": 0}, True),
    "3 fam, phi 5e-4": (_three(5e-4), {**_S3, "continuous": 0}, True),
    "3 fam, phi 5e-4, families-only fit": (_three(5e-4), _S3, False),
    "3 fam + lognormal, phi 6e-4": (
        [gauss(0.87, 1.0e-4), gauss(0.94, 1.8e-4), gauss(1.02, 1.2e-4), lognorm(1.4, 0.15, 2.0e-4)],
        {"F087": 1 / 6, "F094": 0.3, "F102": 0.2, "continuous": 1 / 3},
        True,
    ),
    "3 fam, phi 1e-3": (_three(1e-3), {**_S3, "continuous": 0}, True),
    "3 fam, phi 1.5e-3": (_three(1.5e-3), {**_S3, "continuous": 0}, True),
    "3 fam, phi 1.5e-3, families-only fit": (_three(1.5e-3), _S3, False),
}


def _run_case(dists, truth, cont, seeds, white=False):
    times, cpu, errs, z, absent = [], [], [], [], []
    curves = noisy_curves(dists, seeds, white=white)
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


def _within(sd, tol=0.05):
    return float(erf(tol / (sd * np.sqrt(2))))


def print_bounds():
    need = 0.05 / 1.6449  # +-0.05 in 90 % of seeds for an unbiased Gaussian estimate
    print(
        f"Cramer-Rao bound on the shares (sd; P(|error| <= 0.05) of an efficient unbiased estimate); "
        f"+-0.05 in 90 % needs sd <= {need:.4f}"
    )
    s3 = np.array([0.25, 0.45, 0.30])
    rows = [
        ("3 fam phi 5e-4, shipped noise, flat bg unknown", dict()),
        ("  same, white noise at the stated sigma", dict(noise="white")),
        ("  same, flat bg known (= 0)", dict(background=False)),
        ("  same, blank measured without noise (frames 3 + inf)", dict(frames=(3, 1e9))),
        ("  same, sample and blank 6 + 6 frames", dict(frames=(6, 6))),
    ]
    for label, kw in rows:
        sd = share_bound(5e-4 * s3, FAMS, **kw)
        print(f"  {label:<58} sd {np.round(sd, 4)}  P {[round(_within(v), 2) for v in sd]}")
    for label, scan in (
        ("phi", lambda v: share_bound(v * s3, FAMS)),
        ("frames (sample = blank)", lambda v: share_bound(5e-4 * s3, FAMS, frames=(v, v))),
    ):
        grid = np.geomspace(5e-4, 5e-3, 200) if label == "phi" else np.arange(3, 61)
        hit = next((v for v in grid if scan(v).max() <= need), None)
        print(f"  3 fam 25:45:30: smallest {label} with every share sd <= {need:.4f}: {hit:.3g}")
    for label, fam, ln in (
        ("2 fam 70:30 phi 5e-4", (0, 3.5e-4, 1.5e-4), None),
        ("2 fam + lognormal", (2.4e-4, 3.6e-4, 0), (1.4, 0.15, 2.4e-4)),
        ("3 fam + lognormal", (1.0e-4, 1.8e-4, 1.2e-4), (1.4, 0.15, 2.0e-4)),
    ):
        present = [f for f, v in zip(FAMS, fam) if v > 0]  # absent families left out (known absent)
        sd = share_bound([v for v in fam if v > 0], present, ln)
        print(f"  {label:<58} sd {np.round(sd, 4)}  P {[round(_within(v), 2) for v in sd]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--bounds", action="store_true", help="print the Cramer-Rao bounds and exit")
    ap.add_argument("--white", action="store_true", help="white noise at the stated sigma (default: shipped noise)")
    ap.add_argument("--cases", default="", help="only the cases whose label contains this text")
    args = ap.parse_args(argv)
    if args.bounds:
        print_bounds()
        return 0
    for label, (dists, truth, cont) in CASES.items():
        if args.cases not in label:
            continue
        times, cpu, errs, z, absent, peak = _run_case(dists, truth, cont, range(args.seeds), args.white)
        med = float(np.median(times))
        print(
            f"{label:<36} wall median {med * 1e3:6.1f} ms, max {times.max() * 1e3:6.1f} ms; CPU median "
            f"{np.median(cpu) * 1e3:6.1f} ms; wall / {BUDGET_S:g} s budget {med / BUDGET_S:.2f}; "
            f"peak memory {peak / 1e6:.1f} MB",
            flush=True,
        )
        if args.accuracy:
            names = [n for n, s in truth.items() if s > 0]
            within = np.abs(errs) <= 0.05
            for k, n in enumerate(names):
                print(
                    f"    {n:<11} bias {errs[:, k].mean():+.4f} rms {np.sqrt((errs[:, k] ** 2).mean()):.4f} "
                    f"|e|<=0.05 {within[:, k].mean():.2f}  |e|<=2sig {z[:, k].mean():.2f}  "
                    f"both {(within[:, k] & z[:, k]).mean():.2f}",
                    flush=True,
                )
            for k, n in enumerate(n for n, s in truth.items() if s == 0):
                print(f"    {n:<11} reported absent {absent[:, k].mean():.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
