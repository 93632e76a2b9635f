"""The time-resolved growth-stack simulator (saxs_mc.simulate.growth) on a short run in tmp_path."""

from __future__ import annotations

import csv
import json
import math

import h5py
import hdf5plugin
import numpy as np
import pytest

from saxs_mc.models.materials import contrast
from saxs_mc.simulate.growth import (
    NEXUS_TIME_PATH,
    GrowthAcquisition,
    GrowthKinetics,
    simulate_growth_stack,
    window_truth,
    write_growth_calibration,
)
from saxs_mc.simulate.render import expected_counts, pixel_dsigma
from saxs_mc.simulate.writers import NEXUS_DATA_PATH

SHORT = GrowthAcquisition(n_frames=12, n_blank_frames=4, time_points=3)


def test_kinetics_reach_the_stated_end_points():
    k = GrowthKinetics()
    assert k.mean_radius_nm(0.0) == pytest.approx(1.0) and k.mean_radius_nm(60.0) == pytest.approx(2.5)
    # cube law: r^3 linear in time
    r3 = k.mean_radius_nm(np.array([0.0, 20.0, 40.0, 60.0])) ** 3
    assert np.allclose(np.diff(r3), np.diff(r3)[0])
    phi = k.volume_fraction(np.linspace(0, 60, 7))
    assert np.all(np.diff(phi) > 0) and 2e-4 < phi[0] < 2.5e-4 and 1.1e-3 < phi[-1] < 1.2e-3
    assert k.mesophase_strength(0.0) == pytest.approx(0.15)
    assert k.mesophase_strength(8.0) == 0.0 and k.mesophase_strength(30.0) == 0.0
    assert 0 < k.mesophase_strength(4.0) < k.mesophase_strength(1.0)


@pytest.mark.parametrize("t", [0.1, 17.0, 59.9])
def test_distribution_has_the_stated_volume_weighted_mean(t):
    k = GrowthKinetics()
    d = k.distribution(t)
    assert d.kind == "lognormal" and d.volume_fraction == pytest.approx(float(k.volume_fraction(t)))
    # analytic: volume-weighted lognormal mean = median exp(sigma^2/2); the discretized moment agrees
    assert d.params["median_nm"] * math.exp(d.params["sigma"] ** 2 / 2) == pytest.approx(float(k.mean_radius_nm(t)))
    assert d.moments()["mean_nm"] == pytest.approx(float(k.mean_radius_nm(t)), rel=2e-3)


def test_window_truth_mixes_frames_by_monitor_and_volume():
    f = [
        {
            "Intensity1ShutCor": 1.0,
            "volume_fraction": 1e-4,
            "mean_radius_discrete_nm": 1.0,
            "sd_nm": 0.1,
            "time_s": 0.0,
            "time_start_s": -0.1,
            "time_end_s": 0.1,
            "mesophase_strength": 0.2,
        },
        {
            "Intensity1ShutCor": 1.0,
            "volume_fraction": 3e-4,
            "mean_radius_discrete_nm": 2.0,
            "sd_nm": 0.1,
            "time_s": 1.0,
            "time_start_s": 0.9,
            "time_end_s": 1.1,
            "mesophase_strength": 0.0,
        },
    ]
    w = window_truth(f)
    assert w["volume_fraction"] == pytest.approx(2e-4)
    assert w["mean_radius_nm"] == pytest.approx((1e-4 * 1 + 3e-4 * 2) / 4e-4)
    assert w["sd_nm"] == pytest.approx(math.sqrt(0.01 + 0.75 * 0.25 * 1.0))  # within + between
    assert (w["time_start_s"], w["time_end_s"], w["mesophase_strength"]) == pytest.approx((-0.1, 1.1, 0.1))


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("growth")
    poni, mask = write_growth_calibration(root / "calibration")
    res = simulate_growth_stack(root / "out", poni, mask, seed=11, acquisition=SHORT)
    return res, poni, mask


def test_layout_time_axis_monitors_and_sidecar_agree(short_run):
    res, _, _ = short_run
    truth = json.loads(res.truth_path.read_text())
    with h5py.File(res.stack_path, "r") as f:
        assert f[NEXUS_DATA_PATH].shape == (12, 160, 160)
        assert str(hdf5plugin.BSHUF_ID) in f[NEXUS_DATA_PATH]._filters  # bitshuffle(-LZ4), one chunk per frame
        assert f[NEXUS_DATA_PATH].chunks == (1, 160, 160)
        t = f[NEXUS_TIME_PATH][()]
        assert f[NEXUS_TIME_PATH].attrs["units"] == "s"
        assert list(f["/entry/data"].attrs["axes"]) == ["time", ".", "."]
        i0, i1 = f["/entry/monitor_i0/data"][()], f["/entry/monitor_i1/data"][()]
        hdr_t = f["/entry/id02_headers/ReactionTime_s"][()]
    assert t == pytest.approx((np.arange(12) + 0.5) * 0.2)
    assert hdr_t == pytest.approx(t)
    rows = list(csv.DictReader(res.sidecar_path.read_text().splitlines()))
    assert [int(r["frame"]) for r in rows] == list(range(12))
    assert [float(r["time_s"]) for r in rows] == pytest.approx(t)
    assert [float(r["I0"]) for r in rows] == pytest.approx(i0, rel=1e-9)
    assert [float(r["I1"]) for r in rows] == pytest.approx(i1, rel=1e-9)
    assert [fr["Intensity1ShutCor"] for fr in truth["frames"]] == pytest.approx(i1, rel=1e-9)
    assert np.std(i0) / np.mean(i0) > 0.002  # the flux jitter is real and recorded
    assert [p["frames"] for p in truth["time_points"]["points"]] == [[0, 4], [4, 8], [8, 12]]


def test_truth_records_contrast_with_provenance(short_run):
    res, _, _ = short_run
    truth = json.loads(res.truth_path.read_text())
    c = contrast("CdSe", "octadecene", wavelength_nm=0.1)
    assert truth["contrast_1e6_A2"] == pytest.approx(c.contrast_1e6_A2) == pytest.approx(32.76, abs=0.05)
    assert truth["contrast"]["particle"]["formula"] == "CdSe" and truth["contrast"]["energy_keV"] == pytest.approx(
        12.398, abs=1e-3
    )
    fr = truth["frames"][5]
    k = GrowthKinetics()
    assert fr["mean_radius_nm"] == pytest.approx(float(k.mean_radius_nm(fr["time_s"])))
    assert fr["mesophase_strength"] == pytest.approx(float(k.mesophase_strength(fr["time_s"])))


def test_frames_are_poisson_around_the_expected_counts(short_run):
    """Sum of frames vs the renderer's noiseless expectation for the same condition (chi2 per pixel ~ 1)."""
    from saxs_mc.simulate.geometry import load_geometry
    from saxs_mc.simulate.growth import _frame_condition

    res, poni, mask = short_run
    truth = json.loads(res.truth_path.read_text())
    geom = load_geometry(poni, mask)
    with h5py.File(res.stack_path, "r") as f:
        data = f[NEXUS_DATA_PATH][()].astype(float)
    chi = []
    for i in (0, 11):
        cond = _frame_condition(GrowthKinetics(), SHORT, truth["frames"][i]["time_s"], truth["contrast_1e6_A2"])
        mu = expected_counts(geom, cond, truth["frames"][i]["Intensity1ShutCor"], dsigma=pixel_dsigma(geom, cond))
        ok = ~geom.mask & (mu > 5)
        chi.append(np.mean((data[i][ok] - mu[ok]) ** 2 / mu[ok]))
        assert abs(data[i][ok].sum() / mu[ok].sum() - 1) < 0.01
    assert chi == pytest.approx([1.0, 1.0], abs=0.05)


def test_same_seed_same_files_other_seed_other_frames(short_run, tmp_path):
    res, poni, mask = short_run
    again = simulate_growth_stack(tmp_path / "a", poni, mask, seed=11, acquisition=SHORT)
    assert again.stack_path.read_bytes() == res.stack_path.read_bytes()
    assert again.blank_path.read_bytes() == res.blank_path.read_bytes()
    assert again.sidecar_path.read_bytes() == res.sidecar_path.read_bytes()
    other = simulate_growth_stack(tmp_path / "b", poni, mask, seed=12, acquisition=SHORT)
    with h5py.File(other.stack_path, "r") as f1, h5py.File(res.stack_path, "r") as f2:
        assert not np.array_equal(f1[NEXUS_DATA_PATH][0], f2[NEXUS_DATA_PATH][0])


def test_bad_settings_are_errors():
    with pytest.raises(ValueError, match="n_frames"):
        GrowthAcquisition(n_frames=0)
    with pytest.raises(ValueError, match="time_points=20 exceeds n_frames=10"):
        GrowthAcquisition(n_frames=10, time_points=20)
    with pytest.raises(ValueError, match="r_end_nm=-1"):
        GrowthKinetics(r_end_nm=-1)


def test_cli_dispatches_growth_stack(tmp_path, monkeypatch, capsys):
    """`saxs-mc simulate --series growth-stack` calls make_growth_stack with the folder, calibration and seed."""
    import argparse

    import saxs_mc.simulate.growth as growth
    from saxs_mc.simulate import cli

    calls = []

    def fake(outdir, calibration_dir, *, seed):
        calls.append((outdir, calibration_dir, seed))
        return growth.simulate_growth_stack(
            outdir,
            *write_growth_calibration(calibration_dir),
            seed,
            acquisition=GrowthAcquisition(n_frames=3, n_blank_frames=2, time_points=1),
        )

    monkeypatch.setattr(growth, "make_growth_stack", fake)
    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers(dest="command"))
    args = p.parse_args(
        ["simulate", "--series", "growth-stack", "-o", str(tmp_path / "g"), "--calibration", str(tmp_path / "cal")]
    )
    assert args.func(args) == 0
    assert calls == [(tmp_path / "g", tmp_path / "cal", growth.GROWTH_SEED)]
    assert capsys.readouterr().out.strip() == str(tmp_path / "g" / "truth.json")
    assert (tmp_path / "cal" / "eiger_growth.poni").is_file() and (tmp_path / "g" / "growth_230C.h5").is_file()
