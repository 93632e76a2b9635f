"""Analyse absorbance spectra: exciton peaks, families, Yu diameters; the frozen result type."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable
from saxs_mc.models.optical import YU_ABSORPTION_RANGE_NM
from saxs_mc.optical.excitons import (
    DEFAULT_FAMILIES,
    ExcitonPeak,
    OpticalFamily,
    assign_family,
    check_optical_families,
    find_candidates,
    fit_peaks,
    yu_size,
)
from saxs_mc.optical.spectra import Spectra, read_spectra

log = logging.getLogger(__name__)

#: the wavelength range in which first-exciton peaks are sized (the brief's 380-700 nm window); the Yu
#: curve itself is calibrated to YU_ABSORPTION_RANGE_NM (380-660 nm): peaks beyond it get no size
SIZING_RANGE_NM = (380.0, 700.0)


@dataclasses.dataclass(frozen=True)
class SpectrumPeaks:
    """The peaks of one spectrum (longest wavelength first: ``peaks[0]`` is the first exciton)."""

    name: str
    peaks: tuple[ExcitonPeak, ...]
    warnings: tuple[str, ...]

    @property
    def first_exciton(self) -> ExcitonPeak | None:
        return self.peaks[0] if self.peaks else None

    def family_heights(self) -> dict[str, float]:
        """Peak height (absorbance) per assigned family."""
        return {p.family: p.height for p in self.peaks if p.family is not None}


@dataclasses.dataclass(frozen=True)
class OpticalResult:
    """Exciton peaks of every spectrum of a file (see :func:`analyse_spectra`)."""

    source: str
    wavelength_nm: np.ndarray
    absorbance: np.ndarray
    spectra: tuple[SpectrumPeaks, ...]
    families: tuple[OpticalFamily, ...]
    settings: dict[str, Any]
    versions: dict[str, str]

    def __post_init__(self) -> None:
        for key in ("wavelength_nm", "absorbance"):
            v = np.array(getattr(self, key), dtype=float)
            v.flags.writeable = False
            object.__setattr__(self, key, v)

    def __repr__(self) -> str:
        parts = []
        for s in self.spectra:
            fx = s.first_exciton
            parts.append(f"{s.name}: {fx.wavelength_nm:.1f} nm" if fx else f"{s.name}: no peak")
        return f"OpticalResult({Path(self.source).name!r}, {'; '.join(parts)})"

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{s.name}: {w}" for s in self.spectra for w in s.warnings)

    def spectrum(self, name: str) -> SpectrumPeaks:
        for s in self.spectra:
            if s.name == name:
                return s
        raise KeyError(f"no spectrum {name!r}; spectra are {[s.name for s in self.spectra]}")

    def summary(self) -> dict[str, Any]:
        """JSON-safe: per spectrum its peaks (position +- std, height, FWHM, family, Yu diameter) and warnings."""
        return jsonable(
            {
                "source": self.source,
                "wavelength_range_nm": [float(self.wavelength_nm[0]), float(self.wavelength_nm[-1])],
                "families": [dataclasses.asdict(f) for f in self.families],
                "spectra": [
                    {
                        "name": s.name,
                        "first_exciton_nm": s.first_exciton.wavelength_nm if s.first_exciton is not None else None,
                        "peaks": [dataclasses.asdict(p) for p in s.peaks],
                        "warnings": list(s.warnings),
                    }
                    for s in self.spectra
                ],
                "settings": self.settings,
                "versions": self.versions,
            }
        )

    def report(self) -> str:
        lines = [
            f"Absorption spectra: {self.source} ({len(self.spectra)} spectra, "
            f"{self.wavelength_nm[0]:g}-{self.wavelength_nm[-1]:g} nm)",
            f"  {'spectrum':<16} {'peak nm':>8} {'+-':>5} {'height':>7} {'FWHM':>5} {'family':<10} "
            f"{'Yu D nm':>7} {'+-':>5}",
        ]
        for s in self.spectra:
            if not s.peaks:
                lines.append(f"  {s.name:<16} no excitonic peak found")
            for p in s.peaks:
                d = (
                    f"{p.diameter_nm:7.3f} {p.diameter_std_nm:5.3f}"
                    if p.diameter_nm is not None
                    else f"{'-':>7} {'':>5}"
                )
                lines.append(
                    f"  {s.name:<16} {p.wavelength_nm:8.1f} {p.wavelength_std_nm:5.2f} {p.height:7.4f} "
                    f"{p.fwhm_nm:5.1f} {p.family or '-':<10} {d}"
                )
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Spectra with their fitted peak positions; returns the matplotlib axes."""
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(6, 4)).add_subplot()
        for s, a in zip(self.spectra, self.absorbance):
            (line,) = ax.plot(self.wavelength_nm, a, lw=1.0, label=s.name)
            for p in s.peaks:
                j = int(np.argmin(np.abs(self.wavelength_nm - p.wavelength_nm)))
                ax.plot([p.wavelength_nm], [a[j]], "v", color=line.get_color(), ms=5)
                ax.annotate(
                    p.family or f"{p.wavelength_nm:.0f}",
                    (p.wavelength_nm, a[j]),
                    fontsize=6,
                    xytext=(0, 4),
                    textcoords="offset points",
                    ha="center",
                )
        ax.set_xlabel("wavelength (nm)")
        ax.set_ylabel("absorbance")
        ax.legend(fontsize=6, ncol=2)
        ax.set_title(Path(self.source).name or "spectra", fontsize=9)
        return ax


def _analyse_one(
    name: str, wl: np.ndarray, a: np.ndarray, families, min_significance: float, smooth_nm: float
) -> SpectrumPeaks:
    warnings = []
    lo, hi = SIZING_RANGE_NM
    if wl[-1] < lo or wl[0] > hi:
        return SpectrumPeaks(
            name,
            (),
            (
                f"spectrum covers {wl[0]:g}-{wl[-1]:g} nm, outside the {lo:g}-{hi:g} nm "
                "sizing range: no first-exciton size",
            ),
        )
    cands, noise = find_candidates(wl, a, min_significance=min_significance, smooth_nm=smooth_nm)
    fitted = fit_peaks(wl, a, [(float(wl[i]), w) for i, w in cands], noise)
    peaks = []
    for c, sc, h, sh, fwhm in fitted:
        if not (h > 0 and h >= min_significance * sh):
            continue
        d, sd = yu_size(c, sc)
        if d is None:
            warnings.append(
                f"peak at {c:.1f} nm is outside the {YU_ABSORPTION_RANGE_NM[0]:g}-"
                f"{YU_ABSORPTION_RANGE_NM[1]:g} nm range of the Yu et al. (2003) sizing curve: no size"
            )
        peaks.append(
            ExcitonPeak(c, sc, h, sh, fwhm, h / sh if sh > 0 else float("inf"), assign_family(c, families), d, sd)
        )
    peaks.sort(key=lambda p: -p.wavelength_nm)
    return SpectrumPeaks(name, tuple(peaks), tuple(warnings))


def analyse_spectra(
    spectra: Spectra | str | Path,
    families: Sequence[OpticalFamily] | None = None,
    *,
    min_significance: float = 5.0,
    smooth_nm: float = 8.0,
) -> OpticalResult:
    """Find first-exciton peaks, assign them to families and size them (Yu et al. 2003).

    Parameters
    ----------
    spectra : Spectra or path
        Spectra, or a CSV/TXT file read with :func:`saxs_mc.optical.read_spectra`.
    families : sequence of OpticalFamily, optional
        Default: CdSe-382/-403/-437/-465 (+-6 nm).
    min_significance : float
        Candidate threshold on -d2A/dlambda2 and on the fitted height, in standard deviations.
    smooth_nm : float
        Savitzky-Golay window (nm) of the second derivative.

    Returns
    -------
    OpticalResult

    Examples
    --------
    >>> res = analyse_spectra("sample_data/cdse_series/spectra/nuc230C.csv")   # doctest: +SKIP
    >>> [(p.family, round(p.diameter_nm, 2)) for p in res.spectra[0].peaks]    # doctest: +SKIP
    [('CdSe-465', 2.06), ('CdSe-437', 1.85)]
    """
    from saxs_mc.provenance import package_versions

    if not isinstance(spectra, Spectra):
        spectra = read_spectra(spectra)
    fams = check_optical_families(DEFAULT_FAMILIES if families is None else families)
    if not (isinstance(min_significance, (int, float)) and min_significance > 0):
        raise ValueError(f"min_significance={min_significance!r} must be > 0 (standard deviations, default 5)")
    if not (isinstance(smooth_nm, (int, float)) and smooth_nm > 0):
        raise ValueError(f"smooth_nm={smooth_nm!r} must be > 0 nm (default 8)")
    out = tuple(
        _analyse_one(n, spectra.wavelength_nm, a, fams, min_significance, smooth_nm)
        for n, a in zip(spectra.names, spectra.absorbance)
    )
    for s in out:
        for w in s.warnings:
            log.warning("%s: %s: %s", spectra.source, s.name, w)
    return OpticalResult(
        spectra.source,
        spectra.wavelength_nm,
        spectra.absorbance,
        out,
        fams,
        {
            "min_significance": min_significance,
            "smooth_nm": smooth_nm,
            "sizing_range_nm": list(SIZING_RANGE_NM),
            "yu_range_nm": list(YU_ABSORPTION_RANGE_NM),
            "method": "Savitzky-Golay second-derivative candidates, joint Gaussian fit on a cubic "
            "baseline in photon energy (lmfit), Yu et al. 2003 diameters",
        },
        package_versions(),
    )
