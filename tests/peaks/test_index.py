"""Indexing of peak sets generated from lattices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saxs_mc.peaks import index_peaks


def _cubic(a_nm, ns):
    return 2 * math.pi / a_nm * np.sqrt(ns)


def test_lamellar_reference_peaks():
    r = index_peaks([1.84, 3.69], [0.002, 0.003])
    assert r.phase == "lamellar"
    assert abs(r.lattice_nm - 3.41) < 0.02
    assert r.orders == ("(001)", "(002)")


def test_hexagonal():
    a = 4.2
    q = 4 * math.pi / (math.sqrt(3) * a) * np.sqrt([1, 3, 4, 7])
    r = index_peaks(q * (1 + np.array([0.001, -0.001, 0.0005, 0.0])), [0.002] * 4)
    assert r.phase == "hexagonal"
    assert r.lattice_nm == pytest.approx(a, rel=3e-3)
    assert r.orders == ("(10)", "(11)", "(20)", "(21)")


@pytest.mark.parametrize(
    "phase,ns",
    [("Im3m", [2, 4, 6, 8]), ("Ia3d", [6, 8, 14, 16, 20]), ("Pm3n", [2, 4, 5, 6, 8]), ("Pn3m", [2, 3, 4, 6, 8, 9])],
)
def test_cubic(phase, ns):
    a = 9.0
    r = index_peaks(_cubic(a, ns), [0.001] * len(ns))
    assert r.phase == phase
    assert r.lattice_nm == pytest.approx(a, rel=2e-3)
    assert r.n_unexplained == 0 and r.n_missing == 0


def test_harmonics_grouped_and_coexisting_phase():
    d1, d2 = 3.41, 5.3
    q = np.sort(np.r_[2 * math.pi / d1 * np.arange(1, 4), 2 * math.pi / d2 * np.arange(1, 3)])
    r = index_peaks(q, [0.002] * q.size)
    assert r.phase == "lamellar" and abs(r.lattice_nm - d1) < 0.02  # three harmonics in one phase
    assert len(r.secondary) == 1 and r.secondary[0].phase == "lamellar"
    assert abs(r.secondary[0].lattice_nm - d2) < 0.03


def test_single_and_unindexable():
    r = index_peaks([1.84], [0.002])
    assert r.phase == "unindexed single peak" and r.lattice_nm == pytest.approx(2 * math.pi / 1.84)
    assert index_peaks([1.0, 1.5], [0.002, 0.002]).phase == "none"  # 2:3 would need a missing first order
    assert index_peaks([1.0, 1.17], [0.001, 0.001]).phase == "none"
    assert index_peaks([]).phase == "none"


def test_bad_input():
    with pytest.raises(ValueError, match="finite and > 0"):
        index_peaks([1.0, -2.0])
    with pytest.raises(ValueError, match="unknown phase"):
        index_peaks([1.0, 2.0], phases=("Xyz",))
