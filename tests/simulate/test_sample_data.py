"""The shipped sample series and calibration files match truth.json."""

from __future__ import annotations

import json
from pathlib import Path

import fabio
import h5py
import hdf5plugin  # noqa: F401
import numpy as np
import pytest

from saxs_mc.provenance import file_sha256
from saxs_mc.simulate import load_geometry, render_frame_truth
from saxs_mc.simulate.series import cdse_nucleation_conditions
from tests.simulate.conftest import integrate

ROOT = Path(__file__).resolve().parents[2]
SERIES = ROOT / "sample_data" / "cdse_series"
CALIB = ROOT / "calibration"


@pytest.fixture(scope="module")
def truth():
    return json.loads((SERIES / "truth.json").read_text())


@pytest.fixture(scope="module")
def shipped_geom():
    return load_geometry(CALIB / "id02_sim.poni", CALIB / "id02_sim_mask.edf")


def test_layout_and_files_present(truth):
    names = set(truth["conditions"])
    expected = {f"nuc{t}C" for t in range(190, 290, 10)} | {
        "blank_230C",
        "blank_025C",
        "blank_050C",
        "blank_100C",
        "empty_cell",
        "water",
    }
    assert names == expected
    for name, cond in truth["conditions"].items():
        files = sorted(p.name for p in (SERIES / name).glob("*.edf"))
        assert files == [f"{name}_{i:05d}.edf" for i in range(cond["n_frames"])]
        assert [f["file"] for f in cond["frames"]] == [f"{name}/{f}" for f in files]
        assert (SERIES / cond["truth_curve"]).is_file()
    assert truth["geometry"]["poni_sha256"] == file_sha256(CALIB / "id02_sim.poni")
    assert truth["geometry"]["mask_sha256"] == file_sha256(CALIB / "id02_sim_mask.edf")
    assert (SERIES / "README.md").is_file()


def test_exactly_one_faulty_frame_a_gas_bubble(truth):
    assert len(truth["faulty_frames"]) == 1
    listed = [f for c in truth["conditions"].values() for f in c["frames"] if f["faulty"]]
    assert [f["file"] for f in listed] == truth["faulty_frames"]
    assert "gas bubble" in listed[0]["reason"]
    cond_name = truth["faulty_frames"][0].split("/")[0]
    frames = truth["conditions"][cond_name]["frames"]
    t_bad = listed[0]["transmission"]
    t_good = [f["transmission"] for f in frames if not f["faulty"]]
    assert t_bad > max(t_good) + 0.05
    # the faulty frame really scatters less per transmitted photon
    rates = []
    for f in frames:
        img = fabio.open(str(SERIES / f["file"]))
        valid = img.data >= 0
        rates.append(img.data[valid].sum() / float(img.header["Intensity1ShutCor"]))
    bad = [r for r, f in zip(rates, frames) if f["faulty"]][0]
    good = [r for r, f in zip(rates, frames) if not f["faulty"]]
    assert bad < 0.8 * min(good)


def test_headers_match_truth_and_geometry(truth, shipped_geom):
    g = shipped_geom.header_geometry()
    for cond in truth["conditions"].values():
        for f in cond["frames"]:
            img = fabio.open(str(SERIES / f["file"]))
            h = img.header
            assert img.data.shape == shipped_geom.shape
            assert float(h["Intensity0ShutCor"]) == f["Intensity0ShutCor"]
            assert float(h["Intensity1ShutCor"]) == f["Intensity1ShutCor"]
            assert float(h["SampleTemperature_C"]) == cond["temperature_C"]
            assert float(h["SampleThickness_cm"]) == cond["thickness_cm"]
            for key in ("Center_1", "Center_2", "PSize_1", "PSize_2", "SampleDistance", "WaveLength"):
                assert float(h[key]) == pytest.approx(g[key], rel=1e-9)
            if cond["kind"] == "sample":
                assert float(h["NucleationTemperature_C"]) == cond["nucleation_temperature_C"]
                assert float(h["GrowthTemperature_C"]) == 230.0 and float(h["ReactionTime_s"]) == 1.5


def test_truth_follows_the_reference_study(truth):
    c = truth["conditions"]

    def means(name):
        return sorted(round(m["mean_nm"], 2) for m in c[name]["distribution_moments"])

    assert means("nuc190C") == [0.87]
    assert means("nuc200C") == means("nuc210C") == means("nuc220C") == [0.94]
    assert means("nuc230C") == [0.94, 1.02] and means("nuc240C") == [0.94, 1.02]
    vf230 = {d["label"].split()[1]: d["volume_fraction"] for d in c["nuc230C"]["distributions"]}
    vf240 = {d["label"].split()[1]: d["volume_fraction"] for d in c["nuc240C"]["distributions"]}
    assert vf230["r=1.02"] < vf230["r=0.94"] and vf240["r=1.02"] > vf240["r=0.94"]  # shoulder, then dominant
    nc = [c[f"nuc{t}C"]["distribution_moments"][0] for t in (250, 260, 270, 280)]
    assert all(b["mean_nm"] > a["mean_nm"] and b["sd_nm"] > a["sd_nm"] for a, b in zip(nc, nc[1:]))
    assert [len(c[n]["peaks"]) for n in ("blank_025C", "blank_050C", "blank_100C", "blank_230C")] == [2, 2, 0, 0]
    assert c["blank_025C"]["peaks"][0]["q_nm"] == 1.84 and c["blank_025C"]["peaks"][1]["q_nm"] == 3.69


def test_eiger_stack_equals_edf_frames(truth):
    nx = truth["nexus"]
    cond = truth["conditions"][nx["condition"]]
    with h5py.File(SERIES / nx["file"], "r") as f:
        stack = f[nx["data_path"]][()]
        i1 = f["/entry/monitor_i1/data"][()]
    assert stack.shape[0] == cond["n_frames"]
    for k, fr in enumerate(cond["frames"]):
        np.testing.assert_array_equal(stack[k], fabio.open(str(SERIES / fr["file"])).data)
        assert i1[k] == fr["Intensity1ShutCor"]


def test_shipped_frames_regenerate_bit_for_bit(truth, shipped_geom):
    """README promise: the seeded generator reproduces the shipped frames (checked on one condition)."""
    conds = {c.name: c for c in cdse_nucleation_conditions()}
    name = "nuc190C"
    cond = conds[name]
    assert cond.to_dict()["distributions"] == truth["conditions"][name]["distributions"]
    seed = int(fabio.open(str(SERIES / name / f"{name}_00000.edf")).header["SimulationSeed"])
    rng = np.random.default_rng(seed)
    for k in range(cond.n_frames):
        data, _, _ = render_frame_truth(cond, shipped_geom, k, rng)
        np.testing.assert_array_equal(data, fabio.open(str(SERIES / name / f"{name}_{k:05d}.edf")).data)


def test_shipped_sample_minus_blank_recovers_particles(truth, shipped_geom):
    """The particle signal of the shipped data is there and right after blank subtraction."""
    ai, mask = shipped_geom.ai, shipped_geom.mask.astype(np.uint8)

    def mean_curve(name):
        acc = []
        for fr in truth["conditions"][name]["frames"]:
            if fr["faulty"]:
                continue
            img = fabio.open(str(SERIES / fr["file"]))
            acc.append(integrate(ai, mask, img.data, float(img.header["Intensity1ShutCor"]), 0.15, npt=200))
        q = acc[0][0]
        i = np.mean([a[1] for a in acc], axis=0)
        s = np.sqrt(np.sum([a[2] ** 2 for a in acc], axis=0)) / len(acc)
        return q, i, s

    q, i_s, s_s = mean_curve("nuc280C")
    _, i_b, s_b = mean_curve("blank_230C")
    net, sig = i_s - i_b, np.hypot(s_s, s_b)
    path = SERIES / "nuc280C" / "nuc280C_truth.dat"
    head = path.read_text().splitlines()[:2]
    assert "saxs_mc.simulate truth" in head[0]
    names = head[1].split()[2:]
    tab = np.loadtxt(path)
    part = np.interp(q, tab[:, 0], tab[:, names.index("particles")])
    sel = (q > 0.3) & (q < 3.0)
    z = (net[sel] - part[sel]) / sig[sel]
    assert np.mean(z**2) < 1.5
    # particle signal clearly above noise at low q (fittable)
    assert np.all(net[(q > 0.15) & (q < 1.0)] > 20 * sig[(q > 0.15) & (q < 1.0)])
