"""Frames from beamlines other than ID02 (issue 9; issue 13 item 10).

Synthetic frames (always run) and the real Elettra Pilatus 1M pair with the beamline's Fit2D
calibration, mask and integrations from ``../shared/realdata`` (skipped where absent).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from saxs_mc.cli import main
from saxs_mc.reduce import HeaderMap, Reducer, ReductionSettings, read_reduced
from tests.conftest import ELETTRA as REAL
from tests.conftest import needs_elettra as needs_real
from tests.reduce import conftest as C


def _counts(sim, seed=0, i1=1e10, dtype=np.int32):
    rng = np.random.default_rng(seed)
    return rng.poisson(sim.expected_counts(C.sphere_truth, i1)).astype(dtype)


def _write_edf(path, data, header):
    from fabio.edfimage import EdfImage

    EdfImage(data=data, header=header).write(str(path))
    return path


# ----------------------------------------------------------------------
# the real Elettra pair: Fit2D log -> PONI -> reduce -> the beamline's own .chi
@pytest.fixture(scope="module")
def elettra_poni(tmp_path_factory):
    if not REAL.is_dir():
        pytest.skip("real Elettra frames (../shared/realdata) are not available in this checkout")
    out = tmp_path_factory.mktemp("elettra") / "elettra.poni"
    assert (
        main(
            [
                "-q",
                "geometry",
                "--from-fit2d",
                str(REAL / "calibration_fit2d.txt"),
                "--detector",
                "Pilatus1M",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    return out


def _chi(path):
    data = np.loadtxt(path, skiprows=4)
    return data[:, 0], data[:, 1]


@needs_real
def test_elettra_reduction_matches_the_beamline_fit2d_integration(elettra_poni, tmp_path):
    """Fit2D skipped the solid-angle and polarisation corrections: with them off, curve / .chi is constant (< 0.5 %)."""
    out = tmp_path / "part.h5"
    rc = main(
        [
            "-q",
            "reduce",
            str(REAL / "part_00000.tif"),
            "--poni",
            str(elettra_poni),
            "--mask",
            str(REAL / "AAA_integ.msk"),
            "--flip",
            "ud",
            "--normalization",
            "exposure",
            "--no-solid-angle",
            "--no-polarization",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    res = read_reduced(out)
    q_chi, i_chi = _chi(REAL / "part_00000.chi")
    lo, hi = max(res.curve.q.min(), q_chi[i_chi > 0].min()), min(res.curve.q.max(), q_chi[i_chi > 0].max())
    sel = (res.curve.q >= lo) & (res.curve.q <= hi)
    ratio = res.curve.intensity[sel] / np.interp(res.curve.q[sel], q_chi, i_chi)
    assert sel.sum() > 800
    assert ratio.std() / ratio.mean() < 0.005
    # a monitor-less TIFF in one run: arbitrary units, per second, stated in the file
    with h5py.File(out, "r") as fh:
        assert fh["sasentry01/sasdata01/I"].attrs["units"] == "arbitrary"
        desc = fh["sasentry01/sasprocess01/description"][()].decode()
        det = fh["sasentry01/sasinstrument/sasdetector"]
        bc = (float(det["beam_center_x"][()]), float(det["beam_center_y"][()]), float(det["SDD"][()]))
    assert "exposure time" in desc and "'Exposure_time'" in desc and "arbitrary units" in desc
    assert res.frames[0].exposure_s == 10.0 and res.frames[0].divisor == 10.0
    # NXcanSAS states the direct beam and the distance along it (Fit2D's numbers), not the PONI
    assert bc == pytest.approx((387.772, 808.370, 1031.657), abs=1e-3)


@needs_real
def test_elettra_without_the_flip_fails_naming_it(elettra_poni, tmp_path, capsys):
    out = tmp_path / "part.h5"
    rc = main(
        [
            "reduce",
            str(REAL / "part_00000.tif"),
            "--poni",
            str(elettra_poni),
            "--mask",
            str(REAL / "AAA_integ.msk"),
            "--normalization",
            "exposure",
            "-o",
            str(out),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "does not line up with the frame" in err and "--flip ud" in err and "--mask-flip ud" in err
    assert "nothing written" in err and not out.exists() and not out.with_suffix(".dat").exists()


@needs_real
def test_elettra_saturated_pixels_are_masked_from_the_count_cutoff(elettra_poni):
    settings = dict(flip="ud", normalization="none", calibration_factor=None, npt=300)
    with_cut = Reducer(elettra_poni, REAL / "AAA_integ.msk", ReductionSettings(**settings))
    without = Reducer(elettra_poni, REAL / "AAA_integ.msk", ReductionSettings(**settings, saturation=1e12))
    a = with_cut.reduce([REAL / "part_00000.tif"], title="a").curve
    b = without.reduce([REAL / "part_00000.tif"], title="b").curve
    assert with_cut.settings.header.count_cutoff == "Count_cutoff"
    assert np.any(a.intensity < b.intensity)  # the 7 cut-off pixels no longer count
    assert np.count_nonzero(a.intensity != b.intensity) <= 10


# ----------------------------------------------------------------------
# normalisation without monitors: header-less TIFF, exposure with units, constant, none
def test_monitorless_tiff_reduces_in_one_run_in_arbitrary_units(sim, tmp_path, capsys):
    from fabio.tifimage import TifImage

    tif = tmp_path / "frame.tif"
    TifImage(data=_counts(sim)).write(str(tif))
    out = tmp_path / "t.h5"
    rc = main(["reduce", str(tif), "--poni", str(sim.poni), "--mask", str(sim.mask), "-o", str(out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "'Intensity1ShutCor' (transmitted monitor) is missing" in err and "--normalization" in err
    rc = main(
        [
            "-q",
            "reduce",
            str(tif),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "--normalization",
            "none",
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    res = read_reduced(out)
    assert res.curve.intensity_unit == "arbitrary" and res.frames[0].thickness_cm is None
    prov = json.loads(h5py.File(out, "r")["sasentry01/sasprocess01/provenance"][()])
    assert "divided by nothing (raw counts); arbitrary units" in prov["normalization"]


@pytest.fixture(scope="module")
def plain(sim, tmp_path_factory):
    """One frame without monitors, with a Pilatus-style exposure 'Exposure_time: 10.0000000 s'."""
    folder = tmp_path_factory.mktemp("plain")
    return _write_edf(folder / "p.edf", _counts(sim, seed=3), {"Exposure_time": "10.0000000 s"})


def _reduce(sim, source, **kw):
    kw.setdefault("calibration_factor", None)
    return Reducer(sim.poni, sim.mask, ReductionSettings(npt=60, **kw)).reduce([source], title="x")


def test_exposure_and_constant_normalisations_divide_exactly(sim, plain):
    raw = _reduce(sim, plain, normalization="none").curve
    per_s = _reduce(sim, plain, normalization="exposure").curve
    const = _reduce(sim, plain, normalization="constant", normalization_constant=4.0).curve
    np.testing.assert_allclose(per_s.intensity, raw.intensity / 10.0, rtol=1e-6)  # pyFAI sums in float32
    np.testing.assert_allclose(const.intensity, raw.intensity / 4.0, rtol=1e-6)
    np.testing.assert_allclose(per_s.sigma, raw.sigma / 10.0, rtol=1e-6)


def test_transmitted_monitor_none_is_accepted_without_monitor_normalisation(sim, plain):
    hmap = HeaderMap.from_pairs({"transmitted_monitor": "None", "incident_monitor": "None"})
    res = _reduce(sim, plain, normalization="exposure", header=hmap)
    assert res.frames[0].monitor is None and res.frames[0].transmission is None
    with pytest.raises(ValueError, match="no header key is configured for the transmitted monitor"):
        _reduce(sim, plain, normalization="monitor", header=hmap, calibration_factor=1.0, thickness_cm=0.1)


def test_absolute_scale_still_needs_a_thickness(sim, plain):
    with pytest.raises(ValueError, match=r"sample thickness unknown.*--arbitrary-units"):
        _reduce(sim, plain, normalization="exposure", calibration_factor=2.0)


# ----------------------------------------------------------------------
# per-frame monitor tables
N_STACK = 4


@pytest.fixture(scope="module")
def eiger(sim, tmp_path_factory):
    """A synthetic Eiger stack: uint32 counts, 0xFFFFFFFF in gaps and a few dead pixels, per-frame I0/I1 datasets."""
    folder = tmp_path_factory.mktemp("eiger")
    rng = np.random.default_rng(7)
    i1 = 1e10 * (1 + 0.1 * rng.standard_normal(N_STACK))
    i0 = i1 / 0.5
    stack = np.stack([_counts(sim, seed=20 + k, i1=i1[k], dtype=np.uint32) for k in range(N_STACK)])
    stack[:, sim.mask_arr] = 0xFFFFFFFF
    stack[:, 140, 170] = 0xFFFFFFFF  # dead pixels outside the mask: invalid, not 4e9 counts
    stack[:, 5, 7] = 0xFFFFFFFE
    path = folder / "run_data_000001.h5"
    with h5py.File(path, "w") as fh:
        grp = fh.create_group("entry/data")
        grp.create_dataset("data", data=stack)
        grp.create_dataset("I1", data=i1)
        grp.create_dataset("I0", data=i0)
    csv = folder / "run.csv"
    csv.write_text("frame,I0,I1\n" + "".join(f"{k},{float(i0[k])!r},{float(i1[k])!r}\n" for k in range(N_STACK)))
    return path, csv, i0, i1


def test_eiger_stack_with_a_per_frame_csv_equals_header_monitors(sim, eiger):
    path, csv, i0, i1 = eiger
    src = f"{path}::/entry/data/data"
    base = dict(npt=60, thickness_cm=0.1, reject_outliers=False)
    header = Reducer(
        sim.poni, sim.mask, ReductionSettings(**base, header=HeaderMap(transmitted_monitor="I1", incident_monitor="I0"))
    ).reduce(src, title="h")
    table = Reducer(sim.poni, sim.mask, ReductionSettings(**base, monitor_table=str(csv))).reduce(src, title="t")
    np.testing.assert_array_equal(table.curve.intensity, header.curve.intensity)
    np.testing.assert_array_equal(table.curve.sigma, header.curve.sigma)
    log = csv.with_name("run.log")  # the same monitors as a BioCAT Eiger log (rows run_000001 ...), in another order
    log.write_text(
        "#Fname: run\n#Filename\tstart_time\texposure_time\tI0\tI1\n"
        + "".join(f"run_{k + 1:06d}\t0\t0.5\t{float(i0[k])!r}\t{float(i1[k])!r}\n" for k in (2, 0, 3, 1))
    )
    biocat = Reducer(sim.poni, sim.mask, ReductionSettings(**base, monitor_table=str(log))).reduce(src, title="l")
    np.testing.assert_array_equal(biocat.curve.intensity, header.curve.intensity)
    assert [f.monitor for f in table.frames] == pytest.approx(list(i1), rel=1e-15)
    assert [f.transmission for f in table.frames] == pytest.approx([0.5] * N_STACK, rel=1e-12)
    # the dead pixels outside the mask are dummies: same curve as with them masked
    assert np.all(np.isfinite(table.curve.intensity)) and table.curve.intensity.max() < 1e3


def test_biocat_log_layout_matches_rows_by_file_name(sim, tmp_path):
    names, i1s = [], [1.0e10, 1.2e10, 0.9e10]
    for k, i1 in enumerate(i1s):
        p = _write_edf(
            tmp_path / f"cond_{k + 1:04d}.edf", _counts(sim, seed=40 + k, i1=i1), {"Dummy": "-10", "DDummy": "0.1"}
        )
        names.append(p)
    rows = "".join(
        f"cond_{k + 1:04d}.edf\t12:00:0{k}\t0.5\t{i1 / 0.6!r}\t{i1!r}\n" for k, i1 in reversed(list(enumerate(i1s)))
    )
    log = tmp_path / "cond.log"
    log.write_text("#Fname: cond\n#Exposure time: 0.5\n#Filename\tstart_time\texposure_time\tI0\tI1\n" + rows)
    res = Reducer(
        sim.poni, sim.mask, ReductionSettings(npt=60, thickness_cm=0.1, monitor_table=str(log), reject_outliers=False)
    ).reduce(names, title="b")
    assert [f.monitor for f in res.frames] == pytest.approx(i1s, rel=1e-15)
    assert [f.exposure_s for f in res.frames] == [0.5] * 3
    assert [f.transmission for f in res.frames] == pytest.approx([0.6] * 3, rel=1e-12)


def test_monitor_table_problems_are_clear(sim, eiger, tmp_path):
    path, csv, _, _ = eiger
    short = tmp_path / "short.csv"
    short.write_text("I0,I1\n1,2\n")
    r = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60, thickness_cm=0.1, monitor_table=str(short)))
    with pytest.raises(ValueError, match=r"1 row\(s\) for 4 frame\(s\) and no frame column"):
        r.reduce(f"{path}::/entry/data/data", title="x")
    with pytest.raises(ValueError, match=r"mapped column\(s\) transmitted_monitor='It' not found"):
        Reducer(
            sim.poni,
            sim.mask,
            ReductionSettings(
                npt=60, thickness_cm=0.1, monitor_table=str(csv), table_columns=(("transmitted_monitor", "It"),)
            ),
        ).reduce(f"{path}::/entry/data/data", title="x")


# ----------------------------------------------------------------------
# orientation, geometry formats, NXcanSAS geometry
def test_flipped_mask_fails_naming_the_flip(sim):
    frame = C.SHAPE and sim.root / "cli_orient.edf"
    data = _counts(sim, seed=5)
    data[sim.mask_arr] = -10
    _write_edf(frame, data, C.header(1e10, 2e10, title="o"))
    r = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60, mask_flip="ud"))
    with pytest.raises(ValueError, match=r"does not line up with the frame.*flipped top-to-bottom \('ud'\).*--flip ud"):
        r.reduce([frame], title="o")
    problems = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60, mask_flip="ud")).check([frame], title="o")
    assert len(problems) == 1 and "--mask-flip ud" in problems[0]
    assert Reducer(sim.poni, sim.mask, ReductionSettings(npt=60)).check([frame]) == []


def test_frame_flip_flips_data_and_gap_mask_together(sim, tmp_path):
    data = _counts(sim, seed=6)
    data[sim.mask_arr] = -10
    a = _write_edf(tmp_path / "a.edf", data, C.header(1e10, 2e10, title="a"))
    b = _write_edf(tmp_path / "b.edf", np.ascontiguousarray(data[::-1, ::-1]), C.header(1e10, 2e10, title="b"))
    ra = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60)).reduce([a], title="a")
    rb = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60, flip="udlr", mask_flip=None)).reduce([b], title="b")
    np.testing.assert_allclose(rb.curve.intensity, ra.curve.intensity, rtol=1e-12)


def test_poni_version_1_takes_the_detector_shape_from_the_frames(sim, plain, tmp_path):
    ai = sim.ai
    v1 = tmp_path / "v1.poni"
    v1.write_text(
        f"# Dioptas-style PONI version 1\nPixelSize1: {C.PIXEL_M}\nPixelSize2: {C.PIXEL_M}\n"
        f"Distance: {ai.dist!r}\nPoni1: {ai.poni1!r}\nPoni2: {ai.poni2!r}\nRot1: 0\nRot2: 0\nRot3: 0\n"
        f"Wavelength: {ai.wavelength!r}\n"
    )
    s = ReductionSettings(npt=60, normalization="none", calibration_factor=None)
    ref = Reducer(sim.poni, sim.mask, s).reduce([plain], title="v2")
    r1 = Reducer(v1, sim.mask, s)
    assert r1.integrator is None  # shape unknown until the first frame
    res = r1.reduce([plain], title="v1")
    assert (
        res.geometry["shape"] == list(C.SHAPE) and "detector shape (150, 180) from the frames" in res.geometry["source"]
    )
    np.testing.assert_allclose(res.curve.intensity, ref.curve.intensity, rtol=1e-9)


def test_nxcansas_beam_centre_and_sdd_are_the_direct_beam(sim, plain, tmp_path):
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    ai = AzimuthalIntegrator(
        dist=0.25, poni1=0.004, poni2=0.006, rot1=0.05, rot2=-0.03, detector=sim.ai.detector, wavelength=C.WAVELENGTH_M
    )
    poni = tmp_path / "tilted.poni"
    ai.save(str(poni))
    res = Reducer(poni, None, ReductionSettings(npt=60, normalization="none", calibration_factor=None)).reduce(
        [plain], title="t"
    )
    from saxs_mc.reduce import write_reduced

    out = write_reduced(tmp_path / "t.h5", res)
    f2d = ai.getFit2D()
    with h5py.File(out, "r") as fh:
        det = fh["sasentry01/sasinstrument/sasdetector"]
        got = (float(det["beam_center_x"][()]), float(det["beam_center_y"][()]), float(det["SDD"][()]))
    assert got == pytest.approx((f2d["centerX"], f2d["centerY"], f2d["directDist"]), rel=1e-9)
    assert abs(got[0] - ai.poni2 / C.PIXEL_M) > 50  # the PONI is far from the direct beam on this tilt


# ----------------------------------------------------------------------
# q range, bins, saturation
def test_q_range_and_the_automatic_bin_count(sim, plain):
    r = Reducer(sim.poni, sim.mask, ReductionSettings(normalization="none", calibration_factor=None))
    res = r.reduce([plain], title="auto")
    yy, xx = np.mgrid[: C.SHAPE[0], : C.SHAPE[1]]
    rad = np.hypot(xx + 0.5 - C.CENTER_PX[0], yy + 0.5 - C.CENTER_PX[1])[~sim.mask_arr]  # untilted: r in pixels
    assert r.npt == math.ceil(rad.max() - rad.min())  # one bin per pixel of radius
    part = Reducer(
        sim.poni, sim.mask, ReductionSettings(normalization="none", calibration_factor=None, q_range=(1.0, 3.0))
    ).reduce([plain], title="part")
    assert part.curve.q.min() >= 1.0 and part.curve.q.max() <= 3.0
    assert part.geometry["npt"] < res.geometry["npt"]


def test_count_cutoff_from_the_header_masks_saturated_pixels(sim, tmp_path):
    data = _counts(sim, seed=9)
    data[sim.mask_arr] = -10
    hot = data.copy()
    hot[90:92, 60:63] = 2_000_000
    h = {"Dummy": "-10", "DDummy": "0.1", "Count_cutoff": "1048574 counts"}
    a = _write_edf(tmp_path / "hot.edf", hot, h)
    ref = data.copy()
    ref[90:92, 60:63] = -10
    b = _write_edf(tmp_path / "ref.edf", ref, h)
    s = ReductionSettings(npt=60, normalization="none", calibration_factor=None)
    np.testing.assert_array_equal(
        Reducer(sim.poni, sim.mask, s).reduce([a], title="a").curve.intensity,
        Reducer(sim.poni, sim.mask, s).reduce([b], title="b").curve.intensity,
    )


# ----------------------------------------------------------------------
# issue 13 item 10: no counts, negative counts, PONI against header geometry
def test_all_zero_frame_is_rejected_like_a_faulty_frame(sim, tmp_path):
    frames = []
    for k in range(3):
        data = np.zeros(C.SHAPE, np.int32) if k == 1 else _counts(sim, seed=60 + k)
        frames.append(_write_edf(tmp_path / f"z_{k}.edf", data, C.header(1e10, 2e10, title="z")))
    res = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60)).reduce(frames, title="z")
    assert res.rejected == (str(frames[1]),)
    assert "no counts in any unmasked pixel" in res.frames[1].reason


def test_negative_counts_outside_the_dummy_are_an_error(sim, tmp_path):
    data = _counts(sim, seed=70)
    data[sim.mask_arr] = -10
    data[100, 20] = -5
    f = _write_edf(tmp_path / "neg.edf", data, C.header(1e10, 2e10, title="n"))
    with pytest.raises(
        ValueError,
        match=r"1 unmasked pixel\(s\) have negative counts \(min -5, first at row, col "
        r"\(100, 20\)\) that are not the dummy value -10",
    ):
        Reducer(sim.poni, sim.mask, ReductionSettings(npt=60)).reduce([f], title="n")


def test_poni_distance_against_the_header_is_a_warning_in_log_and_provenance(sim, tmp_path, caplog):
    from saxs_mc.reduce import write_reduced

    data = _counts(sim, seed=80)
    data[sim.mask_arr] = -10
    f = _write_edf(tmp_path / "d.edf", data, C.header(1e10, 2e10, title="d", dist_m=0.55))
    with caplog.at_level(logging.WARNING, logger="saxs_mc"):
        res = Reducer(sim.poni, sim.mask, ReductionSettings(npt=60)).reduce([f], title="d")
    assert len(res.warnings) == 1
    w = res.warnings[0]
    assert "PONI distance 0.25 m differs from the header's 'SampleDistance' = '0.55'" in w and w in caplog.text
    prov = json.loads(h5py.File(write_reduced(tmp_path / "d.h5", res), "r")["sasentry01/sasprocess01/provenance"][()])
    assert prov["warnings"] == [w]
    assert read_reduced(tmp_path / "d.h5").warnings == (w,)


# ----------------------------------------------------------------------
# all problems at once
def test_every_input_problem_in_one_message_and_nothing_written(sim, plain, tmp_path, capsys):
    out = tmp_path / "x.h5"
    rc = main(
        [
            "reduce",
            str(plain),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "--blank",
            str(tmp_path / "nope.edf"),
            "--normalization",
            "monitor",
            "--q-range",
            "3",
            "1",
            "-o",
            str(out),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "problem(s)" in err and "q_range" in err and "nope.edf" in err
    data = _counts(sim, seed=90)
    data[sim.mask_arr] = -10
    frame = _write_edf(tmp_path / "nomon.edf", data, {"Dummy": "-10", "DDummy": "0.1"})
    rc = main(
        [
            "reduce",
            str(frame),
            "--poni",
            str(sim.poni),
            "--mask",
            str(sim.mask),
            "--blank",
            str(tmp_path / "nope.edf"),
            "--mask-flip",
            "ud",
            "-o",
            str(out),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err and "nope.edf" in err and "--mask-flip ud" in err and "transmitted monitor" in err
    assert not out.exists() and not list(tmp_path.glob("x*"))


# ----------------------------------------------------------------------
# the same options in the pipeline config
def test_config_keys_reach_the_reducer(tmp_path):
    from saxs_mc.pipeline.config import load_config
    from saxs_mc.pipeline.run import plan_steps
    from saxs_mc.pipeline.steps import reduction_settings

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "mon.csv").write_text("frame,I1\nx,1\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"""schema_version = 1
[geometry]
poni = "{root}/calibration/id02_sim.poni"
mask = "{root}/calibration/id02_sim_mask.edf"
flip = "ud"
mask_flip = "lr"
[header]
count_cutoff = "Count_cutoff"
[normalization]
mode = "exposure"
monitor_table = "mon.csv"
table_columns = {{ transmitted_monitor = "I1" }}
[reduction]
q_unit = "1/A"
q_range_nm = [0.5, 5.0]
saturation = 1e6
[[samples]]
name = "s"
frames = "{root}/sample_data/cdse_series/nuc190C/*.edf"
nucleation_temperature_C = 190
growth_temperature_C = 230
blank = "b"
[[blanks]]
name = "b"
frames = "{root}/sample_data/cdse_series/blank_230C/*.edf"
temperature_C = 230
""")
    c = load_config(cfg)
    step = next(s for s in plan_steps(c) if s.id == "reduce/s")
    rs = reduction_settings(step.settings, step.settings["calibration_factor"])
    assert (rs.flip, rs.mask_flip, rs.normalization, rs.saturation, rs.npt) == ("ud", "lr", "exposure", 1e6, None)
    assert rs.q_range == pytest.approx((0.05, 0.5)) and rs.calibration_factor is None  # 1/A grid; arbitrary units
    assert rs.monitor_table == str(tmp_path / "mon.csv") and dict(rs.table_columns) == {"transmitted_monitor": "I1"}
    assert rs.header.count_cutoff == "Count_cutoff"
    cfg.write_text(cfg.read_text().replace('mode = "exposure"', 'mode = "sometimes"'))
    with pytest.raises(ValueError, match=r"normalization.mode: 'sometimes': use one of \['monitor', 'exposure'"):
        load_config(cfg)


def test_every_settings_problem_in_one_message():
    with pytest.raises(ValueError) as exc:
        ReductionSettings(
            npt=1,
            q_range=(3.0, 1.0),
            flip="up",
            normalization="constant",
            saturation=-1,
            table_columns=(("monitor", "I1"),),
        )
    msg = str(exc.value)
    for field in (
        "npt=1",
        "q_range=(3.0, 1.0)",
        "flip='up'",
        "normalization='constant'",
        "saturation=-1",
        "table_columns",
    ):
        assert f"ReductionSettings.{field}" in msg


def test_monitor_table_with_worker_processes_equals_serial(sim, eiger):
    path, csv, _, _ = eiger
    s = ReductionSettings(npt=60, thickness_cm=0.1, monitor_table=str(csv), reject_outliers=False)
    serial = Reducer(sim.poni, sim.mask, s).reduce(f"{path}::/entry/data/data", title="s")
    with Reducer(sim.poni, sim.mask, s) as r:
        par = r.reduce(f"{path}::/entry/data/data", title="p", workers=2)
    np.testing.assert_array_equal(par.curve.intensity, serial.curve.intensity)
    assert [f.monitor for f in par.frames] == [f.monitor for f in serial.frames]
