"""Settings of the Bragg-peak search, declared once (default, check, hint, doc).

:func:`saxs_mc.peaks.find_peaks` takes its defaults from :class:`PeakSearchSettings`;
``saxs-mc peaks`` and the pipeline's ``[peaks]`` table read defaults, checks and help
here.  A light module (no lmfit, no numpy at import): the CLI imports it at start-up.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from saxs_mc._settings import at_least, non_negative, one_of, positive, problem_items, setting

#: peak line shapes of the joint lmfit fit
PROFILES = ("pseudo_voigt", "gaussian", "lorentzian")
_POS = "a positive finite number"


@dataclasses.dataclass(frozen=True)
class PeakSearchSettings:
    """Settings of :func:`find_peaks`, declared once with their defaults and checks.

    Attributes
    ----------
    profile : {"pseudo_voigt", "gaussian", "lorentzian"}
        Peak shape of the lmfit joint fit.
    min_significance : float
        Minimum area / sd(area) of an accepted peak (default 5: a matched-filter
        scan tests ~10^3 positions x widths, so 5 sigma keeps the false-positive
        rate per curve below ~1e-3 for Gaussian noise).
    min_height_snr : float
        Minimum peak height over the mean data sigma within its FWHM.
    max_rel_fwhm, max_fwhm_nm : float
        Bragg width limit W(q0) = min(max_rel_fwhm q0, max_fwhm_nm) (1/nm).
    scherrer_k : float
        Scherrer constant K in L = 2 pi K / FWHM.
    baseline_stiffness : float
        Curvature penalty of the background smoother in the warped coordinate.
    max_candidates : int
        Cap on the number of jointly fitted components.

    Examples
    --------
    >>> PeakSearchSettings().min_significance
    5.0
    """

    profile: str = setting(
        "pseudo_voigt",
        kind=str,
        check=one_of(*PROFILES),
        doc="peak line shape of the joint lmfit fit (pseudo_voigt: Gaussian-Lorentzian mix)",
    )
    min_significance: float = setting(
        5.0, kind=float, check=positive, expect=_POS, doc="minimum area/sd(area) of an accepted peak"
    )
    min_height_snr: float = setting(
        1.0,
        kind=float,
        check=non_negative,
        expect="a finite number >= 0 (default 1)",
        doc="minimum peak height over the mean data sigma within its FWHM",
    )
    max_rel_fwhm: float = setting(
        0.15, kind=float, check=positive, expect=_POS, doc="Bragg width limit: FWHM <= this * q0"
    )
    max_fwhm_nm: float = setting(
        0.5, kind=float, check=positive, expect=_POS, doc="Bragg width limit: FWHM <= this (1/nm)"
    )
    scherrer_k: float = setting(
        0.9, kind=float, check=positive, expect=_POS, doc="Scherrer constant K in L = 2 pi K / FWHM"
    )
    baseline_stiffness: float = setting(
        1.0, kind=float, check=positive, expect=_POS, doc="curvature penalty of the background smoother"
    )
    max_candidates: int = setting(
        12, kind=int, check=at_least(1), expect="a positive int", doc="cap on the jointly fitted components"
    )

    def __post_init__(self) -> None:
        found = [
            f"{name} {msg}, got {value!r}" if msg.startswith("must") else f"{name}={value!r}; {msg}"
            for name, value, msg in problem_items(self)
        ]
        if found:
            raise ValueError("find_peaks: " + "; ".join(found))

    def width_limit(self, q: Any) -> Any:
        """W(q) = min(max_rel_fwhm q, max_fwhm_nm) (1/nm)."""
        from saxs_mc.peaks import _background

        return _background.bragg_width_limit(q, self.max_rel_fwhm, self.max_fwhm_nm)

    def summary(self, q_range_nm: Any = None) -> dict[str, Any]:
        """The ``settings`` block of ``<stem>_peaks.json``."""
        return {
            "q_range_nm": list(q_range_nm) if q_range_nm is not None else None,
            "profile": self.profile,
            "min_significance": self.min_significance,
            "min_height_snr": self.min_height_snr,
            "max_rel_fwhm": self.max_rel_fwhm,
            "max_fwhm_nm": self.max_fwhm_nm,
            "scherrer_k": self.scherrer_k,
            "baseline_stiffness": self.baseline_stiffness,
            "background": "penalized smoother of asinh(I/s) in u(q), du/dq = 1/W(q), candidate windows masked",
            "width_limit": "W(q0) = min(max_rel_fwhm*q0, max_fwhm_nm)",
        }
