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
from typing import Any

import lmfit
import numpy as np

from saxs_mc.peaks import _background, _matched
from saxs_mc.peaks.index import IndexResult, index_peaks

log = logging.getLogger(__name__)

PROFILES = ("pseudo_voigt", "gaussian", "lorentzian")
MIN_POINTS = 20
_WIDTH_FACTORS = np.geomspace(0.04, 6.0, 16)
_NARROW_MAX = 1.0  # templates up to W(q) are fitted as peak candidates; broader ones are broad features


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


@dataclasses.dataclass(frozen=True)
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
        lines = [f"Bragg peaks in {self.title or 'curve'} ({self.q.size} points, q {self.q[0]:.3g}-{self.q[-1]:.3g} 1/nm)"]
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
            lines.append(f"  broad maximum at q = {p.q_nm:.3f} 1/nm (FWHM {p.fwhm:.3f}, FWHM/q = {p.fwhm / p.q_nm:.2f}) - not a Bragg peak")
        lines.append("  " + self.phase.report().replace("\n", "\n  "))
        return "\n".join(lines)


# ----------------------------------------------------------------------
def _validate(q, intensity, sigma, q_range_nm, drop_nonfinite):
    arrs = []
    for name, a in (("q", q), ("intensity", intensity), ("sigma", sigma)):
        try:
            arr = np.asarray(a, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"find_peaks: {name} must be a numeric 1D array ({exc})") from None
        if arr.ndim != 1:
            raise ValueError(f"find_peaks: {name} must be 1D, got shape {arr.shape}")
        arrs.append(arr)
    q, i, s = arrs
    if not (q.size == i.size == s.size):
        raise ValueError(f"find_peaks: q, intensity, sigma must have equal length, got {q.size}, {i.size}, {s.size}")
    bad = ~(np.isfinite(q) & np.isfinite(i) & np.isfinite(s))
    if bad.any():
        if not drop_nonfinite:
            raise ValueError(
                f"find_peaks: {int(bad.sum())} of {q.size} points have NaN/inf in q, intensity or sigma "
                f"(first at q index {int(np.flatnonzero(bad)[0])}); clean the curve or pass drop_nonfinite=True "
                "to ignore those points"
            )
        log.warning("find_peaks: dropping %d non-finite points of %d", int(bad.sum()), q.size)
        q, i, s = q[~bad], i[~bad], s[~bad]
    if q.size and np.any(np.diff(q) <= 0):
        raise ValueError("find_peaks: q must be strictly increasing; sort the curve and merge duplicate q values")
    if q.size and q[0] <= 0:
        raise ValueError(f"find_peaks: q must be > 0 1/nm, got q[0] = {q[0]:.4g}; cut the range with q_range_nm")
    if np.any(s <= 0):
        raise ValueError(
            f"find_peaks: sigma must be > 0, {int(np.sum(s <= 0))} points have sigma <= 0; "
            "provide real uncertainties (significance needs them)"
        )
    if q_range_nm is not None:
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
                f"the data cover {q.min():.4g} - {q.max():.4g} 1/nm" if q.size else "find_peaks: empty curve"
            )
        q, i, s = q[m], i[m], s[m]
    if q.size < MIN_POINTS:
        raise ValueError(f"find_peaks: {q.size} points is too few for a background and peak fit (need >= {MIN_POINTS})")
    return q, i, s


def _make_component(profile: str, prefix: str):
    if profile == "pseudo_voigt":
        return lmfit.models.PseudoVoigtModel(prefix=prefix)
    if profile == "gaussian":
        return lmfit.models.GaussianModel(prefix=prefix)
    return lmfit.models.LorentzianModel(prefix=prefix)


def _component_kwargs(vals: dict[str, float], prefix: str) -> dict[str, float]:
    """The keyword arguments of one lmfit component (its ``prefix`` stripped) from all parameter values."""
    return {k[len(prefix):]: v for k, v in vals.items() if k.startswith(prefix)}


def _sigma_from_fwhm(profile: str, fwhm: float) -> float:
    return fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0))) if profile == "gaussian" else fwhm / 2.0


def _windows(cands, q):
    """Fit windows: +-3 FWHM around each candidate, clipped to the data, merged when overlapping."""
    spans = []
    for q0, f, _h, _s in cands:
        half = 3.0 * f
        spans.append([max(q0 - half, q[0]), min(q0 + half, q[-1])])
    spans.sort()
    merged: list[list[float]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged


class _Fit:
    """Joint lmfit model: per-window baseline correction + one profile per candidate."""

    def __init__(self, q, y, s, base, cands, windows, profile):
        self.q, self.y, self.s, self.base = q, y, s, base
        self.profile = profile
        self.cands = list(cands)
        self.windows = windows
        self.in_fit = np.zeros(q.size, dtype=bool)
        self.win_masks = []
        for lo, hi in windows:
            m = (q >= lo) & (q <= hi)
            self.win_masks.append(m)
            self.in_fit |= m

    def run(self, fix_fraction=None):
        q, y, s, base = self.q, self.y, self.s, self.base
        qf = q[self.in_fit]
        params = lmfit.Parameters()
        # background corrections: vectorized over windows in one lmfit model
        lnq = np.log(qf)
        wid = np.full(qf.size, -1)
        refs = []
        for k, m in enumerate(self.win_masks):
            wid[m[self.in_fit]] = k
            refs.append(float(np.log(np.sqrt(q[m][0] * q[m][-1]))))
        refs_arr = np.array(refs)
        halfw = np.array([max(0.5 * np.log(q[m][-1] / q[m][0]), 1e-6) for m in self.win_masks])
        base_f = base[self.in_fit]

        def bg_func(x, **cs):
            c0 = np.array([cs[f"c0_{k}"] for k in range(len(refs))])
            c1 = np.array([cs[f"c1_{k}"] for k in range(len(refs))])
            c2 = np.array([cs[f"c2_{k}"] for k in range(len(refs))])
            x = (lnq - refs_arr[wid]) / halfw[wid]
            return base_f * (1.0 + c0[wid] + c1[wid] * x + c2[wid] * x * x)

        for k in range(len(refs)):
            params.add(f"c0_{k}", value=0.0)
            params.add(f"c1_{k}", value=0.0)
            params.add(f"c2_{k}", value=0.0)
        comps = []
        for n, (q0, f, h, _snr) in enumerate(self.cands):
            pre = f"p{n}_"
            comp = _make_component(self.profile, pre)
            comps.append(comp)
            sig = _sigma_from_fwhm(self.profile, f)
            area = max(h, 1e-12 * abs(base_f).max()) * f * 1.0645
            params.add(f"{pre}amplitude", value=area)
            params.add(f"{pre}center", value=q0, min=q0 - f, max=q0 + f)
            params.add(f"{pre}sigma", value=sig, min=sig / 8.0, max=sig * 4.0)
            if self.profile == "pseudo_voigt":
                if fix_fraction is None:
                    params.add(f"{pre}fraction", value=0.5, min=0.0, max=1.0)
                else:
                    params.add(f"{pre}fraction", value=fix_fraction, vary=False)

        def residual(p):
            vals = p.valuesdict()
            model = bg_func(qf, **{k: v for k, v in vals.items() if k.startswith("c")})
            for n, comp in enumerate(comps):
                pre = f"p{n}_"
                model = model + comp.func(qf, **_component_kwargs(vals, pre))
            return (y[self.in_fit] - model) / s[self.in_fit]

        nparam = len(params)
        if self.in_fit.sum() <= nparam:
            return None, "too few points in the peak windows for the number of parameters"
        mini = lmfit.Minimizer(residual, params, scale_covar=False, nan_policy="raise")
        try:
            res = mini.minimize(method="leastsq", max_nfev=400 * (nparam + 1))
        except (ValueError, ArithmeticError) as exc:
            return None, f"lmfit failed: {exc}"
        self.res = res
        self.comps = comps
        self.bg_func = bg_func
        self.qf = qf
        return res, res.message

    def components(self, q_eval):
        out = []
        vals = self.res.params.valuesdict()
        for n, comp in enumerate(self.comps):
            pre = f"p{n}_"
            out.append(comp.func(q_eval, **_component_kwargs(vals, pre)))
        return out


def _peak_from_params(fit, n, profile, chi_scale, q, s, scherrer_k):
    res = fit.res
    p = res.params
    pre = f"p{n}_"

    def val(name):
        return float(p[pre + name].value)

    def err(name):
        e = p[pre + name].stderr
        return float(e) * chi_scale if e is not None and np.isfinite(e) else float("nan")

    q0, q0e = val("center"), err("center")
    area, area_e = val("amplitude"), err("amplitude")
    sig_e = err("sigma")
    if profile == "gaussian":
        c = 2.0 * math.sqrt(2.0 * math.log(2.0))
        fwhm, fwhm_e = val("sigma") * c, sig_e * c
        frac = 0.0
    else:
        fwhm, fwhm_e = 2.0 * val("sigma"), 2.0 * sig_e
        frac = val("fraction") if profile == "pseudo_voigt" else 1.0
    height = float(fit.comps[n].func(np.array([q0]), **_component_kwargs(p.valuesdict(), pre))[0])
    m = np.abs(q - q0) <= max(fwhm / 2.0, 0.0)
    loc_sig = float(np.mean(s[m])) if m.any() else float(s[np.argmin(np.abs(q - q0))])
    signif = area / area_e if area_e > 0 and np.isfinite(area_e) else float("nan")
    d = 2.0 * math.pi / q0 if q0 > 0 else float("nan")
    return Peak(
        q_nm=q0,
        q_err=q0e,
        fwhm=fwhm,
        fwhm_err=fwhm_e,
        area=area,
        area_err=area_e,
        height=height,
        significance=signif,
        height_snr=height / loc_sig,
        d_nm=d,
        d_err=d * q0e / q0 if q0 > 0 else float("nan"),
        coherence_length_nm=2.0 * math.pi * scherrer_k / fwhm if fwhm > 0 else float("nan"),
        fraction=frac,
    )


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


def _clean_scan(q, resid, s, width_limit, rows, threshold, max_candidates):
    """Iterative (CLEAN-like) candidate search: take the most significant narrow
    candidate, blank its +-2.5 FWHM region, rescan; stop when nothing exceeds the
    threshold.  Blanking keeps the wings of a strong peak from producing spurious
    neighbouring candidates."""
    mask = np.ones(q.size)
    wide: list[tuple[float, float]] = []
    cands: list = []
    for _ in range(max_candidates):
        maps = _matched.scan(q, resid, s, width_limit, _WIDTH_FACTORS, weight_mask=mask, see_through=wide)
        got = _matched.pick_candidates(q, *maps, threshold, 1, rows=rows)
        if not got:
            break
        c = got[0]
        cands.append(c)
        j = min(int(np.searchsorted(q, c[0])), q.size - 1)
        if c[1] > 0.5 * width_limit[j]:
            wide.append((c[0], c[1]))  # form-factor-like width: narrower templates may look inside
        else:
            mask[np.abs(q - c[0]) <= 2.5 * c[1]] = 0.0
        if mask.sum() < 10:
            break
    return cands


def _fit_group(q, y, s, base, group, lo, hi, profile, min_significance, min_height_snr, scherrer_k):
    """Fit one window's candidates jointly; drop insignificant ones and refit until all pass."""
    out = {"peaks": [], "messages": [], "converged": True}
    for _round in range(len(group) + 1):
        if not group:
            break
        fit = _Fit(q, y, s, base, group, [[lo, hi]], profile)
        # significance is judged with the shape fixed (pseudo-Voigt fraction 0.5): a free
        # Lorentzian fraction trades area against poorly constrained tails and inflates sd(area)
        res, msg = fit.run(fix_fraction=0.5 if profile == "pseudo_voigt" else None)
        if res is None or not res.errorbars:
            out["messages"].append(f"window {lo:.3g}-{hi:.3g} 1/nm: {msg}; uncertainties could not be estimated")
            weakest = min(range(len(group)), key=lambda n: group[n][3])
            group = [c for n, c in enumerate(group) if n != weakest]
            if not group:
                out["converged"] = False
            continue
        chi2 = float(res.redchi)
        chi_scale = math.sqrt(max(1.0, chi2))
        peaks = [_peak_from_params(fit, n, profile, chi_scale, q, s, scherrer_k) for n in range(len(group))]
        keep = [
            n for n, p in enumerate(peaks)
            if np.isfinite(p.significance) and p.significance >= min_significance
            and p.height_snr >= min_height_snr and p.area > 0
        ]
        if len(keep) < len(group):
            group = [group[n] for n in keep]
            continue
        if profile == "pseudo_voigt":  # report the free-fraction fit when it has uncertainties
            fit_free = _Fit(q, y, s, base, group, [[lo, hi]], profile)
            res_free, msg_free = fit_free.run()
            if res_free is not None and res_free.errorbars and res_free.success:
                chi2 = float(res_free.redchi)
                cs = math.sqrt(max(1.0, chi2))
                free = [_peak_from_params(fit_free, n, profile, cs, q, s, scherrer_k) for n in range(len(group))]
                # keep the free fit only if it still shows every peak significantly (else the
                # fraction is unconstrained and the fixed-shape values are the better report)
                if all(f.area > 0 and f.significance >= min_significance for f in free):
                    peaks = free
                    fit, res, msg = fit_free, res_free, msg_free
        if not res.success:
            out["converged"] = False
            out["messages"].append(f"window {lo:.3g}-{hi:.3g} 1/nm: {msg}")
        vals = {k: v for k, v in res.params.valuesdict().items() if k.startswith("c")}
        out.update(peaks=peaks, chi2=chi2, in_fit=fit.in_fit, background=fit.bg_func(fit.qf, **vals),
                   components=np.sum(fit.components(q), axis=0))
        break
    return out


def find_peaks(
    q: np.ndarray,
    intensity: np.ndarray,
    sigma: np.ndarray,
    *,
    q_range_nm: tuple[float | None, float | None] | None = None,
    profile: str = "pseudo_voigt",
    min_significance: float = 5.0,
    min_height_snr: float = 1.0,
    max_rel_fwhm: float = 0.15,
    max_fwhm_nm: float = 0.5,
    scherrer_k: float = 0.9,
    baseline_stiffness: float = 1.0,
    max_candidates: int = 12,
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
    profile : {"pseudo_voigt", "gaussian", "lorentzian"}
        Peak shape of the lmfit joint fit.
    min_significance : float
        Minimum area / sd(area) of an accepted peak (default 5: a matched-filter
        scan tests ~10^3 positions x widths, so 5 sigma keeps the false-positive
        rate per curve below ~1e-3 for Gaussian noise).
    min_height_snr : float
        Minimum peak height over the mean data sigma within its FWHM.
    max_rel_fwhm, max_fwhm_nm : float
        Bragg width limit W(q0) = min(max_rel_fwhm q0, max_fwhm_nm); wider
        significant features are reported as broad features (see module doc).
    scherrer_k : float
        Scherrer constant K in L = 2 pi K / FWHM (FWHM in 1/nm).
    baseline_stiffness : float
        Curvature penalty of the background smoother in the warped coordinate.
    max_candidates : int
        Cap on the number of jointly fitted components.
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
        unsorted q, fewer than 20 points (in the q range), bad settings.
    """
    if profile not in PROFILES:
        raise ValueError(f"find_peaks: profile={profile!r}; use one of {PROFILES}")
    for name, v in (("min_significance", min_significance), ("max_rel_fwhm", max_rel_fwhm),
                    ("max_fwhm_nm", max_fwhm_nm), ("scherrer_k", scherrer_k), ("baseline_stiffness", baseline_stiffness)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ValueError(f"find_peaks: {name} must be a positive finite number, got {v!r}")
    if not isinstance(max_candidates, int) or max_candidates < 1:
        raise ValueError(f"find_peaks: max_candidates must be a positive int, got {max_candidates!r}")
    q, y, s = _validate(q, intensity, sigma, q_range_nm, drop_nonfinite)
    settings = {
        "q_range_nm": list(q_range_nm) if q_range_nm is not None else None,
        "profile": profile,
        "min_significance": min_significance,
        "min_height_snr": min_height_snr,
        "max_rel_fwhm": max_rel_fwhm,
        "max_fwhm_nm": max_fwhm_nm,
        "scherrer_k": scherrer_k,
        "baseline_stiffness": baseline_stiffness,
        "background": "penalized smoother of asinh(I/s) in u(q), du/dq = 1/W(q), candidate windows masked",
        "width_limit": "W(q0) = min(max_rel_fwhm*q0, max_fwhm_nm)",
    }

    def wl(qq):
        return _background.bragg_width_limit(qq, max_rel_fwhm, max_fwhm_nm)

    width_limit = wl(q)
    u = _background.warped_coordinate(q, max_rel_fwhm, max_fwhm_nm)
    scale = float(np.median(s))
    ty, tdy = _background.glog(y, s, scale)

    def baseline(exclude=None):
        z, _ = _background.robust_baseline(u, ty, tdy, stiffness=baseline_stiffness, exclude=exclude, clip=None)
        return np.sinh(z) * scale

    threshold = 0.8 * min_significance
    narrow_rows = np.flatnonzero(_WIDTH_FACTORS <= _NARROW_MAX)
    broad_rows = np.flatnonzero(_WIDTH_FACTORS > _NARROW_MAX)
    base = baseline()
    cands: list = []
    excl = np.zeros(q.size, dtype=bool)
    for _pass in range(3):
        cands = _clean_scan(q, y - base, s, width_limit, narrow_rows, threshold, max_candidates)
        if not cands or _pass == 2:
            break
        new = excl.copy()
        for q0, f, _h, _ in cands:
            new |= np.abs(q - q0) <= 2.5 * f
        if np.array_equal(new, excl) or new.sum() > 0.5 * q.size:
            break
        excl = new
        base = baseline(excl)
    log.debug("find_peaks: %d candidates %s", len(cands), [(round(c[0], 4), round(c[1], 4), round(c[3], 1)) for c in cands])

    converged, message, chi2_r = True, "no candidate above threshold; no fit needed", float("nan")
    comps_total = np.zeros(q.size)
    accepted: list[Peak] = []
    messages: list[str] = []
    chi2s: list[float] = []
    # Stage 1 fits the peak-like candidates (FWHM <= W/2) in windows of +-3 FWHM, where the
    # local quadratic background absorbs any wider feature; stage 2 fits the wider
    # (form-factor-like) candidates on the data minus the stage-1 peaks.
    is_wide = [c[1] > 0.5 * float(wl(c[0])) for c in cands]
    records: list[dict[str, Any]] = []
    for stage in (0, 1):
        stage_cands = [c for c, w in zip(cands, is_wide) if w == bool(stage)]
        ydat = y - comps_total
        for lo, hi in _windows(stage_cands, q):
            group = [c for c in stage_cands if lo <= c[0] <= hi]
            out = _fit_group(q, ydat, s, base, group, lo, hi, profile, min_significance, min_height_snr, scherrer_k)
            messages.extend(out["messages"])
            converged &= out["converged"]
            if out["peaks"]:
                comps_total += out["components"]
                accepted.extend(out["peaks"])
                chi2s.append(out["chi2"])
                records.append(out)
    kratky = base * q**2  # smooth background in Kratky form, for _has_local_max
    # broad features: wide templates on the data minus the fitted peaks (so peak tails do not count)
    broad_maps = _matched.scan(q, y - base - comps_total, s, width_limit, _WIDTH_FACTORS[broad_rows])
    broad_mf = [
        Peak(q_nm=c[0], q_err=float("nan"), fwhm=c[1], fwhm_err=float("nan"), area=c[2] * c[1] * 1.0645,
             area_err=c[2] * c[1] * 1.0645 / c[3], height=c[2], significance=c[3], height_snr=float("nan"),
             d_nm=2 * math.pi / c[0], d_err=float("nan"), coherence_length_nm=2 * math.pi * scherrer_k / c[1],
             fraction=float("nan"), kind="broad")
        for c in _matched.pick_candidates(q, *broad_maps, min_significance, max_candidates)
        if c[2] > 0 and _has_local_max(q, kratky, c[0], 0.5 * c[1])
    ]
    if chi2s:
        chi2_r = float(np.mean(chi2s))
    if messages:
        message = "; ".join(messages)
    elif cands:
        message = "fit succeeded"

    if not converged:
        log.warning("find_peaks: peak fit did not converge (%s); peak values are unreliable", message)
    bragg, broad = [], []
    for p in sorted(accepted, key=lambda p: p.q_nm):
        form_factor_like = p.fwhm > 0.5 * float(wl(p.q_nm))
        strong_enough = not form_factor_like or p.significance >= 2.0 * min_significance
        if p.fwhm <= float(wl(p.q_nm)) and strong_enough:
            bragg.append(p)
        else:
            broad.append(dataclasses.replace(p, kind="broad"))
    for p in broad_mf:  # broad features seen only by the wide matched-filter templates
        if not any(abs(p.q_nm - b.q_nm) < 0.5 * max(p.fwhm, b.fwhm) for b in broad) and not any(
            abs(p.q_nm - b.q_nm) <= p.fwhm for b in bragg  # inseparable from the peak tails
        ):
            broad.append(p)
    # report a broad maximum only where the smooth curve (Kratky form I q^2) has a maximum on its
    # scale and no Bragg peak lies within one FWHM (it would be inseparable from the peak tails)
    broad = sorted(
        (p for p in broad if _has_local_max(q, kratky, p.q_nm, 0.5 * p.fwhm)
         and not any(abs(p.q_nm - b.q_nm) <= p.fwhm for b in bragg)),
        key=lambda p: p.q_nm,
    )
    # background and model: only windows whose fitted components are reported
    reported = {id(p) for p in accepted if any(p.q_nm == r.q_nm and p.fwhm == r.fwhm for r in [*bragg, *broad])}
    background = base.copy()
    comps_total = np.zeros(q.size)
    in_windows = np.zeros(q.size, dtype=bool)
    for rec in records:
        if any(id(p) in reported for p in rec["peaks"]):
            background[rec["in_fit"]] = rec["background"]
            comps_total += rec["components"]
            in_windows |= rec["in_fit"]
    model = np.where(in_windows, background + comps_total, np.nan)
    if index:
        phase = index_peaks([p.q_nm for p in bragg], [p.q_err for p in bragg], q_range_nm=(float(q[0]), float(q[-1])))
        if phase.orders:
            bragg = [dataclasses.replace(p, order=o or "") for p, o in zip(bragg, phase.orders)]
    else:
        phase = index_peaks([], None)
    return PeakResult(
        peaks=tuple(bragg),
        broad_features=tuple(broad),
        phase=phase,
        q=_ro(q),
        intensity=_ro(y),
        sigma=_ro(s),
        background=_ro(background),
        model=_ro(model),
        converged=converged,
        fit_message=str(message),
        chi2_r=chi2_r,
        settings=settings,
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
