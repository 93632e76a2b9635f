"""Frozen results of a family decomposition."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from saxs_mc._frozen import freeze_array_fields
from saxs_mc.io.atomic import jsonable

#: status of a term: kept by the model selection, dropped (0 with an upper limit), or below the resolvable radius
STATUSES = ("present", "absent", "unresolved")


@dataclasses.dataclass(frozen=True)
class TermFraction:
    """One family or the continuous population.

    Attributes
    ----------
    name : str
    kind : {"family", "continuous"}
    status : {"present", "absent", "unresolved"}
        ``absent``: the model selection dropped it (fraction 0, see the upper limits);
        ``unresolved``: its radius is below the resolvable radius, so it was not fitted
        (its scattering cannot be told from a flat background); no fraction.
    radius_nm, radius_std_nm : float
        Fitted mean radius (families: the Gaussian mean; continuous: the volume-weighted
        mean exp(mu + s^2/2)); nominal radius for absent/unresolved families; std NaN when
        the radius is fixed or at a window edge.
    sd_nm : float
        Width: the family's standard deviation (nm) or the log-normal's sigma (of ln r).
    sd_std : float
        Uncertainty of the log-normal sigma (NaN for families, whose width is fixed).
    window_nm : (float, float)
        Refinement window (families) or the bounds on the median (continuous).
    at_bound : bool
        A refined shape parameter ended on its bound: the window may be too narrow.
    volume_fraction, volume_fraction_std, volume_fraction_upper : float or None
        Absolute volume fraction (I in 1/cm and a contrast given), its 1-sigma, and the
        one-sided 95 % upper limit for an absent term; None when not absolute.
    share, share_std, share_upper : float
        Share of the resolved total (families + continuous population), its 1-sigma, and
        the 95 % upper limit of an absent term (NaN otherwise); NaN when unresolved.
    delta_chi2, delta_bic : float
        chi2 rise and BIC change on removing the term (NaN when not tested).
    absorption_nm : float or None
    """

    name: str
    kind: str
    status: str
    radius_nm: float
    radius_std_nm: float
    sd_nm: float
    sd_std: float
    window_nm: tuple[float, float]
    at_bound: bool
    volume_fraction: float | None
    volume_fraction_std: float | None
    volume_fraction_upper: float | None
    share: float
    share_std: float
    share_upper: float
    delta_chi2: float
    delta_bic: float
    absorption_nm: float | None = None

    @property
    def present(self) -> bool:
        return self.status == "present"

    def summary(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class FamilyResult:
    """Result of :func:`saxs_mc.families.decompose` (arrays read-only).

    Attributes
    ----------
    title : str
    q_nm, intensity, sigma : ndarray (n_q,)
        The data fitted (after the q-range selection).
    model : ndarray (n_q,)
        The fitted curve.
    components : ndarray (n_components, n_q)
        Each term's contribution (present terms, then background and power law).
    component_names : tuple of str
    terms : tuple of TermFraction
        The families in order of radius, then the continuous population if configured.
    background, background_std : float
        Flat background (intensity unit) and its 1-sigma (NaN when at its bound or not fitted).
    power_law_coefficient : float
        Intensity of the power law at the lowest q (0 when not configured).
    chi2, chi2_r : float
        Final chi-square and chi2 / (n_q - n_free).
    n_free : int
        Free parameters of the final model.
    resolvable_radius_nm : float
        Smallest radius told apart from a flat background (see
        :func:`saxs_mc.families._basis.resolvable_radius`).
    total_volume_fraction, total_volume_fraction_std : float or None
        Resolved total (absolute fits only).
    absolute : bool
    contrast_1e6_A2 : float or None
    intensity_unit : str
    settings : dict
    warnings : tuple of str
    versions : dict
    elapsed_s : float
    """

    title: str
    q_nm: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    model: np.ndarray
    components: np.ndarray
    component_names: tuple[str, ...]
    terms: tuple[TermFraction, ...]
    background: float
    background_std: float
    power_law_coefficient: float
    chi2: float
    chi2_r: float
    n_free: int
    resolvable_radius_nm: float
    total_volume_fraction: float | None
    total_volume_fraction_std: float | None
    absolute: bool
    contrast_1e6_A2: float | None
    intensity_unit: str
    settings: dict[str, Any]
    warnings: tuple[str, ...]
    versions: dict[str, str]
    elapsed_s: float

    def __post_init__(self) -> None:
        freeze_array_fields(self)

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{t.name}={t.share:.3f}+-{t.share_std:.3f}" if t.present else f"{t.name}:{t.status}" for t in self.terms
        )
        return f"FamilyResult({self.title!r}, {parts}, chi2_r={self.chi2_r:.3f})"

    # ------------------------------------------------------------------
    def term(self, name: str) -> TermFraction:
        """The term called ``name`` (a family name or ``"continuous"``)."""
        for t in self.terms:
            if t.name == name:
                return t
        raise KeyError(f"no term {name!r}; terms are {[t.name for t in self.terms]}")

    @property
    def present(self) -> tuple[str, ...]:
        """Names of the terms kept by the model selection."""
        return tuple(t.name for t in self.terms if t.present)

    @property
    def shares(self) -> dict[str, float]:
        """Share of the resolved total per term (0 when absent, NaN when unresolved)."""
        return {t.name: t.share for t in self.terms}

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary: per-term fractions +- uncertainty, fit quality, settings, versions."""
        return jsonable(
            {
                "title": self.title,
                "data": {
                    "n_q": int(self.q_nm.size),
                    "q_min_nm": float(self.q_nm[0]),
                    "q_max_nm": float(self.q_nm[-1]),
                    "intensity_unit": self.intensity_unit,
                },
                "volume_fraction_kind": "absolute" if self.absolute else "relative",
                "contrast_1e6_A2": self.contrast_1e6_A2,
                "terms": [t.summary() for t in self.terms],
                "present": list(self.present),
                "total_volume_fraction": self.total_volume_fraction,
                "total_volume_fraction_std": self.total_volume_fraction_std,
                "background": self.background,
                "background_std": self.background_std,
                "power_law_coefficient": self.power_law_coefficient,
                "chi2": self.chi2,
                "chi2_r": self.chi2_r,
                "n_free": self.n_free,
                "resolvable_radius_nm": self.resolvable_radius_nm,
                "settings": self.settings,
                "warnings": list(self.warnings),
                "versions": self.versions,
                "elapsed_s": self.elapsed_s,
            }
        )

    def report(self) -> str:
        """Readable text report."""
        lines = [
            f"Family decomposition: {self.title or '(untitled)'}",
            f"  data: {self.q_nm.size} q points, {self.q_nm[0]:.4g}-{self.q_nm[-1]:.4g} 1/nm, I in {self.intensity_unit}",
            f"  chi2_r = {self.chi2_r:.4f} ({self.n_free} free parameters); model selection: "
            f"{self.settings.get('selection')}; resolvable radius {self.resolvable_radius_nm:.3f} nm",
            f"  background {self.background:.4g} +- {self.background_std:.2g} {self.intensity_unit}"
            + (
                f"; power law {self.power_law_coefficient:.4g} at q_min"
                if self.settings.get("power_law_exponent") is not None
                else ""
            ),
        ]
        if self.absolute and self.total_volume_fraction is not None:
            lines.append(
                f"  resolved total volume fraction {self.total_volume_fraction:.4g} +- "
                f"{self.total_volume_fraction_std:.2g} (contrast {self.contrast_1e6_A2:g}e-6 A^-2)"
            )
        lines.append(
            f"  {'term':<14} {'status':<10} {'radius nm':>10} {'+-':>7} {'width':>6} {'share':>7} {'+-':>6} "
            f"{'phi':>10} {'+-':>8} {'dBIC':>8}"
        )
        for t in self.terms:
            lines.append(_term_line(t))
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)

    def plot(self, ax=None, *, residuals: bool = False):
        """Data, model and components on log-log axes; returns the matplotlib axes.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw into this axes (default: a new figure, object-oriented API, Agg-safe).
        residuals : bool
            Plot normalised residuals (I - model) / sigma instead.
        """
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(6, 4.2)).add_subplot()
        if residuals:
            ax.plot(self.q_nm, (self.intensity - self.model) / self.sigma, ".", ms=3, color="0.3")
            ax.axhline(0, color="k", lw=0.8)
            ax.set_xscale("log")
            ax.set_ylabel("(I - model) / sigma")
        else:
            ax.errorbar(self.q_nm, self.intensity, self.sigma, fmt=".", ms=3, color="0.4", elinewidth=0.6, label="data")
            ax.plot(self.q_nm, self.model, "k-", lw=1.4, label=f"model, chi2_r {self.chi2_r:.2f}")
            for name, comp in zip(self.component_names, self.components):
                if np.any(comp > 0):
                    ax.plot(self.q_nm, comp, "--", lw=1.0, label=name)
            ax.set_xscale("log")
            ax.set_yscale("log")
            pos = self.intensity[self.intensity > 0]
            if pos.size:
                ax.set_ylim(max(pos.min() * 0.5, pos.max() * 1e-4), pos.max() * 2)
            ax.set_ylabel(f"I ({self.intensity_unit})")
            ax.legend(fontsize=7)
        ax.set_xlabel("q (1/nm)")
        ax.set_title(self.title or "family decomposition", fontsize=9)
        return ax


def _term_line(t: TermFraction) -> str:
    def f(v, fmt):
        return format(v, fmt) if v is not None and np.isfinite(v) else "-"

    if t.status == "absent":
        share = f"< {f(t.share_upper, '.3f')}"
        phi = f"< {f(t.volume_fraction_upper, '.3g')}" if t.volume_fraction_upper is not None else "-"
        return (
            f"  {t.name:<14} {t.status:<10} {t.radius_nm:10.4f} {'':>7} {t.sd_nm:6.3f} {share:>14} "
            f"{phi:>19} {f(t.delta_bic, '8.1f')}"
        )
    edge = "  ! shape at its bound" if t.at_bound else ""
    return (
        f"  {t.name:<14} {t.status:<10} {t.radius_nm:10.4f} {f(t.radius_std_nm, '7.4f'):>7} {t.sd_nm:6.3f} "
        f"{f(t.share, '7.3f'):>7} {f(t.share_std, '6.3f'):>6} {f(t.volume_fraction, '10.4g'):>10} "
        f"{f(t.volume_fraction_std, '8.2g'):>8} {f(t.delta_bic, '8.1f'):>8}{edge}"
    )
