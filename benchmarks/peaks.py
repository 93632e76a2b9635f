"""Peak search time and peak memory against the number of curve points.

    .venv/bin/python benchmarks/peaks.py                     # n = 500, 1000, 10000, 100000
    .venv/bin/python benchmarks/peaks.py --old 4fb26e7       # also the code of that commit (n <= --old-max-n)

The curve is the precursor blank of the tests (power law + broad maximum at 0.25 1/nm +
constant, lamellar peaks at 1.84 and 3.69 1/nm), q = 0.1-7 1/nm, 1 % + floor Gaussian
noise, seeded.  Time: best of ``--repeat`` runs after a warm-up (numba compiled or loaded
from cache).  Peak memory: tracemalloc peak of one run (Python and NumPy allocations),
measured separately from the timing.  Goals (issue 13): <= 0.3 s for 1000 points,
<= 3 s for 10000.  The old code is taken from git (``git show COMMIT:saxs_mc/peaks/...``)
into a temporary package; it grows as n^2, so it runs only up to ``--old-max-n``.

Measured 2026-11-30 on the shared 2-core machine (load 5-14, so absolute times are inflated):

    n        new (s)  peak MB   old 4fb26e7 (s)  old MB  speed-up (same run, load ~13)
    500      0.037    0.4       1.20             5.7     10.9x
    1000     0.354    0.7       7.71             11.3    10.9x
    10000    1.082    6.7       983              112     263x
    100000   48.5     65.5      (hung)
Same peaks at n <= 10000.  At n = 100000 two extra peaks (4.28, 6.81 1/nm) are reported and the
second order sits at 3.680: not yet investigated (see the branch report).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GOALS_S = {1000: 0.3, 10000: 3.0}


def curve(n: int, seed: int = 1):
    q = np.linspace(0.1, 7.0, n)
    bg = 2e-3 * q**-3.0 + 0.6 * np.exp(-0.5 * (np.log(q / 0.25) / 0.28) ** 2) + 0.05

    def pv(c, fwhm, h):
        s = fwhm / (2 * np.sqrt(2 * np.log(2)))
        return h * (0.5 * np.exp(-0.5 * ((q - c) / s) ** 2) + 0.5 / (1 + ((q - c) / (fwhm / 2)) ** 2))

    clean = bg + pv(1.84, 0.06, 0.4) + pv(3.69, 0.09, 0.12)
    sigma = 0.01 * clean + 0.002
    return q, clean + np.random.default_rng(seed).normal(0.0, sigma), sigma


def old_find_peaks(commit: str):
    """``find_peaks`` of ``commit``, imported from git into a temporary package."""
    tmp = Path(tempfile.mkdtemp(prefix="saxs_mc_old_peaks_"))
    pkg = tmp / "old_peaks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod in ("_background", "_matched", "detect", "index"):
        src = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{commit}:saxs_mc/peaks/{mod}.py"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        src = src.replace("from saxs_mc.peaks import", "from old_peaks import").replace(
            "from saxs_mc.peaks.index import", "from old_peaks.index import"
        )
        (pkg / f"{mod}.py").write_text(src)
    sys.path.insert(0, str(tmp))
    return importlib.import_module("old_peaks.detect").find_peaks


def measure(find_peaks, n: int, repeat: int) -> tuple[float, float, list[float]]:
    q, i, s = curve(n)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        pk = find_peaks(q, i, s)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    find_peaks(q, i, s)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return min(times), peak_mb, [round(p.q_nm, 4) for p in pk.peaks]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[500, 1000, 10000, 100000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", default=None, metavar="COMMIT", help="also time find_peaks of this git commit")
    ap.add_argument("--old-max-n", type=int, default=10000)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from saxs_mc.peaks import find_peaks

    find_peaks(*curve(300))  # warm-up: numba kernel compiled or loaded from cache
    old = old_find_peaks(args.old) if args.old else None
    if old is not None:
        old(*curve(300))
    print(
        f"{'n':>7} {'time (s)':>9} {'peak MB':>8} {'goal':>6}  {'old (s)':>8} {'old MB':>7} {'speed-up':>8}  peaks (1/nm)"
    )
    for n in args.n:
        t, mb, peaks = measure(find_peaks, n, args.repeat if n <= 10000 else 1)
        goal = f"{GOALS_S[n]:.1f}" if n in GOALS_S else "-"
        line = f"{n:7d} {t:9.3f} {mb:8.1f} {goal:>6}"
        if old is not None and n <= args.old_max_n:
            to, mbo, peaks_old = measure(old, n, 1)
            line += f"  {to:8.3f} {mbo:7.1f} {to / t:7.1f}x  {peaks} (old {peaks_old})"
        else:
            line += f"  {'-':>8} {'-':>7} {'-':>8}  {peaks}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
