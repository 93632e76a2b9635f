"""The shipped time-resolved config (pipelines/growth_stack.toml) run by the pipeline recovers the truth.

One HDF5 stack of 300 frames is grouped into 10 time points of 30 frames, each reduced, blank-subtracted,
searched for the melting mesophase's Bragg peaks and fitted (300 contributions x 5 repetitions, seeded)
with the CdSe/octadecene contrast computed at the PONI's beam energy.  Truth: the per-time-point mean
radius and volume fraction of sample_data/growth_stack/truth.json (I1-weighted mixtures of the frames).
Criteria (issue 10): mean radius within 3 % and total volume fraction within 10 % at every time point.

The first time point (0-6 s) carries strong Bragg peaks of the melting mesophase: it is only recovered
when the fit leaves q within exclude_fwhm x FWHM of the peaks found in that time point out
(``[fit] exclude_bragg_peaks``, implemented by the fit step).  Without that exclusion it comes out
12 % small with 36 % too much volume (measured); that time point is then reported as an expected
failure naming the missing exclusion, and every other time point is still held to the criteria.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from saxs_mc.pipeline.config import OutputConfig, load_config
from saxs_mc.pipeline.plan import plan_steps
from saxs_mc.pipeline.run import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pipelines" / "growth_stack.toml"
TRUTH = ROOT / "sample_data" / "growth_stack" / "truth.json"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def truth():
    if not TRUTH.is_file():
        pytest.fail(
            "sample_data/growth_stack/truth.json is missing; regenerate with "
            "'saxs-mc simulate --series growth-stack -o sample_data/growth_stack --calibration calibration'"
        )
    return json.loads(TRUTH.read_text())


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def run(cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("growth") / "out"
    c = dataclasses.replace(cfg, output=OutputConfig(out, figures=False))
    res = run_pipeline(c, n_workers=2, make_report=False)  # the report's assertions are in tests/pipeline/test_report*
    assert res.ok, {k: (o.status, o.error) for k, o in res.outcomes.items() if o.status not in ("done", "cached")}
    return c, res


def _fit(root: Path, name: str) -> dict:
    return json.loads((root / "steps" / "fit" / name / f"{name}_fit.json").read_text())


def _digest(root: Path, name: str) -> dict:
    return json.loads((root / "steps" / "fit" / name / f"{name}_digest.json").read_text())


def _peaks(root: Path, name: str) -> list:
    """The Bragg peaks found in a time point, through the pipeline's typed reader."""
    from saxs_mc.pipeline.steps import read_peaks_json

    return list(read_peaks_json(root / "steps" / "peaks" / name / f"{name}_peaks.json").peaks)


def test_stack_becomes_time_points_with_conditions(cfg, truth):
    assert [s.name for s in cfg.samples] == [f"growth_t{k:03d}" for k in range(10)]
    assert cfg.series.axis == "time_s" and (cfg.series.label, cfg.series.unit) == ("time", "s")
    for s, tp in zip(cfg.samples, truth["time_points"]["points"]):
        assert s.stack == "growth" and s.n_frames == 30
        assert s.time_point["frame_range"] == tp["frames"]
        # the window centre: mean mid-exposure time of the member frames (truth: I1-weighted, 1 % flux jitter)
        assert s.conditions["time_s"] == pytest.approx(tp["time_s"], abs=0.05)
        assert s.conditions["growth_temperature_C"] == 230.0
        assert cfg.blank_for(s).name == "blank_230C"
    # the contrast of the simulation (CdSe 5.82 in octadecene 0.789 at the PONI's 12.40 keV)
    assert cfg.fit.contrast_1e6_A2 == pytest.approx(truth["contrast_1e6_A2"], rel=1e-9)
    assert cfg.material.source == "preset" and cfg.material.energy_keV == pytest.approx(12.398, abs=1e-3)


def test_plan_has_no_domain_steps_and_fit_waits_for_peaks(cfg):
    steps = plan_steps(cfg)
    kinds = {s.kind for s in steps}
    assert kinds == {"reduce", "subtract", "fit", "peaks"}  # no families, optical, mesophase (one blank)
    fit = next(s for s in steps if s.id == "fit/growth_t000")
    assert fit.deps == ("subtract/growth_t000", "peaks/growth_t000")
    assert fit.settings["exclude_bragg_peaks"] is True and fit.settings["exclude_fwhm"] == 4.0
    mat = fit.settings["material"]  # the contrast's provenance travels into each fit's manifest
    assert (mat["particle"], mat["solvent"], mat["source"]) == ("CdSe", "octadecene", "preset")
    assert (
        mat["contrast_1e6_A2"] == fit.settings["contrast_1e6_A2"] and mat["details"]["solvent"]["formula"] == "C18H36"
    )
    red = next(s for s in steps if s.id == "reduce/growth_t004")
    md = red.settings["metadata"]
    assert md["series_axis"] == "time_s" and md["stack"] == "growth" and md["time_s"] == md["conditions"]["time_s"]
    assert red.settings["sources"] == [
        f"{ROOT / 'sample_data/growth_stack/growth_230C.h5'}::/entry/instrument/detector/data[120:150]"
    ]
    assert red.n_frames == 30


def _rows(root: Path, cfg, truth) -> list[dict]:
    rows = []
    for s, tp in zip(cfg.samples, truth["time_points"]["points"]):
        whole = _fit(root, s.name)["ranges"][0]
        rows.append(
            {
                "name": s.name,
                "t": tp["time_s"],
                "dr": whole["mean_nm"] / tp["mean_radius_nm"] - 1,
                "dphi": whole["volume_fraction"] / tp["volume_fraction"] - 1,
                "peaks": [p.q_nm for p in _peaks(root, s.name)],
            }
        )
    return rows


def _bragg_q_left_out(root: Path, name: str, n_fwhm: float) -> bool:
    """True when no fitted q lies within n_fwhm x FWHM of a peak found in that time point."""
    q = np.asarray(_digest(root, name)["q_nm"], dtype=float)
    pk = _peaks(root, name)
    return bool(pk) and all(not np.any(np.abs(q - p.q_nm) <= n_fwhm * p.fwhm) for p in pk)


def test_truth_recovered_at_every_time_point(run, truth):
    c, res = run
    rows = _rows(res.root, c, truth)
    ok = [abs(r["dr"]) < 0.03 and abs(r["dphi"]) < 0.10 for r in rows]
    # time points without Bragg peaks hold to the criteria whatever the exclusion does
    for r, good in zip(rows, ok):
        if not r["peaks"]:
            assert good, f"{r['name']} (t = {r['t']:.1f} s): radius {r['dr']:+.2%}, volume fraction {r['dphi']:+.2%}"
    excluded = _bragg_q_left_out(res.root, "growth_t000", c.fit.exclude_fwhm)
    assert excluded and all(ok), rows


def test_growth_is_monotonic_and_mesophase_only_early(run, truth):
    c, res = run
    means = [_fit(res.root, s.name)["ranges"][0]["mean_nm"] for s in c.samples[1:]]
    assert np.all(np.diff(means) > 0)
    melt = truth["kinetics"]["mesophase_melt_s"]
    q1 = truth["mesophase"]["peaks"][0]["q_nm"]
    for s in c.samples:
        qs = [p.q_nm for p in _peaks(res.root, s.name)]
        if s.time_point["start_s"] >= melt:
            assert not any(abs(q - q1) < 0.1 for q in qs), (s.name, qs)
    assert any(abs(p.q_nm - q1) < 0.01 for p in _peaks(res.root, "growth_t000"))
