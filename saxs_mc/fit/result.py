"""The fixed-schema result of a Monte Carlo size-distribution fit."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saxs_mc._frozen import freeze_array_fields
from saxs_mc.fit.statistics import SUB_VISIBILITY_DOMINATED, RangeStats, bin_centers
from saxs_mc.io.atomic import jsonable


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Result of :func:`saxs_mc.fit.fit` (all arrays read-only).

    Attributes
    ----------
    q_nm, intensity, sigma : ndarray (n_q,)
        The data actually fitted (after the q-range selection).
    intensity_unit : str
        ``"1/cm"`` or ``"arbitrary"``.
    absolute : bool
        True when volume fractions are absolute (I in 1/cm and a contrast given);
        otherwise volume fractions are relative and sum to 1.
    contrast_1e6_A2 : float or None
        SLD difference used for absolute volume fractions.
    bin_edges_nm : ndarray (n_bins + 1,)
    bin_scale : str
        ``"log"`` or ``"linear"``.
    volume_fraction, volume_fraction_std : ndarray (n_bins,)
        Volume fraction per bin, mean and standard deviation over repetitions.
    number_fraction, number_fraction_std : ndarray (n_bins,)
        Number fraction per bin (sums to 1), mean and std over repetitions.
    min_visibility : ndarray (n_bins,)
        Minimum visible volume fraction per bin (same units as ``volume_fraction``;
        formula in :mod:`saxs_mc.fit.statistics`).
    ranges : tuple of RangeStats
        Statistics per requested radius range (the first is the whole fit range),
        from the *resolved* contributions (radius >= ``resolvable_radius_nm``);
        ``sub_visibility_fraction`` gives the share of each range's volume in bins
        below the minimum visibility.
    model_mean, model_std : ndarray (n_q,)
        Fitted curve s F + b, mean and std over repetitions.
    radii_nm : ndarray (n_rep, n_contrib)
        Final contribution radii of each repetition.
    phi_per_contribution : ndarray (n_rep,)
        Volume fraction carried by each contribution (absolute or relative).
    scale, background : ndarray (n_rep,)
        Fitted s (intensity per nm^3 of summed V P) and flat background b.
    power_law_coefficient : ndarray (n_rep,)
        Fitted c of the optional power-law term c (q / q_min)^-n (0 when not fitted).
    chi2_r : ndarray (n_rep,)
        Final reduced chi-square, chi2 / (n_q - 2) (or n_q - 1 without background).
    chi2_r_target : float
        The convergence target 1 + k sqrt(2 / dof); NaN when the fit ran to the
        chi2 plateau without a target (``chi2_k=None``, the default).
    chi2_r_accept : float
        Largest chi2_r at which a stagnated repetition still counts as converged.
    iterations, accepted : ndarray (n_rep,) int
        Attempted and accepted moves.
    stop_reason : tuple of str
        Per repetition: ``"target"`` (chi2_r <= target: converged), ``"plateau"``
        (no significant improvement over the stagnation window, chi2_r <=
        chi2_r_accept: converged), ``"stagnated"`` (plateau above chi2_r_accept:
        NOT converged) or ``"cap"`` (NOT converged: iteration cap reached).
    seed : int or None
        The integer seed used: the user's, or one drawn from OS entropy when
        ``seed=None`` (``settings["seed_source"]``); None only when a Generator was
        passed (``repetition_seeds`` reproduce the repetitions then).
    repetition_seeds : ndarray (n_rep,) uint64
        The seed of each repetition's stream (re-run a repetition exactly with it).
    settings : dict
        All settings of the fit (JSON-safe).
    warnings : tuple of str
        Warnings raised during the fit (also emitted with :mod:`warnings`).
    versions : dict
        Package versions.
    elapsed_s : float
        Wall-clock time of the Monte Carlo kernels (after warm-up: no compile or
        cache-load time).
    title : str
    ranges_visible : tuple of RangeStats
        The same ranges from the contributions in visible bins only (bins whose
        mean volume fraction reaches ``min_visibility``).
    background_at_bound : int
        Repetitions whose background b >= 0 ended at its bound b = 0 (only for
        ``background="nonnegative"``).  All of them at the bound with a poor fit
        at high q suggests an over-subtracted blank: refit with ``background="flat"``.
    warmup_s : float
        Time to compile/load the numba kernels before the timer started (non-zero
        only for the first fit in a process).
    ranges_all : tuple of RangeStats
        The same ranges from all contributions, unresolved ones included.
    resolvable_radius_nm : float
        Smallest radius the data resolve from a flat background
        (:mod:`saxs_mc.fit.resolution`); volume below it is reported apart
        (``unresolved_volume_fraction``) and left out of ``ranges`` and
        ``total_volume_fraction``.  0 when not computed.
    """

    q_nm: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    intensity_unit: str
    absolute: bool
    contrast_1e6_A2: float | None
    bin_edges_nm: np.ndarray
    bin_scale: str
    volume_fraction: np.ndarray
    volume_fraction_std: np.ndarray
    number_fraction: np.ndarray
    number_fraction_std: np.ndarray
    min_visibility: np.ndarray
    ranges: tuple[RangeStats, ...]
    model_mean: np.ndarray
    model_std: np.ndarray
    radii_nm: np.ndarray
    phi_per_contribution: np.ndarray
    scale: np.ndarray
    background: np.ndarray
    power_law_coefficient: np.ndarray
    chi2_r: np.ndarray
    chi2_r_target: float
    chi2_r_accept: float
    iterations: np.ndarray
    accepted: np.ndarray
    stop_reason: tuple[str, ...]
    seed: int | None
    repetition_seeds: np.ndarray
    settings: dict[str, Any]
    warnings: tuple[str, ...]
    versions: dict[str, str]
    elapsed_s: float
    title: str = ""
    ranges_visible: tuple[RangeStats, ...] = ()
    warmup_s: float = 0.0
    background_at_bound: int = 0
    ranges_all: tuple[RangeStats, ...] = ()
    resolvable_radius_nm: float = 0.0

    def __post_init__(self) -> None:
        freeze_array_fields(self)

    # ------------------------------------------------------------------
    @property
    def n_repetitions(self) -> int:
        return int(self.chi2_r.size)

    @property
    def n_contributions(self) -> int:
        return int(self.radii_nm.shape[1])

    @property
    def converged(self) -> np.ndarray:
        """(n_rep,) bool: stop reason "target" or "plateau" (see ``stop_reason``)."""
        return np.array([r in ("target", "plateau") for r in self.stop_reason])

    @property
    def all_converged(self) -> bool:
        return bool(self.converged.all())

    @property
    def acceptance_rate(self) -> np.ndarray:
        """(n_rep,) accepted / attempted moves."""
        it = np.maximum(self.iterations, 1)
        return self.accepted / it

    @property
    def resolved(self) -> np.ndarray:
        """(n_rep, n_contrib) bool: contributions at radii >= ``resolvable_radius_nm``."""
        return self.radii_nm >= self.resolvable_radius_nm

    @property
    def total_volume_fraction(self) -> tuple[float, float]:
        """Total *resolved* volume fraction (mean, std over repetitions); 1 for relative fits without unresolved volume."""
        tot = self.phi_per_contribution * self.resolved.sum(axis=1)
        return float(tot.mean()), float(tot.std(ddof=1)) if tot.size > 1 else 0.0

    @property
    def unresolved_volume_fraction(self) -> tuple[float, float]:
        """Volume fraction below ``resolvable_radius_nm`` (mean, std over repetitions), reported apart."""
        tot = self.phi_per_contribution * (~self.resolved).sum(axis=1)
        return float(tot.mean()), float(tot.std(ddof=1)) if tot.size > 1 else 0.0

    @property
    def volume_fraction_resolved(self) -> np.ndarray:
        """(n_bins,) mean volume fraction per bin from the resolved contributions only."""
        from saxs_mc.fit.statistics import volume_histogram

        radii = np.where(self.resolved, self.radii_nm, np.inf)  # unresolved fall outside every bin
        edges = self.bin_edges_nm
        keep = np.isfinite(radii)
        h = np.zeros((radii.shape[0], edges.size - 1))
        for i in range(radii.shape[0]):
            h[i] = volume_histogram(radii[i][keep[i]][None, :], self.phi_per_contribution[i : i + 1], edges)[0]
        return h.mean(axis=0)

    @property
    def bin_centers_nm(self) -> np.ndarray:
        """(n_bins,) bin centres in nm (:func:`saxs_mc.fit.statistics.bin_centers`)."""
        return bin_centers(self.bin_edges_nm, self.bin_scale)

    @property
    def time_per_iteration_s(self) -> float:
        """Wall time per attempted move (all threads together)."""
        return self.elapsed_s / max(int(self.iterations.sum()), 1)

    def __repr__(self) -> str:
        tot = self.total_volume_fraction[0]
        whole = self.ranges[0] if self.ranges else None
        mean = f", mean r {whole.mean_nm:.4g} nm" if whole is not None else ""
        return (
            f"FitResult({self.title or 'untitled'!r}: {self.q_nm.size} q points, {self.n_contributions} x "
            f"{self.n_repetitions} contributions, chi2_r {self.chi2_r.mean():.3f}, "
            f"converged {int(self.converged.sum())}/{self.n_repetitions}, "
            f"{'phi' if self.absolute else 'relative volume'} {tot:.4g}{mean}, "
            f"unresolved {self.unresolved_volume_fraction[0]:.3g} below {self.resolvable_radius_nm:.3g} nm)"
        )

    def plot(self, axes: Any = None) -> Any:
        """Data with the fitted curve and the volume-weighted distribution; returns the two matplotlib axes.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, optional
            Where to draw; default a new Agg figure (no pyplot state).

        Returns
        -------
        (Axes, Axes)
            Curve axes (log-log) and distribution axes.
        """
        if axes is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(10, 4), layout="constrained")
            axes = fig.subplots(1, 2)
        ax_c, ax_d = axes
        ax_c.errorbar(self.q_nm, self.intensity, yerr=self.sigma, fmt=".", ms=3, lw=0.6, color="0.3", label="data")
        ax_c.plot(self.q_nm, self.model_mean, "-", color="tab:red", lw=1.2, label="MC fit (mean of repetitions)")
        from matplotlib.ticker import NullFormatter

        ax_c.set_xscale("log")
        ax_c.set_yscale("log")
        ax_c.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log range
        ax_c.set_xlabel("q (1/nm)")
        ax_c.set_ylabel(f"I ({self.intensity_unit})")
        ax_c.set_title(self.title or "Monte Carlo fit")
        ax_c.legend(fontsize="small")
        widths = np.diff(self.bin_edges_nm)
        left = self.bin_edges_nm[:-1]
        res = self.volume_fraction_resolved
        ax_d.bar(left, res, width=widths, align="edge", color="tab:blue", alpha=0.7, label="resolved")
        if np.any(self.volume_fraction - res > 0):
            ax_d.bar(
                left,
                self.volume_fraction - res,
                bottom=res,
                width=widths,
                align="edge",
                color="0.7",
                label="unresolved (not counted)",
            )
        ax_d.errorbar(
            self.bin_centers_nm, self.volume_fraction, yerr=self.volume_fraction_std, fmt="none", ecolor="k", lw=0.6
        )
        ax_d.step(
            self.bin_centers_nm,
            self.min_visibility,
            where="mid",
            color="tab:orange",
            lw=1.0,
            label="minimum visibility",
        )
        if self.bin_edges_nm[0] < self.resolvable_radius_nm < self.bin_edges_nm[-1]:
            ax_d.axvline(
                self.resolvable_radius_nm,
                color="k",
                ls=":",
                lw=1.0,
                label=f"resolvable radius {self.resolvable_radius_nm:.3g} nm",
            )
        if self.bin_scale == "log":
            ax_d.set_xscale("log")
        ax_d.set_xlabel("radius (nm)")
        ax_d.set_ylabel("volume fraction" + ("" if self.absolute else " (relative)"))
        ax_d.legend(fontsize="small")
        return ax_c, ax_d

    # ------------------------------------------------------------------
    def convergence(self) -> list[dict[str, Any]]:
        """Per repetition: converged flag, reason, iterations, acceptance rate, chi2_r, seed."""
        return [
            {
                "repetition": i,
                "converged": bool(self.converged[i]),
                "reason": self.stop_reason[i],
                "iterations": int(self.iterations[i]),
                "accepted": int(self.accepted[i]),
                "acceptance_rate": float(self.acceptance_rate[i]),
                "chi2_r": float(self.chi2_r[i]),
                "seed": int(self.repetition_seeds[i]),
            }
            for i in range(self.n_repetitions)
        ]

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary: settings, convergence, histogram, statistics per range, seed, versions."""
        tot, tot_sd = self.total_volume_fraction
        return jsonable(
            {
                "title": self.title,
                "settings": self.settings,
                "seed": self.seed,
                "repetition_seeds": [int(s) for s in self.repetition_seeds],
                "data": {
                    "n_q": int(self.q_nm.size),
                    "q_min_nm": float(self.q_nm.min()),
                    "q_max_nm": float(self.q_nm.max()),
                    "intensity_unit": self.intensity_unit,
                },
                "volume_fraction_kind": "absolute" if self.absolute else "relative",
                "contrast_1e6_A2": self.contrast_1e6_A2,
                "convergence": {
                    "all_converged": self.all_converged,
                    "chi2_r_target": self.chi2_r_target,
                    "chi2_r_accept": self.chi2_r_accept,
                    "chi2_r_mean": float(self.chi2_r.mean()),
                    "chi2_r_std": float(self.chi2_r.std()),
                    "iterations_mean": float(self.iterations.mean()),
                    "acceptance_rate_mean": float(self.acceptance_rate.mean()),
                    "stop_rule": self.settings.get("stop_rule"),
                    "elapsed_s": self.elapsed_s,
                    "time_per_iteration_s": self.time_per_iteration_s,
                    "warmup_s": self.warmup_s,
                    "repetitions": self.convergence(),
                },
                "total_volume_fraction": tot,
                "total_volume_fraction_std": tot_sd,
                "total_volume_fraction_note": "resolved volume only (radius >= resolvable_radius_nm)",
                "unresolved_volume_fraction": self.unresolved_volume_fraction[0],
                "unresolved_volume_fraction_std": self.unresolved_volume_fraction[1],
                "resolvable_radius_nm": self.resolvable_radius_nm,
                "informative_q_max_nm": self.settings.get("informative_q_max_nm"),
                "scale_mean": float(self.scale.mean()),
                "background_mean": float(self.background.mean()),
                "background_std": float(self.background.std()),
                "background_mode": self.settings.get("background"),
                "background_at_bound": self.background_at_bound,
                "power_law_coefficient_mean": float(self.power_law_coefficient.mean()),
                "histogram": {
                    "bin_scale": self.bin_scale,
                    "r_lo_nm": self.bin_edges_nm[:-1],
                    "r_hi_nm": self.bin_edges_nm[1:],
                    "volume_fraction": self.volume_fraction,
                    "volume_fraction_std": self.volume_fraction_std,
                    "number_fraction": self.number_fraction,
                    "number_fraction_std": self.number_fraction_std,
                    "min_visibility": self.min_visibility,
                    "volume_fraction_resolved": self.volume_fraction_resolved,
                },
                "ranges": [r.summary() for r in self.ranges],
                "ranges_all": [r.summary() for r in self.ranges_all],
                "ranges_visible": [r.summary() for r in self.ranges_visible],
                "warnings": list(self.warnings),
                "versions": self.versions,
            }
        )

    def report(self) -> str:
        """A readable multi-line text report."""
        kind = "absolute" if self.absolute else "relative (sum 1)"
        tot, tot_sd = self.total_volume_fraction
        n_conv = int(self.converged.sum())
        target = (
            f"target <= {self.chi2_r_target:.4f}"
            if np.isfinite(self.chi2_r_target)
            else f"run to plateau, acceptable <= {self.chi2_r_accept:.4f}"
        )
        lines = [
            f"Monte Carlo sphere fit: {self.title or '(untitled)'}",
            f"  data: {self.q_nm.size} q points, {self.q_nm.min():.4g}-{self.q_nm.max():.4g} 1/nm, I in {self.intensity_unit}",
            f"  {self.n_contributions} contributions x {self.n_repetitions} repetitions, radius "
            f"{self.bin_edges_nm[0]:.4g}-{self.bin_edges_nm[-1]:.4g} nm, seed {self.seed}",
            f"  chi2_r = {self.chi2_r.mean():.4f} +- {self.chi2_r.std():.4f} ({target}); "
            f"converged {n_conv}/{self.n_repetitions}",
            f"  iterations {self.iterations.mean():.0f} (mean), acceptance {self.acceptance_rate.mean():.3f}, "
            f"{self.time_per_iteration_s * 1e6:.3f} us/iteration, {self.elapsed_s:.3f} s",
            f"  volume fractions: {kind}; total resolved {tot:.5g} +- {tot_sd:.2g}; unresolved "
            f"{self.unresolved_volume_fraction[0]:.3g} +- {self.unresolved_volume_fraction[1]:.2g} "
            f"(radius < resolvable {self.resolvable_radius_nm:.4g} nm, reported apart)",
            f"  background {self.background.mean():.5g} "
            f"({self.settings.get('background')}"
            + (
                f", at its bound 0 in {self.background_at_bound}/{self.n_repetitions} repetitions)"
                if self.settings.get("background") == "nonnegative"
                else ")"
            ),
        ]
        bad = [c for c in self.convergence() if not c["converged"]]
        for c in bad:
            what = (
                "not converged: cap reached"
                if c["reason"] == "cap"
                else f"not converged: stagnated above chi2_r {self.chi2_r_accept:.4f}"
            )
            lines.append(
                f"  ! repetition {c['repetition']}: {what} (chi2_r {c['chi2_r']:.4f}, {c['iterations']} iterations)"
            )
        lines.append("")
        head = (
            f"  {'range (nm)':>17} {'vol.frac':>11} {'+-':>9} {'mean nm':>8} {'+-':>7} {'sd nm':>7} "
            f"{'skew':>6} {'ex.kurt':>7} {'<r>_N nm':>8} {'sub-vis':>7}"
        )
        for label, stats in (
            ("all resolved contributions", self.ranges),
            ("visible bins only", self.ranges_visible),
            ("including unresolved volume", self.ranges_all),
        ):
            if not stats:
                continue
            lines.append(f"  statistics per range, {label}:")
            lines.append(head)
            for r in stats:
                flag = (
                    "  ! dominated by sub-visibility volume"
                    if r.dominated_by_sub_visibility and label[0] == "a"
                    else ""
                )
                lines.append(
                    f"  {r.r_lo_nm:8.4g}-{r.r_hi_nm:<8.4g} {r.volume_fraction:11.5g} {r.volume_fraction_std:9.2g} "
                    f"{r.mean_nm:8.4f} {r.mean_nm_std:7.4f} {r.sd_nm:7.4f} {r.skew:6.2f} {r.excess_kurtosis:7.2f} "
                    f"{r.number_mean_nm:8.4f} {r.sub_visibility_fraction:7.3f}{flag}"
                )
        lines.append(
            f"  (sub-vis: share of the range's volume in bins below the minimum visibility; "
            f"flagged above {SUB_VISIBILITY_DOMINATED:g})"
        )
        lines.append("")
        lines.append(f"  {'r_lo nm':>8} {'r_hi nm':>8} {'vol.frac':>11} {'std':>10} {'min.vis':>10}")
        for lo, hi, v, s, m in zip(
            self.bin_edges_nm[:-1],
            self.bin_edges_nm[1:],
            self.volume_fraction,
            self.volume_fraction_std,
            self.min_visibility,
        ):
            flag = "" if v >= m else "  (below visibility)"
            if v > 0 or s > 0:
                lines.append(f"  {lo:8.4f} {hi:8.4f} {v:11.4g} {s:10.3g} {m:10.3g}{flag}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)
