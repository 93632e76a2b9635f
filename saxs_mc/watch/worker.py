"""Work done off the curve path, in worker processes (spawned once, kept warm).

* :func:`fit_task`: the McSAS fit (and the peak search) of one live curve, with the
  settings of the planned fit/peaks steps; returns a JSON-safe digest.  Nothing is
  written by the worker: the watch process writes the live results.
* :func:`sync_task`: the exact batch pipeline (:func:`saxs_mc.pipeline.run.run_pipeline`)
  on the complete frames; it writes the content-hash cache, ``summary.json`` and the
  report exactly as ``saxs-mc run`` does.

Workers ignore SIGINT while idle or fitting (a fit is simply dropped at stop); a sync
takes SIGINT as ``run`` does (cached steps kept, staging folders removed).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

import numpy as np

log = logging.getLogger("saxs_mc.watch")


def init_worker(levels: dict[str, int]) -> None:
    """Worker initializer: ignore SIGINT, copy the parent's log levels, load the fit kernels."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    from saxs_mc.pipeline.steps import warm_fit_kernels

    fit_log = logging.getLogger("saxs_mc.fit")
    level = fit_log.level
    fit_log.setLevel(logging.ERROR)
    try:
        warm_fit_kernels()
    except Exception as exc:  # an initializer that raises breaks the whole pool: the first fit compiles instead
        log.warning("fit kernels not warmed up in worker %d: %s: %s", os.getpid(), type(exc).__name__, exc)
    finally:
        fit_log.setLevel(level)


def ping() -> float:
    """Returns once the worker is initialised (the warm-up is done)."""
    return time.time()


def _usable(curve: Any) -> Any:
    ok = (
        np.isfinite(curve.q)
        & np.isfinite(curve.intensity)
        & np.isfinite(curve.sigma)
        & (curve.sigma > 0)
        & (curve.q > 0)
    )
    return curve.select(ok)


def _peak_radius(centers: np.ndarray, vf: np.ndarray) -> float | None:
    vf = np.nan_to_num(np.asarray(vf, dtype=float))
    return float(centers[int(np.argmax(vf))]) if vf.size and vf.max() > 0 else None


def fit_task(
    sample: str, curve: Any, blank_curve: Any, blank_scale: float, fit: dict[str, Any], peaks: dict[str, Any] | None
) -> dict[str, Any]:
    """Fit one live curve exactly as the batch fit step does (same settings, seed, background bounds).

    Returns
    -------
    dict
        JSON-safe digest: fitted curve and model, histogram, chi2, peak radius, peaks, timings.
    """
    from saxs_mc.fit import blank_background_bounds, fit_curve

    t0 = time.perf_counter()
    c = _usable(curve)
    bounds = blank_background_bounds(blank_curve, q_range_nm=fit["q_range_nm"], scale=blank_scale)
    res = fit_curve(
        c,
        q_range_nm=fit["q_range_nm"],
        r_range_nm=fit["r_range_nm"],
        contributions=fit["contributions"],
        repetitions=fit["repetitions"],
        seed=fit["seed"],
        contrast=fit["contrast_1e6_A2"] if c.intensity_unit == "1/cm" else None,
        n_bins=fit["bins"],
        bin_scale=fit["bin_scale"],
        title=sample,
        background_bounds=bounds,
    )
    centers = np.asarray(res.bin_centers_nm, dtype=float)
    out = {
        "sample": sample,
        "chi2_r": float(np.mean(res.chi2_r)),
        "all_converged": bool(res.all_converged),
        "q_nm": np.asarray(res.q_nm).tolist(),
        "intensity": np.asarray(res.intensity).tolist(),
        "sigma": np.asarray(res.sigma).tolist(),
        "model": np.asarray(res.model_mean).tolist(),
        "radius_edges_nm": np.asarray(res.bin_edges_nm).tolist(),
        "radius_centers_nm": centers.tolist(),
        "volume_fraction": np.nan_to_num(np.asarray(res.volume_fraction_resolved, dtype=float)).tolist(),
        "peak_radius_nm": _peak_radius(centers, res.volume_fraction_resolved),
        "total_volume_fraction": float(res.total_volume_fraction[0]),
        "intensity_unit": res.intensity_unit,
        "fit_s": time.perf_counter() - t0,
    }
    if peaks is not None:
        out["peaks"] = _peaks(c, peaks)
    return out


def _peaks(curve: Any, s: dict[str, Any]) -> list[dict[str, float]]:
    from saxs_mc.peaks import find_peaks_curve

    kw: dict[str, Any] = {"profile": s["profile"], "q_range_nm": s["q_range_nm"]}
    if s.get("min_significance") is not None:
        kw["min_significance"] = s["min_significance"]
    pk = find_peaks_curve(curve, **kw)
    return [{"q_nm": float(p.q_nm), "d_nm": float(p.d_nm)} for p in pk.peaks]


def _interrupt_once(signum: int, frame: Any) -> None:
    """The first SIGINT stops the sync; later ones (Ctrl-C and the watch's own) do not cut its clean-up short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def sync_task(cfg: Any, n_workers: int) -> dict[str, Any]:
    """Run the batch pipeline on ``cfg`` (the complete frames); a JSON-safe account of the run."""
    from saxs_mc.pipeline.run import OutputLockedError, run_pipeline

    old = signal.signal(signal.SIGINT, _interrupt_once)
    t0 = time.perf_counter()
    try:
        res = run_pipeline(cfg, n_workers=n_workers)
    except OutputLockedError as exc:
        return {"locked": str(exc)}
    except KeyboardInterrupt:
        return {"interrupted": True}
    finally:
        signal.signal(signal.SIGINT, old)
    rejected = {}
    for o in res.outcomes.values():
        if o.kind == "reduce" and o.result:
            for fr in o.result.get("frames", []):
                if fr.get("rejected"):
                    rejected[fr["file"]] = fr.get("reason") or "rejected"
    return {
        "counts": res.counts(),
        "failed": [f"{o.id} {o.status}: {o.error}" for o in res.failed],
        "rejected": rejected,
        "elapsed_s": time.perf_counter() - t0,
    }
