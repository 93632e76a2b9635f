"""When to re-fit a sample while it grows: its curve changed by more than its own noise.

Rule
----
Let ``I_f, s_f`` be the blank-subtracted curve that was last fitted and ``I_n, s_n``
the current one, on the same q grid, restricted to the fit q range and to points
with finite values.  The change statistic is the reduced chi-square

    chi2 = (1/n) * sum_i (I_n,i - I_f,i)**2 / v_i

with ``v_i`` the variance of the difference:

* ``v_i = s_f,i**2 - s_n,i**2`` when the current curve averages a superset of the
  fitted frames with the same blank (the usual case: frames were added).  For a
  Poisson average of nested frame sets Var(new - old) = Var(old) - Var(new)
  exactly (the common frames cancel, and the blank's noise cancels too);
* ``v_i = s_f,i**2 + s_n,i**2`` otherwise (frames rejected or removed, blank
  changed): a conservative bound that treats the curves as independent.

Points with ``v_i <= 0`` are left out.  Under "no change" ``chi2`` has mean 1 and
standard deviation ``sqrt(2/n)``; the sample is re-fitted when

    chi2 > 1 + k * sqrt(2/n)        (k = ``refit_k``, default 3)

or when its frames changed and ``refit_every_s`` passed since its last fit.
The first curve of a sample is always fitted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class CurveChange:
    """Outcome of :func:`curve_change`: the statistic, its threshold and whether to re-fit."""

    chi2: float
    threshold: float
    n: int
    nested: bool

    @property
    def changed(self) -> bool:
        return self.n > 0 and self.chi2 > self.threshold

    def summary(self) -> dict[str, float | int | bool]:
        return {
            "chi2": self.chi2,
            "threshold": self.threshold,
            "n": self.n,
            "nested": self.nested,
            "changed": self.changed,
        }


def curve_change(
    q: np.ndarray,
    new: tuple[np.ndarray, np.ndarray],
    fitted: tuple[np.ndarray, np.ndarray],
    *,
    nested: bool,
    q_range_nm: Sequence[float] | None = None,
    k: float = 3.0,
) -> CurveChange:
    """Has the curve changed by more than its noise since it was fitted?  (Rule in the module docstring.)

    Parameters
    ----------
    q : ndarray, shape (n_q,)
        Common q grid (1/nm).
    new, fitted : (intensity, sigma) pairs of ndarrays, shape (n_q,)
    nested : bool
        The current curve averages a superset of the fitted curve's frames, same blank.
    q_range_nm : (q_min, q_max), optional
        The fit q range.
    k : float
        Threshold in standard deviations of the reduced chi-square.

    Examples
    --------
    >>> q = np.linspace(0.5, 5, 100)
    >>> curve_change(q, (np.ones(100), np.full(100, 0.1)), (np.ones(100), np.full(100, 0.1)), nested=False).changed
    False
    """
    (i_n, s_n), (i_f, s_f) = new, fitted
    if not (q.shape == i_n.shape == s_n.shape == i_f.shape == s_f.shape):
        raise ValueError(
            f"curve shapes differ: q {q.shape}, new {i_n.shape}/{s_n.shape}, fitted {i_f.shape}/{s_f.shape}"
        )
    var = s_f**2 - s_n**2 if nested else s_f**2 + s_n**2
    ok = np.isfinite(i_n) & np.isfinite(i_f) & np.isfinite(var) & (var > 0)
    if q_range_nm is not None:
        ok &= (q >= q_range_nm[0]) & (q <= q_range_nm[1])
    n = int(ok.sum())
    if n == 0:
        return CurveChange(math.nan, math.nan, 0, nested)
    chi2 = float(np.mean((i_n[ok] - i_f[ok]) ** 2 / var[ok]))
    return CurveChange(chi2, 1.0 + k * math.sqrt(2.0 / n), n, nested)
