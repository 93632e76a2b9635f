"""Volume-weighted sphere size distributions with known truth.

A :class:`SizeDistribution` describes *volume-weighted* radii f_v(r) with a
total volume fraction ``volume_fraction``.  ``kind`` and its parameters:

=============== ====================================================
kind            parameters
=============== ====================================================
``monodisperse`` ``radius_nm``
``gaussian``     ``mean_nm``, ``sd_nm`` (truncated at r > 0)
``lognormal``    ``median_nm``, ``sigma`` (std of ln r, dimensionless)
``uniform``      ``min_nm``, ``max_nm``
=============== ====================================================
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
from collections.abc import Mapping
from typing import Any

import numpy as np

from saxs_mc.models.sphere import sphere_dsigma

_KINDS: dict[str, tuple[str, ...]] = {
    "monodisperse": ("radius_nm",),
    "gaussian": ("mean_nm", "sd_nm"),
    "lognormal": ("median_nm", "sigma"),
    "uniform": ("min_nm", "max_nm"),
}


@dataclasses.dataclass(frozen=True)
class SizeDistribution:
    """A volume-weighted sphere size distribution.

    Parameters
    ----------
    kind : str
        One of ``monodisperse``, ``gaussian``, ``lognormal``, ``uniform``.
    params : mapping
        Parameters of the kind (see module docstring), lengths in nm; real numbers
        (Python or NumPy).  Stored as a read-only copy (a ``MappingProxyType`` of
        floats), so changing the caller's dict later cannot bypass validation.
    volume_fraction : float
        Total volume fraction of material in these spheres (>= 0).
    label : str
        Optional name (e.g. ``"MSC-437"``).
    """

    kind: str
    params: Mapping[str, float]
    volume_fraction: float
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"distribution kind={self.kind!r} is unknown; use one of {sorted(_KINDS)}")
        if not isinstance(self.params, Mapping):
            raise TypeError(
                f"{self.kind} distribution: params={self.params!r} must be a mapping such as "
                f"{{{', '.join(repr(k) + ': ...' for k in _KINDS[self.kind])}}}"
            )
        need = _KINDS[self.kind]
        got = set(self.params)
        if got != set(need):
            raise ValueError(
                f"distribution kind={self.kind!r} takes parameters {list(need)}, got {sorted(got)}; "
                f"rename or remove {sorted(got ^ set(need))}"
            )
        clean: dict[str, float] = {}
        for key, val in self.params.items():
            if isinstance(val, (bool, np.bool_)) or not isinstance(val, numbers.Real):
                raise ValueError(
                    f"{self.kind} parameter {key}={val!r} (type {type(val).__name__}) must be a real number "
                    "(int, float or a NumPy number)"
                )
            if not math.isfinite(float(val)):
                raise ValueError(f"{self.kind} parameter {key}={val!r} must be a finite number")
            clean[key] = float(val)
        object.__setattr__(self, "params", types.MappingProxyType(clean))
        p = self.params
        positive = {"radius_nm", "mean_nm", "median_nm", "sd_nm", "sigma", "max_nm"}
        for key in need:
            if key in positive and p[key] <= 0:
                raise ValueError(f"{self.kind} parameter {key}={p[key]} must be > 0 (widths and radii are positive)")
        if self.kind == "uniform" and not (0 <= p["min_nm"] < p["max_nm"]):
            raise ValueError(
                f"uniform distribution needs 0 <= min_nm < max_nm, got min_nm={p['min_nm']}, max_nm={p['max_nm']}"
            )
        vf = self.volume_fraction
        if (
            isinstance(vf, (bool, np.bool_))
            or not isinstance(vf, numbers.Real)
            or not math.isfinite(float(vf))
            or vf < 0
        ):
            raise ValueError(f"volume_fraction={vf!r} must be a finite number >= 0")
        object.__setattr__(self, "volume_fraction", float(vf))
        if not isinstance(self.label, str):
            raise TypeError(f"label={self.label!r} must be a str")

    def __reduce__(self):  # MappingProxyType cannot be pickled: rebuild through the constructor
        return (type(self), (self.kind, dict(self.params), self.volume_fraction, self.label))

    # ------------------------------------------------------------------
    def support_nm(self) -> tuple[float, float]:
        """Radius interval (nm) holding all but ~1e-6 of the volume."""
        p = self.params
        if self.kind == "monodisperse":
            return p["radius_nm"], p["radius_nm"]
        if self.kind == "gaussian":
            return max(p["mean_nm"] - 5 * p["sd_nm"], 1e-4), p["mean_nm"] + 5 * p["sd_nm"]
        if self.kind == "lognormal":
            return p["median_nm"] * math.exp(-5 * p["sigma"]), p["median_nm"] * math.exp(5 * p["sigma"])
        return p["min_nm"], p["max_nm"]

    def pdf(self, radius_nm: np.ndarray) -> np.ndarray:
        """Volume-weighted probability density f_v(r) (1/nm), normalized to 1 over r > 0.

        Not defined for ``monodisperse`` (a delta function): raises ValueError.
        """
        r = np.asarray(radius_nm, dtype=float)
        p = self.params
        if self.kind == "monodisperse":
            raise ValueError("a monodisperse distribution has no density; use discretize()")
        if self.kind == "gaussian":
            mu, sd = p["mean_nm"], p["sd_nm"]
            norm = 0.5 * (1 + math.erf(mu / (sd * math.sqrt(2))))
            out = np.exp(-0.5 * ((r - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi) * norm)
            return np.where(r > 0, out, 0.0)
        if self.kind == "lognormal":
            med, s = p["median_nm"], p["sigma"]
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.exp(-0.5 * (np.log(np.where(r > 0, r, 1.0) / med) / s) ** 2) / (r * s * math.sqrt(2 * math.pi))
            return np.where(r > 0, out, 0.0)
        lo, hi = p["min_nm"], p["max_nm"]
        return np.where((r >= lo) & (r <= hi), 1.0 / (hi - lo), 0.0)

    def discretize(self, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
        """Radii and volume fractions of a fine discrete version of the distribution.

        The support is cut into ``n`` bins -- linear bins, except log-spaced bins for
        ``lognormal`` (whose density is smooth in ln r, so a linear grid under-samples
        its peak at large sigma) -- and each bin gets ``pdf(r) * dr`` at its centre
        (geometric centre for log bins), renormalized to ``volume_fraction``.

        Returns
        -------
        radius_nm : ndarray of shape (n,)
        volume_fraction : ndarray of shape (n,)
            Sums to ``self.volume_fraction``.
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n={n!r} must be an integer >= 1 (number of radius bins)")
        if self.kind == "monodisperse":
            return np.array([self.params["radius_nm"]]), np.array([float(self.volume_fraction)])
        lo, hi = self.support_nm()
        if self.kind == "lognormal":
            edges = np.geomspace(lo, hi, int(n) + 1)
            r = np.sqrt(edges[1:] * edges[:-1])
        else:
            edges = np.linspace(lo, hi, int(n) + 1)
            r = 0.5 * (edges[1:] + edges[:-1])
        w = self.pdf(r) * np.diff(edges)
        total = w.sum()
        return r, self.volume_fraction * w / total

    def moments(self) -> dict[str, float]:
        """Volume-weighted mean radius and standard deviation (nm)."""
        r, w = self.discretize(4000)
        w = w / w.sum() if w.sum() > 0 else w
        mean = float(np.sum(w * r))
        sd = float(np.sqrt(np.sum(w * (r - mean) ** 2)))
        return {"mean_nm": mean, "sd_nm": sd}

    def dsigma(self, q_nm: np.ndarray, contrast_1e6_A2: float, *, n: int = 400) -> np.ndarray:
        """Absolute dSigma/dOmega (1/cm) of these spheres, ndarray of shape (n_q,)."""
        r, phi = self.discretize(n)
        return sphere_dsigma(q_nm, r, phi, contrast_1e6_A2)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description (inverse of :func:`make_distribution`)."""
        return {
            "kind": self.kind,
            **{k: float(v) for k, v in self.params.items()},
            "volume_fraction": float(self.volume_fraction),
            "label": self.label,
        }


def make_distribution(spec: dict[str, Any]) -> SizeDistribution:
    """Build a :class:`SizeDistribution` from a flat dict (config/truth-file form).

    ``{"kind": "lognormal", "median_nm": 1.0, "sigma": 0.1, "volume_fraction": 1e-3, "label": "x"}``
    """
    if not isinstance(spec, dict):
        raise TypeError(f"distribution spec must be a dict, got {type(spec).__name__}")
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind is None:
        raise ValueError(f"distribution spec {spec} has no 'kind'; add one of {sorted(_KINDS)}")
    if "volume_fraction" not in spec:
        raise ValueError(f"distribution spec for kind={kind!r} has no 'volume_fraction'; add it")
    vf = spec.pop("volume_fraction")
    label = spec.pop("label", "")
    return SizeDistribution(kind=kind, params=spec, volume_fraction=vf, label=label)
