"""The matched-filter scan: numba kernel against the NumPy reference; coarse + refined maps against exact ones."""

from __future__ import annotations

import numpy as np
import pytest

from saxs_mc.peaks import _matched
from tests.peaks.reference import template_fits
from tests.peaks.simulated import noisy, precursor_background, pseudo_voigt


def _data(n, seed=0):
    q = np.linspace(0.3, 5.0, n)
    i, s = noisy(q, precursor_background(q) + pseudo_voigt(q, 1.84, 0.06, 0.4), seed=seed)
    return q, i - precursor_background(q), s


@pytest.mark.parametrize("factor", [0.1, 0.4, 1.0, 3.0])
def test_kernel_matches_numpy_reference(factor):
    q, r, s = _data(600, seed=1)
    w = 1.0 / s**2
    w[200:230] = 0.0  # a blanked region
    fw = factor * np.minimum(0.15 * q, 0.5)
    centres = np.arange(0, q.size, 7)
    snr, amp = _matched._evaluate(q, r, w, fw, centres, 4.0)
    snr_ref, amp_ref = template_fits(q, r, w, fw, centres)
    np.testing.assert_allclose(snr, snr_ref, rtol=1e-9, atol=1e-9 * np.abs(snr_ref).max())
    np.testing.assert_allclose(amp, amp_ref, rtol=1e-9, atol=1e-9 * np.abs(amp_ref).max())


def test_coarse_scan_finds_the_exact_maximum_on_a_fine_grid():
    """With ~40 points per template FWHM the coarse grid skips centres; bisection from the coarse maximum
    lands on the exact maximum within the map's point-to-point noise (a point or two, < 0.1 % in significance)."""
    q, r, s = _data(4000, seed=2)
    wl = np.minimum(0.15 * q, 0.5)
    factors = np.array([0.2, 0.3])
    mf = _matched.MatchedFilter(q, r, s, wl, factors, refine_above=4.0)
    assert mf.evaluated.sum() < 0.5 * mf.evaluated.size  # the coarse path is really taken
    for k, f in enumerate(factors):
        fw = f * wl
        near = np.flatnonzero(np.abs(q - 1.84) < 0.05)
        exact, _ = template_fits(q, r, 1.0 / s**2, fw, near)
        j = near[np.argmax(exact)]
        found = int(np.argmax(mf.snr[k]))
        assert abs(found - j) <= 2
        assert mf.evaluated[k, found]  # the reported maximum is an exact fit, not interpolated
        assert exact.max() * (1 - 1e-3) <= mf.snr[k, found] <= exact.max() * (1 + 1e-12)
    (c,) = _matched.pick_candidates(q, *mf.maps, 4.0, 1)
    assert abs(c.q0 - 1.84) < 0.005 and isinstance(c, _matched.Candidate)


def test_incremental_blanking_equals_a_fresh_scan():
    q, r, s = _data(1500, seed=3)
    wl = np.minimum(0.15 * q, 0.5)
    factors = np.array([0.1, 0.3, 0.8])
    mask = np.ones(q.size)
    mf = _matched.MatchedFilter(q, r, s, wl, factors, refine_above=4.0, weight_mask=mask)
    mask[np.abs(q - 1.84) <= 0.15] = 0.0
    wide = [(3.0, 0.4)]
    mf.blank(mask, wide)
    fresh = _matched.MatchedFilter(q, r, s, wl, factors, refine_above=4.0, weight_mask=mask, see_through=wide)
    both = mf.evaluated & fresh.evaluated
    np.testing.assert_allclose(mf.exact_snr[both], fresh.exact_snr[both], rtol=1e-12, atol=1e-12)
    assert np.all(mf.snr[:, np.abs(q - 1.84) <= 0.15] == 0.0)  # blanked centres are never candidates
    assert np.max(mf.snr) == pytest.approx(np.max(fresh.snr), rel=1e-9)
