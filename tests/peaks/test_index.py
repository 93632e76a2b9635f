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


# ---------------------------------------------------------------- every lattice, acceptance threshold
from saxs_mc.peaks.index import MAX_SCORE, PHASES  # noqa: E402


@pytest.mark.parametrize("phase", sorted(PHASES))
def test_every_phase_indexed_from_its_generated_reflections(phase):
    """The first five allowed reflections of each phase (from the reflection conditions), 0.1 % noise."""
    refl = PHASES[phase]["refl"][:5]
    base = 1.1
    q = base * np.array([r for r, _ in refl])
    q = q * (1 + np.random.default_rng(5).normal(0, 0.001, q.size))
    r = index_peaks(q, 0.002 * q, q_range_nm=(0.5, 20.0))
    assert r.phase == phase and r.indexed
    assert r.orders == tuple(lab for _, lab in refl)
    assert r.lattice_nm == pytest.approx(PHASES[phase]["lattice"](base), rel=3e-3)
    assert r.acceptance_score <= MAX_SCORE and r.hint is None


def test_true_sets_accepted_random_sets_unindexed():
    """Acceptance threshold (issue: "Im3m, score 25.7" for a badly integrated curve).

    True lamellar/hexagonal/cubic sets with 0.3 % position errors are accepted; random sets of
    3-6 positions (seeded) come out unindexed in >= 95 % of draws.  Before the threshold, 53 %
    of the random sets were given a phase.
    """
    rng = np.random.default_rng(2024)
    true_sets = [
        ("lamellar", [1, 4]),
        ("lamellar", [1, 4, 9]),
        ("hexagonal", [1, 3, 4, 7]),
        ("Im3m", [2, 4, 6, 8]),
        ("Pn3m", [2, 3, 4, 6]),
        ("Ia3d", [6, 8, 14, 16]),
        ("Fm3m", [3, 4, 8, 11]),
    ]
    for name, ns in true_sets:
        ok = 0
        for _ in range(40):
            q0 = rng.uniform(0.8, 2.0) * np.sqrt(ns)
            r = index_peaks(q0 + rng.normal(0, 0.003 * q0), 0.003 * q0, q_range_nm=(0.5, 7.0))
            ok += r.phase == name
        assert ok >= 38, (name, ns, ok)
    n_draws, indexed = 300, 0
    for _ in range(n_draws):
        q = np.sort(rng.uniform(0.8, 6.0, rng.integers(3, 7)))
        r = index_peaks(q, 0.003 * q, q_range_nm=(0.5, 7.0))
        indexed += r.indexed
        if r.phase == "unindexed":
            assert r.hint["name"] in PHASES and r.hint["acceptance_score"] > MAX_SCORE
            assert np.isnan(r.lattice_nm) and all(o is None for o in r.orders)
    assert indexed <= 0.05 * n_draws


def test_poor_match_is_unindexed_with_a_hint():
    # a 1:2 pair plus two stray peaks: the best candidate (hexagonal, two reflections missing) is only a hint
    r = index_peaks([1.0, 2.0, 2.63, 3.47], [0.002] * 4)
    assert r.phase == "unindexed" and not r.indexed
    assert r.hint is not None and r.hint["acceptance_score"] > r.max_score == MAX_SCORE
    text = r.report()
    assert "unindexed" in text and r.hint["name"] in text and "a hint only" in text
    assert r.summary()["hint"]["name"] == r.hint["name"]
    assert "unindexed (best guess" in repr(r)
    # a looser threshold accepts the same candidate
    loose = index_peaks([1.0, 2.0, 2.63, 3.47], [0.002] * 4, max_score=r.hint["acceptance_score"] + 0.01)
    assert loose.phase == r.hint["name"]
    with pytest.raises(ValueError, match="max_score must be a positive finite number"):
        index_peaks([1.0, 2.0], max_score=float("nan"))


def test_coexisting_phase_does_not_count_as_unexplained():
    d1, d2 = 3.41, 5.3
    q = np.sort(np.r_[2 * math.pi / d1 * np.arange(1, 4), 2 * math.pi / d2 * np.arange(1, 3)])
    r = index_peaks(q, [0.002] * q.size)
    assert r.indexed and r.score > MAX_SCORE >= r.acceptance_score  # two peaks explained by the secondary
    assert "coexisting" in r.report() and "+ lamellar" in r.short()
