"""Synthetic UV-Vis absorbance spectra matching simulated SAXS conditions.

Each particle population of a sample condition gives a first-exciton absorption peak:

- a magic-size family labelled ``(CdSe-NNN)`` absorbs at NNN nm (the study's positions,
  e.g. CdSe-437 at 437 nm) with a narrow FWHM of 12 nm;
- any other population (regular nanocrystals) at the Yu et al. (2003) wavelength of its
  volume-weighted mean diameter, broadened by its size spread (15 nm homogeneous FWHM
  combined with the spread of Yu wavelengths over +-1 sd of the radius).

Peak heights are 600 absorbance units per unit volume fraction (0.2 for 3.5e-4).  Every
spectrum sits on a scattering tail s (lambda / 400 nm)^-4, the higher-energy absorption
continuum rising to short wavelengths, a 0.003 offset and Gaussian noise of 0.0008
(seeded per condition).  Wavelengths 300-800 nm in 1 nm steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable, write_json_atomic, write_text_atomic
from saxs_mc.models.optical import yu_absorption_nm
from saxs_mc.simulate.condition import MeasurementCondition

WAVELENGTH_NM = np.arange(300.0, 800.5, 1.0)
HEIGHT_PER_PHI = 600.0
MSC_FWHM_NM = 12.0
NC_FWHM_NM = 15.0
NOISE = 0.0008
_MSC_LABEL = re.compile(r"\(CdSe-(\d{3})\)")


def exciton_peaks(condition: MeasurementCondition) -> list[dict[str, Any]]:
    """The true exciton peaks of a condition: wavelength, FWHM, height, population label."""
    out = []
    for d in condition.distributions:
        m = _MSC_LABEL.search(d.label)
        if m:
            lam, fwhm = float(m.group(1)), MSC_FWHM_NM
        else:
            mom = d.moments()
            r, sd = mom["mean_nm"], mom["sd_nm"]
            lam = float(yu_absorption_nm(2 * r))
            spread = float(yu_absorption_nm(2 * (r + sd))) - float(yu_absorption_nm(2 * (r - sd)))
            fwhm = float(np.hypot(NC_FWHM_NM, spread))
        out.append(
            {"wavelength_nm": lam, "fwhm_nm": fwhm, "height": HEIGHT_PER_PHI * d.volume_fraction, "population": d.label}
        )
    return out


def absorbance_spectrum(wavelength_nm: np.ndarray, peaks: Sequence[dict[str, Any]], phi_total: float) -> np.ndarray:
    """Noiseless absorbance: Gaussian exciton peaks + continuum + scattering tail + offset, shape (n_wl,)."""
    wl = np.asarray(wavelength_nm, dtype=float)
    a = np.full(wl.shape, 0.003)
    a += (0.01 + 30.0 * phi_total) * (wl / 400.0) ** -4  # scattering tail
    a += 1500.0 * phi_total * np.exp(-(wl - 300.0) / 35.0)  # higher transitions (continuum)
    for p in peaks:
        s = p["fwhm_nm"] / 2.3548
        a += p["height"] * np.exp(-0.5 * ((wl - p["wavelength_nm"]) / s) ** 2)
    return a


def _seed(seed: int, name: str) -> int:
    ss = np.random.SeedSequence([int(seed), *b"spectra", *name.encode()])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def write_spectra(outdir: str | Path, conditions: Sequence[MeasurementCondition], seed: int) -> list[Path]:
    """Write ``<outdir>/<condition>.csv`` for every sample condition and ``<outdir>/truth.json``.

    Deterministic for a given seed (no timestamps).  Returns the written paths.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths, truth = [], {}
    for cond in conditions:
        if cond.kind != "sample" or not cond.distributions:
            continue
        peaks = exciton_peaks(cond)
        phi = float(sum(d.volume_fraction for d in cond.distributions))
        rng = np.random.default_rng(_seed(seed, cond.name))
        a = absorbance_spectrum(WAVELENGTH_NM, peaks, phi) + NOISE * rng.standard_normal(WAVELENGTH_NM.size)
        path = outdir / f"{cond.name}.csv"
        rows = "".join(f"{w:.1f},{v:.6f}\n" for w, v in zip(WAVELENGTH_NM, a))
        write_text_atomic(
            path,
            f"# saxs_mc.simulate synthetic absorbance spectrum of {cond.name} ({cond.title})\n"
            f"# exciton peaks (truth): {json.dumps(jsonable(peaks))}\n"
            f"wavelength_nm,absorbance\n{rows}",
        )
        paths.append(path)
        truth[cond.name] = {"file": path.name, "peaks": peaks, "volume_fraction": phi}
    paths.append(
        write_json_atomic(
            outdir / "truth.json",
            jsonable(
                {
                    "generator": "saxs_mc.simulate.spectra.write_spectra",
                    "seed": int(seed),
                    "units": {"wavelength": "nm"},
                    "model": __doc__.strip().split("\n\n", 1)[1],
                    "conditions": truth,
                }
            ),
        )
    )
    return paths
