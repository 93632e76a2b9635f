"""Bragg-peak detection and joint lmfit fitting on a 1D SAXS curve.

Method (see :func:`find_peaks`):

1. **Background.**  A robust smooth baseline (:mod:`saxs_mc.peaks._background`):
   penalized smoother of asinh(I/s) in the warped coordinate u(q) with
   du/dq = 1/W(q), recomputed (up to twice) with the windows of the detected
   candidates masked, so peaks do not pull it up.  (Sigma-clipping reweighting
   is available in the smoother but off: with high-statistics data it turns
   the baseline into a lower envelope of every broad feature.)
   The baseline may sit below broad features (it is a smooth lower envelope);
   candidate detection and fitting absorb that with local quadratic terms.
2. **Candidates.**  A matched-filter scan (:mod:`saxs_mc.peaks._matched`):
   at every q and for template widths from the sampling limit to 6 W(q), the
   Gaussian excess over the baseline is fitted in a +-4 FWHM window together
   with a local quadratic background, and its significance A/sd(A) computed
   from the uncertainties.  Candidates (template FWHM <= W(q), significance
   >= 0.8 min_significance) are taken one at a time, strongest first, CLEAN
   style: after each, its +-2.5 FWHM region is blanked (for form-factor-like
   widths > W/2 only for templates not much narrower than it) and the scan
   repeated.  Broad features: significant maxima of the wider templates
   (> W(q)) on the data minus the fitted peaks, where the smooth background
   in the Kratky representation I q^2 has a local maximum on the feature's
   scale and no Bragg peak lies within one FWHM; reported with their
   matched-filter position, width and significance.
   The scan costs O(n) per template width: centres are tested on a grid of
   FWHM/8 and refined to the exact maximum around every coarse maximum above
   threshold; blanking a region recomputes only the centres whose windows
   touch it (see :mod:`saxs_mc.peaks._matched`).
3. **Joint fit.**  Candidates whose windows (+-3 FWHM) overlap are fitted
   together with lmfit (``PseudoVoigtModel`` by default, ``GaussianModel`` /
   ``LorentzianModel`` on request); disjoint windows share no parameter and
   are fitted separately (same result, failures stay local).  In each window
   the background is the baseline times a quadratic in ln(q/q_w)
   (1 + c0 + c1 x + c2 x^2).  Peak-like candidates (FWHM <= W/2) are fitted
   first; wider, form-factor-like candidates are fitted afterwards on the
   data minus the fitted peaks, so a narrow peak on top of a form-factor
   maximum is not absorbed by it.  Uncertainties come from the covariance,
   inflated by sqrt(chi2_r) when chi2_r > 1.  A window whose fit yields no
   covariance drops its least significant candidate and is refitted; the
   messages are kept in ``PeakResult.fit_message`` and ``converged`` is False
   when a fit failed for good.
4. **Acceptance.**  A component survives if area/sd(area) >= min_significance
   (judged with the pseudo-Voigt fraction fixed at 0.5; the reported values
   come from a refit with the fraction free when that fit has uncertainties
   and still shows every peak at >= min_significance, else from the
   fixed-shape fit)
   and its height is at least ``min_height_snr`` times the local sigma;
   otherwise it is removed and the fit repeated.
5. **Classification by width (the physical criterion).**  A Bragg peak of a
   crystal of N repeat units has FWHM/q0 ~ K/N, so FWHM <= W(q0) =
   min(max_rel_fwhm q0, max_fwhm_nm) means at least ~6 ordered repeats
   (max_rel_fwhm = 0.15) and a coherence length >= 2 pi K / 0.5 ~ 11 nm
   (max_fwhm_nm = 0.5).  Form-factor maxima of particles of radius r have
   FWHM ~ pi/(2 r) in q (>= 0.78 1/nm for r <= 2 nm) and FWHM/q0 ~ 1/(2n+1)
   for the n-th maximum, and a correlation (structure/precursor) maximum is
   broader still (FWHM/q ~ 0.5).  Significant features wider than W(q0) are
   therefore reported as *broad features* (``PeakResult.broad_features``),
   never as Bragg peaks.  Peaks with form-factor-like fitted widths
   (W/2 < FWHM <= W) must in addition reach twice
   ``min_significance`` to count as Bragg peaks: remnants of form-factor
   maxima of r ~ 2 nm spheres (FWHM ~ 0.3 1/nm at q ~ 2.5 1/nm) otherwise
   passed at ~5.5 sigma in 2 of 60 simulated sphere curves.

Derived quantities: d = 2 pi / q0; Scherrer-type coherence length
L = 2 pi K / FWHM with FWHM in q units (1/nm) and K = 0.9 by default (no
instrumental-resolution deconvolution: L is a lower bound).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import lmfit
import numpy as np
from lmfit import lineshapes

from saxs_mc.peaks import _background, _matched
from saxs_mc.peaks._matched import Candidate
from saxs_mc.peaks.index import IndexResult, index_peaks
from saxs_mc.peaks.settings import PROFILES, PeakSearchSettings  # noqa: F401  (declared in a light module)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

log = logging.getLogger(__name__)

MIN_POINTS = 20
_WIDTH_FACTORS = np.geomspace(0.04, 6.0, 16)
_NARROW_MAX = 1.0  # templates up to W(q) are fitted as peak candidates; broader ones are broad features
_NARROW_ROWS = np.flatnonzero(_WIDTH_FACTORS <= _NARROW_MAX)
_BROAD_ROWS = np.flatnonzero(_WIDTH_FACTORS > _NARROW_MAX)
_GAUSS_AREA = 1.0645  # area of a unit-height Gaussian of unit FWHM: sqrt(pi / (4 ln 2))
_PROFILE_FUNCS = {
    "pseudo_voigt": lineshapes.pvoigt,
    "gaussian": lineshapes.gaussian,
    "lorentzian": lineshapes.lorentzian,
}


_DEFAULTS = PeakSearchSettings()


@dataclasses.dataclass(frozen=True)
class Peak:
    """One fitted peak.

    Attributes
    ----------
    q_nm, q_err : float
        Position q0 and its one-sigma error (1/nm).
    fwhm, fwhm_err : float
        Full width at half maximum (1/nm) and error.
    area, area_err : float
        Integrated intensity (intensity unit x 1/nm) and error.
    height : float
        Peak height above background (intensity unit).
    significance : float
        area / area_err of the reported fit (see module docstring, step 4).
    height_snr : float
        height / (mean sigma of the data within +-FWHM/2).
    d_nm, d_err : float
        d = 2 pi / q0 and its error (nm).
    coherence_length_nm : float
        L = 2 pi K / FWHM (nm), K = ``scherrer_k``.
    fraction : float
        Lorentzian fraction of the pseudo-Voigt (1 for Lorentzian, 0 for Gaussian).
    kind : str
        ``"bragg"`` or ``"broad"``.
    order : str
        Assigned reflection (e.g. ``"(001)"``) after indexing, ``""`` if unassigned.
    """

    q_nm: float
    q_err: float
    fwhm: float
    fwhm_err: float
    area: float
    area_err: float
    height: float
    significance: float
    height_snr: float
    d_nm: float
    d_err: float
    coherence_length_nm: float
    fraction: float
    kind: str = "bragg"
    order: str = ""

    def __repr__(self) -> str:
        order = f" {self.order}" if self.order else ""
        return (
            f"Peak({self.kind}{order} q={self.q_nm:.4g}+-{self.q_err:.2g} 1/nm, d={self.d_nm:.4g} nm, "
            f"FWHM={self.fwhm:.3g}, area={self.area:.4g}+-{self.area_err:.2g}, signif={self.significance:.1f})"
        )

    def summary(self) -> dict[str, Any]:
        """JSON-safe dict; keys follow the ``<stem>_peaks.json`` schema."""
        return {
            "q_nm^-1": self.q_nm,
            "q_err": self.q_err,
            "fwhm": self.fwhm,
            "fwhm_err": self.fwhm_err,
            "d_nm": self.d_nm,
            "d_err": self.d_err,
            "area": self.area,
            "area_err": self.area_err,
            "height": self.height,
            "significance": self.significance,
            "height_snr": self.height_snr,
            "coherence_length_nm": self.coherence_length_nm,
            "fraction": self.fraction,
            "kind": self.kind,
            "order": self.order,
        }


@dataclasses.dataclass(frozen=True, repr=False)
class PeakResult:
    """Result of :func:`find_peaks`.

    Attributes
    ----------
    peaks : tuple of Peak
        Significant Bragg peaks (FWHM <= W(q0)), sorted by q.
    broad_features : tuple of Peak
        Significant features broader than the Bragg width limit (form-factor or
        correlation maxima), sorted by q.
    phase : IndexResult
        Indexing of ``peaks``.
    q, intensity, sigma : ndarray of shape (n,)
        The analysed data (after the q range selection).
    background : ndarray of shape (n,)
        Background: the smooth baseline, with the fitted local corrections inside
        the fit windows of the reported features.
    model : ndarray of shape (n,)
        Background plus the fitted components inside the fit windows of the
        reported features; NaN elsewhere (no model was fitted there).
    converged : bool
        False when lmfit reported failure or could not estimate uncertainties.
    fit_message : str
        lmfit's message, or why no fit was made.
    chi2_r : float
        Reduced chi-square of the joint fit on the fitted windows (NaN without fit).
    settings : dict
        The settings used (JSON-safe).
    title : str
        Curve title.
    intensity_unit : str
        Unit of ``intensity``.

    Examples
    --------
    >>> import numpy as np
    >>> from saxs_mc.peaks import find_peaks
    >>> q = np.linspace(0.5, 5.0, 400)
    >>> clean = 1.0 + 8.0 * np.exp(-0.5 * ((q - 1.84) / 0.03) ** 2) + 2.0 * np.exp(-0.5 * ((q - 3.68) / 0.04) ** 2)
    >>> pk = find_peaks(q, clean + np.random.default_rng(0).normal(0, 0.02, q.size), np.full(q.size, 0.02))
    >>> pk
    PeakResult(2 Bragg peaks at q = 1.840, 3.680 1/nm; lamellar d = 3.415 nm; 400 points, q 0.5-5 1/nm)
    >>> ax = pk.plot()  # matplotlib Axes
    """

    peaks: tuple[Peak, ...]
    broad_features: tuple[Peak, ...]
    phase: IndexResult
    q: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    background: np.ndarray
    model: np.ndarray
    converged: bool
    fit_message: str
    chi2_r: float
    settings: dict[str, Any]
    title: str = ""
    intensity_unit: str = "arbitrary"

    @property
    def n_peaks(self) -> int:
        return len(self.peaks)

    def __repr__(self) -> str:
        title = f"{self.title!r}: " if self.title else ""
        if self.peaks:
            where = ", ".join(f"{p.q_nm:.3f}" for p in self.peaks)
            found = f"{len(self.peaks)} Bragg peak{'s' if len(self.peaks) > 1 else ''} at q = {where} 1/nm; {self.phase.short()}"
        else:
            found = "no Bragg peaks"
        broad = (
            f"; {len(self.broad_features)} broad feature{'s' if len(self.broad_features) > 1 else ''}"
            if self.broad_features
            else ""
        )
        conv = "" if self.converged else "; fit NOT converged"
        rng = f"q {self.q[0]:.3g}-{self.q[-1]:.3g} 1/nm" if self.q.size else "no data"
        return f"PeakResult({title}{found}{broad}{conv}; {self.q.size} points, {rng})"

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary (the content of ``<stem>_peaks.json`` without provenance)."""
        from saxs_mc.io.atomic import jsonable

        return jsonable(
            {
                "title": self.title,
                "intensity_unit": self.intensity_unit,
                "q_range_nm": [float(self.q[0]), float(self.q[-1])] if self.q.size else None,
                "n_points": int(self.q.size),
                "peaks": [p.summary() for p in self.peaks],
                "broad_features": [p.summary() for p in self.broad_features],
                "phase": self.phase.summary(),
                "fit": {"converged": self.converged, "message": self.fit_message, "chi2_r": self.chi2_r},
                "settings": self.settings,
            }
        )

    def report(self) -> str:
        """Human-readable multi-line report."""
        lines = [
            f"Bragg peaks in {self.title or 'curve'} ({self.q.size} points, q {self.q[0]:.3g}-{self.q[-1]:.3g} 1/nm)"
        ]
        if not self.converged:
            lines.append(f"  WARNING: joint fit did not converge: {self.fit_message}")
        if not self.peaks:
            lines.append("  no significant Bragg peak")
        for p in self.peaks:
            lines.append(
                f"  q = {p.q_nm:.4f} +- {p.q_err:.4f} 1/nm  d = {p.d_nm:.3f} nm  FWHM = {p.fwhm:.4f}  "
                f"area = {p.area:.4g} +- {p.area_err:.2g}  signif = {p.significance:.1f}  L = {p.coherence_length_nm:.1f} nm"
                + (f"  {p.order}" if p.order else "")
            )
        for p in self.broad_features:
            lines.append(
                f"  broad maximum at q = {p.q_nm:.3f} 1/nm (FWHM {p.fwhm:.3f}, FWHM/q = {p.fwhm / p.q_nm:.2f}) - not a Bragg peak"
            )
        lines.append("  " + self.phase.report().replace("\n", "\n  "))
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Log-log plot of data, background and fit; Bragg peaks labelled with order and d.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw into; default a new Agg figure (no pyplot state).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from saxs_mc.peaks.output import draw_peaks

        return draw_peaks(self, ax)


# ----------------------------------------------------------------------
# step 0: input
def _as_1d(name: str, a: Any) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"find_peaks: {name} must be a numeric 1D array ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"find_peaks: {name} must be 1D, got shape {arr.shape}")
    return arr


def _drop_nonfinite(q, i, s, drop_nonfinite):
    bad = ~(np.isfinite(q) & np.isfinite(i) & np.isfinite(s))
    if not bad.any():
        return q, i, s
    if not drop_nonfinite:
        raise ValueError(
            f"find_peaks: {int(bad.sum())} of {q.size} points have NaN/inf in q, intensity or sigma "
            f"(first at q index {int(np.flatnonzero(bad)[0])}); clean the curve or pass drop_nonfinite=True "
            "to ignore those points"
        )
    log.warning("find_peaks: dropping %d non-finite points of %d", int(bad.sum()), q.size)
    return q[~bad], i[~bad], s[~bad]


def _check_q_and_sigma(q, s):
    dq = np.diff(q)
    if np.any(dq == 0):
        j = int(np.flatnonzero(dq == 0)[0])
        raise ValueError(
            f"find_peaks: q has {int(np.sum(dq == 0))} duplicated values (first q = {q[j]:.6g} 1/nm at index {j}); "
            "merge duplicate q values (e.g. average their intensities) before the peak search"
        )
    if np.any(dq < 0):
        j = int(np.flatnonzero(dq < 0)[0])
        raise ValueError(
            f"find_peaks: q must be strictly increasing, but q[{j + 1}] = {q[j + 1]:.6g} < q[{j}] = {q[j]:.6g} 1/nm; "
            "sort the curve by q and merge duplicate q values"
        )
    if q.size and q[0] <= 0:
        raise ValueError(f"find_peaks: q must be > 0 1/nm, got q[0] = {q[0]:.4g}; cut the range with q_range_nm")
    if np.any(s <= 0):
        raise ValueError(
            f"find_peaks: sigma must be > 0, {int(np.sum(s <= 0))} points have sigma <= 0; "
            "provide real uncertainties (significance needs them)"
        )


def _select_q_range(q, i, s, q_range_nm):
    if q_range_nm is None:
        return q, i, s
    try:
        lo, hi = (float(v) if v is not None else None for v in q_range_nm)
    except (TypeError, ValueError):
        raise TypeError(f"find_peaks: q_range_nm must be (q_min, q_max) in 1/nm, got {q_range_nm!r}") from None
    lo = -np.inf if lo is None else lo
    hi = np.inf if hi is None else hi
    if not lo < hi:
        raise ValueError(f"find_peaks: q_range_nm = {q_range_nm!r} is empty; q_min must be < q_max")
    m = (q >= lo) & (q <= hi)
    if m.sum() < MIN_POINTS:
        raise ValueError(
            f"find_peaks: q_range_nm = {q_range_nm!r} leaves {int(m.sum())} points (need >= {MIN_POINTS}); "
            f"the data cover {q.min():.4g} - {q.max():.4g} 1/nm"
            if q.size
            else "find_peaks: empty curve"
        )
    return q[m], i[m], s[m]


def _validate(q, intensity, sigma, q_range_nm, drop_nonfinite):
    q, i, s = (_as_1d(name, a) for name, a in (("q", q), ("intensity", intensity), ("sigma", sigma)))
    if not (q.size == i.size == s.size):
        raise ValueError(f"find_peaks: q, intensity, sigma must have equal length, got {q.size}, {i.size}, {s.size}")
    q, i, s = _drop_nonfinite(q, i, s, drop_nonfinite)
    _check_q_and_sigma(q, s)
    q, i, s = _select_q_range(q, i, s, q_range_nm)
    if q.size < MIN_POINTS:
        raise ValueError(f"find_peaks: {q.size} points is too few for a background and peak fit (need >= {MIN_POINTS})")
    return q, i, s


# ----------------------------------------------------------------------
# step 1: background
def _baseline_model(q, y, s, cfg: PeakSearchSettings) -> Callable[[np.ndarray | None], np.ndarray]:
    """The smooth baseline as a function of the excluded points (see module docstring, step 1)."""
    u = _background.warped_coordinate(q, cfg.max_rel_fwhm, cfg.max_fwhm_nm)
    scale = float(np.median(s))
    ty, tdy = _background.glog(y, s, scale)

    def baseline(exclude: np.ndarray | None = None) -> np.ndarray:
        z, _ = _background.robust_baseline(u, ty, tdy, stiffness=cfg.baseline_stiffness, exclude=exclude, clip=None)
        return np.sinh(z) * scale

    return baseline


# ----------------------------------------------------------------------
# step 2: candidates
def _clean_scan(q, resid, s, width_limit, threshold, max_candidates) -> list[Candidate]:
    """Iterative (CLEAN-like) candidate search: take the most significant narrow
    candidate, blank its +-2.5 FWHM region, rescan; stop when nothing exceeds the
    threshold.  Blanking keeps the wings of a strong peak from producing spurious
    neighbouring candidates."""
    mask = np.ones(q.size)
    wide: list[tuple[float, float]] = []
    cands: list[Candidate] = []
    mf = _matched.MatchedFilter(q, resid, s, width_limit, _WIDTH_FACTORS[_NARROW_ROWS], refine_above=threshold)
    for _ in range(max_candidates):
        got = _matched.pick_candidates(q, *mf.maps, threshold, 1)
        if not got:
            break
        c = got[0]
        cands.append(c)
        j = min(int(np.searchsorted(q, c.q0)), q.size - 1)
        if c.fwhm > 0.5 * width_limit[j]:
            wide.append((c.q0, c.fwhm))  # form-factor-like width: narrower templates may look inside
        else:
            mask[np.abs(q - c.q0) <= 2.5 * c.fwhm] = 0.0
        if mask.sum() < 10:
            break
        mf.blank(mask, wide)
    return cands


def _search_candidates(q, y, s, baseline, width_limit, cfg: PeakSearchSettings) -> tuple[np.ndarray, list[Candidate]]:
    """CLEAN scans on the data minus the baseline; the baseline is recomputed (up to twice)
    with the candidate regions excluded.  Returns the final baseline and candidates."""
    threshold = 0.8 * cfg.min_significance
    base = baseline(None)
    cands: list[Candidate] = []
    excl = np.zeros(q.size, dtype=bool)
    for _pass in range(3):
        cands = _clean_scan(q, y - base, s, width_limit, threshold, cfg.max_candidates)
        if not cands or _pass == 2:
            break
        new = excl.copy()
        for c in cands:
            new |= np.abs(q - c.q0) <= 2.5 * c.fwhm
        if np.array_equal(new, excl) or new.sum() > 0.5 * q.size:
            break
        excl = new
        base = baseline(excl)
    log.debug(
        "find_peaks: %d candidates %s",
        len(cands),
        [(round(c.q0, 4), round(c.fwhm, 4), round(c.significance, 1)) for c in cands],
    )
    return base, cands


# ----------------------------------------------------------------------
# step 3: joint fits
@dataclasses.dataclass(frozen=True)
class _WindowFit:
    """The accepted fit of one window: its peaks and what they add to the model."""

    peaks: tuple[Peak, ...]
    chi2: float
    in_fit: np.ndarray  # bool (n,): points of the window
    background: np.ndarray  # background inside the window (in_fit.sum(),)
    components: np.ndarray  # (n,) sum of the fitted profiles


@dataclasses.dataclass(frozen=True)
class _Feature:
    """A reported feature and where it came from: the index of its window fit, or None (matched filter only)."""

    peak: Peak
    window: int | None


def _windows(cands: Sequence[Candidate], q) -> list[list[float]]:
    """Fit windows: +-3 FWHM around each candidate, clipped to the data, merged when overlapping."""
    spans = sorted([max(c.q0 - 3.0 * c.fwhm, q[0]), min(c.q0 + 3.0 * c.fwhm, q[-1])] for c in cands)
    merged: list[list[float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


def _sigma_from_fwhm(profile: str, fwhm: float) -> float:
    return fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0))) if profile == "gaussian" else fwhm / 2.0


class _Fit:
    """Joint lmfit model of one window: baseline x (1 + c0 + c1 x + c2 x^2) + one profile per candidate."""

    def __init__(self, q, y, s, base, cands: Sequence[Candidate], window, profile):
        self.q, self.s = q, s
        self.profile = profile
        self.func = _PROFILE_FUNCS[profile]
        self.cands = tuple(cands)
        lo, hi = window
        self.in_fit = (q >= lo) & (q <= hi)
        self.qf = q[self.in_fit]
        self.yf, self.sf, self.base_f = y[self.in_fit], s[self.in_fit], base[self.in_fit]
        qw = self.qf
        ref = float(np.log(np.sqrt(qw[0] * qw[-1])))
        halfw = max(0.5 * np.log(qw[-1] / qw[0]), 1e-6)
        self.x = (np.log(qw) - ref) / halfw
        self.res: Any = None  # lmfit.minimizer.MinimizerResult, set by fit() (lmfit has no type stubs)

    def _profile_names(self, n: int) -> tuple[str, ...]:
        pre = f"p{n}_"
        names = ("amplitude", "center", "sigma") + (("fraction",) if self.profile == "pseudo_voigt" else ())
        return tuple(pre + k for k in names)

    def _parameters(self, fix_fraction) -> lmfit.Parameters:
        params = lmfit.Parameters()
        for name in ("c0_0", "c1_0", "c2_0"):
            params.add(name, value=0.0)
        for n, c in enumerate(self.cands):
            pre = f"p{n}_"
            sig = _sigma_from_fwhm(self.profile, c.fwhm)
            params.add(f"{pre}amplitude", value=max(c.height, 1e-12 * abs(self.base_f).max()) * c.fwhm * _GAUSS_AREA)
            params.add(f"{pre}center", value=c.q0, min=c.q0 - c.fwhm, max=c.q0 + c.fwhm)
            params.add(f"{pre}sigma", value=sig, min=sig / 8.0, max=sig * 4.0)
            if self.profile == "pseudo_voigt":
                if fix_fraction is None:
                    params.add(f"{pre}fraction", value=0.5, min=0.0, max=1.0)
                else:
                    params.add(f"{pre}fraction", value=fix_fraction, vary=False)
        return params

    def background(self, p) -> np.ndarray:
        """Background inside the window for parameters ``p`` (lmfit Parameters)."""
        x = self.x
        return self.base_f * (1.0 + p["c0_0"].value + p["c1_0"].value * x + p["c2_0"].value * x * x)

    def profile_at(self, p, n: int, x: np.ndarray) -> np.ndarray:
        """Profile ``n`` evaluated at ``x`` for parameters ``p``."""
        return self.func(x, *(p[name].value for name in self._profile_names(n)))

    def run(self, fix_fraction=None):
        params = self._parameters(fix_fraction)
        names = [self._profile_names(n) for n in range(len(self.cands))]
        qf, func = self.qf, self.func

        def residual(p):
            model = self.background(p)
            for nm in names:
                model = model + func(qf, *(p[k].value for k in nm))
            return (self.yf - model) / self.sf

        nparam = len(params)
        if self.qf.size <= nparam:
            return None, "too few points in the peak windows for the number of parameters"
        mini = lmfit.Minimizer(residual, params, scale_covar=False, nan_policy="raise")
        try:
            res = mini.minimize(method="leastsq", max_nfev=400 * (nparam + 1))
        except (ValueError, ArithmeticError) as exc:
            return None, f"lmfit failed: {exc}"
        self.res = res
        return res, res.message

    def components(self, q_eval) -> np.ndarray:
        """Sum of the fitted profiles at ``q_eval``."""
        p = self.res.params
        return np.sum([self.profile_at(p, n, q_eval) for n in range(len(self.cands))], axis=0)

    def peak(self, n: int, chi_scale: float, scherrer_k: float) -> Peak:
        """Peak ``n`` of the fit, errors scaled by ``chi_scale``."""
        p = self.res.params
        pre = f"p{n}_"

        def val(name):
            return float(p[pre + name].value)

        def err(name):
            e = p[pre + name].stderr
            return float(e) * chi_scale if e is not None and np.isfinite(e) else float("nan")

        q0, q0e = val("center"), err("center")
        area, area_e = val("amplitude"), err("amplitude")
        if self.profile == "gaussian":
            c = 2.0 * math.sqrt(2.0 * math.log(2.0))
            fwhm, fwhm_e, frac = val("sigma") * c, err("sigma") * c, 0.0
        else:
            fwhm, fwhm_e = 2.0 * val("sigma"), 2.0 * err("sigma")
            frac = val("fraction") if self.profile == "pseudo_voigt" else 1.0
        height = float(self.profile_at(p, n, np.array([q0]))[0])
        m = np.abs(self.q - q0) <= max(fwhm / 2.0, 0.0)
        loc_sig = float(np.mean(self.s[m])) if m.any() else float(self.s[np.argmin(np.abs(self.q - q0))])
        d = 2.0 * math.pi / q0 if q0 > 0 else float("nan")
        return Peak(
            q_nm=q0,
            q_err=q0e,
            fwhm=fwhm,
            fwhm_err=fwhm_e,
            area=area,
            area_err=area_e,
            height=height,
            significance=area / area_e if area_e > 0 and np.isfinite(area_e) else float("nan"),
            height_snr=height / loc_sig,
            d_nm=d,
            d_err=d * q0e / q0 if q0 > 0 else float("nan"),
            coherence_length_nm=2.0 * math.pi * scherrer_k / fwhm if fwhm > 0 else float("nan"),
            fraction=frac,
        )

    def peaks(self, scherrer_k: float) -> tuple[float, list[Peak]]:
        """(chi2_r, peaks) with errors inflated by sqrt(chi2_r) when chi2_r > 1."""
        chi2 = float(self.res.redchi)
        chi_scale = math.sqrt(max(1.0, chi2))
        return chi2, [self.peak(n, chi_scale, scherrer_k) for n in range(len(self.cands))]


def _passes(p: Peak, cfg: PeakSearchSettings) -> bool:
    return bool(
        np.isfinite(p.significance)
        and p.significance >= cfg.min_significance
        and p.height_snr >= cfg.min_height_snr
        and p.area > 0
    )


def _free_fraction_fit(q, y, s, base, group, window, cfg: PeakSearchSettings):
    """The pseudo-Voigt refit with the fraction free, or None when it lacks uncertainties or
    no longer shows every peak at >= min_significance (the fixed-shape fit is then the report)."""
    fit = _Fit(q, y, s, base, group, window, cfg.profile)
    res, msg = fit.run()
    if res is None or not res.errorbars or not res.success:
        return None
    chi2, peaks = fit.peaks(cfg.scherrer_k)
    if not all(p.area > 0 and p.significance >= cfg.min_significance for p in peaks):
        return None
    return fit, msg, chi2, peaks


def _fit_group(q, y, s, base, group: list[Candidate], window, cfg: PeakSearchSettings):
    """Fit one window's candidates jointly; drop insignificant ones and refit until all pass.

    Returns (window fit or None when no candidate survives, messages, converged).
    """
    lo, hi = window
    messages: list[str] = []
    converged = True
    pv = cfg.profile == "pseudo_voigt"
    while group:
        fit = _Fit(q, y, s, base, group, window, cfg.profile)
        # significance is judged with the shape fixed (pseudo-Voigt fraction 0.5): a free
        # Lorentzian fraction trades area against poorly constrained tails and inflates sd(area)
        res, msg = fit.run(fix_fraction=0.5 if pv else None)
        if res is None or not res.errorbars:
            messages.append(f"window {lo:.3g}-{hi:.3g} 1/nm: {msg}; uncertainties could not be estimated")
            weakest = min(range(len(group)), key=lambda n: group[n].significance)
            group = [c for n, c in enumerate(group) if n != weakest]
            converged = bool(group)
            continue
        chi2, peaks = fit.peaks(cfg.scherrer_k)
        keep = [c for c, p in zip(group, peaks) if _passes(p, cfg)]
        if len(keep) < len(group):
            group = keep
            continue
        free = _free_fraction_fit(q, y, s, base, group, window, cfg) if pv else None
        if free is not None:
            fit, msg, chi2, peaks = free
        elif not res.success:
            converged = False
            messages.append(f"window {lo:.3g}-{hi:.3g} 1/nm: {msg}")
        wf = _WindowFit(
            peaks=tuple(peaks),
            chi2=chi2,
            in_fit=fit.in_fit,
            background=fit.background(fit.res.params),
            components=fit.components(q),
        )
        return wf, messages, converged
    return None, messages, converged


@dataclasses.dataclass(frozen=True)
class _Fits:
    """All window fits: the accepted ones, the fitted features, messages and convergence."""

    windows: tuple[_WindowFit, ...]
    features: tuple[_Feature, ...]
    components: np.ndarray
    messages: tuple[str, ...]
    converged: bool


def _fit_candidates(q, y, s, base, cands: Sequence[Candidate], cfg: PeakSearchSettings) -> _Fits:
    """Stage 1 fits the peak-like candidates (FWHM <= W/2) in windows of +-3 FWHM, where the
    local quadratic background absorbs any wider feature; stage 2 fits the wider
    (form-factor-like) candidates on the data minus the stage-1 peaks."""
    windows: list[_WindowFit] = []
    features: list[_Feature] = []
    messages: list[str] = []
    converged = True
    comps_total = np.zeros(q.size)
    is_wide = [c.fwhm > 0.5 * float(cfg.width_limit(c.q0)) for c in cands]
    for stage in (False, True):
        stage_cands = [c for c, w in zip(cands, is_wide) if w == stage]
        ydat = y - comps_total
        for lo, hi in _windows(stage_cands, q):
            group = [c for c in stage_cands if lo <= c.q0 <= hi]
            wf, msgs, ok = _fit_group(q, ydat, s, base, group, (lo, hi), cfg)
            messages.extend(msgs)
            converged &= ok
            if wf is not None and wf.peaks:
                comps_total += wf.components
                features.extend(_Feature(p, len(windows)) for p in wf.peaks)
                windows.append(wf)
    return _Fits(tuple(windows), tuple(features), comps_total, tuple(messages), converged)


# ----------------------------------------------------------------------
# step 4: broad features and classification
def _has_local_max(q, curve, q0, half):
    """True if the smooth ``curve`` has a local maximum within q0 +- half that stands
    above the curve half a FWHM (= half) away on both sides.

    Called with the Kratky representation I q^2 of the smooth background: broad
    features are only reported where that goes through a maximum on the
    feature's own scale (a correlation peak such as the precursor's at 0.2-0.3
    1/nm on top of a steep capillary power law), not for small wiggles.
    """
    j = np.flatnonzero((curve[1:-1] > curve[:-2]) & (curve[1:-1] >= curve[2:])) + 1
    for jj in j[np.abs(q[j] - q0) <= half]:
        qa, qb = q[jj] - half, q[jj] + half
        if qa < q[0] or qb > q[-1]:
            continue
        if curve[jj] > np.interp(qa, q, curve) and curve[jj] > np.interp(qb, q, curve):
            return True
    return False


def _broad_peak(c: Candidate, scherrer_k: float) -> Peak:
    """A broad feature reported with its matched-filter position, width and significance."""
    area = c.height * c.fwhm * _GAUSS_AREA
    nan = float("nan")
    return Peak(
        q_nm=c.q0,
        q_err=nan,
        fwhm=c.fwhm,
        fwhm_err=nan,
        area=area,
        area_err=area / c.significance,
        height=c.height,
        significance=c.significance,
        height_snr=nan,
        d_nm=2 * math.pi / c.q0,
        d_err=nan,
        coherence_length_nm=2 * math.pi * scherrer_k / c.fwhm,
        fraction=nan,
        kind="broad",
    )


def _matched_broad_features(q, resid, s, width_limit, kratky, cfg: PeakSearchSettings) -> list[Peak]:
    """Broad features: wide templates on the data minus the fitted peaks (so peak tails do not count)."""
    maps = _matched.scan(q, resid, s, width_limit, _WIDTH_FACTORS[_BROAD_ROWS], refine_above=cfg.min_significance)
    return [
        _broad_peak(c, cfg.scherrer_k)
        for c in _matched.pick_candidates(q, *maps, cfg.min_significance, cfg.max_candidates)
        if c.height > 0 and _has_local_max(q, kratky, c.q0, 0.5 * c.fwhm)
    ]


def _is_bragg(p: Peak, cfg: PeakSearchSettings) -> bool:
    """Width criterion (module docstring, step 5): FWHM <= W(q0); form-factor-like widths need 2x significance."""
    w = float(cfg.width_limit(p.q_nm))
    strong_enough = p.fwhm <= 0.5 * w or p.significance >= 2.0 * cfg.min_significance
    return p.fwhm <= w and strong_enough


def _classify(fitted: Sequence[_Feature], broad_mf: Sequence[Peak], q, kratky, cfg: PeakSearchSettings):
    """Split the fitted features into Bragg peaks and broad features; add the matched-filter-only
    broad features.  Broad features are reported only where the smooth curve (Kratky form I q^2)
    has a maximum on their scale and no Bragg peak lies within one FWHM (it would be
    inseparable from the peak tails).  Returns (bragg, broad), each sorted by q."""
    bragg: list[_Feature] = []
    broad: list[_Feature] = []
    for f in sorted(fitted, key=lambda f: f.peak.q_nm):
        if _is_bragg(f.peak, cfg):
            bragg.append(f)
        else:
            broad.append(_Feature(dataclasses.replace(f.peak, kind="broad"), f.window))

    def near_bragg(p: Peak) -> bool:
        return any(abs(p.q_nm - b.peak.q_nm) <= p.fwhm for b in bragg)

    for p in broad_mf:  # broad features seen only by the wide matched-filter templates
        if not any(abs(p.q_nm - b.peak.q_nm) < 0.5 * max(p.fwhm, b.peak.fwhm) for b in broad) and not near_bragg(p):
            broad.append(_Feature(p, None))
    broad = sorted(
        (f for f in broad if _has_local_max(q, kratky, f.peak.q_nm, 0.5 * f.peak.fwhm) and not near_bragg(f.peak)),
        key=lambda f: f.peak.q_nm,
    )
    return bragg, broad


# ----------------------------------------------------------------------
# step 5: model curves and indexing
def _model_curves(base, fits: _Fits, reported: Sequence[_Feature]) -> tuple[np.ndarray, np.ndarray]:
    """Background and model: the fitted corrections and profiles of the windows whose features are reported."""
    windows = sorted({f.window for f in reported if f.window is not None})
    background = base.copy()
    comps = np.zeros(base.size)
    in_windows = np.zeros(base.size, dtype=bool)
    for w in windows:
        wf = fits.windows[w]
        background[wf.in_fit] = wf.background
        comps += wf.components
        in_windows |= wf.in_fit
    return background, np.where(in_windows, background + comps, np.nan)


def _index(bragg: list[Peak], q, index: bool) -> tuple[IndexResult, list[Peak]]:
    if not index:
        return index_peaks([], None), bragg
    phase = index_peaks([p.q_nm for p in bragg], [p.q_err for p in bragg], q_range_nm=(float(q[0]), float(q[-1])))
    if phase.orders:
        bragg = [dataclasses.replace(p, order=o or "") for p, o in zip(bragg, phase.orders)]
    return phase, bragg


def _fit_summary(cands, fits: _Fits) -> tuple[str, float]:
    """(message, chi2_r) of the joint fits."""
    chi2s = [wf.chi2 for wf in fits.windows]
    chi2_r = float(np.mean(chi2s)) if chi2s else float("nan")
    if fits.messages:
        return "; ".join(fits.messages), chi2_r
    return ("fit succeeded" if cands else "no candidate above threshold; no fit needed"), chi2_r


def find_peaks(
    q: np.ndarray,
    intensity: np.ndarray,
    sigma: np.ndarray,
    *,
    q_range_nm: tuple[float | None, float | None] | None = None,
    profile: str = _DEFAULTS.profile,
    min_significance: float = _DEFAULTS.min_significance,
    min_height_snr: float = _DEFAULTS.min_height_snr,
    max_rel_fwhm: float = _DEFAULTS.max_rel_fwhm,
    max_fwhm_nm: float = _DEFAULTS.max_fwhm_nm,
    scherrer_k: float = _DEFAULTS.scherrer_k,
    baseline_stiffness: float = _DEFAULTS.baseline_stiffness,
    max_candidates: int = _DEFAULTS.max_candidates,
    drop_nonfinite: bool = False,
    index: bool = True,
    title: str = "",
    intensity_unit: str = "arbitrary",
) -> PeakResult:
    """Detect, fit and index Bragg peaks on a 1D curve with uncertainties.

    Parameters
    ----------
    q : array_like of shape (n,)
        Scattering vector (1/nm), strictly increasing, > 0.
    intensity, sigma : array_like of shape (n,)
        Intensity and its one-sigma uncertainty (> 0).
    q_range_nm : (q_min, q_max), optional
        Restrict the analysis (1/nm); either end may be None.
    profile, min_significance, min_height_snr, max_rel_fwhm, max_fwhm_nm, scherrer_k, baseline_stiffness, max_candidates
        See :class:`PeakSearchSettings` (declared there with defaults and checks).
    drop_nonfinite : bool
        Drop NaN/inf points (with a warning) instead of raising.
    index : bool
        Index the Bragg peaks with :func:`index_peaks`.
    title, intensity_unit : str
        Carried into the result.

    Returns
    -------
    PeakResult

    Raises
    ------
    ValueError
        Non-finite points (unless ``drop_nonfinite``), non-positive sigma or q,
        duplicated or unsorted q, fewer than 20 points (in the q range), bad settings.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.linspace(0.5, 5.0, 400)
    >>> clean = 1.0 + 8.0 * np.exp(-0.5 * ((q - 1.84) / 0.03) ** 2) + 2.0 * np.exp(-0.5 * ((q - 3.68) / 0.04) ** 2)
    >>> pk = find_peaks(q, clean + np.random.default_rng(0).normal(0, 0.02, q.size), np.full(q.size, 0.02))
    >>> [round(p.q_nm, 2) for p in pk.peaks], pk.phase.phase, round(pk.phase.lattice_nm, 2)
    ([1.84, 3.68], 'lamellar', 3.41)
    """
    cfg = PeakSearchSettings(
        profile=profile,
        min_significance=min_significance,
        min_height_snr=min_height_snr,
        max_rel_fwhm=max_rel_fwhm,
        max_fwhm_nm=max_fwhm_nm,
        scherrer_k=scherrer_k,
        baseline_stiffness=baseline_stiffness,
        max_candidates=max_candidates,
    )
    q, y, s = _validate(q, intensity, sigma, q_range_nm, drop_nonfinite)
    width_limit = cfg.width_limit(q)
    base, cands = _search_candidates(q, y, s, _baseline_model(q, y, s, cfg), width_limit, cfg)
    fits = _fit_candidates(q, y, s, base, cands, cfg)
    kratky = base * q**2  # smooth background in Kratky form, for _has_local_max
    broad_mf = _matched_broad_features(q, y - base - fits.components, s, width_limit, kratky, cfg)
    bragg, broad = _classify(fits.features, broad_mf, q, kratky, cfg)
    background, model = _model_curves(base, fits, [*bragg, *broad])
    message, chi2_r = _fit_summary(cands, fits)
    if not fits.converged:
        log.warning("find_peaks: peak fit did not converge (%s); peak values are unreliable", message)
    phase, bragg_peaks = _index([f.peak for f in bragg], q, index)
    return PeakResult(
        peaks=tuple(bragg_peaks),
        broad_features=tuple(f.peak for f in broad),
        phase=phase,
        q=_ro(q),
        intensity=_ro(y),
        sigma=_ro(s),
        background=_ro(background),
        model=_ro(model),
        converged=fits.converged,
        fit_message=str(message),
        chi2_r=chi2_r,
        settings=cfg.summary(q_range_nm),
        title=title,
        intensity_unit=intensity_unit,
    )


def find_peaks_curve(curve, **kwargs: Any) -> PeakResult:
    """:func:`find_peaks` on a :class:`saxs_mc.io.curves.Curve`."""
    kwargs.setdefault("title", curve.title)
    kwargs.setdefault("intensity_unit", curve.intensity_unit)
    return find_peaks(curve.q, curve.intensity, curve.sigma, **kwargs)


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.flags.writeable = False
    return a
