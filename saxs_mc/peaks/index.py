"""Indexing of a set of Bragg peak positions to a mesophase lattice.

Phases and their allowed reflections (q_hkl / q_base = sqrt(N)):

=========== ====================================== =========================================
phase       q ratios                               lattice parameter
=========== ====================================== =========================================
lamellar    1 : 2 : 3 : 4 ...                      d = 2 pi / q_001
hexagonal   1 : sqrt3 : 2 : sqrt7 : 3 ... (p6mm)   a = 4 pi / (sqrt3 q_10)
Im3m        sqrt2 : sqrt4 : sqrt6 : sqrt8 ...      a = 2 pi sqrt(N) / q_hkl (all cubic)
Pn3m        sqrt2 : sqrt3 : sqrt4 : sqrt6 : sqrt8 ...
Ia3d        sqrt6 : sqrt8 : sqrt14 : sqrt16 : sqrt20 ...
Pm3n        sqrt2 : sqrt4 : sqrt5 : sqrt6 : sqrt8 ...
Fm3m        sqrt3 : sqrt4 : sqrt8 : sqrt11 : sqrt12 ...
Fd3m        sqrt3 : sqrt8 : sqrt11 : sqrt12 : sqrt16 ...
=========== ====================================== =========================================

Cubic reflections are generated from the space-group reflection conditions,
not typed in.  For every phase and every choice of which of the first four
reflections an observed peak is, the lattice is refined by weighted
least squares on the matched peaks (iterated assignment), and scored:

    score = chi2 / max(n_matched - 1, 1) + 5 n_unexplained + 2 n_missing
            + 1 n_missing_below_first + complexity

chi2 uses q errors e_eff = sqrt(q_err^2 + (sys_rel q)^2) (sys_rel = 0.003 by
default: q calibration and peak-shape systematics); a peak is matched when
|q - q_pred| <= 3 e_eff; missing reflections are allowed reflections inside
the measured q range and below the highest matched one that were not
observed; complexity (0 for lamellar, 0.05 hexagonal, 0.1-0.15 cubic) only
breaks ties in favour of the simpler lattice.  A phase is a candidate when it
explains at least two peaks with n_missing <= max(1, n_matched - 1) and no
reflection missing below the first observed one (at most one when three or
more peaks are matched).
Peaks left unexplained by the best phase are indexed again (a coexisting
phase, ``secondary``); harmonics of one lattice therefore always end up in
one phase.

**Acceptance.**  The best candidate is accepted only when its acceptance score
(its score without the penalty for peaks that accepted coexisting phases
explain) is at most ``max_score`` (default :data:`MAX_SCORE` = 4, rationale
there).  Otherwise the result is ``"unindexed"``, and the best candidate is
kept only as a ``hint`` (a badly integrated curve once got "Im3m, score 25.7").
A single peak is reported as ``"unindexed single peak"`` (it does not determine
a lattice; reporting it as lamellar would be a guess), and no candidate at all
gives ``"none"``.  Two peaks are weak evidence whatever their score: a random
pair matches some allowed ratio within errors in ~18 % of draws.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np

from saxs_mc.io.atomic import jsonable

_HMAX = 7


def _zero_pairs(h: int, k: int, l: int) -> list[tuple[int, ...]]:  # noqa: E741
    """The other two indices (sorted) for every zero index of (hkl): the 0kl reflections."""
    idx = sorted((h, k, l))
    return [tuple(x for j, x in enumerate(idx) if j != i) for i in range(3) if idx[i] == 0]


def _hhl_pairs(h: int, k: int, l: int) -> list[tuple[int, int]]:  # noqa: E741
    """(repeated index, other index) for every way of reading (hkl) as hhl."""
    a, b, c = sorted((h, k, l))
    out = []
    if a == b:
        out.append((a, c))
    if b == c:
        out.append((b, a))
    if a == c:
        out.append((a, b))
    return out


def _all_even_or_odd(h: int, k: int, l: int) -> bool:  # noqa: E741
    return len({h % 2, k % 2, l % 2}) == 1


def _ia3d(h: int, k: int, l: int) -> bool:  # noqa: E741
    a, b, c = sorted((h, k, l))
    return not (
        (h + k + l) % 2
        or any(p % 2 or r % 2 for p, r in _zero_pairs(h, k, l))
        or any((2 * hv + lv) % 4 for hv, lv in _hhl_pairs(h, k, l))
        or (a == 0 and b == 0 and c % 4)
    )


#: reflection conditions of the cubic space groups (International Tables), by space-group name
_CUBIC_RULES: dict[str, Any] = {
    "Im3m": lambda h, k, l: (h + k + l) % 2 == 0,  # noqa: E741
    "Pn3m": lambda h, k, l: all((p + r) % 2 == 0 for p, r in _zero_pairs(h, k, l)),  # noqa: E741
    "Pm3n": lambda h, k, l: all(lv % 2 == 0 for _h, lv in _hhl_pairs(h, k, l)),  # noqa: E741
    "Ia3d": _ia3d,
    "Fm3m": _all_even_or_odd,
    "Fd3m": lambda h, k, l: _all_even_or_odd(h, k, l) and not any((p + r) % 4 for p, r in _zero_pairs(h, k, l)),  # noqa: E741
}


def _cubic_allowed(name: str, h: int, k: int, l: int) -> bool:  # noqa: E741
    """True when reflection (hkl) is allowed in the cubic space group ``name``; KeyError for an unknown group."""
    if name not in _CUBIC_RULES:
        raise KeyError(name)
    return bool(_CUBIC_RULES[name](h, k, l))


def _cubic_reflections(name: str) -> list[tuple[float, str]]:
    seen: dict[int, str] = {}
    for h, k, l in itertools.product(range(_HMAX + 1), repeat=3):  # noqa: E741
        if not h >= k >= l or h == 0:
            continue
        if _cubic_allowed(name, h, k, l):
            n = h * h + k * k + l * l
            seen.setdefault(n, f"({h}{k}{l})")
    return [(math.sqrt(n), lab) for n, lab in sorted(seen.items()) if n <= 40]


def _phase_table() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {
        "lamellar": {
            "refl": [(float(n), f"(00{n})" if n < 10 else f"(0,0,{n})") for n in range(1, 11)],
            "lattice": lambda base: 2 * math.pi / base,
            "label": "d",
            "complexity": 0.0,
        }
    }
    hexs: dict[int, str] = {}
    for h in range(0, 8):
        for k in range(0, h + 1):
            if h == 0:
                continue
            n = h * h + h * k + k * k
            hexs.setdefault(n, f"({h}{k})")
    table["hexagonal"] = {
        "refl": [(math.sqrt(n), lab) for n, lab in sorted(hexs.items()) if n <= 40],
        "lattice": lambda base: 4 * math.pi / (math.sqrt(3) * base),
        "label": "a",
        "complexity": 0.05,
    }
    for j, name in enumerate(("Im3m", "Pn3m", "Ia3d", "Pm3n", "Fm3m", "Fd3m")):
        table[name] = {
            "refl": _cubic_reflections(name),
            "lattice": lambda base: 2 * math.pi / base,
            "label": "a",
            "complexity": 0.1 + 0.01 * j,
        }
    return table


PHASES: dict[str, dict[str, Any]] = _phase_table()


#: Acceptance threshold on the indexing score (lower is better; see the module docstring).
#: The score of a correct lattice is chi2 per degree of freedom (about 1 with honest q errors)
#: plus 2 per missing allowed reflection, so 4 accepts a lattice with chi2/dof up to 4 and none
#: missing, or one missing reflection and chi2/dof up to 2.  Each peak that no accepted phase
#: explains adds 5 > 4, so such a match is never accepted.  Measured on seeded simulations
#: (tests/peaks/test_index.py): random sets of 3-6 peak positions are accepted in about 1-3 %
#: of draws, true lamellar, hexagonal and cubic sets with 0.3 % position errors in >= 98.5 %.
MAX_SCORE = 4.0
_UNEXPLAINED_PENALTY = 5.0
_NO_PHASE = ("none", "unindexed", "unindexed single peak")


@dataclasses.dataclass(frozen=True)
class IndexResult:
    """Result of :func:`index_peaks`.

    Attributes
    ----------
    phase : str
        Phase name (``"lamellar"``, ``"hexagonal"``, ``"Im3m"``, ``"Pn3m"``, ``"Ia3d"``,
        ``"Pm3n"``, ``"Fm3m"``, ``"Fd3m"``); ``"unindexed"`` when the best candidate scores
        above the acceptance threshold (see ``hint``); ``"unindexed single peak"``; or
        ``"none"`` (no peaks, or no lattice explains two of them).
    lattice_nm, lattice_err : float
        Lattice parameter (d for lamellar, a otherwise) and error (nm); NaN for "none"
        and "unindexed".  For a single peak, its d = 2 pi / q.
    lattice_label : str
        ``"d"`` or ``"a"``.
    orders : tuple of (str or None)
        Assigned reflection per input peak (input order); None = unexplained.
    score : float
        Goodness score of the best candidate (lower is better; see module docstring).
    chi2 : float
        Sum of squared normalized position residuals of the matched peaks.
    n_matched, n_unexplained, n_missing : int
        Peaks explained, peaks unexplained, allowed reflections missing in range.
    missing : tuple of str
        Labels of the missing reflections.
    alternatives : tuple of dict
        Other candidate phases (name, lattice_nm, score), best first.
    secondary : tuple of IndexResult
        Phases indexing the peaks the primary phase leaves unexplained.
    acceptance_score : float
        ``score`` without the penalty for peaks explained by the secondary phases;
        accepted when <= ``max_score``.
    max_score : float
        The acceptance threshold used.
    hint : dict or None
        For ``"unindexed"``: the best candidate (name, lattice_nm, lattice_label, score,
        acceptance_score, orders), a hint only.
    """

    phase: str
    lattice_nm: float
    lattice_err: float
    lattice_label: str
    orders: tuple[str | None, ...]
    score: float
    chi2: float
    n_matched: int
    n_unexplained: int
    n_missing: int
    missing: tuple[str, ...] = ()
    alternatives: tuple[dict[str, Any], ...] = ()
    secondary: tuple[IndexResult, ...] = ()
    acceptance_score: float = float("nan")
    max_score: float = MAX_SCORE
    hint: dict[str, Any] | None = None

    @property
    def indexed(self) -> bool:
        """True when a lattice was accepted."""
        return self.phase not in _NO_PHASE

    def __repr__(self) -> str:
        return f"IndexResult({self.short()})"

    def short(self) -> str:
        """One-line description, e.g. ``"lamellar d = 3.410 nm"``."""
        if self.indexed:
            sec = "".join(f" + {s.short()}" for s in self.secondary)
            return f"{self.phase} {self.lattice_label} = {self.lattice_nm:.3f} nm{sec}"
        if self.phase == "unindexed" and self.hint:
            return f"unindexed (best guess {self.hint['name']}, score {self.hint['acceptance_score']:.1f} > {self.max_score:g})"
        if self.phase == "unindexed single peak":
            return f"unindexed single peak (d = {self.lattice_nm:.3f} nm)"
        return "no phase"

    def summary(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.phase,
                "lattice_parameter_nm": self.lattice_nm,
                "lattice_parameter_err": self.lattice_err,
                "lattice_parameter_label": self.lattice_label,
                "orders": list(self.orders),
                "score": self.score,
                "chi2": self.chi2,
                "n_matched": self.n_matched,
                "n_unexplained": self.n_unexplained,
                "n_missing": self.n_missing,
                "missing": list(self.missing),
                "alternatives": list(self.alternatives),
                "secondary": [s.summary() for s in self.secondary],
                "acceptance_score": self.acceptance_score,
                "max_score": self.max_score,
                "hint": self.hint,
            }
        )

    def report(self) -> str:
        if self.phase == "none":
            return "phase: none (no lattice explains the peaks)" if self.orders else "phase: none (no Bragg peaks)"
        if self.phase == "unindexed single peak":
            return f"phase: unindexed single peak (d = {self.lattice_nm:.3f} nm)"
        if self.phase == "unindexed":
            h = self.hint or {}
            return (
                f"phase: unindexed - the best candidate, {h.get('name')} ({h.get('lattice_label')} = "
                f"{h.get('lattice_nm', float('nan')):.4f} nm, orders {', '.join(o or '?' for o in h.get('orders', []))}), "
                f"scores {h.get('acceptance_score', float('nan')):.2f} > {self.max_score:g} (acceptance threshold): "
                "a hint only"
            )
        s = (
            f"phase: {self.phase}, {self.lattice_label} = {self.lattice_nm:.4f} +- {self.lattice_err:.4f} nm, "
            f"orders {', '.join(o or '?' for o in self.orders)}, score {self.score:.2f}"
            + (f", missing {', '.join(self.missing)}" if self.missing else "")
            + (" (two peaks: weak evidence)" if self.n_matched == 2 and not self.secondary else "")
        )
        for sec in self.secondary:
            s += "\n  coexisting " + sec.report()
        return s


def _none(n: int, max_score: float = MAX_SCORE) -> IndexResult:
    nan = float("nan")
    return IndexResult("none", nan, nan, "", (None,) * n, nan, nan, 0, n, 0, max_score=max_score)


def _try(q, e, refl, anchor, q_lo, tol_sigma, ipk=0):
    r = np.array([x[0] for x in refl])
    base = q[ipk] / r[anchor]
    assign = np.full(q.size, -1)
    for _ in range(4):
        pred_idx = np.argmin(np.abs(q[:, None] - base * r[None, :]), axis=1)
        dev = np.abs(q - base * r[pred_idx])
        ok = dev <= tol_sigma * e
        assign = np.where(ok, pred_idx, -1)
        # one peak per reflection: keep the closest
        for m in set(assign[assign >= 0].tolist()):
            who = np.flatnonzero(assign == m)
            if who.size > 1:
                best = who[np.argmin(dev[who])]
                assign[who[who != best]] = -1
        mm = assign >= 0
        if not mm.any():
            return None
        rw = r[assign[mm]]
        wts = 1.0 / e[mm] ** 2
        base = float(np.sum(wts * rw * q[mm]) / np.sum(wts * rw * rw))
    mm = assign >= 0
    if mm.sum() < 2:
        return None
    rw = r[assign[mm]]
    wts = 1.0 / e[mm] ** 2
    base_err = math.sqrt(1.0 / float(np.sum(wts * rw * rw)))
    chi2 = float(np.sum(((q[mm] - base * rw) / e[mm]) ** 2))
    top = base * rw.max()
    first = base * rw.min()
    used = set(assign[mm].tolist())
    missing = [m for m in range(r.size) if m not in used and q_lo <= base * r[m] <= top * (1 + 1e-9)]
    low = [m for m in missing if base * r[m] < first]
    return {
        "base": base,
        "base_err": base_err,
        "assign": assign,
        "chi2": chi2,
        "n_matched": int(mm.sum()),
        "n_unexp": int((~mm).sum()),
        "missing": missing,
        "n_low": len(low),
    }


def _check_inputs(q_positions_nm, q_errors, phases) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    try:
        q = np.atleast_1d(np.asarray(q_positions_nm, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"index_peaks: q_positions_nm must be numbers, got {q_positions_nm!r}") from None
    if q.ndim != 1:
        raise ValueError(f"index_peaks: q_positions_nm must be 1D, got shape {q.shape}")
    if q.size and (not np.all(np.isfinite(q)) or np.any(q <= 0)):
        raise ValueError(f"index_peaks: q_positions_nm must be finite and > 0, got {q.tolist()}")
    e = np.zeros(q.size) if q_errors is None else np.asarray(q_errors, dtype=float).copy()
    if e.shape != q.shape:
        raise ValueError(f"index_peaks: q_errors must match q_positions_nm in length ({e.shape} vs {q.shape})")
    e = np.where(np.isfinite(e), np.abs(e), 0.0)
    names = tuple(PHASES) if phases is None else tuple(phases)
    for n in names:
        if n not in PHASES:
            raise ValueError(f"index_peaks: unknown phase {n!r}; use some of {tuple(PHASES)}")
    return q, e, names


def _candidates(qs, es, names, q_lo, tol_sigma) -> list[dict[str, Any]]:
    """Every (phase, anchor reflection, anchor peak) trial that passes the structural checks, best first."""
    trials = []
    for name in names:
        ph = PHASES[name]
        for ipk, anchor in itertools.product(range(qs.size), range(min(4, len(ph["refl"])))):
            t = _try(qs, es, ph["refl"], anchor, q_lo, tol_sigma, ipk)
            if t is None:
                continue
            t["score"] = (
                t["chi2"] / max(t["n_matched"] - 1, 1)
                + _UNEXPLAINED_PENALTY * t["n_unexp"]
                + 2.0 * len(t["missing"])
                + 1.0 * t["n_low"]
                + ph["complexity"]
            )
            t["name"] = name
            if len(t["missing"]) <= max(1, t["n_matched"] - 1) and t["n_low"] <= (0 if t["n_matched"] < 3 else 1):
                trials.append(t)
    return sorted(trials, key=lambda t: t["score"])


def _orders(best, order, n) -> tuple[str | None, ...]:
    refl = PHASES[best["name"]]["refl"]
    orders: list[str | None] = [None] * n
    for pos, m in zip(order, best["assign"]):
        orders[pos] = refl[m][1] if m >= 0 else None
    return tuple(orders)


def _alternatives(good) -> tuple[dict[str, Any], ...]:
    alts, seen = [], {good[0]["name"]}
    for t in good[1:]:
        if t["name"] not in seen:
            seen.add(t["name"])
            alts.append({"name": t["name"], "lattice_nm": PHASES[t["name"]]["lattice"](t["base"]), "score": t["score"]})
    return tuple(alts[:5])


def _n_explained(r: IndexResult) -> int:
    return r.n_matched + sum(_n_explained(s) for s in r.secondary)


def index_peaks(
    q_positions_nm: Any,
    q_errors: Any = None,
    *,
    phases: tuple[str, ...] | None = None,
    q_range_nm: tuple[float, float] | None = None,
    sys_rel: float = 0.003,
    tol_sigma: float = 3.0,
    max_score: float = MAX_SCORE,
    _depth: int = 0,
) -> IndexResult:
    """Index Bragg peak positions to a lamellar, hexagonal or cubic lattice.

    Parameters
    ----------
    q_positions_nm : array_like of shape (n,)
        Peak positions (1/nm).
    q_errors : array_like of shape (n,), optional
        One-sigma position errors (1/nm); default 0 (only ``sys_rel`` then).
    phases : tuple of str, optional
        Phases to try (default: all of :data:`PHASES`).
    q_range_nm : (q_min, q_max), optional
        Measured q range; reflections below q_min are not counted as missing.
    sys_rel : float
        Relative systematic position error added in quadrature.
    tol_sigma : float
        A peak matches a reflection within ``tol_sigma`` effective errors.
    max_score : float
        Acceptance threshold on the score (default :data:`MAX_SCORE`); a worse best
        candidate gives ``"unindexed"`` with the candidate as ``hint``.

    Returns
    -------
    IndexResult

    Examples
    --------
    >>> r = index_peaks([1.84, 3.69], [0.002, 0.003])
    >>> r.phase, round(r.lattice_nm, 2), r.orders
    ('lamellar', 3.41, ('(001)', '(002)'))
    >>> index_peaks([1.0, 2.0, 2.63, 3.47], [0.002] * 4).phase
    'unindexed'
    """
    q, e, names = _check_inputs(q_positions_nm, q_errors, phases)
    if not (isinstance(max_score, (int, float)) and math.isfinite(max_score) and max_score > 0):
        raise ValueError(
            f"index_peaks: max_score must be a positive finite number (default {MAX_SCORE}), got {max_score!r}"
        )
    if q.size == 0:
        return _none(0, max_score)
    if q.size == 1:
        d = 2 * math.pi / q[0]
        return IndexResult(
            "unindexed single peak",
            d,
            d * e[0] / q[0],
            "d",
            (None,),
            float("nan"),
            float("nan"),
            0,
            1,
            0,
            max_score=max_score,
        )
    order = np.argsort(q)
    qs = q[order]
    es = np.sqrt(e[order] ** 2 + (sys_rel * qs) ** 2)
    good = _candidates(qs, es, names, 0.0 if q_range_nm is None else float(q_range_nm[0]), tol_sigma)
    if not good:
        return _none(q.size, max_score)
    best = good[0]
    ph = PHASES[best["name"]]
    orders = _orders(best, order, q.size)
    unexp = [i for i in range(q.size) if orders[i] is None]
    secondary = _secondary(
        q[unexp],
        e[unexp],
        _depth,
        phases=phases,
        q_range_nm=q_range_nm,
        sys_rel=sys_rel,
        tol_sigma=tol_sigma,
        max_score=max_score,
    )
    acceptance = best["score"] - _UNEXPLAINED_PENALTY * sum(_n_explained(s) for s in secondary)
    lat = ph["lattice"](best["base"])
    if acceptance > max_score:
        return _rejected(best, good, orders, float(lat), float(acceptance), max_score)
    return IndexResult(
        phase=best["name"],
        lattice_nm=float(lat),
        lattice_err=float(lat * best["base_err"] / best["base"]),
        lattice_label=ph["label"],
        orders=orders,
        score=float(best["score"]),
        chi2=float(best["chi2"]),
        n_matched=best["n_matched"],
        n_unexplained=best["n_unexp"],
        n_missing=len(best["missing"]),
        missing=tuple(ph["refl"][m][1] for m in best["missing"]),
        alternatives=_alternatives(good),
        secondary=secondary,
        acceptance_score=float(acceptance),
        max_score=max_score,
    )


def _secondary(q: np.ndarray, e: np.ndarray, depth: int, **kwargs: Any) -> tuple[IndexResult, ...]:
    """A second phase indexing the peaks the first left unexplained (at least 2; two levels deep at most)."""
    if q.size < 2 or depth >= 2:
        return ()
    sec = index_peaks(q, e, _depth=depth + 1, **kwargs)
    return (sec,) if sec.indexed else ()


def _rejected(
    best: dict[str, Any],
    good: list[dict[str, Any]],
    orders: tuple[str | None, ...],
    lat: float,
    acceptance: float,
    max_score: float,
) -> IndexResult:
    """ "unindexed": the best candidate scores worse than ``max_score``; it is kept as the ``hint``."""
    nan = float("nan")
    n = len(orders)
    hint = {
        "name": best["name"],
        "lattice_nm": lat,
        "lattice_label": PHASES[best["name"]]["label"],
        "score": float(best["score"]),
        "acceptance_score": acceptance,
        "orders": list(orders),
        "n_matched": best["n_matched"],
    }
    return IndexResult(
        "unindexed",
        nan,
        nan,
        "",
        (None,) * n,
        float(best["score"]),
        float(best["chi2"]),
        0,
        n,
        0,
        alternatives=_alternatives(good),
        acceptance_score=acceptance,
        max_score=max_score,
        hint=hint,
    )
