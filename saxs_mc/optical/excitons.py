"""First-exciton peaks of CdSe absorbance spectra, their magic-size family and Yu diameter.

Method (per spectrum):

1. *Candidates*: minima of the Savitzky-Golay second derivative d2A/dlambda2 that are
   more negative than ``min_significance`` times its noise.  The noise of the second
   derivative is the white-noise level of A (MAD of second differences) propagated
   through the filter coefficients, so the threshold is in standard deviations.  A peak
   sitting on a steep scattering/continuum tail still curves downward at its maximum,
   which is why the second derivative finds shoulders that have no local maximum.
2. *Fit*: candidates whose +-4 sigma windows overlap are fitted together (lmfit) as Gaussians
   in wavelength on a cubic baseline in photon energy over those windows; the
   baseline absorbs the local scattering tail and the higher-energy continuum.  Peaks
   whose height is below ``min_significance`` standard errors are dropped.
3. *Families*: a peak within ``tolerance_nm`` of a family's absorption wavelength is
   assigned to it (CdSe-382/-403/-437/-465 by default).
4. *Size*: Yu et al. (2003) diameter of every peak inside the calibrated range
   (:data:`saxs_mc.models.optical.YU_ABSORPTION_RANGE_NM`); outside it a warning and no size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from saxs_mc.models.optical import YU_ABSORPTION_RANGE_NM, yu_diameter_nm

#: magic-size CdSe families named by their first-exciton absorption peak (nm)
CDSE_MSC_ABSORPTION: tuple[tuple[str, float], ...] = (
    ("CdSe-382", 382.0),
    ("CdSe-403", 403.0),
    ("CdSe-437", 437.0),
    ("CdSe-465", 465.0),
)
#: degree of the baseline polynomial in photon energy under the fitted peaks
BASELINE_DEGREE = 3
#: photon energy (eV) times wavelength (nm)
HC_EV_NM = 1239.841984


@dataclasses.dataclass(frozen=True)
class OpticalFamily:
    """A family named by its absorption peak; peaks within ``tolerance_nm`` belong to it."""

    name: str
    absorption_nm: float
    tolerance_nm: float = 6.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("optical family name must not be empty")
        for key in ("absorption_nm", "tolerance_nm"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"optical family {self.name}: {key}={v!r} must be a finite number > 0 (nm)")


DEFAULT_FAMILIES: tuple[OpticalFamily, ...] = tuple(OpticalFamily(n, lam) for n, lam in CDSE_MSC_ABSORPTION)


def parse_optical_family(text: str) -> OpticalFamily:
    """``NAME:LAMBDA[:TOL]`` in nm, e.g. ``CdSe-437:437:5``."""
    parts = text.split(":")
    try:
        if not 2 <= len(parts) <= 3 or not parts[0]:
            raise ValueError
        return OpticalFamily(parts[0], float(parts[1]), *(float(p) for p in parts[2:]))
    except ValueError as exc:
        raise ValueError(
            f"--family {text!r}: expected NAME:LAMBDA[:TOL] with the absorption peak and tolerance in "
            f"nm, e.g. CdSe-437:437:6 ({exc})"
        ) from None


def check_optical_families(families: Sequence[OpticalFamily]) -> tuple[OpticalFamily, ...]:
    """Unique names and non-overlapping assignment ranges (all problems at once)."""
    fams = sorted(families, key=lambda f: f.absorption_nm)
    problems = [
        f"optical family name {n!r} is used more than once"
        for n in sorted({f.name for f in fams if [g.name for g in fams].count(f.name) > 1})
    ]
    for a, b in zip(fams, fams[1:]):
        if a.absorption_nm + a.tolerance_nm >= b.absorption_nm - b.tolerance_nm:
            problems.append(
                f"optical families {a.name} ({a.absorption_nm:g} +- {a.tolerance_nm:g} nm) and {b.name} "
                f"({b.absorption_nm:g} +- {b.tolerance_nm:g} nm) overlap; reduce the tolerances"
            )
    if problems:
        raise ValueError("bad optical families: " + "; ".join(problems))
    return tuple(fams)


@dataclasses.dataclass(frozen=True)
class ExcitonPeak:
    """A fitted first-exciton (or other excitonic) absorption peak.

    ``height`` is the absorbance above the fitted baseline; ``diameter_nm`` the Yu et
    al. (2003) diameter (None outside the calibrated wavelength range); ``family`` the
    assigned family name or None.
    """

    wavelength_nm: float
    wavelength_std_nm: float
    height: float
    height_std: float
    fwhm_nm: float
    significance: float
    family: str | None
    diameter_nm: float | None
    diameter_std_nm: float | None


def _sg_second_derivative(a: np.ndarray, step: float, window: int) -> tuple[np.ndarray, float, float]:
    """Savitzky-Golay d2A/dlambda2, its white-noise standard deviation, and that of A."""
    from scipy.signal import savgol_coeffs, savgol_filter

    d2 = savgol_filter(a, window, 3, deriv=2, delta=step, mode="interp")
    gain = float(np.sqrt(np.sum(savgol_coeffs(window, 3, deriv=2, delta=step) ** 2)))
    # white-noise level of A from second differences (robust): var(a[i-1] - 2 a[i] + a[i+1]) = 6 sigma^2
    dd = np.diff(a, 2)
    sigma_a = max(1.4826 * float(np.median(np.abs(dd - np.median(dd)))) / math.sqrt(6.0), 1e-12)
    return d2, sigma_a * gain, sigma_a


def find_candidates(
    wl: np.ndarray, a: np.ndarray, *, min_significance: float = 5.0, smooth_nm: float = 8.0
) -> tuple[list[tuple[int, float]], float]:
    """Peak candidates and the absorbance noise.

    Each negative lobe of the smoothed second derivative (a run where d2A/dlambda2 < 0)
    whose minimum is below -min_significance x its noise gives one candidate: the index of
    that minimum and a width estimate (a Gaussian's d2 is negative for |x| < sigma, so sigma
    is about half the lobe width).
    """
    step = float(np.median(np.diff(wl)))
    window = max(7, int(round(smooth_nm / step)) | 1)
    if window >= wl.size:
        raise ValueError(
            f"spectrum has {wl.size} points at {step:g} nm spacing: too few for peak finding (need more than {window})"
        )
    d2, noise_d2, sigma_a = _sg_second_derivative(a, step, window)
    half = window // 2
    neg = np.concatenate([[False], d2[half : wl.size - half] < 0, [False]])
    edges = np.flatnonzero(np.diff(neg.astype(int)))
    out = []
    for i0, i1 in zip(edges[::2] + half, edges[1::2] + half):
        k = i0 + int(np.argmin(d2[i0:i1]))
        if d2[k] < -min_significance * noise_d2:
            out.append((k, max(0.5 * (wl[i1 - 1] - wl[i0]), 2 * step)))
    return out, sigma_a


def _groups(cands: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Candidates (centre, sigma) whose +-4 sigma windows overlap, fitted together."""
    out: list[list[tuple[float, float]]] = []
    for c, w in sorted(cands):
        if out and c - 4 * w < max(cc + 4 * ww for cc, ww in out[-1]):
            out[-1].append((c, w))
        else:
            out.append([(c, w)])
    return out


def fit_peaks(
    wl: np.ndarray, a: np.ndarray, cands: list[tuple[float, float]], noise: float
) -> list[tuple[float, float, float, float, float]]:
    """Joint Gaussian fit of overlapping candidates on a cubic-in-energy baseline (lmfit).

    Parameters
    ----------
    cands : list of (centre_nm, sigma_nm)
    noise : float
        Absorbance noise (1 sigma).

    Returns
    -------
    list of (centre, centre_std, height, height_std, fwhm) for every candidate with a covariance.
    """
    import lmfit

    out = []
    for grp in _groups(cands):
        lo = min(c - 4 * w for c, w in grp)
        hi = max(c + 4 * w for c, w in grp)
        m = (wl >= lo) & (wl <= hi)
        x, y = wl[m], a[m]
        if x.size < 3 * len(grp) + BASELINE_DEGREE + 4:
            continue
        e0 = float(np.mean(HC_EV_NM / x))
        de = HC_EV_NM / x - e0
        params = lmfit.Parameters()
        for k, (c, w) in enumerate(grp):
            params.add(f"c{k}", value=c, min=c - w, max=c + w)
            params.add(f"s{k}", value=w, min=0.3 * w, max=3 * w)
            params.add(f"h{k}", value=max(float(np.interp(c, x, y) - np.min(y)), noise), min=0.0)
        for k, v in enumerate(np.polyfit(de, y, BASELINE_DEGREE)[::-1]):
            params.add(f"b{k}", value=float(v))

        n_peaks = len(grp)

        def resid(p, x=x, y=y, de=de, n=n_peaks):
            model = sum(p[f"b{k}"] * de**k for k in range(BASELINE_DEGREE + 1))
            for k in range(n):
                model = model + p[f"h{k}"] * np.exp(-0.5 * ((x - p[f"c{k}"]) / p[f"s{k}"]) ** 2)
            return (model - y) / noise

        p = lmfit.minimize(resid, params, method="leastsq").params
        for k in range(len(grp)):
            sd_c, sd_h = p[f"c{k}"].stderr, p[f"h{k}"].stderr
            if sd_c is None or sd_h is None or not (np.isfinite(sd_c) and np.isfinite(sd_h)):
                continue  # no covariance: the peak is not determined
            out.append(
                (
                    float(p[f"c{k}"].value),
                    float(sd_c),
                    float(p[f"h{k}"].value),
                    float(sd_h),
                    2.3548 * float(p[f"s{k}"].value),
                )
            )
    return out


def assign_family(wavelength_nm: float, families: Sequence[OpticalFamily]) -> str | None:
    """Name of the family whose absorption peak is within its tolerance of ``wavelength_nm`` (nearest), or None."""
    best = min(families, key=lambda f: abs(f.absorption_nm - wavelength_nm), default=None)
    if best is None or abs(best.absorption_nm - wavelength_nm) > best.tolerance_nm:
        return None
    return best.name


def yu_size(wavelength_nm: float, std_nm: float) -> tuple[float | None, float | None]:
    """Yu diameter and its propagated 1-sigma, or (None, None) outside the calibrated range."""
    lo, hi = YU_ABSORPTION_RANGE_NM
    if not lo <= wavelength_nm <= hi:
        return None, None
    d = float(yu_diameter_nm(wavelength_nm))
    h = 0.5
    slope = (float(yu_diameter_nm(min(wavelength_nm + h, hi))) - float(yu_diameter_nm(max(wavelength_nm - h, lo)))) / (
        min(wavelength_nm + h, hi) - max(wavelength_nm - h, lo)
    )
    return d, abs(slope) * std_nm
