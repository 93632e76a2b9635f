"""Measure the peak detection limit and the false-positive rate (run as a script).

    .venv/bin/python -m tests.peaks.detection_limit [n_seeds]

A pseudo-Voigt peak (q0 = 1.84 1/nm, FWHM 0.06 1/nm) of height h is added to
the featureless precursor background (power law + broad maximum + constant)
with 1 % + floor Gaussian noise on 700 points (dq = 0.0099 1/nm, ~6 points
per FWHM).  Reported: detection fraction (peak within 0.01 1/nm) against
h / sigma_local, the fraction of featureless curves with any peak, and the
fraction of polydisperse-sphere curves (r = 1-2 nm, 5-10 % sd) with any
Bragg peak.
"""

from __future__ import annotations

import sys

import numpy as np

from saxs_mc.peaks import find_peaks
from tests.peaks.simulated import noisy, precursor_background, pseudo_voigt, q_grid, sphere_curve


def main(n_seeds: int = 20) -> None:
    q = q_grid(700)
    bg = precursor_background(q)
    sig_local = float(0.01 * np.interp(1.84, q, bg) + 0.002)
    for ratio in (2.0, 3.0, 4.0, 5.0, 6.0, 8.0):
        hits = 0
        for seed in range(n_seeds):
            i, s = noisy(q, bg + pseudo_voigt(q, 1.84, 0.06, ratio * sig_local), seed=seed)
            pk = find_peaks(q, i, s)
            hits += any(abs(p.q_nm - 1.84) < 0.01 for p in pk.peaks)
        print(f"height/sigma = {ratio:4.1f}: detected {hits}/{n_seeds}", flush=True)
    fp = 0
    for seed in range(n_seeds * 5):
        i, s = noisy(q, bg, seed=10_000 + seed)
        fp += len(find_peaks(q, i, s).peaks) > 0
    print(f"false positives: {fp}/{n_seeds * 5} featureless curves", flush=True)
    n = fp = 0
    for r in (1.0, 1.25, 1.5, 1.75, 2.0):
        for sd in (0.05, 0.075, 0.10):
            for seed in range(4):
                n += 1
                fp += len(find_peaks(*sphere_curve(r, sd, seed=100 + seed)).peaks) > 0
    print(f"sphere curves (r 1-2 nm, 5-10 % sd) with a Bragg peak: {fp}/{n}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
