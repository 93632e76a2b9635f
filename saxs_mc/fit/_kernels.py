"""Numba kernels of the Monte Carlo (McSAS) sphere fit.  Private: no validation here.

Everything takes contiguous arrays, scalars and explicit integer seeds only.

Model of one repetition (all arrays float64)::

    F(q)     = sum_k T[j_k, q]           running sum over the n contributions
    I_mod(q) = s * F(q) + b + c * p(q)   s >= 0, b free (or b = 0 without background),
                                         c >= 0 for an optional power-law basis p(q) (else c = 0)

``T[j, q] = V(r_j) P(q, r_j)`` is a table of per-contribution intensities on a fine
radius grid ``r_j`` (log- or linearly spaced), so a radius drawn as a uniform grid
index is a log-uniform (or uniform) radius, and one Monte Carlo step costs O(n_q):
the candidate sum ``F - T[old] + T[new]`` is formed on the fly together with the
weighted sums that enter the 2x2 normal equations of (s, b); chi2 follows in
closed form from those sums.

Random numbers come from a splitmix64 generator whose 64-bit state is private to
each repetition (seeded from ``saxs_mc._rng.spawn_seeds``), so the result of a
repetition depends on its seed only, never on the thread that runs it, nor on
whether the kernel was compiled in this process or loaded from numba's cache
(the package's fastmath set excludes ``reassoc``; see ``saxs_mc._numba``).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from saxs_mc._numba import njit

#: stop-reason codes written to ``info[:, INFO_REASON]``
STOP_CHI2 = 0  # chi2 reached the statistical target: converged
STOP_STAGNATION = 1  # no significant chi2 improvement over a window of attempts
STOP_CAP = 2  # iteration cap reached (not converged)

#: a move is accepted only if it lowers chi2 by more than ACCEPT_REL * sum(w I^2).
#: chi2 comes from the closed form sum(w I^2) - 2 s sum(w F I) + ..., whose rounding
#: error is a few ulps of sum(w I^2); improvements below that (e.g. a contribution
#: redrawn onto its own radius) are rounding noise, and accepting them would make
#: the trajectory depend on how the compiler orders the sums.
ACCEPT_REL = 1e-13

#: columns of the per-repetition ``info`` array
INFO_SCALE, INFO_BACKGROUND, INFO_CHI2, INFO_ITERATIONS, INFO_ACCEPTED, INFO_REASON, INFO_POWERLAW = range(7)
N_INFO = 7

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit
def splitmix64(state):
    """Advance a splitmix64 state; return ``(new_state, 64-bit output)`` (both uint64)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return state, z


@njit
def draw_index(state, n):
    """Uniform integer in [0, n) from the top 53 bits of one splitmix64 output."""
    state, z = splitmix64(state)
    u = np.float64(z >> _S11) * _INV53
    j = np.int64(u * n)
    if j >= n:
        j = n - 1
    return state, j


@njit
def solve_scale_background(sw, swi, swii, sf, sff, sfi, fit_background):
    """Weighted least squares of I ~ s F + b with s >= 0, from the weighted sums.

    Sums: sw = sum w, swi = sum w I, swii = sum w I^2, sf = sum w F,
    sff = sum w F^2, sfi = sum w F I.  Returns ``(s, b, chi2)``.
    If the unconstrained optimum has s < 0 the constrained optimum lies on
    s = 0 (a convex problem with one active bound), where b = swi / sw.
    """
    s = -1.0
    b = 0.0
    if fit_background:
        det = sw * sff - sf * sf
        if det > 0.0:
            s = (sw * sfi - sf * swi) / det
            b = (sff * swi - sf * sfi) / det
        if s > 0.0:
            chi2 = swii - 2.0 * s * sfi - 2.0 * b * swi + s * s * sff + 2.0 * s * b * sf + b * b * sw
        else:
            s = 0.0
            b = swi / sw
            chi2 = swii - 2.0 * b * swi + b * b * sw
    else:
        if sff > 0.0:
            s = sfi / sff
        if s > 0.0:
            chi2 = swii - 2.0 * s * sfi + s * s * sff
        else:
            s = 0.0
            chi2 = swii
    if chi2 < 0.0:  # rounding in the closed form; chi2 is a sum of squares
        chi2 = 0.0
    return s, b, chi2


@njit
def _solve_at_c_max(sff, sf, sfp, sw, sp, spp, sfi, swi, spi, swii, use_b, c_max):
    """Best (s >= 0, b) with c fixed at its upper bound ``c_max`` (its term moved to the data side); (s, b, chi2)."""
    u0 = sfi - c_max * sfp
    u1 = swi - c_max * sp
    uii = swii - 2.0 * c_max * spi + c_max * c_max * spp
    best = np.inf
    bs = 0.0
    bb = 0.0
    for hs in (True, False):
        a00 = sff if hs else 1.0
        a11 = sw if use_b else 1.0
        a01 = sf if (hs and use_b) else 0.0
        r0 = u0 if hs else 0.0
        r1 = u1 if use_b else 0.0
        det = a00 * a11 - a01 * a01
        if not det > 0.0:
            continue
        x0 = (r0 * a11 - a01 * r1) / det
        x1 = (a00 * r1 - a01 * r0) / det
        if x0 < 0.0:
            continue
        chi2 = uii - (x0 * r0 + x1 * r1)
        if chi2 < best:
            best = chi2
            bs = x0
            bb = x1
    return bs, bb, best


@njit
def solve_bounded3(sff, sf, sfp, sw, sp, spp, sfi, swi, spi, swii, use_b, use_c, c_max=np.inf):
    """Weighted least squares of I ~ s F + b + c p with s >= 0, c >= 0, b free.

    Normal matrix ``[[sff, sf, sfp], [sf, sw, sp], [sfp, sp, spp]]`` and
    right-hand side ``[sfi, swi, spi]`` (weighted sums as in
    :func:`solve_scale_background`, p the power-law basis).  ``use_b``/``use_c``
    switch b and c on.  The bound-constrained optimum of this convex problem is
    the best feasible one among the optima of the parameter subsets (active
    sets) with b always free; each subset is solved by Cramer's rule with the
    inactive parameters' rows/columns replaced by the identity.
    ``c_max`` (default inf) bounds c from above as well: subsets with c above it
    are infeasible, and the subsets with c fixed at ``c_max`` (its term moved to
    the data side) are tried too.  Returns ``(s, b, c, chi2)``.
    """
    best = np.inf
    bs = 0.0
    bb = 0.0
    bc = 0.0
    for mask in range(8):
        hs = (mask & 1) != 0
        hb = (mask & 2) != 0
        hc = (mask & 4) != 0
        if hb != use_b or (hc and not use_c):
            continue
        a00 = sff if hs else 1.0
        a11 = sw if hb else 1.0
        a22 = spp if hc else 1.0
        a01 = sf if (hs and hb) else 0.0
        a02 = sfp if (hs and hc) else 0.0
        a12 = sp if (hb and hc) else 0.0
        r0 = sfi if hs else 0.0
        r1 = swi if hb else 0.0
        r2 = spi if hc else 0.0
        c00 = a11 * a22 - a12 * a12
        c01 = a01 * a22 - a12 * a02
        c02 = a01 * a12 - a11 * a02
        det = a00 * c00 - a01 * c01 + a02 * c02
        if not det > 0.0:
            continue
        x0 = (r0 * c00 - a01 * (r1 * a22 - a12 * r2) + a02 * (r1 * a12 - a11 * r2)) / det
        x1 = (a00 * (r1 * a22 - a12 * r2) - r0 * c01 + a02 * (a01 * r2 - r1 * a02)) / det
        x2 = (a00 * (a11 * r2 - r1 * a12) - a01 * (a01 * r2 - r1 * a02) + r0 * c02) / det
        if x0 < 0.0 or x2 < 0.0 or x2 > c_max:
            continue
        chi2 = swii - (x0 * r0 + x1 * r1 + x2 * r2)
        if chi2 < best:
            best = chi2
            bs = x0
            bb = x1
            bc = x2
    if use_c and c_max < np.inf:
        s_u, b_u, chi2_u = _solve_at_c_max(sff, sf, sfp, sw, sp, spp, sfi, swi, spi, swii, use_b, c_max)
        if chi2_u < best:
            best = chi2_u
            bs = s_u
            bb = b_u
            bc = c_max
    if best < 0.0:
        best = 0.0
    return bs, bb, bc, best


@njit
def _sums(f, w, wi):
    sf = 0.0
    sff = 0.0
    sfi = 0.0
    for iq in range(f.shape[0]):
        wf = w[iq] * f[iq]
        sf += wf
        sff += wf * f[iq]
        sfi += wi[iq] * f[iq]
    return sf, sff, sfi


@njit
def _sum_fp(f, wp):
    out = 0.0
    for iq in range(f.shape[0]):
        out += wp[iq] * f[iq]
    return out


@njit
def _rebuild(table, idx, f):
    f[:] = 0.0
    for k in range(idx.shape[0]):
        row = table[idx[k]]
        for iq in range(f.shape[0]):
            f[iq] += row[iq]


@njit
def mc_single(
    table,
    w,
    wi,
    swii,
    n_contrib,
    seed,
    max_iter,
    chi2_target,
    stag_window,
    stag_delta,
    fit_background,
    rebuild_every,
    idx,
    f,
    info,
    trace,
    p,
    fit_powerlaw,
    c_max=np.inf,
):
    """One Monte Carlo repetition (serial).

    Parameters
    ----------
    table : (n_grid, n_q) float64
        Per-contribution intensities V(r_j) P(q, r_j).
    w, wi : (n_q,) float64
        Weights 1/sigma^2 and w * I.
    swii : float
        sum w I^2.
    n_contrib : int
        Number of contributions.
    seed : uint64
        Seed of this repetition's splitmix64 stream.
    max_iter : int
        Iteration cap (attempted moves).
    chi2_target : float
        Stop as converged once chi2 <= chi2_target (absolute chi2, not reduced).
    stag_window, stag_delta : int, float
        Stop as stagnated when chi2 fell by less than ``stag_delta`` over the
        last ``stag_window`` attempts.
    fit_background : bool
        Fit the flat background b (else b = 0).
    rebuild_every : int
        Recompute F from scratch after this many accepted moves (bounds rounding drift).
    idx : (n_contrib,) int64, output
        Final grid index of each contribution's radius.
    f : (n_q,) float64, output
        Final F(q) (model = s F + b).
    info : (N_INFO,) float64, output
        scale, background, chi2, iterations, accepted moves, stop-reason code, power-law coefficient.
    trace : (n_trace,) float64, output
        chi2 after each attempt i (i < n_trace); pass a length-0 array to skip.
    p : (n_q,) float64
        Power-law basis (used only if ``fit_powerlaw``).
    fit_powerlaw : bool
        Fit c >= 0 times ``p`` in addition.
    c_max : float
        Upper bound of c (default inf; finite for a bounded flat background).
    """
    n_grid = table.shape[0]
    n_q = table.shape[1]
    sw = 0.0
    swi = 0.0
    sp = 0.0
    spp = 0.0
    spi = 0.0
    wp = np.zeros(n_q)
    for iq in range(n_q):
        sw += w[iq]
        swi += wi[iq]
        if fit_powerlaw:
            wp[iq] = w[iq] * p[iq]
            sp += wp[iq]
            spp += wp[iq] * p[iq]
            spi += wi[iq] * p[iq]
    state = np.uint64(seed)
    for k in range(n_contrib):
        state, j = draw_index(state, n_grid)
        idx[k] = j
    _rebuild(table, idx, f)
    sf, sff, sfi = _sums(f, w, wi)
    cp = 0.0
    if fit_powerlaw:
        s, b, cp, chi2 = solve_bounded3(
            sff, sf, _sum_fp(f, wp), sw, sp, spp, sfi, swi, spi, swii, fit_background, True, c_max
        )
    else:
        s, b, chi2 = solve_scale_background(sw, swi, swii, sf, sff, sfi, fit_background)
    n_trace = trace.shape[0]
    accept_tol = ACCEPT_REL * swii
    it = 0
    accepted = 0
    reason = STOP_CAP
    win_chi2 = chi2
    win_start = 0
    while True:
        if chi2 <= chi2_target:
            reason = STOP_CHI2
            break
        if it >= max_iter:
            reason = STOP_CAP
            break
        state, k = draw_index(state, n_contrib)
        state, jn = draw_index(state, n_grid)
        jo = idx[k]
        old = table[jo]
        new = table[jn]
        a = 0.0
        c = 0.0
        d = 0.0
        e = 0.0
        cp2 = 0.0
        for iq in range(n_q):
            fn = f[iq] - old[iq] + new[iq]
            wf = w[iq] * fn
            a += wf
            c += wf * fn
            d += wi[iq] * fn
            if fit_powerlaw:
                e += wp[iq] * fn
        if fit_powerlaw:
            s2, b2, cp2, chi2n = solve_bounded3(c, a, e, sw, sp, spp, d, swi, spi, swii, fit_background, True, c_max)
        else:
            s2, b2, chi2n = solve_scale_background(sw, swi, swii, a, c, d, fit_background)
        it += 1
        if chi2n < chi2 - accept_tol:
            idx[k] = jn
            accepted += 1
            if accepted % rebuild_every == 0:
                _rebuild(table, idx, f)
                sf, sff, sfi = _sums(f, w, wi)
                if fit_powerlaw:
                    s2, b2, cp2, chi2n = solve_bounded3(
                        sff, sf, _sum_fp(f, wp), sw, sp, spp, sfi, swi, spi, swii, fit_background, True, c_max
                    )
                else:
                    s2, b2, chi2n = solve_scale_background(sw, swi, swii, sf, sff, sfi, fit_background)
            else:
                for iq in range(n_q):
                    f[iq] = f[iq] - old[iq] + new[iq]
            s = s2
            b = b2
            cp = cp2
            chi2 = chi2n
        if it <= n_trace:
            trace[it - 1] = chi2
        if it - win_start >= stag_window:
            if win_chi2 - chi2 < stag_delta:
                reason = STOP_STAGNATION
                break
            win_chi2 = chi2
            win_start = it
    info[INFO_SCALE] = s
    info[INFO_BACKGROUND] = b
    info[INFO_CHI2] = chi2
    info[INFO_ITERATIONS] = it
    info[INFO_ACCEPTED] = accepted
    info[INFO_REASON] = reason
    info[INFO_POWERLAW] = cp


@njit(parallel=True)
def mc_repetitions(
    table,
    w,
    wi,
    swii,
    n_contrib,
    seeds,
    max_iter,
    chi2_target,
    stag_window,
    stag_delta,
    fit_background,
    rebuild_every,
    idx_out,
    f_out,
    info_out,
    p,
    fit_powerlaw,
    c_max=np.inf,
):
    """Run ``seeds.shape[0]`` independent repetitions in parallel (``prange``).

    Repetition ``i`` uses ``seeds[i]`` and writes only row ``i`` of
    ``idx_out`` (n_rep, n_contrib), ``f_out`` (n_rep, n_q) and ``info_out``
    (n_rep, N_INFO), so results do not depend on the number of threads.
    """
    no_trace = np.empty(0, dtype=np.float64)
    for i in prange(seeds.shape[0]):
        mc_single(
            table,
            w,
            wi,
            swii,
            n_contrib,
            seeds[i],
            max_iter,
            chi2_target,
            stag_window,
            stag_delta,
            fit_background,
            rebuild_every,
            idx_out[i],
            f_out[i],
            info_out[i],
            no_trace,
            p,
            fit_powerlaw,
            c_max,
        )
