"""The re-fit rule (noise-based) on seeded Poisson frames, and the live path against the batch pipeline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from saxs_mc.pipeline.config import allow_unmatched_globs, load_config
from saxs_mc.watch import WatchSession, WatchSettings
from saxs_mc.watch.refit import curve_change

from .conftest import DATA

Q = np.geomspace(0.3, 7.0, 120)
LAMBDA = 1000.0 * (1.0 + 1.0 / (1.0 + (Q / 1.5) ** 4))  # mean counts per bin per frame


def _average(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson ML average of frames (rows) with its standard error, as the reducer forms it."""
    n = frames.shape[0]
    return frames.sum(axis=0) / n, np.sqrt(frames.sum(axis=0)) / n


def _trial(rng: np.random.Generator, growth: float, nested: bool = True) -> tuple[float, bool]:
    old = rng.poisson(LAMBDA, size=(5, Q.size)).astype(float)
    new = rng.poisson(LAMBDA * (1.0 + growth), size=(5, Q.size)).astype(float)
    fitted, current = _average(old), _average(np.vstack([old, new]))
    ch = curve_change(Q, current, fitted, nested=nested, q_range_nm=(0.3, 7.0), k=3.0)
    return ch.chi2, ch.changed


def test_unchanged_frames_rarely_trigger_a_refit_and_chi2_has_mean_one():
    rng = np.random.default_rng(11)
    trials = [_trial(rng, 0.0) for _ in range(300)]
    chi2 = np.array([c for c, _ in trials])
    assert abs(chi2.mean() - 1.0) < 0.03  # Var(new - old) = Var(old) - Var(new) for nested Poisson averages
    assert sum(t for _, t in trials) <= 3  # k = 3: expected false-positive rate ~0.2 %


def test_treating_nested_curves_as_independent_would_hide_changes():
    rng = np.random.default_rng(12)
    chi2 = np.array([_trial(rng, 0.0, nested=False)[0] for _ in range(100)])
    assert abs(chi2.mean() - 1.0 / 3.0) < 0.03  # (1/5 - 1/10) / (1/5 + 1/10): why the nested variance is used


def test_a_five_percent_change_in_half_the_frames_triggers_a_refit():
    rng = np.random.default_rng(13)
    assert all(_trial(rng, 0.05)[1] for _ in range(50))
    assert not any(_trial(rng, 0.0)[1] for _ in range(20))


def test_curve_change_checks_shapes_and_empty_ranges():
    with pytest.raises(ValueError, match="shapes differ"):
        curve_change(Q, (Q, Q), (Q[:-1], Q[:-1]), nested=True)
    ch = curve_change(Q, (LAMBDA, np.sqrt(LAMBDA)), (LAMBDA, np.sqrt(LAMBDA)), nested=False, q_range_nm=(10, 20))
    assert ch.n == 0 and not ch.changed


def _inline(fn, *args):
    import concurrent.futures

    fut = concurrent.futures.Future()
    fut.set_result(fn(*args))
    return fut


def test_live_curve_and_live_fit_equal_the_batch_pipeline_steps(live_setup):
    """The curve path and a live fit compute exactly what 'run' computes for the same frames."""
    from saxs_mc.pipeline.run import run_pipeline
    from saxs_mc.reduce import read_reduced

    cfg_path, frames, out = live_setup
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    s = WatchSession(cfg, WatchSettings())
    for cond in ("blank_230C", "nuc260C"):
        (frames / cond).mkdir()
        for f in sorted((DATA / cond).glob("*.edf")):
            shutil.copy(f, frames / cond)
    assert s.scan(now=0.0) is True
    assert s.update_curves() == ["nuc260C"]
    st = s.samples["nuc260C"]
    assert st.rejected and "nuc260C_00002.edf" in st.rejected[0]  # the gas bubble, as the batch reduction does
    assert s.fits_due(0.0) == ["nuc260C"] and st.fit_reason == "first curve"
    s.start_fit("nuc260C", _inline)
    assert s.collect_fits() == ["nuc260C"]
    res = run_pipeline(s.live_config())
    sub = read_reduced(out / res.outcomes["subtract/nuc260C"].result["outputs"]["nxcansas"]).curve
    np.testing.assert_array_equal(st.curve.q, sub.q)
    np.testing.assert_array_equal(st.curve.intensity, sub.intensity)
    np.testing.assert_array_equal(st.curve.sigma, sub.sigma)
    assert st.fit["chi2_r"] == res.outcomes["fit/nuc260C"].result["chi2_r"]
    # no new frame: nothing to re-fit
    assert s.fits_due(1.0) == []


def test_the_curve_path_does_not_wait_for_a_running_fit(live_setup):
    import concurrent.futures
    import json

    cfg_path, frames, out = live_setup
    with allow_unmatched_globs():
        cfg = load_config(cfg_path)
    s = WatchSession(cfg, WatchSettings(refit_every_s=None))
    for name in ("blank_230C_00000.edf", "nuc190C_00000.edf"):
        (frames / name.rsplit("_", 1)[0]).mkdir(exist_ok=True)
        shutil.copy(DATA / name.rsplit("_", 1)[0] / name, frames / name.rsplit("_", 1)[0])
    s.scan(now=0.0)
    assert s.update_curves() == ["nuc190C"] and s.fits_due(0.0) == ["nuc190C"]
    running: concurrent.futures.Future = concurrent.futures.Future()
    s.start_fit("nuc190C", lambda fn, *a: running)  # a fit that has not finished
    shutil.copy(DATA / "nuc190C" / "nuc190C_00001.edf", frames / "nuc190C")
    s.scan(now=1.0)
    assert s.update_curves() == ["nuc190C"]  # the new frame's curve is in at once
    assert s.samples["nuc190C"].n_frames == 2 and s.fits_due(1.0) == [] and s.collect_fits() == []
    live = json.loads((out / "summary.json").read_text())["live"]["samples"]["nuc190C"]
    assert live["n_frames"] == 2 and live["fit"] is None
    running.set_result(
        {
            "chi2_r": 1.1,
            "peak_radius_nm": 2.0,
            "all_converged": True,
            "total_volume_fraction": 0.01,
            "fit_s": 1.0,
            "peaks": [],
            "q_nm": [],
            "model": [],
        }
    )
    assert s.collect_fits() == ["nuc190C"]
    live = json.loads((out / "summary.json").read_text())["live"]["samples"]["nuc190C"]
    assert live["fit"]["n_frames_fitted"] == 1 and live["n_frames"] == 2
    assert s.samples["nuc190C"].last_change is None
    s.fits_due(2.0)  # the curve moved on since the fit: the rule is evaluated (nested: one frame added)
    assert s.samples["nuc190C"].last_change["nested"] is True
