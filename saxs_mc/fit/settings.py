"""Settings of the Monte Carlo sphere fit, declared once (default, check, hint, doc).

:func:`saxs_mc.fit.fit_arrays` / :func:`~saxs_mc.fit.fit_curve` take these as
keyword arguments (their signature defaults equal the declarations, checked by
``tests/test_settings.py``); ``saxs-mc fit`` and the pipeline's ``[fit]``
table read their defaults, checks and help here.  A light module (no numba):
the CLI imports it at start-up.
"""

from __future__ import annotations

import dataclasses

from saxs_mc._settings import at_least, non_negative, one_of, pair, positive, setting

#: accepted values of ``background`` (None: "nonnegative", or "flat" with a power law)
BACKGROUND_MODES = ("flat", "nonnegative", "none")
#: histogram bin spacings and radius samplings
SCALES = ("log", "linear")


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """The scalar settings of one Monte Carlo fit (see :mod:`saxs_mc.fit.mc` for their meaning).

    Examples
    --------
    >>> from saxs_mc._settings import declarations
    >>> declarations(FitSettings)["n_bins"].default
    40
    """

    q_range_nm: tuple[float, float] | None = setting(
        None, kind=tuple, check=pair, hint="give [qmin, qmax] in 1/nm", doc="fit only these q (1/nm); none: whole curve"
    )
    r_range_nm: tuple[float, float] | None = setting(
        None,
        kind=tuple,
        check=pair,
        hint="give [rmin, rmax] in nm",
        doc="radius range (nm) the Monte Carlo draws from; none: pi/q_max .. pi/q_min",
    )
    contributions: int = setting(300, kind=int, check=at_least(2), doc="contributions per repetition")
    repetitions: int = setting(10, kind=int, check=at_least(1), doc="independent repetitions")
    seed: int | None = setting(
        None, kind=int, check=non_negative, doc="random seed; none: OS entropy, recorded in the result"
    )
    contrast: float | None = setting(
        None,
        kind=float,
        check=positive,
        hint="e.g. 34.65 for CdSe in octadecene",
        doc="SLD difference in 1e-6 A^-2 (e.g. 34.65 for CdSe/octadecene); with I in 1/cm gives absolute volume "
        "fractions; none: volume fractions are relative and sum to 1",
    )
    n_bins: int = setting(40, kind=int, check=at_least(1), doc="histogram bins over the radius range")
    bin_scale: str = setting("log", kind=str, check=one_of(*SCALES), doc="histogram bin spacing")
    radius_sampling: str = setting("log", kind=str, check=one_of(*SCALES), doc="radius sampling (log: log-uniform)")
    background: str | None = setting(
        None,
        kind=str,
        check=one_of(*BACKGROUND_MODES),
        doc="flat background b: nonnegative (b >= 0), flat (free b) or none (b = 0); "
        "none given: nonnegative, or flat with a power law",
    )
    background_bounds: tuple[float, float] | None = setting(
        None, kind=tuple, doc="bounds (b_min, b_max) on b in the intensity unit"
    )
    power_law_exponent: float | None = setting(
        None, kind=float, check=positive, doc="also fit c q^-N (c >= 0), e.g. 4 for Porod scattering"
    )
    max_iterations: int = setting(200_000, kind=int, check=at_least(1), doc="iteration cap per repetition")
    chi2_k: float | None = setting(
        None,
        kind=float,
        check=non_negative,
        doc="stop once chi2_r <= 1 + K sqrt(2/dof) (McSAS-style); none: run every repetition to its chi2 plateau",
    )
