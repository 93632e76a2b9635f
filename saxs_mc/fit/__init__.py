"""saxs_mc.fit: McSAS-style Monte Carlo sphere size distributions (numba kernels).

Public API::

    from saxs_mc.fit import fit_arrays, fit_curve, FitResult, write_fit_outputs
    res = fit_curve(read_curve("sample.h5"), contributions=300, repetitions=10, seed=1,
                    contrast=34.65, ranges_nm=[(0.5, 1.5)])
    res = fit_arrays(q_nm, intensity, sigma, contributions=300, repetitions=10, seed=1,
                     contrast=34.65, intensity_unit="1/cm", ranges_nm=[(0.5, 1.5)])
    print(res.report())
    write_fit_outputs("out", "sample", res, source="sample.h5")

CLI: ``saxs-mc fit DATA -o OUTDIR [--q-range QMIN QMAX] [--r-range RMIN RMAX]
[--contributions N] [--repetitions N] [--seed S] [--contrast DRHO] [--bins N]
[--bin-scale log|linear] [--stats-range RLO RHI ...] [--power-law N]
[--background nonnegative|flat|none] [--background-bounds BMIN BMAX] [--chi2-k K]
[--intensity-unit 1/cm|arbitrary] [--no-plot]`` (progress bar only when stderr
is a terminal).

Defaults that matter for honest answers (details in :mod:`saxs_mc.fit.mc`):
every repetition runs to its chi2 plateau (``chi2_k=None``; a McSAS-style early
stop at a chi2 target leaves unconstrained small-radius contributions from the
random start), and the flat background is bounded b >= 0
(``background="nonnegative"``; a free b trades against small-sphere volume).
Per-range statistics come from the resolved contributions (``FitResult.ranges``),
from those in bins above the minimum visibility (``FitResult.ranges_visible``)
and from all of them (``FitResult.ranges_all``).  Volume at radii the data cannot
tell from a flat background (below :func:`resolvable_radius`, criterion in
:mod:`saxs_mc.fit.resolution`) is reported apart
(``FitResult.unresolved_volume_fraction``) and left out of the total volume
fraction and the mean radius.  After a blank subtraction,
:func:`blank_background_bounds` bounds the residual background
(``fit_arrays(..., background_bounds=...)``).

``saxs_mc.fit`` is this subpackage and nothing else: the functions are
:func:`fit_curve` (a :class:`~saxs_mc.io.curves.Curve`) and :func:`fit_arrays`
(q, I, sigma arrays).  Names load lazily from ``__init__.pyi``
(``lazy_loader.attach_stub``), so ``saxs-mc --help`` does not import numba.

Modules: :mod:`~saxs_mc.fit.mc` (method, convergence, validation),
:mod:`~saxs_mc.fit._kernels` (numba), :mod:`~saxs_mc.fit.statistics` (histograms,
per-range moments, minimum visibility), :mod:`~saxs_mc.fit.result`
(:class:`FitResult`), :mod:`~saxs_mc.fit.outputs` (files and the JSON schema).

Units: q in 1/nm, radii in nm, contrast in 1e-6 A^-2, absolute intensities in
1/cm.  Each contribution k carries the same volume fraction phi_k; the model is
``s * sum_k V_k[nm^3] P(q, r_k) + b``, so for I in 1/cm and a contrast drho
(1e-6 A^-2 = 1e10 cm^-2) ``phi_k = s / (drho[cm^-2]^2 * 1e-21)`` (1 nm^3 =
1e-21 cm^3), consistent with :func:`saxs_mc.models.sphere.sphere_dsigma`;
otherwise volume fractions are relative (phi_k = 1 / n, sum 1).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
